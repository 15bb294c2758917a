//! Unique-constraint failures become typed conflicts here, and only here: each table has exactly
//! one unique index among live rows, so the table that refused a row says which value is taken,
//! and the live record holding it is read in the same transaction (so it is exactly the one that
//! won).

use rusqlite::{Connection, OptionalExtension, named_params};

use super::read::stamp as parse_stamp;

use crate::model::{
    BookId, CollectionId, Conflict, CopyId, Field, Holder, PlacementId, ValidBook, ValidCollection,
    ValidCopy, ValidPlacement,
};

const SQLITE_CONSTRAINT_UNIQUE: i32 = 2067;
const SQLITE_CONSTRAINT_FOREIGNKEY: i32 = 787;

pub(crate) fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(err, _) if err.extended_code == SQLITE_CONSTRAINT_UNIQUE)
}

pub(crate) fn is_foreign_key_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(err, _) if err.extended_code == SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// The values a row competes for, by table.
pub(crate) enum Unique<'a> {
    Isbn(&'a str),
    Barcode(&'a str),
    NameKey(&'a str),
    CopyInCollection(CopyId, CollectionId),
}

impl<'a> From<&'a ValidBook> for Option<Unique<'a>> {
    fn from(b: &'a ValidBook) -> Self {
        b.isbn.as_deref().map(Unique::Isbn)
    }
}
impl<'a> From<&'a ValidCopy> for Option<Unique<'a>> {
    fn from(c: &'a ValidCopy) -> Self {
        Some(Unique::Barcode(&c.barcode))
    }
}
impl<'a> From<&'a ValidCollection> for Option<Unique<'a>> {
    fn from(c: &'a ValidCollection) -> Self {
        Some(Unique::NameKey(&c.name_key))
    }
}
impl<'a> From<&'a ValidPlacement> for Option<Unique<'a>> {
    fn from(p: &'a ValidPlacement) -> Self {
        Some(Unique::CopyInCollection(p.copy_id, p.collection_id))
    }
}

/// The live record that holds `value`, as a conflict on the field the user typed it in.
pub(crate) fn holder(conn: &Connection, value: &Unique<'_>) -> rusqlite::Result<Option<Conflict>> {
    match *value {
        Unique::Isbn(isbn) => conn
            .prepare_cached(
                "SELECT id, title, isbn, created_at FROM books
                 WHERE isbn = ?1 AND deleted_at IS NULL",
            )?
            .query_row([isbn], |r| {
                Ok(Conflict {
                    field: Field::Isbn,
                    holder: Holder::Book {
                        id: BookId(r.get(0)?),
                        title: r.get(1)?,
                        isbn: r.get(2)?,
                        added: parse_stamp(r, 3)?,
                    },
                })
            })
            .optional(),
        Unique::Barcode(barcode) => conn
            .prepare_cached(
                "SELECT c.id, c.barcode, b.id, b.title, c.created_at
                 FROM copies c JOIN books b ON b.id = c.book_id
                 WHERE c.barcode = ?1 AND c.deleted_at IS NULL",
            )?
            .query_row([barcode], |r| {
                Ok(Conflict {
                    field: Field::Barcode,
                    holder: Holder::Copy {
                        id: CopyId(r.get(0)?),
                        barcode: r.get(1)?,
                        book_id: BookId(r.get(2)?),
                        title: r.get(3)?,
                        added: parse_stamp(r, 4)?,
                    },
                })
            })
            .optional(),
        Unique::NameKey(key) => conn
            .prepare_cached(
                "SELECT id, name, created_at FROM collections
                 WHERE name_key = ?1 AND deleted_at IS NULL",
            )?
            .query_row([key], |r| {
                Ok(Conflict {
                    field: Field::Name,
                    holder: Holder::Collection {
                        id: CollectionId(r.get(0)?),
                        name: r.get(1)?,
                        added: parse_stamp(r, 2)?,
                    },
                })
            })
            .optional(),
        Unique::CopyInCollection(copy, collection) => conn
            .prepare_cached(
                "SELECT p.id, p.version, c.id, c.barcode, b.title, k.id, k.name, p.created_at
                 FROM placements p
                 JOIN copies c ON c.id = p.copy_id
                 JOIN books b ON b.id = c.book_id
                 JOIN collections k ON k.id = p.collection_id
                 WHERE p.copy_id = :copy AND p.collection_id = :collection
                   AND p.deleted_at IS NULL",
            )?
            .query_row(
                named_params! { ":copy": copy.0, ":collection": collection.0 },
                |r| {
                    Ok(Conflict {
                        field: Field::Copy,
                        holder: Holder::Placement {
                            id: PlacementId(r.get(0)?),
                            version: r.get(1)?,
                            copy_id: CopyId(r.get(2)?),
                            barcode: r.get(3)?,
                            title: r.get(4)?,
                            collection_id: CollectionId(r.get(5)?),
                            collection: r.get(6)?,
                            added: parse_stamp(r, 7)?,
                        },
                    })
                },
            )
            .optional(),
    }
}
