//! The outbox: saves made on this computer while the server was away (or while earlier ones
//! still waited to be sent), each written in the same transaction as its effect on the replica,
//! with the request id it is sent under, so that it lands exactly once. An entry is sent, and
//! then deleted, or it waits in Needs attention for a librarian's decision.
//!
//! The replica's own tables live beside the library's in the replica file:
//! - `replica_state`: which server it copies, the change-log position it has caught up to;
//! - `outbox`: the queued saves, in the order they were made;
//! - `id_map`: provisional ids (negative, given here) and the server's ids they became;
//! - `provisional_floor`: the lowest provisional id each table ever gave, so none is given
//!   twice (a pull removes provisional rows; their ids may still be named by `id_map`);
//! - `dirty`: every row a save here touched (filled by triggers, cascades included), so that a
//!   settled replay can put exactly those rows back to the server's values. (The triggers test
//!   for the row instead of `INSERT OR IGNORE`: an outer statement's conflict handling, an
//!   upsert's, overrides a trigger's own.)

use rusqlite::{Connection, OptionalExtension, params};
use uuid::Uuid;

use crate::db::DbError;
use crate::model::{
    Attention, AttentionKind, CollectionId, Draft, Kind, Op, Outcome, RecordRef, RestoreChange,
    Stamp,
};

