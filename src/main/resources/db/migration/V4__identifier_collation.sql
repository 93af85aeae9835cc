-- Identifiers compare by their bytes (collation "C"), not by the database's language rules. Stream ids, sites,
-- pages, forms and event types are opaque keys: only equality and a stable order matter, never a language's
-- order. Under a language collation every comparison in a descent of their indexes goes through strcoll(): the
-- (stream_id, stream_version) index twice per appended event (the head probe and the insert), visitor_activity's
-- and page_visitors' keys twice per new visitor (ON CONFLICT's probe and the insert). Under "C" it is a memcmp().
-- Measured with pgbench (one client, 200 new visitors per INSERT ... ON CONFLICT DO UPDATE into a text key of
-- 300,000 rows, synchronous_commit off) on a C.UTF-8 database: 403-425 statements/s against 486-487 with "C".
-- A database created with a language locale (en_US.UTF-8, as the postgres image has) pays more per comparison.
-- Equality is the same under both (both are deterministic), so no key changes meaning. Orders by these columns
-- (page ids breaking a tie of views) become byte order.
-- Changing a column's collation does not rewrite its table, but rebuilds every index on the column and re-checks
-- its constraints, holding the table's lock meanwhile: on a big store expect the first start on this version to
-- take that long.
ALTER TABLE events
  ALTER COLUMN stream_id TYPE text COLLATE "C",
  ALTER COLUMN type TYPE text COLLATE "C";

ALTER TABLE visitor_activity
  ALTER COLUMN stream_id TYPE text COLLATE "C",
  ALTER COLUMN site TYPE text COLLATE "C";

ALTER TABLE page_stats
  ALTER COLUMN site TYPE text COLLATE "C",
  ALTER COLUMN page_id TYPE text COLLATE "C";

ALTER TABLE page_visitors
  ALTER COLUMN stream_id TYPE text COLLATE "C",
  ALTER COLUMN site TYPE text COLLATE "C",
  ALTER COLUMN page_id TYPE text COLLATE "C";

ALTER TABLE form_submissions
  ALTER COLUMN form_id TYPE text COLLATE "C",
  ALTER COLUMN stream_id TYPE text COLLATE "C",
  ALTER COLUMN site TYPE text COLLATE "C";

ALTER TABLE event_counts
  ALTER COLUMN type TYPE text COLLATE "C";
