//! Needs attention: the saves made on this computer (while the shared library's server was
//! away) that the server refused when they were sent. Each says what it did, why it did not
//! land (naming the other side), shows mine beside theirs, and offers the decisions that fit:
//! Keep mine, Take theirs, Put it elsewhere, Restore, Discard. Nothing goes without a decision.

use std::collections::HashMap;

use egui::{RichText, Ui};

use super::live::Live;
use super::theme::Tone;
use super::widgets::UiExt;
use crate::db::{DbError, Library, Reads};
use crate::model::{Attention, Decision, Draft, Field, Record, format_minute};
use crate::tasks::{Pending, Port, ReadResult, Taken};

/// One entry with the server's record it names (as it is now), if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    pub entry: Attention,
    pub theirs: Option<Record>,
}

/// The Needs attention view.
#[derive(Debug)]
pub struct AttentionView {
    port: Port,
    items: Live<(), Vec<Item>>,
    /// What is typed in a "Put it elsewhere" field, by entry.
    elsewhere: HashMap<i64, String>,
    /// Decisions on their way, and what went wrong with one, by entry.
    deciding: HashMap<i64, Pending<ReadResult<Result<(), String>>>>,
    problems: HashMap<i64, String>,
}

/// The entries, each with the other side's record as the library has it now.
fn items(library: &Library, reads: &mut dyn Reads) -> Result<Vec<Item>, DbError> {
    let mut out = Vec::new();
    for entry in library.attention()? {
        let theirs = match entry.theirs {
            Some((r, _)) => reads.record(r)?,
            None => None,
        };
        out.push(Item { entry, theirs });
    }
    Ok(out)
}

/// A draft's values, as (field, value) for the side-by-side.
fn draft_fields(draft: &Draft) -> Vec<(Field, String)> {
    match draft {
        Draft::Book(b) => vec![
            (Field::Title, b.title.clone()),
            (Field::Authors, b.authors.clone()),
            (Field::Isbn, b.isbn.clone()),
            (Field::Publisher, b.publisher.clone()),
            (Field::Year, b.year.clone()),
        ],
        Draft::Copy(c) => vec![(Field::Barcode, c.barcode.clone())],
        Draft::Collection(c) => vec![
            (Field::Name, c.name.clone()),
            (Field::Description, c.description.clone()),
        ],
        Draft::Placement(p) => vec![
            (Field::ShelfMark, p.shelf_mark.clone()),
            (Field::Note, p.note.clone()),
        ],
    }
}

impl AttentionView {
    pub fn new(port: Port) -> Self {
        AttentionView {
            port,
            items: Live::new(),
            elsewhere: HashMap::new(),
            deciding: HashMap::new(),
            problems: HashMap::new(),
        }
    }

    fn poll(&mut self) {
        let library = self.port.library().clone();
        self.items.update(&self.port, &(), move |()| {
            move |r: &mut dyn Reads| items(&library, r)
        });
        let mut done = Vec::new();
        for (seq, pending) in &self.deciding {
            match pending.try_take() {
                Taken::Waiting => {}
                Taken::Ready(Ok(Ok(()))) => done.push((*seq, None)),
                Taken::Ready(Ok(Err(words))) => done.push((*seq, Some(words))),
                Taken::Ready(Err(f)) => done.push((*seq, Some(f.to_string()))),
                Taken::Abandoned => done.push((*seq, Some("stopped".to_owned()))),
            }
        }
        for (seq, problem) in done {
            self.deciding.remove(&seq);
            if let Some(p) = problem {
                self.problems.insert(seq, p);
            } else {
                self.problems.remove(&seq);
                self.elsewhere.remove(&seq);
            }
            self.items.invalidate();
        }
    }

