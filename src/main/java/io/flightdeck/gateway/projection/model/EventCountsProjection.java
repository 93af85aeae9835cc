package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.vertx.core.Future;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Events per type per minute, by the time the store recorded them (server time, immune to client clocks). */
public final class EventCountsProjection implements Projection {

  public static final String NAME = "event-counts";

  private record Bucket(Instant minute, String type) {
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<String> eventTypes() {
    return Set.of();
  }

  @Override
  public List<String> tables() {
    return List.of("event_counts");
  }

  @Override
  public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
    Map<Bucket, Long> counts = new LinkedHashMap<>();
    for (EventEnvelope e : events) {
      counts.merge(new Bucket(e.recordedAt().truncatedTo(ChronoUnit.MINUTES), e.type()), 1L, Long::sum);
    }
    int n = counts.size();
    OffsetDateTime[] minutes = new OffsetDateTime[n];
    String[] types = new String[n];
    Long[] values = new Long[n];
    int i = 0;
    for (Map.Entry<Bucket, Long> c : counts.entrySet()) {
      minutes[i] = Utc.of(c.getKey().minute());
      types[i] = c.getKey().type();
      values[i] = c.getValue();
      i++;
    }
    return tx.preparedQuery(ReadModelSql.UPSERT_EVENT_COUNTS).execute(Tuple.of(minutes, types, values)).mapEmpty();
  }
}
