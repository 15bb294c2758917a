//! A shared library that keeps working when its server is away.
//!
//! Each computer keeps a replica of the shared library: an SQLite file in its data directory
//! (`replicas/`), filled on first connect from one snapshot of the server and kept current from
//! the server's change log. The replica is marked (`replica_state`), so `--db` refuses to open it
//! as a library of its own.
//!
//! - **Online**, with nothing waiting to be sent: reads and saves go to the server, exactly as
//!   for a shared library without a replica; the replica follows the change log.
//! - **Offline** (or while saves still wait to be sent): reads come from the replica, and saves
//!   are applied to it (its partial unique indexes give early feedback against what this
//!   computer knows) and written, in the same `synchronous=FULL` transaction, to its outbox.
//!   New records get provisional, negative ids.
//! - **Back online**: one process per computer (a lock beside the replica) replays the outbox
//!   through the server's own save path, in order, under each save's request id (exactly once);
//!   provisional ids are rewritten to the server's as their creates land. Each entry lands or
//!   waits in Needs attention for a librarian's decision. Then one pull makes the replica equal
//!   to the server again (see [`sync`]).
//! - **Noticing**: a heartbeat on a connection of its own (`is_valid`, 2 s) every half second,
//!   with TCP keepalives and `tcp_user_timeout` on every connection, notices a stopped server
//!   (a reset) and a dead line (no answer) within a few seconds; a writer that finds the server
//!   gone mid-batch gives its saves to the replica under the same request ids.

pub(crate) mod outbox;
mod sync;

use std::collections::BTreeSet;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use uuid::Uuid;

use super::postgres::{self, ServerLibrary};
use super::sqlite::FileLibrary;
use super::{BatchWriter, ChangeSource, DbError, OpenError, OpenOptions, Reads, SaveFault, Wait};
use crate::model::{
    Attention, Decision, Draft, Kind, Op, Outcome, PlacementDraft, RecordRef, Stamp, SyncStatus,
};

/// How often the heartbeat asks the server whether it is there.
const HEARTBEAT: Duration = Duration::from_millis(500);
/// How long the heartbeat waits for the answer before the server counts as away.
const HEARTBEAT_TIMEOUT: Duration = Duration::from_secs(2);

struct Shared {
    server: ServerLibrary,
    replica: FileLibrary,
    path: PathBuf,
    /// Set while this computer works offline: from the first missed heartbeat until the
    /// server answers again and nothing waits to be sent.
    offline: Arc<AtomicBool>,
    /// Whether the last heartbeat was answered.
    reachable: AtomicBool,
    /// Set to work offline although the server answers (`Library::hold_offline`).
    held_offline: AtomicBool,
    /// What the UI may look at without touching a database (kept by the monitor).
    cached: parking_lot::Mutex<SyncStatus>,
    /// Grows whenever what the windows show may have changed in a way the server's change log
    /// does not say (going off- or online, a replay, a pull, a decision).
    epoch: AtomicU64,
    /// When the cache was last read from the replica.
    refreshed: parking_lot::Mutex<Option<std::time::Instant>>,
    /// Wakes the monitor before its next beat.
    nudge: (parking_lot::Mutex<bool>, parking_lot::Condvar),
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedLibrary")
            .field("replica", &self.path)
            .field("offline", &self.offline.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A shared library with this computer's replica. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct SharedLibrary {
    inner: Arc<Shared>,
}

/// Where the replica of the library at `address` lives in `dir`.
pub(crate) fn replica_path(dir: &Path, address: &postgres::ServerAddress) -> PathBuf {
    let name: String = format!(
        "{}@{}_{}_{}",
        address.user, address.host, address.port, address.database
    )
    .chars()
    .map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@') {
            c
        } else {
            '_'
        }
    })
    .collect();
    dir.join("replicas").join(format!("{name}.sqlite3"))
}

