//! The read seam, answered once for every backend: [`EngineReads`] puts each [`Reads`]
//! question to the engine over the session of one pooled connection (each statement its own
//! short read transaction). A backend says only how to make a session of its connection and
//! how to check its library.

use super::{Session, export, read, views, write};
use crate::db::{CheckReport, DbError, ExportError, Reads};
use crate::model::{
    Book, BookId, BookRow, Collection, CollectionId, CollectionSummary, Copy, CopyId, CopyRow,
    Counts, ExportRow, Placement, Record, RecordRef, RowKey, SortKey, TrashRow, Window,
    WindowQuery,
};

/// A backend's pooled connection, as reads need it.
pub(crate) trait ReadConn {
    type S<'a>: Session
    where
        Self: 'a;
    /// A session on this connection, outside any write transaction.
    fn session(&mut self) -> Self::S<'_>;
    /// The backend's own `check` (integrity, foreign keys, live uniqueness, search index);
    /// `step` hears each part as it starts.
    fn check(&mut self, step: &mut dyn FnMut(&'static str)) -> Result<CheckReport, DbError>;
}

/// Reads on one pooled connection of any backend.
pub(crate) struct EngineReads<C>(pub(crate) C);

impl<C: ReadConn + Send> Reads for EngineReads<C> {
    fn record(&mut self, target: RecordRef) -> Result<Option<Record>, DbError> {
        read::record(&self.0.session(), target)
    }

    fn live_copy_by_barcode(&mut self, barcode: &str) -> Result<Option<Copy>, DbError> {
        read::live_copy_by_barcode(&self.0.session(), barcode)
    }

    fn live_collection_by_name(&mut self, name: &str) -> Result<Option<Collection>, DbError> {
        read::live_collection_by_name(&self.0.session(), name)
    }

    fn trashed_collection_named(&mut self, name: &str) -> Result<Option<Collection>, DbError> {
        read::trashed_collection_named(&self.0.session(), name)
    }

    fn live_book_by_isbn(&mut self, isbn: &str) -> Result<Option<Book>, DbError> {
        read::live_book_by_isbn(&self.0.session(), isbn)
    }

    fn live_placement(
        &mut self,
        copy: CopyId,
        collection: CollectionId,
    ) -> Result<Option<Placement>, DbError> {
        read::live_placement(&self.0.session(), copy, collection)
    }

    fn collections(&mut self) -> Result<Vec<CollectionSummary>, DbError> {
        views::collections(&self.0.session())
    }

    fn placement_count(
        &mut self,
        collection: CollectionId,
        filter: &str,
    ) -> Result<usize, DbError> {
        views::placement_count(&self.0.session(), collection, filter)
    }

    fn placement_window(&mut self, query: &WindowQuery) -> Result<Window, DbError> {
        views::placement_window(&self.0.session(), query)
    }

    fn order_marks(
        &mut self,
        collection: CollectionId,
        sort: SortKey,
        every: usize,
    ) -> Result<Vec<RowKey>, DbError> {
        let s = self.0.session();
        s.streaming(|| views::order_marks(&s, collection, sort, every))?
    }

    fn books_containing(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError> {
        views::books(&self.0.session(), text, limit)
    }

    fn search_books(&mut self, text: &str, limit: usize) -> Result<Vec<BookRow>, DbError> {
        views::search_books(&self.0.session(), text, limit)
    }

    fn search_collections(
        &mut self,
        text: &str,
        limit: usize,
    ) -> Result<Vec<CollectionSummary>, DbError> {
        views::search_collections(&self.0.session(), text, limit)
    }

    fn copies_of(&mut self, book: BookId) -> Result<Vec<CopyRow>, DbError> {
        views::copies_of(&self.0.session(), book)
    }

    fn trash(&mut self, limit: usize) -> Result<Vec<TrashRow>, DbError> {
        views::trash(&self.0.session(), limit)
    }

    fn is_empty(&mut self) -> Result<bool, DbError> {
        views::is_empty(&self.0.session())
    }

    fn counts(&mut self) -> Result<Counts, DbError> {
        views::counts(&self.0.session())
    }

    fn export(
        &mut self,
        collection: Option<CollectionId>,
        row: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
    ) -> Result<usize, ExportError> {
        let s = self.0.session();
        s.streaming(|| export::rows(&s, collection, row))
            .map_err(ExportError::Read)?
    }

    fn export_records(
        &mut self,
        row: &mut dyn FnMut(&crate::model::RecordRow) -> Result<(), std::io::Error>,
    ) -> Result<usize, ExportError> {
        let s = self.0.session();
        s.streaming(|| export::records(&s, row))
            .map_err(ExportError::Read)?
    }

    fn articles(&mut self) -> Result<Vec<String>, DbError> {
        write::articles(&self.0.session())
    }

    fn check(&mut self) -> Result<CheckReport, DbError> {
        self.0.check(&mut |_| {})
    }

    fn check_reporting(
        &mut self,
        step: &mut dyn FnMut(&'static str),
    ) -> Result<CheckReport, DbError> {
        self.0.check(step)
    }
}
