//! The Trash: everything moved there, newest first. Restore (which can conflict: the value may
//! be taken again meanwhile) or delete for good, after a confirmation.

use std::collections::HashMap;

use egui::{RichText, Ui};

use super::live::Live;
use super::requests::{Requests, SaveState};
use super::widgets::UiExt;
use crate::model::{
    Holder, Kind, Op, Outcome, Problem, RecordRef, RestoreChange, TrashRow, continuing,
    format_minute,
};
use crate::tasks::{Event, Port};

/// Items shown at most.
const SHOWN: usize = 1000;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Action {
    Restore,
    /// Restore changed, so it no longer takes a live value.
    RestoreAs(RestoreChange),
    Purge,
}

/// The Trash view.
#[derive(Debug)]
pub struct TrashView {
    port: Port,
    rows: Live<(), Vec<TrashRow>>,
    states: HashMap<RecordRef, SaveState>,
    /// What was last asked of each item (for the words of its message).
    actions: HashMap<RecordRef, Action>,
    requests: Requests<(RecordRef, Action)>,
    confirm: Option<TrashRow>,
    notice: Option<String>,
    /// What is typed in a "Restore as…" field (a new name or barcode), by item.
    restore_as: HashMap<RecordRef, String>,
}

impl TrashView {
    pub fn new(port: Port) -> Self {
        TrashView {
            port,
            rows: Live::new(),
            states: HashMap::new(),
            actions: HashMap::new(),
            requests: Requests::new(),
            confirm: None,
            notice: None,
            restore_as: HashMap::new(),
        }
    }

    fn rows(&self) -> &[TrashRow] {
        self.rows.value().map_or(&[], Vec::as_slice)
    }

    fn poll(&mut self) {
        self.rows.update(&self.port, &(), |()| {
            |r: &mut dyn crate::db::Reads| r.trash(SHOWN)
        });
        for answer in self.requests.poll(&self.port) {
            let (target, action) = answer.purpose;
            match answer.event {
                Event::Waiting { since, reason } => {
                    if let Some(state) = self.states.get_mut(&target) {
                        state.mark_waiting(answer.request, since, reason);
                    }
                }
                Event::Done(Outcome::Saved { .. }) => {
                    self.states.remove(&target);
                    let what = self
                        .rows()
                        .iter()
                        .find(|r| r.record == target)
                        .map(|r| r.description.clone())
                        .unwrap_or_default();
                    let what = lower_first(&what);
                    self.restore_as.remove(&target);
                    self.notice = Some(match action {
                        Action::Restore => format!("Restored {what}."),
                        Action::RestoreAs(RestoreChange::Rename(name)) => {
                            format!("Restored {what} as “{}”.", name.trim())
                        }
                        Action::RestoreAs(RestoreChange::Rebarcode(code)) => {
                            format!("Restored {what} with barcode {}.", code.trim())
                        }
                        Action::RestoreAs(RestoreChange::WithoutIsbn) => {
                            format!("Restored {what} without its ISBN.")
                        }
                        Action::RestoreAs(RestoreChange::MergeInto(_)) => format!(
                            "Restored the copies of {what} as copies of the book that holds its ISBN."
                        ),
                        Action::Purge => format!("Deleted {what} for good."),
                    });
                }
                Event::Done(other) => {
                    if let Some(p) = Problem::from_outcome(other) {
                        self.states.insert(target, SaveState::Problem(p));
                    }
                }
            }
        }
    }