impl SharedLibrary {
    /// Opens the shared library at `address` with its replica in `dir`: on the server if it
    /// answers (making the replica on first connect), else on the replica, offline.
    #[allow(
        clippy::disallowed_methods,
        reason = "the db layer cannot use tasks::Worker; the heartbeat and the syncer hold only \
                  a weak reference and end within a beat of the library's last clone"
    )]
    pub(crate) fn open(
        address: &postgres::ServerAddress,
        password: Option<&str>,
        options: &OpenOptions,
        dir: &Path,
    ) -> Result<SharedLibrary, OpenError> {
        let path = replica_path(dir, address);
        let io = |e: std::io::Error| OpenError::Io {
            path: path.clone(),
            source: e,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let (server, offline) = match ServerLibrary::open(address, password, options) {
            Ok(server) => {
                if !path.exists() {
                    sync::fill(&server, &path).map_err(|e| OpenError::Upgrade {
                        path: path.clone(),
                        source: Box::new(e),
                    })?;
                }
                (server, false)
            }
            Err(OpenError::Unreachable { server, detail }) => {
                if !path.exists() {
                    return Err(OpenError::Unreachable {
                        server,
                        detail: format!(
                            "{detail} (this computer has no copy of it yet to work on offline: it is made the first time the server is reached)"
                        ),
                    });
                }
                (
                    ServerLibrary::open_offline(address, password, options)?,
                    true,
                )
            }
            Err(e) => return Err(e),
        };
        let replica = FileLibrary::open_replica(&path, options)?;
        // The replica's own tables, as this build has them (all `IF NOT EXISTS`).
        replica
            .pooled()
            .and_then(|c| Ok(c.execute_batch(outbox::SCHEMA)?))
            .map_err(|e| OpenError::Upgrade {
                path: path.clone(),
                source: Box::new(e),
            })?;
        let spawn_failed = io;
        let shared = Arc::new(Shared {
            server,
            replica,
            path: path.clone(),
            offline: Arc::new(AtomicBool::new(offline)),
            reachable: AtomicBool::new(!offline),
            held_offline: AtomicBool::new(false),
            cached: parking_lot::Mutex::new(SyncStatus::default()),
            epoch: AtomicU64::new(0),
            refreshed: parking_lot::Mutex::new(None),
            nudge: (parking_lot::Mutex::new(false), parking_lot::Condvar::new()),
        });
        if offline {
            shared.cached.lock().offline_since = Some(Stamp::now());
        } else {
            // Catch up now, so the first window shows what the server has.
            catch_up(&shared);
        }
        refresh(&shared);
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("shelfmark-heartbeat".to_owned())
            .spawn(move || heartbeat(&weak))
            .map_err(&spawn_failed)?;
        let weak = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("shelfmark-sync".to_owned())
            .spawn(move || syncer(&weak))
            .map_err(&spawn_failed)?;
        Ok(SharedLibrary { inner: shared })
    }

    pub(crate) fn server(&self) -> &ServerLibrary {
        &self.inner.server
    }

    pub(crate) fn replica_file(&self) -> &Path {
        &self.inner.path
    }

    pub(crate) fn is_offline(&self) -> bool {
        self.inner.offline.load(Ordering::Acquire)
    }

    pub(crate) fn set_workstation(&self, name: &str) {
        self.inner.server.set_workstation(name);
        self.inner.replica.set_workstation(name);
    }

    /// Whether reads and saves go to the replica now.
    fn on_replica(&self) -> bool {
        on_replica(&self.inner)
    }

    pub(crate) fn reads(&self) -> Result<Box<dyn Reads>, DbError> {
        if self.on_replica() {
            Ok(Box::new(self.inner.replica.reads()?))
        } else {
            Ok(Box::new(self.inner.server.reads()?))
        }
    }

    pub(crate) fn batch_writer(&self) -> SharedWriter {
        SharedWriter {
            shared: Arc::clone(&self.inner),
            server: postgres::ServerBatchWriter::giving_up_when(
                self.inner.server.clone(),
                Arc::clone(&self.inner.offline),
            ),
            replica: self.inner.replica.batch_writer(),
            side: None,
        }
    }

    pub(crate) fn change_source(&self, interval: Duration) -> SharedChanges {
        SharedChanges {
            shared: Arc::clone(&self.inner),
            server: self.inner.server.change_source(interval),
            replica: self.inner.replica.change_source(interval),
            epoch: 0,
        }
    }

    /// How this computer stands with the server (kept in memory: cheap, on any thread).
    pub(crate) fn status(&self) -> SyncStatus {
        let mut status = self.inner.cached.lock().clone();
        status.online = !self.is_offline();
        status
    }

    pub(crate) fn local_state(&self, record: RecordRef) -> Option<crate::model::LocalState> {
        self.inner.cached.lock().state_of(record)
    }

    /// The saves that wait for a decision. Reads the replica: not on the UI thread.
    pub(crate) fn attention(&self) -> Result<Vec<Attention>, DbError> {
        let conn = self.inner.replica.pooled()?;
        outbox::attention(&conn)
    }

    /// Carries out a librarian's decision on entry `seq`. Reads the replica: not on the UI
    /// thread.
    pub(crate) fn decide(&self, seq: i64, decision: &Decision) -> Result<(), DecideError> {
        let conn = self.inner.replica.pooled()?;
        let result = outbox::in_tx(&conn, || {
            decide_in(&conn, seq, decision).map(|()| ((), true))
        });
        drop(conn);
        bump(&self.inner);
        refresh_now(&self.inner);
        nudge(&self.inner);
        result
    }

    /// The differences between the replica and the server, row for row (empty: the same).
    pub(crate) fn differences(&self, limit: usize) -> Result<Vec<String>, DbError> {
        let mut conn = self.inner.server.connect()?;
        conn.client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
        let found = {
            let server = postgres::PgSession::new(&mut conn);
            self.inner.replica.read_snapshot(|replica| {
                crate::db::engine::copy::differences(replica, &server, limit)
            })?
        };
        let _ = conn.client.batch_execute("COMMIT");
        found
    }

    /// Works offline (on) although the server answers, or goes back to following the server.
    pub(crate) fn hold_offline(&self, on: bool) {
        self.inner.held_offline.store(on, Ordering::Release);
    }

    /// Asks the monitor to look at the server (and replay, pull) now.
    pub(crate) fn sync_now(&self) {
        nudge(&self.inner);
    }
}

