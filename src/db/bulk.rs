//! Bulk writes (an import, the seed generator) with the search triggers paused: FTS5 flushes its
//! pending index at every statement savepoint, so a trigger per row makes a bulk load crawl. The
//! writer notes what it touched and brings the search indexes up to date in one statement each
//! at the end, inside the same transaction; nobody else ever sees the pause.

use rusqlite::Connection;

/// An open pause; [`SearchPause::finish`] re-indexes what was touched and ends it. Dropping it
/// without finishing is fine only if the transaction is rolled back.
#[derive(Debug)]
pub(crate) struct SearchPause<'c> {
    conn: &'c Connection,
    /// Rows with larger ids than these were inserted during the pause.
    books_before: i64,
    copies_before: i64,
}

impl<'c> SearchPause<'c> {
    /// Pauses the search triggers on `conn`, which must be inside a write transaction.
    pub(crate) fn begin(conn: &'c Connection) -> rusqlite::Result<Self> {
        let max = |table: &str| -> rusqlite::Result<i64> {
            conn.query_row(
                &format!("SELECT coalesce(max(id), 0) FROM {table}"),
                [],
                |r| r.get(0),
            )
        };
        let (books_before, copies_before) = (max("books")?, max("copies")?);
        conn.execute_batch(
            "INSERT INTO search_paused (one) VALUES (1);
             CREATE TEMP TABLE IF NOT EXISTS bulk_books (id INTEGER PRIMARY KEY);
             CREATE TEMP TABLE IF NOT EXISTS bulk_copies (id INTEGER PRIMARY KEY);
             DELETE FROM temp.bulk_books;
             DELETE FROM temp.bulk_copies;",
        )?;
        Ok(SearchPause {
            conn,
            books_before,
            copies_before,
        })
    }

    /// An existing copy got a new placement. (New books and copies need no note: they have
    /// the largest ids.)
    pub(crate) fn placed(&self, copy: i64) -> rusqlite::Result<()> {
        if copy > self.copies_before {
            return Ok(());
        }
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO temp.bulk_copies (id) VALUES (?1)")?
            .execute([copy])
            .map(drop)
    }

    /// Re-indexes everything touched and lifts the pause.
    pub(crate) fn finish(self) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO temp.bulk_books (id) SELECT id FROM books WHERE id > ?1",
            [self.books_before],
        )?;
        self.conn.execute(
            "INSERT OR IGNORE INTO temp.bulk_copies (id) SELECT id FROM copies WHERE id > ?1",
            [self.copies_before],
        )?;
        self.conn.execute_batch(
            "DELETE FROM books_fts WHERE rowid IN (SELECT id FROM temp.bulk_books);
             INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
                 SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books
                 WHERE id IN (SELECT id FROM temp.bulk_books) AND deleted_at IS NULL;
             DELETE FROM copies_fts WHERE rowid IN (SELECT id FROM temp.bulk_copies);
             INSERT INTO copies_fts (rowid, barcode, places)
                 SELECT id, barcode, places FROM copy_search_text
                 WHERE id IN (SELECT id FROM temp.bulk_copies);
             DELETE FROM temp.bulk_books;
             DELETE FROM temp.bulk_copies;
             DELETE FROM search_paused;",
        )
    }
}
