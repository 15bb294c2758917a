-- Shelfmark library, schema version 4: who changed each row, and shelf marks in call-number order.
--
-- `updated_by` is the workstation that last changed the row (a name from the settings, the host
-- name unless the librarian chose another), so a conflict can say who holds a value. Rows from
-- before this version say ''.
-- `shelf_key` is the key shelf marks are sorted by, computed by Shelfmark from the shelf mark
-- (Library of Congress and Dewey call numbers in shelf order: "QA76.9" before "QA76.10") and
-- compared bytewise, like `title_key`. The migration fills it for the placements already here.

ALTER TABLE books ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE copies ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE collections ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE placements ADD COLUMN updated_by TEXT NOT NULL DEFAULT '';
ALTER TABLE placements ADD COLUMN shelf_key TEXT NOT NULL DEFAULT '';
