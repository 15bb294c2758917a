//! The library as one SQLite file: opening it safely, the connection pool with
//! per-connection pragmas, the schema and its migrations, reads (taking `&Connection`) and
//! writes (taking [`WriteTx`]), the writer's batches, the change source, bulk loads, backup,
//! and the one place where SQLite errors become typed outcomes.
//!
//! Opening never changes a file it refuses: the header, the application id and the schema
//! version are read before anything is written.

mod backup;
mod batch;
mod bulk;
mod check;
mod migrations;
mod reads;
pub(crate) mod session;

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

pub(crate) use backup::{write_copy, write_copy_then};
pub(crate) use batch::FileBatchWriter;
pub use check::CheckReport;
pub(crate) use check::Structure;
pub use migrations::{APPLICATION_ID, LATEST_VERSION};
pub(crate) use reads::DataVersion as DataVersionSource;

use super::error::{DbError, OpenError, is_busy};
use super::{Durability, OpenOptions};

/// A pool of connections to one library file.
type Pool = r2d2::Pool<SqliteConnectionManager>;
/// A connection borrowed from the [`Pool`].
type PooledConnection = r2d2::PooledConnection<SqliteConnectionManager>;

fn synchronous(durability: Durability) -> &'static str {
    match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    }
}

/// How long a statement other than our own write-lock acquisition waits for a lock.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// An open library file.
#[derive(Clone, Debug)]
pub(crate) struct FileLibrary {
    path: PathBuf,
    pool: Pool,
    /// Why the library cannot be written, if it cannot.
    read_only: Option<String>,
    /// The largest size the writer may grow the file to, in pages (0: no limit).
    max_pages: Arc<AtomicU64>,
    /// The name saves are recorded under (`updated_by`).
    workstation: Arc<parking_lot::RwLock<Arc<str>>>,
    /// This computer's replica of a shared library: new rows get provisional (negative) ids and
    /// every save is also written to the outbox, in its own transaction.
    replica: bool,
}

impl FileLibrary {
    /// Opens (creating if missing) the library at `path` and brings its schema up to date. A
    /// file that cannot be written (read-only file, folder or disk) opens read-only, if its
    /// schema is current.
    pub(crate) fn open(path: &Path, options: &OpenOptions) -> Result<FileLibrary, OpenError> {
        Self::open_as(path, options, false)
    }

    /// Opens this computer's replica of a shared library (see [`crate::db::replica`]); a
    /// replica is refused by [`open`](Self::open), so nobody edits it as a library of its own.
    pub(crate) fn open_replica(
        path: &Path,
        options: &OpenOptions,
    ) -> Result<FileLibrary, OpenError> {
        Self::open_as(path, options, true)
    }

