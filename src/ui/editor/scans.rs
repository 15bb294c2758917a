//! The scan queue: every barcode scanned into the editor, each with its own line showing where
//! it stands (adding, waiting for the file, added, or its problem in words), and for an unknown
//! barcode the form that creates the copy (and the book, if need be) and then places it.

use std::time::Instant;

use egui::{RichText, Ui};
use jiff::tz::TimeZone;

use super::Purpose;
use crate::model::{
    BookDraft, BookId, BookRow, CollectionId, CopyDraft, Draft, Holder, Op, Outcome, PlacementId,
    Problem, WAITING_TEXT,
};
use crate::tasks::{Port, RequestId};
use crate::ui::live::Live;
use crate::ui::requests::{Requests, SaveState};
use crate::ui::theme::Tone;
use crate::ui::widgets::UiExt;

/// Books offered in the create-copy form.
const MATCHES: usize = 6;

/// A scanned barcode on its way into the collection.
#[derive(Debug)]
pub struct Scan {
    pub id: u64,
    pub barcode: String,
    state: ScanState,
}

#[derive(Debug)]
enum ScanState {
    Saving {
        waiting: bool,
    },
    /// Saved; shown until a reload at or after this change-feed generation is on screen.
    Saved {
        visible_from: u64,
    },
    Problem(Problem),
    /// The barcode is unknown and the librarian is creating the copy.
    Creating(CreateCopy),
}

/// The "create this copy" form of an unknown barcode.
#[derive(Debug, Default)]
struct CreateCopy {
    title: String,
    matches: Live<String, Vec<BookRow>>,
    book: Option<(BookId, String)>,
    state: SaveState,
}

impl CreateCopy {
    /// Whether the title still names the book picked from the matches.
    fn picked(&self) -> Option<BookId> {
        match &self.book {
            Some((id, title)) if title.trim() == self.title.trim() => Some(*id),
            _ => None,
        }
    }
}

/// What the librarian did on a scan's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanAction {
    /// Open the create-copy form of an unknown barcode.
    StartCreate(u64),
    /// Create (the book,) the copy, and place it.
    Create(u64),
    /// Close the create-copy form.
    CancelCreate(u64),
    Retry(u64),
    Dismiss(u64),
    /// Show where the conflicting copy already is.
    Show(PlacementId, String),
}

/// Every scan of one editor.
#[derive(Debug)]
pub struct ScanQueue {
    collection: CollectionId,
    scans: Vec<Scan>,
}

impl ScanQueue {
    pub fn new(collection: CollectionId) -> Self {
        ScanQueue {
            collection,
            scans: Vec::new(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.scans.is_empty()
    }

    fn place(&self, barcode: &str) -> Op {
        Op::PlaceBarcode {
            collection: self.collection,
            barcode: barcode.to_owned(),
        }
    }

    fn get(&mut self, id: u64) -> Option<&mut Scan> {
        self.scans.iter_mut().find(|s| s.id == id)
    }

    /// Sends a scanned barcode (empty ones are ignored).
    pub fn submit(&mut self, port: &Port, requests: &mut Requests<Purpose>, barcode: &str) {
        let barcode = barcode.trim().to_owned();
        if barcode.is_empty() {
            return;
        }
        let id = port.services.next_id();
        let state = send(requests.submit(port, self.place(&barcode), Purpose::Scan(id)));
        self.scans.push(Scan { id, barcode, state });
    }

    /// Takes in what happened to a request of this queue.
    pub fn waiting(&mut self, request: RequestId, purpose: &Purpose, since: Instant) {
        let (Purpose::Scan(id) | Purpose::CreateBook(id) | Purpose::CreateCopy(id)) = *purpose
        else {
            return;
        };
        if let Some(scan) = self.get(id) {
            match &mut scan.state {
                ScanState::Saving { waiting } => *waiting = true,
                ScanState::Creating(form) => form.state.mark_waiting(request, since),
                _ => {}
            }
        }
    }

    /// Puts an outcome where it belongs. `generation` is the change feed's generation now: the
    /// writer announces a commit before it answers, so the first reload at this generation shows
    /// the saved row.
    pub fn settle(
        &mut self,
        port: &Port,
        requests: &mut Requests<Purpose>,
        request: RequestId,
        purpose: &Purpose,
        outcome: Outcome,
    ) {
        let collection = self.collection;
        let place = |barcode: &str| Op::PlaceBarcode {
            collection,
            barcode: barcode.to_owned(),
        };
        match *purpose {
            Purpose::Scan(id) => {
                let visible_from = port.generation();
                if let Some(scan) = self.get(id) {
                    scan.state = match Problem::from_outcome(outcome) {
                        None => ScanState::Saved { visible_from },
                        Some(p) => ScanState::Problem(p),
                    };
                }
            }
            Purpose::CreateBook(id) => {
                let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) else {
                    return;
                };
                let ScanState::Creating(form) = &mut scan.state else {
                    return;
                };
                let Some(Outcome::Saved { record, .. }) = form.state.settle(request, outcome)
                else {
                    return;
                };
                let book = BookId(record.id);
                form.book = Some((book, form.title.trim().to_owned()));
                let op = Op::Create(Draft::Copy(CopyDraft {
                    book_id: book,
                    barcode: scan.barcode.clone(),
                }));
                form.state = requests.submit(port, op, Purpose::CreateCopy(id));
            }
            Purpose::CreateCopy(id) => {
                let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) else {
                    return;
                };
                let ScanState::Creating(form) = &mut scan.state else {
                    return;
                };
                if form.state.settle(request, outcome).is_some() {
                    // The copy exists now: place it, as the scan meant to.
                    let op = place(&scan.barcode);
                    scan.state = send(requests.submit(port, op, Purpose::Scan(id)));
                }
            }
            _ => {}
        }
    }

