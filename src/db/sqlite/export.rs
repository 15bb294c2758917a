//! Streams live books, copies and placements out of the file, one row per placement (and one
//! per book or copy that has none), in a stable order, inside one read transaction so the
//! export is one consistent moment.

use rusqlite::Connection;

use crate::db::{DbError, ExportError};
use crate::model::{CollectionId, ExportRow};

const ALL: &str = "SELECT b.title, b.authors, b.isbn, b.publisher, b.year, c.barcode, k.name,
        p.shelf_mark, p.note
     FROM books b
     LEFT JOIN copies c ON c.book_id = b.id AND c.deleted_at IS NULL
     LEFT JOIN placements p ON p.copy_id = c.id AND p.deleted_at IS NULL
     LEFT JOIN collections k ON k.id = p.collection_id
     WHERE b.deleted_at IS NULL
     ORDER BY b.id, c.id, p.id";

const ONE_COLLECTION: &str = "SELECT b.title, b.authors, b.isbn, b.publisher, b.year,
        c.barcode, k.name, p.shelf_mark, p.note
     FROM placements p
     JOIN copies c ON c.id = p.copy_id
     JOIN books b ON b.id = c.book_id
     JOIN collections k ON k.id = p.collection_id
     WHERE p.collection_id = ?1 AND p.deleted_at IS NULL
     ORDER BY p.id";

pub(crate) fn rows(
    conn: &Connection,
    collection: Option<CollectionId>,
    each: &mut dyn FnMut(&ExportRow) -> Result<(), std::io::Error>,
) -> Result<usize, ExportError> {
    let db = |e: rusqlite::Error| ExportError::Read(DbError::from(e));
    let sql = if collection.is_some() {
        ONE_COLLECTION
    } else {
        ALL
    };
    let mut stmt = conn.prepare(sql).map_err(db)?;
    let mut rows = stmt
        .query(rusqlite::params_from_iter(collection.map(|c| c.0)))
        .map_err(db)?;
    let mut n = 0;
    while let Some(r) = rows.next().map_err(db)? {
        let row = ExportRow {
            title: r.get(0).map_err(db)?,
            authors: r.get(1).map_err(db)?,
            isbn: r.get(2).map_err(db)?,
            publisher: r.get(3).map_err(db)?,
            year: r.get(4).map_err(db)?,
            barcode: r.get(5).map_err(db)?,
            collection: r.get(6).map_err(db)?,
            shelf_mark: r.get(7).map_err(db)?,
            note: r.get(8).map_err(db)?,
        };
        each(&row)?;
        n += 1;
    }
    Ok(n)
}
