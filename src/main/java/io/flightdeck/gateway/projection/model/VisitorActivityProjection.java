package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import io.vertx.sqlclient.Row;
import io.vertx.sqlclient.RowSet;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Visitor activity per stream: first and last seen, page views, clicks, form submissions, last page. */
public final class VisitorActivityProjection implements Projection {

  public static final String NAME = "visitor-activity";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<String> eventTypes() {
    return VisitorActivity.TYPES;
  }

  @Override
  public List<String> tables() {
    return List.of("visitor_activity");
  }

  @Override
  public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
    return write(tx, events, false);
  }

  /** A visitor whose first event is in the batch gets its row by a plain insert: it cannot have one yet. */
  @Override
  public Future<Void> applyFirstTry(SqlConnection tx, List<EventEnvelope> events) {
    return write(tx, events, true);
  }

  private static Future<Void> write(SqlConnection tx, List<EventEnvelope> events, boolean firstTry) {
    // fold the batch per stream first: one row per visitor, however many of its events the batch holds
    Map<String, VisitorActivity> deltas = new LinkedHashMap<>();
    for (EventEnvelope e : events) {
      deltas.computeIfAbsent(e.streamId(), VisitorActivity::new).add(e);
    }
    List<VisitorActivity> started = new ArrayList<>();
    List<VisitorActivity> seen = new ArrayList<>();
    for (VisitorActivity d : deltas.values()) {
      (firstTry && d.startsStream() ? started : seen).add(d);
    }
    // both statements go out at once (pipelined); the first to fail fails the batch
    Future<RowSet<Row>> inserted = started.isEmpty() ? Future.succeededFuture()
        : tx.preparedQuery(ReadModelSql.INSERT_VISITORS).execute(rows(started));
    Future<RowSet<Row>> upserted = seen.isEmpty() ? Future.succeededFuture()
        : tx.preparedQuery(ReadModelSql.UPSERT_VISITORS).execute(rows(seen));
    return Future.all(inserted, upserted).mapEmpty();
  }

  private static Tuple rows(List<VisitorActivity> deltas) {
    int n = deltas.size();
    String[] streams = new String[n];
    String[] sites = new String[n];
    OffsetDateTime[] first = new OffsetDateTime[n];
    OffsetDateTime[] last = new OffsetDateTime[n];
    Long[] views = new Long[n];
    Long[] clicks = new Long[n];
    Long[] forms = new Long[n];
    String[] pages = new String[n];
    Long[] positions = new Long[n];
    Long[] pagePositions = new Long[n];
    for (int i = 0; i < n; i++) {
      VisitorActivity d = deltas.get(i);
      streams[i] = d.streamId();
      sites[i] = d.site();
      first[i] = Utc.of(d.firstSeen());
      last[i] = Utc.of(d.lastSeen());
      views[i] = d.pageViews();
      clicks[i] = d.buttonClicks();
      forms[i] = d.formSubmissions();
      pages[i] = d.lastPage();
      positions[i] = d.lastPosition();
      pagePositions[i] = d.lastPagePosition();
    }
    return Tuple.of(streams, sites, first, last, views, clicks, forms, pages, positions).addValue(pagePositions);
  }
}
