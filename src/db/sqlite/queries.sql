-- The statements of a library file, by name (see `db::engine::catalog`). `:name` is a parameter;
-- `{table}`, `{order}` and `{cols:KIND}` / `{cols:KIND:ALIAS}` are filled in by the engine (a
-- table of the record kind, an ORDER BY list, a record's column list). Stamps are ISO-8601 text
-- of fixed width, so comparing texts compares moments.

-- ---------------------------------------------------------------------------------------------
-- Records

-- name: book_by_id
SELECT {cols:book} FROM books WHERE id = :id

-- name: copy_by_id
SELECT {cols:copy} FROM copies WHERE id = :id

-- name: collection_by_id
SELECT {cols:collection} FROM collections WHERE id = :id

-- name: placement_by_id
SELECT {cols:placement} FROM placements WHERE id = :id

-- name: live_copy_by_barcode
SELECT {cols:copy} FROM copies WHERE barcode = :barcode AND deleted_at IS NULL

-- name: live_collection_by_key
SELECT {cols:collection} FROM collections WHERE name_key = :key AND deleted_at IS NULL

-- name: trashed_collection_by_key
SELECT {cols:collection} FROM collections
WHERE name_key = :key AND deleted_at IS NOT NULL ORDER BY deleted_at DESC LIMIT 1

-- name: live_book_by_isbn
SELECT {cols:book} FROM books WHERE isbn = :isbn AND deleted_at IS NULL

-- name: live_placement
SELECT {cols:placement} FROM placements
WHERE copy_id = :copy AND collection_id = :collection AND deleted_at IS NULL

-- name: is_live
SELECT deleted_at IS NULL FROM {table} WHERE id = :id

-- ---------------------------------------------------------------------------------------------
-- Settings

-- name: get_setting
SELECT value FROM settings WHERE key = :key

-- name: put_setting
INSERT INTO settings (key, value) VALUES (:key, :value)
ON CONFLICT (key) DO UPDATE SET value = excluded.value

-- ---------------------------------------------------------------------------------------------
-- Inserts

-- name: insert_book
INSERT INTO books (id, title, authors, isbn, publisher, year, nonfiling, title_key, control,
                   marc, created_at, updated_at, updated_by)
VALUES (CASE WHEN provisional_ids() THEN (SELECT min(coalesce(min(id), 0), 0) - 1 FROM books) END,
        :title, :authors, :isbn, :publisher, :year, :nonfiling, :title_key, :control, :marc,
        :now, :now, :by)
RETURNING id

-- name: insert_copy
INSERT INTO copies (id, book_id, barcode, created_at, updated_at, updated_by)
VALUES (CASE WHEN provisional_ids() THEN (SELECT min(coalesce(min(id), 0), 0) - 1 FROM copies) END,
        :book, :barcode, :now, :now, :by)
RETURNING id

-- name: insert_collection
INSERT INTO collections (id, name, name_key, description, created_at, updated_at, updated_by)
VALUES (CASE WHEN provisional_ids() THEN (SELECT min(coalesce(min(id), 0), 0) - 1 FROM collections) END,
        :name, :name_key, :description, :now, :now, :by)
RETURNING id

-- name: insert_placement
INSERT INTO placements (id, copy_id, collection_id, shelf_mark, shelf_key, note,
                        created_at, updated_at, updated_by, title_key, copy_barcode)
VALUES (CASE WHEN provisional_ids() THEN (SELECT min(coalesce(min(id), 0), 0) - 1 FROM placements) END,
        :copy, :collection, :shelf_mark, :shelf_key, :note, :now, :now, :by,
        (SELECT b.title_key FROM copies c JOIN books b ON b.id = c.book_id WHERE c.id = :copy),
        (SELECT barcode FROM copies WHERE id = :copy))
RETURNING id

-- ---------------------------------------------------------------------------------------------
-- Sort keys

-- name: titles_to_refile
SELECT id, title, nonfiling FROM books

-- name: set_title_key
UPDATE books SET title_key = :title_key WHERE id = :id

-- name: shelf_marks_to_refile
SELECT id, shelf_mark FROM placements WHERE shelf_mark <> ''

-- name: set_shelf_key
UPDATE placements SET shelf_key = :shelf_key WHERE id = :id

-- ---------------------------------------------------------------------------------------------
-- Edits (version-checked: a changed version or a row in the Trash changes nothing)

-- name: update_book
UPDATE books SET title = :title, authors = :authors, isbn = :isbn, publisher = :publisher,
    year = :year, nonfiling = :nonfiling, title_key = :title_key,
    version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NULL

-- name: update_copy
UPDATE copies SET book_id = :book, barcode = :barcode,
    version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NULL

-- name: update_collection
UPDATE collections SET name = :name, name_key = :name_key, description = :description,
    version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NULL

-- name: update_placement
UPDATE placements SET copy_id = :copy, collection_id = :collection, shelf_mark = :shelf_mark,
    shelf_key = :shelf_key, note = :note,
    version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NULL

-- ---------------------------------------------------------------------------------------------
-- The Trash: a record and the live children that go with it share one stamp

-- name: soft_delete
UPDATE {table} SET deleted_at = :now, updated_at = :now, version = version + 1, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NULL

-- name: trash_copies_of_book
UPDATE copies SET deleted_at = :now, updated_at = :now, version = version + 1, updated_by = :by
WHERE book_id = :id AND deleted_at IS NULL

-- name: trash_placements_of_trashed_copies
UPDATE placements SET deleted_at = :now, updated_at = :now, version = version + 1, updated_by = :by
WHERE deleted_at IS NULL
  AND copy_id IN (SELECT id FROM copies WHERE book_id = :id AND deleted_at = :now)

-- name: trash_placements_of_copy
UPDATE placements SET deleted_at = :now, updated_at = :now, version = version + 1, updated_by = :by
WHERE copy_id = :id AND deleted_at IS NULL

-- name: trash_placements_of_collection
UPDATE placements SET deleted_at = :now, updated_at = :now, version = version + 1, updated_by = :by
WHERE collection_id = :id AND deleted_at IS NULL

-- name: copies_trashed_with_book
SELECT id, version FROM copies WHERE book_id = :id AND deleted_at = :deleted

-- name: placements_trashed_with_book
SELECT p.id FROM placements p
JOIN copies c ON c.id = p.copy_id
JOIN collections k ON k.id = p.collection_id
WHERE c.book_id = :id AND c.deleted_at = :deleted AND p.deleted_at = :deleted
  AND k.deleted_at IS NULL

-- name: placements_trashed_with_copy
SELECT p.id FROM placements p JOIN collections k ON k.id = p.collection_id
WHERE p.copy_id = :id AND p.deleted_at = :deleted AND k.deleted_at IS NULL

-- name: placements_trashed_with_collection
SELECT p.id FROM placements p JOIN copies c ON c.id = p.copy_id
WHERE p.collection_id = :id AND p.deleted_at = :deleted AND c.deleted_at IS NULL

-- name: untrash
UPDATE {table} SET deleted_at = NULL, updated_at = :now, version = version + 1, updated_by = :by
WHERE id = :id

-- name: rename_trashed_collection
UPDATE collections SET name = :name, name_key = :name_key,
    version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NOT NULL

-- name: rebarcode_trashed_copy
UPDATE copies SET barcode = :barcode, version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NOT NULL

-- name: drop_isbn_of_trashed_book
UPDATE books SET isbn = NULL, version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id AND version = :version AND deleted_at IS NOT NULL

-- name: move_copy_to_book
UPDATE copies SET book_id = :holder, version = version + 1, updated_at = :now, updated_by = :by
WHERE id = :id

-- name: purge
DELETE FROM {table} WHERE id = :id AND version = :version AND deleted_at IS NOT NULL

-- ---------------------------------------------------------------------------------------------
-- The values a row competes for, and their live holders

-- name: isbn_of_book
SELECT isbn FROM books WHERE id = :id

-- name: barcode_of_copy
SELECT barcode FROM copies WHERE id = :id

-- name: name_key_of_collection
SELECT name_key FROM collections WHERE id = :id

-- name: pair_of_placement
SELECT copy_id, collection_id FROM placements WHERE id = :id

-- name: holder_of_isbn
SELECT id, title, isbn, created_at, version, updated_by FROM books
WHERE isbn = :isbn AND deleted_at IS NULL

-- name: holder_of_barcode
SELECT c.id, c.barcode, b.id, b.title, c.created_at, c.version, c.updated_by
FROM copies c JOIN books b ON b.id = c.book_id
WHERE c.barcode = :barcode AND c.deleted_at IS NULL

-- name: holder_of_name_key
SELECT id, name, created_at, version, updated_by FROM collections
WHERE name_key = :name_key AND deleted_at IS NULL

-- name: holder_of_placement
SELECT p.id, p.version, c.id, c.barcode, b.title, k.id, k.name, p.created_at, p.updated_by
FROM placements p
JOIN copies c ON c.id = p.copy_id
JOIN books b ON b.id = c.book_id
JOIN collections k ON k.id = p.collection_id
WHERE p.copy_id = :copy AND p.collection_id = :collection AND p.deleted_at IS NULL

-- ---------------------------------------------------------------------------------------------
-- Import

-- name: book_by_control
SELECT id, version, marc FROM books
WHERE control = :control AND deleted_at IS NULL
ORDER BY id LIMIT 1

-- name: set_book_source
-- The imported record of a book (and the control number that finds it again).
UPDATE books SET control = :control, marc = :marc, version = version + 1, updated_at = :now,
                 updated_by = :by
WHERE id = :id

-- name: book_by_title_authors
-- One seek into books_live_no_isbn, which holds the whole match.
SELECT id FROM books
WHERE title_key = :title_key AND title = :title AND authors = :authors
  AND isbn IS NULL AND deleted_at IS NULL
ORDER BY id LIMIT 1

-- ---------------------------------------------------------------------------------------------
-- Views

-- name: collections_with_counts
-- The counts the triggers keep (schema 6): one row per collection, whatever its size.
SELECT k.id, k.name, k.description, k.version,
       coalesce((SELECT n.live FROM collection_counts n WHERE n.collection_id = k.id), 0)
FROM collections k WHERE k.deleted_at IS NULL ORDER BY k.name_key

-- name: collection_names
SELECT id, name, description, version, 0 FROM collections
WHERE deleted_at IS NULL ORDER BY name_key

-- name: count_live_placements
-- The count the triggers keep (schema 6).
SELECT coalesce((SELECT live FROM collection_counts WHERE collection_id = :collection), 0)

-- name: count_matching_placements
SELECT count(*)
FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
WHERE p.collection_id = :collection AND p.deleted_at IS NULL
  AND (casefold(c.barcode) LIKE :pattern ESCAPE '\' OR casefold(b.title) LIKE :pattern ESCAPE '\'
       OR casefold(b.authors) LIKE :pattern ESCAPE '\' OR casefold(p.shelf_mark) LIKE :pattern ESCAPE '\'
       OR casefold(p.note) LIKE :pattern ESCAPE '\')

-- name: window_rows
-- A window of the collection editor: live placements in an order whose index is
-- (collection_id, key, id), so rows are read from the index in order, never sorted; a window
-- steps over at most a few rows (:skip), never down from the top of a deep collection.
SELECT p.id, p.version, c.id, c.barcode, b.id, b.title, b.authors, p.shelf_mark, p.note,
       p.created_at, {key}
FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
WHERE p.collection_id = :collection AND p.deleted_at IS NULL
  AND (:all OR casefold(c.barcode) LIKE :pattern ESCAPE '\' OR casefold(b.title) LIKE :pattern ESCAPE '\'
       OR casefold(b.authors) LIKE :pattern ESCAPE '\' OR casefold(p.shelf_mark) LIKE :pattern ESCAPE '\'
       OR casefold(p.note) LIKE :pattern ESCAPE '\')
ORDER BY {order} LIMIT :limit OFFSET :skip

-- name: window_rows_from
-- The same, from the row (:key, :id) on (or from where it would be), in two seeks (`seek` in
-- the catalog): the rows tied with it on the key, from its id on, then the rows past its key.
-- (SQLite seeks a row value by its first column only: one seek would walk every tie, and
-- titles tie by the thousand.)
SELECT p.id, p.version, c.id, c.barcode, b.id, b.title, b.authors, p.shelf_mark, p.note,
       p.created_at, {key}
FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
WHERE p.collection_id = :collection AND p.deleted_at IS NULL
  AND (:all OR casefold(c.barcode) LIKE :pattern ESCAPE '\' OR casefold(b.title) LIKE :pattern ESCAPE '\'
       OR casefold(b.authors) LIKE :pattern ESCAPE '\' OR casefold(p.shelf_mark) LIKE :pattern ESCAPE '\'
       OR casefold(p.note) LIKE :pattern ESCAPE '\')
  AND {seek}
ORDER BY {order} LIMIT :limit OFFSET :skip

-- name: order_key_first
-- The key :skip rows after the first of an order, from its index alone.
SELECT {key}, p.id FROM placements p
WHERE p.collection_id = :collection AND p.deleted_at IS NULL
ORDER BY {order} LIMIT 1 OFFSET :skip

-- name: order_key_from
-- The key :skip rows after (:key, :id) or where it would be, from the order's index alone
-- (stepping, and the marks that let a scroll bar land anywhere); in two seeks as above.
SELECT {key}, p.id FROM placements p
WHERE p.collection_id = :collection AND p.deleted_at IS NULL AND {seek}
ORDER BY {order} LIMIT 1 OFFSET :skip

-- name: order_ties_from
-- How many rows (at most :skip) are tied with (:key, :id) on the key, from its id on.
SELECT count(*) FROM (SELECT 1 FROM placements p
WHERE p.collection_id = :collection AND p.deleted_at IS NULL AND {seek}
LIMIT :skip) AS t

-- name: books_containing
SELECT {cols:book:b},
       (SELECT group_concat(barcode, ' ') FROM
           (SELECT barcode FROM copies WHERE book_id = b.id AND deleted_at IS NULL
            ORDER BY barcode))
FROM books b
WHERE b.deleted_at IS NULL
  AND (:all OR casefold(b.title) LIKE :pattern ESCAPE '\' OR casefold(b.authors) LIKE :pattern ESCAPE '\'
       OR casefold(b.isbn) LIKE :pattern ESCAPE '\' OR casefold(b.publisher) LIKE :pattern ESCAPE '\'
       OR EXISTS (SELECT 1 FROM copies c WHERE c.book_id = b.id
                  AND c.deleted_at IS NULL AND casefold(c.barcode) LIKE :pattern ESCAPE '\'))
ORDER BY b.title_key, b.id
LIMIT :limit

-- name: search_books
-- :words is an FTS5 query (quoted phrases, the last one a prefix); :isbn, :code and :typed are
-- matched as prefixes of ISBNs, barcodes and shelf marks; each source gives at most :cap
-- books. The first :limit by title are found first, and only those are given their barcodes
-- (a broad prefix brings thousands of candidates).
WITH hits AS MATERIALIZED (
    SELECT b.id, b.title_key FROM books b
    WHERE b.deleted_at IS NULL AND b.id IN (
        SELECT id FROM (SELECT rowid AS id FROM books_fts WHERE books_fts MATCH :words LIMIT :cap)
        UNION
        SELECT id FROM (SELECT id FROM books
            WHERE :isbn <> '' AND isbn >= :isbn AND isbn < :isbn_end
              AND deleted_at IS NULL AND isbn IS NOT NULL
            LIMIT :cap)
        UNION
        SELECT book_id FROM (SELECT book_id FROM copies
            WHERE :code <> '' AND barcode >= :code AND barcode < :code_end AND deleted_at IS NULL
            LIMIT :cap)
        UNION
        SELECT c.book_id FROM
            (SELECT copy_id FROM placements
             WHERE shelf_mark COLLATE NOCASE >= :typed AND shelf_mark COLLATE NOCASE < :typed_end
               AND deleted_at IS NULL
             LIMIT :cap) AS p
            JOIN copies c ON c.id = p.copy_id)
    ORDER BY b.title_key, b.id
    LIMIT :limit)
SELECT {cols:book:b},
       (SELECT group_concat(barcode, ' ') FROM
           (SELECT barcode FROM copies WHERE book_id = b.id AND deleted_at IS NULL
            ORDER BY barcode))
FROM hits h JOIN books b ON b.id = h.id
ORDER BY h.title_key, h.id

-- name: live_copies_of_book
SELECT {cols:copy} FROM copies WHERE book_id = :book AND deleted_at IS NULL ORDER BY barcode

-- name: collections_of_copy
SELECT k.name FROM placements p JOIN collections k ON k.id = p.collection_id
WHERE p.copy_id = :copy AND p.deleted_at IS NULL ORDER BY k.name_key

-- name: trash
-- Rows that went to the Trash with their parent are part of the parent's item. Columns: kind,
-- id, version, when, name, the parent's name, the collection (placements), children.
SELECT 'book', b.id, b.version, b.deleted_at, b.title, '', '',
       (SELECT count(*) FROM copies c WHERE c.book_id = b.id AND c.deleted_at = b.deleted_at)
  FROM books b WHERE b.deleted_at IS NOT NULL
UNION ALL
SELECT 'copy', c.id, c.version, c.deleted_at, c.barcode, b.title, '',
       (SELECT count(*) FROM placements p WHERE p.copy_id = c.id AND p.deleted_at = c.deleted_at)
  FROM copies c JOIN books b ON b.id = c.book_id
 WHERE c.deleted_at IS NOT NULL AND (b.deleted_at IS NULL OR b.deleted_at <> c.deleted_at)
UNION ALL
SELECT 'collection', k.id, k.version, k.deleted_at, k.name, '', '',
       (SELECT count(*) FROM placements p WHERE p.collection_id = k.id AND p.deleted_at = k.deleted_at)
  FROM collections k WHERE k.deleted_at IS NOT NULL
UNION ALL
SELECT 'placement', p.id, p.version, p.deleted_at, c.barcode, b.title, k.name, 0
  FROM placements p JOIN copies c ON c.id = p.copy_id JOIN books b ON b.id = c.book_id
  JOIN collections k ON k.id = p.collection_id
 WHERE p.deleted_at IS NOT NULL
   AND (c.deleted_at IS NULL OR c.deleted_at <> p.deleted_at)
   AND (k.deleted_at IS NULL OR k.deleted_at <> p.deleted_at)
ORDER BY 4 DESC LIMIT :limit

-- name: is_empty
SELECT NOT EXISTS (SELECT 1 FROM books) AND NOT EXISTS (SELECT 1 FROM collections)

-- name: count_rows
SELECT count(*) FROM {table}

-- ---------------------------------------------------------------------------------------------
-- Export: one row per placement (and one per book or copy that has none), in the order the
-- indexes give as they are read, so nothing is sorted: a book's copies by id (copies_book), a
-- copy's placements by collection (placements_live_copy_collection; the engine puts a copy's
-- few rows in placement order, from the two ids at the end), a collection's placements in the
-- order they were added (placements_live_collection). Ordering by placement id in SQL sorted
-- each book's rows (export_all, 1M rows: 3.3 s against 1.9 s in the sqlite3 shell) or a whole
-- collection (export_collection, 1M rows: 9.2 s against 1.3 s).

-- A placement's collection is given by id (export_all, export_collection): the engine reads
-- each collection's name once (`CollectionNames` in db/engine/export.rs) instead of a join's
-- seek per row.

-- name: export_all
SELECT b.title, b.authors, b.isbn, b.publisher, b.year, c.barcode, p.collection_id,
       p.shelf_mark, p.note, c.id, p.id
FROM books b
LEFT JOIN copies c ON c.book_id = b.id AND c.deleted_at IS NULL
LEFT JOIN placements p ON p.copy_id = c.id AND p.deleted_at IS NULL
WHERE b.deleted_at IS NULL
ORDER BY b.id, c.id, p.collection_id

-- name: export_records
-- A book per run of rows (its copies and their placements follow it), with its source record.
SELECT b.id, b.title, b.authors, b.isbn, b.publisher, b.year, b.nonfiling, b.updated_at, b.marc,
       c.barcode, k.name, p.shelf_mark, c.id, p.id
FROM books b
LEFT JOIN copies c ON c.book_id = b.id AND c.deleted_at IS NULL
LEFT JOIN placements p ON p.copy_id = c.id AND p.deleted_at IS NULL
LEFT JOIN collections k ON k.id = p.collection_id
WHERE b.deleted_at IS NULL
ORDER BY b.id, c.id, p.collection_id

-- name: export_collection
SELECT b.title, b.authors, b.isbn, b.publisher, b.year, c.barcode, p.collection_id,
       p.shelf_mark, p.note, c.id, p.id
FROM placements p
JOIN copies c ON c.id = p.copy_id
JOIN books b ON b.id = c.book_id
WHERE p.collection_id = :collection AND p.deleted_at IS NULL
ORDER BY p.created_at, p.id

-- ---------------------------------------------------------------------------------------------
-- Copying a library row for row (backups of a shared library, moving a file to a server)

-- name: dump_books
SELECT id, title, authors, isbn, publisher, year, nonfiling, title_key, control, marc,
       version, created_at, updated_at, deleted_at, updated_by
FROM books WHERE id > :after ORDER BY id LIMIT :limit

-- name: dump_copies
SELECT id, book_id, barcode, version, created_at, updated_at, deleted_at, updated_by
FROM copies WHERE id > :after ORDER BY id LIMIT :limit

-- name: dump_collections
SELECT id, name, name_key, description, version, created_at, updated_at, deleted_at, updated_by
FROM collections WHERE id > :after ORDER BY id LIMIT :limit

-- name: dump_placements
SELECT id, copy_id, collection_id, shelf_mark, shelf_key, note,
       version, created_at, updated_at, deleted_at, updated_by
FROM placements WHERE id > :after ORDER BY id LIMIT :limit

-- name: dump_settings
SELECT key, value FROM settings ORDER BY key

-- name: load_book
INSERT INTO books (id, title, authors, isbn, publisher, year, nonfiling, title_key, control, marc,
                   version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :title, :authors, :isbn, :publisher, :year, :nonfiling, :title_key, :control, :marc,
        :version, :created_at, :updated_at, :deleted_at, :updated_by)

-- name: load_copy
INSERT INTO copies (id, book_id, barcode, version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :book_id, :barcode, :version, :created_at, :updated_at, :deleted_at, :updated_by)

-- name: load_collection
INSERT INTO collections (id, name, name_key, description,
                         version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :name, :name_key, :description,
        :version, :created_at, :updated_at, :deleted_at, :updated_by)

-- name: load_placement
INSERT INTO placements (id, copy_id, collection_id, shelf_mark, shelf_key, note,
                        version, created_at, updated_at, deleted_at, updated_by,
                        title_key, copy_barcode)
VALUES (:id, :copy_id, :collection_id, :shelf_mark, :shelf_key, :note,
        :version, :created_at, :updated_at, :deleted_at, :updated_by,
        (SELECT b.title_key FROM copies c JOIN books b ON b.id = c.book_id WHERE c.id = :copy_id),
        (SELECT barcode FROM copies WHERE id = :copy_id))

-- name: finish_load
-- Nothing to do in a file: its ids follow the largest one by themselves.
SELECT 0

-- ---------------------------------------------------------------------------------------------
-- A replica's pulls: the rows with these ids (a JSON array), and writing one over what is there

-- name: rows_books
SELECT id, title, authors, isbn, publisher, year, nonfiling, title_key, control, marc,
       version, created_at, updated_at, deleted_at, updated_by
FROM books WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: rows_copies
SELECT id, book_id, barcode,
       version, created_at, updated_at, deleted_at, updated_by
FROM copies WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: rows_collections
SELECT id, name, name_key, description,
       version, created_at, updated_at, deleted_at, updated_by
FROM collections WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: rows_placements
SELECT id, copy_id, collection_id, shelf_mark, shelf_key, note,
       version, created_at, updated_at, deleted_at, updated_by
FROM placements WHERE id IN (SELECT value FROM json_each(:ids)) ORDER BY id

-- name: upsert_book
INSERT INTO books (id, title, authors, isbn, publisher, year, nonfiling, title_key, control, marc, version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :title, :authors, :isbn, :publisher, :year, :nonfiling, :title_key, :control, :marc, :version, :created_at, :updated_at, :deleted_at, :updated_by)
ON CONFLICT (id) DO UPDATE SET title = excluded.title, authors = excluded.authors, isbn = excluded.isbn, publisher = excluded.publisher, year = excluded.year, nonfiling = excluded.nonfiling, title_key = excluded.title_key, control = excluded.control, marc = excluded.marc, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, updated_by = excluded.updated_by

-- name: upsert_copy
INSERT INTO copies (id, book_id, barcode, version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :book_id, :barcode, :version, :created_at, :updated_at, :deleted_at, :updated_by)
ON CONFLICT (id) DO UPDATE SET book_id = excluded.book_id, barcode = excluded.barcode, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, updated_by = excluded.updated_by

-- name: upsert_collection
INSERT INTO collections (id, name, name_key, description, version, created_at, updated_at, deleted_at, updated_by)
VALUES (:id, :name, :name_key, :description, :version, :created_at, :updated_at, :deleted_at, :updated_by)
ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_key = excluded.name_key, description = excluded.description, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, updated_by = excluded.updated_by

-- name: upsert_placement
INSERT INTO placements (id, copy_id, collection_id, shelf_mark, shelf_key, note, version, created_at, updated_at, deleted_at, updated_by, title_key, copy_barcode)
VALUES (:id, :copy_id, :collection_id, :shelf_mark, :shelf_key, :note, :version, :created_at, :updated_at, :deleted_at, :updated_by,
        (SELECT b.title_key FROM copies c JOIN books b ON b.id = c.book_id WHERE c.id = :copy_id),
        (SELECT barcode FROM copies WHERE id = :copy_id))
ON CONFLICT (id) DO UPDATE SET title_key = excluded.title_key, copy_barcode = excluded.copy_barcode, copy_id = excluded.copy_id, collection_id = excluded.collection_id, shelf_mark = excluded.shelf_mark, shelf_key = excluded.shelf_key, note = excluded.note, version = excluded.version, created_at = excluded.created_at, updated_at = excluded.updated_at, deleted_at = excluded.deleted_at, updated_by = excluded.updated_by