    fn open_as(
        path: &Path,
        options: &OpenOptions,
        replica: bool,
    ) -> Result<FileLibrary, OpenError> {
        let path = refuse_unusable_path(path)?;
        let read_only = if options.read_only {
            Some("it was opened read-only".to_owned())
        } else {
            why_not_writable(&path)
        };
        if let Some(why) = &read_only
            && !path.exists()
        {
            let reason = if options.read_only {
                "there is no library here (opened read-only, so none is made)".to_owned()
            } else {
                format!("a new library cannot be made here: {why}")
            };
            return Err(OpenError::Io {
                path: path.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, reason),
            });
        }
        let flags = if read_only.is_some() {
            read_only_flags()
        } else {
            open_flags()
        };
        // Where even SQLite's shared-memory file cannot be made (a read-only folder), a
        // read-only library is opened as immutable: nobody can be writing it anyway.
        let target = match &read_only {
            Some(_) if !readable_as_is(&path) => immutable_uri(&path),
            _ => path.display().to_string(),
        };
        // Refusals are decided on a read-only connection, so that closing it cannot write (a
        // checkpoint) into a file we refuse.
        if std::fs::metadata(&path).is_ok_and(|m| m.len() > 0) {
            let probe_target = if read_only.is_some() {
                target.clone()
            } else {
                path.display().to_string()
            };
            let probe = Connection::open_with_flags(&probe_target, read_only_flags())
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            probe
                .busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            migrations::refuse_foreign_or_newer(&probe, &path)?;
            if !replica {
                migrations::refuse_replica(&probe, &path)?;
            }
        }
        {
            let mut conn = Connection::open_with_flags(&target, flags)
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            conn.busy_timeout(BUSY_TIMEOUT)
                .map_err(|e| OpenError::from_sqlite(&path, e))?;
            migrations::refuse_foreign_or_newer(&conn, &path)?;
            if let Some(why) = &read_only {
                migrations::refuse_outdated(&conn, &path, why)?;
            } else {
                enable_wal(&conn).map_err(|e| OpenError::from_sqlite(&path, e))?;
                migrations::migrate(&mut conn).map_err(|e| OpenError::from_db(&path, e))?;
            }
        }
        let durability = options.durability;
        let manager = SqliteConnectionManager::file(&target)
            .with_flags(flags)
            .with_init(move |c| configure(c, durability, replica));
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
        Ok(FileLibrary {
            path,
            pool,
            read_only,
            max_pages: Arc::new(AtomicU64::new(0)),
            workstation: Arc::new(parking_lot::RwLock::new(Arc::from(
                options.workstation.as_str(),
            ))),
            replica,
        })
    }

    /// Whether this is a replica (its saves also go to the outbox).
    pub(crate) fn is_replica(&self) -> bool {
        self.replica
    }

    /// A pooled connection for the replica's own bookkeeping (its outbox, its pulls).
    pub(crate) fn pooled(&self) -> Result<PooledConnection, DbError> {
        self.connection()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The name saves are recorded under.
    pub(crate) fn workstation(&self) -> Arc<str> {
        Arc::clone(&self.workstation.read())
    }

    /// Records saves from now on under `name`.
    pub(crate) fn set_workstation(&self, name: &str) {
        *self.workstation.write() = Arc::from(name);
    }

    /// Why nothing can be saved, if the library is read-only ("the file is read-only").
    pub(crate) fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// Caps how large the writer may grow the file (`None`: as large as the disk allows).
    /// Saves that would need more space fail as "the disk is full", exactly as on a full disk;
    /// used to rehearse that fault, and by admins who want a ceiling.
    pub(crate) fn limit_size(&self, bytes: Option<u64>) {
        let pages = bytes.map_or(0, |b| (b / 4096).max(1));
        self.max_pages.store(pages, Ordering::Release);
    }

    /// The current cap, in pages (0: none).
    fn max_pages(&self) -> u64 {
        self.max_pages.load(Ordering::Acquire)
    }

    /// Borrows a pooled connection. Never on the UI thread.
    fn connection(&self) -> Result<PooledConnection, DbError> {
        Ok(self.pool.get()?)
    }

    pub(crate) fn reads(&self) -> Result<reads::FileReads, DbError> {
        Ok(crate::db::engine::reads::EngineReads(self.connection()?))
    }

    pub(crate) fn batch_writer(&self) -> FileBatchWriter {
        FileBatchWriter::new(self.clone())
    }

    pub(crate) fn change_source(&self, interval: Duration) -> reads::DataVersion {
        reads::DataVersion::new(self.pool.clone(), interval)
    }

    pub(crate) fn bulk(&self) -> Result<bulk::FileBulk, DbError> {
        bulk::FileBulk::begin(self.connection()?, &self.workstation())
    }

    pub(crate) fn backup(&self, out: &Path) -> Result<CheckReport, super::BackupError> {
        backup::backup(self, out)
    }

    /// Runs `f` on one read transaction: everything it reads is one moment of the file, while
    /// others go on saving.
    pub(crate) fn read_snapshot<T>(
        &self,
        f: impl FnOnce(&session::FileSession<'_>) -> T,
    ) -> Result<T, DbError> {
        let conn = self.connection()?;
        conn.execute_batch("BEGIN DEFERRED")?;
        // The snapshot starts at the first read.
        conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })?;
        let out = f(&session::FileSession::new(&conn));
        conn.execute_batch("COMMIT")?;
        Ok(out)
    }
}

