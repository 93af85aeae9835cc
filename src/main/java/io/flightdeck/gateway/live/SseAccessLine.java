package io.flightdeck.gateway.live;

import io.flightdeck.gateway.api.AccessLog;

/**
 * What a stream's access line reports once it ended: the events and bytes written to the socket ({@link SseWriter}
 * counts them as each write completes), and why the server ended the stream, if it did.
 */
final class SseAccessLine {

  private long sentEvents;
  private long sentBytes;
  /** Set when the server ends the stream; null when the client did (or its connection went). */
  private String endReason;

  /** A write of {@code bytes} holding {@code events} events reached the socket. */
  void sent(int events, int bytes) {
    sentEvents += events;
    sentBytes += bytes;
  }

  /** The server ends the stream, for {@code reason}: the first reason given is the one logged. */
  void ended(String reason) {
    if (endReason == null) {
      endReason = reason;
    }
  }

  AccessLog.StreamEnd end() {
    return new AccessLog.StreamEnd(sentEvents, sentBytes, endReason == null ? "client_closed" : endReason);
  }
}
