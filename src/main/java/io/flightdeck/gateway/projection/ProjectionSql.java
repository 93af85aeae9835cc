package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.store.EventPages;
import io.flightdeck.gateway.store.PgEventStore;

/** The engine's DML. DDL lives in {@code db/migration/V2__projections.sql}. */
final class ProjectionSql {

  private ProjectionSql() {
  }

  /** First key of every projection's advisory lock; the second is its {@code lock_id}. 0x46440002 ('F','D',0,2). */
  static final int LOCK_NAMESPACE = 1178861570;

  static final String ENSURE = """
      INSERT INTO projection_checkpoints (name) SELECT unnest($1::text[]) ON CONFLICT (name) DO NOTHING""";

  /** Session-level: held as long as the runner's connection lives, so a dead process releases it. */
  static final String TRY_LOCK = """
      SELECT pg_try_advisory_lock(%d, lock_id) AS locked FROM projection_checkpoints WHERE name = $1
      """.formatted(LOCK_NAMESPACE);

  static final String CLAIM = """
      UPDATE projection_checkpoints SET owner = $2, updated_at = now() WHERE name = $1""";

  /**
   * Locks the checkpoint row for the batch's transaction (every writer of the projection's tables takes this
   * lock first: runner, rebuild, dead-letter retry) and reads the store head. The head comes from a snapshot
   * taken no later than the event read that follows; positions become visible in order (V1's position lock),
   * so the event read sees every event up to it. {@code rebuild_started} tells a checkpoint a rebuild put back
   * from one it was at already (both 0, say).
   */
  static final String LOCK_CHECKPOINT = """
      SELECT position, rebuild_started, (SELECT COALESCE(max(position), 0) FROM events) AS head
      FROM projection_checkpoints WHERE name = $1 FOR UPDATE""";

  /**
   * {@link #LOCK_CHECKPOINT} for a runner's step, which may hold the process's only turn at the {@link StepGate}:
   * while another transaction holds the lock, it fails at once (55P03) instead of waiting with that turn.
   */
  static final String LOCK_CHECKPOINT_NOWAIT = LOCK_CHECKPOINT + " NOWAIT";

  /**
   * The events after the checkpoint locked by {@link #LOCK_CHECKPOINT} earlier in the same transaction, within the
   * next $4 positions (projections.scanPositions, or fewer: {@link ProjectionTransactions#next}): a projection of few
   * types would otherwise scan every event of the other types after its checkpoint in one statement until it had a
   * batch, however long the run, and a run long enough outlasts the statement timeout every time it is read.
   */
  static final String READ_EVENTS_AFTER_CHECKPOINT = EventPages.capped("""
      position > (SELECT c.position FROM projection_checkpoints c WHERE c.name = $1)
        AND position <= (SELECT c.position FROM projection_checkpoints c WHERE c.name = $1) + $4
        AND ($2::text[] IS NULL OR type = ANY ($2::text[]))""", "position", 3);

  static final String READ_EVENT_AT = "SELECT " + PgEventStore.ENVELOPE_COLUMNS
      + " FROM events WHERE position = $1";

  static final String ADVANCE = """
      UPDATE projection_checkpoints
      SET position = $2, updated_at = now(), last_error = NULL, failing_since = NULL,
          rebuild_target = CASE WHEN rebuild_target > $2 THEN rebuild_target END
      WHERE name = $1""";

  /**
   * Only while the checkpoint is still where the failed step read from ($3, of the rebuild started at $4, null for
   * none): a rebuild that queued behind the failing step has cleared the failure and put the checkpoint back, and
   * the failure of an event before that is not the rebuilt projection's. Never waits for the row's lock (SKIP
   * LOCKED): sent on the runner's connection without waiting for it, a wait would hold up the retry queued behind
   * it, at its turn of the {@link StepGate}, and with it every projection of the process. The lock's holder is a
   * rebuild (which clears the failure anyway), a dead-letter retry or an operator; the next attempt records it.
   */
  static final String RECORD_FAILURE = """
      UPDATE projection_checkpoints
      SET last_error = $2, failing_since = COALESCE(failing_since, now()), updated_at = now()
      WHERE name = $1 AND position = $3 AND rebuild_started IS NOT DISTINCT FROM $4::timestamptz
        AND name IN (SELECT name FROM projection_checkpoints WHERE name = $1 FOR UPDATE SKIP LOCKED)""";

  /**
   * Taken before a dead letter is inserted, until its transaction ends (after the commit is visible): a dead
   * letter's id comes from a sequence at insert, not at commit, so without it two projections setting aside one
   * poison event at once could commit ids 2 then 1, and a reader following {@code next} of the dead-letter list,
   * past 2 already, would never see 1. Dead letters are rare; only their inserts wait on each other.
   * 0x46440003 ('F','D',0,3), apart from the store's position lock and {@link #LOCK_NAMESPACE}.
   */
  static final String LOCK_DEAD_LETTER_IDS = "SELECT pg_advisory_xact_lock(1178861571)";

  static final String DEAD_LETTER = """
      INSERT INTO dead_letters (projection, position, event_id, error, attempts) VALUES ($1, $2, $3, $4, $5)
      ON CONFLICT (projection, position)
      DO UPDATE SET error = EXCLUDED.error, attempts = EXCLUDED.attempts, failed_at = now()""";

  // ---- admin

  static final String STATUS = """
      SELECT c.name, c.position, c.rebuild_target, c.rebuild_started, c.owner, c.last_error, c.failing_since,
             h.head,
             (SELECT count(*) FROM dead_letters d WHERE d.projection = c.name) AS dead_letters,
             EXTRACT(EPOCH FROM now() - (SELECT e.recorded_at FROM events e WHERE e.position > c.position
                                         ORDER BY e.position LIMIT 1))::float8 AS lag_seconds,
             EXISTS (SELECT 1 FROM pg_locks l
                     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                       AND l.classid = %d AND l.objid = c.lock_id::oid
                       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())) AS running
      FROM projection_checkpoints c,
           (SELECT COALESCE(max(position), 0) AS head FROM events) h
      WHERE c.name = ANY ($1::text[])
      ORDER BY c.name""".formatted(LOCK_NAMESPACE);

  static final String RESET_FOR_REBUILD = """
      UPDATE projection_checkpoints
      SET position = 0, rebuild_target = (SELECT COALESCE(max(position), 0) FROM events), rebuild_started = now(),
          last_error = NULL, failing_since = NULL, updated_at = now()
      WHERE name = $1
      RETURNING rebuild_target""";

  static final String DELETE_DEAD_LETTERS_OF = "DELETE FROM dead_letters WHERE projection = $1";

  static final String NOTIFY_CHANGED = "SELECT pg_notify($1, $2)";

  static final String LIST_DEAD_LETTERS = """
      SELECT id, projection, position, event_id, error, attempts, failed_at FROM dead_letters
      WHERE id > $1 AND ($2::text IS NULL OR projection = $2)
      ORDER BY id LIMIT $3""";

  static final String FIND_DEAD_LETTER = """
      SELECT id, projection, position, event_id, error, attempts, failed_at FROM dead_letters WHERE id = $1""";

  static final String TAKE_DEAD_LETTER = "DELETE FROM dead_letters WHERE id = $1 RETURNING position";

  static final String RETRY_FAILED = """
      UPDATE dead_letters SET attempts = attempts + 1, error = $2, failed_at = now() WHERE id = $1
      RETURNING attempts""";
}
