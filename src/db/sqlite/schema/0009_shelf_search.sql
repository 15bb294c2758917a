-- Shelfmark library, schema version 9: a search by shelf mark finds the copies from its index
-- alone.
--
-- A shelf-mark prefix ("QA76") matches thousands of placements in a big library; the index
-- gave their rows, and each was then read from the table for its copy, a page of ten million
-- placements apiece. The same index with the copy in it answers without the table.

DROP INDEX placements_live_shelf_mark;
CREATE INDEX placements_live_shelf_mark ON placements (shelf_mark COLLATE NOCASE, copy_id)
    WHERE deleted_at IS NULL;
