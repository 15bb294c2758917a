//! The app's command queue (in the manner of egui_demo_app's `Command` and rerun's command
//! sender): a view that wants something of the app as a whole — open a window, show a
//! collection, quit — sends an [`AppCommand`]; the app applies every queued command once per
//! frame, in one place. The sender is `Send + Sync`, so deferred viewports (which draw from a
//! callback) use it too.

use std::sync::mpsc;

use egui::ViewportId;

use crate::model::CollectionId;

/// What a view asks of the app.
#[must_use]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppCommand {
    /// Show this collection in the main window's editor.
    ShowCollection(CollectionId),
    /// Open this collection in a native window of its own.
    OpenWindow(CollectionId),
    /// Close the editor window shown in this viewport.
    CloseWindow(ViewportId),
    /// Show the catalog, with the cursor in its search field if asked.
    ShowCatalog { focus_search: bool },
    /// Show the catalog with a form for a new book.
    NewBook,
    /// Open the side panel's form for a new collection.
    NewCollection,
    /// Load the sample library into an empty library.
    LoadSample,
    /// Close this library and choose another (only with nothing in flight).
    SwitchLibrary,
    /// Quit: at once with nothing in flight, otherwise after the saves are written.
    Quit,
    /// Quit now; saves not yet written are dropped (everything saved stays saved).
    QuitDroppingSaves,
    /// The system asks the program to stop (SIGTERM, SIGINT): quit at once with nothing in
    /// flight, otherwise after the saves, waiting at most a few seconds.
    Terminate,
}

/// Sends commands to the app and wakes its main window to apply them. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Commands {
    tx: mpsc::Sender<AppCommand>,
    ctx: egui::Context,
}

impl Commands {
    /// A queue whose commands wake `ctx`'s main window.
    pub fn new(ctx: &egui::Context) -> (Commands, mpsc::Receiver<AppCommand>) {
        let (tx, rx) = mpsc::channel();
        (
            Commands {
                tx,
                ctx: ctx.clone(),
            },
            rx,
        )
    }

    pub fn send(&self, command: AppCommand) {
        if self.tx.send(command).is_ok() {
            self.ctx.request_repaint_of(ViewportId::ROOT);
        }
    }
}
