//! What the windows show, as queries: collections with their counts, a page of a collection's
//! placements in a chosen order, the catalog, and the Trash. Reads only; each call is its own
//! short read transaction.

use rusqlite::{Connection, OptionalExtension, Row, named_params};

use super::read::{self, BOOK_COLUMNS, COPY_COLUMNS, stamp};
use crate::model::{
    BookId, BookRow, CollectionId, CollectionSummary, Copy, CopyId, CopyRow, Counts, Kind,
    PageQuery, PlacementId, PlacementRow, RecordRef, SortKey, TrashRow,
};

/// Live collections by name, with how many copies each holds.
pub(crate) fn collections(conn: &Connection) -> rusqlite::Result<Vec<CollectionSummary>> {
    conn.prepare_cached(
        "SELECT k.id, k.name, k.description, k.version,
                (SELECT count(*) FROM placements p
                  WHERE p.collection_id = k.id AND p.deleted_at IS NULL)
         FROM collections k WHERE k.deleted_at IS NULL ORDER BY k.name_key",
    )?
    .query_map([], collection_summary)?
    .collect()
}

/// Live collections by name, without counts (cheap; for matching names).
pub(crate) fn collection_names(conn: &Connection) -> rusqlite::Result<Vec<CollectionSummary>> {
    conn.prepare_cached(
        "SELECT id, name, description, version, 0 FROM collections
         WHERE deleted_at IS NULL ORDER BY name_key",
    )?
    .query_map([], collection_summary)?
    .collect()
}

fn collection_summary(r: &Row<'_>) -> rusqlite::Result<CollectionSummary> {
    Ok(CollectionSummary {
        id: CollectionId(r.get(0)?),
        name: r.get(1)?,
        description: r.get(2)?,
        version: r.get(3)?,
        placements: r.get(4)?,
    })
}

fn order_by(sort: SortKey, ascending: bool) -> &'static str {
    match (sort, ascending) {
        (SortKey::ShelfMark, true) => "p.shelf_mark COLLATE NOCASE ASC, p.id ASC",
        (SortKey::ShelfMark, false) => "p.shelf_mark COLLATE NOCASE DESC, p.id DESC",
        (SortKey::Title, true) => "b.title_key ASC, p.id ASC",
        (SortKey::Title, false) => "b.title_key DESC, p.id DESC",
        (SortKey::Barcode, true) => "c.barcode ASC, p.id ASC",
        (SortKey::Barcode, false) => "c.barcode DESC, p.id DESC",
        (SortKey::Added, true) => "p.created_at ASC, p.id ASC",
        (SortKey::Added, false) => "p.created_at DESC, p.id DESC",
    }
}

