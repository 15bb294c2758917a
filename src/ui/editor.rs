//! The collection editor: one collection's placements in a virtualised, sortable table, with
//! add-by-barcode made for a scanner, in-place editing of shelf mark and note, removal with an
//! Undo offer, and every save's outcome shown inline where it belongs.
//!
//! The same editor is shown in the main window and in its own native windows. It never waits:
//! rows arrive page by page from the reader threads, saves go to the executor, and both come
//! back through its [`Port`], which repaints its window.

use std::collections::HashMap;
use std::time::Instant;

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui};
use egui_extras::{Column, TableBuilder};

use super::theme::{self, Tone};
use super::widgets::{
    Problem, SaveState, StaleChoice, UiExt, UndoOffer, WAITING_TEXT, form_problem,
};
use super::workspace::Port;
use crate::db::read;
use crate::db::views::{self, BookRow, PlacementRow, SortKey};
use crate::model::{
    BookDraft, BookId, Collection, CollectionId, CopyDraft, Draft, Field, Meta, Op, Outcome,
    Placement, PlacementDraft, PlacementId, Record, format_minute,
};
use crate::tasks::{Event, Fetch, RequestId};

/// Rows fetched per page.
const PAGE: usize = 100;

pub const SHORTCUT_NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
pub const SHORTCUT_SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
pub const SHORTCUT_FIND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
pub const SHORTCUT_CLOSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::W);

/// What an editor asks of the app after drawing.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditorCommand {
    OpenInWindow(CollectionId),
    CloseWindow,
}

/// Where the editor is shown, which decides a few buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Main,
    Window,
}

/// The collection's own record and how many rows match the filter.
#[derive(Clone, Debug)]
struct Head {
    collection: Option<Collection>,
    total: usize,
}

/// What a request was for, so its outcome lands in the right place.
#[derive(Clone, Debug)]
enum Purpose {
    Scan(u64),
    CreateBook(u64),
    CreateCopy(u64),
    Edit,
    Remove { what: String },
    Undo,
}

/// A scanned barcode on its way into the collection.
#[derive(Debug)]
struct Scan {
    id: u64,
    barcode: String,
    state: ScanState,
}

#[derive(Debug)]
enum ScanState {
    Saving {
        waiting: bool,
    },
    /// Saved; shown until a reload at or after this data generation is on screen.
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
    searched: String,
    search: Option<Fetch<Vec<BookRow>>>,
    matches: Vec<BookRow>,
    book: Option<(BookId, String)>,
    state: SaveState,
}

/// A row being edited in place.
#[derive(Debug)]
struct RowEdit {
    base: PlacementRow,
    shelf_mark: String,
    note: String,
    state: SaveState,
    focus: bool,
}

/// One collection's editor.
pub struct CollectionEditor {
    port: Port,
    pub collection: CollectionId,
    name: String,
    gone: Option<String>,
    sort: SortKey,
    ascending: bool,
    filter: String,
    /// Grows with every change of the library (or of this editor's own saves).
    data_gen: u64,
    /// Grows when the order or the filter changes: pages of an older layout are not shown.
    layout_gen: u64,
    head: Option<Head>,
    head_gen: u64,
    head_fetch: Option<(u64, Fetch<Head>)>,
    pages: HashMap<usize, (u64, u64, Vec<PlacementRow>)>,
    page_fetches: HashMap<usize, (u64, u64, Fetch<Vec<PlacementRow>>)>,
    scan_text: String,
    focus_scan: bool,
    focus_filter: bool,
    scans: Vec<Scan>,
    edit: Option<RowEdit>,
    undo: Option<UndoOffer>,
    highlight: Option<PlacementId>,
    /// Height of the row being edited, measured from its content.
    edit_height: f32,
    /// The rows the table drew last frame.
    in_view: std::ops::Range<usize>,
    requests: HashMap<RequestId, Purpose>,
    last_error: Option<String>,
}

