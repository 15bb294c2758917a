//! The eframe application: opening a library (in the background), the main window (collections,
//! catalog, Trash, the selected collection's editor), the extra editor windows (native deferred
//! viewports), the status bar, and what is remembered between runs.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use egui::{RichText, Ui, ViewportBuilder, ViewportClass, ViewportCommand, ViewportId};
use parking_lot::Mutex;

use crate::csvio;
use crate::db::{Library, OpenOptions};
use crate::model::{CollectionId, ImportJob, Op, Outcome};
use crate::tasks::{Event, Fetch, Watcher};
use crate::ui::catalog::CatalogView;
use crate::ui::collections::{CollectionsPanel, PanelCommand};
use crate::ui::editor::{
    CollectionEditor, EditorCommand, Host, SHORTCUT_CLOSE, SHORTCUT_FIND, SHORTCUT_NEW,
};
use crate::ui::theme::{self, Tone};
use crate::ui::transfer::TransferPanel;
use crate::ui::trash::TrashView;
use crate::ui::widgets::{Problem, SaveState, UiExt, WAITING_TEXT};
use crate::ui::workspace::{Port, Services};

/// The sample library offered in an empty one.
const SAMPLE: &str = include_str!("../assets/sample-library.csv");

/// Key of what Shelfmark remembers in eframe's storage.
const MEMO_KEY: &str = "shelfmark";

/// How the app was started.
#[derive(Clone, Debug)]
pub enum Startup {
    /// `--db PATH`: open this file.
    Path(PathBuf),
    /// No `--db`: the library used last time, else this default.
    Remembered { default: PathBuf },
}

/// How the app opens libraries.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub open: OpenOptions,
}

/// What is remembered between runs.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct Memo {
    last_library: Option<PathBuf>,
    windows: Vec<WindowMemo>,
    selected: Option<i64>,
}

#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct WindowMemo {
    collection: i64,
    size: Option<[f32; 2]>,
}

/// An opened library with its background services.
type Opened = (Arc<Services>, Watcher);

enum State {
    Opening {
        path: PathBuf,
        rx: Receiver<Result<Opened, String>>,
    },
    /// Opening failed, or the user wants another file.
    Choosing {
        error: Option<String>,
        input: String,
    },
    Ready(Box<Workspace>),
}

/// The application.
pub struct ShelfmarkApp {
    state: State,
    memo: Memo,
    options: AppOptions,
}

impl std::fmt::Debug for ShelfmarkApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShelfmarkApp").finish_non_exhaustive()
    }
}

/// Opens a library and starts its services, off the UI thread.
fn open_in_background(
    path: PathBuf,
    options: OpenOptions,
    ctx: egui::Context,
) -> Receiver<Result<Opened, String>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("shelfmark-open".into())
        .spawn(move || {
            // The default library's folder is made on first use.
            if path == crate::cli::default_library_path()
                && let Some(parent) = path.parent()
            {
                let _ = std::fs::create_dir_all(parent);
            }
            let result = Library::open(&path, &options)
                .map_err(|e| crate::db::chain(&e))
                .and_then(|lib| {
                    Services::start(lib).map_err(|e| format!("cannot start background work: {e}"))
                });
            let _ = tx.send(result);
            ctx.request_repaint();
        });
    if let Err(e) = spawned {
        let (tx, rx2) = std::sync::mpsc::channel();
        let _ = tx.send(Err(format!("cannot start a thread: {e}")));
        return rx2;
    }
    rx
}

