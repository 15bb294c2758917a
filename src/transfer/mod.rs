//! Moving a library's contents in and out: CSV import (through the save executor, all or
//! nothing), CSV export (streamed, written to a temporary file and renamed into place), and
//! backup (the storage's own, safe while others keep saving; checked before it is put in
//! place). Used by the command line and the window alike; never on the UI thread.
//!
//! Every failure is a [`TransferError`] that keeps its cause; it is put in words once, where it
//! is shown (`chain`).

pub mod csv;
pub mod marc;
pub mod records;
pub mod sheets;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use self::csv::{COLUMNS, FileError, LineError, SheetChoice, protected};
use self::records::MarcFormat;
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

/// A file read and checked for import: the rows to apply and the lines (or records) that are
/// bad, and what the file was taken to be ("Goodreads export", "MARC 21 (ISO 2709)").
#[derive(Debug)]
pub struct Prepared {
    pub job: Arc<ImportJob>,
    pub errors: Vec<LineError>,
    pub kind: String,
    /// The bad records of a MARC file, found as the import reads it.
    pub found: Option<records::Found>,
}

/// What the user chose for an import where the file cannot say: for a spreadsheet its
/// encoding, separator and columns; for MARC one collection for every holding (instead of the
/// branch or location each names).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportChoice {
    pub sheet: SheetChoice,
    pub collection: Option<String>,
    /// MARC: import the good records when some are bad (else nothing is imported).
    pub skip_bad_records: bool,
}

/// Reads and validates `file`, MARC 21 or a spreadsheet, told apart by its content. Fails
/// (nothing to import) if it cannot be read at all. A spreadsheet is read and checked here,
/// whole; a MARC file is read only as the import applies it (its bad records are then in
/// [`Prepared::found`], and the import, refused unless `choice.skip_bad_records`, adds
/// nothing).
pub fn prepare_import(file: &Path, choice: &ImportChoice) -> Result<Prepared, TransferError> {
    let failed = |source: std::io::Error| TransferError::Read {
        path: file.to_path_buf(),
        source,
    };
    let mut head = Vec::with_capacity(records::SNIFF_BYTES);
    std::fs::File::open(file)
        .and_then(|f| {
            use std::io::Read as _;
            f.take(records::SNIFF_BYTES as u64).read_to_end(&mut head)
        })
        .map_err(failed)?;
    if let Some(format) = records::sniff(&head) {
        let bad = if choice.skip_bad_records {
            records::BadRecords::Skip
        } else {
            records::BadRecords::Refuse
        };
        let rows = records::MarcRows::new(file, format, choice.collection.as_deref(), bad);
        let found = rows.found();
        return Ok(Prepared {
            job: Arc::new(ImportJob::streamed(Box::new(rows), None)),
            errors: Vec::new(),
            kind: match format {
                marc::Format::Iso2709 => "MARC 21 (ISO 2709)".to_owned(),
                marc::Format::MarcXml => "MARC 21 (MARCXML)".to_owned(),
            },
            found: Some(found),
        });
    }
    let unreadable = |source: FileError| TransferError::Unreadable {
        path: file.to_path_buf(),
        source,
    };
    let sheet = csv::Sheet::open_file(file, &choice.sheet).map_err(unreadable)?;
    sheet_job(sheet).map_err(unreadable)
}

/// An import of a sheet: its rows checked once now (the bad ones listed), and read again from
/// its text (or its file) as they are applied.
fn sheet_job(sheet: csv::Sheet) -> Result<Prepared, FileError> {
    let (good, errors) = sheet.scan()?;
    let kind = sheet_kind(&sheet);
    let rows = csv::SheetRows::new(Arc::new(sheet), &errors);
    Ok(Prepared {
        job: Arc::new(ImportJob::streamed_sheet(Box::new(rows), good)),
        errors,
        kind,
        found: None,
    })
}

/// What the window found reading a file for import: ready to import, or a spreadsheet whose
/// encoding or columns the librarian must choose first.
#[derive(Debug)]
pub enum Reading {
    Ready(Prepared),
    Choose(Box<SheetDraft>),
}

/// A spreadsheet waiting for the librarian's choices, with why.
#[derive(Debug)]
pub struct SheetDraft {
    pub bytes: Arc<Vec<u8>>,
    pub choice: SheetChoice,
    /// Why the file could not be taken as it is, in words.
    pub reason: String,
}

