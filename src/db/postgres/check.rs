//! `shelfmark check` on a shared library: do the live-uniqueness invariants hold, are the guards
//! in place, and is the search column what Shelfmark would compute? It reads only.

use super::{Manager, migrations};
use crate::db::engine::check::{LIVE_INVARIANTS, ORDER_KEY_INVARIANTS};
use crate::db::engine::write::book_words;
use crate::db::{CheckReport, DbError};

const UNIQUE_INDEXES: &[&str] = &[
    "books_live_isbn",
    "copies_live_barcode",
    "collections_live_name",
    "placements_live_copy_collection",
];

/// Each collection's count (folded, plus its deltas) is its live placements (schema 4).
const COUNT_INVARIANTS: &[(&str, &str)] = &[(
    "a collection whose kept count of live placements is wrong",
    "SELECT 'collection ' || k.id || ' counts ' || kept || ' live placement(s) but has ' || actual
     FROM (SELECT k.id,
                  coalesce((SELECT n.live FROM collection_counts n WHERE n.collection_id = k.id), 0)
                  + coalesce((SELECT sum(d.delta) FROM collection_count_deltas d
                              WHERE d.collection_id = k.id), 0) AS kept,
                  (SELECT count(*) FROM placements p
                   WHERE p.collection_id = k.id AND p.deleted_at IS NULL) AS actual
           FROM collections k) k
     WHERE kept <> actual",
)];

pub(crate) fn check(conn: &mut r2d2::PooledConnection<Manager>) -> Result<CheckReport, DbError> {
    let client = &mut conn.client;
    let version = match migrations::inspect(client)? {
        migrations::Found::Library(v) => v,
        _ => 0,
    };
    let mut report = CheckReport {
        schema_version: version,
        ..CheckReport::default()
    };
    for index in UNIQUE_INDEXES {
        let row = client.query_opt(
            "SELECT i.indisunique AND i.indisvalid, pg_get_expr(i.indpred, i.indrelid)
             FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = $1",
            &[index],
        )?;
        match row {
            None => report
                .problems
                .push(format!("the unique index {index} is missing")),
            Some(r) => {
                let predicate: Option<String> = r.get(1);
                if !r.get::<_, bool>(0)
                    || !predicate.is_some_and(|p| p.contains("deleted_at IS NULL"))
                {
                    report.problems.push(format!(
                        "the unique index {index} is not a valid unique index of live rows"
                    ));
                }
            }
        }
    }
    for (what, sql) in LIVE_INVARIANTS
        .iter()
        .chain(ORDER_KEY_INVARIANTS)
        .chain(COUNT_INVARIANTS)
    {
        for row in client.query(*sql, &[])? {
            report
                .problems
                .push(format!("{what}: {}", row.get::<_, String>(0)));
        }
    }
    // The search column holds the words Shelfmark computes from the book.
    let mut stale = 0usize;
    for row in client.query(
        "SELECT id, title, authors, coalesce(isbn, ''), publisher, search FROM books
         WHERE deleted_at IS NULL",
        &[],
    )? {
        let parts: [String; 4] = [row.get(1), row.get(2), row.get(3), row.get(4)];
        let want = book_words(&parts[0], &parts[1], &parts[2], &parts[3]);
        if row.get::<_, String>(5) != want {
            stale += 1;
            if stale <= 5 {
                report.problems.push(format!(
                    "the search words of book {} are out of step",
                    row.get::<_, i64>(0)
                ));
            }
        }
    }
    for table in ["books", "copies", "collections", "placements"] {
        let row = client.query_one(
            &format!(
                "SELECT count(*) FILTER (WHERE deleted_at IS NULL),
                        count(*) FILTER (WHERE deleted_at IS NOT NULL) FROM {table}"
            ),
            &[],
        )?;
        report.counts.push((table, row.get(0), row.get(1)));
    }
    Ok(report)
}
