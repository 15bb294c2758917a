//! The server's side of the writer seam: one transaction per batch under the library's advisory
//! lock, each save in its own SAVEPOINT with its request id recorded, stamps from the server's
//! clock, and saves that survive the connection.
//!
//! - The lock: `pg_advisory_xact_lock(WRITE_LOCK)` is the first statement of every write
//!   transaction. The server queues the waiters; the writer first tries without waiting, so it
//!   can tell its editors that another computer is saving.
//! - Stamps: the server's `clock_timestamp()` once the lock is held, then one microsecond more
//!   for each save of the batch (and never earlier than this writer's last stamp). Writers hold
//!   the lock in turn, so every computer's saves are stamped in commit order by one clock.
//! - Exactly once: a save's request id (a UUID made where the save was made) is recorded in the
//!   save's own savepoint with what it saved. A save whose id is already recorded is answered
//!   from the record, not applied again. When the connection drops around COMMIT, the writer
//!   reconnects and asks whether the batch's ids are there: then the batch landed; if not, it
//!   is tried again. No save is reported failed when it landed, or saved when it did not.
//! - The server away: connecting is retried for as long as it takes, the editors told that
//!   their saves wait for the server; they land once each, in order, when it is back.

use std::time::{Duration, Instant};

use postgres::error::SqlState;
use uuid::Uuid;

use super::{PgConn, PgSession, ServerLibrary, WRITE_LOCK, abandon};
use crate::db::engine::write::{WriteTx, apply};
use crate::db::{BatchWriter, DbError, SaveFault, Wait, failure_of};
use crate::model::{ImportSummary, Kind, Op, Outcome, RecordRef, Stamp};

/// How often old change-log rows (30 days) and request ids (90 days) are cleared away.
const CLEAN_EVERY: Duration = Duration::from_hours(1);

/// How often a writer folds the collections' count deltas into their counts.
const FOLD_EVERY: Duration = Duration::from_secs(2);

/// Folds the collections' count deltas into their counts (see schema 0004): one statement, so
/// a reader's snapshot sees each delta either still there or folded, never both. Run inside a
/// write transaction: by the writers every few seconds, and by every bulk load before its
/// commit (a load's COPY statements leave a delta per collection per ten thousand rows: 399 070
/// of them after seeding ten million placements, which every count then summed).
pub(crate) fn fold_counts(client: &mut postgres::Client) -> Result<(), postgres::Error> {
    client.batch_execute(FOLD_COUNTS)
}

const FOLD_COUNTS: &str = "
    WITH gone AS (DELETE FROM collection_count_deltas RETURNING collection_id, delta)
    INSERT INTO collection_counts (collection_id, live)
    SELECT g.collection_id, sum(g.delta) FROM gone g
    WHERE EXISTS (SELECT 1 FROM collections k WHERE k.id = g.collection_id)
    GROUP BY g.collection_id
    ON CONFLICT (collection_id) DO UPDATE SET live = collection_counts.live + excluded.live";

/// The longest pause between two attempts to reach the server.
const MAX_PAUSE: Duration = Duration::from_secs(2);

