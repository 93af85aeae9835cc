package io.flightdeck.gateway.projection.model;

import io.flightdeck.gateway.event.EventEnvelope;
import io.vertx.core.json.JsonObject;
import java.time.Instant;
import java.util.Set;

/**
 * One visitor's activity (one stream), folded from its events in order. The projection stores the same fold
 * batch by batch; {@code GET /v1/visitors/{id}?at=} folds the stream's events up to a time with this class, so
 * both always agree.
 */
public final class VisitorActivity {

  static final String PAGE_VIEWED = "PageViewed";
  static final String BUTTON_CLICKED = "ButtonClicked";
  static final String FORM_SUBMITTED = "FormSubmitted";
  /** The types a visitor's activity is folded from: all the projection is given, and all the fold counts. */
  static final Set<String> TYPES = Set.of(PAGE_VIEWED, BUTTON_CLICKED, FORM_SUBMITTED);

  private final String streamId;
  private String site;
  private Instant firstSeen;
  private Instant lastSeen;
  private long pageViews;
  private long buttonClicks;
  private long formSubmissions;
  private String lastPage;
  /** The position of the page view {@link #lastPage} comes from; null without one. */
  private Long lastPagePosition;
  private long lastPosition;
  private boolean startsStream;

  public VisitorActivity(String streamId) {
    this.streamId = streamId;
  }

  /**
   * Folds one more event of the stream (events must come in stream order). Only the three visitor types count,
   * as they are all the projection is given ({@link #TYPES}): a custom event moves
   * neither first nor last seen, so the fold of a whole stream is what the projection stored.
   */
  public void add(EventEnvelope event) {
    String type = event.type();
    if (!TYPES.contains(type)) {
      return;
    }
    if (site == null) {
      site = event.metadata().getString("site");
    }
    firstSeen = firstSeen == null || event.occurredAt().isBefore(firstSeen) ? event.occurredAt() : firstSeen;
    lastSeen = lastSeen == null || event.occurredAt().isAfter(lastSeen) ? event.occurredAt() : lastSeen;
    switch (type) {
      case PAGE_VIEWED -> {
        pageViews++;
        lastPage = event.data().getString("pageId");
        lastPagePosition = event.position();
      }
      case BUTTON_CLICKED -> buttonClicks++;
      default -> formSubmissions++;
    }
    lastPosition = Math.max(lastPosition, event.position());
    startsStream |= event.streamVersion() == 1;
  }

  public boolean empty() {
    return firstSeen == null;
  }

  String streamId() {
    return streamId;
  }

  String site() {
    return site;
  }

  Instant firstSeen() {
    return firstSeen;
  }

  Instant lastSeen() {
    return lastSeen;
  }

  long pageViews() {
    return pageViews;
  }

  long buttonClicks() {
    return buttonClicks;
  }

  long formSubmissions() {
    return formSubmissions;
  }

  String lastPage() {
    return lastPage;
  }

  long lastPosition() {
    return lastPosition;
  }

  /** The position of the last page view folded; null without one. */
  Long lastPagePosition() {
    return lastPagePosition;
  }

  /** Whether the stream's first event (version 1) is among the events folded. */
  boolean startsStream() {
    return startsStream;
  }

  static JsonObject toJson(String streamId, String site, Instant firstSeen, Instant lastSeen, long pageViews,
                           long buttonClicks, long formSubmissions, String lastPage, long lastPosition) {
    return new JsonObject()
        .put("streamId", streamId)
        .put("site", site)
        .put("firstSeen", firstSeen.toString())
        .put("lastSeen", lastSeen.toString())
        .put("pageViews", pageViews)
        .put("buttonClicks", buttonClicks)
        .put("formSubmissions", formSubmissions)
        .put("lastPage", lastPage)
        .put("lastPosition", lastPosition);
  }

  public JsonObject toJson() {
    return toJson(streamId, site, firstSeen, lastSeen, pageViews, buttonClicks, formSubmissions, lastPage,
        lastPosition);
  }
}
