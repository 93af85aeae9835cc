package io.flightdeck.gateway.store;

import io.flightdeck.gateway.config.AppenderConfig;
import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.NewEvent;
import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.flightdeck.gateway.event.Upcasters;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** The PostgreSQL event store: appends through the group-commit appender, reads on their own pool. */
public final class PgEventStore implements EventStore {

  /** The events table's columns {@link #envelopes} reads, for any query that returns envelopes. */
  public static final String ENVELOPE_COLUMNS =
      "position, id, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, recorded_at";

  /**
   * What a reader needs to know it still follows the store: the event at position $1, and the head. Read on the
   * reader's own connection, and judged by {@link #stillHolds}.
   */
  public static final String AT_POSITION = """
      SELECT (SELECT id FROM events WHERE position = $1) AS id,
             (SELECT COALESCE(max(position), 0) FROM events) AS head""";

  /** Every read goes through here, so readers (the API, projections) only ever see current versions. */
  private static final Upcasters UPCASTERS = Upcasters.builtIn();

  private final Pool readPool;
  private final Pool healthPool;
  private final GroupCommitAppender appender;

  /** {@code healthPool} serves {@link #notReadyReason} alone: readiness does not wait behind the reads. */
  public PgEventStore(Pool readPool, Pool healthPool, GroupCommitAppender appender) {
    this.readPool = readPool;
    this.healthPool = healthPool;
    this.appender = appender;
  }

  /** The appender verticle for appends on {@code appendPool}; deploy it before the first append. */
  public static GroupCommitAppender newAppender(Pool appendPool, AppenderConfig config, GatewayMetrics metrics) {
    return new GroupCommitAppender(new PgAppendTransaction(appendPool), config, metrics);
  }

  /**
   * The append pool's connect handler: makes the new connection's commits durable ({@link StoreSql#DURABLE_COMMITS})
   * before the pool hands it out. Should that fail, the connection is broken, and the append on it fails and is
   * retried on another.
   */
  public static void durableCommits(SqlConnection conn) {
    conn.query(StoreSql.DURABLE_COMMITS).execute().onComplete(ar -> conn.close());
  }

  @Override
  public Future<List<AppendResult>> append(List<NewEvent> events) {
    return appender.append(events);
  }

  @Override
  public Future<EventPages.Page> readAll(long after, int limit) {
    return readPool.preparedQuery(StoreSql.READ_ALL).execute(Tuple.of(after, limit))
        .map(rows -> EventPages.Page.of(rows, limit))
        .recover(PgEventStore::unavailable);
  }

  @Override
  public Future<EventPages.Page> readAllFollowing(long after, UUID idAtAfter, int limit) {
    if (after == 0 && idAtAfter == null) {
      return readAll(after, limit);
    }
    return readPool.withConnection(conn -> {
      // pipelined on the one connection: no round trip more than the read alone
      Future<RowSet<Row>> at = conn.preparedQuery(AT_POSITION).execute(Tuple.of(after));
      Future<RowSet<Row>> read = conn.preparedQuery(StoreSql.READ_ALL).execute(Tuple.of(after, limit));
      return Future.all(at, read).compose(all -> {
        Row row = at.result().iterator().next();
        if (!stillHolds(row, after, idAtAfter)) {
          return Future.failedFuture(new HistoryChangedException(after, idAtAfter, row.getUUID("id"),
              row.getLong("head")));
        }
        return Future.succeededFuture(EventPages.Page.of(read.result(), limit));
      });
    }).recover(PgEventStore::unavailable);
  }

  /**
   * Whether the store still holds what a reader read up to {@code after}, by an {@link #AT_POSITION} row: the event
   * {@code idAtAfter} there (with null, for a position known only as a head: a head at least that far).
   */
  public static boolean stillHolds(Row atPosition, long after, UUID idAtAfter) {
    return idAtAfter == null ? atPosition.getLong("head") >= after
        : idAtAfter.equals(atPosition.getUUID("id"));
  }

  @Override
  public Future<Map<Long, UUID>> idsBetween(long from, long to, int limit) {
    return readPool.preparedQuery(StoreSql.IDS_BETWEEN).execute(Tuple.of(from, to, limit))
        .map(PgEventStore::idsByPosition)
        .recover(PgEventStore::unavailable);
  }

  @Override
  public Future<EventPages.Page> readStream(String streamId, long fromVersion, int limit) {
    return readPool.preparedQuery(StoreSql.READ_STREAM).execute(Tuple.of(streamId, fromVersion, limit))
        .map(rows -> EventPages.Page.of(rows, limit))
        .recover(PgEventStore::unavailable);
  }

  @Override
  public Future<Long> headPosition() {
    return readPool.query(StoreSql.HEAD_POSITION).execute()
        .map(rows -> rows.iterator().next().getLong("head"))
        .recover(PgEventStore::unavailable);
  }

  @Override
  public Future<Map<Long, UUID>> lastEvent() {
    return readPool.query(StoreSql.LAST_EVENT).execute()
        .map(PgEventStore::idsByPosition)
        .recover(PgEventStore::unavailable);
  }

  private static Map<Long, UUID> idsByPosition(RowSet<Row> rows) {
    Map<Long, UUID> ids = new HashMap<>();
    for (Row row : rows) {
      ids.put(row.getLong("position"), row.getUUID("id"));
    }
    return ids;
  }

  /**
   * A read that failed because the store is down or saturated is "try again" (503 with Retry-After), not a server
   * bug; every other failure as it is. For the read models' and the admin's queries too.
   */
  public static <T> Future<T> unavailable(Throwable failure) {
    if (TransientErrors.isTransient(failure)) {
      return Future.failedFuture(new StoreUnavailableException(StoreUnavailableException.Reason.STORE_DOWN,
          "the event store is unavailable", 1, failure));
    }
    return Future.failedFuture(failure);
  }

  /**
   * The readiness check: null when the schema at {@code version} is applied and the store takes writes, else what
   * is wrong. A read-only store (a standby, or a database made read-only) answers every append 503.
   */
  public Future<String> notReadyReason(String version) {
    return healthPool.preparedQuery(StoreSql.READINESS).execute(Tuple.of(version)).map(rows -> {
      Row row = rows.iterator().next();
      if (!row.getBoolean("applied")) {
        return "schema version " + version + " is not applied";
      }
      return row.getBoolean("read_only") ? "read-only: the store takes no writes" : null;
    });
  }

  /** Rows of the events table (all columns) as envelopes, in row order, upcast to their types' current versions. */
  public static List<EventEnvelope> envelopes(RowSet<Row> rows) {
    List<EventEnvelope> out = new ArrayList<>(rows.rowCount());
    for (Row row : rows) {
      out.add(envelope(row));
    }
    return out;
  }

  /** One row of the events table as an envelope at its type's current version; the row itself is not changed. */
  static EventEnvelope envelope(Row row) {
    return UPCASTERS.upcast(new EventEnvelope(
        row.getUUID("id"),
        row.getLong("position"),
        row.getString("stream_id"),
        row.getLong("stream_version"),
        row.getString("type"),
        row.getInteger("schema_version"),
        (JsonObject) row.getValue("data"),
        (JsonObject) row.getValue("metadata"),
        row.getOffsetDateTime("occurred_at").toInstant(),
        row.getOffsetDateTime("recorded_at").toInstant()));
  }
}
