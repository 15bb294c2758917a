//! Moving a library's contents in and out: CSV import (through the save executor, all or
//! nothing), CSV export (streamed, written to a temporary file and renamed into place), and
//! backup (SQLite's online backup API, safe while others keep saving; the copy is checked before
//! it is put in place). Used by the command line and the window alike; never on the UI thread.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use crate::csvio::{self, COLUMNS, LineError, protect};
use crate::db::{self, Library};
use crate::model::{CollectionId, ImportJob, ImportSummary, Op, Outcome};
use crate::tasks::{EditorId, Event, Mailbox, SaveTasks};

/// A file read and checked for import: the rows to apply and the lines that are bad.
#[derive(Debug)]
pub struct Prepared {
    pub job: Arc<ImportJob>,
    pub errors: Vec<LineError>,
}

/// Reads and validates `file`. Fails (nothing to import) if it cannot be read at all.
pub fn prepare_import(file: &Path) -> Result<Prepared, String> {
    let bytes = std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed = csvio::parse(&bytes).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(Prepared {
        job: Arc::new(ImportJob::new(parsed.rows)),
        errors: parsed.errors,
    })
}

/// How an import ended.
#[derive(Debug)]
pub enum Imported {
    Done(ImportSummary),
    /// Nothing was imported; why.
    Refused(String),
}

/// Applies a prepared import through `tasks` and waits for it (for threads that may wait).
/// `progress` is called about once a second with (rows done, rows).
pub fn run_import(
    tasks: &SaveTasks,
    job: &Arc<ImportJob>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Imported, String> {
    let (mailbox, replies) = Mailbox::new();
    tasks
        .submit(EditorId(0), Op::Import(Arc::clone(job)), &mailbox)
        .map_err(|e| e.to_string())?;
    loop {
        match replies.recv_timeout(Duration::from_secs(1)) {
            Ok(reply) => match reply.event {
                Event::Waiting { .. } => {}
                Event::Done(Outcome::Imported(summary)) => return Ok(Imported::Done(summary)),
                Event::Done(other) => {
                    let text =
                        crate::ui::widgets::Problem::describe(other, &jiff::tz::TimeZone::UTC);
                    return Ok(Imported::Refused(text));
                }
            },
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                progress(job.done(), job.rows.len());
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err("the save executor stopped".to_owned());
            }
        }
    }
}

/// Files we write are like any other file the user saves (rw-r--r-- before the umask), not
/// private like a temporary file.
fn readable_by_all() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::Permissions::from_mode(0o644)
}

/// Writes `path` by writing a sibling temporary file and renaming it into place, so a crash
/// never leaves half a file under the real name.
fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<&std::fs::File>) -> Result<usize, String>,
) -> Result<usize, String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".shelfmark-")
        .suffix(".partial")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let n = {
        let mut out = std::io::BufWriter::new(tmp.as_file());
        let n = write(&mut out)?;
        out.flush()
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        n
    };
    tmp.as_file()
        .sync_all()
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("cannot write {}: {}", path.display(), e.error))?;
    Ok(n)
}

/// Exports live books, copies and placements (of one collection, if given) to `path` in the
/// import layout. Returns the number of rows written.
pub fn export(
    conn: &Connection,
    collection: Option<CollectionId>,
    path: &Path,
) -> Result<usize, String> {
    let sql = match collection {
        None => {
            "SELECT b.title, b.authors, b.isbn, b.publisher, b.year, c.barcode, k.name, p.shelf_mark, p.note
             FROM books b
             LEFT JOIN copies c ON c.book_id = b.id AND c.deleted_at IS NULL
             LEFT JOIN placements p ON p.copy_id = c.id AND p.deleted_at IS NULL
             LEFT JOIN collections k ON k.id = p.collection_id
             WHERE b.deleted_at IS NULL
             ORDER BY b.id, c.id, p.id"
        }
        Some(_) => {
            "SELECT b.title, b.authors, b.isbn, b.publisher, b.year, c.barcode, k.name, p.shelf_mark, p.note
             FROM placements p
             JOIN copies c ON c.id = p.copy_id
             JOIN books b ON b.id = c.book_id
             JOIN collections k ON k.id = p.collection_id
             WHERE p.collection_id = ?1 AND p.deleted_at IS NULL
             ORDER BY p.id"
        }
    };
    write_atomically(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(COLUMNS)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        let mut stmt = conn.prepare(sql).map_err(|e| db::chain(&e))?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(collection.map(|c| c.0)))
            .map_err(|e| db::chain(&e))?;
        let mut n = 0;
        let mut record: Vec<String> = Vec::with_capacity(COLUMNS.len());
        while let Some(row) = rows.next().map_err(|e| db::chain(&e))? {
            record.clear();
            for i in 0..COLUMNS.len() {
                let cell = match row.get_ref(i).map_err(|e| db::chain(&e))? {
                    rusqlite::types::ValueRef::Null => String::new(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    rusqlite::types::ValueRef::Text(t) => protect(&String::from_utf8_lossy(t)),
                    other => format!("{other:?}"),
                };
                record.push(cell);
            }
            w.write_record(&record)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            n += 1;
        }
        w.flush()
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        Ok(n)
    })
}

/// The live collection named `name` (any case).
pub fn collection_by_name(conn: &Connection, name: &str) -> Result<CollectionId, String> {
    db::read::live_collection_by_name(conn, name)
        .map_err(|e| db::chain(&e))?
        .map(|c| c.id)
        .ok_or_else(|| format!("there is no collection named “{name}”"))
}

/// Copies the library to `out` with SQLite's online backup API while others may keep saving,
/// checks the copy, and only then puts it in place. Refuses to overwrite an existing file.
pub fn backup(library: &Library, out: &Path) -> Result<db::CheckReport, String> {
    if out.exists() {
        return Err(format!(
            "{} already exists; choose a new name (a backup never overwrites a file)",
            out.display()
        ));
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = tempfile::Builder::new()
        .prefix(".shelfmark-backup-")
        .suffix(".partial")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    let tmp_path: PathBuf = tmp.path().to_path_buf();
    let src = library.connection().map_err(|e| e.to_string())?;
    {
        let mut dst = Connection::open(&tmp_path).map_err(|e| db::chain(&e))?;
        let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(|e| db::chain(&e))?;
        // All pages in one step: one consistent snapshot, even while others commit (WAL lets
        // them go on meanwhile).
        let started = Instant::now();
        loop {
            match backup.step(-1) {
                Ok(rusqlite::backup::StepResult::Done) => break,
                Ok(_) if started.elapsed() < db::BUSY_TIMEOUT => {
                    // Busy or locked (or more to copy): try again shortly.
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(_) => {
                    return Err(
                        "backup failed: the library stayed locked by another program".to_owned(),
                    );
                }
                Err(e) => return Err(format!("backup failed: {}", db::chain(&e))),
            }
        }
    }
    let report = {
        let dst = Connection::open(&tmp_path).map_err(|e| db::chain(&e))?;
        // The copy is a file of its own: no WAL left behind next to it.
        let _: Option<String> = dst
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .optional()
            .map_err(|e| db::chain(&e))?;
        db::check(&dst).map_err(|e| db::chain(&e))?
    };
    if !report.is_ok() {
        return Err(format!("the backup copy failed its check:\n{report}"));
    }
    std::fs::File::open(&tmp_path)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    tmp.persist_noclobber(out)
        .map_err(|e| format!("cannot write {}: {}", out.display(), e.error))?;
    Ok(report)
}
