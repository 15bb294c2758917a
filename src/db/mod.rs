//! Storage, behind one seam. Above this module nothing names a database type: the tasks read
//! through [`Reads`], save through [`BatchWriter`], hear of other processes' commits through
//! [`ChangeSource`], and load in bulk through [`Bulk`]; every answer is a plain value from
//! [`crate::model`] or a [`DbError`], mapped once to the words a user sees.
//!
//! The backend today is one SQLite file ([`sqlite`]). Each backend is the arbiter of
//! uniqueness among live rows (partial unique indexes `... WHERE deleted_at IS NULL`) and of
//! versions; the application's own checks only give early feedback.
//!
//! Architecture invariant: nothing above this module names `rusqlite` or `r2d2` (checked by
//! `tests/layers.rs`); the UI holds a [`Library`] only to name it and to hand reads to the
//! reader threads, never to read on its own thread.

mod engine;
mod error;
mod postgres;
pub(crate) mod replica;
mod sqlite;

use std::ops::Not as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use crate::model::Wait;
pub use engine::copy::{CopyCounts, CopyProgress};
pub use engine::views::{MATCH_CAP, fts5_query, tsquery};
pub(crate) use error::Violation;
pub use error::{DbError, OpenError, chain, failure_of};
pub use postgres::{AddressError, ServerAddress, TlsMode};
pub use replica::DecideError;
pub use sqlite::{APPLICATION_ID, CheckReport, LATEST_VERSION};

/// The schema version a shared library of this build has.
pub const SERVER_LATEST_VERSION: i64 = postgres::LATEST_VERSION;

use crate::model::{
    Book, BookId, BookRow, Collection, CollectionId, CollectionSummary, Copy, CopyId, CopyRow,
    Counts, ExportRow, Op, Outcome, Placement, PlacementId, Record, RecordRef, RowKey, SortKey,
    Stamp, TrashRow, ValidBook, ValidCollection, ValidCopy, ValidPlacement, Window, WindowQuery,
};

/// How hard a commit works to survive a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize)]
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
    pub fn name(self) -> &'static str {
        match self {
            Durability::Full => "full",
            Durability::Normal => "normal",
        }
    }
}

/// Options for [`Library::open`].
#[derive(Clone, Debug)]
pub struct OpenOptions {
    pub durability: Durability,
    /// Connections in the pool (the writer, the change feed and readers share them).
    pub pool_size: u32,
    /// Open for reading only, even if the library could be written (to look at a backup, say).
    pub read_only: bool,
    /// The name this computer's saves are recorded under (`updated_by`): the librarian's
    /// choice in the settings, or the host name.
    pub workstation: String,
    /// Set up an empty shared database as a library (asked for in the window, or `init`).
    /// Without it, opening an empty database says that it needs setting up.
    pub set_up: bool,
    /// Where this computer keeps its replicas of shared libraries (the data directory). With
    /// one, a shared library keeps working while its server is away; without one (`None`),
    /// saves wait for the server.
    pub replica_dir: Option<PathBuf>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            durability: Durability::Full,
            pool_size: 6,
            read_only: false,
            workstation: default_workstation(),
            set_up: false,
            replica_dir: None,
        }
    }
}

/// This computer's name, as saves record it unless the settings name it otherwise.
pub fn default_workstation() -> String {
    whoami::hostname()
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this computer".to_owned())
}

/// Where the library lives when none is named: `library.sqlite3` in the platform data
/// directory (on Linux `~/.local/share/shelfmark/`).
pub fn default_library_path() -> PathBuf {
    directories::ProjectDirs::from("org", "Shelfmark", "shelfmark").map_or_else(
        || PathBuf::from("library.sqlite3"),
        |dirs| dirs.data_dir().join("library.sqlite3"),
    )
}

