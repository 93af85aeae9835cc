package io.flightdeck.gateway.event;

/**
 * One thing wrong with one event.
 *
 * @param field dotted path inside the event ({@code data.pageId}), or {@code ""} for the event itself
 * @param problem short, stable description ({@code required}, {@code must be a string})
 */
public record Problem(String field, String problem) {
}
