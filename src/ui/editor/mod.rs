//! The collection editor: one collection's placements in a virtualised, sortable table, with
//! add-by-barcode made for a scanner, in-place editing of shelf mark and note, removal with an
//! Undo offer, and every save's outcome shown inline where it belongs.
//!
//! It is a few parts, each owning its state: [`pages`] (the head and the pages of rows, live
//! queries), [`scans`] (the scan queue, with create-copy), [`row_edit`] (a row being edited) and
//! [`table`] (drawing). This file wires them: it routes each answer to the part that asked, and
//! acts on what the parts report.
//!
//! The same editor is shown in the main window and in its own native windows. It never waits:
//! rows arrive page by page from the reader threads, saves go to the executor, and both come
//! back through its [`Port`], which repaints its window.

mod create_copy;
mod pages;
mod row_edit;
mod scan_input;
mod scans;
mod table;

use std::time::Instant;

use egui::{Key, KeyboardShortcut, Modifiers, RichText, Ui, ViewportId};

use self::pages::Pages;
use self::row_edit::{EditAction, RowEdit};
use self::scan_input::Focus;
use self::scans::{ScanAction, ScanQueue};
use self::table::{Table, TableAction};
use super::columns::Columns;
use super::command::{AppCommand, Commands};
use super::requests::Requests;
use super::undo::{UndoOffer, UndoStack};
use super::widgets::UiExt;
use crate::model::{CollectionId, Op, Outcome, PlacementId, PlacementRow, Problem, Wait, count};
use crate::tasks::{Event, Port, RequestId};

pub const SHORTCUT_NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
pub const SHORTCUT_SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
pub const SHORTCUT_FIND: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::F);
pub const SHORTCUT_CLOSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::W);
pub const SHORTCUT_QUIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);
pub const SHORTCUT_UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);

/// Height of the strip of messages under the scan field: reserved whether or not it holds
/// anything, so messages coming and going never move the table under the pointer.
const STRIP_HEIGHT: f32 = 96.0;

/// Where the editor is shown, which decides a few buttons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    Main,
    /// A native window of its own, in this viewport.
    Window(ViewportId),
}

/// What a request of the editor was for, so its outcome lands in the right part.
#[derive(Clone, Debug)]
pub(crate) enum Purpose {
    Scan(u64),
    CreateBook(u64),
    CreateCopy(u64),
    Edit,
    Remove { what: String },
    Undo,
}

/// One collection's editor.
pub struct CollectionEditor {
    port: Port,
    commands: Commands,
    collection: CollectionId,
    pages: Pages,
    scans: ScanQueue,
    scan_text: String,
    focus_scan: bool,
    focus_filter: bool,
    edit: Option<RowEdit>,
    /// Height of the row being edited, measured from its content.
    edit_height: f32,
    /// The table's column widths (shares the librarian may have dragged).
    columns: Columns,
    /// The removals that can be undone, in turn.
    undos: UndoStack,
    /// Whether the create-copy dialog was open last frame (closing it gives the focus back).
    dialog_was_open: bool,
    highlight: Option<PlacementId>,
    /// The rows the table drew last frame.
    in_view: std::ops::Range<usize>,
    requests: Requests<Purpose>,
    /// A removal that could not be made, in words (until dismissed).
    last_error: Option<String>,
}

impl std::fmt::Debug for CollectionEditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CollectionEditor")
            .field("collection", &self.collection)
            .finish_non_exhaustive()
    }
}

impl CollectionEditor {
    pub fn new(port: Port, commands: Commands, collection: CollectionId) -> Self {
        CollectionEditor {
            port,
            commands,
            collection,
            pages: Pages::new(collection),
            scans: ScanQueue::new(collection),
            scan_text: String::new(),
            focus_scan: true,
            focus_filter: false,
            edit: None,
            edit_height: super::theme::ROW_HEIGHT * 2.5,
            columns: Columns::new(&table::COLUMNS),
            undos: UndoStack::default(),
            dialog_was_open: false,
            highlight: None,
            in_view: 0..0,
            requests: Requests::new(),
            last_error: None,
        }
    }

    pub fn collection(&self) -> CollectionId {
        self.collection
    }

