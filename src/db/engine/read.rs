//! Records by id or by the value they hold, on any [`Session`]. Each call is one statement, so
//! it sees one moment of the library.

use super::{Q, Row, Session, params};
use crate::db::DbError;
use crate::model::{
    Book, BookId, Collection, CollectionId, Copy, CopyId, Kind, Meta, Placement, PlacementId,
    Record, RecordRef,
};

/// The five bookkeeping columns, starting at `first`: version, created, updated, deleted, by.
fn meta(r: &dyn Row, first: usize) -> Result<Meta, DbError> {
    Ok(Meta {
        version: r.i64(first)?,
        created_at: r.stamp(first + 1)?,
        updated_at: r.stamp(first + 2)?,
        deleted_at: r.opt_stamp(first + 3)?,
        updated_by: r.string(first + 4)?,
    })
}

/// Reads the small integers that the schema keeps in range (year, nonfiling).
fn small<T: TryFrom<i64>>(r: &dyn Row, i: usize) -> Result<Option<T>, DbError> {
    r.opt_i64(i)?
        .map(|v| T::try_from(v).map_err(|_| DbError::Data(format!("{v} is out of range"))))
        .transpose()
}

pub(crate) fn book_row(r: &dyn Row) -> Result<Book, DbError> {
    Ok(Book {
        id: BookId(r.i64(0)?),
        title: r.string(1)?,
        authors: r.string(2)?,
        isbn: r.opt_string(3)?,
        publisher: r.string(4)?,
        year: small(r, 5)?,
        nonfiling: small(r, 6)?,
        meta: meta(r, 7)?,
    })
}

pub(crate) fn copy_row(r: &dyn Row) -> Result<Copy, DbError> {
    Ok(Copy {
        id: CopyId(r.i64(0)?),
        book_id: BookId(r.i64(1)?),
        barcode: r.string(2)?,
        meta: meta(r, 3)?,
    })
}

pub(crate) fn collection_row(r: &dyn Row) -> Result<Collection, DbError> {
    Ok(Collection {
        id: CollectionId(r.i64(0)?),
        name: r.string(1)?,
        description: r.string(2)?,
        meta: meta(r, 3)?,
    })
}

pub(crate) fn placement_row(r: &dyn Row) -> Result<Placement, DbError> {
    Ok(Placement {
        id: PlacementId(r.i64(0)?),
        copy_id: CopyId(r.i64(1)?),
        collection_id: CollectionId(r.i64(2)?),
        shelf_mark: r.string(3)?,
        note: r.string(4)?,
        meta: meta(r, 5)?,
    })
}

/// Any record by reference, live or in the Trash.
pub(crate) fn record<S: Session>(s: &S, target: RecordRef) -> Result<Option<Record>, DbError> {
    let id = target.id;
    Ok(match target.kind {
        Kind::Book => book(s, BookId(id))?.map(Record::Book),
        Kind::Copy => copy(s, CopyId(id))?.map(Record::Copy),
        Kind::Collection => collection(s, CollectionId(id))?.map(Record::Collection),
        Kind::Placement => placement(s, PlacementId(id))?.map(Record::Placement),
    })
}

pub(crate) fn book<S: Session>(s: &S, id: BookId) -> Result<Option<Book>, DbError> {
    s.one(Q::BookById, params!(id: id.0), book_row)
}

pub(crate) fn copy<S: Session>(s: &S, id: CopyId) -> Result<Option<Copy>, DbError> {
    s.one(Q::CopyById, params!(id: id.0), copy_row)
}

pub(crate) fn collection<S: Session>(
    s: &S,
    id: CollectionId,
) -> Result<Option<Collection>, DbError> {
    s.one(Q::CollectionById, params!(id: id.0), collection_row)
}

pub(crate) fn placement<S: Session>(s: &S, id: PlacementId) -> Result<Option<Placement>, DbError> {
    s.one(Q::PlacementById, params!(id: id.0), placement_row)
}

/// The live copy with this (normalised) barcode.
pub(crate) fn live_copy_by_barcode<S: Session>(
    s: &S,
    barcode: &str,
) -> Result<Option<Copy>, DbError> {
    s.one(Q::LiveCopyByBarcode, params!(barcode: barcode), copy_row)
}

/// The live collection with this name, compared case-insensitively.
pub(crate) fn live_collection_by_name<S: Session>(
    s: &S,
    name: &str,
) -> Result<Option<Collection>, DbError> {
    let key = crate::model::name_key(name);
    s.one(Q::LiveCollectionByKey, params!(key: &key), collection_row)
}

/// The most recently deleted collection in the Trash with this name (any case).
pub(crate) fn trashed_collection_named<S: Session>(
    s: &S,
    name: &str,
) -> Result<Option<Collection>, DbError> {
    let key = crate::model::name_key(name);
    s.one(
        Q::TrashedCollectionByKey,
        params!(key: &key),
        collection_row,
    )
}

/// The live book with this normalised ISBN-13.
pub(crate) fn live_book_by_isbn<S: Session>(s: &S, isbn: &str) -> Result<Option<Book>, DbError> {
    s.one(Q::LiveBookByIsbn, params!(isbn: isbn), book_row)
}

/// The live placement of `copy` in `collection`, if there is one.
pub(crate) fn live_placement<S: Session>(
    s: &S,
    copy: CopyId,
    collection: CollectionId,
) -> Result<Option<Placement>, DbError> {
    s.one(
        Q::LivePlacement,
        params!(copy: copy.0, collection: collection.0),
        placement_row,
    )
}