/// `LIKE` pattern matching `text` anywhere, with `\` escaping the wildcards.
fn contains_pattern(text: &str) -> String {
    let escaped = text
        .trim()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

const PLACEMENT_FROM: &str = "FROM placements p
    JOIN copies c ON c.id = p.copy_id
    JOIN books b ON b.id = c.book_id
    WHERE p.collection_id = :collection AND p.deleted_at IS NULL
      AND (:all OR c.barcode LIKE :pattern ESCAPE '\\' OR b.title LIKE :pattern ESCAPE '\\'
           OR b.authors LIKE :pattern ESCAPE '\\' OR p.shelf_mark LIKE :pattern ESCAPE '\\'
           OR p.note LIKE :pattern ESCAPE '\\')";

/// How many live placements of `collection` match `filter` (empty: all).
pub(crate) fn placement_count(
    conn: &Connection,
    collection: CollectionId,
    filter: &str,
) -> rusqlite::Result<usize> {
    if filter.trim().is_empty() {
        // From the live-placements index alone.
        let n: i64 = conn
            .prepare_cached(
                "SELECT count(*) FROM placements WHERE collection_id = ?1 AND deleted_at IS NULL",
            )?
            .query_row([collection.0], |r| r.get(0))?;
        return Ok(n as usize);
    }
    let n: i64 = conn
        .prepare_cached(&format!("SELECT count(*) {PLACEMENT_FROM}"))?
        .query_row(
            named_params! {
                ":collection": collection.0,
                ":all": filter.trim().is_empty(),
                ":pattern": contains_pattern(filter),
            },
            |r| r.get(0),
        )?;
    Ok(n as usize)
}

fn placement_row(r: &Row<'_>) -> rusqlite::Result<PlacementRow> {
    Ok(PlacementRow {
        id: PlacementId(r.get(0)?),
        version: r.get(1)?,
        copy_id: CopyId(r.get(2)?),
        barcode: r.get(3)?,
        book_id: BookId(r.get(4)?),
        title: r.get(5)?,
        authors: r.get(6)?,
        shelf_mark: r.get(7)?,
        note: r.get(8)?,
        added: stamp(r, 9)?,
    })
}

/// Rows `offset..offset + limit` of `collection`'s live placements matching `filter`, in the
/// given order.
pub(crate) fn placement_page(
    conn: &Connection,
    q: &PageQuery,
) -> rusqlite::Result<Vec<PlacementRow>> {
    let PageQuery {
        collection,
        ref filter,
        sort,
        ascending,
        offset,
        limit,
    } = *q;
    if filter.trim().is_empty() && sort == SortKey::Added {
        return newest_page(conn, collection, ascending, offset, limit);
    }
    conn.prepare_cached(&format!(
        "SELECT p.id, p.version, c.id, c.barcode, b.id, b.title, b.authors, p.shelf_mark, p.note,
                p.created_at
         {PLACEMENT_FROM}
         ORDER BY {} LIMIT :limit OFFSET :offset",
        order_by(sort, ascending)
    ))?
    .query_map(
        named_params! {
            ":collection": collection.0,
            ":all": filter.trim().is_empty(),
            ":pattern": contains_pattern(filter),
            ":limit": limit as i64,
            ":offset": offset as i64,
        },
        placement_row,
    )?
    .collect()
}

/// The default order, fast at any depth: the page's ids come from the live-placements index
/// alone (skipping `offset` index entries, not joined rows), then each row is read by id.
fn newest_page(
    conn: &Connection,
    collection: CollectionId,
    ascending: bool,
    offset: usize,
    limit: usize,
) -> rusqlite::Result<Vec<PlacementRow>> {
    let order = if ascending {
        "created_at ASC, id ASC"
    } else {
        "created_at DESC, id DESC"
    };
    let ids: Vec<i64> = conn
        .prepare_cached(&format!(
            "SELECT id FROM placements WHERE collection_id = ?1 AND deleted_at IS NULL
             ORDER BY {order} LIMIT ?2 OFFSET ?3"
        ))?
        .query_map([collection.0, limit as i64, offset as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut row = conn.prepare_cached(
        "SELECT p.id, p.version, c.id, c.barcode, b.id, b.title, b.authors, p.shelf_mark, p.note,
                p.created_at
         FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
         WHERE p.id = ?1",
    )?;
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = row.query_row([id], placement_row).optional()? {
            rows.push(r);
        }
    }
    Ok(rows)
}

/// The select list of a [`BookRow`] query over `books b`: the book's columns and its live
/// copies' barcodes, in order.
pub(crate) fn book_row_columns() -> String {
    let cols = BOOK_COLUMNS
        .split(", ")
        .map(|c| format!("b.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "{cols},
         (SELECT group_concat(barcode, ' ') FROM
             (SELECT barcode FROM copies WHERE book_id = b.id AND deleted_at IS NULL
              ORDER BY barcode))"
    )
}

/// A row of a query selecting [`book_row_columns`].
pub(crate) fn book_row_of(r: &Row<'_>) -> rusqlite::Result<BookRow> {
    let book = read::book_row(r)?;
    let barcodes: Option<String> = r.get(11)?;
    Ok(BookRow {
        book,
        barcodes: barcodes
            .map(|b| b.split(' ').map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// Live books matching `search` in title, authors, ISBN, publisher or a copy's barcode (empty:
/// all), by title; at most `limit`.
pub(crate) fn books(
    conn: &Connection,
    search: &str,
    limit: usize,
) -> rusqlite::Result<Vec<BookRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {}
         FROM books b
         WHERE b.deleted_at IS NULL
           AND (:all OR b.title LIKE :pattern ESCAPE '\\' OR b.authors LIKE :pattern ESCAPE '\\'
                OR b.isbn LIKE :pattern ESCAPE '\\' OR b.publisher LIKE :pattern ESCAPE '\\'
                OR EXISTS (SELECT 1 FROM copies c WHERE c.book_id = b.id
                           AND c.deleted_at IS NULL AND c.barcode LIKE :pattern ESCAPE '\\'))
         ORDER BY b.title_key, b.id
         LIMIT :limit",
        book_row_columns()
    ))?;
    stmt.query_map(
        named_params! {
            ":all": search.trim().is_empty(),
            ":pattern": contains_pattern(search),
            ":limit": limit as i64,
        },
        book_row_of,
    )?
    .collect()
}

/// The live copies of `book`, by barcode.
pub(crate) fn copies_of(conn: &Connection, book: BookId) -> rusqlite::Result<Vec<CopyRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COPY_COLUMNS} FROM copies WHERE book_id = ?1 AND deleted_at IS NULL ORDER BY barcode"
    ))?;
    let copies: Vec<Copy> = stmt
        .query_map([book.0], read::copy_row)?
        .collect::<Result<_, _>>()?;
    let mut names = conn.prepare_cached(
        "SELECT k.name FROM placements p JOIN collections k ON k.id = p.collection_id
         WHERE p.copy_id = ?1 AND p.deleted_at IS NULL ORDER BY k.name_key",
    )?;
    copies
        .into_iter()
        .map(|copy| {
            let collections = names
                .query_map([copy.id.0], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(CopyRow { copy, collections })
        })
        .collect()
}

/// The Trash, newest first, at most `limit` items. Rows that went to the Trash with their
/// parent are part of the parent's item.
pub(crate) fn trash(conn: &Connection, limit: usize) -> rusqlite::Result<Vec<TrashRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT 'book', b.id, b.version, b.deleted_at, b.title, '',
                (SELECT count(*) FROM copies c WHERE c.book_id = b.id AND c.deleted_at = b.deleted_at)
           FROM books b WHERE b.deleted_at IS NOT NULL
         UNION ALL
         SELECT 'copy', c.id, c.version, c.deleted_at, c.barcode, b.title,
                (SELECT count(*) FROM placements p WHERE p.copy_id = c.id AND p.deleted_at = c.deleted_at)
           FROM copies c JOIN books b ON b.id = c.book_id
          WHERE c.deleted_at IS NOT NULL AND (b.deleted_at IS NULL OR b.deleted_at <> c.deleted_at)
         UNION ALL
         SELECT 'collection', k.id, k.version, k.deleted_at, k.name, '',
                (SELECT count(*) FROM placements p WHERE p.collection_id = k.id AND p.deleted_at = k.deleted_at)
           FROM collections k WHERE k.deleted_at IS NOT NULL
         UNION ALL
         SELECT 'placement', p.id, p.version, p.deleted_at, c.barcode, b.title || '\u{1f}' || k.name, 0
           FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
           JOIN collections k ON k.id = p.collection_id
          WHERE p.deleted_at IS NOT NULL
            AND (c.deleted_at IS NULL OR c.deleted_at <> p.deleted_at)
            AND (k.deleted_at IS NULL OR k.deleted_at <> p.deleted_at)
         ORDER BY 4 DESC LIMIT ?1",
    )?;
    stmt.query_map([limit as i64], |r| {
        let kind: String = r.get(0)?;
        let name: String = r.get(4)?;
        let extra: String = r.get(5)?;
        let children: i64 = r.get(6)?;
        let (kind, description) = match kind.as_str() {
            "book" => (
                Kind::Book,
                with_children(format!("Book “{name}”"), children, "copy", "copies"),
            ),
            "copy" => (
                Kind::Copy,
                with_children(
                    format!("Copy {name} of “{extra}”"),
                    children,
                    "placement",
                    "placements",
                ),
            ),
            "collection" => (
                Kind::Collection,
                with_children(
                    format!("Collection “{name}”"),
                    children,
                    "placement",
                    "placements",
                ),
            ),
            _ => {
                let (title, collection) = extra.split_once('\u{1f}').unwrap_or((&extra, ""));
                (
                    Kind::Placement,
                    format!("Copy {name} ({title}) in {collection}"),
                )
            }
        };
        Ok(TrashRow {
            record: RecordRef {
                kind,
                id: r.get(1)?,
            },
            version: r.get(2)?,
            description,
            deleted_at: stamp(r, 3)?,
        })
    })?
    .collect()
}

fn with_children(text: String, n: i64, one: &str, many: &str) -> String {
    match n {
        0 => text,
        1 => format!("{text} (with 1 {one})"),
        n => format!("{text} (with {n} {many})"),
    }
}

/// Whether the library holds anything at all (live or in the Trash).
pub(crate) fn is_empty(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT NOT EXISTS (SELECT 1 FROM books) AND NOT EXISTS (SELECT 1 FROM collections)",
        [],
        |r| r.get(0),
    )
}

/// Rows per table (live and in the Trash).
pub(crate) fn counts(conn: &Connection) -> rusqlite::Result<Counts> {
    let count = |t: &str| -> rusqlite::Result<i64> {
        conn.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
    };
    Ok(Counts {
        books: count("books")?,
        copies: count("copies")?,
        collections: count("collections")?,
        placements: count("placements")?,
    })
}
