-- Shelfmark library, schema version 5: the source record of a book imported from MARC 21.
--
-- `control` is the record's control number with its agency, as "(AGENCY)NUMBER" (from 003 and
-- 001; just "NUMBER" when the record names no agency): importing the same record again finds
-- the book by it and updates it instead of adding another. It is a key for matching imports,
-- not a value librarians edit, so it is indexed but not unique (a book restored from the Trash
-- may share it with one imported since).
-- `marc` is the whole record as it was imported (ISO 2709, in UTF-8, holdings left out: they
-- are the copies and placements), so an export can give back every field Shelfmark does not
-- edit (subjects, notes, series ...). NULL for books made in Shelfmark.

ALTER TABLE books ADD COLUMN control TEXT;
ALTER TABLE books ADD COLUMN marc TEXT;
CREATE INDEX books_control ON books (control) WHERE control IS NOT NULL AND deleted_at IS NULL;