pub(crate) struct ServerBatchWriter {
    library: ServerLibrary,
    conn: Option<PgConn>,
    /// Whether a transaction is open on `conn`.
    open: bool,
    /// The request ids the open transaction recorded (to ask after an unanswered COMMIT).
    written: Vec<Uuid>,
    /// The stamp the next save gets.
    next: Stamp,
    cleaned: Option<Instant>,
    folded: Option<Instant>,
    /// Set while the server is known to be away (a replica takes the saves): then the writer
    /// gives up waiting for it instead of waiting for as long as it takes.
    give_up: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl ServerBatchWriter {
    pub(crate) fn new(library: ServerLibrary) -> Self {
        ServerBatchWriter {
            library,
            conn: None,
            open: false,
            written: Vec::new(),
            next: Stamp(jiff::Timestamp::UNIX_EPOCH),
            cleaned: None,
            folded: None,
            give_up: None,
        }
    }

    /// A writer that stops waiting for the server once `offline` is set.
    pub(crate) fn giving_up_when(
        library: ServerLibrary,
        offline: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        ServerBatchWriter {
            give_up: Some(offline),
            ..ServerBatchWriter::new(library)
        }
    }

    fn gave_up(&self) -> bool {
        self.give_up
            .as_ref()
            .is_some_and(|g| g.load(std::sync::atomic::Ordering::Acquire))
    }

    /// Connects (again), for as long as it takes; `waiting` hears that saves wait for the
    /// server. Errors other than an unreachable server (a refused password) are returned.
    fn connected(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<&mut PgConn, DbError> {
        let mut pause = Duration::from_millis(50);
        while self.conn.is_none() {
            let attempt = if self.give_up.is_some() {
                self.library.connect_within(super::config::CONNECT_TIMEOUT)
            } else {
                self.library.connect()
            };
            match attempt {
                Ok(c) => self.conn = Some(c),
                Err(e) if is_disconnect(&e) || matches!(e, DbError::Offline) => {
                    if self.gave_up() {
                        return Err(DbError::Offline);
                    }
                    waiting(Wait::Server);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                Err(e) => return Err(e),
            }
        }
        self.conn
            .as_mut()
            .ok_or_else(|| DbError::Data("no connection".to_owned()))
    }

    /// BEGIN, the write lock, and the batch's first stamp.
    fn try_begin(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), DbError> {
        let clean = self.cleaned.is_none_or(|t| t.elapsed() > CLEAN_EVERY);
        let fold = self.folded.is_none_or(|t| t.elapsed() > FOLD_EVERY);
        let conn = self.connected(waiting)?;
        conn.client.batch_execute("BEGIN")?;
        conn.held = false;
        let lock = conn.own("SELECT pg_try_advisory_xact_lock($1), clock_timestamp()")?;
        let row = conn.client.query_one(&lock, &[&WRITE_LOCK])?;
        let mut now: jiff::Timestamp = row.get(1);
        if !row.get::<_, bool>(0) {
            // Another computer is saving: the server queues us.
            waiting(Wait::Lock);
            now = conn
                .client
                .query_one(
                    "SELECT clock_timestamp() FROM pg_advisory_xact_lock($1)",
                    &[&WRITE_LOCK],
                )?
                .get(0);
        }
        if clean {
            conn.client.batch_execute(
                "DELETE FROM change_log WHERE at < now() - interval '30 days';
                 DELETE FROM requests WHERE at < now() - interval '90 days';",
            )?;
        }
        if fold {
            fold_counts(&mut conn.client)?;
        }
        self.open = true;
        if clean {
            self.cleaned = Some(Instant::now());
        }
        if fold {
            self.folded = Some(Instant::now());
        }
        let now = Stamp(now).truncated();
        if now > self.next {
            self.next = now;
        }
        Ok(())
    }

    fn stamp(&mut self) -> Stamp {
        let stamp = self.next;
        self.next = stamp.next();
        stamp
    }

    /// Drops the connection after a fault that may have broken it.
    fn lose(&mut self) {
        abandon(self.conn.take());
        self.open = false;
    }
}

/// The connection is gone or the server is (re)starting: reconnect and try again.
pub(crate) fn is_disconnect(e: &DbError) -> bool {
    match e {
        DbError::Postgres(e) => {
            if let Some(db) = e.as_db_error() {
                let code = db.code().code();
                code.starts_with("08")
                    || matches!(
                        *db.code(),
                        SqlState::ADMIN_SHUTDOWN
                            | SqlState::CRASH_SHUTDOWN
                            | SqlState::CANNOT_CONNECT_NOW
                    )
            } else {
                // No answer from the server at all: a closed connection, an I/O error.
                e.is_closed()
                    || std::error::Error::source(e)
                        .is_some_and(|s| s.downcast_ref::<std::io::Error>().is_some())
            }
        }
        DbError::Pool(_) => true,
        _ => false,
    }
}

/// A conflict between transactions that trying again resolves (a deadlock, a serialisation
/// failure): the save is not lost, the batch runs again.
fn is_retry(e: &DbError) -> bool {
    matches!(e, DbError::Postgres(e) if e.as_db_error().is_some_and(|db| matches!(
        *db.code(),
        SqlState::T_R_DEADLOCK_DETECTED | SqlState::T_R_SERIALIZATION_FAILURE
    )))
}

/// What a request recorded, as the outcome it had.
fn recorded(conn: &mut PgConn, request: Uuid) -> Result<Option<Outcome>, DbError> {
    let asked = conn.own("SELECT kind, record_id, version FROM requests WHERE id = $1")?;
    let row = conn.client.query_opt(&asked, &[&request])?;
    Ok(row.map(|r| {
        let kind: String = r.get(0);
        let (id, version): (i64, i64) = (r.get(1), r.get(2));
        let record = |kind| Outcome::Saved {
            record: RecordRef { kind, id },
            version,
        };
        match kind.as_str() {
            "book" => record(Kind::Book),
            "copy" => record(Kind::Copy),
            "collection" => record(Kind::Collection),
            "placement" => record(Kind::Placement),
            "import" => Outcome::Imported(ImportSummary::default()),
            _ => Outcome::Settings,
        }
    }))
}

fn record(conn: &mut PgConn, request: Uuid, at: Stamp, outcome: &Outcome) -> Result<(), DbError> {
    let (kind, id, version) = match outcome {
        Outcome::Saved { record, version } => (record.kind.noun(), record.id, *version),
        Outcome::Imported(_) => ("import", 0, 0),
        _ => ("settings", 0, 0),
    };
    let insert = conn.own(
        "INSERT INTO requests (id, at, kind, record_id, version) VALUES ($1, $2, $3, $4, $5)",
    )?;
    conn.client
        .execute(&insert, &[&request, &at.0, &kind, &id, &version])?;
    Ok(())
}

/// One save in its own savepoint: kept (with its request id) if it wrote, undone otherwise.
fn save_one(
    conn: &mut PgConn,
    request: Uuid,
    stamp: Stamp,
    by: &str,
    op: &Op,
) -> Result<(Outcome, bool), DbError> {
    // The previous save's savepoint is released in the same round trip.
    if std::mem::take(&mut conn.held) {
        conn.client
            .batch_execute("RELEASE SAVEPOINT save; SAVEPOINT save")?;
    } else {
        conn.client.batch_execute("SAVEPOINT save")?;
    }
    if let Some(outcome) = recorded(conn, request)? {
        conn.held = true;
        return Ok((outcome, false));
    }
    let result = {
        let session = PgSession::in_savepoint(conn, "save");
        apply(&WriteTx::new(&session, stamp, by), op)
    };
    match result {
        Ok(outcome) if outcome.wrote() => {
            record(conn, request, stamp, &outcome)?;
            conn.held = true;
            Ok((outcome, true))
        }
        Ok(outcome) => {
            conn.client
                .batch_execute("ROLLBACK TO SAVEPOINT save; RELEASE SAVEPOINT save")?;
            Ok((outcome, false))
        }
        Err(e) => {
            // The transaction is aborted until it rolls back to the savepoint.
            let _ = conn
                .client
                .batch_execute("ROLLBACK TO SAVEPOINT save; RELEASE SAVEPOINT save");
            Err(e)
        }
    }
}

impl BatchWriter for ServerBatchWriter {
    fn begin(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), DbError> {
        self.rollback();
        let mut pause = Duration::from_millis(50);
        loop {
            match self.try_begin(waiting) {
                Ok(()) => return Ok(()),
                Err(DbError::Offline) => {
                    self.lose();
                    return Err(DbError::Offline);
                }
                Err(e) if is_disconnect(&e) || is_retry(&e) => {
                    self.lose();
                    if self.gave_up() {
                        return Err(DbError::Offline);
                    }
                    waiting(Wait::Server);
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_PAUSE);
                }
                Err(e) => {
                    self.rollback();
                    return Err(e);
                }
            }
        }
    }

    fn save(&mut self, request: Uuid, op: &Op) -> Result<Outcome, SaveFault> {
        let stamp = self.stamp();
        let by = self.library.workstation();
        let Some(conn) = self.conn.as_mut().filter(|_| self.open) else {
            return Err(SaveFault::Retry);
        };
        match save_one(conn, request, stamp, &by, op) {
            Ok((outcome, wrote)) => {
                if wrote {
                    self.written.push(request);
                }
                Ok(outcome)
            }
            Err(e) if is_disconnect(&e) => {
                self.lose();
                Err(SaveFault::Retry)
            }
            Err(e) if is_retry(&e) => {
                self.rollback();
                Err(SaveFault::Retry)
            }
            // This save fails in words; the transaction (rolled back to its savepoint) goes on.
            Err(e) => Ok(Outcome::Failed(failure_of(&e))),
        }
    }

    fn commit(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), SaveFault> {
        let Some(conn) = self.conn.as_mut().filter(|_| self.open) else {
            return Err(SaveFault::Retry);
        };
        let result = conn.client.batch_execute("COMMIT").map_err(DbError::from);
        self.open = false;
        let written = std::mem::take(&mut self.written);
        match result {
            Ok(()) => Ok(()),
            Err(e) if is_disconnect(&e) => {
                // The answer to COMMIT was lost: ask the server whether the batch landed.
                self.lose();
                if written.is_empty() {
                    return Err(SaveFault::Retry);
                }
                loop {
                    let conn = match self.connected(waiting) {
                        Ok(conn) => conn,
                        // Unknown whether it landed: the saves go to the outbox under the same
                        // request ids, and land once whichever way it was.
                        Err(DbError::Offline) => return Err(SaveFault::Retry),
                        Err(e) => return Err(SaveFault::Aborted(failure_of(&e))),
                    };
                    if let Ok(row) = conn.client.query_one(
                        "SELECT count(*) FROM requests WHERE id = ANY($1)",
                        &[&written],
                    ) {
                        let found: i64 = row.get(0);
                        // All of them landed, or (the transaction is atomic) none did.
                        return if found as usize == written.len() {
                            Ok(())
                        } else {
                            Err(SaveFault::Retry)
                        };
                    }
                    self.lose();
                    waiting(Wait::Server);
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            Err(e) if is_retry(&e) => Err(SaveFault::Retry),
            Err(e) => Err(SaveFault::Aborted(failure_of(&e))),
        }
    }

    fn rollback(&mut self) {
        self.written.clear();
        if self.open {
            self.open = false;
            if let Some(conn) = self.conn.as_mut()
                && conn.client.batch_execute("ROLLBACK").is_err()
            {
                abandon(self.conn.take());
            }
        }
    }
}
