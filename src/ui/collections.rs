//! The list of collections in the main window's side panel: choose one, create one, rename
//! one, move one to the Trash (with Undo), or open it in a window of its own.

use egui::{RichText, Ui};

use super::command::{AppCommand, Commands};
use super::live::Live;
use super::requests::{Requests, SaveState};
use super::theme;
use super::undo::UndoOffer;
use super::widgets::{StaleChoice, UiExt, form_field, form_problem};
use crate::model::{
    CollectionDraft, CollectionId, CollectionSummary, Draft, Field, Op, Outcome, Problem, RecordRef,
};
use crate::tasks::{Event, Port, RequestId};

#[derive(Clone, Debug)]
enum Purpose {
    Create,
    Rename,
    Delete { name: String },
    Undo,
}

/// The create / rename form.
#[derive(Debug, Default)]
struct Form {
    /// `None` when creating; the collection and the version it started from when renaming.
    target: Option<(CollectionId, i64)>,
    draft: CollectionDraft,
    state: SaveState,
    focus: bool,
    /// A collection in the Trash with the name being typed, if there is one.
    trashed: Live<String, Option<crate::model::Collection>>,
}

impl Form {
    /// The form to rename `c`, starting from its current name and version.
    fn rename(c: &CollectionSummary) -> Form {
        Form {
            target: Some((c.id, c.version)),
            draft: CollectionDraft {
                name: c.name.clone(),
                description: c.description.clone(),
            },
            state: SaveState::Idle,
            focus: true,
            trashed: Live::per_key(),
        }
    }
}

/// The collections side panel.
#[derive(Debug)]
pub struct CollectionsPanel {
    port: Port,
    commands: Commands,
    list: Live<(), Vec<CollectionSummary>>,
    pub selected: Option<CollectionId>,
    form: Option<Form>,
    undo: Option<UndoOffer>,
    requests: Requests<Purpose>,
    error: Option<String>,
}

impl CollectionsPanel {
    pub fn new(port: Port, commands: Commands) -> Self {
        CollectionsPanel {
            port,
            commands,
            list: Live::new(),
            selected: None,
            form: None,
            undo: None,
            requests: Requests::new(),
            error: None,
        }
    }

    /// The collections as last loaded.
    pub fn list(&self) -> &[CollectionSummary] {
        self.list.value().map_or(&[], Vec::as_slice)
    }

    pub fn is_loaded(&self) -> bool {
        self.list.value().is_some()
    }

    /// Opens the "new collection" form.
    pub fn start_new(&mut self) {
        self.form = Some(Form {
            focus: true,
            trashed: Live::per_key(),
            ..Form::default()
        });
    }

    fn poll(&mut self) {
        self.list.update(&self.port, &(), |()| {
            |r: &mut dyn crate::db::Reads| r.collections()
        });
        for answer in self.requests.poll(&self.port) {
            match answer.event {
                Event::Waiting { since, reason } => match answer.purpose {
                    Purpose::Create | Purpose::Rename => {
                        if let Some(f) = &mut self.form {
                            f.state.mark_waiting(answer.request, since, reason);
                        }
                    }
                    Purpose::Undo => {
                        UndoOffer::mark_waiting(&mut self.undo, answer.request, since, reason);
                    }
                    Purpose::Delete { .. } => {}
                },
                Event::Done(outcome) => self.settle(answer.request, answer.purpose, outcome),
            }
        }
    }

