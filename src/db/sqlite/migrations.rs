//! Schema versions. `PRAGMA user_version` holds the version of the file; [`MIGRATIONS`] is an
//! append-only list (never edit a shipped entry, add the next one). Each step runs inside one
//! `BEGIN IMMEDIATE` transaction, so two processes opening a new file at once cannot both
//! migrate it: the second waits, then sees the new version and does nothing.
//!
//! A hand-rolled list rather than `rusqlite_migration`: that crate's transaction is deferred,
//! and a deferred read-then-write is exactly the upgrade race this project exists to avoid.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, TransactionBehavior};

use super::session::FileSession;
use crate::db::DbError;
use crate::db::engine::write::{refile_shelf_marks, refile_titles};
use crate::db::error::{OpenError, is_busy};

/// `PRAGMA application_id` of a Shelfmark library: "SHLF".
pub const APPLICATION_ID: i64 = 0x5348_4C46;

/// One migration: its SQL, and what Shelfmark computes for the rows already there (keys
/// computed in Rust).
struct Step {
    sql: &'static str,
    fill: Option<Fill>,
}

/// Computes in Rust what a migration's SQL cannot (sort keys) for the rows already there.
type Fill = fn(&Connection) -> Result<(), DbError>;

/// The migrations, in order; entry `i` brings a file from version `i` to `i + 1`.
const MIGRATIONS: &[Step] = &[
    Step {
        sql: include_str!("schema/0001_initial.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0002_search.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0003_title_order.sql"),
        fill: Some(|c| refile_titles(&FileSession::new(c))),
    },
    Step {
        sql: include_str!("schema/0004_who_and_shelf_order.sql"),
        fill: Some(|c| refile_shelf_marks(&FileSession::new(c))),
    },
    Step {
        sql: include_str!("schema/0005_source_records.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0006_collection_counts.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0007_placement_orders.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0008_book_identity.sql"),
        fill: None,
    },
    Step {
        sql: include_str!("schema/0009_shelf_search.sql"),
        fill: None,
    },
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Refuses a file of another program, or of a newer Shelfmark, without writing to it.
pub(crate) fn refuse_foreign_or_newer(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    // One statement, so one snapshot: read one by one, another process's first migration
    // could commit in between (application id still 0, tables already there).
    let read = || -> rusqlite::Result<(i64, i64, i64)> {
        conn.query_row(
            "SELECT (SELECT application_id FROM pragma_application_id),
                    (SELECT user_version FROM pragma_user_version),
                    (SELECT count(*) FROM sqlite_schema WHERE type = 'table')",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
    };
    let (app, version, tables) = read().map_err(|e| OpenError::from_sqlite(path, e))?;
    if app != APPLICATION_ID && (app != 0 || tables > 0) {
        return Err(OpenError::NotALibrary {
            path: path.to_path_buf(),
            reason: "it is an SQLite database of another program".to_owned(),
        });
    }
    if version > LATEST_VERSION {
        return Err(OpenError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: LATEST_VERSION,
        });
    }
    Ok(())
}

/// A shared library's replica (made for working offline) is not a library of its own.
pub(crate) fn refuse_replica(conn: &Connection, path: &Path) -> Result<(), OpenError> {
    let replica: bool = conn
        .query_row(
            "SELECT count(*) > 0 FROM sqlite_schema WHERE type = 'table' AND name = 'replica_state'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| OpenError::from_sqlite(path, e))?;
    if replica {
        return Err(OpenError::Replica(path.to_path_buf()));
    }
    Ok(())
}

/// A read-only file can only be opened if it needs no migration.
pub(crate) fn refuse_outdated(conn: &Connection, path: &Path, why: &str) -> Result<(), OpenError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|e| OpenError::from_sqlite(path, e))?;
    if version < LATEST_VERSION {
        return Err(OpenError::NeedsUpgrade {
            path: path.to_path_buf(),
            found: version,
            supported: LATEST_VERSION,
            why: why.to_owned(),
        });
    }
    Ok(())
}

/// Brings the schema to [`LATEST_VERSION`].
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    // A migration may build an index over millions of rows: its sort spills to temporary
    // files past the cache size instead of holding every key in memory.
    conn.execute_batch("PRAGMA temp_store = FILE")?;
    let deadline = Instant::now() + super::BUSY_TIMEOUT;
    let tx = loop {
        match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => break tx,
            Err(e) if is_busy(&e) && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let current: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current >= LATEST_VERSION {
        return Ok(()); // dropping the transaction rolls back: nothing was written
    }
    for step in &MIGRATIONS[current as usize..] {
        tx.execute_batch(step.sql)?;
        if let Some(fill) = step.fill {
            fill(&tx)?;
        }
    }
    tx.execute_batch(&format!(
        "PRAGMA user_version = {LATEST_VERSION}; PRAGMA application_id = {APPLICATION_ID};"
    ))?;
    Ok(tx.commit()?)
}
