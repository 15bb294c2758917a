//! Bulk writes (an import, a copy, the seed generator) with the search triggers paused: FTS5
//! flushes its pending index at every statement savepoint, so a trigger per row makes a bulk
//! load crawl. The writer notes where the new books start and indexes them in one statement at
//! the end, inside the same transaction; nobody else ever sees the pause.

use rusqlite::{Connection, OptionalExtension as _};

use super::session::FileSession;
use crate::db::engine::Paused;
use crate::db::engine::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
};
use crate::db::{Bulk, DbError};
use crate::model::{
    BookId, CollectionId, CopyId, PlacementId, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement,
};

/// Pauses the search triggers on `conn`, which must be inside a write transaction, for a load
/// of about `rows` rows. Only inserts of books may happen during the pause (bulk writes do not
/// edit books).
///
/// A load at least as big as what the library holds (a first import into a new library, a
/// copy into an empty file) also drops the indexes it would only write to ([`WRITE_ONLY`]):
/// a million rows inserted in random key order into each index outgrow any page cache, while
/// building an index at the end sorts its keys once. They are built again, from their own
/// definitions, before the transaction commits, so no one ever sees the library without them.
pub(crate) fn pause_search(conn: &Connection, rows: u64) -> rusqlite::Result<Paused> {
    let books_before =
        conn.query_row("SELECT coalesce(max(id), 0) FROM books", [], |r| r.get(0))?;
    conn.execute("INSERT INTO search_paused (one) VALUES (1)", [])?;
    // A bulk load touches every index all over: a bigger page cache keeps them from being
    // written out and read back in the middle of it. Back to the usual size at the end.
    conn.execute_batch(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))?;
    let mut rebuild = Vec::new();
    let held: i64 = conn.query_row(
        "SELECT coalesce(sum(live), 0) FROM collection_counts",
        [],
        |r| r.get(0),
    )?;
    if rows >= DEFER_AT_LEAST && rows >= held.unsigned_abs() {
        let mut st =
            conn.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name = ?1")?;
        for name in WRITE_ONLY {
            let found: Option<(String, String)> = st
                .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            if let Some((name, sql)) = found {
                conn.execute_batch(&format!("DROP INDEX \"{name}\""))?;
                rebuild.push(sql);
            }
        }
    }
    Ok(Paused {
        books_before,
        rebuild,
    })
}

/// The indexes no bulk load reads (the books' title order, the search by shelf mark, the
/// collection editor's orders): the lookups an import makes (by ISBN, by title and authors
/// without one, by barcode, collection name, copy and collection) and the uniqueness of live
/// rows keep theirs.
const WRITE_ONLY: [&str; 6] = [
    "books_live_title_key",
    "placements_live_shelf_mark",
    "placements_live_collection",
    "placements_live_title",
    "placements_live_barcode",
    "placements_live_shelf",
];

/// The smallest load that drops the [`WRITE_ONLY`] indexes (below it, they fit in the cache).
const DEFER_AT_LEAST: u64 = 50_000;

/// Re-indexes books that were there before the pause and changed during it.
pub(crate) fn reindex_books(conn: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    let mut delete = conn.prepare_cached("DELETE FROM books_fts WHERE rowid = ?1")?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
         SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books
         WHERE id = ?1 AND deleted_at IS NULL",
    )?;
    for id in ids {
        delete.execute([id])?;
        insert.execute([id])?;
    }
    Ok(())
}

/// Indexes the books inserted during the pause, builds the indexes it dropped, and lifts it.
pub(crate) fn resume_search(conn: &Connection, paused: &Paused) -> rusqlite::Result<()> {
    // What is left writes each index in order: the bulk cache is not needed for it, and the
    // sorts building the indexes take their memory from the cache size.
    usual_cache(conn)?;
    conn.execute(
        "INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
         SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books
         WHERE id > ?1 AND deleted_at IS NULL",
        [paused.books_before],
    )?;
    if !paused.rebuild.is_empty() {
        // Sorting a million keys in memory would take more memory than the whole load: the
        // sorts spill to temporary files past the cache size instead (where the connection
        // allows the change inside a transaction: it has no temporary tables).
        let spill = conn.execute_batch("PRAGMA temp_store = FILE").is_ok();
        let built = paused
            .rebuild
            .iter()
            .try_for_each(|sql| conn.execute_batch(sql));
        // Back to memory whether or not the builds went through (the setting outlives the
        // transaction, and the connection goes back to the pool).
        if spill {
            conn.execute_batch("PRAGMA temp_store = MEMORY")?;
        }
        built?;
    }
    conn.execute("DELETE FROM search_paused", [])?;
    Ok(())
}

