//! Opening a library: in the background, and the "Open a library" screen shown when opening
//! failed or the librarian wants another one — a file on this computer, or a shared library on
//! a PostgreSQL server. What went wrong is said where it can be put right: a password that was
//! not accepted next to the password, an empty database with the offer to set it up, a server
//! that cannot be reached with Retry (and the file choice right below it).

use std::sync::Arc;

use egui::Ui;

use crate::db::{
    Library, Location, OpenError, OpenOptions, ServerAddress, chain, default_library_path,
};
use crate::tasks::{Pending, Services, run_once};
use crate::ui::server_form::ServerForm;
use crate::ui::widgets::UiExt;

/// Why a library could not be opened in the window.
#[derive(Debug, thiserror::Error)]
pub(super) enum OpenFailure {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error("cannot start background work")]
    Start(#[source] std::io::Error),
}

/// A library being opened, and what opening it needs.
#[derive(Clone, Debug)]
pub(super) struct Target {
    pub location: Location,
    /// Typed in the window; kept in memory only, never remembered.
    pub password: Option<String>,
    /// Set up an empty shared database (the librarian said so).
    pub set_up: bool,
}

impl Target {
    pub fn new(location: Location) -> Self {
        Target {
            location,
            password: None,
            set_up: false,
        }
    }
}

/// Opens a library and starts its services, off the UI thread.
pub(super) fn open_in_background(
    target: &Target,
    options: &OpenOptions,
    ctx: &egui::Context,
) -> Pending<Result<Arc<Services>, OpenFailure>> {
    let waker = crate::ui::repaint(ctx, egui::ViewportId::ROOT);
    let target = target.clone();
    let options = OpenOptions {
        set_up: target.set_up,
        ..options.clone()
    };
    run_once(
        "shelfmark-open",
        Some(waker),
        move || {
            // The default library's folder is made on first use.
            if let Location::File(path) = &target.location
                && *path == default_library_path()
                && let Some(parent) = path.parent()
            {
                let _ = std::fs::create_dir_all(parent);
            }
            let library = Library::open_at(&target.location, target.password.as_deref(), &options)?;
            Services::start(library).map_err(OpenFailure::Start)
        },
        |e| Err(OpenFailure::Start(e)),
    )
}

/// What went wrong with the last try, as the screen shows it.
#[derive(Clone, Debug)]
enum Trouble {
    /// A file could not be opened (the reason in words).
    File(String),
    /// The server cannot be reached: Retry.
    Unreachable(String),
    /// A password is needed, or the one given was not accepted.
    Password(String),
    /// The database is empty: offer to set it up.
    NotSetUp(String),
    /// Anything else the server said.
    Server(String),
}

/// The "Open a library" screen.
#[derive(Debug)]
pub(super) struct Chooser {
    file: String,
    server: ServerForm,
    /// The address as the server form last tried it (for Retry and Set up).
    tried: Option<ServerAddress>,
    trouble: Option<Trouble>,
}

/// What the librarian chose.
pub(super) enum Choice {
    Open(Target),
}

impl Chooser {
    /// The screen after `target` failed to open with `failure` (or, with none, on request).
    pub fn new(target: Option<&Target>, failure: Option<&OpenFailure>) -> Self {
        let mut c = Chooser {
            file: String::new(),
            server: ServerForm::new(),
            tried: None,
            trouble: None,
        };
        match target.map(|t| &t.location) {
            Some(Location::File(path)) => {
                c.file = path.display().to_string();
                c.trouble = failure.map(|f| Trouble::File(chain(f)));
            }
            Some(Location::Server(a)) => {
                c.server = ServerForm::of(a);
                c.tried = Some(a.clone());
                c.trouble = failure.map(trouble_of);
            }
            None => {}
        }
        c
    }

