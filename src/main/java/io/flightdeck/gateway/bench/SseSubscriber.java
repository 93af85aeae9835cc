package io.flightdeck.gateway.bench;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCountUtil;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.net.NetSocketInternal;
import io.vertx.core.net.NetSocket;
import java.nio.charset.StandardCharsets;
import java.util.BitSet;
import java.util.Locale;

/**
 * One {@code GET /v1/live} subscriber on its own HTTP/1.1 connection: a plain TCP socket that writes the request
 * by hand and parses the answer incrementally, straight from Netty's read buffers (no copy, nothing allocated
 * per message): the status line, the chunked transfer coding, and of the SSE stream only the {@code : connected}
 * comment, each message's {@code id:} line (the event's position), whether it has a {@code data:} line (the
 * greeting's {@code id:}, where the stream starts, comes without: no event) and the blank line that ends the
 * message. A message arrives when its last byte does; the clock is read once per TCP read, which all its messages
 * share. Lives on its group's event loop.
 */
final class SseSubscriber {

  // what the bytes read next are
  private static final int HEAD = 0;
  private static final int CHUNK_SIZE = 1;
  private static final int CHUNK_SIZE_LINE = 2;
  private static final int CHUNK_DATA = 3;
  private static final int CHUNK_DATA_END = 4;
  private static final int IDENTITY = 5;
  private static final int DONE = 6;
  // where in an SSE line the parser is
  private static final int LINE_START = 0;
  private static final int ID_PREFIX = 1;
  private static final int ID_DIGITS = 2;
  private static final int COMMENT = 3;
  private static final int SKIP = 4;