/// Reads `file` for the window: MARC and recognised spreadsheets come back ready; any other
/// spreadsheet (or one not in UTF-8) comes back to choose its encoding and columns.
pub fn read_for_import(file: &Path) -> Result<Reading, TransferError> {
    let failed = |source: std::io::Error| TransferError::Read {
        path: file.to_path_buf(),
        source,
    };
    let bytes = std::fs::read(file).map_err(failed)?;
    if records::sniff(&bytes[..bytes.len().min(records::SNIFF_BYTES)]).is_some() {
        return prepare_import(file, &ImportChoice::default()).map(Reading::Ready);
    }
    let choose = |choice: SheetChoice, reason: String| {
        Ok(Reading::Choose(Box::new(SheetDraft {
            bytes: Arc::new(bytes.clone()),
            choice,
            reason,
        })))
    };
    match csv::Sheet::open(&bytes, &SheetChoice::default()) {
        Err(FileError::Encoding(e)) => {
            let guess = match &e {
                sheets::DecodeError::NotUtf8 { guess, .. } => *guess,
                sheets::DecodeError::Malformed { encoding, .. } => *encoding,
            };
            choose(
                SheetChoice {
                    encoding: Some(guess),
                    ..SheetChoice::default()
                },
                format!("The file is not UTF-8; it looks like {guess}. Check the preview."),
            )
        }
        Err(e) => Err(TransferError::Unreadable {
            path: file.to_path_buf(),
            source: e,
        }),
        Ok(sheet) if sheet.dialect == sheets::Dialect::Unknown => choose(
            SheetChoice::default(),
            "Shelfmark does not know this layout: choose which column is which.".to_owned(),
        ),
        Ok(sheet) => {
            // Read again from the file as the import goes, instead of held.
            drop((sheet, bytes));
            prepare_import(file, &ImportChoice::default()).map(Reading::Ready)
        }
    }
}

/// Reads a spreadsheet already in memory with the librarian's choices.
pub fn prepare_sheet(
    file: &Path,
    bytes: &[u8],
    choice: &SheetChoice,
) -> Result<Prepared, TransferError> {
    let unreadable = |source: FileError| TransferError::Unreadable {
        path: file.to_path_buf(),
        source,
    };
    let sheet = csv::Sheet::open(bytes, choice).map_err(unreadable)?;
    sheet_job(sheet).map_err(unreadable)
}

/// "Goodreads export (CSV, UTF-8)".
pub fn sheet_kind(sheet: &csv::Sheet) -> String {
    let layout = match sheet.dialect {
        sheets::Dialect::Unknown => "spreadsheet".to_owned(),
        sheets::Dialect::Shelfmark => "Shelfmark spreadsheet".to_owned(),
        d => format!("{} export", d.label()),
    };
    format!("{layout} ({}, {})", sheet.separator, sheet.encoding)
}

/// How an import ended.
#[derive(Debug)]
pub enum Imported {
    Done(ImportSummary),
    /// Nothing was imported; why, in words.
    Refused(String),
}

/// Applies a prepared import through `tasks` and waits for it (for threads that may wait).
/// `progress` is called about once a second with (rows done, rows if known).
pub fn run_import(
    tasks: &SaveTasks,
    job: &Arc<ImportJob>,
    mut progress: impl FnMut(usize, Option<usize>),
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
                progress(job.done(), job.total());
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
        let mut year = String::new();
        let n = reads
            .export(collection, &mut |row: &ExportRow| {
                use std::fmt::Write as _;
                year.clear();
                if let Some(y) = row.year {
                    let _ = write!(year, "{y}");
                }

                let cells = [
                    protected(&row.title),
                    protected(&row.authors),
                    opt(row.isbn.as_deref()),
                    protected(&row.publisher),
                    year.as_str().into(),
                    opt(row.barcode.as_deref()),
                    opt(row.collection.as_deref()),
                    opt(row.shelf_mark.as_deref()),
                    opt(row.note.as_deref()),
                ];
                w.write_record(cells.iter().map(|c| c.as_bytes()))
                    .map_err(to_io)
            })
            .map_err(|e| match e {
                ExportError::Read(e) => TransferError::Library(e),
                ExportError::Write(e) => wrote(e),
            })?;
        w.flush().map_err(wrote)?;
        Ok(n)
    })
}

/// An optional cell as written (empty for none).
fn opt(cell: Option<&str>) -> std::borrow::Cow<'_, str> {
    cell.map_or("".into(), protected)
}

/// Exports every live book as a MARC 21 record (its source record merged with Shelfmark's
/// fields, its copies as `tag` holdings), or only the books with copies in `collection` (and
/// only those copies). Returns the number of records written.
pub fn export_marc(
    reads: &mut dyn Reads,
    collection: Option<&str>,
    path: &Path,
    format: MarcFormat,
    tag: marc::HoldingTag,
) -> Result<usize, TransferError> {
    let wrote = |source: std::io::Error| TransferError::Write {
        path: path.to_path_buf(),
        source,
    };
    write_atomically(path, |out| {
        let mut w = records::RecordWriter::new(out, format).map_err(wrote)?;
        let mut gather = records::Gather::new(reads.articles().map_err(TransferError::Library)?);
        let mut n = 0;
        reads
            .export_records(&mut |row| {
                if let Some(record) = gather.push(row, collection, tag) {
                    w.write(&record)?;
                    n += 1;
                }
                Ok(())
            })
            .map_err(|e| match e {
                ExportError::Read(e) => TransferError::Library(e),
                ExportError::Write(e) => wrote(e),
            })?;
        if let Some(record) = gather.finish(collection, tag) {
            w.write(&record).map_err(wrote)?;
            n += 1;
        }
        w.finish().map_err(wrote)?;
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