    fn submit(&mut self, row: &TrashRow, action: Action) {
        // A new action: what the last one said no longer describes anything on screen.
        self.notice = None;
        let (target, version) = (row.record, row.version);
        let op = match &action {
            Action::Restore => Op::Restore { target, version },
            Action::RestoreAs(change) => Op::RestoreAs {
                target,
                version,
                change: change.clone(),
            },
            Action::Purge => Op::Purge { target, version },
        };
        let state = self
            .requests
            .submit(&self.port, op, (row.record, action.clone()));
        self.states.insert(row.record, state);
        self.actions.insert(row.record, action);
    }

    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let tz = self.port.tz().clone();
        ui.heading("Trash");
        ui.weak("What you remove goes here first. Restore it, or delete it for good.");
        if let Some(n) = self.notice.clone() {
            ui.horizontal(|ui| {
                ui.message(super::theme::Tone::Success, &n);
                if ui.small_button("Dismiss").clicked() {
                    self.notice = None;
                }
            });
        }
        ui.add_space(6.0);
        if let Some(f) = self.rows.error() {
            ui.error_label(&format!("Cannot read the Trash: {f}"));
        }
        if self.rows().is_empty() && self.rows.is_loaded() {
            ui.weak("The Trash is empty.");
        }
        let mut act = None;
        egui::ScrollArea::vertical()
            .id_salt("trash")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                let rows = self.rows.value().map_or(&[][..], Vec::as_slice);
                for row in rows {
                    let state = self.states.get(&row.record);
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(&row.description));
                        ui.weak(format!("deleted {}", format_minute(row.deleted_at, &tz)));
                        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                            let busy = state.is_some_and(SaveState::is_saving);
                            if ui
                                .add_enabled(!busy, egui::Button::new("Delete for good"))
                                .on_hover_text("Cannot be undone")
                                .clicked()
                            {
                                act = Some((row.clone(), Action::Purge));
                            }
                            if ui
                                .add_enabled(!busy, egui::Button::new("Restore"))
                                .clicked()
                            {
                                act = Some((row.clone(), Action::Restore));
                            }
                        });
                    });
                    if let Some(state) = state {
                        ui.save_progress(state);
                        if let Some(p) = state.problem() {
                            let purging = self.actions.get(&row.record) == Some(&Action::Purge);
                            if let Some(a) =
                                problem_ui(ui, row, p, purging, &tz, &mut self.restore_as)
                            {
                                act = Some((row.clone(), a));
                            }
                        }
                    }
                    ui.separator();
                }
            });
        match act {
            Some((row, Action::Purge)) => self.confirm = Some(row),
            Some((row, action)) => self.submit(&row, action),
            None => {}
        }
        self.confirm_ui(ui);
    }

    fn confirm_ui(&mut self, ui: &Ui) {
        let Some(row) = self.confirm.clone() else {
            return;
        };
        let mut decided = None;
        let modal = egui::Modal::new(egui::Id::unique("confirm-purge")).show(ui.ctx(), |ui| {
            ui.set_max_width(420.0);
            ui.heading("Delete for good?");
            ui.label(format!(
                "{} will be deleted for good, with its copies and placements that are in the Trash. This cannot be undone.",
                row.description
            ));
            ui.add_space(8.0);
            ui.horizontal(|ui| {
                if ui.button("Delete for good").clicked() {
                    decided = Some(true);
                }
                if ui.button("Keep it").clicked() {
                    decided = Some(false);
                }
            });
        });
        if modal.should_close() && decided.is_none() {
            decided = Some(false);
        }
        match decided {
            Some(true) => {
                self.confirm = None;
                self.submit(&row, Action::Purge);
            }
            Some(false) => self.confirm = None,
            None => {}
        }
    }
}

/// "book “Dune”" from "Book “Dune”", for the middle of a sentence.
fn lower_first(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_lowercase().chain(chars).collect())
}

/// Why an item could not be restored or deleted, and, for a restore whose value is taken
/// meanwhile, the ways out: "Restore as…" under a new name or barcode, a book without its ISBN
/// or merged into the book that holds it. A placement whose copy is already in that collection
/// has nothing to restore, and it says so.
fn problem_ui(
    ui: &mut Ui,
    row: &TrashRow,
    problem: &Problem,
    purging: bool,
    tz: &jiff::tz::TimeZone,
    restore_as: &mut HashMap<RecordRef, String>,
) -> Option<Action> {
    let why = match problem {
        Problem::Stale(rec) if rec.meta().is_live() => {
            "it was restored in another window meanwhile.".to_owned()
        }
        other => continuing(&other.general_message(None, tz)),
    };
    let Problem::Conflict(conflict) = problem else {
        let head = if purging {
            "Cannot delete for good:"
        } else {
            "Cannot restore:"
        };
        ui.error_label(&format!("{head} {why}"));
        return None;
    };
    let mut action = None;
    match (row.record.kind, &conflict.holder) {
        (Kind::Placement, Holder::Placement { .. }) => {
            ui.message(
                super::theme::Tone::Info,
                &format!(
                    "Cannot restore: {why}. There is nothing to restore: that copy is in that collection already, so this can be deleted for good."
                ),
            );
        }
        (Kind::Collection | Kind::Copy, Holder::Collection { .. } | Holder::Copy { .. }) => {
            ui.error_label(&format!("Cannot restore: {why}"));
            let (label, hint) = if row.record.kind == Kind::Collection {
                ("New name", "a name no live collection has")
            } else {
                ("New barcode", "a barcode no live copy has")
            };
            ui.horizontal(|ui| {
                let text = restore_as.entry(row.record).or_default();
                let l = ui.label(label);
                let r = ui
                    .add(
                        egui::TextEdit::singleline(text)
                            .hint_text(hint)
                            .desired_width(200.0),
                    )
                    .labelled_by(l.id);
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Restore as…").clicked() || enter) && !text.trim().is_empty() {
                    action = Some(Action::RestoreAs(if row.record.kind == Kind::Collection {
                        RestoreChange::Rename(text.clone())
                    } else {
                        RestoreChange::Rebarcode(text.clone())
                    }));
                }
            });
        }
        (Kind::Book, Holder::Book { id, title, .. }) => {
            ui.error_label(&format!("Cannot restore: {why}"));
            ui.horizontal_wrapped(|ui| {
                if ui.button("Restore without its ISBN").clicked() {
                    action = Some(Action::RestoreAs(RestoreChange::WithoutIsbn));
                }
                if ui
                    .button(format!("Merge its copies into “{title}”"))
                    .on_hover_text("Its copies come back as copies of the book that has the ISBN")
                    .clicked()
                {
                    action = Some(Action::RestoreAs(RestoreChange::MergeInto(*id)));
                }
            });
        }
        _ => {
            ui.error_label(&format!("Cannot restore: {why}"));
        }
    }
    action
}
