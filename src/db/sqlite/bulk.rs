//! Bulk writes (an import, a copy, the seed generator) with the search triggers paused: FTS5
//! flushes its pending index at every statement savepoint, so a trigger per row makes a bulk
//! load crawl. The writer notes where the new books start and indexes them in one statement at
//! the end, inside the same transaction; nobody else ever sees the pause.

use rusqlite::Connection;

use super::session::FileSession;
use crate::db::engine::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
};
use crate::db::{Bulk, DbError};
use crate::model::{
    BookId, CollectionId, CopyId, PlacementId, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement,
};

/// Pauses the search triggers on `conn`, which must be inside a write transaction; returns the
/// largest book id before the pause. Only inserts of books may happen during the pause (bulk
/// writes do not edit books).
pub(crate) fn pause_search(conn: &Connection) -> rusqlite::Result<i64> {
    let books_before =
        conn.query_row("SELECT coalesce(max(id), 0) FROM books", [], |r| r.get(0))?;
    conn.execute("INSERT INTO search_paused (one) VALUES (1)", [])?;
    // A bulk load touches every index all over: a bigger page cache keeps them from being
    // written out and read back in the middle of it. Back to the usual size at the end.
    conn.execute_batch(&format!("PRAGMA cache_size = -{BULK_CACHE_KIB}"))?;
    Ok(books_before)
}

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

/// Indexes the books inserted during the pause and lifts it.
pub(crate) fn resume_search(conn: &Connection, books_before: i64) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
         SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books
         WHERE id > ?1 AND deleted_at IS NULL",
        [books_before],
    )?;
    conn.execute("DELETE FROM search_paused", [])?;
    usual_cache(conn)
}

/// Puts the page cache of `conn` back to its usual size: after a bulk load, and after a rolled
/// back one, so a pooled connection does not keep a bulk load's memory.
pub(crate) fn usual_cache(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = -{}", super::CACHE_KIB))
}

/// The page cache of a connection during a bulk load, in KiB.
const BULK_CACHE_KIB: i64 = 64 * 1024;

/// A bulk load in one `BEGIN IMMEDIATE` transaction on its own connection, with the search
/// triggers paused; [`Bulk::finish`] indexes the new books and commits. Dropped unfinished, it
/// rolls back: nothing of it is ever visible.
pub(crate) struct FileBulk {
    conn: super::PooledConnection,
    books_before: i64,
    /// The library's articles, read once for the whole load.
    articles: Vec<String>,
    by: String,
}

impl FileBulk {
    pub(crate) fn begin(conn: super::PooledConnection, by: &str) -> Result<Self, DbError> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let started = pause_search(&conn)
            .map_err(DbError::from)
            .and_then(|before| Ok((before, articles(&FileSession::new(&conn))?)));
        match started {
            Ok((books_before, articles)) => Ok(FileBulk {
                conn,
                books_before,
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
            let _ = usual_cache(&self.conn);
        }
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
        resume_search(&self.conn, self.books_before)?;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}
