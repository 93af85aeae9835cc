package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.flightdeck.gateway.event.Utc;
import io.flightdeck.gateway.projection.Projection;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.SqlConnection;
import io.vertx.sqlclient.Tuple;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/** Every form submission, per form: who sent it, the fields, when; read newest first. */
public final class FormSubmissionsProjection implements Projection {

  public static final String NAME = "form-submissions";

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public Set<String> eventTypes() {
    return Set.of(VisitorActivity.FORM_SUBMITTED);
  }

  @Override
  public List<String> tables() {
    return List.of("form_submissions");
  }

  @Override
  public Future<Void> apply(SqlConnection tx, List<EventEnvelope> events) {
    int n = events.size();
    String[] forms = new String[n];
    Long[] positions = new Long[n];
    UUID[] ids = new UUID[n];
    String[] streams = new String[n];
    String[] sites = new String[n];
    String[] fields = new String[n];
    OffsetDateTime[] times = new OffsetDateTime[n];
    for (int i = 0; i < n; i++) {
      EventEnvelope e = events.get(i);
      forms[i] = e.data().getString("formId");
      positions[i] = e.position();
      ids[i] = e.id();
      streams[i] = e.streamId();
      sites[i] = e.metadata().getString("site");
      JsonObject formData = e.data().getJsonObject("formData", new JsonObject());
      fields[i] = formData.encode();
      times[i] = Utc.of(e.occurredAt());
    }
    return tx.preparedQuery(ReadModelSql.INSERT_FORM_SUBMISSIONS)
        .execute(Tuple.of(forms, positions, ids, streams, sites, fields, times))
        .mapEmpty();
  }
}
