//! Copies between a shared library and a file: the backup of a shared library (an ordinary
//! library file, read from one snapshot of the server), and moving a library file into an empty
//! shared database, checked row for row before it commits.

use std::path::Path;

use super::{PgSession, ServerLibrary, WRITE_LOCK};
use crate::db::engine::copy::{self, CopyCounts, CopyProgress};
use crate::db::engine::{Session, views};
use crate::db::{BackupError, CheckReport, CopyError, DbError};

/// Writes the shared library, as one moment of the server sees it, into a new file at `out`.
pub(crate) fn backup(library: &ServerLibrary, out: &Path) -> Result<CheckReport, BackupError> {
    let mut conn = library.connect().map_err(BackupError::Copy)?;
    conn.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .map_err(|e| BackupError::Copy(DbError::from(e)))?;
    let result = {
        let session = PgSession::new(&mut conn);
        crate::db::sqlite::write_copy(&session, out, &mut |_| {})
    };
    let _ = conn.client.batch_execute("COMMIT");
    result
}

/// Copies `from` into the shared library, which must hold nothing yet.
pub(crate) fn copy_from<S: Session>(
    library: &ServerLibrary,
    from: &S,
    progress: &mut dyn FnMut(CopyProgress),
) -> Result<CopyCounts, CopyError> {
    let server = library.address().display_name();
    let write = CopyError::Write;
    let mut conn = library.connect().map_err(write)?;
    conn.client
        .batch_execute("BEGIN")
        .map_err(|e| write(e.into()))?;
    conn.client
        .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])
        .map_err(|e| write(e.into()))?;
    let counts = {
        let session = PgSession::new(&mut conn);
        if !views::is_empty(&session).map_err(write)? {
            return Err(CopyError::NotEmpty(server));
        }
        let counts = copy::copy(from, &session, progress).map_err(write)?;
        let differences = copy::differences(from, &session, 20).map_err(write)?;
        if !differences.is_empty() {
            return Err(CopyError::Differs(differences));
        }
        counts
    };
    super::batch::fold_counts(&mut conn.client).map_err(|e| write(e.into()))?;
    conn.client
        .batch_execute("COMMIT")
        .map_err(|e| write(e.into()))?;
    super::bulk::tidy_after_load(&mut conn);
    Ok(counts)
}