    /// Puts an outcome where it belongs: only into the form (or offer) that sent it, which may
    /// have been replaced meanwhile.
    fn settle(&mut self, request: RequestId, purpose: Purpose, outcome: Outcome) {
        match purpose {
            Purpose::Create | Purpose::Rename => {
                let Some(form) = &mut self.form else { return };
                if let Some(Outcome::Saved { record, .. }) = form.state.settle(request, outcome) {
                    if form.target.is_none() {
                        self.commands
                            .send(AppCommand::ShowCollection(CollectionId(record.id)));
                    }
                    self.form = None;
                }
            }
            Purpose::Delete { name } => match outcome {
                Outcome::Saved { record, version } => {
                    if self.selected == Some(CollectionId(record.id)) {
                        self.selected = None;
                    }
                    self.undo = Some(UndoOffer::new(
                        record,
                        version,
                        format!("Moved “{name}” to the Trash."),
                    ));
                }
                other => {
                    let text = Problem::describe(other, self.port.tz());
                    self.error = Some(format!("Could not move “{name}” to the Trash: {text}"));
                }
            },
            Purpose::Undo => {
                if let Some(back) = UndoOffer::settle(&mut self.undo, request, outcome) {
                    self.commands
                        .send(AppCommand::ShowCollection(CollectionId(back.id)));
                }
            }
        }
    }

    fn submit(&mut self, op: Op, purpose: Purpose) -> SaveState {
        self.requests.submit(&self.port, op, purpose)
    }

    fn save_form(&mut self, version_override: Option<i64>) {
        let Some(form) = &self.form else { return };
        if form.state.is_saving() {
            return;
        }
        let draft = Draft::Collection(form.draft.clone());
        let (op, purpose) = match form.target {
            None => (Op::Create(draft), Purpose::Create),
            Some((id, version)) => (
                Op::Update {
                    target: id.into(),
                    version: version_override.unwrap_or(version),
                    draft,
                },
                Purpose::Rename,
            ),
        };
        let state = self.submit(op, purpose);
        if let Some(form) = &mut self.form {
            form.state = state;
            if let (Some((_, v)), Some(newer)) = (&mut form.target, version_override) {
                *v = newer;
            }
        }
    }

    fn delete(&mut self, c: &CollectionSummary) {
        let target: RecordRef = c.id.into();
        let state = self.submit(
            Op::Delete {
                target,
                version: c.version,
            },
            Purpose::Delete {
                name: c.name.clone(),
            },
        );
        if let SaveState::Problem(p) = state {
            self.error = Some(p.general_message(None, self.port.tz()));
        }
    }

    /// Draws the panel.
    /// Takes the panel's Undo offer (Ctrl+Z).
    pub fn undo_latest(&mut self) {
        UndoOffer::take(
            &mut self.undo,
            &self.port,
            Purpose::Undo,
            &mut self.requests,
        );
    }

