//! What the windows show, as plain values: a collection in the list, a row of a collection
//! editor, a book in the catalog, a copy with where it is placed, an item of the Trash. Every
//! storage backend answers with these, so no view ever sees a database type.

use super::{Book, BookId, CollectionId, Copy, CopyId, PlacementId, RecordRef, Stamp};

/// A live collection, for the list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CollectionSummary {
    pub id: CollectionId,
    pub name: String,
    pub description: String,
    pub version: i64,
    /// Live placements in it (0 where the query does not count them).
    pub placements: i64,
}

/// One row of a collection editor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlacementRow {
    pub id: PlacementId,
    pub version: i64,
    pub copy_id: CopyId,
    pub barcode: String,
    pub book_id: BookId,
    pub title: String,
    pub authors: String,
    pub shelf_mark: String,
    pub note: String,
    pub added: Stamp,
}

/// The orders a collection editor can show.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum SortKey {
    ShelfMark,
    Title,
    Barcode,
    #[default]
    Added,
}

/// Which rows of a collection an editor asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageQuery {
    pub collection: CollectionId,
    /// Text that must appear in the barcode, title, authors, shelf mark or note (empty: all).
    pub filter: String,
    pub sort: SortKey,
    pub ascending: bool,
    pub offset: usize,
    pub limit: usize,
}

/// A book in the catalog, with its live copies' barcodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BookRow {
    pub book: Book,
    pub barcodes: Vec<String>,
}

/// A live copy of a book, with the collections it is placed in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyRow {
    pub copy: Copy,
    pub collections: Vec<String>,
}

/// Something in the Trash: what the user deleted (not the rows that went with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrashRow {
    pub record: RecordRef,
    pub version: i64,
    /// "Book “Dune” (with 3 copies)", "Copy 0042 of “Dune”", ...
    pub description: String,
    pub deleted_at: Stamp,
}

/// One line of an export: a live book, optionally a live copy of it, optionally placed in a
/// collection. Cells in the order of the spreadsheet layout.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExportRow {
    pub title: String,
    pub authors: String,
    pub isbn: Option<String>,
    pub publisher: String,
    pub year: Option<i32>,
    pub barcode: Option<String>,
    pub collection: Option<String>,
    pub shelf_mark: Option<String>,
    pub note: Option<String>,
}

/// A row of a record export: a live book with its source record, and one of its copies (with
/// where it is placed), or none. A book's rows come together, its copies in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordRow {
    pub book: BookId,
    pub title: String,
    pub authors: String,
    pub isbn: Option<String>,
    pub publisher: String,
    pub year: Option<i32>,
    pub nonfiling: Option<u8>,
    pub updated_at: Stamp,
    /// The record the book was imported from (ISO 2709, UTF-8), if it was.
    pub marc: Option<String>,
    pub barcode: Option<String>,
    pub collection: Option<String>,
    pub shelf_mark: Option<String>,
}

/// How many rows each table holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub books: i64,
    pub copies: i64,
    pub collections: i64,
    pub placements: i64,
}
