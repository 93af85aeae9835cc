package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.LocalDate;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Views and unique visitors per site, page and UTC day of the view (the event's occurredAt). */
public final class PageStatsProjection implements Projection {

  public static final String NAME = "page-stats";

  /** One visitor's views of one page on one day, within a batch. */
  private record Visit(String site, String pageId, LocalDate day, String streamId) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<String> eventTypes() {
    return Set.of(VisitorActivity.PAGE_VIEWED);
  }

  @Override
  public List<String> tables() {
    return List.of("page_stats", "page_visitors");
  }

  @Override
  public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
    return write(tx, events, false);
  }

  /** A visitor whose first event is in the batch gets its page_visitors rows by a plain insert. */
  @Override
  public Future<Void> applyFirstTry(SqlConnection tx, List<EventEnvelope> events) {
    return write(tx, events, true);
  }

  private static Future<Void> write(SqlConnection tx, List<EventEnvelope> events, boolean firstTry) {
    Map<Visit, Long> visits = new LinkedHashMap<>();
    Set<String> started = new HashSet<>();
    for (EventEnvelope e : events) {
      visits.merge(visitOf(e), 1L, Long::sum);
      if (firstTry && e.streamVersion() == 1) {
        started.add(e.streamId());
      }
    }
    int n = visits.size();
    String[] sites = new String[n];
    String[] pages = new String[n];
    LocalDate[] days = new LocalDate[n];
    String[] streams = new String[n];
    Long[] views = new Long[n];
    Buffer[] keys = new Buffer[n];
    Boolean[] newVisitor = new Boolean[n];
    Map<String, Buffer> keyOf = new HashMap<>();
    int i = 0;
    for (Map.Entry<Visit, Long> v : visits.entrySet()) {
      sites[i] = v.getKey().site();
      pages[i] = v.getKey().pageId();
      days[i] = v.getKey().day();
      streams[i] = v.getKey().streamId();
      views[i] = v.getValue();
      keys[i] = keyOf.computeIfAbsent(pages[i], PageKey::of);
      newVisitor[i] = started.contains(streams[i]);
      i++;
    }
    return tx.preparedQuery(ReadModelSql.UPSERT_PAGE_STATS)
        .execute(Tuple.of(sites, pages, days, streams, views, keys).addValue(newVisitor))
        .mapEmpty();
  }

  static Visit visitOf(EventEnvelope e) {
    String site = e.metadata().getString("site", "");
    return new Visit(site, e.data().getString("pageId"), Utc.day(e.occurredAt()), e.streamId());
  }
}
