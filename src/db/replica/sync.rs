//! Keeping the replica and the server together: the first fill (one snapshot of the server,
//! written and checked as a new file), pulls from the change log, and the replay of the outbox
//! through the server's own save path.
//!
//! The trap a replica must not fall into: an offline save took a value (a barcode) that the
//! server meanwhile gave to another row, so pulling the server's row would break the replica's
//! unique index. Shelfmark holds pulls back while any save waits to be sent, and replays first.
//! Once every entry has landed or waits for a decision, one pull puts every row a save here
//! touched (the `dirty` rows, cascades included) back to the server's values, removes the
//! provisional rows, and applies what the change log says changed meanwhile: the replica then
//! equals the server, and the refused saves wait in the outbox, not in the replica's tables.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rusqlite::{Connection, params};
use uuid::Uuid;

use super::outbox::{self, Entry, Refusal};
use crate::db::engine::copy::{self, TABLE_NAMES};
use crate::db::postgres::{PgSession, ServerLibrary};
use crate::db::sqlite::FileLibrary;
use crate::db::sqlite::session::FileSession;
use crate::db::{BackupError, BatchWriter, DbError, SaveFault};
use crate::model::{AttentionKind, Holder, Op, Outcome, RecordRef, Stamp};

/// Rows fetched from the server per pull statement (ids are sent as one JSON array).
const PULL_CHUNK: usize = 5000;

/// Saves sent to the server in one transaction during a replay.
const REPLAY_BATCH: usize = 256;

/// Makes the replica at `path` from one snapshot of the server: every row, and the change-log
/// position that snapshot is at. The file appears whole, checked, or not at all.
pub(crate) fn fill(server: &ServerLibrary, path: &Path) -> Result<u64, DbError> {
    let mut conn = server.connect()?;
    conn.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let seq: i64 = conn
        .client
        .query_one("SELECT coalesce(max(seq), 0) FROM change_log", &[])?
        .get(0);
    let name = server.address().to_string();
    let mut rows = 0u64;
    let result = {
        let session = PgSession::new(&mut conn);
        crate::db::sqlite::write_copy_then(
            &session,
            path,
            &mut |p| rows = rows.max(p.rows),
            crate::db::sqlite::Structure::Quick,
            &|dst: &Connection| {
                dst.execute_batch(outbox::SCHEMA)?;
                dst.execute(
                    "INSERT INTO replica_state (one, server, last_seq, synced_at) VALUES (1, ?1, ?2, ?3)",
                    params![name, seq, Stamp::now().to_sql()],
                )?;
                Ok(())
            },
        )
    };
    let _ = conn.client.batch_execute("COMMIT");
    match result {
        Ok(_) => Ok(rows),
        Err(BackupError::Copy(e)) => Err(e),
        Err(e) => Err(DbError::Data(e.to_string())),
    }
}

/// What a pull did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pulled {
    /// Saves wait to be sent: the pull waits for the replay.
    Held,
    /// The replica is at the server's change-log position; this many rows were written.
    Done(usize),
    /// The change log no longer reaches back to the replica's position: fill it anew.
    TooOld,
}

/// The rows a pull writes: the server's values of every row it names.
struct Fetched {
    newest: i64,
    ids: [BTreeSet<i64>; 4],
    theirs: [Vec<Vec<copy::Cell>>; 4],
}

/// Brings the replica to the server's current state (see the module's notes). What the server
/// has is read first, with no lock held here (the server may be slow or go away meanwhile);
/// then it is written in one transaction, unless a save here came in between (next time).
pub(crate) fn pull(server: &ServerLibrary, replica: &FileLibrary) -> Result<Pulled, DbError> {
    let local = replica.pooled()?;
    if outbox::counts(&local)?.0 > 0 {
        return Ok(Pulled::Held);
    }
    let (last, dirty) = position(&local)?;
    let fetched = match fetch(server, last, &dirty)? {
        Ok(f) => f,
        Err(pulled) => return Ok(pulled),
    };
    outbox::in_tx(&local, || {
        if outbox::counts(&local)?.0 > 0 || position(&local)? != (last, dirty) {
            return Ok((Pulled::Held, false));
        }
        write(&local, &fetched).map(|n| (Pulled::Done(n), true))
    })
}

/// Where the replica is: its change-log position and the rows saves here touched.
fn position(local: &Connection) -> Result<(i64, [BTreeSet<i64>; 4]), DbError> {
    let last: i64 = local.query_row("SELECT last_seq FROM replica_state", [], |r| r.get(0))?;
    let mut dirty: [BTreeSet<i64>; 4] = Default::default();
    let mut st = local.prepare_cached("SELECT tbl, id FROM dirty")?;
    let mut rows = st.query([])?;
    while let Some(r) = rows.next()? {
        let tbl: String = r.get(0)?;
        if let Some(t) = TABLE_NAMES.iter().position(|n| *n == tbl) {
            dirty[t].insert(r.get(1)?);
        }
    }
    Ok((last, dirty))
}

