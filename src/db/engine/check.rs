//! What `check` asks of every backend's library.

/// The invariants every backend keeps, as queries (the same SQL on both) that return one row,
/// a description, per violation.
pub(crate) const LIVE_INVARIANTS: &[(&str, &str)] = &[
    (
        "two live placements of one copy in one collection",
        "SELECT 'copy ' || copy_id || ' in collection ' || collection_id || ': ' || count(*) || ' live placements'
         FROM placements WHERE deleted_at IS NULL GROUP BY copy_id, collection_id HAVING count(*) > 1",
    ),
    (
        "two live copies with one barcode",
        "SELECT 'barcode ' || barcode || ': ' || count(*) || ' live copies'
         FROM copies WHERE deleted_at IS NULL GROUP BY barcode HAVING count(*) > 1",
    ),
    (
        "two live collections with one name",
        "SELECT 'collection name ' || name_key || ': ' || count(*) || ' live collections'
         FROM collections WHERE deleted_at IS NULL GROUP BY name_key HAVING count(*) > 1",
    ),
    (
        "two live books with one ISBN",
        "SELECT 'ISBN ' || isbn || ': ' || count(*) || ' live books'
         FROM books WHERE deleted_at IS NULL AND isbn IS NOT NULL GROUP BY isbn HAVING count(*) > 1",
    ),
    (
        "a live copy of a book in the Trash",
        "SELECT 'copy ' || c.id || ' is live but its book ' || b.id || ' is in the Trash'
         FROM copies c JOIN books b ON b.id = c.book_id
         WHERE c.deleted_at IS NULL AND b.deleted_at IS NOT NULL",
    ),
    (
        "a live placement of a copy or in a collection in the Trash",
        "SELECT 'placement ' || p.id || ' is live but its copy or collection is in the Trash'
         FROM placements p JOIN copies c ON c.id = p.copy_id JOIN collections k ON k.id = p.collection_id
         WHERE p.deleted_at IS NULL AND (c.deleted_at IS NOT NULL OR k.deleted_at IS NOT NULL)",
    ),
];

/// Each live placement's kept copies of its book's title key and its copy's barcode (the keys
/// of the editor's orders) are its book's and copy's (schema 7 of a file, 3 of a server).
pub(crate) const ORDER_KEY_INVARIANTS: &[(&str, &str)] = &[(
    "a live placement whose kept title or barcode is not its book's or copy's",
    "SELECT 'placement ' || p.id || ' keeps ' || p.copy_barcode || ' / ' || p.title_key
            || ' but its copy is ' || c.barcode || ' / ' || b.title_key
     FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
     WHERE p.deleted_at IS NULL AND (p.title_key <> b.title_key OR p.copy_barcode <> c.barcode)",
)];