/// Why a decision could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum DecideError {
    #[error("{0}")]
    Words(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for DecideError {
    fn from(e: rusqlite::Error) -> Self {
        DecideError::Db(e.into())
    }
}

fn decide_in(
    conn: &rusqlite::Connection,
    seq: i64,
    decision: &Decision,
) -> Result<(), DecideError> {
    let words = |w: &str| DecideError::Words(w.to_owned());
    let Some(mine) = outbox::op_of(conn, seq)? else {
        return Err(words("This change was already decided on another window."));
    };
    let mine_creates = matches!(mine, Op::Create(_));
    let item = outbox::attention(conn)?
        .into_iter()
        .find(|a| a.seq == seq)
        .ok_or_else(|| words("This change was already decided on another window."))?;
    let next: Option<Op> = match decision {
        Decision::Discard | Decision::TakeTheirs => None,
        // Refused by the server for a reason of its own: sent again, as it was.
        Decision::KeepMine if item.kind == crate::model::AttentionKind::Invalid => {
            Some(mine.clone())
        }
        Decision::KeepMine => {
            let (theirs, version) = item
                .theirs
                .ok_or_else(|| words("There is no record of theirs to apply yours over."))?;
            match (&mine, theirs.kind) {
                // Theirs is the record mine changed (its provisional id mapped, if made here).
                (Op::Update { draft, .. }, _) if theirs.kind == mine.kind() => Some(Op::Update {
                    target: theirs,
                    version,
                    draft: draft.clone(),
                }),
                (Op::Create(Draft::Placement(p)), Kind::Placement) => {
                    // My shelf mark and note, on their placement of the copy.
                    let (copy, collection): (i64, i64) = conn.query_row(
                        "SELECT copy_id, collection_id FROM placements WHERE id = ?1",
                        [theirs.id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    Some(Op::Update {
                        target: theirs,
                        version,
                        draft: Draft::Placement(PlacementDraft {
                            copy_id: crate::model::CopyId(copy),
                            collection_id: crate::model::CollectionId(collection),
                            shelf_mark: p.shelf_mark.clone(),
                            note: p.note.clone(),
                        }),
                    })
                }
                _ => {
                    return Err(words(
                        "Yours cannot be applied over theirs; put it elsewhere or discard it.",
                    ));
                }
            }
        }
        Decision::Elsewhere(value) => {
            let value = value.trim();
            if value.is_empty() {
                return Err(words("Type where it should go instead."));
            }
            Some(elsewhere(conn, mine, value)?)
        }
        Decision::Restore => {
            let (theirs, version) = item
                .theirs
                .ok_or_else(|| words("There is nothing in the Trash to restore."))?;
            // The restore first (it takes this entry's place), then mine right after it, before
            // every later entry: those move one place down.
            if let Op::Update { draft, .. } = &mine {
                let then = Op::Update {
                    target: theirs,
                    version: version + 1,
                    draft: draft.clone(),
                };
                conn.execute_batch(&format!(
                    "UPDATE outbox SET seq = -seq - 1 WHERE seq > {seq};
                     UPDATE outbox SET seq = -seq WHERE seq < 0;"
                ))?;
                conn.execute(
                    "INSERT INTO outbox (seq, request, op, what, kind, record_id, made_at, made_by)
                     SELECT ?1 + 1, ?2, ?3, what, kind, record_id, made_at, made_by
                     FROM outbox WHERE seq = ?1",
                    rusqlite::params![
                        seq,
                        Uuid::new_v4().to_string(),
                        serde_json::to_string(&then).map_err(|e| DbError::Data(e.to_string()))?
                    ],
                )?;
            }
            Some(Op::Restore {
                target: theirs,
                version,
            })
        }
    };
    // A record made here that now stands for theirs: what later saves here did to mine goes to
    // theirs (and is version-checked there).
    if let Some((theirs, _)) = item.theirs
        && item.record.id < 0
        && theirs.kind == item.record.kind
        && mine_creates
        && matches!(decision, Decision::KeepMine | Decision::TakeTheirs)
    {
        conn.execute(
            "INSERT OR REPLACE INTO id_map (kind, provisional, server) VALUES (?1, ?2, ?3)",
            rusqlite::params![item.record.kind.noun(), item.record.id, theirs.id],
        )?;
    }
    outbox::requeue(conn, seq, next.as_ref())?;
    Ok(())
}

/// Mine again with another value: a new barcode, collection name, ISBN, or the collection a
/// copy goes to (by name).
fn elsewhere(conn: &rusqlite::Connection, mine: Op, value: &str) -> Result<Op, DecideError> {
    let collection = |name: &str| -> Result<crate::model::CollectionId, DecideError> {
        let key = crate::model::name_key(name);
        conn.query_row(
            "SELECT id FROM collections WHERE name_key = ?1 AND deleted_at IS NULL",
            [key],
            |r| r.get(0),
        )
        .map(crate::model::CollectionId)
        .map_err(|_| DecideError::Words(format!("There is no collection named {name}.")))
    };
    let change = |d: Draft| -> Result<Draft, DecideError> {
        Ok(match d {
            Draft::Copy(mut c) => {
                value.clone_into(&mut c.barcode);
                Draft::Copy(c)
            }
            Draft::Collection(mut c) => {
                value.clone_into(&mut c.name);
                Draft::Collection(c)
            }
            Draft::Book(mut b) => {
                value.clone_into(&mut b.isbn);
                Draft::Book(b)
            }
            Draft::Placement(mut p) => {
                p.collection_id = collection(value)?;
                Draft::Placement(p)
            }
        })
    };
    Ok(match mine {
        Op::Create(d) => Op::Create(change(d)?),
        Op::Update {
            target,
            version,
            draft,
        } => Op::Update {
            target,
            version,
            draft: change(draft)?,
        },
        Op::PlaceBarcode { barcode, .. } => Op::PlaceBarcode {
            collection: collection(value)?,
            barcode,
        },
        other => other,
    })
}

fn on_replica(shared: &Shared) -> bool {
    shared.offline.load(Ordering::Acquire) || waiting(shared) > 0
}

/// How many saves wait to be sent (read from the replica: other processes queue too).
fn waiting(shared: &Shared) -> usize {
    shared
        .replica
        .pooled()
        .ok()
        .and_then(|c| outbox::counts(&c).ok())
        // Unknown: work on the replica rather than send saves ahead of ones that may wait.
        .map_or(usize::MAX, |(w, _)| w)
}

fn bump(shared: &Shared) {
    shared.epoch.fetch_add(1, Ordering::AcqRel);
}

fn nudge(shared: &Shared) {
    let (flag, cv) = &shared.nudge;
    *flag.lock() = true;
    cv.notify_all();
}

/// How often the cache is read again at most, while saves come in.
const REFRESH_EVERY: Duration = Duration::from_millis(100);

/// Reads the outbox's counts and records into the cache the UI looks at, unless that was done
/// a moment ago (the outbox may hold thousands of saves; the writer must not wait for this).
fn refresh(shared: &Shared) {
    {
        let mut last = shared.refreshed.lock();
        if last.is_some_and(|t| t.elapsed() < REFRESH_EVERY) {
            drop(last);
            // The counts stay exact (an index count); the records follow within a beat.
            if let Some((waiting, attention)) = shared
                .replica
                .pooled()
                .ok()
                .and_then(|c| outbox::counts(&c).ok())
            {
                let mut cached = shared.cached.lock();
                cached.waiting = waiting;
                cached.attention = attention;
            }
            return;
        }
        *last = Some(std::time::Instant::now());
    }
    refresh_now(shared);
}

/// Reads the outbox's counts and records into the cache the UI looks at.
fn refresh_now(shared: &Shared) {
    let Ok(conn) = shared.replica.pooled() else {
        return;
    };
    let read = || -> Result<(SyncStatus, BTreeSet<RecordRef>, BTreeSet<RecordRef>), DbError> {
        let (waiting, attention) = outbox::counts(&conn)?;
        let synced: Option<String> = conn
            .query_row("SELECT synced_at FROM replica_state", [], |r| r.get(0))
            .ok();
        let mut kept = BTreeSet::new();
        let mut held = BTreeSet::new();
        let mut st = conn.prepare_cached(
            "SELECT kind, record_id, state = 'waiting', theirs_kind, theirs_id FROM outbox",
        )?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let kind = |noun: Option<String>| {
                noun.and_then(|n| Kind::ALL.into_iter().find(|k| k.noun() == n))
            };
            let Some(k) = kind(r.get(0)?) else { continue };
            let record = RecordRef {
                kind: k,
                id: r.get(1)?,
            };
            if r.get::<_, bool>(2)? {
                kept.insert(record);
            } else {
                held.insert(record);
                if let (Some(k), Some(id)) = (kind(r.get(3)?), r.get::<_, Option<i64>>(4)?) {
                    held.insert(RecordRef { kind: k, id });
                }
            }
        }
        let status = SyncStatus {
            online: false,
            offline_since: None,
            synced_at: synced.and_then(|s| s.parse().ok()),
            waiting,
            attention,
            kept: Arc::default(),
            held: Arc::default(),
            problem: None,
            last_replay: None,
        };
        Ok((status, kept, held))
    };
    if let Ok((status, kept, held)) = read() {
        let mut cached = shared.cached.lock();
        let (since, problem, replay) = (
            cached.offline_since,
            cached.problem.take(),
            cached.last_replay,
        );
        *cached = SyncStatus {
            offline_since: since,
            problem,
            last_replay: replay,
            kept: Arc::new(kept),
            held: Arc::new(held),
            ..status
        };
    }
}

/// Keeps (or clears) what went wrong with keeping the replica and the server together, for the
/// status bar. A server that went away is not a problem: that is what offline is.
fn note(shared: &Shared, error: Option<&DbError>, doing: &str) {
    let problem = match error {
        None => None,
        Some(e) if matches!(e, DbError::Offline) || postgres::is_disconnect(e) => return,
        Some(e) => Some(format!(
            "Changes on this computer could not be {doing}: {}",
            crate::db::chain(e)
        )),
    };
    shared.cached.lock().problem = problem;
}

/// Pulls (filling anew if the change log no longer reaches back far enough).
fn catch_up(shared: &Shared) {
    let pulled = sync::pull(&shared.server, &shared.replica);
    note(shared, pulled.as_ref().err(), "brought up to date");
    match pulled {
        Ok(sync::Pulled::Done(n)) if n > 0 => bump(shared),
        Ok(sync::Pulled::TooOld) => {
            // Rare (a computer away for longer than the change log is kept): every row is
            // written over from one snapshot, in the same way as the first fill.
            let _ = refill(shared);
            bump(shared);
        }
        _ => {}
    }
}

/// Writes every server row over the replica (the change log has forgotten where it was): every
/// local row is marked, and `last_seq = -1` makes the pull read every id the server has.
fn refill(shared: &Shared) -> Result<(), DbError> {
    let conn = shared.replica.pooled()?;
    outbox::in_tx(&conn, || {
        conn.execute_batch(
            "INSERT OR IGNORE INTO dirty SELECT 'books', id FROM books;
             INSERT OR IGNORE INTO dirty SELECT 'copies', id FROM copies;
             INSERT OR IGNORE INTO dirty SELECT 'collections', id FROM collections;
             INSERT OR IGNORE INTO dirty SELECT 'placements', id FROM placements;
             UPDATE replica_state SET last_seq = -1;",
        )
        .map(|()| ((), true))
    })?;
    drop(conn);
    sync::pull(&shared.server, &shared.replica).map(|_| ())
}

/// The lock that makes one process per computer the replayer.
fn replayer_lock(path: &Path) -> Option<File> {
    let mut name = path.as_os_str().to_owned();
    name.push("-replayer");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(name)
        .ok()?;
    file.try_lock().ok()?;
    Some(file)
}

/// The heartbeat: asks the server every half second, on a connection of its own, whether it
/// is there; a stopped server (a reset) or a dead line (no answer within two seconds) makes this
/// computer work offline at once. Ends when the library is closed.
fn heartbeat(weak: &Weak<Shared>) {
    let mut beat: Option<postgres::PgConn> = None;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        let started = std::time::Instant::now();
        let held = shared.held_offline.load(Ordering::Acquire);
        if beat.is_none() && !held {
            beat = shared
                .server
                .connect_within(HEARTBEAT_TIMEOUT + Duration::from_secs(1))
                .ok();
        }
        let alive = !held
            && beat
                .as_mut()
                .is_some_and(|c| c.client.is_valid(HEARTBEAT_TIMEOUT).is_ok());
        if alive {
            if !shared.reachable.swap(true, Ordering::AcqRel) {
                nudge(&shared);
            }
        } else {
            postgres::abandon(beat.take());
            shared.reachable.store(false, Ordering::Release);
            if !shared.offline.swap(true, Ordering::AcqRel) {
                shared.cached.lock().offline_since = Some(Stamp::now());
                bump(&shared);
                refresh(&shared);
            }
        }
        drop(shared);
        std::thread::sleep(HEARTBEAT.saturating_sub(started.elapsed()));
    }
}

/// The replayer and puller: while the server answers, sends what waits (one process per
/// computer), then catches the replica up; brings this computer back online once nothing
/// waits. Ends when the library is closed.
fn syncer(weak: &Weak<Shared>) {
    let mut link: Option<postgres::PgConn> = None;
    loop {
        let Some(shared) = weak.upgrade() else { return };
        sync_tick(&shared, &mut link);
        let (flag, cv) = &shared.nudge;
        let mut nudged = flag.lock();
        if !*nudged {
            cv.wait_for(&mut nudged, HEARTBEAT);
        }
        *nudged = false;
    }
}

fn sync_tick(shared: &Shared, link: &mut Option<postgres::PgConn>) {
    if !shared.reachable.load(Ordering::Acquire) {
        postgres::abandon(link.take());
        refresh(shared);
        return;
    }
    if link.is_none() {
        *link = shared
            .server
            .connect_within(postgres::config::CONNECT_TIMEOUT)
            .ok();
    }
    let Some(conn) = link.as_mut() else { return };
    let was_offline = shared.offline.load(Ordering::Acquire);
    if was_offline && !matches!(ServerLibrary::verify(conn), Ok(Ok(()))) {
        postgres::abandon(link.take());
        refresh(shared);
        return;
    }
    if waiting(shared) > 0 {
        if let Some(_lock) = replayer_lock(&shared.path) {
            // A replay stops at the first sign of the server going (and goes on next time).
            let stop_on_disconnect = Arc::new(AtomicBool::new(true));
            let started = std::time::Instant::now();
            let result = sync::replay(&shared.server, &shared.replica, &stop_on_disconnect);
            if let Ok(r) = &result
                && !r.trips.is_empty()
            {
                let mut ms: Vec<f64> = r.trips.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
                ms.sort_by(f64::total_cmp);
                let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
                shared.cached.lock().last_replay = Some(crate::model::ReplayFigures {
                    entries: r.landed + r.held,
                    seconds: started.elapsed().as_secs_f64(),
                    p50_ms: at(0.5),
                    p99_ms: at(0.99),
                    max_ms: at(1.0),
                });
            }
            note(shared, result.as_ref().err(), "sent to the server");
            if result.as_ref().is_ok_and(|r| r.landed + r.held > 0) {
                bump(shared);
            }
        }
        refresh(shared);
    }
    if waiting(shared) > 0 {
        return;
    }
    let newest: Option<i64> = conn
        .client
        .query_one("SELECT coalesce(max(seq), 0) FROM change_log", &[])
        .ok()
        .map(|r| r.get(0));
    if newest.is_none() {
        postgres::abandon(link.take());
        return;
    }
    let local = shared.replica.pooled().ok();
    let (last, dirty): (Option<i64>, i64) = local.as_ref().map_or((None, 0), |c| {
        (
            c.query_row("SELECT last_seq FROM replica_state", [], |r| r.get(0))
                .ok(),
            c.query_row("SELECT count(*) FROM dirty", [], |r| r.get(0))
                .unwrap_or(0),
        )
    });
    drop(local);
    if newest != last || dirty > 0 {
        catch_up(shared);
    }
    if was_offline && shared.reachable.load(Ordering::Acquire) && waiting(shared) == 0 {
        shared.offline.store(false, Ordering::Release);
        shared.cached.lock().offline_since = None;
        bump(shared);
    }
    refresh(shared);
}

/// Which side a batch went to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Server,
    Replica,
}

