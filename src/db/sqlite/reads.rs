//! The file's side of the read seam: [`FileReads`] answers [`Reads`] on one pooled connection
//! (each statement its own short read transaction), and [`DataVersion`] notices other
//! processes' commits by polling `PRAGMA data_version` (cheap, and unlike `update_hook` it sees
//! other connections).

use std::time::Duration;

use super::session::FileSession;
use super::{Pool, PooledConnection, check};
use crate::db::engine::{export, read, views, write};
use crate::db::{ChangeSource, CheckReport, DbError, ExportError, Reads};
use crate::model::{
    Book, BookId, BookRow, Collection, CollectionId, CollectionSummary, Copy, CopyId, CopyRow,
    Counts, ExportRow, PageQuery, Placement, PlacementRow, Record, RecordRef, TrashRow,
};

/// Reads on one pooled connection of a library file.
pub(crate) struct FileReads {
    conn: PooledConnection,
}

impl FileReads {
    pub(crate) fn new(conn: PooledConnection) -> Self {
        FileReads { conn }
    }

    fn s(&self) -> FileSession<'_> {
        FileSession::new(&self.conn)
    }
}

impl Reads for FileReads {
    fn record(&mut self, target: RecordRef) -> Result<Option<Record>, DbError> {
        read::record(&self.s(), target)
    }

    fn live_copy_by_barcode(&mut self, barcode: &str) -> Result<Option<Copy>, DbError> {
        read::live_copy_by_barcode(&self.s(), barcode)
    }

    fn live_collection_by_name(&mut self, name: &str) -> Result<Option<Collection>, DbError> {
        read::live_collection_by_name(&self.s(), name)
    }

    fn trashed_collection_named(&mut self, name: &str) -> Result<Option<Collection>, DbError> {
        read::trashed_collection_named(&self.s(), name)
    }

    fn live_book_by_isbn(&mut self, isbn: &str) -> Result<Option<Book>, DbError> {
        read::live_book_by_isbn(&self.s(), isbn)
    }

    fn live_placement(
        &mut self,
        copy: CopyId,
        collection: CollectionId,
    ) -> Result<Option<Placement>, DbError> {
        read::live_placement(&self.s(), copy, collection)
    }

    fn collections(&mut self) -> Result<Vec<CollectionSummary>, DbError> {
        views::collections(&self.s())
    }

    fn placement_count(
        &mut self,
        collection: CollectionId,
        filter: &str,
    ) -> Result<usize, DbError> {
        views::placement_count(&self.s(), collection, filter)
    }

    fn placement_page(&mut self, query: &PageQuery) -> Result<Vec<PlacementRow>, DbError> {
        views::placement_page(&self.s(), query)
    }

    fn books_containing(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError> {
        views::books(&self.s(), text, limit)
    }

    fn search_books(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError> {
        views::search_books(&self.s(), text, limit)
    }

    fn search_collections(
        &mut self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<CollectionSummary>, DbError> {
        views::search_collections(&self.s(), text, limit)
    }

    fn copies_of(&mut self, book: BookId) -> Result<Vec<CopyRow>, DbError> {
        views::copies_of(&self.s(), book)
    }

    fn trash(&mut self, limit: usize) -> Result<Vec<TrashRow>, DbError> {
        views::trash(&self.s(), limit)
    }

    fn is_empty(&mut self) -> Result<bool, DbError> {
        views::is_empty(&self.s())
    }

    fn counts(&mut self) -> Result<Counts, DbError> {
        views::counts(&self.s())
    }

    fn export(
        &mut self,
        collection: Option<CollectionId>,
        row: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
    ) -> Result<usize, ExportError> {
        export::rows(&self.s(), collection, row)
    }

    fn articles(&mut self) -> Result<Vec<String>, DbError> {
        write::articles(&self.s())
    }

    fn check(&mut self) -> Result<CheckReport, DbError> {
        Ok(check::check(&self.conn)?)
    }
}

/// Polls `PRAGMA data_version` on its own pooled connection.
pub(crate) struct DataVersion {
    pool: Pool,
    interval: Duration,
    conn: Option<PooledConnection>,
    last: Option<i64>,
}

impl DataVersion {
    pub(crate) fn new(pool: Pool, interval: Duration) -> Self {
        DataVersion {
            pool,
            interval,
            conn: None,
            last: None,
        }
    }

    fn poll(&mut self) -> Option<i64> {
        if self.conn.is_none() {
            // data_version is per connection: a new one starts a new sequence.
            self.last = None;
            self.conn = self.pool.get().ok();
        }
        let v = self
            .conn
            .as_ref()?
            .query_row("PRAGMA data_version", [], |r| r.get::<_, i64>(0));
        if let Ok(v) = v {
            Some(v)
        } else {
            // A fresh borrow next time, so a failed poll heals itself.
            self.conn = None;
            None
        }
    }
}

impl ChangeSource for DataVersion {
    fn prime(&mut self) {
        self.last = self.poll();
    }

    fn wait(&mut self, sleep: &mut dyn FnMut(Duration) -> bool) -> bool {
        if self.last.is_none() {
            self.last = self.poll();
        }
        if sleep(self.interval) {
            return false;
        }
        let Some(v) = self.poll() else {
            return false;
        };
        let changed = self.last.is_some_and(|l| l != v);
        self.last = Some(v);
        changed
    }
}
