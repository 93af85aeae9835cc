package io.flightdeck.gateway.support;

import io.vertx.core.json.JsonObject;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * An HTTP/1.1 SSE subscriber on a plain socket that reads only when the test says so: with a 4 KiB receive window,
 * the server's writes pile up unsent as soon as it stops, so the stream is paused where the test wants it (a catch-up
 * waiting for its client, a big batch handed out a piece at a time). It reads the chunked body properly, so a chunk
 * boundary inside a message does not break it, and keeps all of it to be parsed as the SSE spec says.
 */
public final class PausedSseClient implements AutoCloseable {

  /** One message with data: its {@code id:} line and its data (the envelope JSON). */
  public record Message(long id, JsonObject data) {
  }

  private final Socket socket;
  private final InputStream in;
  /** The body read so far, one char per byte (the markers and ids looked for are ASCII). */
  private final StringBuilder body = new StringBuilder();
  private boolean ended;
  private boolean headRead;

  private PausedSseClient(Socket socket) throws IOException {
    this.socket = socket;
    this.in = new BufferedInputStream(socket.getInputStream());
  }

  /** Opens {@code path} and reads up to the server's greeting: from then on the stream is registered. */
  public static PausedSseClient open(TestGateway gateway, String path) throws IOException {
    PausedSseClient client = request(gateway, path);
    if (!client.readUntil(": connected\n\n", Duration.ofSeconds(30))) {
      throw new IllegalStateException("no greeting: " + client.body);
    }
    return client;
  }

  /**
   * Sends the request for {@code path} only: the answer's head is read with the body, by the first read. A resume
   * past what the live feed published asks the store first, which sends nothing meanwhile, and a test may hold that
   * answer back.
   */
  public static PausedSseClient request(TestGateway gateway, String path) throws IOException {
    Socket socket = new Socket();
    socket.setReceiveBufferSize(4096);
    socket.connect(new InetSocketAddress("127.0.0.1", gateway.port()), 5000);
    socket.setSoTimeout(30_000);
    socket.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + gateway.port()
        + "\r\nAuthorization: Bearer " + TestGateway.READ_TOKEN + "\r\nAccept: text/event-stream\r\n\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    return new PausedSseClient(socket);
  }

  private void readHead() throws IOException {
    headRead = true;
    String status = line();
    if (status == null) {
      // closed before any answer: the stream never started
      ended = true;
      return;
    }
    if (!status.startsWith("HTTP/1.1 200")) {
      throw new IllegalStateException(status);
    }
    while (!line().isEmpty()) {
      // the response's headers
    }
  }

  /**
   * Reads chunk after chunk until the body holds {@code marker}: true; false if the server ended the stream, or
   * {@code within} went by, first (a stream's heartbeats keep it from being silent for long).
   */
  public boolean readUntil(String marker, Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    int from = 0;
    while (body.indexOf(marker, from) < 0) {
      if (ended || System.nanoTime() > deadline) {
        return false;
      }
      from = Math.max(0, body.length() - marker.length());
      readChunk();
    }
    return true;
  }

  /** Reads until the server ends or resets the stream; false if it is still open after {@code within}. */
  public boolean readToEnd(Duration within) throws IOException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!ended) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      readChunk();
    }
    return true;
  }

  /** The body so far. */
  public String body() {
    return body.toString();
  }

  /** The messages with data so far, in order (comments, and id lines without data, are left out). */
  public List<Message> messages() {
    List<Message> out = new ArrayList<>();
    String text = new String(body.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    String[] blocks = text.split("\n\n", -1);
    // the last one is not ended by a blank line yet
    for (int i = 0; i < blocks.length - 1; i++) {
      String block = blocks[i];
      Long id = null;
      String data = null;
      for (String line : block.split("\n")) {
        if (line.startsWith("id:")) {
          id = Long.parseLong(line.substring(3).trim());
        } else if (line.startsWith("data:")) {
          data = line.substring(5).trim();
        }
      }
      if (data != null && id != null) {
        out.add(new Message(id, new JsonObject(data)));
      }
    }
    return out;
  }

  /** Whether the server ended or reset the stream. */
  public boolean ended() {
    return ended;
  }

  private void readChunk() throws IOException {
    if (!headRead) {
      readHead();
      if (ended) {
        return;
      }
    }
    try {
      String size = line();
      if (size == null) {
        ended = true;
        return;
      }
      int n = Integer.parseInt(size.split(";")[0].trim(), 16);
      if (n == 0) {
        ended = true;
        return;
      }
      byte[] data = in.readNBytes(n);
      body.append(new String(data, StandardCharsets.ISO_8859_1));
      if (data.length < n) {
        ended = true;
        return;
      }
      line();
    } catch (SocketTimeoutException e) {
      throw e;
    } catch (IOException reset) {
      // a reset is an end too: the server dropped the connection
      ended = true;
    }
  }

  /** One CRLF-ended line; null at the end of the stream. */
  private String line() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (int b = in.read(); b != '\n'; b = in.read()) {
      if (b < 0) {
        return null;
      }
      if (b != '\r') {
        out.write(b);
      }
    }
    return out.toString(StandardCharsets.US_ASCII);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
