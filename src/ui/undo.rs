//! The offer to undo a move to the Trash: shown for [`UNDO_FOR`], then gone. Its whole life is
//! here: [`UndoOffer::bar`] draws it and sends the restore, [`UndoOffer::settle`] takes the
//! answer (only if it belongs to the offer still shown).

use std::time::{Duration, Instant};

use egui::Ui;
use jiff::tz::TimeZone;

use super::requests::{Requests, SaveState};
use super::theme::Tone;
use super::widgets::UiExt;
use crate::model::{Op, Outcome, Problem, RecordRef};
use crate::tasks::{Port, RequestId};

/// How long an Undo offer stays.
pub const UNDO_FOR: Duration = Duration::from_secs(12);

/// The offer to undo a move to the Trash.
#[derive(Debug)]
pub struct UndoOffer {
    pub target: RecordRef,
    pub version: i64,
    pub text: String,
    pub until: Instant,
    pub state: SaveState,
}

/// What the user did with an [`UndoOffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UndoAction {
    Undo,
    Dismiss,
}

impl UndoOffer {
    pub fn new(target: RecordRef, version: i64, text: String) -> Self {
        UndoOffer {
            target,
            version,
            text,
            until: Instant::now() + UNDO_FOR,
            state: SaveState::Idle,
        }
    }

    /// The offer has run out (and is not busy or showing a problem).
    pub fn expired(&self) -> bool {
        self.until <= Instant::now() && !self.state.is_saving() && self.state.problem().is_none()
    }

    /// The save that undoes the removal.
    pub fn op(&self) -> Op {
        Op::Restore {
            target: self.target,
            version: self.version,
        }
    }

    /// The whole life of the offer in `slot`, drawn where it is called: it goes away when it
    /// runs out or is dismissed, and Undo sends the restore through `port`, tracked in
    /// `requests` as `purpose`.
    pub fn bar<P: Clone>(
        slot: &mut Option<UndoOffer>,
        ui: &mut Ui,
        port: &Port,
        purpose: P,
        requests: &mut Requests<P>,
    ) {
        if slot.as_ref().is_some_and(UndoOffer::expired) {
            *slot = None;
        }
        let Some(undo) = slot else { return };
        match undo.ui(ui, port.tz()) {
            Some(UndoAction::Undo) if !undo.state.is_saving() => {
                undo.state = requests.submit(port, undo.op(), purpose);
            }
            Some(UndoAction::Dismiss) => *slot = None,
            _ => {}
        }
    }

    /// The answer to the Undo sent as `request`, if it belongs to the offer in `slot` (which may
    /// have been replaced meanwhile). Returns the record that came back, if it did.
    pub fn settle(
        slot: &mut Option<UndoOffer>,
        request: RequestId,
        outcome: Outcome,
    ) -> Option<RecordRef> {
        let undo = slot
            .as_mut()
            .filter(|u| u.state.request() == Some(request))?;
        undo.state.settle(request, outcome)?;
        let target = undo.target;
        *slot = None;
        Some(target)
    }

    /// Notes that the Undo sent as `request` waits for the lock.
    pub fn mark_waiting(slot: &mut Option<UndoOffer>, request: RequestId, since: Instant) {
        if let Some(u) = slot {
            u.state.mark_waiting(request, since);
        }
    }

    fn ui(&self, ui: &mut Ui, tz: &TimeZone) -> Option<UndoAction> {
        let mut act = None;
        ui.horizontal_wrapped(|ui| {
            ui.message(Tone::Info, &self.text);
            if self.state.is_saving() {
                ui.save_progress(&self.state);
            } else if ui.button("Undo").clicked() {
                act = Some(UndoAction::Undo);
            }
            if let Some(p) = self.state.problem() {
                ui.error_label(&format!("Cannot undo: {}", undo_reason(p, tz)));
                if ui.small_button("Dismiss").clicked() {
                    act = Some(UndoAction::Dismiss);
                }
            }
        });
        // Repaint when the offer runs out, even if nothing else happens.
        ui.ctx()
            .request_repaint_after(self.until.saturating_duration_since(Instant::now()));
        act
    }
}

fn undo_reason(p: &Problem, tz: &TimeZone) -> String {
    p.general_message(None, tz)
}
