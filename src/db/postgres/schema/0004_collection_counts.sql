-- Shelfmark shared library, schema version 4: each collection's count of live placements, kept
-- without a hot row.
--
-- A single count row per collection, updated by every save, would be a lock every computer's
-- saves wait on. Instead each statement that changes placements adds one row per collection it
-- changed to `collection_count_deltas` (an insert, which never waits on another), and the
-- writers fold the deltas into `collection_counts` now and then (at most every few seconds,
-- inside their write transaction). A collection's count is its folded count plus its deltas not
-- yet folded: exact in every snapshot. `check` compares every count with the placements.
--
-- Deltas have no foreign key: a purged collection's placements are deleted by the cascade of
-- its own deletion, when the collection row is already gone; its deltas are dropped by the next
-- fold.

CREATE TABLE collection_counts (
    collection_id bigint PRIMARY KEY REFERENCES collections (id) ON DELETE CASCADE,
    live          bigint NOT NULL
);

CREATE TABLE collection_count_deltas (
    collection_id bigint NOT NULL,
    delta         bigint NOT NULL
);
CREATE INDEX collection_count_deltas_collection ON collection_count_deltas (collection_id);

CREATE FUNCTION shelfmark_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO collection_count_deltas (collection_id, delta)
    SELECT collection_id, count(*) FROM new_rows WHERE deleted_at IS NULL GROUP BY collection_id;
    RETURN NULL;
END $$;

CREATE FUNCTION shelfmark_count_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO collection_count_deltas (collection_id, delta)
    SELECT collection_id, sum(d) FROM (
        SELECT collection_id, 1 AS d FROM new_rows WHERE deleted_at IS NULL
        UNION ALL
        SELECT collection_id, -1 FROM old_rows WHERE deleted_at IS NULL
    ) changed
    GROUP BY collection_id HAVING sum(d) <> 0;
    RETURN NULL;
END $$;

CREATE FUNCTION shelfmark_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO collection_count_deltas (collection_id, delta)
    SELECT collection_id, -count(*) FROM old_rows WHERE deleted_at IS NULL GROUP BY collection_id;
    RETURN NULL;
END $$;

CREATE TRIGGER placements_count_insert AFTER INSERT ON placements
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shelfmark_count_insert();
CREATE TRIGGER placements_count_update AFTER UPDATE ON placements
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shelfmark_count_update();
CREATE TRIGGER placements_count_delete AFTER DELETE ON placements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shelfmark_count_delete();

INSERT INTO collection_counts (collection_id, live)
SELECT collection_id, count(*) FROM placements WHERE deleted_at IS NULL GROUP BY collection_id;
