-- A whole import as a handful of set-based statements, for a shared library (the file applies
-- it row by row, which is as fast there). The rows arrive by COPY in `import_rows`, with every
-- key computed in Rust as a save computes it; then books, copies, collections and placements are
-- matched and the missing ones created, in the rows' order, exactly as the row-by-row rules do
-- (the contract tests compare both). Runs inside the save's savepoint: all rows or none.
-- Steps are separated by `-- step:` lines; a step with parameters is one statement
-- ($1: the save's stamp, $2: the workstation).

-- step: staging
DROP TABLE IF EXISTS import_rows, import_books, import_copies, import_collections, import_pairs;
CREATE TEMP TABLE import_rows (
    ord              integer NOT NULL,
    line             integer NOT NULL,
    -- A book's identity within the import: its ISBN, or its title and authors.
    bkey             text NOT NULL,
    title            text NOT NULL,
    authors          text NOT NULL,
    isbn             text,
    publisher        text NOT NULL,
    year             integer,
    nonfiling        integer,
    title_key        text NOT NULL,
    search           text NOT NULL,
    barcode          text,
    coll_name        text,
    coll_key         text,
    coll_description text,
    shelf_mark       text NOT NULL,
    shelf_key        text NOT NULL,
    note             text NOT NULL
) ON COMMIT DROP;

-- step: books
-- Each book of the import: the live one it matches, or a new id (drawn in the rows' order).
ANALYZE import_rows (ord, bkey, isbn, barcode, coll_key);
CREATE TEMP TABLE import_books ON COMMIT DROP AS
WITH first AS (
    SELECT DISTINCT ON (bkey) * FROM import_rows ORDER BY bkey, ord
), found AS (
    SELECT f.bkey, f.ord,
           CASE WHEN f.isbn IS NOT NULL THEN
               (SELECT b.id FROM books b WHERE b.isbn = f.isbn AND b.deleted_at IS NULL)
           ELSE
               (SELECT min(b.id) FROM books b
                WHERE b.title_key = f.title_key AND b.title = f.title AND b.authors = f.authors
                  AND b.isbn IS NULL AND b.deleted_at IS NULL)
           END AS id
    FROM first f
)
SELECT bkey, ord, id, false AS created FROM found WHERE id IS NOT NULL
UNION ALL
SELECT bkey, ord, nextval(pg_get_serial_sequence('books', 'id')), true
FROM (SELECT bkey, ord FROM found WHERE id IS NULL ORDER BY ord) n;
ANALYZE import_books;

-- step: insert_books
INSERT INTO books (id, title, authors, isbn, publisher, year, nonfiling, title_key, search,
                   version, created_at, updated_at, updated_by)
SELECT k.id, r.title, r.authors, r.isbn, r.publisher, r.year, r.nonfiling, r.title_key,
       r.search, 1, $1, $1, $2
FROM import_books k JOIN import_rows r ON r.ord = k.ord
WHERE k.created ORDER BY k.id

-- step: copies
-- Each barcode: its live copy (and that copy's book), or a new copy of the first row's book.
CREATE TEMP TABLE import_copies ON COMMIT DROP AS
WITH first AS (
    SELECT DISTINCT ON (r.barcode) r.barcode, r.ord, k.id AS book_id
    FROM import_rows r JOIN import_books k ON k.bkey = r.bkey
    WHERE r.barcode IS NOT NULL ORDER BY r.barcode, r.ord
), found AS (
    SELECT f.*, c.id AS copy_id, c.book_id AS copy_book
    FROM first f LEFT JOIN copies c ON c.barcode = f.barcode AND c.deleted_at IS NULL
)
SELECT barcode, ord, copy_book AS book_id, copy_id AS id, false AS created
FROM found WHERE copy_id IS NOT NULL
UNION ALL
SELECT barcode, ord, book_id, nextval(pg_get_serial_sequence('copies', 'id')), true
FROM (SELECT barcode, ord, book_id FROM found WHERE copy_id IS NULL ORDER BY ord) n;
ANALYZE import_copies;

-- step: copy_on_another_book
-- The first row whose barcode is (or is about to be) on another book's copy.
SELECT r.line, r.barcode, b.title, r.title
FROM import_rows r
JOIN import_books kb ON kb.bkey = r.bkey
JOIN import_copies k ON k.barcode = r.barcode
JOIN books b ON b.id = k.book_id
WHERE kb.id <> k.book_id
ORDER BY r.ord LIMIT 1

-- step: insert_copies
INSERT INTO copies (id, book_id, barcode, version, created_at, updated_at, updated_by)
SELECT id, book_id, barcode, 1, $1, $1, $2 FROM import_copies WHERE created ORDER BY id

-- step: collections
-- Each collection named by a row with a barcode (a row without one names none, as row by row).
CREATE TEMP TABLE import_collections ON COMMIT DROP AS
WITH first AS (
    SELECT DISTINCT ON (coll_key) coll_key, ord, coll_name, coll_description
    FROM import_rows WHERE coll_key IS NOT NULL AND barcode IS NOT NULL
    ORDER BY coll_key, ord
), found AS (
    SELECT f.*, c.id
    FROM first f LEFT JOIN collections c ON c.name_key = f.coll_key AND c.deleted_at IS NULL
)
SELECT coll_key, ord, coll_name, coll_description, id, false AS created
FROM found WHERE id IS NOT NULL
UNION ALL
SELECT coll_key, ord, coll_name, coll_description,
       nextval(pg_get_serial_sequence('collections', 'id')), true
FROM (SELECT * FROM found WHERE id IS NULL ORDER BY ord) n;
ANALYZE import_collections;

-- step: insert_collections
INSERT INTO collections (id, name, name_key, description, version, created_at, updated_at,
                         updated_by)
SELECT id, coll_name, coll_key, coll_description, 1, $1, $1, $2
FROM import_collections WHERE created ORDER BY id

-- step: pairs
-- Each (copy, collection) of the import, with the first row's shelf mark and note.
CREATE TEMP TABLE import_pairs ON COMMIT DROP AS
SELECT DISTINCT ON (kc.id, kl.id) kc.id AS copy_id, kl.id AS collection_id, r.ord,
       r.shelf_mark, r.shelf_key, r.note
FROM import_rows r
JOIN import_copies kc ON kc.barcode = r.barcode
JOIN import_collections kl ON kl.coll_key = r.coll_key
ORDER BY kc.id, kl.id, r.ord;
ANALYZE import_pairs;

-- step: insert_placements
-- Only pairs not already placed; the rest are matched.
INSERT INTO placements (copy_id, collection_id, shelf_mark, shelf_key, note, version,
                        created_at, updated_at, updated_by)
SELECT k.copy_id, k.collection_id, k.shelf_mark, k.shelf_key, k.note, 1, $1, $1, $2
FROM import_pairs k
WHERE NOT EXISTS (SELECT 1 FROM placements p
                  WHERE p.copy_id = k.copy_id AND p.collection_id = k.collection_id
                    AND p.deleted_at IS NULL)
ORDER BY k.ord

-- step: counts
SELECT (SELECT count(*) FROM import_books WHERE created),
       (SELECT count(*) FROM import_copies WHERE created),
       (SELECT count(*) FROM import_collections WHERE created),
       (SELECT count(*) FROM import_rows WHERE barcode IS NOT NULL AND coll_key IS NOT NULL)
