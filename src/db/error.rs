//! Errors of the data layer, and the single mapping from a storage fault to what a user is
//! told ([`Failure`]: the class of fault, for the right advice, and the cause chain in words).
//! Reads and saves go through the same mapping, so a full disk or a read-only file is named the
//! same way wherever it shows up.

use std::path::PathBuf;

use rusqlite::ErrorCode;

use super::engine::conflict::UniqueIndex;

use crate::model::{Failure, FailureKind};

/// A fault of the storage: the library could not be read or written. (A save that is refused
/// for a reason a user can act on is an [`Outcome`](crate::model::Outcome), not an error.)
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    #[error(transparent)]
    Postgres(#[from] postgres::Error),
    #[error("no connection to the library could be made")]
    Pool(#[from] r2d2::Error),
    #[error("cannot read or write {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A shared library's server does not answer (this computer works on its replica).
    #[error("the library server cannot be reached")]
    Offline,
    /// The library holds something this build cannot make sense of.
    #[error("the library holds an unexpected value: {0}")]
    Data(String),
}

/// A write the database refused because of a constraint the save can answer for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Violation {
    /// A live-unique index (named, if the backend says which).
    Unique(Option<UniqueIndex>),
    ForeignKey,
}

impl DbError {
    /// What the user is told: the advice for this class of fault and the cause chain.
    pub fn failure(&self) -> Failure {
        failure_of(self)
    }

    /// SQLite's write lock is held elsewhere (busy or locked): try again.
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self, DbError::Sqlite(e) if is_busy(e))
    }

    /// The constraint this error reports as violated, if it is one of those a save answers for.
    pub(crate) fn violation(&self) -> Option<Violation> {
        match self {
            DbError::Sqlite(rusqlite::Error::SqliteFailure(err, message)) => {
                match err.extended_code {
                    SQLITE_CONSTRAINT_UNIQUE => {
                        // "UNIQUE constraint failed: copies.barcode"
                        let columns = message
                            .as_deref()
                            .and_then(|m| m.split_once(": "))
                            .map(|(_, c)| c);
                        Some(Violation::Unique(columns.and_then(UniqueIndex::named)))
                    }
                    SQLITE_CONSTRAINT_FOREIGNKEY => Some(Violation::ForeignKey),
                    _ => None,
                }
            }
            DbError::Postgres(e) => {
                let db = e.as_db_error()?;
                match *db.code() {
                    postgres::error::SqlState::UNIQUE_VIOLATION => Some(Violation::Unique(
                        db.constraint().and_then(UniqueIndex::named),
                    )),
                    postgres::error::SqlState::FOREIGN_KEY_VIOLATION => Some(Violation::ForeignKey),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;

/// Why a library file could not be opened. The file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0} is a folder, not a library file")]
    IsDirectory(PathBuf),
    #[error("cannot create {path}: the folder {folder} does not exist")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("{path} is not a Shelfmark library: {reason}")]
    NotALibrary { path: PathBuf, reason: String },
    #[error(
        "{path} was written by a newer Shelfmark (schema version {found}; this build knows up to {supported}); update Shelfmark to open it"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} needs an upgrade (schema version {found} to {supported}) before this build can open it, but {why}"
    )]
    NeedsUpgrade {
        path: PathBuf,
        found: i64,
        supported: i64,
        why: String,
    },
    #[error(
        "{0} is this computer's copy of a shared library, kept for working offline; open the shared library itself (postgres://…) to use it"
    )]
    Replica(PathBuf),
    #[error("{path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot read {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open {path}")]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot bring {path} up to date")]
    Upgrade {
        path: PathBuf,
        #[source]
        source: Box<DbError>,
    },
    #[error("cannot reach the library server for {server}: {detail}")]
    Unreachable { server: String, detail: String },
    #[error("the server needs a password for {user} to open {server}")]
    PasswordNeeded { server: String, user: String },
    #[error("{server} cannot be opened: {reason}")]
    Refused { server: String, reason: String },
    #[error(
        "{server} is an empty database; set it up as a Shelfmark library first (in the window, or with `shelfmark --db ADDRESS init`)"
    )]
    NotSetUp { server: String },
    #[error("{server} is not a Shelfmark library: {reason}; it was left untouched")]
    ServerNotALibrary { server: String, reason: String },
    #[error(
        "{server} was set up by a newer Shelfmark (schema version {found}; this build knows up to {supported}); update Shelfmark to open it"
    )]
    ServerNewerSchema {
        server: String,
        found: i64,
        supported: i64,
    },
    #[error("{server} needs an upgrade (schema version {found} to {supported}), but {why}")]
    ServerNeedsUpgrade {
        server: String,
        found: i64,
        supported: i64,
        why: String,
    },
    #[error("cannot open connections to {path}")]
    Pool {
        path: PathBuf,
        #[source]
        source: r2d2::Error,
    },
}

