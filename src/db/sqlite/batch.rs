//! The file's side of the writer seam: one `BEGIN IMMEDIATE` transaction per batch, each save in
//! its own SAVEPOINT, and fair turns between Shelfmark processes.
//!
//! Between processes:
//! - Shelfmark writers first take an exclusive `flock` on a sidecar file (`<library>-writer`):
//!   the kernel queues the waiters and wakes one the moment the lock is released, so processes
//!   take turns instead of sleeping through each other's idle moments. This is only for
//!   fairness and speed; it is not the arbiter (other programs do not know it).
//! - Then `BEGIN IMMEDIATE` takes SQLite's write lock, retried with short jittered back-off
//!   while another program holds it: never given up, never dropped. (SQLite's busy handler is a
//!   sleep-poll, not a queue, so it is switched off while taking the lock.)

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusqlite::Connection;

use super::session::FileSession;
use super::{BUSY_TIMEOUT, FileLibrary, PooledConnection};
use crate::db::engine::write::{WriteTx, apply};
use crate::db::error::{failure_of, is_busy};
use crate::db::{BatchWriter, DbError, SaveFault, Wait};
use crate::model::{Op, Outcome, Stamp};

/// The writer of one library file (one per save executor).
pub(crate) struct FileBatchWriter {
    library: FileLibrary,
    gate: Option<Arc<File>>,
    /// While a batch is open: its connection, and the held sidecar lock.
    open: Option<(PooledConnection, Option<GateGuard>)>,
    last_stamp: Stamp,
}

impl FileBatchWriter {
    pub(crate) fn new(library: FileLibrary) -> Self {
        let gate = if library.read_only().is_some() {
            None
        } else {
            open_gate(library.path()).map(Arc::new)
        };
        FileBatchWriter {
            library,
            gate,
            open: None,
            last_stamp: Stamp(jiff::Timestamp::UNIX_EPOCH),
        }
    }

    /// A stamp later than every earlier one of this writer (the clock may stand still or step
    /// back; stored order must not).
    fn next_stamp(&mut self) -> Stamp {
        let now = Stamp::now().truncated();
        let stamp = if now > self.last_stamp {
            now
        } else {
            self.last_stamp.next()
        };
        self.last_stamp = stamp;
        stamp
    }

    /// Takes the sidecar lock that queues Shelfmark writers, waiting in the kernel's queue if
    /// another process holds it.
    fn enter_gate(&self, waiting: &mut dyn FnMut(Wait)) -> Option<GateGuard> {
        let gate = self.gate.as_ref()?;
        match gate.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting(Wait::Lock);
                gate.lock().ok()?;
            }
            // A file system without locks: SQLite's lock alone serialises.
            Err(std::fs::TryLockError::Error(_)) => return None,
        }
        Some(GateGuard(Arc::clone(gate)))
    }

    fn conn(&self) -> Option<&Connection> {
        self.open.as_ref().map(|(c, _)| &**c)
    }
}

/// Holds the sidecar lock; releases it on drop.
struct GateGuard(Arc<File>);

impl Drop for GateGuard {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// The sidecar file whose `flock` queues Shelfmark writers of one library fairly. `None` where
/// it cannot be made (a read-only folder): SQLite's own lock still serialises writers.
fn open_gate(library: &Path) -> Option<File> {
    let mut name = library.as_os_str().to_owned();
    name.push("-writer");
    std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(name)
        .ok()
}

/// `BEGIN IMMEDIATE`, retried with jittered back-off until it succeeds.
fn begin_immediate(conn: &Connection, waiting: &mut dyn FnMut(Wait)) -> rusqlite::Result<()> {
    // Our own back-off replaces SQLite's busy handler while taking the lock.
    conn.busy_timeout(Duration::ZERO)?;
    let mut pause = Duration::from_micros(100);
    let result = loop {
        match conn.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => break Ok(()),
            Err(e) if is_busy(&e) => {
                waiting(Wait::Lock);
                // Jitter keeps several processes from retrying in lock step.
                let jitter = fastrand::u64(0..=pause.as_micros() as u64);
                std::thread::sleep(pause / 2 + Duration::from_micros(jitter / 2));
                pause = (pause * 2).min(Duration::from_millis(4));
            }
            Err(e) => break Err(e),
        }
    };
    conn.busy_timeout(BUSY_TIMEOUT)?;
    result
}