    /// The collection's name, once loaded.
    pub fn title(&self) -> String {
        self.pages
            .head()
            .and_then(|h| h.collection.as_ref())
            .map_or_else(|| "Collection".to_owned(), |c| c.name.clone())
    }

    /// Why the collection cannot be worked on (in the Trash, deleted for good), if so.
    fn gone(&self) -> Option<String> {
        let head = self.pages.head()?;
        match &head.collection {
            Some(c) if c.meta.is_live() => None,
            Some(c) => Some(format!(
                "“{}” was moved to the Trash. Restore it from the Trash to work on it again.",
                c.name
            )),
            None => Some("This collection was deleted for good.".to_owned()),
        }
    }

    /// Whether every row drawn last frame had its data (not a placeholder).
    pub fn rows_in_view_loaded(&self) -> bool {
        if self.pages.head().is_none() {
            return false;
        }
        let end = self.in_view.end.min(self.pages.total());
        (self.in_view.start..end).all(|i| self.pages.row(i).is_some())
    }

    /// Whether closing this editor now would lose something the librarian should see: saves in
    /// flight, scan results, an open edit, an Undo offer.
    pub fn has_work(&self) -> bool {
        !self.requests.is_empty()
            || !self.scans.is_empty()
            || self.edit.is_some()
            || !self.undos.is_empty()
    }

    // ---- background results -------------------------------------------------------------

    /// Routes what arrived for this editor's saves to the part that asked.
    fn take_answers(&mut self) {
        for answer in self.requests.poll(&self.port) {
            match answer.event {
                Event::Waiting { since, reason } => {
                    self.waiting(answer.request, &answer.purpose, since, reason);
                }
                Event::Done(outcome) => self.settle(answer.request, answer.purpose, outcome),
            }
        }
    }

    fn waiting(&mut self, request: RequestId, purpose: &Purpose, since: Instant, reason: Wait) {
        match purpose {
            Purpose::Scan(id) | Purpose::CreateBook(id) | Purpose::CreateCopy(id) => {
                self.scans.waiting(request, *id, since, reason);
            }
            Purpose::Edit => {
                if let Some(edit) = &mut self.edit {
                    edit.state.mark_waiting(request, since, reason);
                }
            }
            Purpose::Undo => self.undos.mark_waiting(request, since, reason),
            Purpose::Remove { .. } => {}
        }
    }

    /// Puts an outcome where it belongs: only into the form (or offer) that sent it, which may
    /// have been replaced meanwhile.
    fn settle(&mut self, request: RequestId, purpose: Purpose, outcome: Outcome) {
        match purpose {
            Purpose::Scan(_) | Purpose::CreateBook(_) | Purpose::CreateCopy(_) => {
                self.scans
                    .settle(&self.port, &mut self.requests, request, &purpose, outcome);
            }
            Purpose::Edit => {
                if self
                    .edit
                    .as_mut()
                    .is_some_and(|e| e.settle(request, outcome))
                {
                    self.edit = None;
                    self.focus_scan = true;
                }
            }
            Purpose::Remove { what } => match outcome {
                Outcome::Saved { record, version } => {
                    self.undos
                        .push(UndoOffer::new(record, version, format!("Removed {what}.")));
                }
                other => {
                    let text = Problem::describe(other, self.port.tz());
                    self.last_error = Some(format!("Could not remove {what}: {text}"));
                }
            },
            Purpose::Undo => {
                self.undos.settle(request, outcome);
            }
        }
    }

    // ---- actions --------------------------------------------------------------------------

    fn submit_scan(&mut self) {
        let barcode = std::mem::take(&mut self.scan_text);
        self.focus_scan = true;
        self.scans.submit(&self.port, &mut self.requests, &barcode);
    }

    fn start_edit(&mut self, row: PlacementRow) {
        if self.edit.as_ref().is_some_and(|e| e.state.is_saving()) {
            return;
        }
        self.edit = Some(RowEdit::new(row));
    }

    fn edit_action(&mut self, action: EditAction) {
        let Some(edit) = &mut self.edit else { return };
        match action {
            EditAction::Save => {
                let version = edit.base.version;
                edit.save(&self.port, &mut self.requests, self.collection, version);
            }
            EditAction::KeepMine(version) => {
                edit.save(&self.port, &mut self.requests, self.collection, version);
            }
            EditAction::Cancel => {
                // A save already queued: its answer will find no form and be dropped.
                self.requests.forget(edit.state.request());
                self.edit = None;
                self.focus_scan = true;
            }
        }
    }

