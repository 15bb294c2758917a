//! The offer to undo a move to the Trash: shown for [`UNDO_FOR`], then gone. Its whole life is
//! here: [`UndoOffer::bar`] draws it and sends the restore, [`UndoOffer::settle`] takes the
//! answer (only if it belongs to the offer still shown).

use std::time::{Duration, Instant};

use egui::Ui;
use jiff::tz::TimeZone;

use super::requests::{Requests, SaveState};
use super::theme::Tone;
use super::widgets::UiExt;
use crate::model::{Op, Outcome, Problem, RecordRef, Wait, continuing};
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

    /// Takes the offer in `slot` (Ctrl+Z), if it can be taken now.
    pub fn take<P: Clone>(
        slot: &mut Option<UndoOffer>,
        port: &Port,
        purpose: P,
        requests: &mut Requests<P>,
    ) {
        if let Some(undo) = slot
            && !undo.state.is_saving()
            && undo.state.problem().is_none()
            && !undo.expired()
        {
            undo.state = requests.submit(port, undo.op(), purpose);
        }
    }

    /// Notes that the Undo sent as `request` waits for the lock.
    pub fn mark_waiting(
        slot: &mut Option<UndoOffer>,
        request: RequestId,
        since: Instant,
        reason: Wait,
    ) {
        if let Some(u) = slot {
            u.state.mark_waiting(request, since, reason);
        }
    }

    fn ui(&self, ui: &mut Ui, tz: &TimeZone) -> Option<UndoAction> {
        let mut act = None;
        ui.horizontal_wrapped(|ui| {
            ui.message(Tone::Info, &self.text);
            if self.state.is_saving() {
                ui.save_progress(&self.state);
            } else if ui.button("Undo").on_hover_text("Ctrl+Z").clicked() {
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

/// The reason, continuing the sentence "Cannot undo: …".
fn undo_reason(p: &Problem, tz: &TimeZone) -> String {
    continuing(&p.general_message(None, tz))
}

/// Removals on offer for Undo at once.
const MAX_UNDOS: usize = 8;

/// Several removals, undone in turn through one bar: it shows the latest, Undo (or Ctrl+Z)
/// brings that one back, and the one before takes its place with a fresh [`UNDO_FOR`]. One bar
/// in one place, so offers coming and going never move what is below it.
#[derive(Debug, Default)]
pub struct UndoStack {
    /// Oldest first.
    offers: Vec<UndoOffer>,
}

impl UndoStack {
    pub fn is_empty(&self) -> bool {
        self.offers.is_empty()
    }

    /// Offers `offer`, on top of the earlier ones.
    pub fn push(&mut self, offer: UndoOffer) {
        self.offers.push(offer);
        if self.offers.len() > MAX_UNDOS {
            self.offers.remove(0);
        }
    }

    /// Draws the bar (nothing when there is nothing to undo). Returns whether it was acted on.
    pub fn bar<P: Clone>(
        &mut self,
        ui: &mut Ui,
        port: &Port,
        purpose: P,
        requests: &mut Requests<P>,
    ) -> bool {
        if self.offers.last().is_some_and(UndoOffer::expired) {
            // The latest ran out; the older ones ran out before it.
            self.offers.clear();
        }
        let more = self.offers.len().saturating_sub(1);
        let Some(top) = self.offers.last_mut() else {
            return false;
        };
        let (mut acted, mut dismissed) = (false, false);
        ui.horizontal(|ui| {
            match top.ui(ui, port.tz()) {
                Some(UndoAction::Undo) if !top.state.is_saving() => {
                    top.state = requests.submit(port, top.op(), purpose);
                    acted = true;
                }
                Some(UndoAction::Dismiss) => {
                    acted = true;
                    dismissed = true;
                }
                _ => {}
            }
            if more > 0 {
                ui.weak(format!(
                    "and {} before it, undone in turn",
                    crate::model::count(more, "removal", "removals")
                ));
            }
        });
        if dismissed {
            // The problem goes, and so does this offer.
            self.pop();
        }
        acted
    }

    /// Whether Ctrl+Z has something to undo now.
    pub fn can_undo(&self) -> bool {
        self.offers
            .last()
            .is_some_and(|u| !u.state.is_saving() && u.state.problem().is_none() && !u.expired())
    }

    /// Undoes the latest removal (Ctrl+Z); false if there is none to undo now.
    pub fn undo_latest<P: Clone>(
        &mut self,
        port: &Port,
        purpose: P,
        requests: &mut Requests<P>,
    ) -> bool {
        match self.offers.last_mut() {
            Some(top)
                if !top.state.is_saving() && top.state.problem().is_none() && !top.expired() =>
            {
                top.state = requests.submit(port, top.op(), purpose);
                true
            }
            _ => false,
        }
    }

    /// Takes the answer to an Undo; returns the record that came back, if it did.
    pub fn settle(&mut self, request: RequestId, outcome: Outcome) -> Option<RecordRef> {
        let top = self.offers.last_mut()?;
        if top.state.request() != Some(request) {
            return None;
        }
        let back = top.state.settle(request, outcome).map(|_| top.target);
        if back.is_some() {
            self.pop();
        }
        back
    }

    /// Notes that the Undo sent as `request` waits for the lock.
    pub fn mark_waiting(&mut self, request: RequestId, since: Instant, reason: Wait) {
        if let Some(top) = self.offers.last_mut() {
            top.state.mark_waiting(request, since, reason);
        }
    }

    /// Removes the latest offer; the one before it gets a fresh time on offer.
    fn pop(&mut self) {
        self.offers.pop();
        if let Some(top) = self.offers.last_mut() {
            top.until = Instant::now() + UNDO_FOR;
        }
    }
}
