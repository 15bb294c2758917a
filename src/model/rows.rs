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

/// Where a placement files in one of the editor's orders: its key there (the stored sort key
/// of its title, barcode or shelf mark, or when it was added) and its id, which breaks ties.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RowKey {
    pub key: OrderValue,
    pub id: PlacementId,
}

impl RowKey {
    /// Where the row just past this one would be, going up (`ascending`) or down the order:
    /// the same key, the next id that way. Ids are whole numbers, so the rows after this one
    /// are the rows from there on.
    #[must_use]
    pub fn past(&self, ascending: bool) -> RowKey {
        RowKey {
            key: self.key.clone(),
            id: PlacementId(self.id.0 + if ascending { 1 } else { -1 }),
        }
    }
}

/// A key of one of the editor's orders.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OrderValue {
    Text(String),
    Stamp(Stamp),
}

/// Rows between two marks a jump of the scroll bar lands on (see [`WindowStart::landing`]).
pub const MARK_EVERY: usize = 1000;

/// Where a window of rows starts, in the order shown.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WindowStart {
    /// `skip` rows after the first row.
    Top { skip: usize },
    /// `skip` rows after this row (or after where it would be, if it has gone).
    From { row: RowKey, skip: usize },
}

impl WindowStart {
    /// Where to start a window so that its first row is shown at `at`: at the mark nearest before
    /// it in the order shown, stepping the rest of the way. `marks` are every [`MARK_EVERY`]th
    /// row in ascending order.
    pub fn landing(
        marks: &[RowKey],
        at: usize,
        total: usize,
        ascending: bool,
    ) -> Option<WindowStart> {
        if ascending {
            let m = (at / MARK_EVERY).min(marks.len().checked_sub(1)?);
            return Some(WindowStart::From {
                row: marks[m].clone(),
                skip: at - m * MARK_EVERY,
            });
        }
        // Shown newest (or last) first: row `at` is ascending row `q`; start at the first mark at
        // or after it (shown before it) and step down to it.
        let q = total.checked_sub(at + 1)?;
        let m = q.div_ceil(MARK_EVERY);
        let mark = marks.get(m)?;
        Some(WindowStart::From {
            row: mark.clone(),
            skip: m * MARK_EVERY - q,
        })
    }
}

/// Which rows of a collection an editor asks for: up to `after` rows from `start` on, and up
/// to `before` rows just before them, in the asked order. Rows are found by seeking their
/// order's index to a key, never by counting rows from the top, so any depth costs the same
/// (only `skip` rows are stepped over, and a window asks for few).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct WindowQuery {
    pub collection: CollectionId,
    /// Text that must appear in the barcode, title, authors, shelf mark or note (empty: all).
    pub filter: String,
    pub sort: SortKey,
    pub ascending: bool,
    pub start: WindowStart,
    pub before: usize,
    pub after: usize,
}

/// A run of consecutive rows in the asked order, each with its key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub rows: Vec<(RowKey, PlacementRow)>,
    /// How many of `rows` come before the start.
    pub before: usize,
    /// Whether the first row is the first of the order (nothing comes before it).
    pub at_start: bool,
    /// Whether the last row is the last of the order.
    pub at_end: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn marks(n: usize) -> Vec<RowKey> {
        (0..n)
            .map(|i| RowKey {
                key: OrderValue::Text(format!("{:06}", i * MARK_EVERY)),
                id: PlacementId((i * MARK_EVERY) as i64),
            })
            .collect()
    }

    fn from(start: WindowStart) -> (i64, usize) {
        match start {
            WindowStart::From { row, skip } => (row.id.0, skip),
            WindowStart::Top { skip } => (-1, skip),
        }
    }

    #[test]
    fn a_jump_lands_on_the_mark_before_the_row_in_either_direction() {
        // 10 500 rows: marks at ascending rows 0, 1000, … 10 000.
        let m = marks(11);
        let land = |at, asc| WindowStart::landing(&m, at, 10_500, asc).map(from);
        assert_eq!(land(0, true), Some((0, 0)));
        assert_eq!(land(4_321, true), Some((4_000, 321)));
        assert_eq!(land(10_400, true), Some((10_000, 400)));
        // Descending: shown row 0 is ascending row 10 499, after the last mark: from the top.
        assert_eq!(land(0, false), None);
        // Shown row 499 is ascending row 10 000, the last mark itself.
        assert_eq!(land(499, false), Some((10_000, 0)));
        // Shown row 5 000 is ascending row 5 499: from mark 6 000, 501 rows down.
        assert_eq!(land(5_000, false), Some((6_000, 501)));
        assert_eq!(land(10_499, false), Some((0, 0)));
    }
}
