//! "Move this library to a server…": a library file outgrew one computer. Every book, copy,
//! collection and placement (the Trash too) is copied into an empty database on a PostgreSQL
//! server, checked row for row before it is committed; the file stays as it was. Then every
//! computer opens the shared library.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use egui::Ui;

use super::server_form::ServerForm;
use super::widgets::UiExt;
use crate::db::{CopyCounts, ServerAddress, chain};
use crate::model::count;
use crate::tasks::{Pending, Port, Taken, run_once};
use crate::transfer::{self, TransferError};

enum Stage {
    Form {
        problem: Option<String>,
    },
    Moving {
        address: ServerAddress,
        password: Option<String>,
        rx: Pending<Result<CopyCounts, TransferError>>,
        rows: Arc<AtomicU64>,
        started: Instant,
    },
    Done {
        address: ServerAddress,
        password: Option<String>,
        counts: CopyCounts,
        seconds: f64,
    },
}

/// What the librarian asked for when the move was done.
#[derive(Debug)]
pub struct OpenShared {
    pub address: ServerAddress,
    pub password: Option<String>,
}

/// The dialog of one library window.
pub struct MoveDialog {
    port: Port,
    open: bool,
    form: ServerForm,
    stage: Stage,
}

impl std::fmt::Debug for MoveDialog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MoveDialog")
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

impl MoveDialog {
    pub fn new(port: Port) -> Self {
        MoveDialog {
            port,
            open: false,
            form: ServerForm::new(),
            stage: Stage::Form { problem: None },
        }
    }

    pub fn open(&mut self) {
        self.open = true;
        if !matches!(self.stage, Stage::Moving { .. }) {
            self.stage = Stage::Form { problem: None };
        }
    }

    pub fn is_moving(&self) -> bool {
        matches!(self.stage, Stage::Moving { .. })
    }

    /// Draws the dialog while it is open; the shared library to open, once asked.
    pub fn show(&mut self, ctx: &egui::Context) -> Option<OpenShared> {
        self.poll();
        if !self.open {
            return None;
        }
        let mut answer = None;
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("move-to-server")).show(ctx, |ui| {
            ui.set_width(560.0);
            ui.heading("Move this library to a server");
            ui.label(
                "Every book, copy, collection and placement, the Trash too, is copied into an empty database on a PostgreSQL server and checked row for row. This file stays as it is. Then every computer opens the shared library.",
            );
            ui.add_space(8.0);
            match &mut self.stage {
                Stage::Form { problem } => {
                    let problem = problem.clone();
                    (answer, close) = (None, self.form_ui(ui, problem.as_deref()));
                }
                Stage::Moving { rows, started, .. } => {
                    ui.pending_label(&format!(
                        "Copying… {} rows so far ({} s)",
                        crate::model::number(rows.load(Ordering::Relaxed)),
                        started.elapsed().as_secs()
                    ));
                    ctx.request_repaint_after(Duration::from_millis(250));
                }
                Stage::Done {
                    address,
                    password,
                    counts,
                    seconds,
                } => {
                    ui.message(
                        super::theme::Tone::Success,
                        &format!(
                        "Moved to {} in {seconds:.1} s, checked row for row: {}, {}, {}, {}. This file is unchanged.",
                        address.display_name(),
                        count(counts[0] as usize, "book", "books"),
                        count(counts[1] as usize, "copy", "copies"),
                        count(counts[2] as usize, "collection", "collections"),
                        count(counts[3] as usize, "placement", "placements"),
                    ),
                    );
                    ui.horizontal(|ui| {
                        if ui.button("Open the shared library").clicked() {
                            answer = Some(OpenShared {
                                address: address.clone(),
                                password: password.clone(),
                            });
                            close = true;
                        }
                        if ui.button("Close").clicked() {
                            close = true;
                        }
                    });
                }
            }
        });
        let busy = self.is_moving();
        if (close || modal.should_close()) && !busy {
            self.open = false;
        }
        answer
    }

    /// The server fields; returns true if Cancel was clicked.
    fn form_ui(&mut self, ui: &mut Ui, problem: Option<&str>) -> bool {
        self.form.ui(ui, "move-server-form", None);
        if let Some(p) = problem {
            ui.error_label(p);
        }
        let mut cancel = false;
        ui.horizontal(|ui| {
            if ui.button("Move").clicked() {
                match self.form.address() {
                    Ok(address) => self.start(address),
                    Err(e) => self.stage = Stage::Form { problem: Some(e) },
                }
            }
            cancel = ui.button("Cancel").clicked();
        });
        cancel
    }

    fn start(&mut self, address: ServerAddress) {
        let rows = Arc::new(AtomicU64::new(0));
        let library = self.port.services.library.clone();
        let password = self.form.password();
        let (a, p, r) = (address.clone(), password.clone(), Arc::clone(&rows));
        let rx = run_once(
            "shelfmark-move",
            Some(self.port.waker()),
            move || {
                let mut before = 0;
                let mut table = "";
                transfer::move_to_server(&library, &a, p.as_deref(), &mut |progress| {
                    if progress.table != table {
                        before = r.load(Ordering::Relaxed);
                        table = progress.table;
                    }
                    r.store(before + progress.rows, Ordering::Relaxed);
                })
            },
            |e| Err(TransferError::Thread(e)),
        );
        self.stage = Stage::Moving {
            address,
            password,
            rx,
            rows,
            started: Instant::now(),
        };
    }

    fn poll(&mut self) {
        let Stage::Moving {
            address,
            password,
            rx,
            started,
            ..
        } = &mut self.stage
        else {
            return;
        };
        let next = match rx.try_take() {
            Taken::Waiting => return,
            Taken::Ready(Ok(counts)) => Stage::Done {
                address: address.clone(),
                password: password.take(),
                counts,
                seconds: started.elapsed().as_secs_f64(),
            },
            Taken::Ready(Err(e)) => Stage::Form {
                problem: Some(format!("Not moved: {}.", chain(&e))),
            },
            Taken::Abandoned => Stage::Form {
                problem: Some("Not moved: the copy stopped unexpectedly.".to_owned()),
            },
        };
        self.stage = next;
    }
}