impl ShelfmarkApp {
    /// The app as `main` starts it: the library opens in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, startup: Startup, options: AppOptions) -> Self {
        theme::apply(&cc.egui_ctx);
        let memo: Memo = cc
            .storage
            .and_then(|s| eframe::get_value(s, MEMO_KEY))
            .unwrap_or_default();
        let path = match startup {
            Startup::Path(p) => p,
            Startup::Remembered { default } => memo
                .last_library
                .clone()
                .filter(|p| p.exists())
                .unwrap_or(default),
        };
        let rx = open_in_background(path.clone(), options.open.clone(), cc.egui_ctx.clone());
        ShelfmarkApp {
            state: State::Opening { path, rx },
            memo,
            options,
        }
    }

    /// The app on a library that is already open (for tests and embedding).
    pub fn with_library(
        cc: &eframe::CreationContext<'_>,
        library: Library,
    ) -> std::io::Result<Self> {
        theme::apply(&cc.egui_ctx);
        let (services, watcher) = Services::start(library)?;
        let workspace = Workspace::new(&cc.egui_ctx, services, watcher, &Memo::default());
        Ok(ShelfmarkApp {
            state: State::Ready(Box::new(workspace)),
            memo: Memo::default(),
            options: AppOptions::default(),
        })
    }

    /// Saves not yet answered, in every window.
    pub fn pending_saves(&self) -> u64 {
        match &self.state {
            State::Ready(w) => w.services.saves().pending(),
            _ => 0,
        }
    }

    fn opening_ui(&mut self, ui: &mut Ui) {
        let State::Opening { path, rx } = &self.state else {
            return;
        };
        let next = match rx.try_recv() {
            Ok(Ok((services, watcher))) => Some(State::Ready(Box::new(Workspace::new(
                ui.ctx(),
                services,
                watcher,
                &self.memo,
            )))),
            Ok(Err(error)) => Some(State::Choosing {
                error: Some(error),
                input: path.display().to_string(),
            }),
            Err(TryRecvError::Disconnected) => Some(State::Choosing {
                error: Some("opening stopped unexpectedly".to_owned()),
                input: path.display().to_string(),
            }),
            Err(TryRecvError::Empty) => None,
        };
        if let Some(state) = next {
            self.state = state;
            ui.ctx().request_repaint();
            return;
        }
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(40.0);
            ui.vertical_centered(|ui| {
                ui.pending_label(&format!("Opening {}…", path.display()));
            });
        });
    }

    fn choosing_ui(&mut self, ui: &mut Ui) {
        let State::Choosing { error, input } = &mut self.state else {
            return;
        };
        let mut open = None;
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(24.0);
            ui.heading("Open a library");
            ui.add_space(8.0);
            if let Some(e) = error {
                ui.error_label(&format!("Cannot open the library: {e}"));
                ui.add_space(8.0);
            }
            ui.label(
                "A library is one file. Type its path; a new file is created if none is there.",
            );
            let r = ui.labelled_text("Library file", input, 480.0);
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            ui.horizontal(|ui| {
                if ui.button("Open").clicked() || enter {
                    open = Some(PathBuf::from(input.trim()));
                }
                if ui.button("Use the default library").clicked() {
                    open = Some(crate::cli::default_library_path());
                }
            });
        });
        if let Some(path) = open {
            let rx = open_in_background(path.clone(), self.options.open.clone(), ui.ctx().clone());
            self.state = State::Opening { path, rx };
        }
    }
}

impl eframe::App for ShelfmarkApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        match &mut self.state {
            State::Opening { .. } => self.opening_ui(ui),
            State::Choosing { .. } => self.choosing_ui(ui),
            State::Ready(workspace) => {
                if workspace.ui(ui) == WorkspaceCommand::SwitchLibrary {
                    self.memo = workspace.memo();
                    let input = workspace.services.library.path().display().to_string();
                    let old =
                        std::mem::replace(&mut self.state, State::Choosing { error: None, input });
                    // Closing a library joins its threads: never on the UI thread.
                    let _ = std::thread::Builder::new()
                        .name("shelfmark-close-library".into())
                        .spawn(move || drop(old));
                }
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if let State::Ready(w) = &self.state {
            self.memo = w.memo();
        }
        eframe::set_value(storage, MEMO_KEY, &self.memo);
    }
}

/// A collection editor in a native window of its own.
struct EditorWindow {
    viewport: ViewportId,
    editor: Arc<Mutex<CollectionEditor>>,
    closed: Arc<AtomicBool>,
    size: Arc<Mutex<Option<egui::Vec2>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Collection,
    Catalog,
    Trash,
}

#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WorkspaceCommand {
    None,
    SwitchLibrary,
}

/// Everything on screen for one open library.
struct Workspace {
    services: Arc<Services>,
    _watcher: Watcher,
    port: Port,
    view: View,
    panel: CollectionsPanel,
    editor: Option<CollectionEditor>,
    /// Editors of collections the librarian moved away from while they still had work (scans
    /// in flight, messages): shown again as they were when the collection is chosen again.
    parked: std::collections::HashMap<CollectionId, CollectionEditor>,
    catalog: CatalogView,
    trash: TrashView,
    transfer: TransferPanel,
    windows: Vec<EditorWindow>,
    empty: Option<bool>,
    empty_fetch: Option<Fetch<bool>>,
    sample: SaveState,
    select_first: bool,
    close_asked: Option<Instant>,
}

