-- Shelfmark library, schema version 8: a book without an ISBN is found by its title and authors
-- from an index alone.
--
-- An import matches each row's book by ISBN or, without one, by title and authors. The title
-- key's index alone left every live book with that key to be read from the table and compared:
-- common titles ("Poems", "Hamlet", the old books that have no ISBN) have thousands, so each row
-- of a big import read thousands of rows. This index holds the whole match, for the books it
-- is about (live, no ISBN).

CREATE INDEX books_live_no_isbn ON books (title_key, title, authors)
    WHERE isbn IS NULL AND deleted_at IS NULL;
