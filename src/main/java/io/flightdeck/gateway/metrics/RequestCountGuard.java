package io.flightdeck.gateway.metrics;

import io.vertx.core.VertxOptions;
import io.vertx.core.datagram.DatagramSocketOptions;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.core.net.NetClientOptions;
import io.vertx.core.net.NetServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.core.spi.VertxMetricsFactory;
import io.vertx.core.spi.metrics.ClientMetrics;
import io.vertx.core.spi.metrics.DatagramSocketMetrics;
import io.vertx.core.spi.metrics.EventBusMetrics;
import io.vertx.core.spi.metrics.HttpClientMetrics;
import io.vertx.core.spi.metrics.HttpServerMetrics;
import io.vertx.core.spi.metrics.PoolMetrics;
import io.vertx.core.spi.metrics.TCPMetrics;
import io.vertx.core.spi.metrics.VertxMetrics;
import io.vertx.core.spi.observability.HttpRequest;
import io.vertx.core.spi.observability.HttpResponse;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps {@code vertx_http_server_active_requests} (requests received and not yet answered) true to its meaning. Vert.x
 * 5.0.10 reports to the metrics a request whose client reset its connection before the answer twice as reset, and
 * vertx-micrometer-metrics takes one off the gauge each time: each such request left it one lower for good (below
 * zero). A request answered before the body it announced arrived (401 at the head, say), whose client then went
 * away, was reported neither ended nor reset, and stayed in the gauge for good (eclipse-vertx/vert.x#6328). Any
 * client could move the gauge without bound. This sits between Vert.x and the Micrometer metrics: a reset reaches them
 * once, and only for a request not yet over; a connection that closes ends the requests it still holds (one answered:
 * its request ended; else: reset).
 */
final class RequestCountGuard {

  private RequestCountGuard() {
  }

  /** {@code factory}'s metrics, the HTTP server's guarded. */
  static VertxMetricsFactory around(VertxMetricsFactory factory) {
    return new VertxMetricsFactory() {
      @Override
      public VertxMetrics metrics(VertxOptions options) {
        return new Guarded(factory.metrics(options));
      }

      @Override
      public MetricsOptions newOptions() {
        return factory.newOptions();
      }

      @Override
      public MetricsOptions newOptions(MetricsOptions options) {
        return factory.newOptions(options);
      }

      @Override
      public MetricsOptions newOptions(io.vertx.core.json.JsonObject json) {
        return factory.newOptions(json);
      }
    };
  }

  /** Every metric as the delegate makes it, but the HTTP server's. */
  private record Guarded(VertxMetrics delegate) implements VertxMetrics {

    @Override
    public HttpServerMetrics<?, ?, ?> createHttpServerMetrics(HttpServerOptions options, SocketAddress address) {
      HttpServerMetrics<?, ?, ?> metrics = delegate.createHttpServerMetrics(options, address);
      return metrics == null ? null : new ServerMetrics(metrics);
    }

    @Override
    public EventBusMetrics<?> createEventBusMetrics() {
      return delegate.createEventBusMetrics();
    }

    @Override
    public ClientMetrics<?, ?, ?> createClientMetrics(SocketAddress address, String type, String namespace) {
      return delegate.createClientMetrics(address, type, namespace);
    }

    @Override
    public HttpClientMetrics<?, ?, ?> createHttpClientMetrics(HttpClientOptions options) {
      return delegate.createHttpClientMetrics(options);
    }

    @Override
    public TCPMetrics<?> createNetServerMetrics(NetServerOptions options, SocketAddress address) {
      return delegate.createNetServerMetrics(options, address);
    }

    @Override
    public TCPMetrics<?> createNetClientMetrics(NetClientOptions options) {
      return delegate.createNetClientMetrics(options);
    }

    @Override
    public DatagramSocketMetrics createDatagramSocketMetrics(DatagramSocketOptions options) {
      return delegate.createDatagramSocketMetrics(options);
    }

    @Override
    public PoolMetrics<?, ?> createPoolMetrics(String type, String name, int maxSize) {
      return delegate.createPoolMetrics(type, name, maxSize);
    }

    @Override
    public void vertxCreated(io.vertx.core.Vertx vertx) {
      delegate.vertxCreated(vertx);
    }

    @Override
    public boolean isMetricsEnabled() {
      return delegate.isMetricsEnabled();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  /**
   * A connection: the delegate's metric and its requests not yet over. Vert.x reports them on the connection's event
   * loop; a concurrent set all the same, so an answer ended from another thread can never fail a metrics call.
   */
  private static final class Connection {
    final Object metric;
    final Set<Request> open = ConcurrentHashMap.newKeySet();

    Connection(Object metric) {
      this.metric = metric;
    }
  }

  /** A request: the delegate's metric and how far it got. */
  private static final class Request {
    final Object metric;
    final Connection connection;
    final HttpRequest request;
    boolean requestEnded;
    boolean responseEnded;
    boolean reset;

    Request(Object metric, Connection connection, HttpRequest request) {
      this.metric = metric;
      this.connection = connection;
      this.request = request;
    }

    boolean over() {
      return reset || requestEnded && responseEnded;
    }

    void forgetIfOver() {
      if (over() && connection != null) {
        connection.open.remove(this);
      }
    }
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static final class ServerMetrics implements HttpServerMetrics<Request, Object, Connection> {

    private final HttpServerMetrics<Object, Object, Object> delegate;

    ServerMetrics(HttpServerMetrics<?, ?, ?> delegate) {
      this.delegate = (HttpServerMetrics) delegate;
    }

    @Override
    public Connection connected(SocketAddress remoteAddress, String remoteName) {
      return new Connection(delegate.connected(remoteAddress, remoteName));
    }

    @Override
    public void disconnected(Connection connection, SocketAddress remoteAddress) {
      if (connection == null) {
        delegate.disconnected(null, remoteAddress);
        return;
      }
      for (Request r : connection.open) {
        if (r.over()) {
          continue;
        }
        if (r.responseEnded) {
          // answered before its body arrived, and the body never will: the request is over
          requestEnd(r, r.request, 0);
        } else {
          requestReset(r);
        }
      }
      connection.open.clear();
      delegate.disconnected(connection.metric, remoteAddress);
    }

    @Override
    public void bytesRead(Connection connection, SocketAddress remoteAddress, long numberOfBytes) {
      delegate.bytesRead(metric(connection), remoteAddress, numberOfBytes);
    }

    @Override
    public void bytesWritten(Connection connection, SocketAddress remoteAddress, long numberOfBytes) {
      delegate.bytesWritten(metric(connection), remoteAddress, numberOfBytes);
    }

    @Override
    public void exceptionOccurred(Connection connection, SocketAddress remoteAddress, Throwable t) {
      delegate.exceptionOccurred(metric(connection), remoteAddress, t);
    }

    @Override
    public Request requestBegin(Connection connection, HttpRequest request) {
      Request r = new Request(delegate.requestBegin(metric(connection), request), connection, request);
      if (connection != null) {
        connection.open.add(r);
      }
      return r;
    }

    @Override
    public void requestEnd(Request r, HttpRequest request, long bytesRead) {
      if (r.requestEnded) {
        return;
      }
      r.requestEnded = true;
      delegate.requestEnd(r.metric, request, bytesRead);
      r.forgetIfOver();
    }

    @Override
    public void requestReset(Request r) {
      if (r.over()) {
        return;
      }
      r.reset = true;
      delegate.requestReset(r.metric);
      r.forgetIfOver();
    }

    @Override
    public void responseBegin(Request r, HttpResponse response) {
      delegate.responseBegin(r.metric, response);
    }

    @Override
    public Request responsePushed(Connection connection, HttpMethod method, String uri, HttpResponse response) {
      return new Request(delegate.responsePushed(metric(connection), method, uri, response), null, null);
    }

    /**
     * No check for an earlier reset here: Vert.x 5.0.10 never reports an answer ended after its request's reset (an
     * HTTP/1.1 connection's write queue drops it once closed, and a failed request's end comes as a reset; an HTTP/2
     * stream reset or failed stops the write first), and were it to, the delegate takes nothing off the gauge for an
     * end once reset. The reverse order, a reset after the answer ended but before the body did (HTTP/2), is passed on
     * by {@link #requestReset}: it is what takes such a request off the gauge (RequestCountGuardIT).
     */
    @Override
    public void responseEnd(Request r, HttpResponse response, long bytesWritten) {
      if (r.responseEnded) {
        return;
      }
      r.responseEnded = true;
      delegate.responseEnd(r.metric, response, bytesWritten);
      r.forgetIfOver();
    }

    @Override
    public Object connected(Connection connection, Request r, ServerWebSocket serverWebSocket) {
      return delegate.connected(metric(connection), r.metric, serverWebSocket);
    }

    @Override
    public void disconnected(Object webSocketMetric) {
      delegate.disconnected(webSocketMetric);
    }

    @Override
    public void requestRouted(Request r, String route) {
      delegate.requestRouted(r.metric, route);
    }

    @Override
    public void close() {
      delegate.close();
    }

    private static Object metric(Connection connection) {
      return connection == null ? null : connection.metric;
    }
  }
}
