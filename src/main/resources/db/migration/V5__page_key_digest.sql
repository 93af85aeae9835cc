-- page_stats and page_visitors were keyed by the page id itself. The PageViewed schema allows a page id of 2,048
-- characters, up to 8 KB of UTF-8, but a btree entry holds at most about 2,700 bytes (a third of a page, after
-- compression): a long page id in a non-Latin script failed the page-stats projection's insert, and a valid,
-- acknowledged event went to the dead letters instead of the read model. Both keys now hold the SHA-256 of the
-- page id instead (32 bytes, however long the text); the text stays in page_id, for display and for reading.
-- Two page ids share a key only if SHA-256 collides, so counting by the key counts by the text.
-- The other identifiers in a key fit as they are: stream ids are at most 200 characters (800 bytes; V1's check),
-- form ids 256 (1 KB; the FormSubmitted schema), event types 200, sites 64 ASCII characters (the config).
-- Adding the stored columns rewrites both tables and rebuilds their keys, holding their locks meanwhile: on a big
-- read model expect page-stats to pause that long on the first start of this version.

-- The key of an identifier: the SHA-256 of its UTF-8 bytes. convert_to is only STABLE because it looks its
-- conversion up in the catalogs; its result depends on the text alone (a database never changes its encoding, and
-- in a UTF8 one it is a plain copy), so this is IMMUTABLE, as a generated column requires.
CREATE FUNCTION flightdeck_text_key(value text) RETURNS bytea
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
  AS $$ SELECT sha256(convert_to(value, 'UTF8')) $$;

ALTER TABLE page_stats
  ADD COLUMN page_key bytea GENERATED ALWAYS AS (flightdeck_text_key(page_id)) STORED,
  DROP CONSTRAINT page_stats_pkey,
  ADD CONSTRAINT page_stats_pkey PRIMARY KEY (site, day, page_key);

-- the visitor still leads (see V3)
ALTER TABLE page_visitors
  ADD COLUMN page_key bytea GENERATED ALWAYS AS (flightdeck_text_key(page_id)) STORED,
  DROP CONSTRAINT page_visitors_pkey,
  ADD CONSTRAINT page_visitors_pkey PRIMARY KEY (stream_id, site, day, page_key);