impl std::fmt::Debug for CollectionEditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionEditor")
            .field("collection", &self.collection)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl CollectionEditor {
    pub fn new(port: Port, collection: CollectionId) -> Self {
        CollectionEditor {
            port,
            collection,
            name: String::new(),
            gone: None,
            sort: SortKey::Added,
            ascending: false,
            filter: String::new(),
            data_gen: 1,
            layout_gen: 1,
            head: None,
            head_gen: 0,
            head_fetch: None,
            pages: HashMap::new(),
            page_fetches: HashMap::new(),
            scan_text: String::new(),
            focus_scan: true,
            focus_filter: false,
            scans: Vec::new(),
            edit: None,
            undo: None,
            highlight: None,
            edit_height: theme::ROW_HEIGHT * 2.5,
            in_view: 0..0,
            requests: HashMap::new(),
            last_error: None,
        }
    }

    /// The collection's name, once loaded.
    pub fn title(&self) -> String {
        if self.name.is_empty() {
            "Collection".to_owned()
        } else {
            self.name.clone()
        }
    }

    /// Whether every row drawn last frame had its data (not a placeholder).
    pub fn rows_in_view_loaded(&self) -> bool {
        let Some(head) = &self.head else { return false };
        let end = self.in_view.end.min(head.total);
        (self.in_view.start..end).all(|i| self.row(i).is_some())
    }

    /// Whether closing this editor now would lose something the librarian should see: saves in
    /// flight, scan results, an open edit, an Undo offer.
    pub fn has_work(&self) -> bool {
        !self.requests.is_empty()
            || !self.scans.is_empty()
            || self.edit.is_some()
            || self.undo.is_some()
    }

    /// Saves of this editor not answered yet.
    pub fn pending(&self) -> usize {
        self.requests.len()
    }

    fn tz(&self) -> &jiff::tz::TimeZone {
        self.port.tz()
    }

    // ---- background results -------------------------------------------------------------

    /// Takes in what arrived since the last frame: save outcomes, change notices, query results.
    fn poll(&mut self) {
        if self.port.changed() {
            self.data_gen += 1;
        }
        for reply in self.port.replies() {
            let Some(purpose) = self.requests.get(&reply.request).cloned() else {
                continue; // an answer for a form that was cancelled meanwhile
            };
            match reply.event {
                Event::Waiting { since } => self.mark_waiting(reply.request, &purpose, since),
                Event::Done(outcome) => {
                    self.requests.remove(&reply.request);
                    self.settle(reply.request, purpose, outcome);
                }
            }
        }
        if let Some((generation, fetch)) = &self.head_fetch
            && let Some(result) = fetch.poll()
        {
            let generation = *generation;
            self.head_fetch = None;
            match result {
                Ok(head) => {
                    match &head.collection {
                        Some(c) if c.meta.is_live() => {
                            self.name.clone_from(&c.name);
                            self.gone = None;
                        }
                        Some(c) => {
                            self.name.clone_from(&c.name);
                            self.gone = Some(format!(
                                "“{}” was moved to the Trash. Restore it from the Trash to work on it again.",
                                c.name
                            ));
                        }
                        None => {
                            self.gone = Some("This collection was deleted for good.".to_owned());
                        }
                    }
                    self.head = Some(head);
                    self.head_gen = generation;
                    self.scans.retain(|s| {
                        !matches!(s.state, ScanState::Saved { visible_from } if visible_from <= generation)
                    });
                }
                Err(e) => {
                    // Not again until the library changes: a failing read must not spin.
                    self.head_gen = generation;
                    self.last_error = Some(format!("Cannot read the collection: {e}"));
                }
            }
        }
        let mut arrived = Vec::new();
        for (page, (data_gen, layout_gen, fetch)) in &self.page_fetches {
            if let Some(result) = fetch.poll() {
                arrived.push((*page, *data_gen, *layout_gen, result));
            }
        }
        for (page, data_gen, layout_gen, result) in arrived {
            self.page_fetches.remove(&page);
            match result {
                Ok(rows) if layout_gen == self.layout_gen => {
                    self.pages.insert(page, (data_gen, layout_gen, rows));
                }
                Ok(_) => {}
                Err(e) => {
                    self.pages.insert(page, (data_gen, layout_gen, Vec::new()));
                    self.last_error = Some(format!("Cannot read the collection: {e}"));
                }
            }
        }
        for scan in &mut self.scans {
            if let ScanState::Creating(form) = &mut scan.state
                && let Some(fetch) = &form.search
                && let Some(result) = fetch.poll()
            {
                form.search = None;
                form.matches = result.unwrap_or_default();
            }
        }
    }

    fn mark_waiting(&mut self, request: RequestId, purpose: &Purpose, since: Instant) {
        let waiting = |state: &mut SaveState| {
            if let SaveState::Saving { waiting_since, .. } = state {
                *waiting_since = Some(since);
            }
        };
        match purpose {
            Purpose::Scan(id) | Purpose::CreateBook(id) | Purpose::CreateCopy(id) => {
                if let Some(scan) = self.scans.iter_mut().find(|s| s.id == *id) {
                    match &mut scan.state {
                        ScanState::Saving { waiting } => *waiting = true,
                        ScanState::Creating(form) => waiting(&mut form.state),
                        _ => {}
                    }
                }
            }
            Purpose::Edit => {
                if let Some(edit) = self
                    .edit
                    .as_mut()
                    .filter(|e| e.state.request() == Some(request))
                {
                    waiting(&mut edit.state);
                }
            }
            Purpose::Undo => {
                if let Some(undo) = self
                    .undo
                    .as_mut()
                    .filter(|u| u.state.request() == Some(request))
                {
                    waiting(&mut undo.state);
                }
            }
            Purpose::Remove { .. } => {}
        }
    }

    /// Puts an outcome where it belongs: only into the form (or offer) that sent it, which may
    /// have been replaced meanwhile.
    fn settle(&mut self, request: RequestId, purpose: Purpose, outcome: Outcome) {
        match purpose {
            Purpose::Scan(id) => {
                // The writer announces a commit before it answers, so `data_gen` already
                // counts this save: the first reload at this generation shows its row.
                let visible_from = self.data_gen;
                if let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) {
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
                match outcome {
                    Outcome::Saved { record, .. } => {
                        let book = BookId(record.id);
                        form.book = Some((book, form.title.trim().to_owned()));
                        let op = Op::Create(Draft::Copy(CopyDraft {
                            book_id: book,
                            barcode: scan.barcode.clone(),
                        }));
                        match self.port.submit(op) {
                            Ok(request) => {
                                form.state = SaveState::Saving {
                                    request,
                                    waiting_since: None,
                                };
                                self.requests.insert(request, Purpose::CreateCopy(id));
                            }
                            Err(e) => form.state = SaveState::Problem(Problem::not_queued(&e)),
                        }
                    }
                    other => {
                        form.state = Problem::from_outcome(other)
                            .map_or(SaveState::Idle, SaveState::Problem);
                    }
                }
            }
            Purpose::CreateCopy(id) => {
                let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) else {
                    return;
                };
                match outcome {
                    Outcome::Saved { .. } => {
                        // The copy exists now: place it, as the scan meant to.
                        let op = Op::PlaceBarcode {
                            collection: self.collection,
                            barcode: scan.barcode.clone(),
                        };
                        match self.port.submit(op) {
                            Ok(request) => {
                                scan.state = ScanState::Saving { waiting: false };
                                self.requests.insert(request, Purpose::Scan(id));
                            }
                            Err(e) => scan.state = ScanState::Problem(Problem::not_queued(&e)),
                        }
                    }
                    other => {
                        if let ScanState::Creating(form) = &mut scan.state {
                            form.state = Problem::from_outcome(other)
                                .map_or(SaveState::Idle, SaveState::Problem);
                        }
                    }
                }
            }
            Purpose::Edit => {
                if let Some(edit) = self
                    .edit
                    .as_mut()
                    .filter(|e| e.state.request() == Some(request))
                {
                    match Problem::from_outcome(outcome) {
                        None => {
                            self.edit = None;
                            self.focus_scan = true;
                        }
                        Some(p) => edit.state = SaveState::Problem(p),
                    }
                }
            }
            Purpose::Remove { what } => match outcome {
                Outcome::Saved { record, version } => {
                    self.undo = Some(UndoOffer::new(record, version, format!("Removed {what}.")));
                }
                other => {
                    let text = Problem::describe(other, self.port.tz());
                    self.last_error = Some(format!("Could not remove {what}: {text}"));
                }
            },
            Purpose::Undo => {
                UndoOffer::settle(&mut self.undo, request, outcome);
            }
        }
    }

    /// Asks for whatever is missing or out of date: the head, and the pages in `visible`.
    fn request_data(&mut self, visible: std::ops::Range<usize>) {
        let (data_gen, layout_gen) = (self.data_gen, self.layout_gen);
        let needs_head = self.head.is_none() || self.head_gen < data_gen;
        if needs_head && self.head_fetch.as_ref().is_none_or(|(g, _)| *g < data_gen) {
            let (collection, filter) = (self.collection, self.filter.clone());
            let fetch = self.port.fetch(move |conn| {
                Ok(Head {
                    collection: read::collection(conn, collection)?,
                    total: views::placement_count(conn, collection, &filter)?,
                })
            });
            self.head_fetch = Some((data_gen, fetch));
        }
        let total = self.head.as_ref().map_or(0, |h| h.total);
        if total == 0 {
            return;
        }
        let first = visible.start / PAGE;
        let last = (visible.end.max(visible.start + 1) - 1).min(total - 1) / PAGE;
        for page in first.saturating_sub(1)..=last + 1 {
            if page * PAGE >= total {
                break;
            }
            let fresh = self
                .pages
                .get(&page)
                .is_some_and(|(d, l, _)| *d >= data_gen && *l == layout_gen);
            let fetching = self
                .page_fetches
                .get(&page)
                .is_some_and(|(d, l, _)| *d >= data_gen && *l == layout_gen);
            if !fresh && !fetching {
                let (collection, filter, sort, asc) = (
                    self.collection,
                    self.filter.clone(),
                    self.sort,
                    self.ascending,
                );
                let fetch = self.port.fetch(move |conn| {
                    views::placement_page(conn, collection, &filter, sort, asc, page * PAGE, PAGE)
                });
                self.page_fetches
                    .insert(page, (data_gen, layout_gen, fetch));
            }
        }
    }

    fn row(&self, index: usize) -> Option<&PlacementRow> {
        let (_, layout, rows) = self.pages.get(&(index / PAGE))?;
        (*layout == self.layout_gen)
            .then(|| rows.get(index % PAGE))
            .flatten()
    }

    fn relayout(&mut self) {
        self.layout_gen += 1;
        self.data_gen += 1;
    }

    // ---- actions --------------------------------------------------------------------------

    fn submit_scan(&mut self) {
        let barcode = self.scan_text.trim().to_owned();
        self.scan_text.clear();
        self.focus_scan = true;
        if barcode.is_empty() {
            return;
        }
        let id = self.port.services.next_id();
        let op = Op::PlaceBarcode {
            collection: self.collection,
            barcode: barcode.clone(),
        };
        let state = match self.port.submit(op) {
            Ok(request) => {
                self.requests.insert(request, Purpose::Scan(id));
                ScanState::Saving { waiting: false }
            }
            Err(e) => ScanState::Problem(Problem::not_queued(&e)),
        };
        self.scans.push(Scan { id, barcode, state });
    }

    /// Sends a scan that could not be saved again (after the disk has room, say).
    fn resubmit_scan(&mut self, id: u64) {
        let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) else {
            return;
        };
        let op = Op::PlaceBarcode {
            collection: self.collection,
            barcode: scan.barcode.clone(),
        };
        scan.state = match self.port.submit(op) {
            Ok(request) => {
                self.requests.insert(request, Purpose::Scan(id));
                ScanState::Saving { waiting: false }
            }
            Err(e) => ScanState::Problem(Problem::not_queued(&e)),
        };
    }

    fn start_edit(&mut self, row: PlacementRow) {
        if self.edit.as_ref().is_some_and(|e| e.state.is_saving()) {
            return;
        }
        self.edit = Some(RowEdit {
            shelf_mark: row.shelf_mark.clone(),
            note: row.note.clone(),
            base: row,
            state: SaveState::Idle,
            focus: true,
        });
    }

    /// Saves the edit over `version` (the one it started from, or the newer one after
    /// "Keep mine").
    fn save_edit(&mut self, version: i64) {
        let collection = self.collection;
        let Some(edit) = &mut self.edit else { return };
        if edit.state.is_saving() {
            return;
        }
        let op = Op::Update {
            target: edit.base.id.into(),
            version,
            draft: Draft::Placement(PlacementDraft {
                copy_id: edit.base.copy_id,
                collection_id: collection,
                shelf_mark: edit.shelf_mark.clone(),
                note: edit.note.clone(),
            }),
        };
        edit.state = self
            .port
            .submit_tracked(op, Purpose::Edit, &mut self.requests);
    }

    fn cancel_edit(&mut self) {
        if let Some(edit) = &self.edit
            && let Some(request) = edit.state.request()
        {
            // The save is already queued; its answer will find no form and be dropped.
            self.requests.remove(&request);
        }
        self.edit = None;
        self.focus_scan = true;
    }

    fn remove(&mut self, row: &PlacementRow) {
        let what = format!("copy {} ({}) from {}", row.barcode, row.title, self.name);
        match self.port.submit(Op::Delete {
            target: row.id.into(),
            version: row.version,
        }) {
            Ok(request) => {
                self.requests.insert(request, Purpose::Remove { what });
            }
            Err(e) => self.last_error = Some(format!("Could not remove {what}: {e}")),
        }
    }

    /// Shows the placement that holds a conflicting copy: filter the table down to it.
    fn show_placement(&mut self, id: PlacementId, barcode: &str) {
        barcode.clone_into(&mut self.filter);
        self.highlight = Some(id);
        self.relayout();
    }

    // ---- drawing --------------------------------------------------------------------------

    /// Draws the editor and returns what the app must do.
    pub fn ui(&mut self, ui: &mut Ui, host: Host) -> Vec<EditorCommand> {
        self.poll();
        let mut commands = Vec::new();
        self.shortcuts(ui, host, &mut commands);

        ui.horizontal(|ui| {
            ui.heading(self.title());
            if let Some(head) = &self.head {
                let n = head.total;
                let what = if self.filter.trim().is_empty() {
                    format!("{n} {}", if n == 1 { "copy" } else { "copies" })
                } else {
                    format!("{n} matching")
                };
                ui.weak(what);
            }
            ui.with_layout(
                egui::Layout::right_to_left(egui::Align::Center),
                |ui| match host {
                    Host::Main => {
                        if ui
                            .button("Open in new window")
                            .on_hover_text("Edit this collection in a window of its own")
                            .clicked()
                        {
                            commands.push(EditorCommand::OpenInWindow(self.collection));
                        }
                    }
                    Host::Window => {
                        if ui.button("Close window").clicked() {
                            commands.push(EditorCommand::CloseWindow);
                        }
                    }
                },
            );
        });
        if let Some(gone) = &self.gone {
            ui.warning_label(gone);
        }
        if let Some(err) = self.last_error.clone() {
            ui.horizontal(|ui| {
                ui.error_label(&err);
                if ui.small_button("Dismiss").clicked() {
                    self.last_error = None;
                }
            });
        }
        ui.add_space(4.0);
        if self.gone.is_none() {
            self.scan_bar(ui);
        }
        self.undo_bar(ui);
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.filter)
                        .hint_text("barcode, title, author, shelf mark, note")
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
            if self.focus_filter {
                r.request_focus();
                self.focus_filter = false;
            }
            if r.changed() {
                self.highlight = None;
                self.relayout();
            }
            if !self.filter.is_empty() && ui.small_button("Clear filter").clicked() {
                self.filter.clear();
                self.highlight = None;
                self.relayout();
            }
        });
        self.edit_strip(ui);
        let visible = self.table(ui);
        self.in_view = visible.clone();
        self.request_data(visible);
        commands
    }

    fn shortcuts(&mut self, ui: &Ui, host: Host, commands: &mut Vec<EditorCommand>) {
        ui.input_mut(|i| {
            if i.consume_shortcut(&SHORTCUT_FIND) {
                self.focus_filter = true;
            }
            if i.consume_shortcut(&SHORTCUT_NEW) {
                self.focus_scan = true;
            }
            if host == Host::Window && i.consume_shortcut(&SHORTCUT_CLOSE) {
                commands.push(EditorCommand::CloseWindow);
            }
        });
        if self.edit.is_some() {
            let (save, cancel) = ui.input_mut(|i| {
                (
                    i.consume_shortcut(&SHORTCUT_SAVE),
                    i.consume_key(Modifiers::NONE, Key::Escape),
                )
            });
            if save {
                let version = self.edit_version();
                self.save_edit(version);
            }
            if cancel {
                self.cancel_edit();
            }
        }
    }

    /// The version an edit saves over: the one it started from.
    fn edit_version(&self) -> i64 {
        self.edit.as_ref().map_or(0, |e| e.base.version)
    }

    fn scan_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let l = ui.label(RichText::new("Scan barcode").strong());
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.scan_text)
                        .hint_text("scan or type a barcode, then Enter")
                        .desired_width(220.0),
                )
                .labelled_by(l.id);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter));
            if ui.button("Add").clicked() || enter {
                self.submit_scan();
            }
            // Focus stays in the field, so the next scan can follow at once.
            if self.focus_scan || enter {
                r.request_focus();
                self.focus_scan = false;
            }
        });
        let tz = self.tz().clone();
        let mut dismiss = Vec::new();
        let mut retry = Vec::new();
        let mut show = None;
        let mut create = Vec::new();
        for scan in &mut self.scans {
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(&scan.barcode).monospace());
                match &mut scan.state {
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
                            create.push(scan.id);
                        }
                        if ui.small_button("Dismiss").clicked() {
                            dismiss.push(scan.id);
                        }
                    }
                    ScanState::Problem(p) => {
                        ui.error_label(&p.general_message(None, &tz));
                        if let Problem::Conflict(c) = p
                            && let crate::model::Holder::Placement { id, barcode, .. } = &c.holder
                            && ui
                                .button("Show")
                                .on_hover_text("Show where it is")
                                .clicked()
                        {
                            show = Some((*id, barcode.clone()));
                        }
                        if matches!(p, Problem::Failed(_) | Problem::NotQueued(_))
                            && ui
                                .button("Retry")
                                .accessible_name(format!("Retry {}", scan.barcode))
                                .clicked()
                        {
                            retry.push(scan.id);
                        }
                        if ui.small_button("Dismiss").clicked() {
                            dismiss.push(scan.id);
                        }
                    }
                    ScanState::Creating(_) => {
                        ui.label("Create the copy:");
                    }
                }
            });
        }
        for id in create {
            if let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) {
                scan.state = ScanState::Creating(CreateCopy::default());
            }
        }
        for id in retry {
            self.resubmit_scan(id);
        }
        self.create_copy_forms(ui);
        self.scans.retain(|s| !dismiss.contains(&s.id));
        if let Some((id, barcode)) = show {
            self.show_placement(id, &barcode);
        }
    }

    /// The form under an unknown barcode: pick a book (or name a new one), create the copy,
    /// then place it.
    fn create_copy_forms(&mut self, ui: &mut Ui) {
        let tz = self.tz().clone();
        let mut actions: Vec<(u64, &'static str)> = Vec::new();
        for scan in &mut self.scans {
            let ScanState::Creating(form) = &mut scan.state else {
                continue;
            };
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.label(format!(
                    "New copy with barcode {}: which book is it?",
                    scan.barcode
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
                if form.title.trim() != form.searched && form.search.is_none() {
                    form.title.trim().clone_into(&mut form.searched);
                    let q = form.searched.clone();
                    form.search = Some(if q.is_empty() {
                        self.port.fetch(|_| Ok(Vec::new()))
                    } else {
                        self.port.fetch(move |conn| views::books(conn, &q, 6))
                    });
                }
                for m in &form.matches {
                    let picked = form.book.as_ref().is_some_and(|(id, _)| *id == m.book.id);
                    let text = if m.book.authors.is_empty() {
                        m.book.title.clone()
                    } else {
                        format!("{} — {}", m.book.title, m.book.authors)
                    };
                    if ui.selectable_label(picked, text).clicked() {
                        form.book = Some((m.book.id, m.book.title.clone()));
                        form.title.clone_from(&m.book.title);
                        form.searched.clone_from(&form.title);
                    }
                }
                if let Some(p) = form.state.problem() {
                    ui.error_label(&p.general_message(None, &tz));
                }
                form.state.show_progress(ui);
                ui.horizontal(|ui| {
                    let label = match &form.book {
                        Some((_, title)) if title.trim() == form.title.trim() => {
                            "Create copy and add"
                        }
                        _ => "Create book, copy and add",
                    };
                    let enabled = !form.title.trim().is_empty() && !form.state.is_saving();
                    if ui.add_enabled(enabled, egui::Button::new(label)).clicked() {
                        actions.push((scan.id, "create"));
                    }
                    if ui.button("Cancel").clicked() {
                        actions.push((scan.id, "cancel"));
                    }
                });
            });
        }
        for (id, action) in actions {
            let Some(scan) = self.scans.iter_mut().find(|s| s.id == id) else {
                continue;
            };
            if action == "cancel" {
                scan.state = ScanState::Problem(Problem::UnknownBarcode(scan.barcode.clone()));
                continue;
            }
            let ScanState::Creating(form) = &mut scan.state else {
                continue;
            };
            let (op, purpose) = match &form.book {
                Some((book, title)) if title.trim() == form.title.trim() => (
                    Op::Create(Draft::Copy(CopyDraft {
                        book_id: *book,
                        barcode: scan.barcode.clone(),
                    })),
                    Purpose::CreateCopy(id),
                ),
                _ => (
                    Op::Create(Draft::Book(BookDraft {
                        title: form.title.clone(),
                        ..BookDraft::default()
                    })),
                    Purpose::CreateBook(id),
                ),
            };
            match self.port.submit(op) {
                Ok(request) => {
                    form.state = SaveState::Saving {
                        request,
                        waiting_since: None,
                    };
                    self.requests.insert(request, purpose);
                }
                Err(e) => form.state = SaveState::Problem(Problem::not_queued(&e)),
            }
        }
    }

    /// Above the table, while a row is edited: what no single field shows (changed elsewhere,
    /// deleted elsewhere, a failure, waiting), with "Keep mine" / "Take theirs" when it changed.
    fn edit_strip(&mut self, ui: &mut Ui) {
        let Some(edit) = &self.edit else { return };
        let tz = self.tz().clone();
        let base = base_record(&edit.base, self.collection);
        let waiting = matches!(
            edit.state,
            SaveState::Saving {
                waiting_since: Some(_),
                ..
            }
        );
        if edit.state.problem().is_none() && !waiting {
            return;
        }
        let mut action = None;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "Editing {} ({}):",
                edit.base.barcode, edit.base.title
            ));
            if waiting {
                edit.state.show_progress(ui);
            }
            match form_problem(
                ui,
                &edit.state,
                Some(&base),
                &[Field::ShelfMark, Field::Note],
                &tz,
            ) {
                Some(StaleChoice::KeepMine(version)) => {
                    action = Some(EditAction::KeepMine(version));
                }
                Some(StaleChoice::TakeTheirs(_)) => action = Some(EditAction::TakeTheirs),
                None => {}
            }
        });
        match action {
            Some(EditAction::KeepMine(version)) => self.save_edit(version),
            Some(_) => self.cancel_edit(),
            None => {}
        }
    }

    fn undo_bar(&mut self, ui: &mut Ui) {
        UndoOffer::bar(
            &mut self.undo,
            ui,
            &self.port,
            Purpose::Undo,
            &mut self.requests,
        );
    }

    fn sort_header(&mut self, ui: &mut Ui, label: &str, key: SortKey) {
        let arrow = match (self.sort == key, self.ascending) {
            (true, true) => " ^",
            (true, false) => " v",
            (false, _) => "",
        };
        let r = ui
            .add(egui::Button::new(RichText::new(format!("{label}{arrow}")).strong()).frame(false))
            .on_hover_text(format!("Sort by {}", label.to_lowercase()));
        if r.clicked() {
            if self.sort == key {
                self.ascending = !self.ascending;
            } else {
                self.sort = key;
                self.ascending = key != SortKey::Added;
            }
            self.relayout();
        }
    }

    /// The placements table; returns the range of row indexes it drew.
    fn table(&mut self, ui: &mut Ui) -> std::ops::Range<usize> {
        let total = self.head.as_ref().map_or(0, |h| h.total);
        if self.head.is_some() && total == 0 {
            ui.add_space(12.0);
            ui.weak(if self.filter.trim().is_empty() {
                "No copies in this collection yet. Scan a barcode to add one."
            } else {
                "No copies match the filter."
            });
            return 0..0;
        }
        let edit_index = self.edit.as_ref().and_then(|e| {
            self.pages.iter().find_map(|(page, (_, layout, rows))| {
                (*layout == self.layout_gen)
                    .then(|| rows.iter().position(|r| r.id == e.base.id))
                    .flatten()
                    .map(|pos| page * PAGE + pos)
            })
        });
        // The rows the table draws (start > end until one is drawn).
        let (mut first_drawn, mut end_drawn) = (usize::MAX, 0);
        let mut start_edit = None;
        let mut remove = None;
        let mut edit_action: Option<EditAction> = None;
        let tz = self.tz().clone();
        let accent = theme::accent(ui.visuals());
        let edit_height = self.edit_height;
        let mut edit_content: f32 = 0.0;
        let table = TableBuilder::new(ui)
            .id_salt(("placements", self.collection))
            .striped(true)
            .resizable(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::initial(72.0).at_least(56.0).clip(true))
            .column(Column::remainder().at_least(100.0).clip(true))
            .column(Column::initial(120.0).at_least(60.0).clip(true))
            .column(Column::initial(130.0).at_least(80.0).clip(true))
            .column(Column::initial(130.0).at_least(80.0).clip(true))
            .column(Column::initial(112.0).at_least(80.0).clip(true))
            .column(Column::exact(68.0))
            .auto_shrink([false, false])
            .min_scrolled_height(120.0);
        table
            .header(theme::ROW_HEIGHT, |mut header| {
                header.col(|ui| self.sort_header(ui, "Barcode", SortKey::Barcode));
                header.col(|ui| self.sort_header(ui, "Title", SortKey::Title));
                header.col(|ui| {
                    ui.strong("Authors");
                });
                header.col(|ui| self.sort_header(ui, "Shelf mark", SortKey::ShelfMark));
                header.col(|ui| {
                    ui.strong("Note");
                });
                header.col(|ui| self.sort_header(ui, "Added", SortKey::Added));
                header.col(|_| {});
            })
            .body(|body| {
                let mut draw = |mut row: egui_extras::TableRow<'_, '_>| {
                    let i = row.index();
                    first_drawn = first_drawn.min(i);
                    end_drawn = end_drawn.max(i + 1);
                    let Some(r) = self.row(i).cloned() else {
                        row.col(|ui| {
                            ui.weak("…");
                        });
                        for _ in 0..6 {
                            row.col(|_| {});
                        }
                        return;
                    };
                    let highlighted = self.highlight == Some(r.id);
                    row.set_selected(highlighted);
                    let editing = self.edit.as_mut().filter(|e| e.base.id == r.id);
                    row.col(|ui| {
                        let text = RichText::new(&r.barcode).monospace();
                        ui.label(if highlighted {
                            text.color(accent)
                        } else {
                            text
                        });
                    });
                    row.col(|ui| {
                        ui.label(&r.title);
                    });
                    row.col(|ui| {
                        ui.label(&r.authors);
                    });
                    if let Some(edit) = editing {
                        row.col(|ui| {
                            ui.vertical(|ui| {
                                let top = ui.min_rect().top();
                                let l = ui.label("Shelf mark");
                                let resp = ui
                                    .add(
                                        egui::TextEdit::singleline(&mut edit.shelf_mark)
                                            .desired_width(f32::INFINITY),
                                    )
                                    .labelled_by(l.id);
                                if edit.focus {
                                    resp.request_focus();
                                    edit.focus = false;
                                }
                                if resp.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                                    edit_action = Some(EditAction::Save);
                                }
                                if let Some(m) = edit
                                    .state
                                    .problem()
                                    .and_then(|p| p.field_message(Field::ShelfMark, &tz))
                                {
                                    ui.error_label(&m);
                                }
                                edit_content = edit_content.max(ui.min_rect().bottom() - top);
                            });
                        });
                        row.col(|ui| {
                            ui.vertical(|ui| {
                                let top = ui.min_rect().top();
                                let l = ui.label("Note");
                                let resp = ui
                                    .add(
                                        egui::TextEdit::singleline(&mut edit.note)
                                            .desired_width(f32::INFINITY),
                                    )
                                    .labelled_by(l.id);
                                if resp.lost_focus() && ui.input(|i| i.key_pressed(Key::Enter)) {
                                    edit_action = Some(EditAction::Save);
                                }
                                if let Some(m) = edit
                                    .state
                                    .problem()
                                    .and_then(|p| p.field_message(Field::Note, &tz))
                                {
                                    ui.error_label(&m);
                                }
                                edit_content = edit_content.max(ui.min_rect().bottom() - top);
                            });
                        });
                        row.col(|ui| {
                            if edit.state.is_saving() {
                                ui.spinner();
                            } else if ui.button("Save").on_hover_text("Enter or Ctrl+S").clicked() {
                                edit_action = Some(EditAction::Save);
                            }
                        });
                        row.col(|ui| {
                            if ui.button("Cancel").on_hover_text("Esc").clicked() {
                                edit_action = Some(EditAction::Cancel);
                            }
                        });
                    } else {
                        for (field, value) in
                            [(Field::ShelfMark, &r.shelf_mark), (Field::Note, &r.note)]
                        {
                            row.col(|ui| {
                                let shown = if value.is_empty() {
                                    RichText::new("—").weak()
                                } else {
                                    RichText::new(value.as_str())
                                };
                                let resp = ui
                                    .add(egui::Button::new(shown).frame(false).truncate())
                                    .on_hover_text(format!(
                                        "Click to edit the {}",
                                        field.label().to_lowercase()
                                    ));
                                let resp = resp.accessible_name(format!(
                                    "Edit {} of {}",
                                    field.label().to_lowercase(),
                                    r.barcode
                                ));
                                if resp.clicked() {
                                    start_edit = Some(r.clone());
                                }
                            });
                        }
                        row.col(|ui| {
                            ui.label(format_minute(r.added, &tz));
                        });
                        row.col(|ui| {
                            let resp = ui
                                .small_button("Remove")
                                .on_hover_text(
                                    "Remove this copy from the collection (can be undone)",
                                )
                                .accessible_name(format!("Remove {}", r.barcode));
                            if resp.clicked() {
                                remove = Some(r.clone());
                            }
                        });
                    }
                };
                // Fixed heights are cheaper to lay out; only an open edit needs a taller row.
                match edit_index {
                    None => body.rows(theme::ROW_HEIGHT, total, &mut draw),
                    Some(e) => body.heterogeneous_rows(
                        (0..total).map(|i| {
                            if i == e {
                                edit_height
                            } else {
                                theme::ROW_HEIGHT
                            }
                        }),
                        &mut draw,
                    ),
                }
            });
        // The edited row is as tall as its fields and their messages (known after drawing).
        if edit_content > 0.0 {
            let wanted = (edit_content + 4.0).max(theme::ROW_HEIGHT * 2.5);
            if (wanted - self.edit_height).abs() > 0.5 {
                self.edit_height = wanted;
                ui.ctx().request_repaint();
            }
        }
        if let Some(row) = start_edit {
            self.start_edit(row);
        }
        if let Some(row) = remove {
            self.remove(&row);
        }
        match edit_action {
            Some(EditAction::Save) => {
                let v = self.edit_version();
                self.save_edit(v);
            }
            Some(EditAction::KeepMine(version)) => self.save_edit(version),
            Some(EditAction::TakeTheirs | EditAction::Cancel) => self.cancel_edit(),
            None => {}
        }
        if first_drawn > end_drawn {
            0..PAGE
        } else {
            first_drawn..end_drawn
        }
    }
}

enum EditAction {
    Save,
    KeepMine(i64),
    TakeTheirs,
    Cancel,
}

/// The placement an edit started from, as a record (for "it is now ..." messages).
fn base_record(row: &PlacementRow, collection: CollectionId) -> Record {
    Record::Placement(Placement {
        id: row.id,
        copy_id: row.copy_id,
        collection_id: collection,
        shelf_mark: row.shelf_mark.clone(),
        note: row.note.clone(),
        meta: Meta {
            version: row.version,
            created_at: row.added,
            updated_at: row.added,
            deleted_at: None,
        },
    })
}
