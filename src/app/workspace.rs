//! Everything on screen for one open library: the main window (top bar, side panel with the
//! collections, the catalog, the Trash, the selected collection's editor, the status bar) and
//! the extra editor windows (native deferred viewports). Every [`AppCommand`] a view sent is
//! applied here, once per frame, in [`Workspace::apply`].

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use egui::{RichText, Ui, ViewportBuilder, ViewportClass, ViewportCommand, ViewportId};
use parking_lot::Mutex;

use super::memo::{Memo, WindowMemo};
use crate::model::{CollectionId, ImportJob, Op, Outcome};
use crate::tasks::{Event, Port, Services};
use crate::transfer::csv;
use crate::ui::attention::AttentionView;
use crate::ui::catalog::CatalogView;
use crate::ui::collections::CollectionsPanel;
use crate::ui::command::{AppCommand, Commands};
use crate::ui::editor::{
    CollectionEditor, Host, SHORTCUT_FIND, SHORTCUT_NEW, SHORTCUT_QUIT, SHORTCUT_UNDO,
};
use crate::ui::live::Live;
use crate::ui::move_dialog::MoveDialog;
use crate::ui::requests::{Requests, SaveState};
use crate::ui::settings::SettingsDialog;
use crate::ui::theme::Tone;
use crate::ui::transfer::TransferPanel;
use crate::ui::trash::TrashView;
use crate::ui::widgets::UiExt;

/// How long a quit asked by the system waits for saves in flight.
const TERMINATE_WAIT: Duration = Duration::from_secs(5);

/// The sample library offered in an empty one.
const SAMPLE: &str = include_str!("../../assets/sample-library.csv");

/// What the app does after a frame of the workspace.
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Next {
    Stay,
    SwitchLibrary,
    /// Open this shared library (the library was just moved to it).
    Open(crate::db::ServerAddress, Option<String>),
}

