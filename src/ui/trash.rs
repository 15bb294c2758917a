//! The Trash: everything moved there, newest first. Restore (which can conflict: the value may
//! be taken again meanwhile) or delete for good, after a confirmation.

use std::collections::HashMap;

use egui::{RichText, Ui};

use super::widgets::{Problem, SaveState, UiExt};
use super::workspace::Port;
use crate::db::views::{self, TrashRow};
use crate::model::{Op, Outcome, RecordRef, format_minute};
use crate::tasks::{Event, Fetch, RequestId};

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
    rows: Vec<TrashRow>,
    data_gen: u64,
    loaded_gen: u64,
    fetch: Option<(u64, Fetch<Vec<TrashRow>>)>,
    states: HashMap<RecordRef, SaveState>,
    /// What was last asked of each item (for the words of its message).
    actions: HashMap<RecordRef, Action>,
    requests: HashMap<RequestId, (RecordRef, Action)>,
    confirm: Option<TrashRow>,
    notice: Option<String>,
}

impl TrashView {
    pub fn new(port: Port) -> Self {
        TrashView {
            port,
            rows: Vec::new(),
            data_gen: 1,
            loaded_gen: 0,
            fetch: None,
            states: HashMap::new(),
            actions: HashMap::new(),
            requests: HashMap::new(),
            confirm: None,
            notice: None,
        }
    }

    fn poll(&mut self) {
        if self.port.changed() {
            self.data_gen += 1;
        }
        if let Some((generation, fetch)) = &self.fetch
            && let Some(result) = fetch.poll()
        {
            self.loaded_gen = *generation;
            self.fetch = None;
            match result {
                Ok(rows) => self.rows = rows,
                Err(e) => self.notice = Some(format!("Cannot read the Trash: {e}")),
            }
        }
        if self.loaded_gen < self.data_gen && self.fetch.is_none() {
            let generation = self.data_gen;
            self.fetch = Some((
                generation,
                self.port.fetch(|conn| views::trash(conn, SHOWN)),
            ));
        }
        for reply in self.port.replies() {
            let Some((target, action)) = self.requests.get(&reply.request).copied() else {
                continue;
            };
            match reply.event {
                Event::Waiting { since } => {
                    if let Some(SaveState::Saving { waiting_since, .. }) =
                        self.states.get_mut(&target)
                    {
                        *waiting_since = Some(since);
                    }
                }
                Event::Done(outcome) => {
                    self.requests.remove(&reply.request);
                    match outcome {
                        Outcome::Saved { .. } => {
                            self.states.remove(&target);
                            let what = self
                                .rows
                                .iter()
                                .find(|r| r.record == target)
                                .map(|r| r.description.clone())
                                .unwrap_or_default();
                            self.notice = Some(match action {
                                Action::Restore => format!("Restored {what}."),
                                Action::Purge => format!("Deleted {what} for good."),
                            });
                        }
                        other => {
                            if let Some(p) = Problem::from_outcome(other) {
                                self.states.insert(target, SaveState::Problem(p));
                            }
                        }
                    }
                }
            }
        }
    }

    fn submit(&mut self, row: &TrashRow, action: Action) {
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
        let state = match self.port.submit(op) {
            Ok(request) => {
                self.requests.insert(request, (row.record, action));
                SaveState::Saving {
                    request,
                    waiting_since: None,
                }
            }
            Err(e) => SaveState::Problem(Problem::not_queued(&e)),
        };
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
        if self.rows.is_empty() && self.loaded_gen > 0 {
            ui.weak("The Trash is empty.");
        }
        let mut act = None;
        egui::ScrollArea::vertical()
            .id_salt("trash")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for row in &self.rows {
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
                        state.show_progress(ui);
                        if let Some(p) = state.problem() {
                            let purging = self.actions.get(&row.record) == Some(&Action::Purge);
                            let why = match p {
                                Problem::Stale(rec) if rec.meta().is_live() => {
                                    "it was restored in another window meanwhile.".to_owned()
                                }
                                other => other.general_message(None, &tz),
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
