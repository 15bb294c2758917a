-- Shelfmark library, schema version 2: search.
--
-- Books are searched by word (title, authors, ISBN, publisher) in a contentless FTS5 index over
-- live books, kept in sync by triggers inside the same transactions as the changes they follow.
-- Diacritics are folded, so "Marquez" finds "Márquez". It holds nothing that is not derived from
-- the books table; rebuilding it from the table (as below) gives the same index.
--
-- Barcodes and shelf marks are searched by prefix through ordinary indexes: no save of a copy or
-- a placement (what scanning does all day) touches the full-text index.

-- Books, by their record. Prefix indexes make the first letters typed as fast as whole words.
CREATE VIRTUAL TABLE books_fts USING fts5(
    title, authors, isbn, publisher,
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

-- What is already in the file.
INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books WHERE deleted_at IS NULL;

-- The catalog lists live books by title.
CREATE INDEX books_live_title ON books (title COLLATE NOCASE) WHERE deleted_at IS NULL;

-- Shelf marks by prefix, any case.
CREATE INDEX placements_live_shelf_mark ON placements (shelf_mark COLLATE NOCASE)
    WHERE deleted_at IS NULL;

-- A collection's live placements, newest first, from the index alone: counting them and paging
-- through a million of them never touches the table. (Rows in the Trash are found through
-- placements_trash.)
DROP INDEX placements_collection;
CREATE INDEX placements_live_collection ON placements (collection_id, created_at)
    WHERE deleted_at IS NULL;
