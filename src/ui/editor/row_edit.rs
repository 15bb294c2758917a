//! Editing a row in place: its shelf mark and note, saved over the version the edit started
//! from. If the row changed elsewhere meanwhile, the strip above the table says what changed,
//! with Keep mine (save over the newer version) and Take theirs.

use egui::{Key, Ui};
use jiff::tz::TimeZone;

use super::Purpose;
use crate::model::{
    CollectionId, Draft, Field, Meta, Op, Placement, PlacementDraft, PlacementRow, Record,
};
use crate::tasks::{Port, RequestId};
use crate::ui::requests::{Requests, SaveState};
use crate::ui::widgets::{StaleChoice, UiExt, form_problem};

/// What the librarian did with an edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditAction {
    /// Save over the version the edit started from.
    Save,
    /// Save over this newer version ("Keep mine").
    KeepMine(i64),
    /// Drop the edit ("Take theirs", Cancel, Esc).
    Cancel,
}

/// A row being edited in place.
#[derive(Debug)]
pub struct RowEdit {
    pub base: PlacementRow,
    shelf_mark: String,
    note: String,
    pub state: SaveState,
    /// Put the cursor in the shelf mark on the next frame.
    focus: bool,
}

impl RowEdit {
    pub fn new(row: PlacementRow) -> Self {
        RowEdit {
            shelf_mark: row.shelf_mark.clone(),
            note: row.note.clone(),
            base: row,
            state: SaveState::Idle,
            focus: true,
        }
    }

    /// Sends the edit, over `version` (the one it started from, or a newer one).
    pub fn save(
        &mut self,
        port: &Port,
        requests: &mut Requests<Purpose>,
        collection: CollectionId,
        version: i64,
    ) {
        if self.state.is_saving() {
            return;
        }
        let op = Op::Update {
            target: self.base.id.into(),
            version,
            draft: Draft::Placement(PlacementDraft {
                copy_id: self.base.copy_id,
                collection_id: collection,
                shelf_mark: self.shelf_mark.clone(),
                note: self.note.clone(),
            }),
        };
        self.state = requests.submit(port, op, Purpose::Edit);
    }

    /// Takes the outcome of `request`; true if the edit is done (saved).
    pub fn settle(&mut self, request: RequestId, outcome: crate::model::Outcome) -> bool {
        self.state.settle(request, outcome).is_some()
    }

    /// One editable cell (shelf mark or note) with its label and its message. Returns Save if
    /// Enter was pressed in it, and the height its content took.
    pub fn cell(&mut self, ui: &mut Ui, field: Field, tz: &TimeZone) -> (Option<EditAction>, f32) {
        let mut action = None;
        let mut height = 0.0;
        ui.vertical(|ui| {
            let top = ui.min_rect().top();
            let focus = field == Field::ShelfMark && std::mem::take(&mut self.focus);
            let value = match field {
                Field::Note => &mut self.note,
                _ => &mut self.shelf_mark,
            };
            let l = ui.label(field.label());
            let resp = ui
                .add(egui::TextEdit::singleline(value).desired_width(f32::INFINITY))
                .labelled_by(l.id);
            if focus {
                resp.request_focus();
            }
            if resp.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                action = Some(EditAction::Save);
            }
            if let Some(m) = self
                .state
                .problem()
                .and_then(|p| p.field_message(field, tz))
            {
                ui.error_label(&m);
            }
            height = ui.min_rect().bottom() - top;
        });
        (action, height)
    }

    /// Above the table: what no single field shows (changed elsewhere, deleted elsewhere, a
    /// failure, waiting), with Keep mine / Take theirs when it changed.
    pub fn strip(
        &self,
        ui: &mut Ui,
        collection: CollectionId,
        tz: &TimeZone,
    ) -> Option<EditAction> {
        if self.state.problem().is_none() && self.state.waiting().is_none() {
            return None;
        }
        let base = base_record(&self.base, collection);
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "Editing {} ({}):",
                self.base.barcode, self.base.title
            ));
            if self.state.waiting().is_some() {
                ui.save_progress(&self.state);
            }
            match form_problem(
                ui,
                &self.state,
                Some(&base),
                &[Field::ShelfMark, Field::Note],
                tz,
            ) {
                Some(StaleChoice::KeepMine(version)) => {
                    action = Some(EditAction::KeepMine(version));
                }
                Some(StaleChoice::TakeTheirs(_)) => action = Some(EditAction::Cancel),
                None => {}
            }
        });
        action
    }
}

/// The placement an edit started from, as a record (for "it is now ..." messages).
fn base_record(row: &PlacementRow, collection: CollectionId) -> Record {
    Record::Placement(Placement {
        id: row.id,
        copy_id: row.copy_id,
        collection_id: collection,
        shelf_mark: row.shelf_mark.clone(),
        note: row.note.clone(),
        meta: Meta {
            version: row.version,
            created_at: row.added,
            updated_at: row.added,
            deleted_at: None,
            updated_by: String::new(),
        },
    })
}
