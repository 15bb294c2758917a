//! The Trash: everything moved there, newest first. Restore (which can conflict: the value may
//! be taken again meanwhile) or delete for good, after a confirmation.

use std::collections::HashMap;

use egui::{RichText, Ui};

use super::live::Live;
use super::requests::{Requests, SaveState};
use super::widgets::UiExt;
use crate::model::{Op, Outcome, Problem, RecordRef, TrashRow, continuing, format_minute};
use crate::tasks::{Event, Port};

/// Items shown at most.
const SHOWN: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Restore,
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
                Event::Waiting { since } => {
                    if let Some(state) = self.states.get_mut(&target) {
                        state.mark_waiting(answer.request, since);
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
                    self.notice = Some(match action {
                        Action::Restore => format!("Restored {what}."),
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
        let op = match action {
            Action::Restore => Op::Restore {
                target: row.record,
                version: row.version,
            },
            Action::Purge => Op::Purge {
                target: row.record,
                version: row.version,
            },
        };
        let state = self.requests.submit(&self.port, op, (row.record, action));
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
                for row in self.rows() {
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
                            let why = match p {
                                Problem::Stale(rec) if rec.meta().is_live() => {
                                    "it was restored in another window meanwhile.".to_owned()
                                }
                                other => continuing(&other.general_message(None, &tz)),
                            };
                            ui.error_label(&format!(
                                "{} {why}",
                                if purging {
                                    "Cannot delete for good:"
                                } else {
                                    "Cannot restore:"
                                }
                            ));
                        }
                    }
                    ui.separator();
                }
            });
        match act {
            Some((row, Action::Purge)) => self.confirm = Some(row),
            Some((row, Action::Restore)) => self.submit(&row, Action::Restore),
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