/// The replica's bookkeeping tables and the triggers that note what a save touched.
pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS replica_state (
    one       INTEGER PRIMARY KEY CHECK (one = 1),
    server    TEXT NOT NULL,
    last_seq  INTEGER NOT NULL,
    synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS outbox (
    seq         INTEGER PRIMARY KEY,
    request     TEXT NOT NULL UNIQUE,
    op          TEXT NOT NULL,
    what        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    record_id   INTEGER NOT NULL,
    made_at     TEXT NOT NULL,
    made_by     TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'waiting' CHECK (state IN ('waiting', 'attention')),
    problem     TEXT,
    words       TEXT,
    theirs_kind TEXT,
    theirs_id   INTEGER,
    theirs_version INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_state ON outbox (state);
CREATE TABLE IF NOT EXISTS id_map (
    kind        TEXT NOT NULL,
    provisional INTEGER NOT NULL,
    server      INTEGER NOT NULL,
    PRIMARY KEY (kind, provisional)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dirty (
    tbl TEXT NOT NULL,
    id  INTEGER NOT NULL,
    PRIMARY KEY (tbl, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS provisional_floor (
    tbl   TEXT PRIMARY KEY,
    floor INTEGER NOT NULL CHECK (floor <= 0)
) WITHOUT ROWID;
INSERT OR IGNORE INTO provisional_floor VALUES ('books', 0), ('copies', 0), ('collections', 0),
    ('placements', 0);
CREATE TRIGGER IF NOT EXISTS books_floor AFTER INSERT ON books WHEN NEW.id < 0
    BEGIN UPDATE provisional_floor SET floor = min(floor, NEW.id) WHERE tbl = 'books'; END;
CREATE TRIGGER IF NOT EXISTS copies_floor AFTER INSERT ON copies WHEN NEW.id < 0
    BEGIN UPDATE provisional_floor SET floor = min(floor, NEW.id) WHERE tbl = 'copies'; END;
CREATE TRIGGER IF NOT EXISTS collections_floor AFTER INSERT ON collections WHEN NEW.id < 0
    BEGIN UPDATE provisional_floor SET floor = min(floor, NEW.id) WHERE tbl = 'collections'; END;
CREATE TRIGGER IF NOT EXISTS placements_floor AFTER INSERT ON placements WHEN NEW.id < 0
    BEGIN UPDATE provisional_floor SET floor = min(floor, NEW.id) WHERE tbl = 'placements'; END;
CREATE TRIGGER IF NOT EXISTS books_dirty_i AFTER INSERT ON books
    BEGIN INSERT INTO dirty SELECT 'books', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'books' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS books_dirty_u AFTER UPDATE ON books
    BEGIN INSERT INTO dirty SELECT 'books', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'books' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS books_dirty_d AFTER DELETE ON books
    BEGIN INSERT INTO dirty SELECT 'books', OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'books' AND id = OLD.id); END;
CREATE TRIGGER IF NOT EXISTS copies_dirty_i AFTER INSERT ON copies
    BEGIN INSERT INTO dirty SELECT 'copies', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'copies' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS copies_dirty_u AFTER UPDATE ON copies
    BEGIN INSERT INTO dirty SELECT 'copies', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'copies' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS copies_dirty_d AFTER DELETE ON copies
    BEGIN INSERT INTO dirty SELECT 'copies', OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'copies' AND id = OLD.id); END;
CREATE TRIGGER IF NOT EXISTS collections_dirty_i AFTER INSERT ON collections
    BEGIN INSERT INTO dirty SELECT 'collections', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'collections' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS collections_dirty_u AFTER UPDATE ON collections
    BEGIN INSERT INTO dirty SELECT 'collections', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'collections' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS collections_dirty_d AFTER DELETE ON collections
    BEGIN INSERT INTO dirty SELECT 'collections', OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'collections' AND id = OLD.id); END;
CREATE TRIGGER IF NOT EXISTS placements_dirty_i AFTER INSERT ON placements
    BEGIN INSERT INTO dirty SELECT 'placements', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'placements' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS placements_dirty_u AFTER UPDATE ON placements
    BEGIN INSERT INTO dirty SELECT 'placements', NEW.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'placements' AND id = NEW.id); END;
CREATE TRIGGER IF NOT EXISTS placements_dirty_d AFTER DELETE ON placements
    BEGIN INSERT INTO dirty SELECT 'placements', OLD.id
        WHERE NOT EXISTS (SELECT 1 FROM dirty WHERE tbl = 'placements' AND id = OLD.id); END;
";

/// Whether the outbox keeps this op (every op but imports and the library's settings, which
/// need the server).
pub(crate) fn queueable(op: &Op) -> bool {
    !matches!(op, Op::Import(_) | Op::SetArticles(_))
}

/// The outbox's view of an op: the ids it names, and the draft it carries.
impl Op {
    /// Every record id the op names, as (kind, id), for rewriting provisional ids.
    pub(crate) fn map_ids<E>(
        &mut self,
        f: &mut impl FnMut(Kind, i64) -> Result<i64, E>,
    ) -> Result<(), E> {
        fn draft<E>(
            d: &mut Draft,
            f: &mut impl FnMut(Kind, i64) -> Result<i64, E>,
        ) -> Result<(), E> {
            match d {
                Draft::Book(_) | Draft::Collection(_) => {}
                Draft::Copy(c) => c.book_id.0 = f(Kind::Book, c.book_id.0)?,
                Draft::Placement(p) => {
                    p.copy_id.0 = f(Kind::Copy, p.copy_id.0)?;
                    p.collection_id.0 = f(Kind::Collection, p.collection_id.0)?;
                }
            }
            Ok(())
        }
        let target = |t: &mut RecordRef, f: &mut dyn FnMut(Kind, i64) -> Result<i64, E>| {
            t.id = f(t.kind, t.id)?;
            Ok::<(), E>(())
        };
        match self {
            Op::Create(d) => draft(d, f),
            Op::Update {
                target: t,
                draft: d,
                ..
            } => {
                target(t, &mut *f)?;
                draft(d, f)
            }
            Op::Delete { target: t, .. }
            | Op::Restore { target: t, .. }
            | Op::Purge { target: t, .. } => target(t, &mut *f),
            Op::RestoreAs {
                target: t, change, ..
            } => {
                target(t, &mut *f)?;
                if let RestoreChange::MergeInto(b) = change {
                    b.0 = f(Kind::Book, b.0)?;
                }
                Ok(())
            }
            Op::PlaceBarcode { collection, .. } => {
                collection.0 = f(Kind::Collection, collection.0)?;
                Ok(())
            }
            // Never queued (see `queueable`); they name no record.
            Op::Import(_) | Op::SetArticles(_) => Ok(()),
        }
    }

    /// The draft it carries, if any.
    pub(crate) fn draft(&self) -> Option<&Draft> {
        match self {
            Op::Create(d) | Op::Update { draft: d, .. } => Some(d),
            _ => None,
        }
    }
}

/// Runs `f` in one `BEGIN IMMEDIATE` transaction of the replica: committed if it returns
/// `Ok(true)`, rolled back otherwise, and rolled back whatever fails (a pooled connection never
/// goes back to the pool with a transaction open).
pub(crate) fn in_tx<T, E: From<rusqlite::Error>>(
    conn: &Connection,
    f: impl FnOnce() -> Result<(T, bool), E>,
) -> Result<T, E> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = f();
    let end = match &result {
        Ok((_, true)) => conn.execute_batch("COMMIT"),
        _ => conn.execute_batch("ROLLBACK"),
    };
    if !conn.is_autocommit() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    let (value, _) = result?;
    end?;
    Ok(value)
}

