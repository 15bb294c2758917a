-- Shelfmark library, schema version 3: titles in the catalogers' order.
--
-- A title files without its leading article: "The Hobbit" under H. `nonfiling` is how many
-- characters to skip (MARC 245's second indicator; "The " is 4), NULL while it is worked out
-- from the library's list of articles (the `articles` setting, English "the, a, an" unless the
-- library adds others). `title_key` is the key titles are sorted by, computed by Shelfmark
-- (folded, articles skipped, numbers in number order) and compared bytewise, so every
-- backend sorts alike. The migration fills it for the books already here.

ALTER TABLE books ADD COLUMN nonfiling INTEGER CHECK (nonfiling IS NULL OR nonfiling BETWEEN 0 AND 9);
ALTER TABLE books ADD COLUMN title_key TEXT NOT NULL DEFAULT '';

-- The catalog lists live books in title order; the editor sorts a collection by it.
DROP INDEX books_live_title;
CREATE INDEX books_live_title_key ON books (title_key, id) WHERE deleted_at IS NULL;

-- Library-wide settings, one row each.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