    fn remove(&mut self, row: &PlacementRow) {
        let what = format!("copy {} ({}) from {}", row.barcode, row.title, self.title());
        let op = Op::Delete {
            target: row.id.into(),
            version: row.version,
        };
        let purpose = Purpose::Remove { what: what.clone() };
        let state = self.requests.submit(&self.port, op, purpose);
        self.focus_scan = true;
        if let Some(p) = state.problem() {
            let text = p.general_message(None, self.port.tz());
            self.last_error = Some(format!("Could not remove {what}: {text}"));
        }
    }

    /// Shows the placement that holds a conflicting copy: filter the table down to it.
    fn show_placement(&mut self, id: PlacementId, barcode: &str) {
        barcode.clone_into(&mut self.pages.layout.filter);
        self.highlight = Some(id);
        self.focus_scan = true;
    }

    // ---- drawing --------------------------------------------------------------------------

    /// Draws the editor; what it asks of the app goes to its command queue.
    pub fn ui(&mut self, ui: &mut Ui, host: Host) {
        self.take_answers();
        self.shortcuts(ui, host);
        let gone = self.gone();
        // Before any widget sees this frame's keys: the scanner's are the scan field's.
        let scan_focus = if gone.is_none() {
            Some(self.take_scans(ui))
        } else {
            None
        };
        let tz = self.port.tz().clone();
        self.heading(ui, host);
        ui.add_space(4.0);
        if let Some(focus) = scan_focus {
            self.scan_bar(ui, focus);
        }
        self.strip(ui, gone.as_deref(), &tz);
        self.dialog(ui, &tz);
        ui.add_space(4.0);
        self.filter_bar(ui);
        let library = self.port.library().clone();
        let local = move |r| library.local_state(r);
        let out = Table {
            local: &local,
            collection: self.collection,
            pages: &self.pages,
            edit: self.edit.as_mut(),
            highlight: self.highlight,
            edit_height: self.edit_height,
            columns: &mut self.columns,
            tz: &tz,
        }
        .show(ui);
        // The edited row is as tall as its fields and their messages (known after drawing).
        if out.edit_content > 0.0 {
            let wanted = (out.edit_content + 4.0).max(super::theme::ROW_HEIGHT * 2.5);
            if (wanted - self.edit_height).abs() > 0.5 {
                self.edit_height = wanted;
                ui.ctx().request_repaint();
            }
        }
        match out.action {
            Some(TableAction::Sort(key)) => self.pages.layout.sort_by(key),
            Some(TableAction::StartEdit(row)) => self.start_edit(row),
            Some(TableAction::Remove(row)) => self.remove(&row),
            Some(TableAction::Edit(action)) => self.edit_action(action),
            None => {}
        }
        self.in_view = out.visible.clone();
        self.pages.update(&self.port, out.visible);
    }