/// Reads, from one snapshot of the server, what changed after `last` and the rows named.
fn fetch(
    server: &ServerLibrary,
    last: i64,
    dirty: &[BTreeSet<i64>; 4],
) -> Result<Result<Fetched, Pulled>, DbError> {
    let mut conn = server.connect_within(crate::db::postgres::config::CONNECT_TIMEOUT)?;
    conn.client
        .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")?;
    let row = conn.client.query_one(
        "SELECT coalesce(max(seq), 0), coalesce(min(seq), 0) FROM change_log",
        &[],
    )?;
    let (newest, oldest): (i64, i64) = (row.get(0), row.get(1));
    // The log no longer reaches back to where the replica is (kept 30 days), or is behind it
    // (a server restored from a backup): everything is read again.
    if last > 0 && (oldest > last + 1 || newest < last) {
        return Ok(Err(Pulled::TooOld));
    }
    let mut ids = dirty.clone();
    if last < 0 {
        for (t, table) in TABLE_NAMES.iter().enumerate() {
            let sql = format!("SELECT id FROM {table}");
            for r in conn.client.query(sql.as_str(), &[])? {
                ids[t].insert(r.get(0));
            }
        }
    }
    for r in conn.client.query(
        "SELECT tbl, row_id FROM change_log WHERE seq > $1 AND seq <= $2",
        &[&last, &newest],
    )? {
        let tbl: String = r.get(0);
        if let Some(t) = TABLE_NAMES.iter().position(|n| *n == tbl) {
            ids[t].insert(r.get(1));
        }
    }
    let mut theirs: [Vec<Vec<copy::Cell>>; 4] = Default::default();
    {
        let session = PgSession::new(&mut conn);
        for t in 0..4 {
            let wanted: Vec<i64> = ids[t].iter().copied().filter(|id| *id > 0).collect();
            for part in wanted.chunks(PULL_CHUNK) {
                theirs[t].extend(copy::rows_by_id(&session, t, part)?);
            }
        }
    }
    let _ = conn.client.batch_execute("COMMIT");
    Ok(Ok(Fetched {
        newest,
        ids,
        theirs,
    }))
}

/// Writes the fetched rows over the replica's, inside the caller's transaction.
fn write(local: &Connection, f: &Fetched) -> Result<usize, DbError> {
    // Out of the unique indexes first, so rows can trade values (a barcode moved from one copy
    // to another) in any order.
    let park = Stamp(jiff::Timestamp::UNIX_EPOCH).to_sql();
    for (t, set) in f.ids.iter().enumerate() {
        let sql = format!(
            "UPDATE {} SET deleted_at = ?2 WHERE id = ?1 AND deleted_at IS NULL",
            TABLE_NAMES[t]
        );
        let mut st = local.prepare_cached(&sql)?;
        for id in set {
            st.execute(params![id, park])?;
        }
    }
    // The server's rows, parents first; then the rows the server does not have (provisional
    // ones, purged ones) go, children first, once nothing of the server's hangs from them (a
    // cascade from a provisional book must not take a server copy moved back from it).
    let session = FileSession::new(local);
    let mut written = 0;
    for (t, rows) in f.theirs.iter().enumerate() {
        for row in rows {
            copy::upsert(&session, t, row)?;
            written += 1;
        }
    }
    for t in (0..4).rev() {
        let kept: BTreeSet<i64> = f.theirs[t].iter().map(|r| copy::row_id(r)).collect();
        let sql = format!("DELETE FROM {} WHERE id = ?1", TABLE_NAMES[t]);
        let mut st = local.prepare_cached(&sql)?;
        for id in f.ids[t].difference(&kept) {
            st.execute([id])?;
        }
    }
    local.execute_batch(
        "DELETE FROM dirty;
         DELETE FROM id_map WHERE NOT EXISTS (SELECT 1 FROM outbox);",
    )?;
    local.execute(
        "UPDATE replica_state SET last_seq = ?1, synced_at = ?2",
        params![f.newest, Stamp::now().to_sql()],
    )?;
    Ok(written)
}

/// What a replay round did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Replayed {
    pub(crate) landed: usize,
    pub(crate) held: usize,
    /// Each sent entry's round trip.
    pub(crate) trips: Vec<std::time::Duration>,
}

/// How an entry settled: landed (with the server's id for a record it made here), or refused.
type Settled = Result<Option<(RecordRef, i64)>, Refusal>;

/// Why an op cannot be sent yet.
enum Unsendable {
    /// It names a record made offline by a save that has not landed (that entry's seq).
    Waits(Option<i64>),
    Db(DbError),
}

