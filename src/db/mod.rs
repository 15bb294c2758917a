//! The library file: opening it safely, the connection pool with per-connection pragmas, the
//! schema and its migrations, reads (taking `&Connection`) and writes (taking [`WriteTx`]), and
//! the one place where SQLite errors become typed outcomes.
//!
//! Opening never changes a file it refuses: the header, the application id and the schema
//! version are read before anything is written.

mod bulk;
mod check;
mod conflict;
mod error;
mod import;
mod migrations;
pub mod read;
pub mod search;
pub mod views;
mod write;

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

pub(crate) use bulk::SearchPause;
pub use check::{CheckReport, check};
pub use error::{OpenError, chain, failure_of, is_busy};
pub use migrations::{APPLICATION_ID, LATEST_VERSION};
pub use write::{WriteTx, apply};
pub(crate) use write::{insert_book, insert_collection, insert_copy, insert_placement};

/// A pool of connections to one library file.
pub type Pool = r2d2::Pool<SqliteConnectionManager>;
/// A connection borrowed from the [`Pool`].
pub type PooledConnection = r2d2::PooledConnection<SqliteConnectionManager>;

/// How hard a commit works to survive a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    /// `synchronous=FULL`: every acknowledged save is on disk (fsync per commit).
    #[default]
    Full,
    /// `synchronous=NORMAL`: survives a crash of the program, may lose the last saves on power
    /// loss; faster on slow disks.
    Normal,
}

impl Durability {
    fn pragma(self) -> &'static str {
        match self {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

/// How long a statement other than our own write-lock acquisition waits for a lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Options for [`Library::open`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Connections in the pool (the writer, the change feed and readers share them).
    pub pool_size: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Full,
            pool_size: 6,
        }
    }
}

/// An open library file.
#[derive(Clone, Debug)]
pub struct Library {
    path: PathBuf,
    pool: Pool,
    durability: Durability,
}

impl Library {
    /// Opens (creating if missing) the library at `path` and brings its schema up to date.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Library, OpenError> {
        let path = refuse_unusable_path(path)?;
        {
            let mut conn = Connection::open_with_flags(&path, open_flags())
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            conn.busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            migrations::refuse_foreign_or_newer(&conn, &path)?;
            enable_wal(&conn).map_err(|e| OpenError::from_sqlite(&path, e))?;
            migrations::migrate(&mut conn).map_err(|e| OpenError::from_sqlite(&path, e))?;
        }
        let durability = options.durability;
        let manager = SqliteConnectionManager::file(&path)
            .with_flags(open_flags())
            .with_init(move |c| configure(c, durability));
        let pool = r2d2::Pool::builder()
            .max_size(options.pool_size.max(2))
            .min_idle(Some(1))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_mins(1))
            .build(manager)
            .map_err(|e| OpenError::Pool {
                path: path.clone(),
                source: e,
            })?;
        Ok(Library {
            path,
            pool,
            durability,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// Borrows a pooled connection. Never call this on the UI thread.
    pub fn connection(&self) -> Result<PooledConnection, r2d2::Error> {
        self.pool.get()
    }
}

fn open_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI
}

/// Per-connection settings, applied to every pooled connection when it is made.
fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = {};
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -8000;",
        durability.pragma()
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// WAL lets readers (every window) go on while one writer commits. Set once; it is persistent.
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        loop {
            match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0)) {
                Ok(_) => break,
                Err(e) if is_busy(&e) && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Refuses a directory, a missing folder, or a file that is not SQLite, before SQLite sees it.
fn refuse_unusable_path(path: &Path) -> Result<PathBuf, OpenError> {
    let path = path.to_path_buf();
    if path.is_dir() {
        return Err(OpenError::IsDirectory(path));
    }
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
        && !parent.is_dir()
    {
        return Err(OpenError::NoFolder {
            path: path.clone(),
            folder: parent.to_path_buf(),
        });
    }
    if let Ok(mut file) = std::fs::File::open(&path) {
        let mut header = [0u8; 16];
        let mut read = 0;
        while read < header.len() {
            match file.read(&mut header[read..]) {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) => return Err(OpenError::Io { path, source: e }),
            }
        }
        if read > 0 && &header[..read] != b"SQLite format 3\0".get(..read).unwrap_or_default() {
            return Err(OpenError::NotALibrary {
                path,
                reason: "it is not an SQLite database".to_owned(),
            });
        }
        if read > 0 && read < header.len() {
            return Err(OpenError::Damaged {
                path,
                detail: "the file is shorter than an SQLite header".to_owned(),
            });
        }
    }
    Ok(path)
}