/// Puts the page cache of `conn` back to its usual size if a bulk load had grown it: after a
/// bulk load, and after a rolled back one, so a pooled connection does not keep a bulk load's
/// memory.
pub(crate) fn usual_cache(conn: &Connection) -> rusqlite::Result<()> {
    let kib: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    if kib != -BULK_CACHE_KIB {
        return Ok(());
    }
    conn.execute_batch(&format!("PRAGMA cache_size = -{}", super::CACHE_KIB))
}

/// The page cache of a connection during a bulk load, in KiB.
const BULK_CACHE_KIB: i64 = 64 * 1024;

/// A bulk load in one `BEGIN IMMEDIATE` transaction on its own connection, with the search
/// triggers paused; [`Bulk::finish`] indexes the new books and commits. Dropped unfinished, it
/// rolls back: nothing of it is ever visible.
pub(crate) struct FileBulk {
    conn: super::PooledConnection,
    paused: Paused,
    /// The library's articles, read once for the whole load.
    articles: Vec<String>,
    by: String,
}

impl FileBulk {
    pub(crate) fn begin(conn: super::PooledConnection, by: &str) -> Result<Self, DbError> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let started = pause_search(&conn, 0)
            .map_err(DbError::from)
            .and_then(|paused| Ok((paused, articles(&FileSession::new(&conn))?)));
        match started {
            Ok((paused, articles)) => Ok(FileBulk {
                conn,
                paused,
                articles,
                by: by.to_owned(),
            }),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

impl Drop for FileBulk {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        let _ = usual_cache(&self.conn);
    }
}

impl Bulk for FileBulk {
    fn insert_book(&mut self, book: &ValidBook, at: Stamp) -> Result<BookId, DbError> {
        let s = FileSession::new(&self.conn);
        let tx = WriteTx::new(&s, at, &self.by);
        Ok(BookId(insert_book_with(&tx, book, None, &self.articles)?))
    }

    fn insert_copy(&mut self, copy: &ValidCopy, at: Stamp) -> Result<CopyId, DbError> {
        let s = FileSession::new(&self.conn);
        Ok(CopyId(insert_copy(&WriteTx::new(&s, at, &self.by), copy)?))
    }

    fn insert_collection(
        &mut self,
        collection: &ValidCollection,
        at: Stamp,
    ) -> Result<CollectionId, DbError> {
        let s = FileSession::new(&self.conn);
        Ok(CollectionId(insert_collection(
            &WriteTx::new(&s, at, &self.by),
            collection,
        )?))
    }

    fn insert_placement(
        &mut self,
        placement: &ValidPlacement,
        at: Stamp,
    ) -> Result<PlacementId, DbError> {
        let s = FileSession::new(&self.conn);
        Ok(PlacementId(insert_placement(
            &WriteTx::new(&s, at, &self.by),
            placement,
        )?))
    }

    fn finish(self: Box<Self>) -> Result<(), DbError> {
        resume_search(&self.conn, &self.paused)?;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexes(conn: &Connection) -> Vec<(String, String)> {
        let mut st = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    fn cache(conn: &Connection) -> i64 {
        conn.query_row("PRAGMA cache_size", [], |r| r.get(0))
            .unwrap()
    }

    /// A big load drops the indexes it only writes and builds them again as they were; a
    /// small one keeps them; either way the connection's cache is its usual size after it,
    /// and a cache no bulk load grew is left alone.
    #[test]
    fn a_bulk_load_builds_what_it_dropped_and_gives_its_cache_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.sqlite3");
        drop(crate::db::Library::open(&path, &crate::db::OpenOptions::default()).unwrap());
        let conn = Connection::open(&path).unwrap();
        let all = indexes(&conn);
        for (rows, dropped) in [(100_000, WRITE_ONLY.len()), (10, 0)] {
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            let paused = pause_search(&conn, rows).unwrap();
            assert_eq!(paused.rebuild.len(), dropped, "{rows} rows");
            assert_eq!(indexes(&conn).len(), all.len() - dropped);
            assert_eq!(cache(&conn), -BULK_CACHE_KIB);
            resume_search(&conn, &paused).unwrap();
            assert_eq!(indexes(&conn), all);
            assert_eq!(cache(&conn), -super::super::CACHE_KIB);
            conn.execute_batch("COMMIT").unwrap();
        }
        conn.execute_batch("PRAGMA cache_size = -1234").unwrap();
        usual_cache(&conn).unwrap();
        assert_eq!(cache(&conn), -1234);
    }
}
