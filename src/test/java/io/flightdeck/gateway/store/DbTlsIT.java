package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flightdeck.gateway.bench.BenchServer;
import io.flightdeck.gateway.config.DbConfig;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.Vertx;
import io.vertx.pgclient.PgConnectOptions;
import io.vertx.pgclient.PgConnection;
import io.vertx.sqlclient.SqlConnection;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * db.url's sslmode and sslrootcert against a real PostgreSQL with TLS on: a cluster of its own (the shared test
 * server has ssl off), initdb'd in a temporary directory, with a throwaway CA and a server certificate that names
 * DNS:localhost only.
 */
class DbTlsIT {

  private static Path base;
  private static Path bin;
  private static boolean asPostgres;
  private static int port;

  @BeforeAll
  static void startServer() throws Exception {
    Optional<Path> found = BenchServer.binaries();
    assumeTrue(found.isPresent(), "no PostgreSQL server programs (initdb, pg_ctl) on this machine");
    assumeTrue(onPath("openssl"), "no openssl on this machine");
    bin = found.get();
    asPostgres = "root".equals(System.getProperty("user.name"));
    base = Files.createTempDirectory("flightdeck-tls-pg-");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
        "-subj", "/CN=flightdeck test CA");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other-ca.key", "-out", "other-ca.pem",
        "-days", "2", "-subj", "/CN=flightdeck other CA");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost");
    Files.writeString(base.resolve("san.cnf"), "subjectAltName=DNS:localhost\n");
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.crt", "-days", "2", "-extfile", "san.cnf");
    Files.setPosixFilePermissions(base.resolve("server.key"), PosixFilePermissions.fromString("rw-------"));
    if (asPostgres) {
      UserPrincipal postgres = base.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
      try (Stream<Path> all = Files.walk(base)) {
        for (Path p : all.toList()) {
          Files.setOwner(p, postgres);
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    run("initdb", "-D", base.resolve("data").toString(), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
        "--locale=C.UTF-8");
    run("pg_ctl", "-D", base.resolve("data").toString(), "-l", base.resolve("server.log").toString(), "-w", "-t",
        "60", "-o", String.join(" ", "-p " + port, "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=" + base, "-c ssl=on", "-c ssl_cert_file=" + base.resolve("server.crt"),
            "-c ssl_key_file=" + base.resolve("server.key")), "start");
  }

  @AfterAll
  static void stopServer() throws Exception {
    if (base == null) {
      return;
    }
    try {
      if (Files.exists(base.resolve("data").resolve("postmaster.pid"))) {
        run("pg_ctl", "-D", base.resolve("data").toString(), "-m", "fast", "-w", "stop");
      }
    } finally {
      try (Stream<Path> all = Files.walk(base)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String url(String host, String database, String query) {
    return "postgresql://postgres@" + host + ":" + port + "/" + database + "?" + query;
  }

  private static TestGateway start(String url) {
    Map<String, String> env = new HashMap<>();
    env.put("FLIGHTDECK_DB_URL", url);
    // a refused certificate is no reason to wait long; TLS failures are retried until then, like a server not up yet
    env.put("FLIGHTDECK_DB_STARTUP_TIMEOUT_SECONDS", "2");
    return TestGateway.start(new TestDatabase(url(host(), "postgres", "sslmode=disable")), env);
  }

  private static String host() {
    return "127.0.0.1";
  }

  @Test
  @DisplayName("sslmode=verify-full with the CA as sslrootcert: the gateway starts, stores and reads an event, and "
      + "every connection of its database is TLS")
  void verifyFullConnectsOverTls() throws Exception {
    String ca = base.resolve("ca.pem").toString();
    try (TestGateway gateway = start(url("localhost", "tls_full", "sslmode=verify-full&sslrootcert=" + ca))) {
      assertEquals(200, gateway.http().postEvents(HttpTestClient.click("tls-1", "b")).status());
      HttpTestClient.Response read = gateway.http().getWithReadToken("/v1/streams/tls-1/events");
      assertEquals(200, read.status(), read.body());
      assertTrue(read.body().contains("tls-1"), read.body());
      List<String> plain = new ArrayList<>();
      List<String> names = new ArrayList<>();
      try (Connection c = new TestDatabase(url(host(), "postgres", "sslmode=disable")).connect();
           Statement st = c.createStatement();
           ResultSet rs = st.executeQuery("SELECT a.application_name, s.ssl FROM pg_stat_activity a "
               + "JOIN pg_stat_ssl s USING (pid) WHERE a.datname = 'tls_full'")) {
        while (rs.next()) {
          names.add(rs.getString(1));
          if (!rs.getBoolean(2)) {
            plain.add(rs.getString(1));
          }
        }
      }
      assertTrue(names.containsAll(List.of("flightdeck-append", "flightdeck-read", "flightdeck-listen")),
          names.toString());
      assertEquals(List.of(), plain, "connections without TLS among " + names);
    }
  }

  @Test
  @DisplayName("verify-full with a CA that did not sign the server's certificate: start-up fails on the certificate")
  void otherCaIsRefused() {
    String ca = base.resolve("other-ca.pem").toString();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> start(url("localhost", "tls_other", "sslmode=verify-full&sslrootcert=" + ca)).close());
    assertTrue(e.getMessage().contains("certification path"), e.getMessage());
  }

  @Test
  @DisplayName("verify-full to an address the certificate does not name (127.0.0.1, its SAN is DNS:localhost only) "
      + "fails start-up")
  void hostNotInCertificateIsRefused() {
    String ca = base.resolve("ca.pem").toString();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> start(url("127.0.0.1", "tls_name", "sslmode=verify-full&sslrootcert=" + ca)).close());
    assertTrue(e.getMessage().contains("hostname 127.0.0.1 could not be verified"), e.getMessage());
  }

  @Test
  @DisplayName("verify-ca to 127.0.0.1 checks the chain only, and require with sslrootcert does the same (libpq): "
      + "both start")
  void verifyCaSkipsTheName() throws Exception {
    String ca = base.resolve("ca.pem").toString();
    for (String mode : List.of("verify-ca", "require")) {
      try (TestGateway gateway = start(url("127.0.0.1", "tls_ca", "sslmode=" + mode + "&sslrootcert=" + ca))) {
        assertEquals(200, gateway.http().postEvents(HttpTestClient.click("tls-ca", "b")).status());
      }
    }
    String other = base.resolve("other-ca.pem").toString();
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> start(url("127.0.0.1", "tls_ca", "sslmode=require&sslrootcert=" + other)).close());
    assertFalse(e.getMessage().isEmpty());
  }

  @Test
  @DisplayName("the pg client's own connections (pools, LISTEN, projections) verify as the start-up ones do: the "
      + "options of db.url connect over TLS, and refuse another CA or a name not in the certificate")
  void pgClientVerifiesToo() throws Exception {
    String ca = base.resolve("ca.pem").toString();
    String other = base.resolve("other-ca.pem").toString();
    Vertx vertx = Vertx.vertx();
    try {
      SqlConnection c = connect(vertx, url("localhost", "postgres", "sslmode=verify-full&sslrootcert=" + ca));
      assertEquals(true, c.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").execute()
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS).iterator().next().getBoolean(0));
      c.close();
      connect(vertx, url("127.0.0.1", "postgres", "sslmode=verify-ca&sslrootcert=" + ca)).close();
      for (String url : List.of(url("localhost", "postgres", "sslmode=verify-full&sslrootcert=" + other),
          url("127.0.0.1", "postgres", "sslmode=verify-full&sslrootcert=" + ca),
          url("127.0.0.1", "postgres", "sslmode=require&sslrootcert=" + other))) {
        ExecutionException e = assertThrows(ExecutionException.class, () -> connect(vertx, url));
        assertTrue(String.valueOf(e.getCause()).contains("SSL") || String.valueOf(e.getCause()).contains("certif"),
            url + ": " + e.getCause());
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static SqlConnection connect(Vertx vertx, String url) throws Exception {
    PgConnectOptions options = new DbConfig(url, false, 1, 1, 5000, 1).connectOptions();
    return PgConnection.connect(vertx, options).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static void openssl(String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>(List.of("openssl"));
    command.addAll(List.of(args));
    exec(command, base);
  }

  private static void run(String program, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    if (asPostgres) {
      command.addAll(List.of("runuser", "-u", "postgres", "--"));
    }
    command.add(bin.resolve(program).toString());
    command.addAll(List.of(args));
    exec(command, base);
  }

  private static void exec(List<String> command, Path dir) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes());
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException(command.get(0) + " did not finish in 60 s");
    }
    if (p.exitValue() != 0) {
      throw new IOException(command + " exited with " + p.exitValue() + ": " + output.strip());
    }
  }

  private static boolean onPath(String program) {
    return Stream.of(System.getenv().getOrDefault("PATH", "").split(":"))
        .anyMatch(d -> !d.isEmpty() && Files.isExecutable(Path.of(d, program)));
  }
}
