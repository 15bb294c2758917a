-- Shelfmark library, schema version 1.
--
-- A stable contract: other tools may read this file. Every table has
--   version     INTEGER NOT NULL  1 on insert, +1 on every change (optimistic concurrency)
--   created_at  TEXT NOT NULL     ISO-8601 UTC, 'YYYY-MM-DDTHH:MM:SS.ffffffZ'
--   updated_at  TEXT NOT NULL     same format
--   deleted_at  TEXT              NULL while live; the moment it went to the Trash otherwise
-- Uniqueness holds among live rows only and is enforced here, by partial unique indexes
-- (... WHERE deleted_at IS NULL); the application never relies on checking first.

-- Bibliographic records. isbn is the normalised ISBN-13 (13 digits) or NULL.
CREATE TABLE books (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL CHECK (length(title) > 0),
    authors     TEXT NOT NULL DEFAULT '',
    isbn        TEXT CHECK (isbn IS NULL OR (length(isbn) = 13 AND isbn NOT GLOB '*[^0-9]*')),
    publisher   TEXT NOT NULL DEFAULT '',
    year        INTEGER CHECK (year IS NULL OR year BETWEEN 1 AND 9999),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX books_live_isbn ON books (isbn)
    WHERE deleted_at IS NULL AND isbn IS NOT NULL;

-- Physical items of a book. Barcodes: upper-case A-Z 0-9 - . / (see README).
CREATE TABLE copies (
    id          INTEGER PRIMARY KEY,
    book_id     INTEGER NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    barcode     TEXT NOT NULL CHECK (length(barcode) > 0),
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX copies_live_barcode ON copies (barcode) WHERE deleted_at IS NULL;
CREATE INDEX copies_book ON copies (book_id);

-- Collections. name_key is the name in NFC, trimmed and lower-cased by the application, so
-- that "Rare Books" and "RARE BOOKS" (and "Bücher" / "BÜCHER") cannot both be live.
CREATE TABLE collections (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL CHECK (length(name) > 0),
    name_key    TEXT NOT NULL CHECK (length(name_key) > 0),
    description TEXT NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    deleted_at  TEXT
);
CREATE UNIQUE INDEX collections_live_name ON collections (name_key) WHERE deleted_at IS NULL;

-- A copy placed in a collection (the seed's "book profile"). At most one live placement per
-- (copy, collection): this index is the guard against the check-then-insert race.
CREATE TABLE placements (
    id            INTEGER PRIMARY KEY,
    copy_id       INTEGER NOT NULL REFERENCES copies (id) ON DELETE CASCADE,
    collection_id INTEGER NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    shelf_mark    TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    version       INTEGER NOT NULL DEFAULT 1 CHECK (version >= 1),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    deleted_at    TEXT
);
CREATE UNIQUE INDEX placements_live_copy_collection ON placements (copy_id, collection_id)
    WHERE deleted_at IS NULL;
CREATE INDEX placements_collection ON placements (collection_id, created_at);
-- No plain index on copy_id: live rows are found through the unique index above and rows in
-- the Trash through placements_trash, and every index costs a page write per save. Deleting a
-- copy for good (rare) scans placements for its foreign-key cascade instead.

-- The Trash lists what was deleted, newest first, without scanning the live rows.
CREATE INDEX books_trash ON books (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX copies_trash ON copies (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX collections_trash ON collections (deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX placements_trash ON placements (deleted_at) WHERE deleted_at IS NOT NULL;
