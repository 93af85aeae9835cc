package io.flightdeck.gateway.store;

/** The store's DML. DDL lives in {@code db/migration}. */
final class StoreSql {

  private StoreSql() {
  }

  /** Same key as the trigger in V1__event_store.sql: positions are handed out in commit order. */
  static final long POSITION_LOCK_KEY = 1178861569L;

  static final String NOTIFY_CHANNEL = "flightdeck_events";

  static final String BEGIN = "BEGIN";
  static final String COMMIT = "COMMIT";
  static final String LOCK_POSITIONS = "SELECT pg_advisory_xact_lock(" + POSITION_LOCK_KEY + ")";

  /**
   * The group's events, one row each, in arrival order ({@code ord}); {@code numbered} adds {@code nth} ($8):
   * the event's place among the group's events of its stream (1, 2, ...), as the appender counted it.
   */
  private static String inputCte(boolean numbered) {
    return """
        input AS (
          SELECT *
          FROM unnest($1::uuid[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::timestamptz[]%s)
            WITH ORDINALITY AS t(id, stream_id, type, schema_version, data, metadata, occurred_at%s, ord)
        )""".formatted(numbered ? ", $8::int[]" : "", numbered ? ", nth" : "");
  }

  /**
   * Inserts the rows of {@code source} in arrival order, each at its stream's head + {@code nth}. Each row probes
   * its stream's head in the (stream_id, stream_version) index: no join between the group's rows, so the cost
   * stays linear in the group size (a join here went quadratic under a generic plan). The probe does not see the
   * statement's own rows, so a stream's events in one group get head + 1, head + 2, ... in input order.
   * {@code recorded_at} is left to the table's default, {@code clock_timestamp()} read as each row is built, after
   * the position lock (V8): never now(), the transaction's start, which may come before a writer that took the lock
   * first and would put this event's time before an earlier version's.
   */
  private static String insertedCte(String source, String nth) {
    return """
        inserted AS (
          INSERT INTO events (id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at)
          SELECT s.id, s.stream_id,
                 COALESCE((SELECT max(e.stream_version) FROM events e WHERE e.stream_id = s.stream_id), 0) + %s,
                 s.type, s.schema_version, s.data::jsonb, s.metadata::jsonb, s.occurred_at
          FROM %s s
          ORDER BY s.ord
          RETURNING id, position, stream_version
        )""".formatted(nth, source);
  }

  /** One NOTIFY per transaction with the range of new positions ("from-to"), only when something was new. */
  private static final String NOTIFIED_CTE = """
      notified AS (
        SELECT pg_notify('%s', min(position) || '-' || max(position)) FROM inserted HAVING count(*) > 0
      )""".formatted(NOTIFY_CHANNEL);

  private static final String SELECT_INSERTED = """
      SELECT i.id, i.position, i.stream_version, true AS appended, (SELECT count(*) FROM notified) AS notified
      FROM inserted i""";

  /**
   * The fast path: appends a group of events with distinct ids, none of them stored yet, numbered by the appender
   * ($8). It runs as a transaction of its own (autocommit): one message, one answer. The insert's statement trigger
   * takes the position lock; binding the parameters comes before it, outside the lock. The statement's snapshot is
   * therefore older than the lock: if another writer (another process, or a second append connection) committed
   * to one of the streams while this one waited, the probe reads the old head and the (stream_id, stream_version)
   * unique index fails the statement; the group then goes again on the checked path, which takes the lock before
   * its statement starts.
   * An id already stored fails the statement with a unique violation (so nothing commits), and the group is retried
   * with {@link #APPEND_CHECKED}. Skipping the lookup saves a random probe of the id index per event, which the
   * insert's own uniqueness check makes anyway.
   */
  static final String APPEND = "WITH " + inputCte(true) + ",\n" + insertedCte("input", "s.nth") + ",\n"
      + NOTIFIED_CTE + "\n" + SELECT_INSERTED;

  /**
   * Appends a group of events with distinct ids, under the position lock (taken by the statement before it, as
   * the lookup must see every committed append). Ids already stored come back with {@code appended = false} and
   * their original position; the rest get the next versions of their streams (numbered here, among the events
   * that are new) and the next positions, in input order.
   */
  static final String APPEND_CHECKED = "WITH " + inputCte(false) + """
      ,
      existing AS (
        SELECT e.id, e.position, e.stream_version FROM events e WHERE e.id = ANY($1::uuid[])
      ),
      fresh AS (
        -- a hashed subplan: linear in the group size whatever plan the prepared statement gets
        SELECT i.* FROM input i WHERE i.id NOT IN (SELECT x.id FROM existing x)
      ),
      """ + insertedCte("fresh", "row_number() OVER (PARTITION BY s.stream_id ORDER BY s.ord)") + ",\n"
      + NOTIFIED_CTE + "\n" + SELECT_INSERTED + """

      UNION ALL
      SELECT x.id, x.position, x.stream_version, false, 0 FROM existing x
      """;

  static final String READ_ALL = EventPages.capped("position > $1", "position", 2);

  static final String IDS_BETWEEN =
      "SELECT position, id FROM events WHERE position BETWEEN $1 AND $2 ORDER BY position LIMIT $3";

  /** A page of $3 from version $2 on; a full one ends before $2 + $3 (the largest version, should that overflow). */
  static final String READ_STREAM = EventPages.cappedStream("stream_id = $1 AND stream_version >= $2",
      "LEAST($2, 9223372036854775807 - $3) + $3", 3);

  /**
   * Run once on each of {@link PgSessions}' connections: the server ends the session when its client has sent nothing
   * for $1, inside a transaction (idle_in_transaction_session_timeout) or outside one (idle_session_timeout, which
   * PostgreSQL 13 does not know: there only the first applies). set_config, not startup parameters, so that an older
   * server is not refused a connection for a name it does not know.
   */
  static final String END_QUIET_SESSIONS = """
      SELECT set_config('idle_in_transaction_session_timeout', $1::text, false),
             CASE WHEN current_setting('server_version_num')::int >= 140000
                  THEN set_config('idle_session_timeout', $1::text, false) END""";

  /**
   * Run once on each append connection ({@link PgEventStore#durableCommits}): an append is acknowledged once it has
   * committed, so its commit must be on disk by then. A database or role set to {@code synchronous_commit = off}
   * would have the gateway answer 200 for events a server crash then loses; it is raised to {@code on} for the
   * session. Any other setting (local, remote_write, on, remote_apply) is durable here already, and the operator's.
   */
  static final String DURABLE_COMMITS = """
      SELECT CASE WHEN current_setting('synchronous_commit') = 'off'
                  THEN set_config('synchronous_commit', 'on', false) END""";

  static final String HEAD_POSITION = "SELECT COALESCE(max(position), 0) AS head FROM events";

  static final String LAST_EVENT = "SELECT position, id FROM events ORDER BY position DESC LIMIT 1";

  /** The readiness check: the schema is applied, and a session starts read-write (not a standby, not read-only). */
  static final String READINESS = """
      SELECT EXISTS (SELECT 1 FROM flyway_schema_history WHERE version = $1 AND success) AS applied,
             current_setting('transaction_read_only') = 'on' AS read_only
      """;
}