/// A collection editor in a native window of its own.
struct EditorWindow {
    viewport: ViewportId,
    editor: Arc<Mutex<CollectionEditor>>,
    size: Arc<Mutex<Option<egui::Vec2>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum View {
    Collection,
    Catalog,
    Trash,
    /// A shared library's saves made here that wait for a decision.
    Attention,
}

/// Everything on screen for one open library.
pub(super) struct Workspace {
    services: Arc<Services>,
    commands: Commands,
    inbox: Receiver<AppCommand>,
    port: Port,
    view: View,
    panel: CollectionsPanel,
    editor: Option<CollectionEditor>,
    /// Editors of collections the librarian moved away from while they still had work (scans
    /// in flight, messages): shown again as they were when the collection is chosen again.
    parked: HashMap<CollectionId, CollectionEditor>,
    catalog: CatalogView,
    trash: TrashView,
    attention: AttentionView,
    transfer: TransferPanel,
    settings: SettingsDialog,
    move_dialog: MoveDialog,
    windows: Vec<EditorWindow>,
    empty: Live<(), bool>,
    sample: SaveState,
    requests: Requests<()>,
    select_first: bool,
    /// The user asked to quit while saves were in flight.
    close_asked: Option<Instant>,
    /// The user chose to quit without waiting for the saves.
    quitting: bool,
    /// The main window was asked to close (the app is quitting).
    closing: bool,
    /// The system asked the program to stop: quit once the saves are written, or at this
    /// moment at the latest.
    terminate_by: Option<Instant>,
    next: Next,
}

impl Workspace {
    pub(super) fn new(
        ctx: &egui::Context,
        services: Arc<Services>,
        memo: &Memo,
        (commands, inbox): (Commands, Receiver<AppCommand>),
    ) -> Self {
        let port = || Port::new(&services, crate::ui::repaint(ctx, ViewportId::ROOT));
        let mut w = Workspace {
            port: port(),
            panel: CollectionsPanel::new(port(), commands.clone()),
            catalog: CatalogView::new(port(), commands.clone()),
            trash: TrashView::new(port()),
            attention: AttentionView::new(port()),
            transfer: TransferPanel::new(port()),
            settings: SettingsDialog::new(port()),
            move_dialog: MoveDialog::new(port()),
            commands,
            inbox,
            view: View::Collection,
            editor: None,
            parked: HashMap::new(),
            windows: Vec::new(),
            empty: Live::new(),
            sample: SaveState::Idle,
            requests: Requests::new(),
            select_first: false,
            close_asked: None,
            quitting: false,
            closing: false,
            terminate_by: None,
            next: Next::Stay,
            services,
        };
        w.transfer.set_last_folder(memo.last_folder.clone());
        if memo.last_library.as_deref() == Some(&*w.services.library.location().to_string()) {
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

    pub(super) fn services(&self) -> &Arc<Services> {
        &self.services
    }

    pub(super) fn memo(&self) -> Memo {
        Memo {
            last_library: Some(self.services.library.location().to_string()),
            windows: self
                .windows
                .iter()
                .map(|w| WindowMemo {
                    collection: w.editor.lock().collection().0,
                    size: w.size.lock().map(Into::into),
                })
                .collect(),
            selected: self.panel.selected.map(|c| c.0),
            last_folder: self.transfer.last_folder().map(Path::to_path_buf),
            workstation: Some(self.services.library.workstation().to_string())
                .filter(|w| *w != crate::db::default_workstation()),
        }
    }

    fn open_window(
        &mut self,
        ctx: &egui::Context,
        collection: CollectionId,
        size: Option<egui::Vec2>,
    ) {
        let viewport = ViewportId::from_hash_of(("editor", self.services.next_id()));
        let port = Port::new(&self.services, crate::ui::repaint(ctx, viewport));
        let editor = CollectionEditor::new(port, self.commands.clone(), collection);
        self.windows.push(EditorWindow {
            viewport,
            editor: Arc::new(Mutex::new(editor)),
            size: Arc::new(Mutex::new(size)),
        });
    }

    /// Applies what the views asked for, in the order they asked.
    fn apply(&mut self, ctx: &egui::Context, command: AppCommand) {
        match command {
            AppCommand::ShowCollection(id) => {
                self.panel.selected = Some(id);
                self.view = View::Collection;
            }
            AppCommand::OpenWindow(id) => self.open_window(ctx, id, None),
            AppCommand::CloseWindow(viewport) => {
                self.windows.retain(|w| w.viewport != viewport);
                ctx.request_repaint_of(ViewportId::ROOT);
            }
            AppCommand::ShowCatalog { focus_search } => {
                self.view = View::Catalog;
                if focus_search {
                    self.catalog.focus_search();
                }
            }
            AppCommand::NewBook => {
                self.view = View::Catalog;
                self.catalog.start_new_book();
            }
            AppCommand::NewCollection => self.panel.start_new(),
            AppCommand::LoadSample => self.load_sample(),
            AppCommand::SwitchLibrary => {
                // Only with nothing in flight, so no save is left behind.
                if self.is_quiet() {
                    self.next = Next::SwitchLibrary;
                }
            }
            AppCommand::Quit => {
                if self.services.pending_saves() == 0 {
                    self.close(ctx);
                } else {
                    self.close_asked = Some(Instant::now());
                }
            }
            AppCommand::Terminate => {
                if self.services.pending_saves() == 0 {
                    self.close(ctx);
                } else {
                    self.terminate_by = Some(Instant::now() + TERMINATE_WAIT);
                }
            }
            AppCommand::QuitDroppingSaves => {
                // Closed the ordinary way, so what is remembered between runs is saved;
                // unwritten saves are dropped with the process.
                self.quitting = true;
                self.close(ctx);
            }
        }
    }

    /// Closes the main window the ordinary way (eframe then saves what is remembered).
    fn close(&mut self, ctx: &egui::Context) {
        self.closing = true;
        ctx.send_viewport_cmd_to(ViewportId::ROOT, ViewportCommand::Close);
    }

    /// Whether the app asked its main window to close.
    pub(super) fn is_closing(&self) -> bool {
        self.closing
    }

    fn is_quiet(&self) -> bool {
        self.services.pending_saves() == 0 && !self.transfer.busy()
    }

    fn poll(&mut self) {
        self.empty.update(&self.port, &(), |()| {
            |r: &mut dyn crate::db::Reads| r.is_empty()
        });
        for answer in self.requests.poll(&self.port) {
            match answer.event {
                Event::Waiting { since, reason } => {
                    self.sample.mark_waiting(answer.request, since, reason);
                }
                Event::Done(outcome) => {
                    if let Some(Outcome::Imported(_)) = self.sample.settle(answer.request, outcome)
                    {
                        self.select_first = true;
                    }
                }
            }
        }
        if self.select_first && self.panel.is_loaded() && !self.panel.list().is_empty() {
            self.select_first = false;
            self.panel.selected = self.panel.list().first().map(|c| c.id);
            self.view = View::Collection;
        }
    }

    /// Whether the library holds nothing (a failed read counts as "not empty": the views say
    /// what went wrong).
    fn is_empty(&self) -> Option<bool> {
        if self.empty.error().is_some() {
            return Some(false);
        }
        self.empty.value().copied()
    }

    fn load_sample(&mut self) {
        let parsed = match csv::parse(SAMPLE.as_bytes()) {
            Ok(p) if p.errors.is_empty() => p,
            Ok(p) => {
                self.sample = SaveState::Problem(crate::model::Problem::NotQueued(format!(
                    "The sample library is damaged: {}",
                    p.errors[0]
                )));
                return;
            }
            Err(e) => {
                self.sample = SaveState::Problem(crate::model::Problem::NotQueued(format!(
                    "The sample library is damaged: {e}"
                )));
                return;
            }
        };
        let job = Arc::new(ImportJob::new(parsed.rows));
        self.sample = self.requests.submit(&self.port, Op::Import(job), ());
    }

    pub(super) fn ui(&mut self, ui: &mut Ui) -> Next {
        let ctx = ui.ctx().clone();
        for command in self.inbox.try_iter().collect::<Vec<_>>() {
            self.apply(&ctx, command);
        }
        self.poll();
        self.root_shortcuts(ui);
        self.terminating(ui);
        self.close_guard(ui);
        egui::Panel::top("top").show(ui, |ui| self.top_bar(ui));
        if let Some(why) = self.services.library.read_only() {
            egui::Panel::top("read-only").show(ui, |ui| {
                ui.add_space(4.0);
                ui.warning_label(&format!(
                    "This library is read-only: {why}. You can look, search, export and back it up; saving is off."
                ));
                ui.add_space(4.0);
            });
        }
        let sync = self.services.library.sync_status();
        if let Some(banner) = sync.as_ref().and_then(|s| s.banner(self.port.tz())) {
            egui::Panel::top("offline").show(ui, |ui| {
                ui.add_space(4.0);
                ui.warning_label(&banner);
                ui.add_space(4.0);
            });
        }
        if sync.is_some() {
            // The banner and the counts follow the server coming and going.
            ctx.request_repaint_after(Duration::from_secs(1));
        }
        self.transfer.dialogs(&ctx);
        self.settings.show(&ctx);
        if let Some(open) = self.move_dialog.show(&ctx) {
            self.next = Next::Open(open.address, open.password);
        }
        egui::Panel::bottom("status").show(ui, |ui| self.status_bar(ui));
        // Above the status bar: coming and going, it never moves what is at the top.
        if self.transfer.visible() {
            egui::Panel::bottom("transfer").show(ui, |ui| {
                ui.add_space(4.0);
                self.transfer.ui(ui);
                ui.add_space(4.0);
            });
        }
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
                if let Some(s) = &sync
                    && (s.attention > 0 || self.view == View::Attention)
                {
                    let label = format!("Needs attention ({})", s.attention);
                    if ui
                        .selectable_label(self.view == View::Attention, label)
                        .clicked()
                    {
                        self.view = View::Attention;
                    }
                }
                ui.separator();
                // Only the view on show looks chosen.
                self.panel.ui(ui, self.view == View::Collection);
            });
        self.follow_selection(&ctx);
        egui::CentralPanel::default().show(ui, |ui| match self.view {
            View::Catalog => self.catalog.ui(ui),
            View::Trash => self.trash.ui(ui),
            View::Attention => self.attention.ui(ui),
            View::Collection => {
                if self.is_empty() == Some(true) || self.editor.is_none() {
                    self.welcome(ui);
                } else if let Some(editor) = &mut self.editor {
                    editor.ui(ui, Host::Main);
                }
            }
        });
        self.show_windows(&ctx);
        // Ctrl+Z that no view took (outside a text field): the side panel's Undo, or the
        // catalog's when it is on show.
        if !ctx.text_edit_focused() && ui.input_mut(|i| i.consume_shortcut(&SHORTCUT_UNDO)) {
            match self.view {
                View::Catalog => self.catalog.undo_latest(),
                _ => self.panel.undo_latest(),
            }
        }
        std::mem::replace(&mut self.next, Next::Stay)
    }

