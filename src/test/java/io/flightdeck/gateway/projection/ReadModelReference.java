package io.flightdeck.gateway.projection;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The read models as docs/API.md defines them, folded in plain Java from the events a test stored: no production
 * class is used, so a projection and this fold can only agree by both following the documentation.
 */
final class ReadModelReference {

  /** One stored event: what the request sent whose answer said {@code appended}, with where the store put it. */
  record Stored(String id, String streamId, String site, String type, JsonObject data, Instant occurredAt,
                long position, long streamVersion, Instant recordedAt) {
  }

  private static final Set<String> VISITOR_TYPES = Set.of("PageViewed", "ButtonClicked", "FormSubmitted");

  /** Page ids compare by their UTF-8 bytes ("ties by page id, byte order"), which is not Java's UTF-16 order. */
  static final Comparator<String> BYTE_ORDER = (a, b) -> Arrays.compareUnsigned(
      a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8));

  private ReadModelReference() {
  }

  /**
   * {@code GET /v1/visitors/{streamId}} (with {@code at} null) or {@code ?at=} (the events recorded up to and
   * including it): null for 404. firstSeen/lastSeen the extremes of occurredAt, lastPage the pageId of the last page
   * view in stream order, lastPosition the last event folded; only the three visitor types count.
   */
  static JsonObject visitor(String streamId, List<Stored> events, Instant at) {
    List<Stored> folded = events.stream()
        .filter(e -> e.streamId().equals(streamId) && VISITOR_TYPES.contains(e.type()))
        .filter(e -> at == null || !e.recordedAt().isAfter(at))
        .sorted(Comparator.comparingLong(Stored::streamVersion))
        .toList();
    if (folded.isEmpty()) {
      return null;
    }
    Instant first = folded.stream().map(Stored::occurredAt).min(Comparator.naturalOrder()).orElseThrow();
    Instant last = folded.stream().map(Stored::occurredAt).max(Comparator.naturalOrder()).orElseThrow();
    String lastPage = null;
    for (Stored e : folded) {
      if (e.type().equals("PageViewed")) {
        lastPage = e.data().getString("pageId");
      }
    }
    return new JsonObject()
        .put("streamId", streamId)
        .put("site", folded.get(0).site())
        .put("firstSeen", first.toString())
        .put("lastSeen", last.toString())
        .put("pageViews", count(folded, "PageViewed"))
        .put("buttonClicks", count(folded, "ButtonClicked"))
        .put("formSubmissions", count(folded, "FormSubmitted"))
        .put("lastPage", lastPage)
        .put("lastPosition", folded.stream().mapToLong(Stored::position).max().orElseThrow());
  }

  private static long count(List<Stored> events, String type) {
    return events.stream().filter(e -> e.type().equals(type)).count();
  }

  /**
   * {@code GET /v1/pages?site=&from=&to=&order=}, every row of the range: views and distinct streams per page id and
   * UTC day of occurredAt, days ascending, within a day most viewed first (ties by page id) or by page id.
   */
  static List<JsonObject> pages(List<Stored> events, String site, LocalDate from, LocalDate to, boolean byPage) {
    record Key(LocalDate day, String pageId) {
    }
    Map<Key, Long> views = new TreeMap<>(Comparator.comparing(Key::day).thenComparing(Key::pageId, BYTE_ORDER));
    Map<Key, Set<String>> visitors = new TreeMap<>(Comparator.comparing(Key::day)
        .thenComparing(Key::pageId, BYTE_ORDER));
    for (Stored e : events) {
      LocalDate day = LocalDate.ofInstant(e.occurredAt(), ZoneOffset.UTC);
      if (e.type().equals("PageViewed") && e.site().equals(site) && !day.isBefore(from) && !day.isAfter(to)) {
        Key key = new Key(day, e.data().getString("pageId"));
        views.merge(key, 1L, Long::sum);
        visitors.computeIfAbsent(key, k -> new HashSet<>()).add(e.streamId());
      }
    }
    List<JsonObject> rows = new ArrayList<>();
    views.forEach((key, n) -> rows.add(new JsonObject().put("pageId", key.pageId()).put("day", key.day().toString())
        .put("views", n).put("uniqueVisitors", (long) visitors.get(key).size())));
    Comparator<JsonObject> byDay = Comparator.comparing(r -> r.getString("day"));
    Comparator<JsonObject> withinDay = byPage ? Comparator.comparing(r -> r.getString("pageId"), BYTE_ORDER)
        : Comparator.<JsonObject>comparingLong(r -> -r.getLong("views"))
            .thenComparing(r -> r.getString("pageId"), BYTE_ORDER);
    rows.sort(byDay.thenComparing(withinDay));
    return rows;
  }

  /**
   * {@code GET /v1/forms/{formId}/submissions}, every page of it: the form's FormSubmitted events newest first,
   * {@code fields} their formData, {@code submittedAt} their occurredAt.
   */
  static List<JsonObject> submissions(List<Stored> events, String formId) {
    return events.stream()
        .filter(e -> e.type().equals("FormSubmitted") && e.data().getString("formId").equals(formId))
        .sorted(Comparator.comparingLong(Stored::position).reversed())
        .map(e -> new JsonObject().put("position", e.position()).put("eventId", e.id())
            .put("streamId", e.streamId()).put("site", e.site()).put("fields", e.data().getJsonObject("formData"))
            .put("submittedAt", e.occurredAt().toString()))
        .toList();
  }

  /** Events per (minute of recordedAt, type), for the minutes that begin in [from, to): event-counts' rows. */
  static Map<String, Map<String, Long>> counts(List<Stored> events, Instant from, Instant to) {
    Map<String, Map<String, Long>> perMinute = new TreeMap<>();
    for (Stored e : events) {
      Instant minute = e.recordedAt().truncatedTo(ChronoUnit.MINUTES);
      if (!minute.isBefore(from) && minute.isBefore(to)) {
        perMinute.computeIfAbsent(minute.toString(), m -> new TreeMap<>()).merge(e.type(), 1L, Long::sum);
      }
    }
    return perMinute;
  }
}
