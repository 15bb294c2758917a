//! Shared widgets: the inline message (one look for every error, warning and pending note, and
//! exposed to AccessKit as text so screen readers and tests find it), labelled fields, and the
//! words for every save outcome.

use std::time::Instant;

use egui::{Response, RichText, Ui};
use jiff::tz::TimeZone;

use super::theme::{self, Tone};
use crate::model::{Conflict, Failure, Field, FieldError, Outcome, Record};
use crate::tasks::{RequestId, SubmitError};

/// The words shown while a save waits for another program's write lock.
pub const WAITING_TEXT: &str = "Waiting for the library file — another program is writing";

/// Messages and fields that look the same in every window.
pub trait UiExt {
    /// A message in a tinted box, coloured by its tone.
    fn message(&mut self, tone: Tone, text: &str) -> Response;

    fn error_label(&mut self, text: &str) -> Response {
        self.message(Tone::Error, text)
    }

    fn warning_label(&mut self, text: &str) -> Response {
        self.message(Tone::Warning, text)
    }

    /// A spinner followed by the text.
    fn pending_label(&mut self, text: &str) -> Response;

    /// A label and a single-line field named by it (for screen readers and tests).
    fn labelled_text(&mut self, label: &str, value: &mut String, width: f32) -> Response;
}

impl UiExt for Ui {
    fn message(&mut self, tone: Tone, text: &str) -> Response {
        let (fg, bg) = theme::colors(tone, self.visuals());
        egui::Frame::new()
            .fill(bg)
            .inner_margin(egui::Margin::symmetric(8, 3))
            .corner_radius(4)
            .show(self, |ui| {
                ui.add(egui::Label::new(RichText::new(text).color(fg)).wrap())
            })
            .inner
    }

    fn pending_label(&mut self, text: &str) -> Response {
        let (fg, _) = theme::colors(Tone::Pending, self.visuals());
        self.horizontal(|ui| {
            ui.add(egui::Spinner::new().size(12.0).color(fg));
            ui.label(RichText::new(text).color(fg))
        })
        .inner
    }

    fn labelled_text(&mut self, label: &str, value: &mut String, width: f32) -> Response {
        let l = self.label(label);
        self.add(egui::TextEdit::singleline(value).desired_width(width))
            .labelled_by(l.id)
    }
}

/// Where a form's save stands.
#[derive(Clone, Debug, Default)]
pub enum SaveState {
    #[default]
    Idle,
    /// Sent to the executor; not answered yet.
    Saving {
        request: RequestId,
        waiting_since: Option<Instant>,
    },
    /// The last save did not happen, and why.
    Problem(Problem),
}

impl SaveState {
    pub fn is_saving(&self) -> bool {
        matches!(self, SaveState::Saving { .. })
    }

    pub fn request(&self) -> Option<RequestId> {
        match self {
            SaveState::Saving { request, .. } => Some(*request),
            _ => None,
        }
    }

    pub fn problem(&self) -> Option<&Problem> {
        match self {
            SaveState::Problem(p) => Some(p),
            _ => None,
        }
    }

    /// Shows "Saving…" or the waiting note while a save is in flight.
    pub fn show_progress(&self, ui: &mut Ui) {
        if let SaveState::Saving { waiting_since, .. } = self {
            if waiting_since.is_some() {
                ui.pending_label(WAITING_TEXT);
            } else {
                ui.pending_label("Saving…");
            }
        }
    }
}

/// Why a save did not happen, as the editor keeps it until the user acts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    Fields(Vec<FieldError>),
    Conflict(Conflict),
    Stale(Record),
    DeletedElsewhere(Record),
    Gone,
    UnknownBarcode(String),
    Failed(Failure),
    NotQueued(String),
}

