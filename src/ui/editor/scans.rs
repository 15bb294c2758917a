//! The scan queue: every barcode scanned into the editor. A scan that lands only counts ("12
//! added"): its row is in the table. A scan in flight shows on the scan bar ("Adding… (2)", or
//! that it waits for the file). A scan that did not land keeps a line, in the order scanned,
//! until the librarian acts on it: its problem in words, Show for a copy that is already here,
//! Retry for a failure, and for an unknown barcode the dialog that creates the copy (and the
//! book, if need be) and then places it.
//!
//! Lines only come and go when the librarian acts, never by themselves, so nothing moves under
//! the pointer.

use std::time::Instant;

use egui::{RichText, Ui};
use jiff::tz::TimeZone;

use super::Purpose;
use super::create_copy::{CreateCopy, FormAction};
use crate::model::{
    BookId, CollectionId, CopyDraft, Draft, Holder, Op, Outcome, PlacementId, Problem, Wait,
};
use crate::tasks::{Port, RequestId};
use crate::ui::requests::{Requests, SaveState};
use crate::ui::widgets::UiExt;

/// A scanned barcode on its way into the collection.
#[derive(Debug)]
struct Scan {
    id: u64,
    barcode: String,
    state: ScanState,
}

#[derive(Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "a handful of scans exist at a time; boxing the problem would only add noise"
)]
enum ScanState {
    Saving {
        /// Why it waits, once the executor said so.
        waiting: Option<Wait>,
    },
    Problem(Problem),
    /// The barcode is unknown and the librarian is creating the copy.
    Creating(Box<CreateCopy>),
}

/// What the librarian did on a scan's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScanAction {
    /// Open the create-copy dialog of an unknown barcode.
    StartCreate(u64),
    /// Create (the book,) the copy, and place it.
    Create(u64),
    /// Close the create-copy dialog.
    CancelCreate(u64),
    Retry(u64),
    Dismiss(u64),
    /// Dismiss every line that only reports a problem.
    DismissAll,
    /// Show where the conflicting copy already is.
    Show(PlacementId, String),
}

/// Every scan of one editor.
#[derive(Debug)]
pub struct ScanQueue {
    collection: CollectionId,
    scans: Vec<Scan>,
    /// Scans that landed since the editor opened.
    added: usize,
    /// Of those, the ones saved on this computer while a shared library's server was away
    /// (or while earlier ones still waited to be sent): not yet in the shared library.
    kept: usize,
}

impl ScanQueue {
    pub fn new(collection: CollectionId) -> Self {
        ScanQueue {
            collection,
            scans: Vec::new(),
            added: 0,
            kept: 0,
        }
    }

    /// Whether any scan is in flight or waits for the librarian.
    pub fn is_empty(&self) -> bool {
        self.scans.is_empty()
    }

    /// Scans that landed since the editor opened.
    pub fn added(&self) -> usize {
        self.added
    }

    /// Scans saved on this computer only, not yet in the shared library.
    pub fn kept(&self) -> usize {
        self.kept
    }

    /// Scans in flight, and whether any of them waits for another program's lock.
    pub fn in_flight(&self) -> (usize, bool) {
        self.scans
            .iter()
            .fold((0, false), |(n, w), s| match s.state {
                ScanState::Saving { waiting } => (n + 1, w || waiting.is_some()),
                _ => (n, w),
            })
    }

