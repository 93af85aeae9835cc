package io.flightdeck.gateway.projection;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.Tuple;

/**
 * One try of {@link ReadModelsDifferentialIT}, as jqwik generates and shrinks it: the events, how they are cut into
 * requests (single posts and batches, some sent concurrently, some refused for an invalid event), which are sent
 * again with their ids, and whether projections are rebuilt while they arrive. {@link #requests} turns it into the
 * requests of one try, with ids, streams, forms and days of that try's own.
 */
record DifferentialScenario(List<Spec> events, List<Integer> requestSizes, List<Integer> waveWidths,
                            List<Integer> siteChoices, int poisonEvery, int rebuildAtWave, int rebuildMask,
                            long salt) {

  enum Kind { PAGE, CLICK, FORM, CUSTOM }

  /**
   * One event: its visitor, kind, page (or button, form and fields, derived from it), minute within the try's four
   * days and the offset its occurredAt is written with, schema version, and whether (and how) it is sent again:
   * resend 7 in a later request, 8 again in its own request, 9 in a later request with other data; else once.
   */
  record Spec(int visitor, Kind kind, int page, int minute, int zone, int resend, int version, boolean withId) {
  }

  /** One request: the events as sent, the site whose write key posts them, and how the key and body are written. */
  record Request(String site, List<JsonObject> events, boolean poisoned, int keyStyle, boolean single) {

    JsonObject body() {
      JsonArray list = new JsonArray(new ArrayList<>(events));
      if (poisoned) {
        list.add(new JsonObject().put("type", "PageViewed").put("streamId", "poison").put("data", new JsonObject()));
      }
      JsonObject body = single && !poisoned ? events.get(0).copy() : new JsonObject().put("events", list);
      return keyStyle == 2 ? body.put("writeKey", ReadModelsDifferentialIT.writeKey(site)) : body;
    }
  }

  static final List<String> PAGES = List.of("/", "/a", "/B", "/a/b", "/é", "/Z z", "/\uD834\uDD1E", "/\uFF21",
      "/pricing?x=1", "/A");
  static final List<ZoneOffset> ZONES = List.of(ZoneOffset.UTC, ZoneOffset.ofHoursMinutes(5, 30),
      ZoneOffset.ofHours(-8), ZoneOffset.ofHours(14), ZoneOffset.ofHoursMinutes(-3, -30), ZoneOffset.ofHours(-12));
  static final int DAYS = 4;

  static Arbitrary<DifferentialScenario> arbitrary() {
    Arbitrary<Spec> spec = Combinators.combine(
        Arbitraries.integers().between(0, 5),
        Arbitraries.frequency(Tuple.of(5, Kind.PAGE), Tuple.of(2, Kind.CLICK), Tuple.of(2, Kind.FORM),
            Tuple.of(1, Kind.CUSTOM)),
        Arbitraries.integers().between(0, PAGES.size() - 1),
        Arbitraries.integers().between(0, DAYS * 1440 - 1),
        Arbitraries.integers().between(0, ZONES.size() - 1),
        Arbitraries.integers().between(0, 9),
        Arbitraries.integers().between(1, 2),
        Arbitraries.integers().between(0, 19).map(i -> i != 0)).as(Spec::new);
    return Combinators.combine(
        spec.list().ofMinSize(1).ofMaxSize(150),
        Arbitraries.integers().between(1, 30).list().ofMinSize(1).ofMaxSize(12),
        Arbitraries.integers().between(1, 8).list().ofMinSize(1).ofMaxSize(6),
        Arbitraries.integers().between(0, 3).list().ofMinSize(1).ofMaxSize(6),
        // a request in every 2 to 9 refused for an invalid event in a quarter of the tries, else none
        Arbitraries.integers().between(0, 31).map(i -> i < 24 ? 0 : i - 22),
        // the projections of rebuildMask rebuilt as wave 0 to 6 goes out in a quarter of the tries, else none
        Arbitraries.integers().between(0, 27).map(i -> i < 21 ? -1 : i - 21),
        Arbitraries.integers().between(1, 15),
        Arbitraries.longs()).as(DifferentialScenario::new);
  }

  /**
   * The first day of try {@code n}'s days: each try has days of its own, so its page stats are its own. Every other
   * try's are before 2000, PostgreSQL's epoch, toward which the pg client would cut a time finer than it holds.
   */
  static LocalDate firstDay(int n) {
    return LocalDate.of(n % 2 == 0 ? 2001 : 1971, 1, 1).plusDays(7L * (n / 2));
  }

  static String stream(int n, int visitor) {
    return "d" + n + (visitor % 3 == 2 ? "-vis itor+ä-" : "-v") + visitor;
  }

  static String form(int n, int page) {
    return "d" + n + "-form-" + page % 2;
  }

  /** The requests of try {@code n}, in the order they are sent. */
  List<Request> requests(int n) {
    List<List<JsonObject>> chunks = new ArrayList<>();
    int next = 0;
    for (int i = 0; next < events.size(); i++) {
      int size = Math.min(requestSizes.get(i % requestSizes.size()), events.size() - next);
      List<JsonObject> chunk = new ArrayList<>();
      for (int k = next; k < next + size; k++) {
        chunk.add(event(n, events.get(k), false));
      }
      chunks.add(chunk);
      next += size;
    }
    resend(n, chunks);
    List<Request> requests = new ArrayList<>();
    for (int i = 0; i < chunks.size(); i++) {
      boolean demo = siteChoices.get(i % siteChoices.size()) != 0;
      List<JsonObject> chunk = demo ? chunks.get(i) : chunks.get(i).stream().map(DifferentialScenario::noCustom)
          .toList();
      boolean poisoned = poisonEvery > 0 && i % poisonEvery == poisonEvery - 1;
      requests.add(new Request(demo ? "demo" : "shop", chunk, poisoned, i % 3, chunk.size() == 1 && i % 2 == 0));
    }
    return requests;
  }

  /** Adds the copies of events sent again: same id, in a later request or their own, some with other data. */
  private void resend(int n, List<List<JsonObject>> chunks) {
    int index = 0;
    int originals = chunks.size();
    List<Integer> sizes = chunks.stream().map(List::size).toList();
    for (int c = 0; c < originals; c++) {
      for (int k = 0; k < sizes.get(c); k++, index++) {
        Spec s = events.get(index);
        JsonObject sent = chunks.get(c).get(k);
        if (s.resend() < 7 || !sent.containsKey("id")) {
          continue;
        }
        JsonObject copy = s.resend() == 9 ? event(n, s, true).put("id", sent.getString("id")) : sent.copy();
        if (s.resend() == 8) {
          chunks.get(c).add(copy);
        } else if (c + 1 < chunks.size()) {
          chunks.get(Math.min(chunks.size() - 1, c + 1 + s.minute() % 3)).add(copy);
        } else {
          chunks.add(new ArrayList<>(List.of(copy)));
        }
      }
    }
  }

  /** A custom event as the shop site, which names no custom type, may send it: a click. */
  private static JsonObject noCustom(JsonObject event) {
    if (!event.getString("type").equals("VideoPlayed")) {
      return event;
    }
    return event.copy().put("type", "ButtonClicked").put("schemaVersion", 1)
        .put("data", new JsonObject().put("buttonId", "was-video"));
  }

  private JsonObject event(int n, Spec s, boolean other) {
    int page = other ? (s.page() + 1 + s.minute() % (PAGES.size() - 1)) % PAGES.size() : s.page();
    Instant day = firstDay(n).atStartOfDay(ZoneOffset.UTC).toInstant();
    // in zone 5, a few nanoseconds before one of the days ends; else at a second, millisecond or microsecond
    Instant when = s.zone() == 5 ? day.plus(s.minute() / 1440 + 1, ChronoUnit.DAYS).minusNanos(1 + s.page() * 37L)
        : day.plusSeconds(s.minute() * 60L + s.page())
        .plusNanos(s.zone() % 2 == 0 ? 0 : s.zone() == 3 ? s.minute() * 1000L : s.minute() % 1000 * 1_000_000L);
    JsonObject e = new JsonObject();
    if (s.withId()) {
      e.put("id", UUID.randomUUID().toString());
    }
    e.put("streamId", stream(n, s.visitor()))
        .put("occurredAt", when.atOffset(ZONES.get(s.zone())).format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
    switch (s.kind()) {
      case PAGE -> e.put("type", "PageViewed").put("data", new JsonObject().put("pageId", PAGES.get(page)));
      case CLICK -> e.put("type", "ButtonClicked").put("data", new JsonObject().put("buttonId", "b" + page));
      case FORM -> e.put("type", "FormSubmitted").put("data", new JsonObject().put("formId", form(n, page))
          .put("formData", fields(s, page)));
      default -> e.put("type", "VideoPlayed").put("data", new JsonObject().put("video", page));
    }
    if (s.page() % 4 == 3) { // the server's own site overrides one the client claims
      e.put("metadata", new JsonObject().put("site", "spoofed").put("campaign", "c" + s.page()));
    }
    if (s.kind() != Kind.CUSTOM && (s.version() == 2 || s.zone() % 2 == 0)) { // version 1 also as the default
      e.put("schemaVersion", s.version());
      if (s.version() == 2) {
        e.getJsonObject("data").put(s.kind() == Kind.PAGE ? "title" : "pageId", PAGES.get(page));
      }
    }
    return e;
  }

  private static JsonObject fields(Spec s, int page) {
    JsonObject fields = new JsonObject();
    for (int i = 0; i < s.minute() % 4; i++) {
      fields.put(i == 0 ? "email" : "f" + i + PAGES.get((page + i) % PAGES.size()), "v" + s.minute() + "-" + page);
    }
    return fields;
  }
}