    /// Drops the "Added" lines whose rows are on screen now.
    pub fn forget_shown(&mut self, shown_at: u64) {
        self.scans.retain(
            |s| !matches!(s.state, ScanState::Saved { visible_from } if visible_from <= shown_at),
        );
    }

    /// Acts on what the librarian did; returns a placement to show, if asked.
    pub fn act(
        &mut self,
        port: &Port,
        requests: &mut Requests<Purpose>,
        action: ScanAction,
    ) -> Option<(PlacementId, String)> {
        match action {
            ScanAction::StartCreate(id) => {
                if let Some(scan) = self.get(id) {
                    scan.state = ScanState::Creating(CreateCopy::default());
                }
            }
            ScanAction::CancelCreate(id) => {
                if let Some(scan) = self.get(id) {
                    if let ScanState::Creating(form) = &scan.state {
                        requests.forget(form.state.request());
                    }
                    scan.state = ScanState::Problem(Problem::UnknownBarcode(scan.barcode.clone()));
                }
            }
            ScanAction::Create(id) => {
                let scan = self.scans.iter_mut().find(|s| s.id == id)?;
                let ScanState::Creating(form) = &mut scan.state else {
                    return None;
                };
                let (op, purpose) = match form.picked() {
                    Some(book) => (
                        Op::Create(Draft::Copy(CopyDraft {
                            book_id: book,
                            barcode: scan.barcode.clone(),
                        })),
                        Purpose::CreateCopy(id),
                    ),
                    None => (
                        Op::Create(Draft::Book(BookDraft {
                            title: form.title.clone(),
                            ..BookDraft::default()
                        })),
                        Purpose::CreateBook(id),
                    ),
                };
                form.state = requests.submit(port, op, purpose);
            }
            ScanAction::Retry(id) => {
                let barcode = self.get(id)?.barcode.clone();
                let op = self.place(&barcode);
                let state = send(requests.submit(port, op, Purpose::Scan(id)));
                self.get(id)?.state = state;
            }
            ScanAction::Dismiss(id) => self.scans.retain(|s| s.id != id),
            ScanAction::Show(id, barcode) => return Some((id, barcode)),
        }
        None
    }

    /// Draws a line per scan, then the create-copy forms (a form asked for on a line shows at
    /// once, in the same frame).
    pub fn ui(&mut self, ui: &mut Ui, port: &Port, tz: &TimeZone) -> Vec<ScanAction> {
        let mut actions = Vec::new();
        for scan in &self.scans {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(&scan.barcode).monospace());
                scan_line(ui, scan, tz, &mut actions);
            });
        }
        actions.retain(|a| match a {
            ScanAction::StartCreate(id) => {
                if let Some(scan) = self.scans.iter_mut().find(|s| s.id == *id) {
                    scan.state = ScanState::Creating(CreateCopy::default());
                }
                false
            }
            _ => true,
        });
        for scan in &mut self.scans {
            if let ScanState::Creating(form) = &mut scan.state {
                create_copy_form(ui, port, scan.id, &scan.barcode, form, tz, &mut actions);
            }
        }
        actions
    }
}

