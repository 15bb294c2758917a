//! Backup with SQLite's online backup API: safe while others keep saving (WAL lets them go on),
//! one consistent snapshot, checked before it is put in place under its name.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, OptionalExtension};

use super::session::FileSession;
use super::{BUSY_TIMEOUT, FileLibrary, check, migrations};
use crate::db::engine::copy::CopyProgress;
use crate::db::engine::{self, Session};
use crate::db::{BackupError, CheckReport, DbError};

/// Files we write are like any other file the user saves (rw-r--r-- before the umask), not
/// private like a temporary file.
pub(crate) fn readable_by_all() -> std::fs::Permissions {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::Permissions::from_mode(0o644)
}

/// Makes a new library file at `out`: `fill` writes a temporary file beside it and checks it;
/// a healthy one is synced and put in place under its name, never over an existing file (a
/// crash leaves at most a `.shelfmark-backup-*.partial`).
fn write_checked(
    out: &Path,
    fill: impl FnOnce(&Path) -> Result<CheckReport, BackupError>,
) -> Result<CheckReport, BackupError> {
    if out.exists() {
        return Err(BackupError::Exists(out.to_path_buf()));
    }
    let dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let write_err = |source: std::io::Error| BackupError::Write {
        path: out.to_path_buf(),
        source,
    };
    let tmp = tempfile::Builder::new()
        .prefix(".shelfmark-backup-")
        .suffix(".partial")
        .permissions(readable_by_all())
        .tempfile_in(dir)
        .map_err(write_err)?;
    let report = fill(tmp.path())?;
    if !report.is_ok() {
        return Err(BackupError::Check(report));
    }
    std::fs::File::open(tmp.path())
        .and_then(|f| f.sync_all())
        .map_err(write_err)?;
    tmp.persist_noclobber(out).map_err(|e| write_err(e.error))?;
    Ok(report)
}

fn copy_err(e: rusqlite::Error) -> BackupError {
    BackupError::Copy(DbError::from(e))
}

/// Copies `library` to `out`. Refuses to overwrite an existing file.
pub(crate) fn backup(library: &FileLibrary, out: &Path) -> Result<CheckReport, BackupError> {
    let src = library.connection().map_err(BackupError::Copy)?;
    write_checked(out, |tmp| {
        {
            let mut dst = Connection::open(tmp).map_err(copy_err)?;
            let backup = rusqlite::backup::Backup::new(&src, &mut dst).map_err(copy_err)?;
            // All pages in one step: one consistent snapshot, even while others commit.
            let started = Instant::now();
            loop {
                match backup.step(-1).map_err(copy_err)? {
                    rusqlite::backup::StepResult::Done => break,
                    _ if started.elapsed() < BUSY_TIMEOUT => {
                        // Busy or locked (or more to copy): try again shortly.
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    _ => return Err(BackupError::Locked),
                }
            }
        }
        let dst = Connection::open(tmp).map_err(copy_err)?;
        // The copy is a file of its own: no WAL left behind next to it.
        let _: Option<String> = dst
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .optional()
            .map_err(copy_err)?;
        check::check(&dst).map_err(copy_err)
    })
}

/// Writes what `from` holds (read at one moment) into a new library file at `out`, row for row,
/// and checks it before it is put in place under its name: the backup of a shared library, an
/// ordinary library file that opens anywhere. Refuses to overwrite an existing file.
pub(crate) fn write_copy<S: Session>(
    from: &S,
    out: &Path,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CheckReport, BackupError> {
    write_copy_then(from, out, progress, check::Structure::Full, &|_| Ok(()))
}

/// [`write_copy`], checked as deeply as `structure` says, with `finish` run in the copy's
/// transaction before it commits (a replica adds its own tables there, so that a replica file is
/// whole or not there at all).
pub(crate) fn write_copy_then<S: Session>(
    from: &S,
    out: &Path,
    progress: &mut dyn FnMut(CopyProgress),
    structure: check::Structure,
    finish: &dyn Fn(&Connection) -> Result<(), DbError>,
) -> Result<CheckReport, BackupError> {
    write_checked(out, |tmp| {
        let mut dst = Connection::open(tmp).map_err(copy_err)?;
        // A temporary file, synced once before it is put in place (see `write_checked`): no
        // journal fsyncs while it fills, and room in the cache for its indexes.
        dst.execute_batch(
            "PRAGMA foreign_keys = ON; PRAGMA journal_mode = DELETE; PRAGMA synchronous = OFF;
             PRAGMA cache_size = -65536;",
        )
        .map_err(copy_err)?;
        migrations::migrate(&mut dst).map_err(BackupError::Copy)?;
        dst.execute_batch("BEGIN IMMEDIATE").map_err(copy_err)?;
        engine::copy::copy(from, &FileSession::new(&dst), progress).map_err(BackupError::Copy)?;
        finish(&dst).map_err(BackupError::Copy)?;
        dst.execute_batch("COMMIT").map_err(copy_err)?;
        check::check_with(&dst, structure, &mut |_| {}).map_err(copy_err)
    })
}
