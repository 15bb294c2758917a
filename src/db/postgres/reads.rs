//! The server's side of the read seam: [`ServerReads`] answers [`Reads`] on one pooled
//! connection, each statement its own short read transaction (one moment of the library).

use super::{Manager, PgSession, check};
use crate::db::engine::{export, read, views, write};
use crate::db::{CheckReport, DbError, ExportError, Reads};
use crate::model::{
    Book, BookId, BookRow, Collection, CollectionId, CollectionSummary, Copy, CopyId, CopyRow,
    Counts, ExportRow, PageQuery, Placement, PlacementRow, Record, RecordRef, TrashRow,
};

/// Reads on one pooled connection of a shared library.
pub(crate) struct ServerReads {
    conn: r2d2::PooledConnection<Manager>,
}

impl ServerReads {
    pub(crate) fn new(conn: r2d2::PooledConnection<Manager>) -> Self {
        ServerReads { conn }
    }

    fn s(&mut self) -> PgSession<'_> {
        PgSession::new(&mut self.conn)
    }
}

impl Reads for ServerReads {
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
        check::check(&mut self.conn)
    }
}