    /// Draws the panel; the selected collection looks chosen only while `shown` (its editor is
    /// the view on show).
    pub fn ui(&mut self, ui: &mut Ui, shown: bool) {
        self.poll();
        ui.horizontal(|ui| {
            ui.heading("Collections");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .button("New")
                    .on_hover_text("New collection (Ctrl+N)")
                    .clicked()
                {
                    self.start_new();
                }
            });
        });
        if let Some(e) = self.error.clone() {
            ui.error_label(&e);
            if ui.small_button("Dismiss").clicked() {
                self.error = None;
            }
        }
        if self.form.as_ref().is_some_and(|f| f.target.is_none()) {
            self.form_ui(ui);
        }
        UndoOffer::bar(
            &mut self.undo,
            ui,
            &self.port,
            Purpose::Undo,
            &mut self.requests,
        );
        if let Some(f) = self.list.error() {
            ui.error_label(&format!("Cannot read the collections: {f}"));
        }
        if !self.is_loaded() {
            ui.pending_label("Loading…");
            return;
        }
        if self.list().is_empty() {
            ui.weak("No collections yet.");
        }
        let accent = theme::accent(ui.visuals());
        let list = self.list().to_vec();
        let mut delete = None;
        egui::ScrollArea::vertical()
            .id_salt("collections")
            .auto_shrink([false, true])
            .show(ui, |ui| {
                for c in &list {
                    if self
                        .form
                        .as_ref()
                        .is_some_and(|f| f.target.map(|t| t.0) == Some(c.id))
                    {
                        self.form_ui(ui);
                        continue;
                    }
                    let selected = shown && self.selected == Some(c.id);
                    let text = RichText::new(format!(
                        "{}  ({})",
                        c.name,
                        crate::model::number(c.placements)
                    ));
                    let r = ui.selectable_label(
                        selected,
                        if selected {
                            text.color(accent).strong()
                        } else {
                            text
                        },
                    );
                    if r.clicked() {
                        self.commands.send(AppCommand::ShowCollection(c.id));
                    }
                    r.context_menu(|ui| {
                        if ui.button("Open in new window").clicked() {
                            self.commands.send(AppCommand::OpenWindow(c.id));
                            ui.close();
                        }
                        if ui.button("Rename…").clicked() {
                            self.form = Some(Form::rename(c));
                            ui.close();
                        }
                        if ui.button("Move to Trash").clicked() {
                            delete = Some(c.clone());
                            ui.close();
                        }
                    });
                }
            });
        if let Some(c) = delete {
            self.delete(&c);
        }
        if let Some(id) = self.selected {
            ui.separator();
            ui.horizontal_wrapped(|ui| {
                if ui.small_button("Rename…").clicked()
                    && let Some(c) = self.list().iter().find(|c| c.id == id)
                {
                    self.form = Some(Form::rename(c));
                }
                if ui.small_button("Move to Trash").clicked()
                    && let Some(c) = self.list().iter().find(|c| c.id == id).cloned()
                {
                    self.delete(&c);
                }
            });
        }
    }

    fn form_ui(&mut self, ui: &mut Ui) {
        let tz = self.port.tz().clone();
        let mut save = None;
        let mut cancel = false;
        let port = &self.port;
        let Some(form) = &mut self.form else { return };
        let before = form.draft.clone();
        egui::Frame::group(ui.style()).show(ui, |ui| {
            ui.label(
                RichText::new(if form.target.is_none() {
                    "New collection"
                } else {
                    "Rename collection"
                })
                .strong(),
            );
            let problem = form.state.problem();
            let r = form_field(
                ui,
                "Name",
                &mut form.draft.name,
                160.0,
                problem.and_then(|p| p.field_message(Field::Name, &tz)),
            );
            if form.focus {
                r.request_focus();
                form.focus = false;
            }
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            // Said while typing: a collection of that name is in the Trash.
            let typed = crate::model::name_key(&form.draft.name);
            if !typed.is_empty() {
                form.trashed.update(port, &typed, |key| {
                    move |r: &mut dyn crate::db::Reads| r.trashed_collection_named(&key)
                });
                if let Some(Some(c)) = form.trashed.value_for(&typed) {
                    ui.weak(format!(
                        "“{}” is in the Trash (deleted {}): you can restore it from there.",
                        c.name,
                        crate::model::format_day(
                            c.meta.deleted_at.unwrap_or(c.meta.updated_at),
                            &tz
                        )
                    ));
                }
            }
            if form.target.is_none() {
                form_field(
                    ui,
                    "Description",
                    &mut form.draft.description,
                    160.0,
                    problem.and_then(|p| p.field_message(Field::Description, &tz)),
                );
            }
            match form_problem(
                ui,
                &form.state,
                None,
                &[Field::Name, Field::Description],
                &tz,
            ) {
                Some(StaleChoice::KeepMine(v)) => save = Some(Some(v)),
                Some(StaleChoice::TakeTheirs(_)) => cancel = true,
                None => {}
            }
            ui.save_progress(&form.state);
            ui.horizontal(|ui| {
                let label = if form.target.is_none() {
                    "Create"
                } else {
                    "Rename"
                };
                if ui
                    .add_enabled(!form.state.is_saving(), egui::Button::new(label))
                    .clicked()
                    || enter
                {
                    save = Some(None);
                }
                if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                    cancel = true;
                }
            });
        });
        if form.draft != before {
            form.state.edited();
            // A message about the last action is not about the name being typed now.
            self.error = None;
        }
        if cancel {
            self.requests
                .forget(self.form.as_ref().and_then(|f| f.state.request()));
            self.form = None;
        } else if let Some(version) = save {
            self.save_form(version);
        }
    }
}
