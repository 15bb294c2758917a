//! `shelfmark check`: is this file healthy, and do the live-uniqueness invariants hold? It reads
//! only; it never repairs (repairing could mean deleting a librarian's data).

use std::fmt;

use crate::db::engine::check::{LIVE_INVARIANTS, ORDER_KEY_INVARIANTS};
use rusqlite::Connection;

/// What `check` found. Empty `problems` means healthy.
#[derive(Clone, Debug, Default)]
pub struct CheckReport {
    /// (table, live rows, rows in the Trash)
    pub counts: Vec<(&'static str, i64, i64)>,
    pub schema_version: i64,
    pub problems: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.problems.is_empty()
    }
}

impl fmt::Display for CheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "schema version {}", self.schema_version)?;
        for (table, live, trash) in &self.counts {
            writeln!(f, "{table}: {live} live, {trash} in the Trash")?;
        }
        if self.problems.is_empty() {
            write!(
                f,
                "ok: integrity, foreign keys and live uniqueness all hold"
            )
        } else {
            writeln!(f, "{} problem(s):", self.problems.len())?;
            for p in &self.problems {
                writeln!(f, "  - {p}")?;
            }
            Ok(())
        }
    }
}

/// The file's own invariants, beside the live ones every backend keeps.
const FILE_INVARIANTS: &[(&str, &str)] = &[
    (
        "a collection whose name key does not match its name",
        "SELECT 'collection ' || id || ' has name key ' || quote(name_key) || ' for name ' || quote(name)
         FROM collections WHERE name NOT GLOB '*[^ -~]*' AND name_key <> lower(trim(name))",
    ),
];

/// The collections' kept counts are their live placements (schema version 6 and later).
const COUNT_INVARIANTS: &[(&str, &str)] = &[(
    "a collection whose kept count of live placements is wrong",
    "SELECT 'collection ' || id || ' counts ' || kept || ' live placement(s) but has ' || actual
     FROM (SELECT k.id,
                  coalesce((SELECT n.live FROM collection_counts n WHERE n.collection_id = k.id), 0)
                      AS kept,
                  (SELECT count(*) FROM placements p
                   WHERE p.collection_id = k.id AND p.deleted_at IS NULL) AS actual
           FROM collections k)
     WHERE kept <> actual",
)];

/// The search indexes hold exactly the live rows (schema version 2 and later).
const SEARCH_INVARIANTS: &[(&str, &str)] = &[
    (
        "the search triggers are paused outside a bulk write",
        "SELECT 'search_paused holds ' || count(*) || ' row(s)' FROM search_paused HAVING count(*) > 0",
    ),
    (
        "the search index of books is out of step",
        "SELECT 'book ' || rowid || ' is indexed but not live' FROM books_fts
           WHERE rowid NOT IN (SELECT id FROM books WHERE deleted_at IS NULL)
         UNION ALL
         SELECT 'book ' || id || ' is live but not indexed' FROM books
           WHERE deleted_at IS NULL AND id NOT IN (SELECT rowid FROM books_fts)",
    ),
];

const UNIQUE_INDEXES: &[&str] = &[
    "books_live_isbn",
    "copies_live_barcode",
    "collections_live_name",
    "placements_live_copy_collection",
];

/// Runs each query of `checks` and adds every row it returns as a problem.
fn violations(
    conn: &Connection,
    checks: &[(&str, &str)],
    report: &mut CheckReport,
) -> rusqlite::Result<()> {
    for (what, sql) in checks {
        let mut stmt = conn.prepare(sql)?;
        let found: Vec<String> = stmt
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        report
            .problems
            .extend(found.into_iter().map(|f| format!("{what}: {f}")));
    }
    Ok(())
}

/// How deeply SQLite's own check reads the file's structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Structure {
    /// `PRAGMA integrity_check`: every page, record and constraint, and every index entry
    /// against its row. For a library, a backup: files that are the only copy of their data.
    Full,
    /// `PRAGMA quick_check`: the same without matching index entries to rows (a fifth of the
    /// time). For a replica just written from the server's snapshot: a cache of the server that
    /// is filled anew on any doubt. The invariants below are checked in full either way.
    Quick,
}

/// Runs every check on `conn`.
pub(crate) fn check(conn: &Connection) -> rusqlite::Result<CheckReport> {
    check_with(conn, Structure::Full, &mut |_| {})
}

/// [`check`], with SQLite's structure check as deep as `structure` says; `step` hears what is
/// being checked as each part starts.
pub(crate) fn check_with(
    conn: &Connection,
    structure: Structure,
    step: &mut dyn FnMut(&'static str),
) -> rusqlite::Result<CheckReport> {
    step("the file's structure (every page, record and index entry)");
    let mut report = CheckReport {
        schema_version: conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
        ..CheckReport::default()
    };
    let mut stmt = conn.prepare(match structure {
        Structure::Full => "PRAGMA integrity_check",
        Structure::Quick => "PRAGMA quick_check",
    })?;
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if rows != ["ok"] {
        report
            .problems
            .extend(rows.into_iter().map(|r| format!("integrity: {r}")));
        // Further queries on a damaged file may fail or mislead; stop here.
        return Ok(report);
    }
    step("foreign keys");
    let mut stmt = conn.prepare("PRAGMA foreign_key_check")?;
    let fk: Vec<String> = stmt
        .query_map([], |r| {
            Ok(format!(
                "foreign key: {} row {} refers to a missing {}",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?.unwrap_or_default(),
                r.get::<_, String>(2)?
            ))
        })?
        .collect::<Result<_, _>>()?;
    report.problems.extend(fk);
    for index in UNIQUE_INDEXES {
        let present: i64 = conn.query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = ?1",
            [index],
            |r| r.get(0),
        )?;
        if present == 0 {
            report
                .problems
                .push(format!("the unique index {index} is missing"));
        }
    }
    step("live uniqueness and the kept counts");
    violations(conn, LIVE_INVARIANTS, &mut report)?;
    violations(conn, FILE_INVARIANTS, &mut report)?;
    if report.schema_version >= 6 {
        violations(conn, COUNT_INVARIANTS, &mut report)?;
    }
    if report.schema_version >= 7 {
        step("the kept titles and barcodes of the orders");
        violations(conn, ORDER_KEY_INVARIANTS, &mut report)?;
    }
    if report.schema_version >= 2 {
        step("the search index");
        // FTS5's own check is spelled as an INSERT; it changes nothing, but needs the write
        // lock, so on a busy or read-only file it is skipped (the queries below still run).
        if let Err(e) = conn.execute(
            "INSERT INTO books_fts (books_fts) VALUES ('integrity-check')",
            [],
        ) && matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseCorrupt)
        ) {
            report
                .problems
                .push(format!("the search index books_fts is damaged: {e}"));
        }
        violations(conn, SEARCH_INVARIANTS, &mut report)?;
    }
    step("counting the rows");
    for table in ["books", "copies", "collections", "placements"] {
        let (live, trash): (i64, i64) = conn.query_row(
            &format!(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL),
                        count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM {table}"
            ),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        report.counts.push((table, live, trash));
    }
    Ok(report)
}
