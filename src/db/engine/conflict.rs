//! Live-unique violations become typed conflicts here, and only here. Each table has exactly one
//! unique index among live rows; the backend names the index that refused a row
//! ([`DbError::unique_index`]), and the live record holding the value is read in the same
//! transaction, after the failed statement was undone, so it is exactly the one that won.

use super::{Q, Row, Session, params};
use crate::db::DbError;
use crate::model::{
    BookId, By, CollectionId, Conflict, CopyId, Field, Holder, PlacementId, ValidBook,
    ValidCollection, ValidCopy, ValidPlacement,
};

/// The live-unique indexes, by the name both backends give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UniqueIndex {
    BookIsbn,
    CopyBarcode,
    CollectionName,
    PlacementCopyCollection,
}

impl UniqueIndex {
    /// The index with this name (PostgreSQL's `constraint` field, or what SQLite names).
    pub(crate) fn named(name: &str) -> Option<UniqueIndex> {
        Some(match name {
            "books_live_isbn" | "books.isbn" => UniqueIndex::BookIsbn,
            "copies_live_barcode" | "copies.barcode" => UniqueIndex::CopyBarcode,
            "collections_live_name" | "collections.name_key" => UniqueIndex::CollectionName,
            "placements_live_copy_collection" | "placements.copy_id, placements.collection_id" => {
                UniqueIndex::PlacementCopyCollection
            }
            _ => return None,
        })
    }
}

/// The values a row competes for, by table.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unique<'a> {
    Isbn(&'a str),
    Barcode(&'a str),
    NameKey(&'a str),
    CopyInCollection(CopyId, CollectionId),
}

impl Unique<'_> {
    pub(crate) fn index(&self) -> UniqueIndex {
        match self {
            Unique::Isbn(_) => UniqueIndex::BookIsbn,
            Unique::Barcode(_) => UniqueIndex::CopyBarcode,
            Unique::NameKey(_) => UniqueIndex::CollectionName,
            Unique::CopyInCollection(..) => UniqueIndex::PlacementCopyCollection,
        }
    }
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
pub(crate) fn holder<S: Session>(s: &S, value: &Unique<'_>) -> Result<Option<Conflict>, DbError> {
    match *value {
        Unique::Isbn(isbn) => s.one(Q::HolderOfIsbn, params!(isbn: isbn), |r: &dyn Row| {
            Ok(Conflict {
                field: Field::Isbn,
                holder: Holder::Book {
                    id: BookId(r.i64(0)?),
                    title: r.string(1)?,
                    isbn: r.string(2)?,
                    added: r.stamp(3)?,
                },
                by: by(r, 4, 5)?,
            })
        }),
        Unique::Barcode(barcode) => s.one(
            Q::HolderOfBarcode,
            params!(barcode: barcode),
            |r: &dyn Row| {
                Ok(Conflict {
                    field: Field::Barcode,
                    holder: Holder::Copy {
                        id: CopyId(r.i64(0)?),
                        barcode: r.string(1)?,
                        book_id: BookId(r.i64(2)?),
                        title: r.string(3)?,
                        added: r.stamp(4)?,
                    },
                    by: by(r, 5, 6)?,
                })
            },
        ),
        Unique::NameKey(key) => s.one(Q::HolderOfNameKey, params!(name_key: key), |r: &dyn Row| {
            Ok(Conflict {
                field: Field::Name,
                holder: Holder::Collection {
                    id: CollectionId(r.i64(0)?),
                    name: r.string(1)?,
                    added: r.stamp(2)?,
                },
                by: by(r, 3, 4)?,
            })
        }),
        Unique::CopyInCollection(copy, collection) => s.one(
            Q::HolderOfPlacement,
            params!(copy: copy.0, collection: collection.0),
            |r: &dyn Row| {
                Ok(Conflict {
                    field: Field::Copy,
                    holder: Holder::Placement {
                        id: PlacementId(r.i64(0)?),
                        version: r.i64(1)?,
                        copy_id: CopyId(r.i64(2)?),
                        barcode: r.string(3)?,
                        title: r.string(4)?,
                        collection_id: CollectionId(r.i64(5)?),
                        collection: r.string(6)?,
                        added: r.stamp(7)?,
                    },
                    by: by(r, 1, 8)?,
                })
            },
        ),
    }
}

/// Who last changed the holder, and whether that was when it was added (version 1).
fn by(r: &dyn Row, version: usize, name: usize) -> Result<Option<By>, DbError> {
    let changed = r.i64(version)? > 1;
    let name = r.string(name)?;
    Ok((!name.is_empty()).then_some(By { name, changed }))
}