impl BatchWriter for FileBatchWriter {
    fn begin(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), DbError> {
        self.rollback();
        let conn = self.library.connection()?;
        // The size cap is per connection, and this one may be new to the writer.
        let max_pages = match self.library.max_pages() {
            0 => 4_294_967_294,
            n => n,
        };
        conn.pragma_update(None, "max_page_count", max_pages as i64)?;
        let gate = self.enter_gate(waiting);
        begin_immediate(&conn, waiting)?;
        self.open = Some((conn, gate));
        Ok(())
    }

    fn save(&mut self, request: uuid::Uuid, op: &Op) -> Result<Outcome, SaveFault> {
        // A file has no ambiguous commits (the answer cannot be lost on the way), and a save
        // is sent to it once: the request id is only kept by a replica's outbox, which sends
        // the save on to the server under it.
        let stamp = self.next_stamp();
        let Some(conn) = self.conn() else {
            return Err(SaveFault::Retry);
        };
        let by = self.library.workstation();
        let queue = self.library.is_replica().then_some(request);
        if queue.is_some() && !crate::db::replica::outbox::queueable(op) {
            return Ok(Outcome::Failed(crate::model::Failure {
                kind: crate::model::FailureKind::Other,
                message: "this needs the library server, which cannot be reached now; try again when it is back".to_owned(),
            }));
        }
        match save_one(conn, stamp, &by, op, queue) {
            Ok(outcome) => Ok(outcome),
            Err(e) if conn.is_autocommit() => {
                // SQLite rolled back the whole transaction.
                Err(if e.is_busy() {
                    SaveFault::Retry
                } else {
                    SaveFault::Aborted(failure_of(&e))
                })
            }
            Err(e) if e.is_busy() => {
                self.rollback();
                Err(SaveFault::Retry)
            }
            Err(e) => Ok(Outcome::Failed(failure_of(&e))),
        }
    }

    fn commit(&mut self, _waiting: &mut dyn FnMut(Wait)) -> Result<(), SaveFault> {
        let Some(conn) = self.conn() else {
            return Err(SaveFault::Retry);
        };
        let result = commit(conn);
        let fault = match result {
            Ok(()) => None,
            Err(e) if is_busy(&e) => Some(SaveFault::Retry),
            Err(e) => Some(SaveFault::Aborted(failure_of(&e))),
        };
        self.rollback();
        fault.map_or(Ok(()), Err)
    }

    fn rollback(&mut self) {
        if let Some((conn, gate)) = self.open.take() {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            // Also when SQLite rolled the transaction back itself (a full disk in a bulk load).
            let _ = super::bulk::usual_cache(&conn);
            drop(gate);
        }
    }
}

/// One save inside its own savepoint: kept if saved, rolled back otherwise.
/// On a replica (`queue`: the save's request id) a save that wrote also goes to the outbox.
fn save_one(
    conn: &Connection,
    stamp: Stamp,
    by: &str,
    op: &Op,
    queue: Option<uuid::Uuid>,
) -> Result<Outcome, DbError> {
    conn.prepare_cached("SAVEPOINT save")?.execute([])?;
    let session = if queue.is_some() {
        FileSession::replica(conn)
    } else {
        FileSession::new(conn)
    };
    let mut result = apply(&WriteTx::new(&session, stamp, by), op);
    if conn.is_autocommit() {
        return result; // the transaction is gone; the caller sees why
    }
    if let (Some(request), Ok(outcome)) = (queue, &result)
        && outcome.wrote()
        && let Err(e) = crate::db::replica::outbox::queue(conn, request, op, outcome, stamp, by)
    {
        result = Err(e);
    }
    match &result {
        Ok(o) if o.wrote() => {
            conn.prepare_cached("RELEASE save")?.execute([])?;
        }
        _ => {
            conn.prepare_cached("ROLLBACK TO save")?.execute([])?;
            conn.prepare_cached("RELEASE save")?.execute([])?;
            if matches!(op, Op::Import(_)) {
                // An import refused halfway leaves its bulk cache behind.
                super::bulk::usual_cache(conn)?;
            }
        }
    }
    result
}

/// COMMIT; a busy commit (possible only in unusual journal states) is retried briefly.
fn commit(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.execute_batch("COMMIT") {
            Err(e) if is_busy(&e) && !conn.is_autocommit() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(1));
            }
            other => return other,
        }
    }
}
