-- Shelfmark library, schema version 7: every order of the collection editor is an index.
--
-- A collection of ten million placements is paged by key (seek to the last row shown, read the
-- next hundred), never by OFFSET, and never sorted per page: each order the editor offers is an
-- index over (collection_id, key), the row id breaking ties. Title and barcode belong to the
-- book and the copy, so each placement keeps a copy of them (`title_key`, the book's sort key,
-- and `copy_barcode`); the triggers below keep those copies right for live placements, and
-- `check` compares every one with its book and copy.
--
-- Statements that insert placements fill both from the copy and its book. A placement in the
-- Trash may fall behind an edit of its book or copy; it is brought up to date when it is
-- restored (or moved to another copy).

ALTER TABLE placements ADD COLUMN title_key TEXT NOT NULL DEFAULT '';
ALTER TABLE placements ADD COLUMN copy_barcode TEXT NOT NULL DEFAULT '';

UPDATE placements SET (title_key, copy_barcode) =
    (SELECT b.title_key, c.barcode FROM copies c JOIN books b ON b.id = c.book_id
     WHERE c.id = placements.copy_id);

CREATE INDEX placements_live_title ON placements (collection_id, title_key)
    WHERE deleted_at IS NULL;
CREATE INDEX placements_live_barcode ON placements (collection_id, copy_barcode)
    WHERE deleted_at IS NULL;
CREATE INDEX placements_live_shelf ON placements (collection_id, shelf_key)
    WHERE deleted_at IS NULL;

CREATE TRIGGER placements_follow_title AFTER UPDATE OF title_key ON books
WHEN NEW.title_key IS NOT OLD.title_key BEGIN
    UPDATE placements SET title_key = NEW.title_key
    WHERE deleted_at IS NULL AND copy_id IN (SELECT id FROM copies WHERE book_id = NEW.id);
END;

CREATE TRIGGER placements_follow_copy AFTER UPDATE OF barcode, book_id ON copies
WHEN NEW.barcode IS NOT OLD.barcode OR NEW.book_id IS NOT OLD.book_id BEGIN
    UPDATE placements SET
        copy_barcode = NEW.barcode,
        title_key = (SELECT title_key FROM books WHERE id = NEW.book_id)
    WHERE deleted_at IS NULL AND copy_id = NEW.id;
END;

CREATE TRIGGER placements_keys_on_return AFTER UPDATE OF deleted_at, copy_id ON placements
WHEN NEW.deleted_at IS NULL AND (OLD.deleted_at IS NOT NULL OR OLD.copy_id <> NEW.copy_id) BEGIN
    UPDATE placements SET (title_key, copy_barcode) =
        (SELECT b.title_key, c.barcode FROM copies c JOIN books b ON b.id = c.book_id
         WHERE c.id = NEW.copy_id)
    WHERE id = NEW.id;
END;
