-- Shelfmark library, schema version 6: each collection's count of live placements, kept by
-- triggers, so that the list of collections with their counts reads one row per collection
-- instead of counting up to millions of placements on every refresh.
--
-- A count row is made when a collection gets its first live placement (an upsert), and goes with
-- the collection when it is purged. Readers take a missing row as 0. Every write to placements
-- already holds the file's write lock, so the row is never a point of contention here; `check`
-- compares every count with the placements themselves.

CREATE TABLE collection_counts (
    collection_id INTEGER PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
    live INTEGER NOT NULL CHECK (live >= 0)
);

CREATE TRIGGER placements_count_insert AFTER INSERT ON placements
WHEN NEW.deleted_at IS NULL BEGIN
    INSERT INTO collection_counts (collection_id, live) VALUES (NEW.collection_id, 1)
    ON CONFLICT (collection_id) DO UPDATE SET live = live + 1;
END;

CREATE TRIGGER placements_count_update AFTER UPDATE OF deleted_at, collection_id ON placements
WHEN (OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL)
  OR (OLD.collection_id <> NEW.collection_id AND NEW.deleted_at IS NULL) BEGIN
    UPDATE collection_counts SET live = live - 1
    WHERE collection_id = OLD.collection_id AND OLD.deleted_at IS NULL;
    INSERT INTO collection_counts (collection_id, live)
    SELECT NEW.collection_id, 1 WHERE NEW.deleted_at IS NULL
    ON CONFLICT (collection_id) DO UPDATE SET live = live + 1;
END;

CREATE TRIGGER placements_count_delete AFTER DELETE ON placements
WHEN OLD.deleted_at IS NULL BEGIN
    UPDATE collection_counts SET live = live - 1 WHERE collection_id = OLD.collection_id;
END;

INSERT INTO collection_counts (collection_id, live)
SELECT collection_id, count(*) FROM placements WHERE deleted_at IS NULL GROUP BY collection_id;
