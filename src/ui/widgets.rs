//! Shared widgets: the inline message (one look for every error, warning and pending note, and
//! exposed to AccessKit as text so screen readers and tests find it), a save's progress,
//! labelled fields, and the part of a form's problem that no single field shows.

use egui::{Response, RichText, Ui};
use jiff::tz::TimeZone;

use super::requests::SaveState;
use super::theme::{self, Tone};
use crate::model::{Field, Problem, Record, stale_message};

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

    /// "Saving…", or the waiting note, while a save is in flight; nothing otherwise.
    fn save_progress(&mut self, state: &SaveState);
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

    fn save_progress(&mut self, state: &SaveState) {
        if let Some(reason) = state.waiting() {
            self.pending_label(reason.text());
        } else if state.is_saving() {
            self.pending_label("Saving…");
        }
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

/// Draws the keyboard-focus ring around a frameless widget (egui draws none for those), so a
/// Tab stop is always visible.
pub fn focus_ring(ui: &Ui, resp: &Response) {
    if resp.has_focus() {
        ui.painter().rect_stroke(
            resp.rect.shrink(1.0),
            3.0,
            ui.visuals().selection.stroke,
            egui::StrokeKind::Inside,
        );
    }
}
