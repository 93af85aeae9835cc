package io.flightdeck.gateway.store;

import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.event.Utc;
import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/**
 * One append transaction. The fast path is one statement, sent alone: its own transaction (autocommit), so one
 * message and one answer carry the whole append, and the server has nothing to wait for between its parts. The
 * checked path pipelines BEGIN, the position lock, the statement and COMMIT on one connection, sent together: the
 * lock is held only while the server works, never across a round trip. If a statement fails, its transaction rolls
 * back (the checked path's queued COMMIT turns into a ROLLBACK), so nothing is half-written.
 */
final class PgAppendTransaction {

  private final Pool pool;

  PgAppendTransaction(Pool pool) {
    this.pool = pool;
  }

  /**
   * Appends events with distinct ids; answers one row per id (new or already stored). Unchecked, it assumes
   * no id is stored yet and fails with a unique violation (23505) when one is; checked, it looks them up.
   */
  Future<List<StoredRow>> run(List<NewEvent> events, boolean checked) {
    Tuple params = toParams(events, !checked);
    // a connection first: failing to get one is a definite failure, nothing was sent
    return pool.getConnection().compose(conn ->
        (checked ? checked(conn, events, params) : autocommit(conn, events, params)).eventually(conn::close));
  }

  /**
   * The fast path's statement as a transaction of its own. When its outcome is unknown ({@link
   * TransientErrors#mayHaveCommitted}), every one of the events counts as maybe this append's own: had it committed,
   * it stored them all, as the statement commits only when none of the ids was stored before.
   */
  private static Future<List<StoredRow>> autocommit(SqlConnection conn, List<NewEvent> events, Tuple params) {
    return conn.preparedQuery(StoreSql.APPEND).execute(params).transform(ar -> {
      if (ar.succeeded()) {
        return Future.succeededFuture(rows(ar.result()));
      }
      Throwable cause = ar.cause();
      return TransientErrors.mayHaveCommitted(cause, true)
          ? Future.failedFuture(new CommitOutcomeUnknownException(idsOf(events), cause))
          : Future.failedFuture(cause);
    });
  }

  /**
   * The checked path: the lookup must see every committed append, so the position lock comes before it. The first
   * step that failed decides, by {@link TransientErrors#mayHaveCommitted}. When the outcome is unknown, the events
   * the statement said it inserted count as maybe this append's own; if its answer was lost too, every one of them
   * does (an id stored before this append is then answered as appended, with its original position: the one case
   * the checked path cannot tell apart).
   */
  private static Future<List<StoredRow>> checked(SqlConnection conn, List<NewEvent> events, Tuple params) {
    Future<RowSet<Row>> begin = conn.query(StoreSql.BEGIN).execute();
    Future<RowSet<Row>> lock = conn.query(StoreSql.LOCK_POSITIONS).execute();
    Future<RowSet<Row>> append = conn.preparedQuery(StoreSql.APPEND_CHECKED).execute(params);
    Future<RowSet<Row>> commit = conn.query(StoreSql.COMMIT).execute();
    return Future.join(begin, lock, append, commit).transform(ar -> {
      if (ar.succeeded()) {
        return Future.succeededFuture(rows(append.result()));
      }
      for (Future<RowSet<Row>> step : List.of(begin, lock, append, commit)) {
        if (step.failed()) {
          Throwable cause = step.cause();
          if (!TransientErrors.mayHaveCommitted(cause, step == commit)) {
            return Future.failedFuture(cause);
          }
          Set<UUID> maybeOurs = append.succeeded() ? insertedIds(append.result()) : idsOf(events);
          return Future.failedFuture(new CommitOutcomeUnknownException(maybeOurs, cause));
        }
      }
      throw new IllegalStateException("a failed join with no failed step");
    });
  }

  private static Set<UUID> idsOf(List<NewEvent> events) {
    Set<UUID> ids = new HashSet<>(events.size() * 2);
    for (NewEvent e : events) {
      ids.add(e.id());
    }
    return ids;
  }

  private static Set<UUID> insertedIds(RowSet<Row> rows) {
    Set<UUID> ids = new HashSet<>();
    for (Row row : rows) {
      if (row.getBoolean("appended")) {
        ids.add(row.getUUID("id"));
      }
    }
    return ids;
  }

  private static List<StoredRow> rows(RowSet<Row> rows) {
    List<StoredRow> out = new ArrayList<>(rows.rowCount());
    for (Row row : rows) {
      out.add(new StoredRow(row.getUUID("id"), row.getLong("position"), row.getLong("stream_version"),
          row.getBoolean("appended")));
    }
    return out;
  }

  /**
   * The statement's parameters: one array per column. With {@code numbered}, also each event's place among the
   * group's events of its stream (1, 2, ...).
   */
  private static Tuple toParams(List<NewEvent> events, boolean numbered) {
    int n = events.size();
    UUID[] ids = new UUID[n];
    String[] streams = new String[n];
    String[] types = new String[n];
    Integer[] versions = new Integer[n];
    String[] data = new String[n];
    String[] metadata = new String[n];
    OffsetDateTime[] occurred = new OffsetDateTime[n];
    for (int i = 0; i < n; i++) {
      NewEvent e = events.get(i);
      ids[i] = e.id();
      streams[i] = e.streamId();
      types[i] = e.type();
      versions[i] = e.schemaVersion();
      data[i] = e.data();
      metadata[i] = e.metadata();
      // stored on its own day however fine the client's time (see Utc.micros)
      occurred[i] = Utc.of(Utc.micros(e.occurredAt()));
    }
    Tuple params = Tuple.of(ids, streams, types, versions, data, metadata, occurred);
    return numbered ? params.addValue(placesInStream(streams)) : params;
  }

  private static Integer[] placesInStream(String[] streams) {
    Integer[] nth = new Integer[streams.length];
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < streams.length; i++) {
      nth[i] = seen.merge(streams[i], 1, Integer::sum);
    }
    return nth;
  }
}
