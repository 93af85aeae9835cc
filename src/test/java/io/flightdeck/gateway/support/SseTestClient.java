package io.flightdeck.gateway.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real HTTP client reading a Server-Sent-Events stream (java.net.http, one connection), parsing messages as
 * the SSE spec says: {@code id:}, {@code event:}, {@code data:} lines, a blank line ends a message, lines
 * starting with {@code :} are comments. Messages and comments are queued for the test to take.
 */
public final class SseTestClient implements AutoCloseable {

  /** One message: its id, event name and data (the envelope JSON). */
  public record Message(String id, String event, String data) {
  }

  private final HttpResponse<Stream<String>> response;
  private final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
  private final BlockingQueue<String> comments = new LinkedBlockingQueue<>();
  private final List<String> retries = new ArrayList<>();
  private final Thread reader;
  private volatile boolean ended;
  /** What ended the stream from the client's side (a reset, a closed connection), if anything did. */
  private volatile RuntimeException endedBy;
  /** What EventSource would send as Last-Event-ID on a reconnect (its "last event ID string"). */
  private volatile String lastEventId = "";

  private SseTestClient(HttpResponse<Stream<String>> response) {
    this.response = response;
    this.reader = new Thread(this::read, "sse-test-client");
    reader.setDaemon(true);
    if (response.statusCode() == 200) {
      reader.start();
    }
  }

  /** Opens {@code base + path} with the given headers; answers once the status line is in. */
  public static SseTestClient open(String base, String path, Map<String, String> headers) {
    // the JDK client's default: HTTP/2 on http:// through an h2c upgrade where the gateway accepts h2c
    // (http.http2ClearText), else HTTP/1.1
    return open(base, path, headers, HttpClient.Version.HTTP_2);
  }

  /** Opens the stream over plain HTTP/1.1, as a browser's EventSource does on http://, with the demo read token. */
  public static SseTestClient openHttp1(TestGateway gateway, String path, Map<String, String> headers) {
    Map<String, String> all = new java.util.HashMap<>(headers);
    all.putIfAbsent("Authorization", "Bearer " + TestGateway.READ_TOKEN);
    return open(gateway.http().base(), path, all, HttpClient.Version.HTTP_1_1);
  }

  private static SseTestClient open(String base, String path, Map<String, String> headers,
                                    HttpClient.Version version) {
    HttpClient client = HttpClient.newBuilder().version(version).connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).GET()
        .header("Accept", "text/event-stream");
    headers.forEach(request::header);
    try {
      return new SseTestClient(client.send(request.build(), HttpResponse.BodyHandlers.ofLines()));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Opens the stream with the demo read token as a bearer header. */
  public static SseTestClient open(TestGateway gateway, String path, Map<String, String> headers) {
    Map<String, String> all = new java.util.HashMap<>(headers);
    all.putIfAbsent("Authorization", "Bearer " + TestGateway.READ_TOKEN);
    return open(gateway.http().base(), path, all);
  }

  public int status() {
    return response.statusCode();
  }

  /** The protocol the stream runs on. */
  public HttpClient.Version version() {
    return response.version();
  }

  public String header(String name) {
    return response.headers().firstValue(name).orElse(null);
  }

  private void read() {
    String id = null;
    String event = null;
    StringBuilder data = null;
    // the spec's "last event ID buffer": kept across messages, taken over at every blank line, data or not
    String idBuffer = "";
    try {
      for (String line : (Iterable<String>) response.body()::iterator) {
        if (line.isEmpty()) {
          lastEventId = idBuffer;
          if (data != null) {
            messages.add(new Message(id, event, data.toString()));
          }
          id = null;
          event = null;
          data = null;
        } else if (line.startsWith(":")) {
          comments.add(line.substring(1).trim());
        } else if (line.startsWith("id:")) {
          id = line.substring(3).trim();
          idBuffer = id;
        } else if (line.startsWith("event:")) {
          event = line.substring(6).trim();
        } else if (line.startsWith("data:")) {
          data = (data == null ? new StringBuilder() : data.append('\n')).append(line.substring(5).trim());
        } else if (line.startsWith("retry:")) {
          synchronized (retries) {
            retries.add(line.substring(6).trim());
          }
        }
      }
    } catch (RuntimeException e) {
      // closed by the server or by close(): the stream just ends
      endedBy = e;
    } finally {
      ended = true;
    }
  }

  /** The next message, or null after {@code timeout}. */
  public Message next(Duration timeout) throws InterruptedException {
    return messages.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Exactly {@code n} messages, failing if they do not all arrive within {@code timeout}. */
  public List<Message> take(int n, Duration timeout) throws InterruptedException {
    List<Message> out = new ArrayList<>(n);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (out.size() < n) {
      long left = deadline - System.nanoTime();
      Message m = left <= 0 ? null : messages.poll(left, TimeUnit.NANOSECONDS);
      if (m == null) {
        throw new AssertionError("got " + out.size() + " of " + n + " messages within " + timeout);
      }
      out.add(m);
    }
    return out;
  }

  /** Messages that arrived so far and were not taken yet. */
  public List<Message> drain() {
    List<Message> out = new ArrayList<>();
    messages.drainTo(out);
    return out;
  }

  public String nextComment(Duration timeout) throws InterruptedException {
    return comments.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  public List<String> retries() {
    synchronized (retries) {
      return List.copyOf(retries);
    }
  }

  /**
   * The id a browser's EventSource would resume with (as Last-Event-ID) after what was read so far: the last
   * {@code id:} field of a message ended by a blank line, with or without data; empty when none came.
   */
  public String lastEventId() {
    return lastEventId;
  }

  /**
   * Where the stream stands, for a failure message: open, ended, or ended by what the client's reading threw (a
   * reset stream, a closed connection).
   */
  public String state() {
    RuntimeException cause = endedBy;
    return !ended ? "open" : cause == null ? "ended" : "ended by " + cause;
  }

  /** Whether the server ended or cut the stream. */
  public boolean ended() {
    return ended;
  }

  @Override
  public void close() {
    response.body().close();
    reader.interrupt();
  }
}
