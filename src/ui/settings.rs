//! The settings, in a dialog: the library's words a title may start with that do not file
//! (English "the, a, an" unless the library adds others: "der, die, das, le, la, les…"; saving
//! them refiles every title that depends on them), and this computer's name, which every save
//! from it records (so a conflict can say "added by circulation-desk").

use egui::Ui;

use super::live::Live;
use super::requests::{Requests, SaveState};
use super::widgets::{UiExt, form_field};
use crate::model::{Op, Outcome};
use crate::tasks::{Event, Port};

/// The settings dialog of one library window.
#[derive(Debug)]
pub struct SettingsDialog {
    port: Port,
    open: bool,
    articles: Live<(), Vec<String>>,
    /// What is typed; `None` until the stored value arrived.
    text: Option<String>,
    /// The articles as stored, to save them only if they changed.
    stored: Option<String>,
    /// This computer's name, as typed.
    workstation: String,
    state: SaveState,
    requests: Requests<()>,
    focus: bool,
}

impl SettingsDialog {
    pub fn new(port: Port) -> Self {
        SettingsDialog {
            port,
            open: false,
            articles: Live::new(),
            text: None,
            stored: None,
            workstation: String::new(),
            state: SaveState::Idle,
            requests: Requests::new(),
            focus: false,
        }
    }

    /// Opens the dialog with the stored settings.
    pub fn open(&mut self) {
        self.open = true;
        self.text = None;
        self.stored = None;
        self.workstation = self.port.services.library.workstation().to_string();
        self.state = SaveState::Idle;
        self.articles.invalidate();
        self.focus = true;
    }

    /// Draws the dialog while it is open.
    pub fn show(&mut self, ctx: &egui::Context) {
        for answer in self.requests.poll(&self.port) {
            match answer.event {
                Event::Waiting { since, reason } => {
                    self.state.mark_waiting(answer.request, since, reason);
                }
                Event::Done(outcome) => {
                    if let Some(Outcome::Settings) = self.state.settle(answer.request, outcome) {
                        self.open = false;
                    }
                }
            }
        }
        if !self.open {
            return;
        }
        self.articles.update(&self.port, &(), |()| {
            |r: &mut dyn crate::db::Reads| r.articles()
        });
        if self.text.is_none()
            && let Some(list) = self.articles.value()
        {
            self.text = Some(list.join(", "));
            self.stored.clone_from(&self.text);
        }
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("library-settings")).show(ctx, |ui| {
            ui.set_width(520.0);
            ui.heading("Settings");
            close = self.body(ui);
        });
        if (modal.should_close() || close) && !self.state.is_saving() {
            self.open = false;
        }
    }

    /// The form; returns true if Cancel was clicked.
    fn body(&mut self, ui: &mut Ui) -> bool {
        let Some(text) = &mut self.text else {
            if let Some(f) = self.articles.error() {
                ui.error_label(&format!("Cannot read the settings: {f}"));
            } else {
                ui.pending_label("Loading…");
            }
            return ui.button("Cancel").clicked();
        };
        ui.label("Words a title may start with that do not file (so “The Hobbit” sorts under H):");
        let r = form_field(ui, "Articles", text, 320.0, None);
        if std::mem::take(&mut self.focus) {
            r.request_focus();
        }
        ui.weak("Separate them with commas. A book's own number of nonfiling characters, set in its record, comes first.");
        ui.add_space(10.0);
        ui.label("This computer's name, recorded with every save made here (a conflict says who holds a value):");
        let name_field = form_field(ui, "This computer", &mut self.workstation, 320.0, None);
        let enter_name = name_field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        if let Some(p) = self.state.problem() {
            ui.error_label(&p.general_message(None, self.port.tz()));
        }
        ui.save_progress(&self.state);
        let enter = (r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter))) || enter_name;
        let mut cancel = false;
        let mut done = false;
        ui.horizontal(|ui| {
            if ui
                .add_enabled(!self.state.is_saving(), egui::Button::new("Save"))
                .clicked()
                || enter
            {
                let name = self.workstation.trim();
                if !name.is_empty() {
                    self.port.services.library.set_workstation(name);
                }
                if self.stored.as_deref() == Some(text.as_str()) {
                    done = true;
                } else {
                    let list = text.split(',').map(|a| a.trim().to_owned()).collect();
                    self.state = self.requests.submit(&self.port, Op::SetArticles(list), ());
                }
            }
            cancel = ui.button("Cancel").clicked();
        });
        cancel || done
    }
}
