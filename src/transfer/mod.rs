//! Moving a library's contents in and out: CSV import (through the save executor, all or
//! nothing), CSV export (streamed, written to a temporary file and renamed into place), and
//! backup (the storage's own, safe while others keep saving; checked before it is put in
//! place). Used by the command line and the window alike; never on the UI thread.
//!
//! Every failure is a [`TransferError`] that keeps its cause; it is put in words once, where it
//! is shown (`chain`).

pub mod csv;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use self::csv::{COLUMNS, FileError, LineError, protect};
use crate::db::{
    BackupError, CheckReport, CopyCounts, CopyError, CopyProgress, DbError, ExportError, Library,
    OpenError, OpenOptions, Reads, ServerAddress,
};
use crate::model::{CollectionId, ExportRow, ImportJob, ImportSummary, Op, Outcome, Problem};
use crate::tasks::{EditorId, Event, Mailbox, SaveTasks, SubmitError};

/// Why an import, export or backup did not happen. Nothing is half done.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: FileError,
    },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the library")]
    Library(#[source] DbError),
    #[error("there is no collection named “{0}”")]
    NoCollection(String),
    #[error(transparent)]
    NotQueued(#[from] SubmitError),
    #[error("the save executor stopped before answering")]
    Stopped,
    #[error("cannot start a background thread")]
    Thread(#[source] std::io::Error),
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Copy(#[from] CopyError),
}

/// A file read and checked for import: the rows to apply and the lines that are bad.
#[derive(Debug)]
pub struct Prepared {
    pub job: Arc<ImportJob>,
    pub errors: Vec<LineError>,
}

/// Reads and validates `file`. Fails (nothing to import) if it cannot be read at all.
pub fn prepare_import(file: &Path) -> Result<Prepared, TransferError> {
    let bytes = std::fs::read(file).map_err(|source| TransferError::Read {
        path: file.to_path_buf(),
        source,
    })?;
    let parsed = csv::parse(&bytes).map_err(|source| TransferError::Unreadable {
        path: file.to_path_buf(),
        source,
    })?;
    Ok(Prepared {
        job: Arc::new(ImportJob::new(parsed.rows)),
        errors: parsed.errors,
    })
}

/// How an import ended.
#[derive(Debug)]
pub enum Imported {
    Done(ImportSummary),
    /// Nothing was imported; why, in words.
    Refused(String),
}

/// Applies a prepared import through `tasks` and waits for it (for threads that may wait).
/// `progress` is called about once a second with (rows done, rows).
pub fn run_import(
    tasks: &SaveTasks,
    job: &Arc<ImportJob>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Imported, TransferError> {
    let (mailbox, replies) = Mailbox::new();
    tasks.submit(EditorId(0), Op::Import(Arc::clone(job)), &mailbox)?;
    loop {
        match replies.recv_timeout(Duration::from_secs(1)) {
            Ok(reply) => match reply.event {
                Event::Waiting { .. } => {}
                Event::Done(Outcome::Imported(summary)) => return Ok(Imported::Done(summary)),
                Event::Done(other) => {
                    let text = Problem::describe(other, &jiff::tz::TimeZone::UTC);
                    return Ok(Imported::Refused(text));
                }
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                progress(job.done(), job.rows.len());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(TransferError::Stopped);
            }
        }
    }
}

/// Writes `path` by writing a sibling temporary file and renaming it into place, so a crash
/// never leaves half a file under the real name.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<usize, TransferError>,
) -> Result<usize, TransferError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let failed = |source: std::io::Error| TransferError::Write {
        path: path.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".shelfmark-")
        .suffix(".partial")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(failed)?;
    let n = {
        let mut out = std::io::BufWriter::new(tmp.as_file());
        let n = write(&mut out)?;
        out.flush().map_err(failed)?;
        n
    };
    tmp.as_file().sync_all().map_err(failed)?;
    tmp.persist(path).map_err(|e| failed(e.error))?;
    Ok(n)
}

/// Files we write are like any other file the user saves (rw-r--r-- before the umask), not
/// private like a temporary file.
fn readable_by_all() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::Permissions::from_mode(0o644)
}

/// Exports live books, copies and placements (of one collection, if given) to `path` in the
/// import layout. `excel`: the file starts with a byte-order mark, without which Excel reads
/// UTF-8 as its local code page ("GÃ¶del"). Returns the number of rows written.
pub fn export(
    reads: &mut dyn Reads,
    collection: Option<CollectionId>,
    path: &Path,
    excel: bool,
) -> Result<usize, TransferError> {
    let to_io = |e: ::csv::Error| std::io::Error::other(e);
    write_atomically(path, |out| {
        if excel {
            out.write_all("\u{feff}".as_bytes())
                .map_err(|source| TransferError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        let mut w = ::csv::Writer::from_writer(out);
        let wrote = |e: std::io::Error| TransferError::Write {
            path: path.to_path_buf(),
            source: e,
        };
        w.write_record(COLUMNS).map_err(|e| wrote(to_io(e)))?;
        let mut cells: Vec<String> = Vec::with_capacity(COLUMNS.len());
        let n = reads
            .export(collection, &mut |row: &ExportRow| {
                cells.clear();
                let text = |s: &str| protect(s);
                let opt = |s: &Option<String>| s.as_deref().map(protect).unwrap_or_default();
                cells.push(text(&row.title));
                cells.push(text(&row.authors));
                cells.push(opt(&row.isbn));
                cells.push(text(&row.publisher));
                cells.push(row.year.map(|y| y.to_string()).unwrap_or_default());
                cells.push(opt(&row.barcode));
                cells.push(opt(&row.collection));
                cells.push(opt(&row.shelf_mark));
                cells.push(opt(&row.note));
                w.write_record(&cells).map_err(to_io)
            })
            .map_err(|e| match e {
                ExportError::Read(e) => TransferError::Library(e),
                ExportError::Write(e) => wrote(e),
            })?;
        w.flush().map_err(wrote)?;
        Ok(n)
    })
}

/// The live collection named `name` (any case).
pub fn collection_by_name(
    reads: &mut dyn Reads,
    name: &str,
) -> Result<CollectionId, TransferError> {
    reads
        .live_collection_by_name(name)
        .map_err(TransferError::Library)?
        .map(|c| c.id)
        .ok_or_else(|| TransferError::NoCollection(name.to_owned()))
}

/// Copies the library to `out` while others may keep saving, checks the copy, and only then
/// puts it in place. Refuses to overwrite an existing file.
pub fn backup(library: &Library, out: &Path) -> Result<CheckReport, TransferError> {
    library.backup(out).map_err(TransferError::Backup)
}

/// Moves a library file into the empty shared library at `address` (set up first if the
/// database is empty), row for row, checked before it commits. The file is left as it was.
pub fn move_to_server(
    library: &Library,
    address: &ServerAddress,
    password: Option<&str>,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CopyCounts, TransferError> {
    let target = Library::open_server(
        address,
        password,
        &OpenOptions {
            set_up: true,
            pool_size: 2,
            workstation: library.workstation().to_string(),
            ..OpenOptions::default()
        },
    )?;
    Ok(library.copy_to(&target, progress)?)
}
