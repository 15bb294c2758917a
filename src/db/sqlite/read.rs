//! Reads. Every function takes `&Connection` and runs in autocommit mode (each statement its own
//! short read transaction), so no read snapshot outlives a call.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use crate::model::{
    Book, BookId, Collection, CollectionId, Copy, CopyId, Kind, Meta, Placement, PlacementId,
    Record, RecordRef, Stamp,
};

pub(crate) const BOOK_COLUMNS: &str = "id, title, authors, isbn, publisher, year, nonfiling, \
    version, created_at, updated_at, deleted_at";
pub(crate) const COPY_COLUMNS: &str =
    "id, book_id, barcode, version, created_at, updated_at, deleted_at";
pub(crate) const COLLECTION_COLUMNS: &str =
    "id, name, description, version, created_at, updated_at, deleted_at";
pub(crate) const PLACEMENT_COLUMNS: &str =
    "id, copy_id, collection_id, shelf_mark, note, version, created_at, updated_at, deleted_at";

pub(crate) fn stamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<Stamp> {
    let text: String = row.get(idx)?;
    text.parse().map_err(|e: jiff::Error| {
        rusqlite::Error::FromSqlConversionFailure(idx, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn opt_stamp(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<Stamp>> {
    match row.get_ref(idx)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        _ => stamp(row, idx).map(Some),
    }
}

/// Reads the four bookkeeping columns starting at `first`.
fn meta(row: &Row<'_>, first: usize) -> rusqlite::Result<Meta> {
    Ok(Meta {
        version: row.get(first)?,
        created_at: stamp(row, first + 1)?,
        updated_at: stamp(row, first + 2)?,
        deleted_at: opt_stamp(row, first + 3)?,
    })
}

pub(crate) fn book_row(row: &Row<'_>) -> rusqlite::Result<Book> {
    Ok(Book {
        id: BookId(row.get(0)?),
        title: row.get(1)?,
        authors: row.get(2)?,
        isbn: row.get(3)?,
        publisher: row.get(4)?,
        year: row.get(5)?,
        nonfiling: row.get(6)?,
        meta: meta(row, 7)?,
    })
}

pub(crate) fn copy_row(row: &Row<'_>) -> rusqlite::Result<Copy> {
    Ok(Copy {
        id: CopyId(row.get(0)?),
        book_id: BookId(row.get(1)?),
        barcode: row.get(2)?,
        meta: meta(row, 3)?,
    })
}

pub(crate) fn collection_row(row: &Row<'_>) -> rusqlite::Result<Collection> {
    Ok(Collection {
        id: CollectionId(row.get(0)?),
        name: row.get(1)?,
        description: row.get(2)?,
        meta: meta(row, 3)?,
    })
}

pub(crate) fn placement_row(row: &Row<'_>) -> rusqlite::Result<Placement> {
    Ok(Placement {
        id: PlacementId(row.get(0)?),
        copy_id: CopyId(row.get(1)?),
        collection_id: CollectionId(row.get(2)?),
        shelf_mark: row.get(3)?,
        note: row.get(4)?,
        meta: meta(row, 5)?,
    })
}

/// Any record by reference, live or in the Trash.
pub(crate) fn record(conn: &Connection, target: RecordRef) -> rusqlite::Result<Option<Record>> {
    let id = target.id;
    match target.kind {
        Kind::Book => book(conn, BookId(id)).map(|r| r.map(Record::Book)),
        Kind::Copy => copy(conn, CopyId(id)).map(|r| r.map(Record::Copy)),
        Kind::Collection => collection(conn, CollectionId(id)).map(|r| r.map(Record::Collection)),
        Kind::Placement => placement(conn, PlacementId(id)).map(|r| r.map(Record::Placement)),
    }
}

pub(crate) fn book(conn: &Connection, id: BookId) -> rusqlite::Result<Option<Book>> {
    conn.prepare_cached(&format!("SELECT {BOOK_COLUMNS} FROM books WHERE id = ?1"))?
        .query_row([id.0], book_row)
        .optional()
}

pub(crate) fn copy(conn: &Connection, id: CopyId) -> rusqlite::Result<Option<Copy>> {
    conn.prepare_cached(&format!("SELECT {COPY_COLUMNS} FROM copies WHERE id = ?1"))?
        .query_row([id.0], copy_row)
        .optional()
}

pub(crate) fn collection(
    conn: &Connection,
    id: CollectionId,
) -> rusqlite::Result<Option<Collection>> {
    conn.prepare_cached(&format!(
        "SELECT {COLLECTION_COLUMNS} FROM collections WHERE id = ?1"
    ))?
    .query_row([id.0], collection_row)
    .optional()
}

pub(crate) fn placement(conn: &Connection, id: PlacementId) -> rusqlite::Result<Option<Placement>> {
    conn.prepare_cached(&format!(
        "SELECT {PLACEMENT_COLUMNS} FROM placements WHERE id = ?1"
    ))?
    .query_row([id.0], placement_row)
    .optional()
}

/// The live copy with this (normalised) barcode.
pub(crate) fn live_copy_by_barcode(
    conn: &Connection,
    barcode: &str,
) -> rusqlite::Result<Option<Copy>> {
    conn.prepare_cached(&format!(
        "SELECT {COPY_COLUMNS} FROM copies WHERE barcode = ?1 AND deleted_at IS NULL"
    ))?
    .query_row([barcode], copy_row)
    .optional()
}

/// The live collection with this name, compared case-insensitively.
pub(crate) fn live_collection_by_name(
    conn: &Connection,
    name: &str,
) -> rusqlite::Result<Option<Collection>> {
    conn.prepare_cached(&format!(
        "SELECT {COLLECTION_COLUMNS} FROM collections WHERE name_key = ?1 AND deleted_at IS NULL"
    ))?
    .query_row([crate::model::name_key(name)], collection_row)
    .optional()
}

/// The most recently deleted collection in the Trash with this name (any case).
pub(crate) fn trashed_collection_named(
    conn: &Connection,
    name: &str,
) -> rusqlite::Result<Option<Collection>> {
    conn.prepare_cached(&format!(
        "SELECT {COLLECTION_COLUMNS} FROM collections
         WHERE name_key = ?1 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC LIMIT 1"
    ))?
    .query_row([crate::model::name_key(name)], collection_row)
    .optional()
}

/// The live book with this normalised ISBN-13.
pub(crate) fn live_book_by_isbn(conn: &Connection, isbn: &str) -> rusqlite::Result<Option<Book>> {
    conn.prepare_cached(&format!(
        "SELECT {BOOK_COLUMNS} FROM books WHERE isbn = ?1 AND deleted_at IS NULL"
    ))?
    .query_row([isbn], book_row)
    .optional()
}

/// The live placement of `copy` in `collection`, if there is one.
pub(crate) fn live_placement(
    conn: &Connection,
    copy: CopyId,
    collection: CollectionId,
) -> rusqlite::Result<Option<Placement>> {
    conn.prepare_cached(&format!(
        "SELECT {PLACEMENT_COLUMNS} FROM placements
         WHERE copy_id = :copy AND collection_id = :collection AND deleted_at IS NULL"
    ))?
    .query_row(
        named_params! { ":copy": copy.0, ":collection": collection.0 },
        placement_row,
    )
    .optional()
}