    fn decide(&mut self, seq: i64, decision: Decision) {
        let library = self.port.library().clone();
        self.problems.remove(&seq);
        let pending = self.port.fetch(move |_: &mut dyn Reads| {
            Ok(library.decide(seq, &decision).map_err(|e| e.to_string()))
        });
        self.deciding.insert(seq, pending);
    }

    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let tz = self.port.tz().clone();
        ui.heading("Needs attention");
        ui.weak(
            "Changes made on this computer while the server was away, which the server refused when they were sent. Each waits here for your decision.",
        );
        ui.add_space(6.0);
        if let Some(f) = self.items.error() {
            ui.error_label(&format!("Cannot read what needs attention: {f}"));
        }
        let items = self.items.value().cloned().unwrap_or_default();
        if items.is_empty() && self.items.is_loaded() {
            ui.weak(
                "Nothing needs your attention: every change made here is in the shared library.",
            );
        }
        let mut decided = None;
        egui::ScrollArea::vertical()
            .id_salt("attention")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                for item in &items {
                    if let Some(d) = self.item_ui(ui, item, &tz) {
                        decided = Some((item.entry.seq, d));
                    }
                    ui.separator();
                }
            });
        if let Some((seq, d)) = decided {
            self.decide(seq, d);
        }
    }

    fn item_ui(&mut self, ui: &mut Ui, item: &Item, tz: &jiff::tz::TimeZone) -> Option<Decision> {
        let e = &item.entry;
        let seq = e.seq;
        ui.horizontal(|ui| {
            ui.label(RichText::new(&e.what).strong());
            ui.weak(format!(
                "made on {}, {}",
                e.made_by,
                format_minute(e.made_at, tz)
            ));
        });
        ui.message(Tone::Warning, &format!("{}.", e.words));
        // Mine beside theirs.
        let mine = e.mine.as_ref().map(draft_fields).unwrap_or_default();
        // Record ids say nothing to people (the words above name the copy and the collection).
        let theirs: Vec<(Field, String)> = item
            .theirs
            .as_ref()
            .map(Record::fields)
            .unwrap_or_default()
            .into_iter()
            .filter(|(f, _)| !matches!(f, Field::Book | Field::Copy | Field::Collection))
            .collect();
        let value = |list: &[(Field, String)], f: Field| {
            list.iter()
                .find(|(g, _)| *g == f)
                .map_or_else(String::new, |(_, v)| v.clone())
        };
        let mut fields: Vec<Field> = mine.iter().map(|(f, _)| *f).collect();
        for (f, _) in &theirs {
            if !fields.contains(f) {
                fields.push(*f);
            }
        }
        // Only what either side has.
        fields.retain(|f| !value(&mine, *f).is_empty() || !value(&theirs, *f).is_empty());
        if !fields.is_empty() {
            egui::Grid::new(("mine-theirs", seq))
                .num_columns(3)
                .spacing([16.0, 2.0])
                .show(ui, |ui| {
                    ui.weak("");
                    ui.weak("Mine");
                    ui.weak("Theirs (in the shared library)");
                    ui.end_row();
                    for f in fields {
                        ui.label(f.label());
                        ui.label(value(&mine, f));
                        ui.label(value(&theirs, f));
                        ui.end_row();
                    }
                });
        }
        let busy = self.deciding.contains_key(&seq);
        let mut chosen = None;
        ui.horizontal_wrapped(|ui| {
            for decision in e.decisions() {
                match decision {
                    Decision::Elsewhere(_) => {
                        let field = e.elsewhere_field().map_or("Value", Field::label);
                        let text = self.elsewhere.entry(seq).or_default();
                        let l = ui.label(format!("New {}", field.to_lowercase()));
                        ui.add(egui::TextEdit::singleline(text).desired_width(160.0))
                            .labelled_by(l.id);
                        if ui
                            .add_enabled(!busy, egui::Button::new(decision.label()))
                            .clicked()
                        {
                            chosen = Some(Decision::Elsewhere(text.clone()));
                        }
                    }
                    other => {
                        if ui
                            .add_enabled(!busy, egui::Button::new(other.label()))
                            .clicked()
                        {
                            chosen = Some(other);
                        }
                    }
                }
            }
            if busy {
                ui.spinner();
            }
        });
        if let Some(p) = self.problems.get(&seq) {
            ui.error_label(p);
        }
        chosen
    }
}
