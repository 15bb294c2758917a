//! The dialog that creates the copy behind an unknown barcode: pick the book it belongs to (the
//! matches follow what is typed as its title), or describe a new book (title, authors, ISBN);
//! Enter creates it, Esc or Cancel closes the dialog. The copy is then placed, as the scan meant.

use egui::{Key, Ui};
use jiff::tz::TimeZone;

use crate::model::{BookDraft, BookId, BookRow, Field};
use crate::tasks::Port;
use crate::ui::live::Live;
use crate::ui::requests::SaveState;
use crate::ui::widgets::{UiExt, form_field};

/// Books offered while the title is typed.
const MATCHES: usize = 6;

/// The form behind one unknown barcode.
#[derive(Debug)]
pub struct CreateCopy {
    pub draft: BookDraft,
    matches: Live<String, Vec<BookRow>>,
    /// The book picked from the matches, and the title it was picked under.
    book: Option<(BookId, String)>,
    pub state: SaveState,
    focus: bool,
}

impl Default for CreateCopy {
    fn default() -> Self {
        CreateCopy {
            draft: BookDraft::default(),
            matches: Live::per_key(),
            book: None,
            state: SaveState::Idle,
            focus: true,
        }
    }
}

/// What the librarian did in the dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormAction {
    Create,
    Cancel,
}

impl CreateCopy {
    /// The book picked from the matches, while the title still names it.
    pub fn picked(&self) -> Option<BookId> {
        match &self.book {
            Some((id, title)) if title.trim() == self.draft.title.trim() => Some(*id),
            _ => None,
        }
    }

    /// Notes the book just created for this copy (so a retry does not make it twice).
    pub fn created(&mut self, book: BookId) {
        self.book = Some((book, self.draft.title.trim().to_owned()));
    }

    /// Draws the dialog; returns what was asked.
    pub fn show(
        &mut self,
        ctx: &egui::Context,
        port: &Port,
        barcode: &str,
        tz: &TimeZone,
    ) -> Option<FormAction> {
        let mut action = None;
        let modal = egui::Modal::new(egui::Id::unique(("create-copy", barcode))).show(ctx, |ui| {
            ui.set_width(460.0);
            ui.heading(format!("New copy {barcode}"));
            ui.label("Which book is it? Type its title to find it, or describe a new book.");
            ui.add_space(4.0);
            action = self.fields(ui, port, tz);
        });
        if modal.should_close() && action.is_none() {
            action = Some(FormAction::Cancel);
        }
        action
    }

    fn fields(&mut self, ui: &mut Ui, port: &Port, tz: &TimeZone) -> Option<FormAction> {
        let mut action = None;
        let before = self.draft.clone();
        let problem = self.state.problem().cloned();
        let msg = |f: Field| problem.as_ref().and_then(|p| p.field_message(f, tz));
        let title = form_field(
            ui,
            "Book title",
            &mut self.draft.title,
            300.0,
            msg(Field::Title),
        );
        if std::mem::take(&mut self.focus) {
            title.request_focus();
        }
        let wanted = self.draft.title.trim().to_owned();
        self.matches.update(port, &wanted, |q| {
            move |r| {
                if q.is_empty() {
                    Ok(Vec::new())
                } else {
                    r.books_containing(&q, MATCHES)
                }
            }
        });
        let picked = self.picked();
        let mut pick = None;
        for m in self.matches.value().into_iter().flatten() {
            let text = if m.book.authors.is_empty() {
                m.book.title.clone()
            } else {
                format!("{} — {}", m.book.title, m.book.authors)
            };
            if ui
                .selectable_label(picked == Some(m.book.id), text)
                .clicked()
            {
                pick = Some((m.book.id, m.book.title.clone()));
            }
        }
        if let Some((book, title)) = pick {
            self.draft.title.clone_from(&title);
            self.book = Some((book, title));
        }
        let mut enter = title.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
        if self.picked().is_none() {
            ui.add_space(4.0);
            for (label, field) in [("Authors", Field::Authors), ("ISBN", Field::Isbn)] {
                let value = match field {
                    Field::Authors => &mut self.draft.authors,
                    _ => &mut self.draft.isbn,
                };
                let r = form_field(ui, label, value, 300.0, msg(field));
                enter |= r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            }
        }
        if let Some(p) = &problem
            && !p.concerns_any(&[Field::Title, Field::Authors, Field::Isbn])
        {
            ui.error_label(&p.general_message(None, tz));
        }
        if self.draft != before {
            self.state.edited();
        }
        ui.save_progress(&self.state);
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            let label = if self.picked().is_some() {
                "Create copy and add"
            } else {
                "Create book, copy and add"
            };
            let enabled = !self.draft.title.trim().is_empty() && !self.state.is_saving();
            if ui
                .add_enabled(enabled, egui::Button::new(label))
                .on_hover_text("Enter")
                .clicked()
                || (enter && enabled)
            {
                action = Some(FormAction::Create);
            }
            if ui.button("Cancel").on_hover_text("Esc").clicked() {
                action = Some(FormAction::Cancel);
            }
        });
        action
    }
}
