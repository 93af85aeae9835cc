package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
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
    return Set.of(VisitorActivity.PAGE_VIEWED, VisitorActivity.BUTTON_CLICKED, VisitorActivity.FORM_SUBMITTED);
  }

  @Override
  public List<String> tables() {
    return List.of("visitor_activity");
  }

  @Override
  public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
    // fold the batch per stream first: one row per visitor, however many of its events the batch holds
    Map<String, VisitorActivity> deltas = new LinkedHashMap<>();
    for (EventEnvelope e : events) {
      deltas.computeIfAbsent(e.streamId(), VisitorActivity::new).add(e);
    }
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
    int i = 0;
    for (VisitorActivity d : deltas.values()) {
      streams[i] = d.streamId();
      sites[i] = d.site();
      first[i] = Utc.of(d.firstSeen());
      last[i] = Utc.of(d.lastSeen());
      views[i] = d.pageViews();
      clicks[i] = d.buttonClicks();
      forms[i] = d.formSubmissions();
      pages[i] = d.lastPage();
      positions[i] = d.lastPosition();
      i++;
    }
    return tx.preparedQuery(ReadModelSql.UPSERT_VISITORS)
        .execute(Tuple.of(streams, sites, first, last, views, clicks, forms, pages, positions))
        .mapEmpty();
  }
}
