//! Bulk writes (an import, the seed generator) with the search triggers paused: FTS5 flushes its
//! pending index at every statement savepoint, so a trigger per row makes a bulk load crawl. The
//! writer notes where the new books start and indexes them in one statement at the end, inside
//! the same transaction; nobody else ever sees the pause.

use rusqlite::Connection;

use super::write::{
    WriteTx, articles, insert_book_with, insert_collection, insert_copy, insert_placement,
};
use crate::db::{Bulk, DbError};
use crate::model::{
    BookId, CollectionId, CopyId, PlacementId, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement,
};

/// An open pause; [`SearchPause::finish`] indexes the new books and ends it. Dropping it without
/// finishing is fine only if the transaction is rolled back.
#[derive(Debug)]
pub(crate) struct SearchPause<'c> {
    conn: &'c Connection,
    /// Books with larger ids than this were inserted during the pause.
    books_before: i64,
}

impl<'c> SearchPause<'c> {
    /// Pauses the search triggers on `conn`, which must be inside a write transaction. Only
    /// inserts of books may happen during the pause (bulk writes do not edit books).
    pub(crate) fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        let books_before =
            conn.query_row("SELECT coalesce(max(id), 0) FROM books", [], |r| r.get(0))?;
        conn.execute("INSERT INTO search_paused (one) VALUES (1)", [])?;
        Ok(SearchPause { conn, books_before })
    }

    /// Indexes the books inserted during the pause and lifts it.
    pub(crate) fn finish(self) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
             SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books
             WHERE id > ?1 AND deleted_at IS NULL",
            [self.books_before],
        )?;
        self.conn.execute("DELETE FROM search_paused", []).map(drop)
    }
}

/// A bulk load in one `BEGIN IMMEDIATE` transaction on its own connection, with the search
/// triggers paused; [`Bulk::finish`] indexes the new books and commits. Dropped unfinished, it
/// rolls back: nothing of it is ever visible.
pub(crate) struct FileBulk {
    conn: super::PooledConnection,
    books_before: i64,
    /// The library's articles, read once for the whole load.
    articles: Vec<String>,
}

impl FileBulk {
    pub(crate) fn begin(conn: super::PooledConnection) -> Result<Self, DbError> {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        let pause = SearchPause::begin(&conn);
        match pause {
            Ok(p) => {
                let books_before = p.books_before;
                match articles(&conn) {
                    Ok(articles) => Ok(FileBulk {
                        conn,
                        books_before,
                        articles,
                    }),
                    Err(e) => {
                        let _ = conn.execute_batch("ROLLBACK");
                        Err(e.into())
                    }
                }
            }
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e.into())
            }
        }
    }

    fn tx(&self, at: Stamp) -> WriteTx<'_> {
        WriteTx::new(&self.conn, at)
    }
}

impl Drop for FileBulk {
    fn drop(&mut self) {
        if !self.conn.is_autocommit() {
            let _ = self.conn.execute_batch("ROLLBACK");
        }
    }
}

impl Bulk for FileBulk {
    fn insert_book(&mut self, book: &ValidBook, at: Stamp) -> Result<BookId, DbError> {
        Ok(BookId(insert_book_with(
            &self.tx(at),
            book,
            &self.articles,
        )?))
    }

    fn insert_copy(&mut self, copy: &ValidCopy, at: Stamp) -> Result<CopyId, DbError> {
        Ok(CopyId(insert_copy(&self.tx(at), copy)?))
    }

    fn insert_collection(
        &mut self,
        collection: &ValidCollection,
        at: Stamp,
    ) -> Result<CollectionId, DbError> {
        Ok(CollectionId(insert_collection(&self.tx(at), collection)?))
    }

    fn insert_placement(
        &mut self,
        placement: &ValidPlacement,
        at: Stamp,
    ) -> Result<PlacementId, DbError> {
        Ok(PlacementId(insert_placement(&self.tx(at), placement)?))
    }

    fn finish(self: Box<Self>) -> Result<(), DbError> {
        SearchPause {
            conn: &self.conn,
            books_before: self.books_before,
        }
        .finish()?;
        self.conn.execute_batch("COMMIT")?;
        Ok(())
    }
}
