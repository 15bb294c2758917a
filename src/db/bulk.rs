//! Bulk writes (an import, the seed generator) with the search triggers paused: FTS5 flushes its
//! pending index at every statement savepoint, so a trigger per row makes a bulk load crawl. The
//! writer notes where the new books start and indexes them in one statement at the end, inside
//! the same transaction; nobody else ever sees the pause.

use rusqlite::Connection;

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
