//! Import…, Export… and Back up library… in the window: choose a file, then the work runs in the
//! background with its progress shown (an import with rows/s and Cancel), and the window stays
//! responsive. An import with bad lines lists every one of them first and imports nothing unless
//! asked to skip them; cancelling leaves the library as it was.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use egui::{RichText, Ui};

use super::file_dialog::{Choice, FileDialog, Mode, start_folder};
use super::requests::{Requests, SaveState};
use super::sheet_map::{Decision, SheetMap};
use super::theme::Tone;
use super::widgets::UiExt;
use crate::db::{CheckReport, chain};
use crate::model::{ImportJob, Op, Outcome, Problem, WAITING_TEXT};
use crate::tasks::{Event, Pending, Port, RequestId, run_once};
use crate::transfer::{self, Prepared, Reading, TransferError};

/// What a transfer running in the background answers.
type Work<T> = Pending<Result<T, TransferError>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Import,
    Export,
    Backup,
}

enum Task {
    Reading {
        file: PathBuf,
        rx: Work<Reading>,
    },
    /// A spreadsheet whose encoding or columns the librarian is choosing.
    Mapping(Box<SheetMap>),
    Review {
        file: PathBuf,
        prepared: Prepared,
    },
    Importing {
        file: PathBuf,
        job: Arc<ImportJob>,
        /// What the file was taken to be, and the bad records a MARC file turned out to have.
        kind: String,
        found: Option<transfer::records::Found>,
        request: RequestId,
        started: Instant,
        waiting: bool,
    },
    Exporting {
        file: PathBuf,
        rx: Work<(usize, &'static str)>,
        started: Instant,
    },
    BackingUp {
        file: PathBuf,
        rx: Work<CheckReport>,
        started: Instant,
    },
}

/// The import, export and backup tasks of one library window.
pub struct TransferPanel {
    port: Port,
    /// Where the last file was chosen: the next chooser starts there.
    last_folder: Option<PathBuf>,
    /// Whether the last export was for Excel (offered again the same way).
    excel: bool,
    requests: Requests<()>,
    dialog: Option<(Kind, FileDialog)>,
    task: Option<Task>,
    result: Option<(Tone, String)>,
}

impl std::fmt::Debug for TransferPanel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransferPanel").finish_non_exhaustive()
    }
}

/// Runs `work` on a named thread of its own; its answer repaints the window.
fn spawn<T: Send + 'static>(
    name: &str,
    port: &Port,
    work: impl FnOnce() -> Result<T, TransferError> + Send + 'static,
) -> Work<T> {
    run_once(name, Some(port.waker()), work, |e| {
        Err(TransferError::Thread(e))
    })
}

impl TransferPanel {
    pub fn new(port: Port) -> Self {
        TransferPanel {
            port,
            last_folder: None,
            excel: false,
            requests: Requests::new(),
            dialog: None,
            task: None,
            result: None,
        }
    }

    /// The folder a chooser starts in: the last one used, else the home folder.
    fn start_folder(&self) -> PathBuf {
        self.last_folder
            .clone()
            .filter(|f| f.is_dir())
            .unwrap_or_else(start_folder)
    }

    /// The folder of the last file chosen (remembered between runs).
    pub fn last_folder(&self) -> Option<&std::path::Path> {
        self.last_folder.as_deref()
    }

    /// Starts the choosers in `folder` (remembered from an earlier run).
    pub fn set_last_folder(&mut self, folder: Option<PathBuf>) {
        self.last_folder = folder;
    }

    /// Whether an import, export or backup is under way.
    pub fn busy(&self) -> bool {
        self.task.is_some()
    }

    /// Whether there is a task or a result to show in the bar.
    pub fn visible(&self) -> bool {
        self.task.is_some() || self.result.is_some()
    }