fn data(e: impl std::fmt::Display) -> DbError {
    DbError::Data(e.to_string())
}

/// Puts a save that wrote `outcome` on the replica into the outbox, in the same transaction.
pub(crate) fn queue(
    conn: &Connection,
    request: Uuid,
    op: &Op,
    outcome: &Outcome,
    made_at: Stamp,
    by: &str,
) -> Result<(), DbError> {
    if !queueable(op) {
        return Err(DbError::Data(
            "this save needs the library server".to_owned(),
        ));
    }
    let queued = op.clone();
    let Outcome::Saved { record, .. } = outcome else {
        return Ok(());
    };
    // A scan is sent as the placement it made here: of the copy this computer found by that
    // barcode (a copy made offline waits for its create; the server's copy with the same
    // barcode is not taken instead).
    let queued = match queued {
        Op::PlaceBarcode { .. } => conn.query_row(
            "SELECT copy_id, collection_id, shelf_mark, note FROM placements WHERE id = ?1",
            [record.id],
            |r| {
                Ok(Op::Create(Draft::Placement(crate::model::PlacementDraft {
                    copy_id: crate::model::CopyId(r.get(0)?),
                    collection_id: CollectionId(r.get(1)?),
                    shelf_mark: r.get(2)?,
                    note: r.get(3)?,
                })))
            },
        )?,
        other => other,
    };
    let what = describe(conn, &queued, *record)?;
    let text = serde_json::to_string(&queued).map_err(data)?;
    conn.prepare_cached(
        "INSERT INTO outbox (request, op, what, kind, record_id, made_at, made_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        request.to_string(),
        text,
        what,
        record.kind.noun(),
        record.id,
        made_at.to_sql(),
        by
    ])?;
    Ok(())
}

/// What a queued save does, in words, from what this computer knows.
fn describe(conn: &Connection, q: &Op, record: RecordRef) -> Result<String, DbError> {
    Ok(match q {
        Op::Create(Draft::Book(b)) => format!("New book {}", b.title.trim()),
        Op::Create(Draft::Copy(c)) => format!("New copy {}", c.barcode.trim()),
        Op::Create(Draft::Collection(c)) => format!("New collection {}", c.name.trim()),
        Op::Create(Draft::Placement(_)) | Op::PlaceBarcode { .. } => {
            format!("Place {}", label(conn, record)?)
        }
        Op::Update { target, .. } => format!("Change {}", label(conn, *target)?),
        Op::Delete { target, .. } => format!("Move {} to the Trash", label(conn, *target)?),
        Op::Restore { target, .. } | Op::RestoreAs { target, .. } => {
            format!("Restore {} from the Trash", label(conn, *target)?)
        }
        Op::Purge { target, .. } => format!("Delete {} for good", label(conn, *target)?),
        Op::Import(_) => "Import".to_owned(),
        Op::SetArticles(_) => "Change how titles sort".to_owned(),
    })
}