    /// How many lines report a problem.
    pub fn problems(&self) -> usize {
        self.scans
            .iter()
            .filter(|s| matches!(s.state, ScanState::Problem(_)))
            .count()
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

    /// Notes that a request of this queue waits for the library's lock.
    pub fn waiting(&mut self, request: RequestId, id: u64, since: Instant, reason: Wait) {
        if let Some(scan) = self.get(id) {
            match &mut scan.state {
                ScanState::Saving { waiting } => *waiting = Some(reason),
                ScanState::Creating(form) => form.state.mark_waiting(request, since, reason),
                ScanState::Problem(_) => {}
            }
        }
    }

    /// Puts an outcome where it belongs.
    pub fn settle(
        &mut self,
        port: &Port,
        requests: &mut Requests<Purpose>,
        request: RequestId,
        purpose: &Purpose,
        outcome: Outcome,
    ) {
        match *purpose {
            Purpose::Scan(id) => match Problem::from_outcome(outcome) {
                None => {
                    self.scans.retain(|s| s.id != id);
                    // Saved while the shared library's server is away (or while earlier saves
                    // wait to be sent): on this computer only, and said so.
                    let here = port
                        .library()
                        .sync_status()
                        .is_some_and(|s| !s.online || s.waiting > 0);
                    if here {
                        self.kept += 1;
                    } else {
                        self.added += 1;
                    }
                }
                Some(p) => {
                    if let Some(scan) = self.get(id) {
                        scan.state = ScanState::Problem(p);
                    }
                }
            },
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
                form.created(book);
                let op = Op::Create(Draft::Copy(CopyDraft {
                    book_id: book,
                    barcode: scan.barcode.clone(),
                }));
                form.state = requests.submit(port, op, Purpose::CreateCopy(id));
            }
            Purpose::CreateCopy(id) => {
                let place = self.place(
                    &self
                        .scans
                        .iter()
                        .find(|s| s.id == id)
                        .map(|s| s.barcode.clone())
                        .unwrap_or_default(),
                );
                let Some(scan) = self.get(id) else { return };
                let ScanState::Creating(form) = &mut scan.state else {
                    return;
                };
                if form.state.settle(request, outcome).is_some() {
                    // The copy exists now: place it, as the scan meant to.
                    scan.state = send(requests.submit(port, place, Purpose::Scan(id)));
                }
            }
            _ => {}
        }
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
                    scan.state = ScanState::Creating(Box::default());
                }
            }
            ScanAction::CancelCreate(id) => {
                if let Some(scan) = self.get(id)
                    && let ScanState::Creating(form) = &scan.state
                    && !form.state.is_saving()
                {
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
                        Op::Create(Draft::Book(form.draft.clone())),
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
            ScanAction::DismissAll => self
                .scans
                .retain(|s| !matches!(s.state, ScanState::Problem(_))),
            ScanAction::Show(id, barcode) => return Some((id, barcode)),
        }
        None
    }

    /// Draws a line per scan that did not land, in the order scanned.
    pub fn ui(&self, ui: &mut Ui, tz: &TimeZone) -> Vec<ScanAction> {
        let mut actions = Vec::new();
        for scan in &self.scans {
            // A save in flight is counted on the scan bar; it gets a line of its own only once
            // it waits for another program's lock (then it stays a while).
            if matches!(scan.state, ScanState::Saving { waiting: None }) {
                continue;
            }
            ui.push_id(scan.id, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.label(RichText::new(&scan.barcode).monospace());
                    scan_line(ui, scan, tz, &mut actions);
                });
            });
        }
        actions
    }

    /// The create-copy dialog, if one is open (one at a time: it is modal).
    pub fn dialog(&mut self, ctx: &egui::Context, port: &Port, tz: &TimeZone) -> Vec<ScanAction> {
        let Some(scan) = self
            .scans
            .iter_mut()
            .find(|s| matches!(s.state, ScanState::Creating(_)))
        else {
            return Vec::new();
        };
        let ScanState::Creating(form) = &mut scan.state else {
            return Vec::new();
        };
        match form.show(ctx, port, &scan.barcode, tz) {
            Some(FormAction::Create) => vec![ScanAction::Create(scan.id)],
            Some(FormAction::Cancel) => vec![ScanAction::CancelCreate(scan.id)],
            None => Vec::new(),
        }
    }

    /// Whether the create-copy dialog is open.
    pub fn dialog_open(&self) -> bool {
        self.scans
            .iter()
            .any(|s| matches!(s.state, ScanState::Creating(_)))
    }
}

/// The state of a scan whose save was just (not) queued.
fn send(state: SaveState) -> ScanState {
    match state {
        SaveState::Problem(p) => ScanState::Problem(p),
        _ => ScanState::Saving { waiting: None },
    }
}

fn scan_line(ui: &mut Ui, scan: &Scan, tz: &TimeZone, actions: &mut Vec<ScanAction>) {
    match &scan.state {
        ScanState::Saving { waiting: None } => {}
        ScanState::Saving {
            waiting: Some(reason),
        } => {
            ui.pending_label(reason.text());
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
            ui.label("Creating the copy…");
        }
    }
}