/// What SQLite's own checks find in a library file that cannot be opened (a damaged one);
/// reads it as it is, changing nothing.
pub fn check_damaged_file(path: &Path) -> Result<CheckReport, DbError> {
    sqlite::check_as_is(path)
}

/// Where a library lives: a file on this computer, or a database on a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Location {
    File(PathBuf),
    Server(ServerAddress),
}

impl Location {
    /// A `postgres://` address is a server; anything else names a file. A password in the
    /// address is returned apart (it is never remembered).
    pub fn parse(text: &str) -> Result<(Location, Option<String>), AddressError> {
        if ServerAddress::is_address(text) {
            let (address, password) = ServerAddress::parse(text)?;
            Ok((Location::Server(address), password))
        } else {
            Ok((Location::File(PathBuf::from(text)), None))
        }
    }

    /// How the library is named to people: the file's name, or "DATABASE on HOST".
    pub fn display_name(&self) -> String {
        match self {
            Location::File(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            ),
            Location::Server(a) => a.display_name(),
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Location::Server(_))
    }
}

impl std::fmt::Display for Location {
    /// The file's path, or the server's address without a password: what is remembered.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Server(a) => write!(f, "{a}"),
        }
    }
}

/// An open library. Cheap to clone; clones share the backend's connections.
#[derive(Clone, Debug)]
pub struct Library {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    File(sqlite::FileLibrary),
    Server(postgres::ServerLibrary),
    /// A shared library with this computer's replica, for working offline.
    Shared(replica::SharedLibrary),
}