impl OpenError {
    /// An error of the storage while opening `path`.
    pub(crate) fn from_db(path: &std::path::Path, e: DbError) -> OpenError {
        match e {
            DbError::Sqlite(e) => OpenError::from_sqlite(path, e),
            other => OpenError::Upgrade {
                path: path.to_path_buf(),
                source: Box::new(other),
            },
        }
    }

    pub(crate) fn from_sqlite(path: &std::path::Path, e: rusqlite::Error) -> OpenError {
        let path = path.to_path_buf();
        match e.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) => OpenError::NotALibrary {
                path,
                reason: "it is not an SQLite database".to_owned(),
            },
            Some(ErrorCode::DatabaseCorrupt) => OpenError::Damaged {
                path,
                detail: e.to_string(),
            },
            _ => OpenError::Sqlite { path, source: e },
        }
    }
}

/// True for SQLITE_BUSY and SQLITE_LOCKED (in all their extended forms).
pub fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

/// Turns any error into the failure a user is shown: the class of fault (for the right advice)
/// and the whole cause chain in words.
pub fn failure_of(e: &(dyn std::error::Error + 'static)) -> Failure {
    let mut kind = FailureKind::Other;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        // A transparent DbError hides its rusqlite error from the source chain: look inside.
        let sql =
            err.downcast_ref::<rusqlite::Error>()
                .or_else(|| match err.downcast_ref::<DbError>() {
                    Some(DbError::Sqlite(e)) => Some(e),
                    _ => None,
                });
        if let Some(sql) = sql {
            kind = match sql.sqlite_error_code() {
                Some(ErrorCode::DiskFull) => FailureKind::DiskFull,
                Some(ErrorCode::ReadOnly) => FailureKind::ReadOnly,
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => FailureKind::Corrupt,
                Some(ErrorCode::SystemIoFailure | ErrorCode::CannotOpen) => FailureKind::Io,
                _ => kind,
            };
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::StorageFull
        {
            kind = FailureKind::DiskFull;
        }
        cur = err.source();
    }
    let advice = match kind {
        FailureKind::DiskFull => "the disk is full; free some space, then retry",
        FailureKind::ReadOnly => "the library file is read-only",
        FailureKind::Corrupt => "the library file is damaged; run `shelfmark check`",
        FailureKind::Io => "the library file could not be read or written",
        FailureKind::Other => "",
    };
    let chain = chain(e);
    let message = if advice.is_empty() {
        chain
    } else {
        format!("{advice} ({chain})")
    };
    Failure { kind, message }
}

/// "outer: inner: innermost", skipping repeats.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(err) = cur {
        let s = err.to_string();
        if parts.last() != Some(&s) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disk_full_is_named() {
        let e = rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        );
        let f = failure_of(&e);
        assert_eq!(f.kind, FailureKind::DiskFull);
        assert!(f.message.starts_with("the disk is full"), "{}", f.message);
        // The same inside the storage's own error, whose source chain skips the SQLite error.
        let f = failure_of(&DbError::Sqlite(e));
        assert_eq!(f.kind, FailureKind::DiskFull);
    }
}