/// Sends every waiting entry, in order, through the server's save path under its request id
/// (a save that already landed, before a crash or a lost COMMIT, is answered from the server's
/// record, not applied again). Each lands or waits for a decision; after a fault, what is not
/// yet recorded here is sent again next time.
pub(crate) fn replay(
    server: &ServerLibrary,
    replica: &FileLibrary,
    offline: &Arc<AtomicBool>,
) -> Result<Replayed, DbError> {
    let local = replica.pooled()?;
    let entries = outbox::entries(&local)?;
    let what: HashMap<i64, String> = local
        .prepare("SELECT seq, what FROM outbox")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // Which entry made each provisional record.
    let made_by: HashMap<RecordRef, i64> = entries
        .iter()
        .filter(|e| e.record.id < 0 && creates(&e.op))
        .map(|e| (e.record, e.seq))
        .collect();
    let mut mapped: HashMap<RecordRef, i64> = HashMap::new();
    let mut report = Replayed::default();
    let waiting: Vec<&Entry> = entries.iter().filter(|e| e.waiting).collect();
    let tz = jiff::tz::TimeZone::system();
    for batch in waiting.chunks(REPLAY_BATCH) {
        let mut writer = crate::db::postgres::ServerBatchWriter::giving_up_when(
            server.clone(),
            Arc::clone(offline),
        );
        writer.begin(&mut |_| {})?;
        let mut results: Vec<(i64, Uuid, Settled)> = Vec::new();
        let mut round_map = mapped.clone();
        for entry in batch {
            let mut op = entry.op.clone();
            let sent = op.map_ids(&mut |kind, id| {
                if id >= 0 {
                    return Ok(id);
                }
                let r = RecordRef { kind, id };
                if let Some(s) = round_map.get(&r) {
                    return Ok(*s);
                }
                match outbox::mapped(&local, kind, id) {
                    Ok(Some(s)) => Ok(s),
                    Ok(None) => Err(Unsendable::Waits(made_by.get(&r).copied())),
                    Err(e) => Err(Unsendable::Db(e)),
                }
            });
            match sent {
                Err(Unsendable::Db(e)) => {
                    writer.rollback();
                    return Err(e);
                }
                Err(Unsendable::Waits(creator)) => {
                    let words = match creator.and_then(|s| what.get(&s)) {
                        Some(w) => format!(
                            "It waits for an earlier change on this computer that needs your decision: {w}"
                        ),
                        None => {
                            "It depends on an earlier change on this computer that was discarded"
                                .to_owned()
                        }
                    };
                    results.push((
                        entry.seq,
                        entry.request,
                        Err(Refusal {
                            kind: AttentionKind::Blocked,
                            words,
                            theirs: None,
                        }),
                    ));
                }
                Ok(()) => {
                    let sent_at = std::time::Instant::now();
                    let outcome = match writer.save(entry.request, &op) {
                        Ok(o) => {
                            report.trips.push(sent_at.elapsed());
                            o
                        }
                        Err(SaveFault::Retry) => {
                            writer.rollback();
                            return Err(DbError::Offline);
                        }
                        Err(SaveFault::Aborted(f)) => {
                            writer.rollback();
                            return Err(DbError::Data(f.message));
                        }
                    };
                    match crate::model::refusal(&outcome, &tz) {
                        None => {
                            let created =
                                match (&outcome, entry.record.id < 0 && creates(&entry.op)) {
                                    (Outcome::Saved { record, .. }, true) => {
                                        round_map.insert(entry.record, record.id);
                                        Some((entry.record, record.id))
                                    }
                                    _ => None,
                                };
                            results.push((entry.seq, entry.request, Ok(created)));
                        }
                        Some((kind, words)) => {
                            results.push((
                                entry.seq,
                                entry.request,
                                Err(Refusal {
                                    kind,
                                    words,
                                    theirs: theirs_of(&outcome),
                                }),
                            ));
                        }
                    }
                }
            }
        }
        if writer.commit(&mut |_| {}).is_err() {
            writer.rollback();
            return Err(DbError::Offline);
        }
        // Recorded here only once the server committed; a crash in between is answered by
        // the request ids next time.
        outbox::in_tx(&local, || -> Result<((), bool), DbError> {
            for (seq, request, result) in &results {
                match result {
                    Ok(created) => {
                        outbox::landed(&local, *seq, *request, *created)?;
                        report.landed += 1;
                    }
                    Err(refusal) => {
                        outbox::hold(&local, *seq, *request, refusal)?;
                        report.held += 1;
                    }
                }
            }
            Ok(((), true))
        })?;
        mapped = round_map;
    }
    Ok(report)
}

/// Whether the op makes a new record (its entry's record is then the new one).
fn creates(op: &Op) -> bool {
    matches!(op, Op::Create(_) | Op::PlaceBarcode { .. })
}

/// The server's record that stands in the way, with its version.
fn theirs_of(outcome: &Outcome) -> Option<(RecordRef, i64)> {
    match outcome {
        Outcome::Conflict(c) => Some((
            c.holder.reference(),
            match &c.holder {
                Holder::Placement { version, .. } => *version,
                _ => 0,
            },
        )),
        Outcome::Stale(r) | Outcome::DeletedElsewhere(r) => Some((r.reference(), r.meta().version)),
        _ => None,
    }
}