    fn heading(&self, ui: &mut Ui, host: Host) {
        ui.horizontal(|ui| {
            ui.heading(self.title());
            if let Some(head) = self.pages.head() {
                let n = head.total;
                ui.weak(if self.pages.layout.filter.trim().is_empty() {
                    count(n, "copy", "copies")
                } else {
                    format!("{} matching", crate::model::number(n))
                });
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
                            self.commands.send(AppCommand::OpenWindow(self.collection));
                        }
                    }
                    Host::Window(viewport) => {
                        if ui.button("Close window").clicked() {
                            self.commands.send(AppCommand::CloseWindow(viewport));
                        }
                    }
                },
            );
        });
    }

    fn filter_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let l = ui.label("Filter");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.pages.layout.filter)
                        .id(egui::Id::unique(("filter", self.port.editor)))
                        .hint_text("barcode, title, author, shelf mark, note")
                        .desired_width(280.0),
                )
                .labelled_by(l.id);
            if std::mem::take(&mut self.focus_filter) {
                r.request_focus();
            }
            if r.changed() {
                self.highlight = None;
            }
            if !self.pages.layout.filter.is_empty() && ui.small_button("Clear filter").clicked() {
                self.pages.layout.filter.clear();
                self.highlight = None;
            }
        });
    }

    fn shortcuts(&mut self, ui: &Ui, host: Host) {
        // Ctrl+Z in a text field is the field's own undo; elsewhere (and in the empty scan
        // field, which has nothing to undo) it takes the most recent Undo on offer.
        let scan_field_empty =
            ui.memory(|m| m.has_focus(self.scan_field_id())) && self.scan_text.is_empty();
        if (!ui.ctx().text_edit_focused() || scan_field_empty)
            && self.undos.can_undo()
            && ui.input_mut(|i| i.consume_shortcut(&SHORTCUT_UNDO))
        {
            self.undos
                .undo_latest(&self.port, Purpose::Undo, &mut self.requests);
        }
        // Commands go out after the input is let go (sending wakes the window, which takes
        // the context's lock that `input_mut` holds).
        let (find, new, close, quit) = ui.input_mut(|i| {
            let window = matches!(host, Host::Window(_));
            (
                i.consume_shortcut(&SHORTCUT_FIND),
                i.consume_shortcut(&SHORTCUT_NEW),
                window && i.consume_shortcut(&SHORTCUT_CLOSE),
                window && i.consume_shortcut(&SHORTCUT_QUIT),
            )
        });
        if find {
            self.focus_filter = true;
        }
        if new {
            self.focus_scan = true;
        }
        if let Host::Window(viewport) = host {
            if close {
                self.commands.send(AppCommand::CloseWindow(viewport));
            }
            if quit {
                self.commands.send(AppCommand::Quit);
            }
        }
        if self.edit.is_some() {
            let (save, cancel) = ui.input_mut(|i| {
                (
                    i.consume_shortcut(&SHORTCUT_SAVE),
                    i.consume_key(Modifiers::NONE, Key::Escape),
                )
            });
            if save {
                self.edit_action(EditAction::Save);
            }
            if cancel {
                self.edit_action(EditAction::Cancel);
            }
        }
    }

    /// The scan field's id: one per editor, so two editors never share a field.
    fn scan_field_id(&self) -> egui::Id {
        egui::Id::unique(("scan-field", self.port.editor))
    }

    /// Takes this frame's scanner input out of the event stream (see [`scan_input`]) and sends
    /// every barcode it finished. Returns who had the keyboard.
    fn take_scans(&mut self, ui: &Ui) -> Focus {
        let id = self.scan_field_id();
        let focus = match ui.memory(egui::Memory::focused) {
            Some(f) if f == id => Focus::Scan,
            Some(_) if ui.ctx().text_edit_focused() => Focus::Typing,
            _ => Focus::Free,
        };
        let before = self.scan_text.len();
        let (done, grab) =
            ui.input_mut(|i| scan_input::take(&mut i.events, &mut self.scan_text, focus));
        for barcode in &done {
            self.scans.submit(&self.port, &mut self.requests, barcode);
        }
        if grab {
            self.focus_scan = true;
        }
        if !done.is_empty() || self.scan_text.len() != before {
            // The field's own cursor follows the text the editor put there.
            let mut state = egui::TextEdit::load_state(ui.ctx(), id).unwrap_or_default();
            let end = egui::text::CCursor::new(self.scan_text.chars().count());
            state
                .cursor
                .set_char_range(Some(egui::text::CCursorRange::one(end)));
            state.store(ui.ctx(), id);
        }
        if grab || focus == Focus::Scan {
            Focus::Scan
        } else {
            focus
        }
    }

    fn scan_bar(&mut self, ui: &mut Ui, focus: Focus) {
        let id = self.scan_field_id();
        ui.horizontal(|ui| {
            let l = ui.label(RichText::new("Scan barcode").strong());
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.scan_text)
                        .id(id)
                        .hint_text("scan or type a barcode, then Enter")
                        .desired_width(220.0),
                )
                .labelled_by(l.id);
            if ui.button("Add").clicked() {
                self.submit_scan();
            }
            // Focus stays in the field, so the next scan can follow at once (the create-copy
            // dialog keeps it while it is open; it comes back when the dialog closes).
            if !self.scans.dialog_open() && std::mem::take(&mut self.focus_scan) {
                r.request_focus();
            }
            // On the same line, so what it says never moves what is below.
            self.scan_status(ui, focus);
            if self.scans.problems() > 1 {
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui
                        .small_button("Dismiss all")
                        .on_hover_text("Clear the messages below")
                        .clicked()
                    {
                        self.act_on_scans(vec![ScanAction::DismissAll]);
                        self.focus_scan = true;
                    }
                });
            }
        });
        // The undo bar's line is kept whether or not there is anything to undo.
        ui.allocate_ui(egui::vec2(ui.available_width(), UNDO_ROW), |ui| {
            ui.set_min_height(UNDO_ROW);
            if self
                .undos
                .bar(ui, &self.port, Purpose::Undo, &mut self.requests)
            {
                self.focus_scan = true;
            }
        });
    }

    /// How the scanning goes, beside the scan field: paused, in flight, waiting, or how many
    /// landed.
    fn scan_status(&self, ui: &mut Ui, focus: Focus) {
        let (in_flight, waiting) = self.scans.in_flight();
        if focus == Focus::Typing {
            ui.weak("Scanning is paused while you type in another field. Click Scan barcode to scan again.");
        } else if in_flight > 0 && !waiting {
            ui.pending_label(&format!("Adding… ({in_flight})"));
        } else {
            if self.scans.added() > 0 {
                ui.message(
                    super::theme::Tone::Success,
                    &format!("{} added", count(self.scans.added(), "scan", "scans")),
                );
            }
            if self.scans.kept() > 0 {
                ui.message(
                    super::theme::Tone::Pending,
                    &format!(
                        "{} saved on this computer — not yet in the shared library",
                        count(self.scans.kept(), "scan", "scans")
                    ),
                );
            }
        }
    }

    /// The strip of messages under the scan field: the collection's state and the scans that
    /// did not land, in the order scanned; a fixed height, scrolling inside when it holds
    /// more, with Dismiss all.
    fn strip(&mut self, ui: &mut Ui, gone: Option<&str>, tz: &jiff::tz::TimeZone) {
        let mut actions = Vec::new();
        let mut acted = false;
        let mut edit_action = None;
        let width = ui.available_width();
        ui.allocate_ui(egui::vec2(width, STRIP_HEIGHT), |ui| {
            ui.set_min_size(egui::vec2(width, STRIP_HEIGHT));
            egui::ScrollArea::vertical()
                .id_salt("messages")
                .max_height(STRIP_HEIGHT)
                .auto_shrink([false, false])
                .stick_to_bottom(true)
                .show(ui, |ui| {
                    if let Some(edit) = &self.edit {
                        edit_action = edit.strip(ui, self.collection, tz);
                    }
                    if let Some(gone) = gone {
                        ui.warning_label(gone);
                    }
                    if let Some(f) = self.pages.error() {
                        ui.error_label(&format!("Cannot read the collection: {f}"));
                    }
                    if let Some(err) = self.last_error.clone() {
                        ui.horizontal(|ui| {
                            ui.error_label(&err);
                            if ui.small_button("Dismiss").clicked() {
                                self.last_error = None;
                                acted = true;
                            }
                        });
                    }
                    actions.extend(self.scans.ui(ui, tz));
                });
        });
        acted |= !actions.is_empty();
        self.act_on_scans(actions);
        if let Some(action) = edit_action {
            self.edit_action(action);
        }
        if acted {
            self.focus_scan = true;
        }
    }

    fn act_on_scans(&mut self, actions: Vec<ScanAction>) {
        for action in actions {
            if let Some((id, barcode)) = self.scans.act(&self.port, &mut self.requests, action) {
                self.show_placement(id, &barcode);
            }
        }
    }

    /// The create-copy dialog; when it closes, the scan field has the focus again.
    fn dialog(&mut self, ui: &Ui, tz: &jiff::tz::TimeZone) {
        let actions = self.scans.dialog(ui.ctx(), &self.port, tz);
        self.act_on_scans(actions);
        let open = self.scans.dialog_open();
        if self.dialog_was_open && !open {
            self.focus_scan = true;
        }
        self.dialog_was_open = open;
    }
}

/// Height of the line the undo bar takes, reserved whether or not it shows.
const UNDO_ROW: f32 = 26.0;