  private static final byte[] ID = "id: ".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] CONNECTED = ": connected".getBytes(StandardCharsets.US_ASCII);
  private static final int MAX_HEAD = 16 * 1024;

  private final SubscriberGroup group;
  /** Positions received; null when the phase does not check them. */
  private final BitSet received;
  private NetSocket socket;
  private int state = HEAD;
  private int line = LINE_START;
  private int match;
  private long number;
  private long pendingId = -1;
  private boolean pendingData;
  private long chunkLeft;
  private byte[] head = new byte[512];
  private int headLength;
  private boolean connected;
  private boolean settled;
  private boolean ended;
  private long last;

  SseSubscriber(SubscriberGroup group, boolean track) {
    this.group = group;
    this.received = track ? new BitSet() : null;
  }

  /** The connection is up: sends the request and reads the stream from now on. */
  void attach(NetSocket so, Buffer request) {
    socket = so;
    ((NetSocketInternal) so).messageHandler(this::onMessage);
    so.closeHandler(v -> end("the connection closed"));
    so.exceptionHandler(e -> end(e.getClass().getSimpleName() + ": " + e.getMessage()));
    so.write(request);
  }

  boolean connected() {
    return connected;
  }

  boolean ended() {
    return ended;
  }

  /** The highest position received (0: none). */
  long last() {
    return last;
  }

  boolean received(long position) {
    return received != null && received.get((int) position);
  }

  /** Settles a subscriber whose connection never came up. */
  void failed(String why) {
    if (!settled) {
      settled = true;
      ended = true;
      group.failed(why);
    }
  }

  void close() {
    ended = true;
    if (socket != null) {
      socket.close();
    }
  }

  private void end(String why) {
    if (ended) {
      return;
    }
    ended = true;
    state = DONE;
    if (!settled) {
      failed(why);
    } else {
      group.ended(why);
    }
  }

  private void onMessage(Object msg) {
    if (!(msg instanceof ByteBuf buf)) {
      ReferenceCountUtil.release(msg);
      return;
    }
    try {
      if (state != DONE) {
        group.read();
        read(buf, buf.readerIndex(), buf.writerIndex(), System.nanoTime());
      }
    } finally {
      buf.release();
    }
  }

  private void read(ByteBuf b, int i, int end, long now) {
    while (i < end && state != DONE) {
      switch (state) {
        case HEAD -> i = head(b, i, end);
        case CHUNK_SIZE -> {
          byte c = b.getByte(i++);
          int digit = Character.digit(c, 16);
          if (digit >= 0) {
            chunkLeft = chunkLeft * 16 + digit;
          } else {
            state = CHUNK_SIZE_LINE;
            if (c == '\n') {
              chunkSizeRead();
            }
          }
        }
        case CHUNK_SIZE_LINE -> {
          int lf = b.indexOf(i, end, (byte) '\n');
          if (lf < 0) {
            i = end;
          } else {
            i = lf + 1;
            chunkSizeRead();
          }
        }
        case CHUNK_DATA -> {
          int stop = (int) Math.min(end, i + chunkLeft);
          sse(b, i, stop, now);
          chunkLeft -= stop - i;
          i = stop;
          if (chunkLeft == 0) {
            state = CHUNK_DATA_END;
          }
        }
        case CHUNK_DATA_END -> {
          if (b.getByte(i++) == '\n') {
            state = CHUNK_SIZE;
          }
        }
        default -> { // IDENTITY
          sse(b, i, end, now);
          i = end;
        }
      }
    }
  }

  private void chunkSizeRead() {
    if (chunkLeft == 0) {
      // the last chunk: the server ended the stream (it only does so when it shuts down)
      end("the server ended the stream");
    } else {
      state = CHUNK_DATA;
    }
  }

  /** Collects the status line and headers, then picks the body's coding. */
  private int head(ByteBuf b, int i, int end) {
    while (i < end) {
      byte c = b.getByte(i++);
      if (headLength == head.length) {
        if (headLength >= MAX_HEAD) {
          fail("no end of the answer's headers within " + MAX_HEAD + " bytes");
          return end;
        }
        head = java.util.Arrays.copyOf(head, headLength * 2);
      }
      head[headLength++] = c;
      if (c == '\n' && headLength >= 4 && head[headLength - 2] == '\r' && head[headLength - 3] == '\n') {
        String text = new String(head, 0, headLength, StandardCharsets.ISO_8859_1);
        head = null;
        int status = text.length() > 12 ? parseStatus(text) : -1;
        if (status != 200) {
          String first = text.lines().findFirst().orElse("");
          fail("answered " + first);
          return end;
        }
        state = text.toLowerCase(Locale.ROOT).contains("transfer-encoding: chunked") ? CHUNK_SIZE : IDENTITY;
        return i;
      }
    }
    return i;
  }

  private static int parseStatus(String text) {
    try {
      return Integer.parseInt(text.substring(9, 12));
    } catch (RuntimeException e) {
      return -1;
    }
  }

  private void fail(String why) {
    state = DONE;
    failed(why);
    close();
  }

  /** The SSE bytes in {@code [i, stop)}. */
  private void sse(ByteBuf b, int i, int stop, long now) {
    while (i < stop) {
      switch (line) {
        case LINE_START -> {
          byte c = b.getByte(i);
          if (c == '\n') {
            i++;
            dispatch(now);
          } else if (c == 'i') {
            i++;
            line = ID_PREFIX;
            match = 1;
          } else if (c == ':') {
            i++;
            line = COMMENT;
            match = 1;
          } else if (c == 'd') {
            pendingData = true;
            line = SKIP;
          } else {
            line = SKIP;
          }
        }
        case ID_PREFIX -> {
          if (b.getByte(i) == ID[match]) {
            i++;
            if (++match == ID.length) {
              line = ID_DIGITS;
              number = 0;
            }
          } else {
            line = SKIP;
          }
        }
        case ID_DIGITS -> {
          byte c = b.getByte(i);
          if (c >= '0' && c <= '9') {
            i++;
            number = number * 10 + (c - '0');
          } else if (c == '\n') {
            i++;
            pendingId = number;
            line = LINE_START;
          } else {
            line = SKIP;
          }
        }
        case COMMENT -> {
          if (b.getByte(i) == CONNECTED[match]) {
            i++;
            if (++match == CONNECTED.length) {
              line = SKIP;
              if (!settled) {
                settled = true;
                connected = true;
                group.connected();
              }
            }
          } else {
            line = SKIP;
          }
        }
        default -> { // SKIP: to the end of the line
          int lf = b.indexOf(i, stop, (byte) '\n');
          if (lf < 0) {
            i = stop;
          } else {
            i = lf + 1;
            line = LINE_START;
          }
        }
      }
    }
  }

  /** A blank line: the message (if it had an id and data) is complete. */
  private void dispatch(long now) {
    long position = pendingId;
    pendingId = -1;
    boolean data = pendingData;
    pendingData = false;
    if (position < 0 || !data) {
      return;
    }
    if (received != null) {
      int p = (int) position;
      if (received.get(p)) {
        group.duplicate();
        return;
      }
      received.set(p);
    }
    if (position < last) {
      group.outOfOrder();
    }
    last = Math.max(last, position);
    group.delivered(position, now);
  }
}
