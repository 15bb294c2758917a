//! Bulk loads on a shared library (the seed generator): one transaction on a connection of its
//! own, under the library's write lock like every write, committed at the end. Dropped
//! unfinished, it rolls back: nothing of it is ever visible.
//!
//! Rows are gathered and sent with COPY, ten thousand at a time, with ids drawn from the
//! tables' own identity sequences in blocks (so saves from elsewhere, after the load, get ids
//! after it). Each row carries the same computed keys a save computes.

use std::collections::VecDeque;

use super::{PgConn, PgSession, WRITE_LOCK, copy_in::copy_in};
use crate::db::engine::copy::Cell;
use crate::db::engine::write::{articles, book_words, title_key_of};
use crate::db::{Bulk, DbError};
use crate::model::{
    BookId, CollectionId, CopyId, PlacementId, Stamp, ValidBook, ValidCollection, ValidCopy,
    ValidPlacement, sortkey,
};

/// Rows gathered per table before they are sent; ids drawn from a sequence at once.
const BLOCK: usize = 10_000;

/// One table's rows waiting to be sent, and the ids drawn for it.
struct Pending {
    table: &'static str,
    columns: &'static [&'static str],
    rows: Vec<Vec<Cell>>,
    ids: VecDeque<i64>,
}

const META: [&str; 4] = ["version", "created_at", "updated_at", "updated_by"];

/// In the order the rows must reach the server (parents first).
const COLLECTIONS: usize = 0;
const BOOKS: usize = 1;
const COPIES: usize = 2;
const PLACEMENTS: usize = 3;

pub(crate) struct ServerBulk {
    conn: PgConn,
    articles: Vec<String>,
    by: String,
    open: bool,
    pending: [Pending; 4],
}

impl ServerBulk {
    pub(crate) fn begin(mut conn: PgConn, by: &str) -> Result<Self, DbError> {
        conn.client.batch_execute("BEGIN")?;
        conn.client
            .execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        let articles = articles(&PgSession::new(&mut conn))?;
        let pending = |table, columns| Pending {
            table,
            columns,
            rows: Vec::new(),
            ids: VecDeque::new(),
        };
        Ok(ServerBulk {
            conn,
            articles,
            by: by.to_owned(),
            open: true,
            pending: [
                pending(
                    "collections",
                    &[
                        "id",
                        "name",
                        "name_key",
                        "description",
                        META[0],
                        META[1],
                        META[2],
                        META[3],
                    ],
                ),
                pending(
                    "books",
                    &[
                        "id",
                        "title",
                        "authors",
                        "isbn",
                        "publisher",
                        "year",
                        "nonfiling",
                        "title_key",
                        "search",
                        META[0],
                        META[1],
                        META[2],
                        META[3],
                    ],
                ),
                pending(
                    "copies",
                    &[
                        "id", "book_id", "barcode", META[0], META[1], META[2], META[3],
                    ],
                ),
                pending(
                    "placements",
                    &[
                        "id",
                        "copy_id",
                        "collection_id",
                        "shelf_mark",
                        "shelf_key",
                        "note",
                        META[0],
                        META[1],
                        META[2],
                        META[3],
                    ],
                ),
            ],
        })
    }

    /// Queues a row for table `t` (its id first, then `values`, then the bookkeeping columns);
    /// the id it was given.
    fn add(&mut self, t: usize, values: Vec<Cell>, at: Stamp) -> Result<i64, DbError> {
        if self.pending[t].ids.is_empty() {
            let ids = self.conn.client.query(
                "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2::bigint)",
                &[&self.pending[t].table, &(BLOCK as i64)],
            )?;
            self.pending[t].ids = ids.iter().map(|r| r.get::<_, i64>(0)).collect();
        }
        let id = self.pending[t]
            .ids
            .pop_front()
            .ok_or_else(|| DbError::Data("the server gave no ids".into()))?;
        let mut row = Vec::with_capacity(values.len() + 5);
        row.push(Cell::Int(id));
        row.extend(values);
        row.extend([
            Cell::Int(1),
            Cell::Stamp(at),
            Cell::Stamp(at),
            Cell::Text(self.by.clone()),
        ]);
        self.pending[t].rows.push(row);
        if self.pending[t].rows.len() >= BLOCK {
            self.send()?;
        }
        Ok(id)
    }

    /// Sends every table's gathered rows, parents first.
    fn send(&mut self) -> Result<(), DbError> {
        for p in &mut self.pending {
            copy_in(&mut self.conn, p.table, p.columns, &p.rows)?;
            p.rows.clear();
        }
        Ok(())
    }
}

impl Drop for ServerBulk {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.client.batch_execute("ROLLBACK");
        }
    }
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

impl Bulk for ServerBulk {
    fn insert_book(&mut self, v: &ValidBook, at: Stamp) -> Result<BookId, DbError> {
        let key = title_key_of(&v.title, v.nonfiling, &self.articles);
        let search = book_words(
            &v.title,
            &v.authors,
            v.isbn.as_deref().unwrap_or(""),
            &v.publisher,
        );
        let values = vec![
            text(&v.title),
            text(&v.authors),
            v.isbn.as_deref().map_or(Cell::Null, text),
            text(&v.publisher),
            v.year.map_or(Cell::Null, |y| Cell::Int(y.into())),
            v.nonfiling.map_or(Cell::Null, |n| Cell::Int(n.into())),
            Cell::Text(key),
            Cell::Text(search),
        ];
        Ok(BookId(self.add(BOOKS, values, at)?))
    }

    fn insert_copy(&mut self, v: &ValidCopy, at: Stamp) -> Result<CopyId, DbError> {
        let values = vec![Cell::Int(v.book_id.0), text(&v.barcode)];
        Ok(CopyId(self.add(COPIES, values, at)?))
    }

    fn insert_collection(
        &mut self,
        v: &ValidCollection,
        at: Stamp,
    ) -> Result<CollectionId, DbError> {
        let values = vec![text(&v.name), text(&v.name_key), text(&v.description)];
        Ok(CollectionId(self.add(COLLECTIONS, values, at)?))
    }

    fn insert_placement(&mut self, v: &ValidPlacement, at: Stamp) -> Result<PlacementId, DbError> {
        let values = vec![
            Cell::Int(v.copy_id.0),
            Cell::Int(v.collection_id.0),
            text(&v.shelf_mark),
            Cell::Text(sortkey::call_number_key(&v.shelf_mark)),
            text(&v.note),
        ];
        Ok(PlacementId(self.add(PLACEMENTS, values, at)?))
    }

    fn finish(mut self: Box<Self>) -> Result<(), DbError> {
        self.send()?;
        super::batch::fold_counts(&mut self.conn.client)?;
        self.conn.client.batch_execute("COMMIT")?;
        self.open = false;
        tidy_after_load(&mut self.conn);
        Ok(())
    }
}

/// After a bulk load: statistics for the planner and the visibility map for index-only scans
/// (a page deep into a million fresh rows took 300 ms before, 10 ms after). Autovacuum would
/// get there in its own time; a role that does not own the tables is skipped by the server.
pub(crate) fn tidy_after_load(conn: &mut PgConn) {
    let _ = conn
        .client
        .batch_execute("VACUUM (ANALYZE) books, copies, collections, placements");
}