impl Library {
    /// Opens (creating if missing) the library file at `path` and brings its schema up to
    /// date. A file that cannot be written opens read-only, if its schema is current. A file
    /// that is refused is left exactly as it was.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<Library, OpenError> {
        Ok(Library {
            backend: Backend::File(sqlite::FileLibrary::open(path, options)?),
        })
    }

    /// Opens the shared library at `address` (see [`OpenOptions::set_up`]). `password`: the
    /// one typed in the window, if any (else `PGPASSWORD` or `~/.pgpass`, as libpq does).
    pub fn open_server(
        address: &ServerAddress,
        password: Option<&str>,
        options: &OpenOptions,
    ) -> Result<Library, OpenError> {
        if let Some(dir) = &options.replica_dir
            && options.read_only.not()
        {
            return Ok(Library {
                backend: Backend::Shared(replica::SharedLibrary::open(
                    address, password, options, dir,
                )?),
            });
        }
        Ok(Library {
            backend: Backend::Server(postgres::ServerLibrary::open(address, password, options)?),
        })
    }

    /// Opens the library wherever it lives.
    pub fn open_at(
        location: &Location,
        password: Option<&str>,
        options: &OpenOptions,
    ) -> Result<Library, OpenError> {
        match location {
            Location::File(path) => Library::open(path, options),
            Location::Server(address) => Library::open_server(address, password, options),
        }
    }

    /// Where the library lives.
    pub fn location(&self) -> Location {
        match &self.backend {
            Backend::File(f) => Location::File(f.path().to_path_buf()),
            Backend::Server(s) => Location::Server(s.address().clone()),
            Backend::Shared(s) => Location::Server(s.server().address().clone()),
        }
    }

    /// Whether the library is shared on a server.
    pub fn is_shared(&self) -> bool {
        matches!(self.backend, Backend::Server(_) | Backend::Shared(_))
    }

    /// The library file, if the library is one.
    pub fn path(&self) -> Option<&Path> {
        match &self.backend {
            Backend::File(f) => Some(f.path()),
            Backend::Server(_) | Backend::Shared(_) => None,
        }
    }

    /// How the library is named to people (a file name, or a database on a server).
    pub fn display_name(&self) -> String {
        self.location().display_name()
    }

    /// The name this computer's saves are recorded under.
    pub fn workstation(&self) -> std::sync::Arc<str> {
        match &self.backend {
            Backend::File(f) => f.workstation(),
            Backend::Server(s) => s.workstation(),
            Backend::Shared(s) => s.server().workstation(),
        }
    }

    /// Records this computer's saves from now on under `name` (the settings' "This computer").
    pub fn set_workstation(&self, name: &str) {
        match &self.backend {
            Backend::File(f) => f.set_workstation(name),
            Backend::Server(s) => s.set_workstation(name),
            Backend::Shared(s) => s.set_workstation(name),
        }
    }

    /// Why nothing can be saved, if the library is read-only ("the file is read-only").
    pub fn read_only(&self) -> Option<&str> {
        match &self.backend {
            Backend::File(f) => f.read_only(),
            Backend::Server(s) => s.read_only(),
            Backend::Shared(s) => s.server().read_only(),
        }
    }

    /// Caps how large saves may grow a library file (`None`: as large as the disk allows).
    /// Saves that would need more room fail as "the disk is full", exactly as on a full disk.
    /// A shared library's size is the server's business: there this does nothing.
    pub fn limit_size(&self, bytes: Option<u64>) {
        match &self.backend {
            Backend::File(f) => f.limit_size(bytes),
            Backend::Server(_) | Backend::Shared(_) => {}
        }
    }

    /// A reading session on a pooled connection. Never call this on the UI thread.
    pub fn reads(&self) -> Result<Box<dyn Reads>, DbError> {
        match &self.backend {
            Backend::File(f) => Ok(Box::new(f.reads()?)),
            Backend::Server(s) => Ok(Box::new(s.reads()?)),
            Backend::Shared(s) => s.reads(),
        }
    }

    /// The writer's side of the seam (one per save executor).
    pub fn batch_writer(&self) -> Box<dyn BatchWriter> {
        match &self.backend {
            Backend::File(f) => Box::new(f.batch_writer()),
            Backend::Server(s) => Box::new(s.batch_writer()),
            Backend::Shared(s) => Box::new(s.batch_writer()),
        }
    }

    /// What tells the change feed that another process (or computer) committed.
    pub fn change_source(&self, interval: Duration) -> Box<dyn ChangeSource> {
        match &self.backend {
            Backend::File(f) => Box::new(f.change_source(interval)),
            Backend::Server(s) => Box::new(s.change_source(interval)),
            Backend::Shared(s) => Box::new(s.change_source(interval)),
        }
    }

    /// One transaction for loading many rows at once (the seed generator). Nothing is visible
    /// until `finish`.
    pub fn bulk(&self) -> Result<Box<dyn Bulk>, DbError> {
        match &self.backend {
            Backend::File(f) => Ok(Box::new(f.bulk()?)),
            Backend::Server(s) => Ok(Box::new(s.bulk()?)),
            Backend::Shared(s) => Ok(Box::new(s.server().bulk()?)),
        }
    }

    /// Copies the library to a new library file at `out`, safely while others keep saving, and
    /// checks the copy before it is put in place. Never overwrites a file. The backup of a
    /// shared library is an ordinary library file that opens anywhere, offline.
    pub fn backup(&self, out: &Path) -> Result<CheckReport, BackupError> {
        match &self.backend {
            Backend::File(f) => f.backup(out),
            Backend::Server(s) => s.backup(out),
            Backend::Shared(s) => s.server().backup(out),
        }
    }

    /// Copies this library, as it is at one moment, into `target`: a shared library that holds
    /// nothing yet. Every row comes along as it is (ids, versions, stamps, the Trash); the copy
    /// is checked row for row before it is committed, so it is all there or not at all.
    pub fn copy_to(
        &self,
        target: &Library,
        progress: &mut dyn FnMut(CopyProgress),
    ) -> Result<CopyCounts, CopyError> {
        let to = match &target.backend {
            Backend::Server(to) => to,
            Backend::Shared(s) => s.server(),
            Backend::File(_) => return Err(CopyError::NotAServer),
        };
        match &self.backend {
            Backend::File(f) => f
                .read_snapshot(|from| to.copy_from(from, progress))
                .map_err(CopyError::Read)?,
            Backend::Server(_) | Backend::Shared(_) => Err(CopyError::NotAFile),
        }
    }

    /// How this computer stands with a shared library's server (`None`: not a shared library
    /// with a replica). Kept in memory: cheap on any thread, the UI's included.
    pub fn sync_status(&self) -> Option<crate::model::SyncStatus> {
        match &self.backend {
            Backend::Shared(s) => Some(s.status()),
            _ => None,
        }
    }

    /// Where a record stands on this computer while it differs from the shared library (kept
    /// here, or waiting for a decision). Kept in memory: cheap on any thread.
    pub fn local_state(&self, record: RecordRef) -> Option<crate::model::LocalState> {
        match &self.backend {
            Backend::Shared(s) => s.local_state(record),
            _ => None,
        }
    }

    /// The saves made on this computer that wait for a librarian's decision. Not on the UI
    /// thread.
    pub fn attention(&self) -> Result<Vec<crate::model::Attention>, DbError> {
        match &self.backend {
            Backend::Shared(s) => s.attention(),
            _ => Ok(Vec::new()),
        }
    }

    /// Carries out a decision on a save that waits in Needs attention. Not on the UI thread.
    pub fn decide(&self, seq: i64, decision: &crate::model::Decision) -> Result<(), DecideError> {
        match &self.backend {
            Backend::Shared(s) => s.decide(seq, decision),
            _ => Err(DecideError::Words(
                "this library has no saves waiting".to_owned(),
            )),
        }
    }

    /// This computer's replica of the shared library, if it has one.
    pub fn replica_file(&self) -> Option<&Path> {
        match &self.backend {
            Backend::Shared(s) => Some(s.replica_file()),
            _ => None,
        }
    }

    /// Where the replica and the server differ, row for row (empty: they hold the same). Not on
    /// the UI thread.
    pub fn replica_differences(&self, limit: usize) -> Result<Vec<String>, DbError> {
        match &self.backend {
            Backend::Shared(s) => s.differences(limit),
            _ => Ok(Vec::new()),
        }
    }

    /// Makes a shared library work offline although its server answers (`true`), or follow the
    /// server again (`false`): a librarian leaving with a laptop, and the benchmarks.
    pub fn hold_offline(&self, on: bool) {
        if let Backend::Shared(s) = &self.backend {
            s.hold_offline(on);
        }
    }

    /// Asks a shared library to look at its server now (replay, catch up) instead of at its
    /// next heartbeat.
    pub fn sync_now(&self) {
        if let Backend::Shared(s) = &self.backend {
            s.sync_now();
        }
    }
}