impl Problem {
    /// The problem an outcome reports, or `None` if it is a success.
    pub fn from_outcome(outcome: Outcome) -> Option<Problem> {
        Some(match outcome {
            Outcome::Saved { .. } | Outcome::Imported(_) => return None,
            Outcome::Invalid(e) => Problem::Fields(e),
            Outcome::Conflict(c) => Problem::Conflict(c),
            Outcome::Stale(r) => Problem::Stale(r),
            Outcome::DeletedElsewhere(r) => Problem::DeletedElsewhere(r),
            Outcome::Gone(_) => Problem::Gone,
            Outcome::UnknownBarcode(b) => Problem::UnknownBarcode(b),
            Outcome::Failed(f) => Problem::Failed(f),
        })
    }

    /// What an outcome that is not a success says, in words (empty for a success).
    pub fn describe(outcome: Outcome, tz: &TimeZone) -> String {
        Problem::from_outcome(outcome)
            .map(|p| p.general_message(None, tz))
            .unwrap_or_default()
    }

    pub fn not_queued(e: &SubmitError) -> Problem {
        Problem::NotQueued(format!("Not saved: {e}."))
    }

    /// The message that belongs next to `field`, if any.
    pub fn field_message(&self, field: Field, tz: &TimeZone) -> Option<String> {
        match self {
            Problem::Fields(errors) => {
                let texts: Vec<String> = errors
                    .iter()
                    .filter(|e| e.field == field)
                    .map(|e| format!("{} {}", field.label(), e.message))
                    .collect();
                (!texts.is_empty()).then(|| texts.join("; "))
            }
            Problem::Conflict(c) if c.field == field => Some(c.message(tz)),
            _ => None,
        }
    }

    /// Whether [`field_message`](Self::field_message) has something for one of `fields`.
    pub fn concerns_any(&self, fields: &[Field]) -> bool {
        let tz = TimeZone::UTC;
        fields.iter().any(|f| self.field_message(*f, &tz).is_some())
    }

    /// The message for the form as a whole (what no single field shows). `base` is what the
    /// editor started from, to say what changed elsewhere.
    pub fn general_message(&self, base: Option<&Record>, tz: &TimeZone) -> String {
        match self {
            Problem::Fields(errors) => errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
            Problem::Conflict(c) => c.message(tz),
            Problem::Stale(current) => stale_message(base, current),
            Problem::DeletedElsewhere(_) => {
                "Moved to the Trash in another window since you opened it. Restore it from the Trash to edit it again.".to_owned()
            }
            Problem::Gone => "Deleted for good in another window since you opened it.".to_owned(),
            Problem::UnknownBarcode(b) => format!("No copy has barcode {b}."),
            Problem::Failed(f) => format!("Not saved: {f}."),
            Problem::NotQueued(text) => text.clone(),
        }
    }
}

/// "Changed in another window since you opened it: shelf mark is now 'QA76 .K5'".
pub fn stale_message(base: Option<&Record>, current: &Record) -> String {
    let head = "Changed in another window since you opened it";
    let Some(base) = base else {
        return format!("{head}.");
    };
    let before = base.fields();
    let changes: Vec<String> = current
        .fields()
        .into_iter()
        .zip(before)
        .filter(|((_, now), (_, then))| now != then)
        .map(|((field, now), _)| format!("{} is now '{now}'", field.label().to_lowercase()))
        .collect();
    if changes.is_empty() {
        format!("{head}.")
    } else {
        format!("{head}: {}", changes.join(", "))
    }
}

/// A field with its label, and under it the message that belongs to it (if any).
pub fn form_field(
    ui: &mut Ui,
    label: &str,
    value: &mut String,
    width: f32,
    message: Option<String>,
) -> Response {
    let response = ui
        .horizontal(|ui| {
            let l = ui.add_sized(
                [110.0, 20.0],
                egui::Label::new(label).halign(egui::Align::Min),
            );
            ui.add(egui::TextEdit::singleline(value).desired_width(width))
                .labelled_by(l.id)
        })
        .inner;
    if let Some(m) = message {
        ui.horizontal(|ui| {
            ui.add_space(118.0);
            ui.error_label(&m);
        });
    }
    response
}

