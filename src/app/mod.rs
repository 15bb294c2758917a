//! The eframe application: opening a library (in the background), then the [`Workspace`] of
//! the open library (main window, editor windows, status bar), and what is remembered between
//! runs.

mod instance;
mod memo;
mod open;
mod workspace;

use std::path::PathBuf;
use std::sync::Arc;

use egui::Ui;

use self::memo::{MEMO_KEY, Memo};
use self::workspace::Workspace;
use std::sync::mpsc::Receiver;

use self::instance::InstanceLock;
use self::open::{Choice, Chooser, OpenFailure, Target, open_in_background};
use crate::db::{Library, Location, OpenOptions, default_library_path};
use crate::tasks::{Pending, Services, Taken, Worker};
use crate::ui::command::{AppCommand, Commands};
use crate::ui::theme;
use crate::ui::widgets::UiExt;

/// How the app was started.
#[derive(Clone, Debug)]
pub enum Startup {
    /// `--db PATH` or `--db postgres://…`: open this library (with the password the address
    /// carried, if any; it is never remembered).
    At(Location, Option<String>),
    /// No `--db`: the library used last time, else this default.
    Remembered { default: PathBuf },
}

/// How the app opens libraries.
#[derive(Clone, Debug, Default)]
pub struct AppOptions {
    pub open: OpenOptions,
    /// Where this computer's Shelfmark keeps what is its own (the instance lock); default: the
    /// platform data directory.
    pub data_dir: Option<PathBuf>,
    /// Whether SIGTERM and SIGINT quit the app through its queue (the program does; tests,
    /// which share one process, do not).
    pub handle_signals: bool,
}

enum State {
    Opening {
        target: Target,
        pending: Pending<Result<Arc<Services>, OpenFailure>>,
    },
    /// Opening failed, or the user wants another library.
    Choosing(Box<Chooser>),
    Ready(Box<Workspace>),
}

/// The application.
pub struct ShelfmarkApp {
    state: State,
    memo: Memo,
    options: AppOptions,
    /// The app's command queue; the receiving end goes to the workspace once a library is open.
    commands: Commands,
    inbox: Option<Receiver<AppCommand>>,
    /// Held while this is the first Shelfmark on the data directory; `None`: a second one, which
    /// shows the main window only and remembers nothing between runs.
    instance: Option<InstanceLock>,
    /// Forwards SIGTERM and SIGINT to the queue (only in the real program, not in tests).
    _signals: Option<Worker>,
}

impl std::fmt::Debug for ShelfmarkApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShelfmarkApp").finish_non_exhaustive()
    }
}

impl ShelfmarkApp {
    /// The app as `main` starts it: the library opens in the background.
    pub fn new(cc: &eframe::CreationContext<'_>, startup: Startup, options: AppOptions) -> Self {
        theme::apply(&cc.egui_ctx);
        let memo: Memo = cc
            .storage
            .and_then(|s| eframe::get_value(s, MEMO_KEY))
            .unwrap_or_default();
        let target = match startup {
            Startup::At(location, password) => Target {
                password,
                ..Target::new(location)
            },
            Startup::Remembered { default } => Target::new(
                memo.last_library
                    .as_deref()
                    .and_then(open::remembered)
                    .unwrap_or(Location::File(default)),
            ),
        };
        let pending = open_in_background(&target, &open_options(&options, &memo), &cc.egui_ctx);
        let data_dir = options.data_dir.clone().unwrap_or_else(default_data_dir);
        let instance = InstanceLock::acquire(&data_dir);
        let mut memo = memo;
        if instance.is_none() {
            // Another Shelfmark remembers the windows; this one opens the main window only.
            memo.windows.clear();
        }
        let (commands, inbox) = Commands::new(&cc.egui_ctx);
        let signals = options
            .handle_signals
            .then(|| instance::forward_signals(commands.clone()).ok())
            .flatten();
        ShelfmarkApp {
            state: State::Opening { target, pending },
            memo,
            options,
            commands,
            inbox: Some(inbox),
            instance,
            _signals: signals,
        }
    }

    /// The app on a library that is already open (for tests and embedding).
    pub fn with_library(
        cc: &eframe::CreationContext<'_>,
        library: Library,
    ) -> std::io::Result<Self> {
        theme::apply(&cc.egui_ctx);
        let services = Services::start(library)?;
        let (commands, inbox) = Commands::new(&cc.egui_ctx);
        let workspace = Workspace::new(
            &cc.egui_ctx,
            services,
            &Memo::default(),
            (commands.clone(), inbox),
        );
        Ok(ShelfmarkApp {
            state: State::Ready(Box::new(workspace)),
            memo: Memo::default(),
            options: AppOptions::default(),
            commands,
            inbox: None,
            instance: None,
            _signals: None,
        })
    }

    /// The app's command queue (what the system's signals and the views send to).
    pub fn commands(&self) -> Commands {
        self.commands.clone()
    }

    /// Whether this is a second Shelfmark on the data directory (it remembers nothing).
    pub fn is_second_instance(&self) -> bool {
        self.instance.is_none()
    }

    /// Whether the app has asked its main window to close (it is quitting).
    pub fn is_closing(&self) -> bool {
        matches!(&self.state, State::Ready(w) if w.is_closing())
    }

