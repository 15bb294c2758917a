-- Shelfmark library, schema version 2: full-text search.
--
-- Two contentless FTS5 indexes over live rows only, kept in sync by triggers inside the same
-- transactions as the changes they follow. Diacritics are folded, so "Marquez" finds "Márquez".
-- They hold no data of their own that is not derived from the tables; rebuilding them from the
-- tables (as below) gives the same index.

-- Books, by their record. Prefix indexes make the first letters typed as fast as whole words.
CREATE VIRTUAL TABLE books_fts USING fts5(
    title, authors, isbn, publisher,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- Copies, by what is written on them: the barcode, and the shelf marks of their live
-- placements. (Collection names are few; they are searched in the collections table.)
CREATE VIRTUAL TABLE copies_fts USING fts5(
    barcode, places,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

-- While a row is here (only ever inside a bulk transaction: an import), the triggers below stand
-- aside and the bulk writer brings the indexes up to date itself, in one statement each, before
-- it removes the row. Outside such a transaction this table is empty.
CREATE TABLE search_paused (one INTEGER PRIMARY KEY CHECK (one = 1));

CREATE TRIGGER books_fts_insert AFTER INSERT ON books
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
    VALUES (NEW.id, NEW.title, NEW.authors, coalesce(NEW.isbn, ''), NEW.publisher);
END;

CREATE TRIGGER books_fts_update
AFTER UPDATE OF title, authors, isbn, publisher, deleted_at ON books
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM books_fts WHERE rowid = OLD.id;
    INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
    SELECT NEW.id, NEW.title, NEW.authors, coalesce(NEW.isbn, ''), NEW.publisher
    WHERE NEW.deleted_at IS NULL;
END;

CREATE TRIGGER books_fts_delete AFTER DELETE ON books
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM books_fts WHERE rowid = OLD.id;
END;

-- A copy's text: its barcode, and the shelf marks of its live placements.
CREATE VIEW copy_search_text (id, barcode, places) AS
SELECT c.id, c.barcode,
       coalesce((SELECT group_concat(p.shelf_mark, ' ')
                 FROM placements p
                 WHERE p.copy_id = c.id AND p.deleted_at IS NULL), '')
FROM copies c WHERE c.deleted_at IS NULL;

CREATE TRIGGER copies_fts_insert AFTER INSERT ON copies
WHEN NEW.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    INSERT INTO copies_fts (rowid, barcode, places) VALUES (NEW.id, NEW.barcode, '');
END;

CREATE TRIGGER copies_fts_update AFTER UPDATE OF barcode, deleted_at ON copies
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = NEW.id;
END;

CREATE TRIGGER copies_fts_delete AFTER DELETE ON copies
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.id;
END;

CREATE TRIGGER placements_fts_insert AFTER INSERT ON placements
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM copies_fts WHERE rowid = NEW.copy_id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = NEW.copy_id;
END;

CREATE TRIGGER placements_fts_update
AFTER UPDATE OF shelf_mark, deleted_at, copy_id ON placements
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM copies_fts WHERE rowid IN (OLD.copy_id, NEW.copy_id);
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id IN (OLD.copy_id, NEW.copy_id);
END;

CREATE TRIGGER placements_fts_delete AFTER DELETE ON placements
WHEN NOT EXISTS (SELECT 1 FROM search_paused) BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.copy_id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = OLD.copy_id;
END;

-- What is already in the file.
INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books WHERE deleted_at IS NULL;
INSERT INTO copies_fts (rowid, barcode, places) SELECT id, barcode, places FROM copy_search_text;

-- The catalog lists live books by title.
CREATE INDEX books_live_title ON books (title COLLATE NOCASE) WHERE deleted_at IS NULL;

-- A collection's live placements, newest first, from the index alone: counting them and paging
-- through a million of them never touches the table. (Rows in the Trash are found through
-- placements_trash.)
DROP INDEX placements_collection;
CREATE INDEX placements_live_collection ON placements (collection_id, created_at)
    WHERE deleted_at IS NULL;