/// Why a copy to a server did not happen. Nothing of it was committed.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("the copy goes to a shared library on a server")]
    NotAServer,
    #[error("only a library file can be moved to a server")]
    NotAFile,
    #[error("{0} already holds books or collections; a library is moved only into an empty one")]
    NotEmpty(String),
    #[error("the library could not be read")]
    Read(#[source] DbError),
    #[error("the shared library could not be written")]
    Write(#[source] DbError),
    #[error("the copy does not match the library, so it was not kept: {}", .0.join("; "))]
    Differs(Vec<String>),
}

/// Why a backup did not happen. Nothing is left under the chosen name.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists; choose a new name (a backup never overwrites a file)")]
    Exists(PathBuf),
    #[error("cannot write {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the library stayed locked by another program")]
    Locked,
    #[error("the copy failed")]
    Copy(#[source] DbError),
    #[error("the backup copy failed its check:\n{0}")]
    Check(CheckReport),
}

/// Reads, each its own short read transaction: what the windows, the command line and the
/// exporter ask of a library.
pub trait Reads: Send {
    /// Any record by reference, live or in the Trash.
    fn record(&mut self, target: RecordRef) -> Result<Option<Record>, DbError>;
    /// The live copy with this (normalised) barcode.
    fn live_copy_by_barcode(&mut self, barcode: &str) -> Result<Option<Copy>, DbError>;
    /// The live collection with this name, compared case-insensitively.
    fn live_collection_by_name(&mut self, name: &str) -> Result<Option<Collection>, DbError>;
    /// The most recently deleted collection in the Trash with this name (any case).
    fn trashed_collection_named(&mut self, name: &str) -> Result<Option<Collection>, DbError>;
    /// The live book with this normalised ISBN-13.
    fn live_book_by_isbn(&mut self, isbn: &str) -> Result<Option<Book>, DbError>;
    /// The live placement of `copy` in `collection`, if there is one.
    fn live_placement(
        &mut self,
        copy: CopyId,
        collection: CollectionId,
    ) -> Result<Option<Placement>, DbError>;
    /// Live collections by name, with how many copies each holds.
    fn collections(&mut self) -> Result<Vec<CollectionSummary>, DbError>;
    /// How many live placements of `collection` match `filter` (empty: all).
    fn placement_count(&mut self, collection: CollectionId, filter: &str)
    -> Result<usize, DbError>;
    /// A window of a collection's live placements, in the asked order (see [`WindowQuery`]).
    fn placement_window(&mut self, query: &WindowQuery) -> Result<Window, DbError>;
    /// The key of every `every`th live placement of `collection` in `sort`'s ascending order,
    /// from the first: marks a scroll bar can land on anywhere in a long collection.
    fn order_marks(
        &mut self,
        collection: CollectionId,
        sort: SortKey,
        every: usize,
    ) -> Result<Vec<RowKey>, DbError>;
    /// Live books whose title, authors, ISBN, publisher or a copy's barcode contain `text`
    /// (empty: all), by title; at most `limit` (for picking a book by name).
    fn books_containing(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError>;
    /// Search as you type: books matching every word of `text`, or with a copy whose barcode or
    /// a placement whose shelf mark starts with it; by title, at most `limit`.
    fn search_books(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError>;
    /// Live collections whose name holds every word of `text`.
    fn search_collections(
        &mut self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<CollectionSummary>, DbError>;
    /// The live copies of `book`, by barcode, with where each is placed.
    fn copies_of(&mut self, book: BookId) -> Result<Vec<CopyRow>, DbError>;
    /// The Trash, newest first, at most `limit` items.
    fn trash(&mut self, limit: usize) -> Result<Vec<TrashRow>, DbError>;
    /// Whether the library holds anything at all (live or in the Trash).
    fn is_empty(&mut self) -> Result<bool, DbError>;
    /// Rows per table (live and in the Trash).
    fn counts(&mut self) -> Result<Counts, DbError>;
    /// Streams live books, copies and placements (of one collection, if given) to `row`, in
    /// a stable order; returns how many rows were given. An error from `row` stops the stream
    /// and is returned as is.
    fn export(
        &mut self,
        collection: Option<CollectionId>,
        row: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
    ) -> Result<usize, ExportError>;
    /// Streams every live book with its source record and its copies, a book's rows together
    /// (for a MARC export); returns how many rows were given.
    fn export_records(
        &mut self,
        row: &mut dyn FnMut(&crate::model::RecordRow) -> Result<(), std::io::Error>,
    ) -> Result<usize, ExportError>;
    /// The words a title may start with that do not file (the library's setting).
    fn articles(&mut self) -> Result<Vec<String>, DbError>;
    /// Integrity, foreign keys, live uniqueness and the search index. Reads only.
    fn check(&mut self) -> Result<CheckReport, DbError>;
    /// [`Reads::check`], telling `step` what is being checked as each part starts.
    fn check_reporting(
        &mut self,
        step: &mut dyn FnMut(&'static str),
    ) -> Result<CheckReport, DbError>;

    fn book(&mut self, id: BookId) -> Result<Option<Book>, DbError> {
        Ok(match self.record(id.into())? {
            Some(Record::Book(b)) => Some(b),
            _ => None,
        })
    }
    fn copy(&mut self, id: CopyId) -> Result<Option<Copy>, DbError> {
        Ok(match self.record(id.into())? {
            Some(Record::Copy(c)) => Some(c),
            _ => None,
        })
    }
    fn collection(&mut self, id: CollectionId) -> Result<Option<Collection>, DbError> {
        Ok(match self.record(id.into())? {
            Some(Record::Collection(c)) => Some(c),
            _ => None,
        })
    }
    fn placement(&mut self, id: PlacementId) -> Result<Option<Placement>, DbError> {
        Ok(match self.record(id.into())? {
            Some(Record::Placement(p)) => Some(p),
            _ => None,
        })
    }
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Read(#[from] DbError),
    #[error(transparent)]
    Write(#[from] std::io::Error),
}

/// How a save inside a batch went wrong in a way that is not an outcome.
#[derive(Debug)]
pub enum SaveFault {
    /// The whole transaction is gone (disk full, I/O error): this save fails with `Failure`;
    /// the other saves of the batch are tried again without it.
    Aborted(crate::model::Failure),
    /// The lock was lost in a way that needs a fresh start: try the whole batch again.
    Retry,
}

/// The writer's side of the seam: group commit, one savepoint per save.
///
/// Architecture invariant: a save is acknowledged only after [`commit`](Self::commit)
/// returned `Ok`; every write transaction holds the library's write lock from its first
/// statement (`BEGIN IMMEDIATE` on a file), so no transaction reads and then upgrades.
pub trait BatchWriter: Send {
    /// Waits until this writer holds the library's write lock inside an open transaction.
    /// While it waits it calls `waiting` every few milliseconds, saying why (so new saves can
    /// join the batch and editors can be told). Never gives up on a lock held by someone else,
    /// nor on a server that is away.
    fn begin(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), DbError>;
    /// Applies one save in its own savepoint: kept if it wrote, rolled back otherwise. Stamped
    /// with a moment later than every earlier save of this writer. `request` identifies the
    /// save wherever it is sent from: a save whose request already landed is not applied again.
    fn save(&mut self, request: uuid::Uuid, op: &Op) -> Result<Outcome, SaveFault>;
    /// Commits the open transaction. If the answer to COMMIT is lost, finds out (waiting for
    /// the server as long as it takes) whether it landed.
    fn commit(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), SaveFault>;
    /// Rolls back the open transaction, if one is open.
    fn rollback(&mut self);
}

/// Notices commits made by other processes.
pub trait ChangeSource: Send {
    /// Takes the baseline: changes committed from now on are noticed.
    fn prime(&mut self);
    /// Waits up to about `interval`, sleeping through `sleep` (which returns true if the wait
    /// should end at once: the watcher is stopping); true if the library changed since the
    /// last call. Failures heal themselves on the next call (a fresh connection is taken).
    fn wait(&mut self, sleep: &mut dyn FnMut(Duration) -> bool) -> bool;
}

/// Loading many rows in one transaction (the seed generator). Each insert is stamped with the
/// moment it is given; live uniqueness still holds (a duplicate is an error).
pub trait Bulk {
    fn insert_book(&mut self, book: &ValidBook, at: Stamp) -> Result<BookId, DbError>;
    fn insert_copy(&mut self, copy: &ValidCopy, at: Stamp) -> Result<CopyId, DbError>;
    fn insert_collection(
        &mut self,
        collection: &ValidCollection,
        at: Stamp,
    ) -> Result<CollectionId, DbError>;
    fn insert_placement(
        &mut self,
        placement: &ValidPlacement,
        at: Stamp,
    ) -> Result<PlacementId, DbError>;
    /// Brings the search index up to date and commits.
    fn finish(self: Box<Self>) -> Result<(), DbError>;
}
