-- The append-only event store. position is the global order every reader follows; id is the idempotency key;
-- (stream_id, stream_version) numbers each stream 1, 2, 3... with no gaps or repeats.
CREATE TABLE events (
  position       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id             uuid        NOT NULL,
  stream_id      text        NOT NULL,
  stream_version bigint      NOT NULL,
  type           text        NOT NULL,
  schema_version integer     NOT NULL,
  data           jsonb       NOT NULL,
  metadata       jsonb       NOT NULL DEFAULT '{}'::jsonb,
  occurred_at    timestamptz NOT NULL,
  recorded_at    timestamptz NOT NULL DEFAULT now(),
  -- the writing transaction, for readers and operators who want to reason about visibility
  tx_id          xid8        NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT events_id_key UNIQUE (id),
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version),
  CONSTRAINT events_stream_id_length CHECK (char_length(stream_id) BETWEEN 1 AND 200),
  CONSTRAINT events_type_length CHECK (char_length(type) BETWEEN 1 AND 200),
  CONSTRAINT events_stream_version_positive CHECK (stream_version >= 1),
  CONSTRAINT events_schema_version_positive CHECK (schema_version >= 1),
  CONSTRAINT events_data_object CHECK (jsonb_typeof(data) = 'object'),
  CONSTRAINT events_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE events IS 'FlightDeck event store: append-only; see docs/ARCHITECTURE.md';

-- An identity value is allocated at insert, not at commit, so two concurrent writers could make position 102
-- visible before 101 and a reader following "after=101" would skip 101 forever. Every insert therefore takes
-- one transaction-scoped advisory lock first: positions are handed out in commit order, by every writer,
-- including ones that bypass the gateway. The lock is released only after the commit is visible.
-- Key 1178861569 = 0x46440001 ('F','D', 0, 1); the gateway's own append takes the same key explicitly.
CREATE FUNCTION flightdeck_serialize_positions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1178861569);
  RETURN NULL;
END
$$;

CREATE TRIGGER events_serialize_positions
  BEFORE INSERT ON events
  FOR EACH STATEMENT EXECUTE FUNCTION flightdeck_serialize_positions();

CREATE FUNCTION flightdeck_reject_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'the events table is append-only: % is not allowed', TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;

CREATE TRIGGER events_append_only
  BEFORE UPDATE OR DELETE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION flightdeck_reject_event_change();

CREATE TRIGGER events_no_truncate
  BEFORE TRUNCATE ON events
  FOR EACH STATEMENT EXECUTE FUNCTION flightdeck_reject_event_change();