/// A record as people name it: "copy 0042 in Rare Books", "copy 0042", "Dune", "Rare Books".
pub(crate) fn label(conn: &Connection, r: RecordRef) -> Result<String, DbError> {
    let text: Option<String> = match r.kind {
        Kind::Placement => conn
            .query_row(
                "SELECT 'copy ' || c.barcode || ' in ' || k.name FROM placements p
                 JOIN copies c ON c.id = p.copy_id JOIN collections k ON k.id = p.collection_id
                 WHERE p.id = ?1",
                [r.id],
                |row| row.get(0),
            )
            .optional()?,
        Kind::Copy => conn
            .query_row(
                "SELECT 'copy ' || barcode FROM copies WHERE id = ?1",
                [r.id],
                |row| row.get(0),
            )
            .optional()?,
        Kind::Book => conn
            .query_row(
                "SELECT '“' || title || '”' FROM books WHERE id = ?1",
                [r.id],
                |row| row.get(0),
            )
            .optional()?,
        Kind::Collection => conn
            .query_row(
                "SELECT name FROM collections WHERE id = ?1",
                [r.id],
                |row| row.get(0),
            )
            .optional()?,
    };
    Ok(text.unwrap_or_else(|| r.to_string()))
}

/// One outbox entry.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) seq: i64,
    pub(crate) request: Uuid,
    pub(crate) op: Op,
    pub(crate) record: RecordRef,
    pub(crate) waiting: bool,
}

fn kind_of(noun: &str) -> Result<Kind, DbError> {
    Kind::ALL
        .into_iter()
        .find(|k| k.noun() == noun)
        .ok_or_else(|| data(format!("unknown kind {noun}")))
}

/// Every entry, in the order the saves were made.
pub(crate) fn entries(conn: &Connection) -> Result<Vec<Entry>, DbError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, request, op, kind, record_id, state = 'waiting' FROM outbox ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, bool>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, request, op, kind, id, waiting) = row?;
        out.push(Entry {
            seq,
            request: request.parse().map_err(data)?,
            op: serde_json::from_str(&op).map_err(data)?,
            record: RecordRef {
                kind: kind_of(&kind)?,
                id,
            },
            waiting,
        });
    }
    Ok(out)
}

/// How many entries wait to be sent, and how many wait for a decision.
pub(crate) fn counts(conn: &Connection) -> Result<(usize, usize), DbError> {
    Ok(conn.query_row(
        "SELECT (SELECT count(*) FROM outbox WHERE state = 'waiting'),
                (SELECT count(*) FROM outbox WHERE state = 'attention')",
        [],
        |r| Ok((r.get::<_, i64>(0)? as usize, r.get::<_, i64>(1)? as usize)),
    )?)
}

/// Why an entry did not land.
#[derive(Clone, Debug)]
pub(crate) struct Refusal {
    pub(crate) kind: AttentionKind,
    pub(crate) words: String,
    pub(crate) theirs: Option<(RecordRef, i64)>,
}

/// Marks an entry as waiting for a decision, if it is still the one that was sent (a decision
/// elsewhere may have put it back in line meanwhile, under a new request id).
pub(crate) fn hold(
    conn: &Connection,
    seq: i64,
    request: Uuid,
    why: &Refusal,
) -> Result<(), DbError> {
    conn.prepare_cached(
        "UPDATE outbox SET state = 'attention', problem = ?2, words = ?3,
                theirs_kind = ?4, theirs_id = ?5, theirs_version = ?6
         WHERE seq = ?1 AND request = ?7 AND state = 'waiting'",
    )?
    .execute(params![
        seq,
        why.kind.name(),
        why.words,
        why.theirs.map(|(r, _)| r.kind.noun()),
        why.theirs.map(|(r, _)| r.id),
        why.theirs.map(|(_, v)| v),
        request.to_string(),
    ])?;
    Ok(())
}

