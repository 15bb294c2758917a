-- Shelfmark library, schema version 2: full-text search.
--
-- Two contentless FTS5 indexes over live rows only, kept in sync by triggers inside the same
-- transactions as the changes they follow. Diacritics are folded, so "Marquez" finds "Márquez".
-- They hold no data of their own that is not derived from the tables; rebuilding them from the
-- tables (as below) gives the same index.

-- Books, by their record.
CREATE VIRTUAL TABLE books_fts USING fts5(
    title, authors, isbn, publisher,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Copies, by what is written on and about them: the barcode, and the shelf marks and collection
-- names of their live placements.
CREATE VIRTUAL TABLE copies_fts USING fts5(
    barcode, places,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER books_fts_insert AFTER INSERT ON books WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
    VALUES (NEW.id, NEW.title, NEW.authors, coalesce(NEW.isbn, ''), NEW.publisher);
END;

CREATE TRIGGER books_fts_update
AFTER UPDATE OF title, authors, isbn, publisher, deleted_at ON books BEGIN
    DELETE FROM books_fts WHERE rowid = OLD.id;
    INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
    SELECT NEW.id, NEW.title, NEW.authors, coalesce(NEW.isbn, ''), NEW.publisher
    WHERE NEW.deleted_at IS NULL;
END;

CREATE TRIGGER books_fts_delete AFTER DELETE ON books BEGIN
    DELETE FROM books_fts WHERE rowid = OLD.id;
END;

-- A copy's text: its barcode, then "shelf mark collection" of each live placement.
CREATE VIEW copy_search_text (id, barcode, places) AS
SELECT c.id, c.barcode,
       coalesce((SELECT group_concat(p.shelf_mark || ' ' || k.name, ' ')
                 FROM placements p JOIN collections k ON k.id = p.collection_id
                 WHERE p.copy_id = c.id AND p.deleted_at IS NULL), '')
FROM copies c WHERE c.deleted_at IS NULL;

CREATE TRIGGER copies_fts_insert AFTER INSERT ON copies WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO copies_fts (rowid, barcode, places) VALUES (NEW.id, NEW.barcode, '');
END;

CREATE TRIGGER copies_fts_update AFTER UPDATE OF barcode, deleted_at ON copies BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = NEW.id;
END;

CREATE TRIGGER copies_fts_delete AFTER DELETE ON copies BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.id;
END;

CREATE TRIGGER placements_fts_insert AFTER INSERT ON placements BEGIN
    DELETE FROM copies_fts WHERE rowid = NEW.copy_id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = NEW.copy_id;
END;

CREATE TRIGGER placements_fts_update
AFTER UPDATE OF shelf_mark, deleted_at, copy_id, collection_id ON placements BEGIN
    DELETE FROM copies_fts WHERE rowid IN (OLD.copy_id, NEW.copy_id);
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id IN (OLD.copy_id, NEW.copy_id);
END;

CREATE TRIGGER placements_fts_delete AFTER DELETE ON placements BEGIN
    DELETE FROM copies_fts WHERE rowid = OLD.copy_id;
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id = OLD.copy_id;
END;

CREATE TRIGGER collections_fts_rename AFTER UPDATE OF name ON collections BEGIN
    DELETE FROM copies_fts WHERE rowid IN
        (SELECT copy_id FROM placements WHERE collection_id = NEW.id AND deleted_at IS NULL);
    INSERT INTO copies_fts (rowid, barcode, places)
    SELECT id, barcode, places FROM copy_search_text WHERE id IN
        (SELECT copy_id FROM placements WHERE collection_id = NEW.id AND deleted_at IS NULL);
END;

-- What is already in the file.
INSERT INTO books_fts (rowid, title, authors, isbn, publisher)
SELECT id, title, authors, coalesce(isbn, ''), publisher FROM books WHERE deleted_at IS NULL;
INSERT INTO copies_fts (rowid, barcode, places) SELECT id, barcode, places FROM copy_search_text;

-- The catalog lists live books by title.
CREATE INDEX books_live_title ON books (title COLLATE NOCASE) WHERE deleted_at IS NULL;