impl Workspace {
    fn new(ctx: &egui::Context, services: Arc<Services>, watcher: Watcher, memo: &Memo) -> Self {
        let root = ViewportId::ROOT;
        let mut w = Workspace {
            port: Port::new(&services, ctx, root),
            panel: CollectionsPanel::new(Port::new(&services, ctx, root)),
            catalog: CatalogView::new(Port::new(&services, ctx, root)),
            trash: TrashView::new(Port::new(&services, ctx, root)),
            transfer: TransferPanel::new(Port::new(&services, ctx, root)),
            services,
            _watcher: watcher,
            view: View::Collection,
            editor: None,
            parked: std::collections::HashMap::new(),
            windows: Vec::new(),
            empty: None,
            empty_fetch: None,
            sample: SaveState::Idle,
            select_first: false,
            close_asked: None,
        };
        if memo.last_library.as_deref() == Some(w.services.library.path()) {
            w.panel.selected = memo.selected.map(CollectionId);
            for m in &memo.windows {
                w.open_window(
                    ctx,
                    CollectionId(m.collection),
                    m.size.map(egui::Vec2::from),
                );
            }
        }
        w
    }

    fn memo(&self) -> Memo {
        Memo {
            last_library: Some(self.services.library.path().to_path_buf()),
            windows: self
                .windows
                .iter()
                .map(|w| WindowMemo {
                    collection: w.editor.lock().collection.0,
                    size: w.size.lock().map(Into::into),
                })
                .collect(),
            selected: self.panel.selected.map(|c| c.0),
        }
    }

    fn open_window(
        &mut self,
        ctx: &egui::Context,
        collection: CollectionId,
        size: Option<egui::Vec2>,
    ) {
        let viewport = ViewportId::from_hash_of(("editor", self.services.next_id()));
        let editor = CollectionEditor::new(Port::new(&self.services, ctx, viewport), collection);
        self.windows.push(EditorWindow {
            viewport,
            editor: Arc::new(Mutex::new(editor)),
            closed: Arc::new(AtomicBool::new(false)),
            size: Arc::new(Mutex::new(size)),
        });
    }

    fn poll(&mut self) {
        let changed = self.port.changed();
        if let Some(fetch) = &self.empty_fetch
            && let Some(result) = fetch.poll()
        {
            // A failed read counts as "not empty": the views say what went wrong.
            self.empty = Some(result.unwrap_or(false));
            self.empty_fetch = None;
        }
        if (changed || self.empty.is_none()) && self.empty_fetch.is_none() {
            self.empty_fetch = Some(self.port.fetch(crate::db::views::is_empty));
        }
        for reply in self.port.replies() {
            match reply.event {
                Event::Waiting { since } => {
                    if let SaveState::Saving { waiting_since, .. } = &mut self.sample {
                        *waiting_since = Some(since);
                    }
                }
                Event::Done(Outcome::Imported(_)) => {
                    self.sample = SaveState::Idle;
                    self.select_first = true;
                }
                Event::Done(other) => {
                    self.sample =
                        Problem::from_outcome(other).map_or(SaveState::Idle, SaveState::Problem);
                }
            }
        }
        if self.select_first && self.panel.is_loaded() && !self.panel.list().is_empty() {
            self.select_first = false;
            self.panel.selected = self.panel.list().first().map(|c| c.id);
            self.view = View::Collection;
        }
    }

    fn load_sample(&mut self) {
        let parsed = match csvio::parse(SAMPLE.as_bytes()) {
            Ok(p) if p.errors.is_empty() => p,
            Ok(p) => {
                self.sample = SaveState::Problem(Problem::NotQueued(format!(
                    "The sample library is damaged: {}",
                    p.errors[0]
                )));
                return;
            }
            Err(e) => {
                self.sample = SaveState::Problem(Problem::NotQueued(format!(
                    "The sample library is damaged: {e}"
                )));
                return;
            }
        };
        let job = Arc::new(ImportJob::new(parsed.rows));
        self.sample = match self.port.submit(Op::Import(job)) {
            Ok(request) => SaveState::Saving {
                request,
                waiting_since: None,
            },
            Err(e) => SaveState::Problem(Problem::not_queued(&e)),
        };
    }