/// What SQLite's own checks find in a file that cannot be opened as a library (a damaged
/// one), read as immutable: no locks, no `-wal` or `-shm` made beside it, nothing changed.
pub(crate) fn check_as_is(path: &Path) -> Result<CheckReport, DbError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(immutable_uri(path), flags)?;
    Ok(check::check(&conn)?)
}

/// Whether a read-only connection can read the file the ordinary way (with SQLite's locks).
fn readable_as_is(path: &Path) -> bool {
    Connection::open_with_flags(path, read_only_flags())
        .and_then(|c| {
            c.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .is_ok()
}

/// `file:` URI of `path` with `immutable=1`, percent-encoding what a URI may not hold.
pub(crate) fn immutable_uri(path: &Path) -> String {
    let mut uri = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn read_only_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI
}

/// Why the library at `path` cannot be written, if it cannot: the file, or its folder (where
/// SQLite keeps its -wal and -shm files), refuses writes. Checked by trying, not by mode bits
/// (root ignores those; an immutable file or a read-only disk does not).
fn why_not_writable(path: &Path) -> Option<String> {
    use std::io::ErrorKind;
    let describe = |e: &std::io::Error, what: &str| -> Option<String> {
        match e.kind() {
            ErrorKind::PermissionDenied => Some(format!("the {what} is read-only")),
            ErrorKind::ReadOnlyFilesystem => Some("the disk is read-only".to_owned()),
            _ => None,
        }
    };
    if path.exists()
        && let Err(e) = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
        && let Some(why) = describe(&e, "file")
    {
        return Some(why);
    }
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    match tempfile::tempfile_in(folder) {
        Ok(_) => None,
        Err(e) => describe(&e, "folder"),
    }
}

fn open_flags() -> OpenFlags {
    OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI
}

/// The page cache of a connection, in KiB.
pub(crate) const CACHE_KIB: i64 = 8000;

/// Per-connection settings, applied to every pooled connection when it is made.
fn configure(conn: &Connection, durability: Durability, replica: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.execute_batch(&format!(
        "PRAGMA foreign_keys = ON;
         PRAGMA synchronous = {};
         PRAGMA temp_store = MEMORY;
         PRAGMA cache_size = -{CACHE_KIB};",
        synchronous(durability)
    ))?;
    conn.set_prepared_statement_cache_capacity(64);
    register_functions(conn)?;
    // New rows of a replica take ids below every id the server gives out (see the inserts).
    conn.create_scalar_function(
        "provisional_ids",
        0,
        rusqlite::functions::FunctionFlags::SQLITE_UTF8
            | rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
        move |_| Ok(i64::from(replica)),
    )
}

/// `casefold(text)`: the text in lower case by Unicode's rules (SQLite's own `lower` and `LIKE`
/// fold ASCII only), so a filter for "GÖDEL" finds "Gödel" as it does on a server.
fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    conn.create_scalar_function(
        "casefold",
        1,
        FunctionFlags::SQLITE_UTF8
            | FunctionFlags::SQLITE_DETERMINISTIC
            | FunctionFlags::SQLITE_INNOCUOUS,
        |ctx| {
            Ok(match ctx.get_raw(0) {
                rusqlite::types::ValueRef::Text(t) => {
                    Some(String::from_utf8_lossy(t).to_lowercase())
                }
                _ => None,
            })
        },
    )
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

enum HeaderProblem {
    NotSqlite,
    Damaged(String),
}

/// What the first 100 bytes and the size of a file say, without asking SQLite. An empty file is
/// fine (a new library).
fn header_problem(header: &[u8], size: u64, wal_has_frames: bool) -> Option<HeaderProblem> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    if header.is_empty() {
        return None;
    }
    // Bytes 21..24 are 64, 32, 32 in every SQLite file: a file with them but a wrong magic
    // string was an SQLite database whose header was overwritten.
    let sqlite_shaped = header.len() >= 24 && header[21..24] == [64, 32, 32];
    let starts_right = MAGIC.starts_with(&header[..header.len().min(16)]);
    if header.len() < 100 && starts_right {
        return Some(HeaderProblem::Damaged(
            "the file is shorter than an SQLite header".to_owned(),
        ));
    }
    if header.len() < 100 || !starts_right {
        return Some(if sqlite_shaped {
            HeaderProblem::Damaged(
                "its header is overwritten (it was an SQLite database); restore it from a backup"
                    .to_owned(),
            )
        } else {
            HeaderProblem::NotSqlite
        });
    }
    if wal_has_frames {
        return None;
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n => u64::from(n),
    };
    if !(512..=65_536).contains(&page_size) || !page_size.is_power_of_two() {
        return Some(HeaderProblem::Damaged(format!(
            "its header names an impossible page size ({page_size})"
        )));
    }
    let pages = u64::from(u32::from_be_bytes([
        header[28], header[29], header[30], header[31],
    ]));
    let counter = &header[24..28];
    let valid_for = &header[92..96];
    if !size.is_multiple_of(page_size) {
        return Some(HeaderProblem::Damaged(format!(
            "the file is cut off in the middle of a page ({size} bytes, pages of {page_size})"
        )));
    }
    if counter == valid_for && pages > 0 && size < pages * page_size {
        return Some(HeaderProblem::Damaged(format!(
            "the file is truncated: {size} bytes, but its header says {}",
            pages * page_size
        )));
    }
    None
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
        let mut header = [0u8; 100];
        let mut read = 0;
        while read < header.len() {
            match file.read(&mut header[read..]) {
                Ok(0) => break,
                Ok(n) => read += n,
                Err(e) => return Err(OpenError::Io { path, source: e }),
            }
        }
        let size = file.metadata().map_or(0, |m| m.len());
        // Pages still in a -wal file (after a crash mid-checkpoint, say) are SQLite's to
        // recover; the file may legitimately be shorter than its header says until then.
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        let wal_has_frames = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 32);
        if let Some(problem) = header_problem(&header[..read], size, wal_has_frames) {
            return Err(match problem {
                HeaderProblem::NotSqlite => OpenError::NotALibrary {
                    path,
                    reason: "it is not an SQLite database".to_owned(),
                },
                HeaderProblem::Damaged(detail) => OpenError::Damaged { path, detail },
            });
        }
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::{HeaderProblem, header_problem};

    fn header(page_size: u16, pages: u32) -> Vec<u8> {
        let mut h = vec![0u8; 100];
        h[..16].copy_from_slice(b"SQLite format 3\0");
        h[16..18].copy_from_slice(&page_size.to_be_bytes());
        h[21..24].copy_from_slice(&[64, 32, 32]);
        h[24..28].copy_from_slice(&7u32.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[92..96].copy_from_slice(&7u32.to_be_bytes());
        h
    }

    fn check(h: &[u8], size: u64, wal: bool, expected: Option<&str>) {
        let got = match header_problem(h, size, wal) {
            None => None,
            Some(HeaderProblem::NotSqlite) => Some("not sqlite".to_owned()),
            Some(HeaderProblem::Damaged(d)) => Some(d),
        };
        match (got, expected) {
            (None, None) => {}
            (Some(g), Some(e)) => assert!(g.contains(e), "{g:?} should contain {e:?}"),
            (g, e) => panic!("got {g:?}, expected {e:?}"),
        }
    }

    #[test]
    fn headers() {
        let h = header(4096, 10);
        check(&h, 40_960, false, None);
        check(&h, 20_480, false, Some("truncated"));
        // Pages still in the WAL: SQLite's to recover, not "damaged".
        check(&h, 20_480, true, None);
        check(&h, 20_000, false, Some("cut off in the middle of a page"));
        check(&[], 0, false, None);
        check(&h[..50], 50, false, Some("shorter than an SQLite header"));
        check(b"SQLite", 6, false, Some("shorter than an SQLite header"));
        let mut overwritten = h.clone();
        overwritten[..16].copy_from_slice(&[0; 16]);
        check(&overwritten, 40_960, false, Some("header is overwritten"));
        check(b"Shopping list: milk, eggs, and a very long line of text to reach 100 bytes......................", 100, false, Some("not sqlite"));
        check(&header(1000, 1), 1000, false, Some("impossible page size"));
    }
}