/// Removes a landed (or discarded) entry; a landed create's provisional id is mapped to the
/// server's.
pub(crate) fn landed(
    conn: &Connection,
    seq: i64,
    request: Uuid,
    created: Option<(RecordRef, i64)>,
) -> Result<(), DbError> {
    if let Some((provisional, server)) = created
        && provisional.id < 0
    {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO id_map (kind, provisional, server) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![provisional.kind.noun(), provisional.id, server])?;
    }
    conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1 AND request = ?2")?
        .execute(params![seq, request.to_string()])?;
    Ok(())
}

/// The server's id for a provisional one, if its create has landed.
pub(crate) fn mapped(
    conn: &Connection,
    kind: Kind,
    provisional: i64,
) -> Result<Option<i64>, DbError> {
    Ok(conn
        .prepare_cached("SELECT server FROM id_map WHERE kind = ?1 AND provisional = ?2")?
        .query_row(params![kind.noun(), provisional], |r| r.get(0))
        .optional()?)
}

/// Puts an entry back in line with a new op (a decision), or drops it (`None`).
pub(crate) fn requeue(conn: &Connection, seq: i64, op: Option<&Op>) -> Result<(), DbError> {
    match op {
        None => {
            conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
                .execute([seq])?;
        }
        Some(op) => {
            let text = serde_json::to_string(op).map_err(data)?;
            // A new request id: the op sent is not the one that was refused.
            conn.prepare_cached(
                "UPDATE outbox SET op = ?2, request = ?3, state = 'waiting', problem = NULL,
                        words = NULL, theirs_kind = NULL, theirs_id = NULL, theirs_version = NULL
                 WHERE seq = ?1",
            )?
            .execute(params![seq, text, Uuid::new_v4().to_string()])?;
        }
    }
    // What waited on this entry is looked at again.
    conn.prepare_cached(
        "UPDATE outbox SET state = 'waiting', problem = NULL, words = NULL
         WHERE state = 'attention' AND problem = 'blocked'",
    )?
    .execute([])?;
    Ok(())
}

/// The entries that wait for a decision, in the order they were made.
pub(crate) fn attention(conn: &Connection) -> Result<Vec<Attention>, DbError> {
    let mut st = conn.prepare_cached(
        "SELECT seq, made_at, made_by, what, kind, record_id, op, problem, words,
                theirs_kind, theirs_id, theirs_version
         FROM outbox WHERE state = 'attention' ORDER BY seq",
    )?;
    let rows = st.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, i64>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, Option<String>>(7)?,
            r.get::<_, Option<String>>(8)?,
            r.get::<_, Option<String>>(9)?,
            r.get::<_, Option<i64>>(10)?,
            r.get::<_, Option<i64>>(11)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, made_at, made_by, what, kind, id, op, problem, words, tk, ti, tv) = row?;
        let op: Op = serde_json::from_str(&op).map_err(data)?;
        let theirs = match (tk, ti, tv) {
            (Some(k), Some(i), Some(v)) => Some((
                RecordRef {
                    kind: kind_of(&k)?,
                    id: i,
                },
                v,
            )),
            _ => None,
        };
        out.push(Attention {
            seq,
            made_at: made_at.parse().map_err(data)?,
            made_by,
            what,
            record: RecordRef {
                kind: kind_of(&kind)?,
                id,
            },
            mine: op.draft().cloned(),
            kind: problem
                .as_deref()
                .and_then(AttentionKind::parse)
                .unwrap_or(AttentionKind::Invalid),
            words: words.unwrap_or_default(),
            theirs,
        });
    }
    Ok(out)
}

/// The op of one entry.
pub(crate) fn op_of(conn: &Connection, seq: i64) -> Result<Option<Op>, DbError> {
    let text: Option<String> = conn
        .query_row("SELECT op FROM outbox WHERE seq = ?1", [seq], |r| r.get(0))
        .optional()?;
    text.map(|t| serde_json::from_str(&t).map_err(data))
        .transpose()
}
