-- Shelfmark shared library, schema version 3: every order of the collection editor is an index.
--
-- A collection of ten million placements is paged by key (seek past the last row shown, read the
-- next hundred), never by OFFSET, and never sorted per page: each order the editor offers is an
-- index over (collection_id, key, id). Title and barcode belong to the book and the copy, so each
-- placement keeps a copy of them (`title_key`, the book's sort key, and `copy_barcode`): filled
-- on insert and when a placement returns from the Trash or changes copy, and followed when a
-- book's title or a copy's barcode changes (for live placements; one in the Trash is brought up
-- to date when it is restored). `check` compares every one with its book and copy.

ALTER TABLE placements ADD COLUMN title_key text COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE placements ADD COLUMN copy_barcode text COLLATE "C" NOT NULL DEFAULT '';

UPDATE placements p SET title_key = b.title_key, copy_barcode = c.barcode
FROM copies c JOIN books b ON b.id = c.book_id WHERE c.id = p.copy_id;

CREATE INDEX placements_live_title ON placements (collection_id, title_key, id)
    WHERE deleted_at IS NULL;
CREATE INDEX placements_live_barcode ON placements (collection_id, copy_barcode, id)
    WHERE deleted_at IS NULL;
CREATE INDEX placements_live_shelf ON placements (collection_id, shelf_key, id)
    WHERE deleted_at IS NULL;

CREATE FUNCTION shelfmark_placement_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (NEW.deleted_at IS NULL
        AND (OLD.deleted_at IS NOT NULL OR OLD.copy_id <> NEW.copy_id)) THEN
        SELECT b.title_key, c.barcode INTO NEW.title_key, NEW.copy_barcode
        FROM copies c JOIN books b ON b.id = c.book_id WHERE c.id = NEW.copy_id;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER placements_keys BEFORE INSERT OR UPDATE OF deleted_at, copy_id ON placements
    FOR EACH ROW EXECUTE FUNCTION shelfmark_placement_keys();

CREATE FUNCTION shelfmark_follow_title() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE placements SET title_key = NEW.title_key
    WHERE deleted_at IS NULL AND copy_id IN (SELECT id FROM copies WHERE book_id = NEW.id);
    RETURN NULL;
END $$;
CREATE TRIGGER placements_follow_title AFTER UPDATE OF title_key ON books
    FOR EACH ROW WHEN (NEW.title_key IS DISTINCT FROM OLD.title_key)
    EXECUTE FUNCTION shelfmark_follow_title();

CREATE FUNCTION shelfmark_follow_copy() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE placements SET copy_barcode = NEW.barcode,
        title_key = (SELECT title_key FROM books WHERE id = NEW.book_id)
    WHERE deleted_at IS NULL AND copy_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER placements_follow_copy AFTER UPDATE OF barcode, book_id ON copies
    FOR EACH ROW WHEN (NEW.barcode IS DISTINCT FROM OLD.barcode OR NEW.book_id IS DISTINCT FROM OLD.book_id)
    EXECUTE FUNCTION shelfmark_follow_copy();