    /// The main editor follows the selected collection.
    fn follow_selection(&mut self, ctx: &egui::Context) {
        if self.editor.as_ref().map(CollectionEditor::collection) == self.panel.selected {
            return;
        }
        if let Some(old) = self.editor.take()
            && old.has_work()
        {
            self.parked.insert(old.collection(), old);
        }
        self.editor = self.panel.selected.map(|id| {
            self.parked.remove(&id).unwrap_or_else(|| {
                let port = Port::new(&self.services, crate::ui::repaint(ctx, ViewportId::ROOT));
                CollectionEditor::new(port, self.commands.clone(), id)
            })
        });
    }

    fn top_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new("Shelfmark").strong().size(16.0));
            let location = self.services.library.location();
            ui.weak(location.display_name())
                .on_hover_text(location.to_string());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if ui
                    .add_enabled(self.is_quiet(), egui::Button::new("Switch library…"))
                    .on_disabled_hover_text("Waiting for saves to be written")
                    .clicked()
                {
                    self.commands.send(AppCommand::SwitchLibrary);
                }
                let idle = !self.transfer.busy();
                let writable = self.services.library.read_only().is_none();
                if ui
                    .add_enabled(writable, egui::Button::new("Settings…"))
                    .on_hover_text("How titles sort, and this computer's name")
                    .clicked()
                {
                    self.settings.open();
                }
                if !self.services.library.is_shared()
                    && ui
                        .add_enabled(
                            idle && !self.move_dialog.is_moving(),
                            egui::Button::new("Move to a server…"),
                        )
                        .on_hover_text(
                            "Copy this library into a shared library on a PostgreSQL server, for several computers",
                        )
                        .clicked()
                {
                    self.move_dialog.open();
                }
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
                if ui
                    .add_enabled(idle && writable, egui::Button::new("Import…"))
                    .on_hover_text("Add books, copies and placements from a CSV file")
                    .clicked()
                {
                    self.transfer.start_import();
                }
            });
        });
    }

    fn root_shortcuts(&self, ui: &Ui) {
        // Views handle their own shortcuts; these apply where no view took them.
        if (self.view != View::Collection || self.editor.is_none()) && self.view != View::Catalog {
            let (new, find) = ui.input_mut(|i| {
                (
                    i.consume_shortcut(&SHORTCUT_NEW),
                    i.consume_shortcut(&SHORTCUT_FIND),
                )
            });
            if new {
                self.commands.send(AppCommand::NewCollection);
            }
            if find {
                self.commands
                    .send(AppCommand::ShowCatalog { focus_search: true });
            }
        }
        // Ctrl+W closes an editor window (the editor takes it); the main window is not one.
        if ui.input_mut(|i| i.consume_shortcut(&SHORTCUT_QUIT)) {
            self.commands.send(AppCommand::Quit);
        }
    }

    /// Asked by the system to stop: wait (a few seconds at most) for the saves in flight,
    /// then quit, saying how many could not be written.
    fn terminating(&mut self, ui: &Ui) {
        let Some(deadline) = self.terminate_by else {
            return;
        };
        let pending = self.services.pending_saves();
        if pending == 0 || Instant::now() >= deadline {
            self.terminate_by = None;
            if pending > 0 {
                eprintln!(
                    "shelfmark: asked to stop; {} not written in {} s {} dropped (everything saved stays saved)",
                    crate::model::count(pending as usize, "save was", "saves were"),
                    TERMINATE_WAIT.as_secs(),
                    if pending == 1 { "is" } else { "are" }
                );
            }
            self.quitting = true;
            self.close(ui.ctx());
            return;
        }
        egui::Modal::new(egui::Id::unique("terminating")).show(ui.ctx(), |ui| {
            ui.heading("Quitting");
            ui.pending_label(&format!(
                "Asked to stop: writing {} first ({} s at most).",
                crate::model::count(pending as usize, "save", "saves"),
                deadline.saturating_duration_since(Instant::now()).as_secs() + 1
            ));
        });
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }

    /// Closing with saves in flight: say so, and close once they are written (or at once, if
    /// the user insists: nothing acknowledged is lost either way).
    fn close_guard(&mut self, ui: &Ui) {
        let pending = self.services.pending_saves();
        if ui.input(|i| i.viewport().close_requested()) && pending > 0 && !self.quitting {
            ui.send_viewport_cmd(ViewportCommand::CancelClose);
            self.close_asked = Some(Instant::now());
        }
        if self.close_asked.is_none() || self.quitting {
            return;
        }
        if pending == 0 {
            self.close_asked = None;
            self.close(ui.ctx());
            return;
        }
        let mut keep = false;
        egui::Modal::new(egui::Id::unique("closing")).show(ui.ctx(), |ui| {
            ui.heading("Still saving");
            ui.label(format!(
                "{pending} save(s) are not written yet. Shelfmark closes as soon as they are."
            ));
            if let Some((_, reason)) = self.services.saves().waiting_since() {
                ui.warning_label(reason.text());
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
                    self.commands.send(AppCommand::QuitDroppingSaves);
                }
            });
        });
        if keep {
            self.close_asked = None;
        }
        ui.ctx().request_repaint_after(Duration::from_millis(100));
    }

    fn status_bar(&mut self, ui: &mut Ui) {
        ui.horizontal(|ui| {
            let sync = self.services.library.sync_status();
            if let Some(s) = &sync {
                if let Some(text) = s.waiting_text() {
                    ui.message(Tone::Warning, &text);
                }
                if s.attention > 0
                    && ui
                        .link(crate::model::count(
                            s.attention,
                            "change needs your decision",
                            "changes need your decision",
                        ))
                        .clicked()
                {
                    self.view = View::Attention;
                }
                if let Some(p) = &s.problem {
                    ui.error_label(p);
                }
            }
            let pending = self.services.pending_saves();
            if let Some((since, reason)) = self.services.saves().waiting_since() {
                ui.message(
                    Tone::Warning,
                    &format!("{} ({} s)", reason.text(), since.elapsed().as_secs()),
                );
                ui.ctx().request_repaint_after(Duration::from_millis(500));
            } else if pending > 0 {
                ui.pending_label(&format!("Saving {pending}…"));
            } else if sync.as_ref().is_some_and(|s| s.waiting > 0) {
                ui.weak("Saved on this computer");
            } else {
                ui.weak("All changes saved");
            }
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                ui.weak(self.services.library.location().to_string());
            });
        });
    }

    fn welcome(&self, ui: &mut Ui) {
        ui.add_space(30.0);
        ui.vertical_centered(|ui| match self.is_empty() {
            Some(true) => {
                ui.heading("Welcome to Shelfmark");
                ui.label("This library is empty. Start with the sample library to look around, or create your first collection.");
                ui.add_space(12.0);
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(!self.sample.is_saving(), egui::Button::new("Load sample library"))
                        .clicked()
                    {
                        self.commands.send(AppCommand::LoadSample);
                    }
                    if ui.button("New collection").clicked() {
                        self.commands.send(AppCommand::NewCollection);
                    }
                    if ui.button("New book").clicked() {
                        self.commands.send(AppCommand::NewBook);
                    }
                });
                ui.save_progress(&self.sample);
                if let Some(p) = self.sample.problem() {
                    ui.error_label(&p.general_message(None, &self.services.tz));
                }
            }
            Some(false) => {
                ui.heading("Choose a collection");
                ui.label("Pick a collection on the left, or open the Catalog.");
            }
            None => {
                ui.pending_label("Loading…");
            }
        });
    }

    fn show_windows(&self, ctx: &egui::Context) {
        for w in &self.windows {
            let title = format!("{} — Shelfmark", w.editor.lock().title());
            let size = w.size.lock().unwrap_or(egui::vec2(900.0, 600.0));
            let builder = ViewportBuilder::default()
                .with_title(title.clone())
                .with_inner_size(size)
                .with_min_inner_size([560.0, 320.0]);
            let (editor, size, viewport) = (Arc::clone(&w.editor), Arc::clone(&w.size), w.viewport);
            let commands = self.commands.clone();
            // The callback runs whenever this window repaints, not necessarily now: it shares
            // the editor, and reports closing through the command queue.
            ctx.show_viewport_deferred(w.viewport, builder, move |ui, class| {
                if class == ViewportClass::EmbeddedWindow {
                    // Shown as an egui window inside the main one (no native windows): its
                    // title bar is a focusable drag handle of egui's, unnamed until named here.
                    let bar = egui::Id::unique(viewport).with("__title_click");
                    ui.ctx().accesskit_node_builder(bar, |node| {
                        node.set_label(format!("Move the window {title}"));
                    });
                } else {
                    super::name_window(ui.ctx(), &title);
                }
                let host = Host::Window(viewport);
                if class == ViewportClass::EmbeddedWindow {
                    editor.lock().ui(ui, host);
                } else {
                    egui::CentralPanel::default().show(ui, |ui| editor.lock().ui(ui, host));
                }
                if class != ViewportClass::EmbeddedWindow {
                    if ui.input(|i| i.viewport().close_requested()) {
                        commands.send(AppCommand::CloseWindow(viewport));
                    }
                    if let Some(rect) = ui.input(|i| i.viewport().inner_rect) {
                        *size.lock() = Some(rect.size());
                    }
                }
            });
        }
    }
}