    fn ui(&mut self, ui: &mut Ui) -> WorkspaceCommand {
        self.poll();
        let mut command = WorkspaceCommand::None;
        let ctx = ui.ctx().clone();
        self.root_shortcuts(ui);
        self.close_guard(ui);

        egui::Panel::top("top").show(ui, |ui| {
            ui.horizontal(|ui| {
                ui.label(RichText::new("Shelfmark").strong().size(16.0));
                let path = self.services.library.path();
                ui.weak(file_name(path))
                    .on_hover_text(path.display().to_string());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    // Only with nothing in flight, so no save is left behind.
                    let quiet = self.services.saves().pending() == 0 && !self.transfer.busy();
                    if ui
                        .add_enabled(quiet, egui::Button::new("Switch library…"))
                        .on_disabled_hover_text("Waiting for saves to be written")
                        .clicked()
                    {
                        command = WorkspaceCommand::SwitchLibrary;
                    }
                    let idle = !self.transfer.busy();
                    if ui
                        .add_enabled(idle, egui::Button::new("Back up…"))
                        .on_hover_text("Copy the library to a new file, safely, while you work")
                        .clicked()
                    {
                        self.transfer.start_backup();
                    }
                    if ui
                        .add_enabled(idle, egui::Button::new("Export…"))
                        .on_hover_text("Write books, copies and placements to a CSV file")
                        .clicked()
                    {
                        self.transfer.start_export();
                    }
                    let writable = self.services.library.read_only().is_none();
                    if ui
                        .add_enabled(idle && writable, egui::Button::new("Import…"))
                        .on_hover_text("Add books, copies and placements from a CSV file")
                        .clicked()
                    {
                        self.transfer.start_import();
                    }
                });
            });
        });
        if let Some(why) = self.services.library.read_only() {
            egui::Panel::top("read-only").show(ui, |ui| {
                ui.add_space(4.0);
                ui.warning_label(&format!(
                    "This library is read-only: {why}. You can look, search, export and back it up; saving is off."
                ));
                ui.add_space(4.0);
            });
        }
        self.transfer.dialogs(&ctx);
        if self.transfer.visible() {
            egui::Panel::top("transfer").show(ui, |ui| {
                ui.add_space(4.0);
                self.transfer.ui(ui);
                ui.add_space(4.0);
            });
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        egui::Panel::left("sidebar")
            .resizable(true)
            .default_size(250.0)
            .show(ui, |ui| {
                ui.add_space(6.0);
                for (view, label) in [(View::Catalog, "Catalog"), (View::Trash, "Trash")] {
                    if ui.selectable_label(self.view == view, label).clicked() {
                        self.view = view;
                    }
                }
                ui.separator();
                let before = self.panel.selected;
                for c in self.panel.ui(ui) {
                    match c {
                        PanelCommand::OpenInWindow(id) => self.open_window(&ctx, id, None),
                        PanelCommand::Select(_) => self.view = View::Collection,
                    }
                }
                if self.panel.selected != before && self.panel.selected.is_some() {
                    self.view = View::Collection;
                }
            });
        // The main editor follows the selected collection.
        if self.editor.as_ref().map(|e| e.collection) != self.panel.selected {
            if let Some(old) = self.editor.take()
                && old.has_work()
            {
                self.parked.insert(old.collection, old);
            }
            self.editor = self.panel.selected.map(|id| {
                self.parked.remove(&id).unwrap_or_else(|| {
                    CollectionEditor::new(Port::new(&self.services, &ctx, ViewportId::ROOT), id)
                })
            });
        }
        egui::CentralPanel::default().show(ui, |ui| match self.view {
            View::Catalog => {
                if let Some(id) = self.catalog.ui(ui) {
                    self.panel.selected = Some(id);
                    self.view = View::Collection;
                }
            }
            View::Trash => self.trash.ui(ui),
            View::Collection => {
                if self.empty == Some(true) || self.editor.is_none() {
                    self.welcome(ui);
                } else if let Some(editor) = &mut self.editor {
                    for c in editor.ui(ui, Host::Main) {
                        if let EditorCommand::OpenInWindow(id) = c {
                            self.open_window(&ctx, id, None);
                        }
                    }
                }
            }
        });
        self.show_windows(&ctx);
        command
    }

    fn root_shortcuts(&mut self, ui: &Ui) {
        // Views handle their own shortcuts; these apply where no view took them.
        if self.view != View::Collection || self.editor.is_none() {
            let (new, find) = if self.view == View::Catalog {
                (false, false)
            } else {
                ui.input_mut(|i| {
                    (
                        i.consume_shortcut(&SHORTCUT_NEW),
                        i.consume_shortcut(&SHORTCUT_FIND),
                    )
                })
            };
            if new {
                self.panel.start_new();
            }
            if find {
                self.view = View::Catalog;
                self.catalog.focus_search();
            }
        }
        if ui.input_mut(|i| i.consume_shortcut(&SHORTCUT_CLOSE)) {
            ui.send_viewport_cmd(ViewportCommand::Close);
        }
    }

    /// Closing with saves in flight: say so, and close once they are written (or at once, if
    /// the user insists: nothing acknowledged is lost either way).
    fn close_guard(&mut self, ui: &Ui) {
        let pending = self.services.saves().pending();
        if ui.input(|i| i.viewport().close_requested()) && pending > 0 {
            ui.send_viewport_cmd(ViewportCommand::CancelClose);
            self.close_asked = Some(Instant::now());
        }
        if self.close_asked.is_none() {
            return;
        }
        if pending == 0 {
            self.close_asked = None;
            ui.send_viewport_cmd(ViewportCommand::Close);
            return;
        }
        let mut keep = false;
        egui::Modal::new(egui::Id::unique("closing")).show(ui.ctx(), |ui| {
            ui.heading("Still saving");
            ui.label(format!(
                "{pending} save(s) are not written yet. Shelfmark closes as soon as they are."
            ));
            if self.services.saves().waiting_since().is_some() {
                ui.warning_label(WAITING_TEXT);
            }
            ui.horizontal(|ui| {
                if ui.button("Keep working").clicked() {
                    keep = true;
                }
                if ui
                    .button("Close now")
                    .on_hover_text(
                        "Saves not yet written are dropped; everything saved stays saved",
                    )
                    .clicked()
                {
                    std::process::exit(0);
                }
            });
        });
        if keep {
            self.close_asked = None;
        }
        ui.ctx()
            .request_repaint_after(std::time::Duration::from_millis(100));
    }

    fn status_bar(&self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let pending = self.services.saves().pending();
            if let Some(since) = self.services.saves().waiting_since() {
                ui.message(
                    Tone::Warning,
                    &format!("{WAITING_TEXT} ({} s)", since.elapsed().as_secs()),
                );
                ui.ctx()
                    .request_repaint_after(std::time::Duration::from_millis(500));
            } else if pending > 0 {
                ui.pending_label(&format!("Saving {pending}…"));
            } else {
                ui.weak("All changes saved");
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(self.services.library.path().display().to_string());
            });
        });
    }

    fn welcome(&mut self, ui: &mut Ui) {
        ui.add_space(30.0);
        ui.vertical_centered(|ui| {
            if self.empty == Some(true) {
                ui.heading("Welcome to Shelfmark");
                ui.label("This library is empty. Start with the sample library to look around, or create your first collection.");
                ui.add_space(12.0);
                ui.horizontal(|ui| {
                    let enabled = !self.sample.is_saving();
                    if ui
                        .add_enabled(enabled, egui::Button::new("Load sample library"))
                        .clicked()
                    {
                        self.load_sample();
                    }
                    if ui.button("New collection").clicked() {
                        self.panel.start_new();
                    }
                    if ui.button("New book").clicked() {
                        self.view = View::Catalog;
                        self.catalog.start_new_book();
                    }
                });
                self.sample.show_progress(ui);
                if let Some(p) = self.sample.problem() {
                    ui.error_label(&p.general_message(None, &self.services.tz));
                }
            } else if self.empty == Some(false) {
                ui.heading("Choose a collection");
                ui.label("Pick a collection on the left, or open the Catalog.");
            } else {
                ui.pending_label("Loading…");
            }
        });
    }

    fn show_windows(&mut self, ctx: &egui::Context) {
        self.windows.retain(|w| !w.closed.load(Ordering::Acquire));
        for w in &self.windows {
            let title = format!("{} — Shelfmark", w.editor.lock().title());
            let size = w.size.lock().unwrap_or(egui::vec2(900.0, 600.0));
            let builder = ViewportBuilder::default()
                .with_title(title)
                .with_inner_size(size)
                .with_min_inner_size([560.0, 320.0]);
            let (editor, closed, size) = (
                Arc::clone(&w.editor),
                Arc::clone(&w.closed),
                Arc::clone(&w.size),
            );
            // The callback runs whenever this window repaints, not necessarily now: it shares
            // the editor and reports closing through flags.
            ctx.show_viewport_deferred(w.viewport, builder, move |ui, class| {
                let commands = if class == ViewportClass::EmbeddedWindow {
                    editor.lock().ui(ui, Host::Window)
                } else {
                    egui::CentralPanel::default()
                        .show(ui, |ui| editor.lock().ui(ui, Host::Window))
                        .inner
                };
                let close_requested = class != ViewportClass::EmbeddedWindow
                    && ui.input(|i| i.viewport().close_requested());
                if close_requested || commands.contains(&EditorCommand::CloseWindow) {
                    closed.store(true, Ordering::Release);
                    ui.ctx().request_repaint_of(ViewportId::ROOT);
                }
                if class != ViewportClass::EmbeddedWindow
                    && let Some(rect) = ui.input(|i| i.viewport().inner_rect)
                {
                    *size.lock() = Some(rect.size());
                }
            });
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}