/// The writer of a shared library with a replica: to the server when it answers and nothing
/// waits to be sent; to the replica and its outbox otherwise.
pub(crate) struct SharedWriter {
    shared: Arc<Shared>,
    server: postgres::ServerBatchWriter,
    replica: crate::db::sqlite::FileBatchWriter,
    side: Option<Side>,
}

impl BatchWriter for SharedWriter {
    fn begin(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), DbError> {
        self.rollback();
        if !on_replica(&self.shared) {
            match self.server.begin(waiting) {
                Ok(()) => {
                    self.side = Some(Side::Server);
                    return Ok(());
                }
                Err(DbError::Offline) => {}
                Err(e) if postgres::is_disconnect(&e) => {}
                Err(e) => return Err(e),
            }
        }
        self.replica.begin(waiting)?;
        self.side = Some(Side::Replica);
        Ok(())
    }

    fn save(&mut self, request: Uuid, op: &Op) -> Result<Outcome, SaveFault> {
        match self.side {
            Some(Side::Server) => self.server.save(request, op),
            Some(Side::Replica) => self.replica.save(request, op),
            None => Err(SaveFault::Retry),
        }
    }

    fn commit(&mut self, waiting: &mut dyn FnMut(Wait)) -> Result<(), SaveFault> {
        match self.side.take() {
            Some(Side::Server) => {
                let r = self.server.commit(waiting);
                if r.is_ok() {
                    // The replica follows at once.
                    nudge(&self.shared);
                }
                r
            }
            Some(Side::Replica) => {
                let r = self.replica.commit(waiting);
                if r.is_ok() {
                    refresh(&self.shared);
                    nudge(&self.shared);
                }
                r
            }
            None => Err(SaveFault::Retry),
        }
    }

    fn rollback(&mut self) {
        match self.side.take() {
            Some(Side::Server) => self.server.rollback(),
            Some(Side::Replica) => self.replica.rollback(),
            None => {}
        }
    }
}

/// Changes to show: the server's change log while online, the replica's own commits (other
/// windows and processes of this computer) while offline, and going off- or online.
pub(crate) struct SharedChanges {
    shared: Arc<Shared>,
    server: postgres::ChangeLogSource,
    replica: crate::db::sqlite::DataVersionSource,
    epoch: u64,
}

impl ChangeSource for SharedChanges {
    fn prime(&mut self) {
        self.epoch = self.shared.epoch.load(Ordering::Acquire);
        self.replica.prime();
        if !self.shared.offline.load(Ordering::Acquire) {
            self.server.prime();
        }
    }

    fn wait(&mut self, sleep: &mut dyn FnMut(Duration) -> bool) -> bool {
        let changed = if on_replica(&self.shared) {
            self.replica.wait(sleep)
        } else {
            self.server.wait(sleep)
        };
        let epoch = self.shared.epoch.load(Ordering::Acquire);
        let moved = epoch != self.epoch;
        self.epoch = epoch;
        changed || moved
    }
}
