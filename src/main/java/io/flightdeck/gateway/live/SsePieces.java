package io.flightdeck.gateway.live;

import io.flightdeck.gateway.metrics.GatewayMetrics;
import io.vertx.core.buffer.Buffer;

/**
 * Messages of a catch-up page, or of a batch handed out a part at a time, gathered into writes of about
 * {@link #CATCH_UP_WRITE_BYTES}: each write's completion shows the client's progress (one write of a whole page would
 * complete only once the client had taken all of it). One per page or part, used by {@link SseCatchUp}.
 */
final class SsePieces {

  /** A catch-up page, or a big batch, goes to the socket in writes of about this many bytes. */
  private static final int CATCH_UP_WRITE_BYTES = 32 * 1024;

  private final SseWriter writer;
  private final GatewayMetrics metrics;
  private Buffer out;
  /** The messages in {@code out}. */
  private int inOut;
  private int sent;

  SsePieces(SseWriter writer, GatewayMetrics metrics) {
    this.writer = writer;
    this.metrics = metrics;
  }

  /** Adds one message; answers whether there is room for more (at most about maxBufferBytes unsent). */
  boolean add(Buffer frame) {
    out = out == null ? Buffer.buffer() : out;
    out.appendBuffer(frame);
    inOut++;
    sent++;
    if (out.length() >= CATCH_UP_WRITE_BYTES) {
      writeOut();
    }
    return writer.fits(out == null ? 0 : out.length());
  }

  /** Writes what is gathered; answers how many messages were added in all. */
  int flush() {
    if (out != null) {
      writeOut();
    }
    if (sent > 0) {
      metrics.sseDelivered().increment(sent);
    }
    return sent;
  }

  private void writeOut() {
    writer.writePaced(out, inOut);
    out = null;
    inOut = 0;
  }
}