/// The state of a scan whose save was just (not) queued.
fn send(state: SaveState) -> ScanState {
    match state {
        SaveState::Problem(p) => ScanState::Problem(p),
        _ => ScanState::Saving { waiting: false },
    }
}

fn scan_line(ui: &mut Ui, scan: &Scan, tz: &TimeZone, actions: &mut Vec<ScanAction>) {
    match &scan.state {
        ScanState::Saving { waiting: false } => {
            ui.pending_label("Adding…");
        }
        ScanState::Saving { waiting: true } => {
            ui.pending_label(WAITING_TEXT);
        }
        ScanState::Saved { .. } => {
            ui.message(Tone::Success, "Added");
        }
        ScanState::Problem(Problem::UnknownBarcode(code)) => {
            ui.warning_label(&format!("No copy has barcode {code}."));
            if ui.button("Create copy…").clicked() {
                actions.push(ScanAction::StartCreate(scan.id));
            }
            if ui.small_button("Dismiss").clicked() {
                actions.push(ScanAction::Dismiss(scan.id));
            }
        }
        ScanState::Problem(p) => {
            ui.error_label(&p.general_message(None, tz));
            if let Problem::Conflict(c) = p
                && let Holder::Placement { id, barcode, .. } = &c.holder
                && ui
                    .button("Show")
                    .on_hover_text("Show where it is")
                    .clicked()
            {
                actions.push(ScanAction::Show(*id, barcode.clone()));
            }
            if matches!(p, Problem::Failed(_) | Problem::NotQueued(_))
                && ui
                    .button("Retry")
                    .accessible_name(format!("Retry {}", scan.barcode))
                    .clicked()
            {
                actions.push(ScanAction::Retry(scan.id));
            }
            if ui.small_button("Dismiss").clicked() {
                actions.push(ScanAction::Dismiss(scan.id));
            }
        }
        ScanState::Creating(_) => {
            ui.label("Create the copy:");
        }
    }
}

/// The form under an unknown barcode: pick a book (or name a new one), create the copy, then
/// place it.
fn create_copy_form(
    ui: &mut Ui,
    port: &Port,
    id: u64,
    barcode: &str,
    form: &mut CreateCopy,
    tz: &TimeZone,
    actions: &mut Vec<ScanAction>,
) {
    egui::Frame::group(ui.style()).show(ui, |ui| {
        ui.label(format!(
            "New copy with barcode {barcode}: which book is it?"
        ));
        ui.horizontal(|ui| {
            let l = ui.label("Book title");
            ui.add(
                egui::TextEdit::singleline(&mut form.title)
                    .hint_text("type to find the book, or a new title")
                    .desired_width(260.0),
            )
            .labelled_by(l.id);
        });
        let wanted = form.title.trim().to_owned();
        form.matches.update(port, &wanted, |q| {
            move |r| {
                if q.is_empty() {
                    Ok(Vec::new())
                } else {
                    r.books_containing(&q, MATCHES)
                }
            }
        });
        let picked = form.picked();
        let mut pick = None;
        for m in form.matches.value().into_iter().flatten() {
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
            form.title.clone_from(&title);
            form.book = Some((book, title));
        }
        if let Some(p) = form.state.problem() {
            ui.error_label(&p.general_message(None, tz));
        }
        ui.save_progress(&form.state);
        ui.horizontal(|ui| {
            let label = if form.picked().is_some() {
                "Create copy and add"
            } else {
                "Create book, copy and add"
            };
            let enabled = !form.title.trim().is_empty() && !form.state.is_saving();
            if ui.add_enabled(enabled, egui::Button::new(label)).clicked() {
                actions.push(ScanAction::Create(id));
            }
            if ui.button("Cancel").clicked() {
                actions.push(ScanAction::CancelCreate(id));
            }
        });
    });
}