    fn opening_ui(&mut self, ui: &mut Ui) {
        let State::Opening { target, pending } = &self.state else {
            return;
        };
        let next = match pending.try_take() {
            Taken::Ready(Ok(services)) => {
                let queue = (
                    self.commands.clone(),
                    self.inbox
                        .take()
                        .unwrap_or_else(|| Commands::new(ui.ctx()).1),
                );
                Some(State::Ready(Box::new(Workspace::new(
                    ui.ctx(),
                    services,
                    &self.memo,
                    queue,
                ))))
            }
            Taken::Ready(Err(e)) => Some(State::Choosing(Box::new(Chooser::new(
                Some(target),
                Some(&e),
            )))),
            Taken::Abandoned => Some(State::Choosing(Box::new(Chooser::new(
                Some(target),
                Some(&OpenFailure::Start(std::io::Error::other(
                    "opening stopped unexpectedly",
                ))),
            )))),
            Taken::Waiting => None,
        };
        if let Some(state) = next {
            self.state = state;
            ui.ctx().request_repaint();
            return;
        }
        let name = target.location.display_name();
        egui::CentralPanel::default().show(ui, |ui| {
            ui.add_space(40.0);
            ui.vertical_centered(|ui| {
                ui.pending_label(&format!("Opening {name}…"));
            });
        });
    }

    fn choosing_ui(&mut self, ui: &mut Ui) {
        let State::Choosing(chooser) = &mut self.state else {
            return;
        };
        if let Some(Choice::Open(target)) = chooser.ui(ui) {
            let pending =
                open_in_background(&target, &open_options(&self.options, &self.memo), ui.ctx());
            self.state = State::Opening { target, pending };
        }
    }
}

/// How libraries open: as asked, with this computer's name as the librarian set it.
fn open_options(options: &AppOptions, memo: &Memo) -> OpenOptions {
    OpenOptions {
        workstation: memo
            .workstation
            .clone()
            .unwrap_or_else(|| options.open.workstation.clone()),
        // A shared library keeps working offline on this computer's replica.
        replica_dir: Some(options.data_dir.clone().unwrap_or_else(default_data_dir)),
        ..options.open.clone()
    }
}

/// The window's title, as the title bar and screen readers show it.
const TITLE: &str = "Shelfmark";

impl eframe::App for ShelfmarkApp {
    fn ui(&mut self, ui: &mut Ui, _frame: &mut eframe::Frame) {
        name_window(ui.ctx(), TITLE);
        // Before a library is open, the queue is read here: only a stop can be asked.
        if let Some(inbox) = &self.inbox
            && inbox
                .try_iter()
                .any(|c| matches!(c, AppCommand::Terminate | AppCommand::Quit))
        {
            ui.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        match &mut self.state {
            State::Opening { .. } => self.opening_ui(ui),
            State::Choosing { .. } => self.choosing_ui(ui),
            State::Ready(workspace) => {
                let next = match workspace.ui(ui) {
                    workspace::Next::Stay => None,
                    workspace::Next::SwitchLibrary => {
                        let target = Target::new(workspace.services().library.location());
                        Some(State::Choosing(Box::new(Chooser::new(Some(&target), None))))
                    }
                    workspace::Next::Open(address, password) => {
                        let target = Target {
                            password,
                            ..Target::new(Location::Server(address))
                        };
                        let pending = open_in_background(
                            &target,
                            &open_options(&self.options, &workspace.memo()),
                            ui.ctx(),
                        );
                        Some(State::Opening { target, pending })
                    }
                };
                if let Some(next) = next {
                    self.memo = workspace.memo();
                    let old = std::mem::replace(&mut self.state, next);
                    // Closing a library joins its threads: never on the UI thread.
                    if let Ok(closer) = Worker::spawn("shelfmark-close-library", move |_| drop(old))
                    {
                        closer.detach();
                    }
                }
            }
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.instance.is_none() {
            return; // a second instance writes nothing the first one would read back
        }
        if let State::Ready(w) = &self.state {
            self.memo = w.memo();
        }
        eframe::set_value(storage, MEMO_KEY, &self.memo);
    }
}

/// Gives the window's root accessibility node its title, so a screen reader announces the
/// window by name (egui's root node has no label of its own).
pub(crate) fn name_window(ctx: &egui::Context, title: &str) {
    ctx.accesskit_node_builder(egui::accesskit_root_id(), |node| {
        node.set_label(title);
    });
}

/// Where this computer's Shelfmark keeps what is its own, by default.
pub fn default_data_dir() -> PathBuf {
    default_library_path()
        .parent()
        .map_or_else(|| PathBuf::from("."), std::path::Path::to_path_buf)
}

/// Opens the main window and runs the app until it is closed.
pub fn run(startup: Startup, options: AppOptions) -> Result<(), eframe::Error> {
    let native = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title(TITLE)
            .with_app_id("shelfmark")
            .with_inner_size([1200.0, 760.0])
            .with_min_inner_size([800.0, 500.0]),
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        TITLE,
        native,
        Box::new(move |cc| Ok(Box::new(ShelfmarkApp::new(cc, startup, options)))),
    )
}