    /// The file chooser, when one is open (a modal window of its own).
    pub fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some((kind, dialog)) = &mut self.dialog
            && let Some(choice) = dialog.show(ctx)
        {
            let kind = *kind;
            let excel = dialog.option_checked();
            self.dialog = None;
            if let Choice::Picked(file) = choice {
                // The next chooser starts where this one ended.
                self.last_folder = file.parent().map(std::path::Path::to_path_buf);
                self.excel = excel;
                self.begin(kind, file);
            }
        }
    }

    pub fn start_import(&mut self) {
        self.dialog = Some((
            Kind::Import,
            FileDialog::new(
                "Import a file (MARC 21 or a spreadsheet)",
                "Import",
                Mode::Open,
                "csv,tsv,txt,mrc,dat,marc,xml",
                self.start_folder(),
                "",
                self.port.waker(),
            ),
        ));
    }

    pub fn start_export(&mut self) {
        self.dialog = Some((
            Kind::Export,
            FileDialog::new(
                "Export the library (CSV; or MARC 21: name it .mrc, or .xml for MARCXML)",
                "Export",
                Mode::Save,
                "csv,mrc,xml",
                self.start_folder(),
                "shelfmark-export.csv",
                self.port.waker(),
            )
            .with_option(
                "For Excel (UTF-8 with a byte-order mark, so Excel reads “Gödel” right)",
                self.excel,
            ),
        ));
    }

    pub fn start_backup(&mut self) {
        let day = jiff::Zoned::now().strftime("%Y-%m-%d").to_string();
        self.dialog = Some((
            Kind::Backup,
            FileDialog::new(
                "Back up the library",
                "Back up",
                Mode::Save,
                "sqlite3",
                self.start_folder(),
                &format!("shelfmark-backup-{day}.sqlite3"),
                self.port.waker(),
            ),
        ));
    }

    fn begin(&mut self, kind: Kind, file: PathBuf) {
        self.result = None;
        self.task = Some(match kind {
            Kind::Import => {
                let f = file.clone();
                Task::Reading {
                    file,
                    rx: spawn("shelfmark-read-import", &self.port, move || {
                        transfer::read_for_import(&f)
                    }),
                }
            }
            Kind::Export => {
                let (library, f, excel) = (self.port.library().clone(), file.clone(), self.excel);
                Task::Exporting {
                    file,
                    rx: spawn("shelfmark-export", &self.port, move || {
                        let mut reads = library.reads().map_err(TransferError::Library)?;
                        let ext = f
                            .extension()
                            .map(|e| e.to_string_lossy().to_ascii_lowercase());
                        let marc = match ext.as_deref() {
                            Some("mrc" | "marc" | "dat") => {
                                Some(transfer::records::MarcFormat::Iso2709)
                            }
                            Some("xml") => Some(transfer::records::MarcFormat::MarcXml),
                            _ => None,
                        };
                        match marc {
                            Some(format) => transfer::export_marc(
                                &mut *reads,
                                None,
                                &f,
                                format,
                                transfer::marc::HoldingTag::Koha952,
                            )
                            .map(|n| (n, "records")),
                            None => {
                                transfer::export(&mut *reads, None, &f, excel).map(|n| (n, "rows"))
                            }
                        }
                    }),
                    started: Instant::now(),
                }
            }
            Kind::Backup => {
                let (library, f) = (self.port.library().clone(), file.clone());
                Task::BackingUp {
                    file,
                    rx: spawn("shelfmark-backup", &self.port, move || {
                        transfer::backup(&library, &f)
                    }),
                    started: Instant::now(),
                }
            }
        });
    }

    fn submit_import(&mut self, file: PathBuf, prepared: Prepared) {
        let job = prepared.job;
        let op = Op::Import(Arc::clone(&job));
        match self.requests.submit(&self.port, op, ()) {
            SaveState::Saving { request, .. } => {
                self.task = Some(Task::Importing {
                    file,
                    job,
                    kind: prepared.kind,
                    found: prepared.found,
                    request,
                    started: Instant::now(),
                    waiting: false,
                });
            }
            state => {
                self.task = None;
                let why = state
                    .problem()
                    .map(|p| p.general_message(None, self.port.tz()))
                    .unwrap_or_default();
                self.result = Some((Tone::Error, why));
            }
        }
    }

    /// Takes in background results; returns nothing to draw by itself.
    fn poll(&mut self) {
        let answers = self.requests.poll(&self.port);
        let mut next: Option<Option<Task>> = None;
        match &mut self.task {
            Some(Task::Reading { file, rx }) => {
                if let Some(result) = rx.poll() {
                    next = Some(match result {
                        Ok(Reading::Ready(prepared)) if prepared.errors.is_empty() => {
                            let file = file.clone();
                            self.submit_import(file, prepared);
                            return;
                        }
                        Ok(Reading::Ready(prepared)) => Some(Task::Review {
                            file: file.clone(),
                            prepared,
                        }),
                        Ok(Reading::Choose(draft)) => {
                            Some(Task::Mapping(Box::new(SheetMap::new(file.clone(), draft))))
                        }
                        Err(e) => {
                            self.result =
                                Some((Tone::Error, format!("Cannot import: {}", chain(&e))));
                            None
                        }
                    });
                }
            }
            Some(Task::Importing {
                file,
                job,
                kind,
                found,
                request,
                started,
                waiting,
            }) => {
                for answer in answers.into_iter().filter(|a| a.request == *request) {
                    match answer.event {
                        Event::Waiting { .. } => *waiting = true,
                        Event::Done(Outcome::Imported(s)) => {
                            let secs = started.elapsed().as_secs_f64();
                            let skipped = found.as_ref().map_or(0, |f| f.lock().len());
                            let skipped = if skipped > 0 {
                                format!(
                                    " {} skipped.",
                                    crate::model::count(skipped, "bad record", "bad records")
                                )
                            } else {
                                String::new()
                            };
                            self.result = Some((
                                Tone::Success,
                                format!(
                                    "Imported {} from {} in {secs:.1} s: {}.{skipped}",
                                    crate::model::count(s.rows, "row", "rows"),
                                    file.display(),
                                    s.describe()
                                ),
                            ));
                            next = Some(None);
                        }
                        Event::Done(_) if !job.is_cancelled() && found_any(found.as_ref()) => {
                            // A MARC file with bad records: nothing was added; they are listed,
                            // with the choice to import the good ones.
                            let errors =
                                found.as_ref().map(|f| f.lock().clone()).unwrap_or_default();
                            let choice = transfer::ImportChoice {
                                skip_bad_records: true,
                                ..transfer::ImportChoice::default()
                            };
                            next = Some(match transfer::prepare_import(file, &choice) {
                                Ok(mut prepared) => {
                                    prepared.errors = errors;
                                    prepared.kind.clone_from(kind);
                                    Some(Task::Review {
                                        file: file.clone(),
                                        prepared,
                                    })
                                }
                                Err(e) => {
                                    self.result = Some((
                                        Tone::Error,
                                        format!("Cannot import: {}", chain(&e)),
                                    ));
                                    None
                                }
                            });
                        }
                        Event::Done(other) => {
                            let why = Problem::describe(other, self.port.tz());
                            let cancelled = job.is_cancelled();
                            self.result = Some((
                                if cancelled { Tone::Info } else { Tone::Error },
                                if cancelled {
                                    "Import cancelled; nothing was added.".to_owned()
                                } else {
                                    format!("Nothing was imported: {why}")
                                },
                            ));
                            next = Some(None);
                        }
                    }
                }
            }
            Some(Task::Exporting { file, rx, started }) => {
                if let Some(result) = rx.poll() {
                    self.result = Some(match result {
                        Ok((n, what)) => (
                            Tone::Success,
                            format!(
                                "Exported {n} {what} to {} in {:.1} s.",
                                file.display(),
                                started.elapsed().as_secs_f64()
                            ),
                        ),
                        Err(e) => (Tone::Error, format!("Export failed: {}", chain(&e))),
                    });
                    next = Some(None);
                }
            }
            Some(Task::BackingUp { file, rx, started }) => {
                if let Some(result) = rx.poll() {
                    self.result = Some(match result {
                        Ok(_) => (
                            Tone::Success,
                            format!(
                                "Backed up to {} in {:.1} s; the copy passed its check. To restore, open it with Switch library… (or --db).",
                                file.display(),
                                started.elapsed().as_secs_f64()
                            ),
                        ),
                        Err(e) => (Tone::Error, format!("Backup failed: {}", chain(&e))),
                    });
                    next = Some(None);
                }
            }
            Some(Task::Review { .. } | Task::Mapping(_)) | None => {}
        }
        if let Some(task) = next {
            self.task = task;
        }
    }

    /// Draws the progress bar or the result.
    pub fn ui(&mut self, ui: &mut Ui) {
        self.poll();
        let mut cancel_import = false;
        let mut review: Option<bool> = None;
        match &self.task {
            Some(Task::Reading { file, .. }) => {
                ui.pending_label(&format!("Reading {}…", file.display()));
            }
            Some(Task::Importing {
                file,
                job,
                started,
                waiting,
                ..
            }) => {
                let done = job.done();
                let shown = crate::model::number(done);
                let secs = started.elapsed().as_secs_f64().max(1e-3);
                let rate = done as f64 / secs;
                if job.is_finishing() {
                    // A big import builds some indexes only now: seconds at a million rows,
                    // with nothing left to count and nothing a cancel could still stop.
                    ui.pending_label(&format!(
                        "Importing {}: all {shown} rows are in; building the indexes and saving…",
                        file.display()
                    ));
                } else {
                    ui.horizontal(|ui| {
                        ui.label(format!("Importing {}", file.display()));
                        // A MARC file is read as it is imported: its size in rows is not known yet.
                        let bar = match job.total() {
                            Some(total) => egui::ProgressBar::new(
                                done as f32 / total.max(1) as f32,
                            )
                            .text(format!(
                                "{shown} of {} rows, {} rows/s",
                                crate::model::number(total),
                                crate::model::number(rate.round())
                            )),
                            None => egui::ProgressBar::new(0.0).animate(true).text(format!(
                                "{shown} rows, {} rows/s",
                                crate::model::number(rate.round())
                            )),
                        };
                        ui.add(bar.desired_width(260.0));
                        if ui.button("Cancel import").clicked() {
                            cancel_import = true;
                        }
                    });
                }
                if *waiting {
                    ui.warning_label(WAITING_TEXT);
                }
                ui.ctx().request_repaint_after(Duration::from_millis(100));
            }
            Some(Task::Exporting { file, .. }) => {
                ui.pending_label(&format!("Exporting to {}…", file.display()));
            }
            Some(Task::BackingUp { file, .. }) => {
                ui.pending_label(&format!("Backing up to {}…", file.display()));
            }
            Some(Task::Review { file, prepared }) => {
                review = Self::review_ui(ui, file, prepared);
            }
            Some(Task::Mapping(map)) => {
                ui.pending_label(&format!("Choosing the columns of {}…", map.file.display()));
            }
            None => {}
        }
        if let Some(Task::Mapping(map)) = &mut self.task
            && let Some(decision) = map.show(ui.ctx())
        {
            let file = map.file.clone();
            match decision {
                Decision::Import(choice) => {
                    let bytes = map.bytes();
                    let f = file.clone();
                    self.task = Some(Task::Reading {
                        file,
                        rx: spawn("shelfmark-read-import", &self.port, move || {
                            transfer::prepare_sheet(&f, &bytes, &choice).map(Reading::Ready)
                        }),
                    });
                }
                Decision::Cancel => {
                    self.task = None;
                    self.result = Some((
                        Tone::Info,
                        "Import cancelled; nothing was added.".to_owned(),
                    ));
                }
            }
        }
        if cancel_import && let Some(Task::Importing { job, .. }) = &self.task {
            job.cancel();
        }
        match review {
            Some(true) => {
                if let Some(Task::Review { file, prepared }) = self.task.take() {
                    self.submit_import(file, prepared);
                }
            }
            Some(false) => {
                self.task = None;
                self.result = Some((
                    Tone::Info,
                    "Import cancelled; nothing was added.".to_owned(),
                ));
            }
            None => {}
        }
        if let Some((tone, text)) = self.result.clone() {
            ui.horizontal_wrapped(|ui| {
                ui.message(tone, &text);
                if ui.small_button("Dismiss").clicked() {
                    self.result = None;
                }
            });
        }
    }

    /// The bad lines of a file, with the choice to import the good ones or nothing.
    fn review_ui(ui: &Ui, file: &std::path::Path, prepared: &Prepared) -> Option<bool> {
        let mut choice = None;
        let modal = egui::Modal::new(egui::Id::unique("import-review")).show(ui.ctx(), |ui| {
            ui.set_width(640.0);
            let records = prepared.errors.iter().any(|e| e.offset.is_some())
                || prepared.kind.starts_with("MARC");
            let unit = if records { "records" } else { "lines" };
            ui.heading(format!("Some {unit} cannot be imported"));
            ui.label(match prepared.job.total() {
                Some(good) => format!(
                    "{} of {} {unit} of {} ({}) have problems. Nothing has been imported.",
                    prepared.errors.len(),
                    prepared.errors.len() + good,
                    file.display(),
                    prepared.kind,
                ),
                None => format!(
                    "{} {unit} of {} ({}) have problems. Nothing has been imported.",
                    prepared.errors.len(),
                    file.display(),
                    prepared.kind,
                ),
            });
            egui::ScrollArea::vertical()
                .max_height(300.0)
                .auto_shrink([false, true])
                .show(ui, |ui| {
                    egui::Grid::new("bad-lines")
                        .striped(true)
                        .num_columns(3)
                        .show(ui, |ui| {
                            ui.strong(if records { "Record" } else { "Line" });
                            ui.strong("Title");
                            ui.strong("Problem");
                            ui.end_row();
                            for e in &prepared.errors {
                                ui.label(match e.offset {
                                    Some(at) => format!("{} (byte {at})", e.line),
                                    None => e.line.to_string(),
                                });
                                ui.label(&e.title);
                                ui.label(RichText::new(&e.message));
                                ui.end_row();
                            }
                        });
                });
            ui.horizontal(|ui| {
                let n = prepared.job.total();
                if ui
                    .add_enabled(
                        n != Some(0),
                        egui::Button::new(match n {
                            Some(n) => {
                                format!("Import the {} good {unit}", crate::model::number(n))
                            }
                            None => "Import the good records".to_owned(),
                        }),
                    )
                    .clicked()
                {
                    choice = Some(true);
                }
                if ui.button("Import nothing").clicked() {
                    choice = Some(false);
                }
            });
        });
        if modal.should_close() && choice.is_none() {
            choice = Some(false);
        }
        choice
    }
}

/// Whether an import found bad records.
fn found_any(found: Option<&transfer::records::Found>) -> bool {
    found.is_some_and(|f| !f.lock().is_empty())
}