/// What the user chose about a record that changed elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StaleChoice {
    /// Save my values over the newer version.
    KeepMine(i64),
    /// Drop my edit and show theirs.
    TakeTheirs(Record),
}

/// Shows the part of a form's problem that no field shows; for a record that changed
/// elsewhere, offers "Keep mine" and "Take theirs".
pub fn form_problem(
    ui: &mut Ui,
    state: &SaveState,
    base: Option<&Record>,
    fields: &[Field],
    tz: &TimeZone,
) -> Option<StaleChoice> {
    let problem = state.problem()?;
    if problem.concerns_any(fields) {
        return None;
    }
    match problem {
        Problem::Stale(current) => {
            ui.warning_label(&stale_message(base, current));
            let mut choice = None;
            ui.horizontal(|ui| {
                if ui.button("Keep mine").clicked() {
                    choice = Some(StaleChoice::KeepMine(current.meta().version));
                }
                if ui.button("Take theirs").clicked() {
                    choice = Some(StaleChoice::TakeTheirs(current.clone()));
                }
            });
            choice
        }
        other => {
            let mut text = other.general_message(base, tz);
            if matches!(other, Problem::Failed(_) | Problem::NotQueued(_)) {
                text.push_str(" Your edit is kept; try again.");
            }
            ui.error_label(&text);
            None
        }
    }
}

/// The offer to undo a move to the Trash, shown for [`UNDO_FOR`].
#[derive(Debug)]
pub struct UndoOffer {
    pub target: crate::model::RecordRef,
    pub version: i64,
    pub text: String,
    pub until: Instant,
    pub state: SaveState,
}

/// How long an Undo offer stays.
pub const UNDO_FOR: std::time::Duration = std::time::Duration::from_secs(12);

/// What the user did with an [`UndoOffer`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UndoAction {
    Undo,
    Dismiss,
}

impl UndoOffer {
    pub fn new(target: crate::model::RecordRef, version: i64, text: String) -> Self {
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
    pub fn op(&self) -> crate::model::Op {
        crate::model::Op::Restore {
            target: self.target,
            version: self.version,
        }
    }

    /// The whole life of the offer in `slot`, drawn where it is called: it goes away when it
    /// runs out or is dismissed, and Undo sends the restore through `port`, tracked in
    /// `requests` as `purpose`.
    pub fn bar<P>(
        slot: &mut Option<UndoOffer>,
        ui: &mut Ui,
        port: &super::workspace::Port,
        purpose: P,
        requests: &mut std::collections::HashMap<RequestId, P>,
    ) {
        if slot.as_ref().is_some_and(UndoOffer::expired) {
            *slot = None;
        }
        let Some(undo) = slot else { return };
        match undo.ui(ui, port.tz()) {
            Some(UndoAction::Undo) if !undo.state.is_saving() => {
                undo.state = port.submit_tracked(undo.op(), purpose, requests);
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
    ) -> Option<crate::model::RecordRef> {
        let undo = slot
            .as_mut()
            .filter(|u| u.state.request() == Some(request))?;
        match Problem::from_outcome(outcome) {
            None => {
                let target = undo.target;
                *slot = None;
                Some(target)
            }
            Some(p) => {
                undo.state = SaveState::Problem(p);
                None
            }
        }
    }

    fn ui(&self, ui: &mut Ui, tz: &TimeZone) -> Option<UndoAction> {
        let mut act = None;
        ui.horizontal_wrapped(|ui| {
            ui.message(Tone::Info, &self.text);
            if self.state.is_saving() {
                self.state.show_progress(ui);
            } else if ui.button("Undo").clicked() {
                act = Some(UndoAction::Undo);
            }
            if let Some(p) = self.state.problem() {
                ui.error_label(&format!("Cannot undo: {}", p.general_message(None, tz)));
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
