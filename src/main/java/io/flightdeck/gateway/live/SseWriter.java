package io.flightdeck.gateway.live;

import io.flightdeck.gateway.config.LiveConfig;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import java.util.concurrent.TimeUnit;

/**
 * The bytes of one stream on their way to its client, and the slow-client cut-off. Bytes are counted here, from
 * each write to its completion (the data reached the socket, or the HTTP/2 flow-control window let it go), because
 * Vert.x's own write-queue check counts writes, not bytes, and does nothing for HTTP/2 streams. A client that lets
 * more than {@code maxBufferBytes} pile up unsent is cut off rather than buffered without bound, and so is one that
 * takes nothing at all for {@code stallTimeoutMs} while paced ({@link #awaitDrain}); it resumes from its last id.
 * Whether the stream is closed, and the cut-off itself, are the stream's ({@link SseConnection#cutOff}).
 */
final class SseWriter {

  private final SseConnection stream;
  private final HttpServerResponse response;
  private final Vertx vertx;
  private final LiveConfig config;
  private final SseAccessLine access;
  /** Bytes handed to the connection and not yet written to the socket. */
  private long unsentBytes;
  private Runnable afterDrain;
  private long drainTimer = -1;
  /** While waiting for a drain: when a write last completed, that is, when the client last took something. */
  private long lastProgressNanos;

  SseWriter(SseConnection stream, HttpServerResponse response, Vertx vertx, LiveConfig config,
            SseAccessLine access) {
    this.stream = stream;
    this.response = response;
    this.vertx = vertx;
    this.config = config;
    this.access = access;
  }

  /** Bytes written and not yet taken by the client. */
  long unsent() {
    return unsentBytes;
  }

  /** Whether {@code bytes} more would stay within {@code maxBufferBytes} unsent. */
  boolean fits(long bytes) {
    return unsentBytes + bytes <= config.maxBufferBytes();
  }

  /** Whether the client has taken most of what it was sent: at most half of {@code maxBufferBytes} is unsent. */
  boolean mostlyTaken() {
    return unsentBytes <= config.maxBufferBytes() / 2;
  }

  /** Writes live data, cutting the client off if that leaves more than {@code maxBufferBytes} unsent. */
  void write(Buffer buffer, int events) {
    writePaced(buffer, events);
    if (!stream.isClosed() && unsentBytes > config.maxBufferBytes()) {
      stream.cutOff();
    }
  }

  /** A message without an event: the greeting, a heartbeat. */
  void write(Buffer buffer) {
    write(buffer, 0);
  }

  /**
   * Writes without the cut-off: for a catch-up's pieces, which keep to about {@code maxBufferBytes} themselves.
   * {@code buffer} holds {@code events} events.
   */
  void writePaced(Buffer buffer, int events) {
    if (stream.isClosed()) {
      return;
    }
    int bytes = buffer.length();
    unsentBytes += bytes;
    response.write(buffer).onComplete(ar -> {
      if (ar.succeeded()) {
        access.sent(events, bytes);
      }
      written(bytes);
    });
  }

  /**
   * Runs {@code next} once the client has taken most of what it was sent; a client that takes nothing at all for
   * {@code stallTimeoutMs} is cut off. Any write that completes meanwhile is progress and starts that time again.
   */
  void awaitDrain(Runnable next) {
    afterDrain = next;
    lastProgressNanos = System.nanoTime();
    armStallTimer(config.stallTimeoutMs());
  }

  /** The stream closed: its wait for a drain, if any, ends without running what was to follow. */
  void closed() {
    if (drainTimer >= 0) {
      vertx.cancelTimer(drainTimer);
      drainTimer = -1;
    }
  }

  /** One timer per wait, not one per write: when it fires after progress, it waits out the rest of the time. */
  private void armStallTimer(long delayMs) {
    drainTimer = vertx.setTimer(Math.max(1, delayMs), id -> {
      drainTimer = -1;
      long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastProgressNanos);
      if (idleMs >= config.stallTimeoutMs()) {
        stream.cutOff();
      } else {
        armStallTimer(config.stallTimeoutMs() - idleMs);
      }
    });
  }

  private void written(int bytes) {
    unsentBytes -= bytes;
    if (afterDrain == null) {
      return;
    }
    lastProgressNanos = System.nanoTime();
    if (mostlyTaken()) {
      Runnable next = afterDrain;
      afterDrain = null;
      vertx.cancelTimer(drainTimer);
      drainTimer = -1;
      if (!stream.isClosed()) {
        next.run();
      }
    }
  }
}
