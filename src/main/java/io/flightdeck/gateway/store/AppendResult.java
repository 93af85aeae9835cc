package io.flightdeck.gateway.store;

import io.vertx.core.buffer.Buffer;
import java.util.List;
import java.util.UUID;

/** What became of one event of an append: its place in the store, and whether this append stored it. */
public record AppendResult(UUID id, long position, long streamVersion, Status status) {

  public enum Status {
    APPENDED("appended"), DUPLICATE("duplicate");

    private final String wire;

    Status(String wire) {
      this.wire = wire;
    }

    public String wire() {
      return wire;
    }
  }

  /**
   * The ingest answer, {@code {"results": [...]}} with one object per result ({@code id}, {@code position},
   * {@code streamVersion}, {@code status}), written directly:
   * every value is a UUID, a number or a fixed word, so nothing needs escaping. Building JsonObjects and encoding
   * them with Jackson's databind took 4 % of the gateway's CPU under single-event load (JFR).
   */
  public static Buffer resultsBody(List<AppendResult> results) {
    StringBuilder sb = new StringBuilder(16 + results.size() * 110).append("{\"results\":[");
    for (int i = 0; i < results.size(); i++) {
      AppendResult r = results.get(i);
      sb.append(i == 0 ? "{\"id\":\"" : ",{\"id\":\"").append(r.id)
          .append("\",\"position\":").append(r.position)
          .append(",\"streamVersion\":").append(r.streamVersion)
          .append(",\"status\":\"").append(r.status.wire).append("\"}");
    }
    return Buffer.buffer(sb.append("]}").toString());
  }
}