    /// Draws the screen; the librarian's choice, if they made one.
    pub fn ui(&mut self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        egui::CentralPanel::default().show(ui, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                ui.add_space(24.0);
                ui.heading("Open a library");
                ui.add_space(12.0);
                choice = self.file_ui(ui).or(choice.take());
                ui.add_space(20.0);
                ui.separator();
                ui.add_space(12.0);
                if let Some(c) = self.server_ui(ui) {
                    choice = Some(c);
                }
            });
        });
        choice
    }

    fn file_ui(&mut self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        ui.strong("A library file on this computer");
        ui.label("Type its path; a new library is made if there is no file there.");
        if let Some(Trouble::File(e)) = &self.trouble {
            ui.error_label(&format!("Cannot open the library: {e}"));
        }
        let r = ui.labelled_text("Library file", &mut self.file, 480.0);
        let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        ui.horizontal(|ui| {
            if ui.button("Open").clicked() || enter {
                // A postgres:// address typed here opens that server.
                choice = match Location::parse(self.file.trim()) {
                    Ok((location, password)) => Some(Choice::Open(Target {
                        location,
                        password,
                        set_up: false,
                    })),
                    Err(e) => {
                        self.trouble = Some(Trouble::File(e.to_string()));
                        None
                    }
                };
            }
            if ui.button("Use the default library").clicked() {
                choice = Some(Choice::Open(Target::new(Location::File(
                    default_library_path(),
                ))));
            }
        });
        choice
    }

    fn server_ui(&mut self, ui: &mut Ui) -> Option<Choice> {
        let mut choice = None;
        ui.strong("A shared library on a server");
        ui.label(
            "Several computers can work on one library kept by a PostgreSQL server. The password is never stored.",
        );
        match &self.trouble {
            Some(Trouble::Unreachable(e)) => {
                ui.error_label(&format!("Cannot reach the server: {e}"));
                if ui.button("Retry").clicked()
                    && let Some(a) = &self.tried
                {
                    choice = Some(self.target(a.clone(), false));
                }
                ui.weak("Or open a library file on this computer, above.");
            }
            Some(Trouble::Server(e)) => {
                ui.error_label(e);
            }
            Some(Trouble::NotSetUp(name)) => {
                ui.warning_label(&format!(
                    "{name} is an empty database. Set it up as a new Shelfmark library? Every computer that opens it then works on the same library."
                ));
                ui.horizontal(|ui| {
                    if ui.button("Set up this database").clicked()
                        && let Some(a) = &self.tried
                    {
                        choice = Some(self.target(a.clone(), true));
                    }
                    if ui.button("Cancel").clicked() {
                        self.trouble = None;
                    }
                });
            }
            Some(Trouble::File(_) | Trouble::Password(_)) | None => {}
        }
        let password = match &self.trouble {
            Some(Trouble::Password(e)) => Some(e.as_str()),
            _ => None,
        };
        self.server.ui(ui, "open-server-form", password);
        if ui.button("Open the shared library").clicked() {
            match self.server.address() {
                Ok(a) => choice = Some(self.target(a, false)),
                Err(e) => self.trouble = Some(Trouble::Server(e)),
            }
        }
        choice
    }

    fn target(&self, address: ServerAddress, set_up: bool) -> Choice {
        Choice::Open(Target {
            location: Location::Server(address),
            password: self.server.password(),
            set_up,
        })
    }
}

fn trouble_of(failure: &OpenFailure) -> Trouble {
    match failure {
        OpenFailure::Open(OpenError::Unreachable { detail, .. }) => {
            Trouble::Unreachable(detail.clone())
        }
        OpenFailure::Open(OpenError::PasswordNeeded { user, .. }) => {
            Trouble::Password(format!("The server needs the password of {user}."))
        }
        OpenFailure::Open(OpenError::Refused { reason, .. }) if reason.contains("password") => {
            Trouble::Password(format!("Not opened: {reason}."))
        }
        OpenFailure::Open(OpenError::NotSetUp { server }) => Trouble::NotSetUp(server.clone()),
        other => Trouble::Server(format!("Cannot open the library: {}", chain(other))),
    }
}

/// Where a library is remembered: its location, read back from what [`Location`] wrote.
pub(super) fn remembered(text: &str) -> Option<Location> {
    let (location, _) = Location::parse(text).ok()?;
    match &location {
        Location::File(path) if !path.exists() => None,
        _ => Some(location),
    }
}
