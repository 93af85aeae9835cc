package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.flightdeck.gateway.bench.BenchServer;
import io.flightdeck.gateway.config.ConfigException;
import io.flightdeck.gateway.config.ConfigLoader;
import io.flightdeck.gateway.config.DbConfig;
import io.flightdeck.gateway.support.GatewayProcess;
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
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * db.url's sslmode, sslrootcert, sslcert and sslkey against a real PostgreSQL with TLS on: a cluster of its own (the
 * shared test server has ssl off), initdb'd in a temporary directory, with a throwaway CA, a server certificate that
 * names DNS:localhost only, and a role ({@link #CERT_ROLE}) that may log in with a client certificate of that CA only
 * (pg_hba.conf {@code cert}).
 */
class DbTlsIT {

  /** The role that must authenticate with a client certificate whose CN is its name. */
  private static final String CERT_ROLE = "fd_cert";

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
    clientCertificates();
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
    // first match wins: the certificate role over TLS with a certificate only; everyone else as before (trust)
    Path hba = base.resolve("data").resolve("pg_hba.conf");
    Files.writeString(hba, "hostssl all " + CERT_ROLE + " 127.0.0.1/32 cert\n"
        + "host all " + CERT_ROLE + " 127.0.0.1/32 reject\n" + Files.readString(hba));
    run("pg_ctl", "-D", base.resolve("data").toString(), "-l", base.resolve("server.log").toString(), "-w", "-t",
        "60", "-o", String.join(" ", "-p " + port, "-c listen_addresses=127.0.0.1",
            "-c unix_socket_directories=" + base, "-c ssl=on", "-c ssl_cert_file=" + base.resolve("server.crt"),
            "-c ssl_key_file=" + base.resolve("server.key"), "-c ssl_ca_file=" + base.resolve("ca.pem")), "start");
    try (Connection c = admin().connect(); Statement st = c.createStatement()) {
      st.execute("CREATE ROLE " + CERT_ROLE + " LOGIN CREATEDB");
    }
  }

  /**
   * Client certificates for {@link #CERT_ROLE} signed by the CA: one RSA key as PKCS#8 and as PKCS#1, an EC key as
   * SEC1; and what must be refused: the RSA key encrypted both ways, a certificate of another CA, and one expired
   * (valid until a day before it was issued).
   */
  private static void clientCertificates() throws IOException, InterruptedException {
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "client-pkcs8.key");
    openssl("rsa", "-in", "client-pkcs8.key", "-traditional", "-out", "client-pkcs1.key");
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "client-ec.key");
    openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-passout", "pass:secret", "-in", "client-pkcs8.key",
        "-out", "client-encrypted.key");
    openssl("rsa", "-in", "client-pkcs8.key", "-traditional", "-aes256", "-passout", "pass:secret",
        "-out", "client-encrypted-pkcs1.key");
    for (String[] signed : List.of(new String[] {"client-pkcs8.key", "client.crt", "ca", "2"},
        new String[] {"client-ec.key", "client-ec.crt", "ca", "2"},
        new String[] {"client-pkcs8.key", "client-other.crt", "other-ca", "2"},
        new String[] {"client-pkcs8.key", "client-expired.crt", "ca", "-1"})) {
      openssl("req", "-new", "-key", signed[0], "-subj", "/CN=" + CERT_ROLE, "-out", "client.csr");
      openssl("x509", "-req", "-in", "client.csr", "-CA", signed[2] + ".pem", "-CAkey", signed[2] + ".key",
          "-CAcreateserial", "-out", signed[1], "-days", signed[3]);
    }
  }

  /** The cluster's superuser over a plain connection, for setting up and looking at it. */
  private static TestDatabase admin() {
    return new TestDatabase(url(host(), "postgres", "sslmode=disable"));
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

  private static String certUrl(String database, String query) {
    return "postgresql://" + CERT_ROLE + "@localhost:" + port + "/" + database + "?sslmode=verify-full&sslrootcert="
        + file("ca.pem") + query;
  }

  private static String file(String name) {
    return base.resolve(name).toString();
  }

  /** A gateway on {@code url}; start-up gives up on the server after the default db.startupTimeoutSeconds (30). */
  private static TestGateway start(String url) {
    return TestGateway.start(admin(), Map.of("FLIGHTDECK_DB_URL", url));
  }

  /**
   * The failure of a gateway on {@code url} that must not start: what ended its start (the cause of TestGateway's
   * IllegalStateException and of the future's ExecutionException). The start-up timeout is the default 30 s: a
   * refusal retried as an unreachable server would end with "cannot reach", not with the refusal.
   */
  private static Throwable startFails(String url) {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> start(url).close());
    Throwable cause = e;
    while (cause.getCause() != null && (cause instanceof IllegalStateException
        || cause instanceof ExecutionException)) {
      cause = cause.getCause();
    }
    return cause;
  }

  /** The configuration error of {@code url}, from loading the configuration as Main does (no server involved). */
  private static ConfigException refusedAtLoad(String url) throws Exception {
    Vertx vertx = Vertx.vertx();
    try {
      ExecutionException e = assertThrows(ExecutionException.class, () -> ConfigLoader.load(vertx,
          Map.of("FLIGHTDECK_DB_URL", url)).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS), url);
      assertTrue(e.getCause() instanceof ConfigException, url + ": " + e.getCause());
      ConfigException c = (ConfigException) e.getCause();
      assertEquals("db.url", c.key(), c.getMessage());
      return c;
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
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
      try (Connection c = admin().connect();
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
  @DisplayName("verify-full or verify-ca with a CA that did not sign the server's certificate: start-up stops at once "
      + "with a configuration error naming db.url that says the server's certificate was refused and why")
  void otherCaIsRefused() {
    String ca = base.resolve("other-ca.pem").toString();
    for (String url : List.of(url("localhost", "tls_other", "sslmode=verify-full&sslrootcert=" + ca),
        url("127.0.0.1", "tls_other", "sslmode=verify-ca&sslrootcert=" + ca))) {
      Throwable e = startFails(url);
      // before, retried as an unreachable server until db.startupTimeoutSeconds: "cannot reach PostgreSQL ..."
      assertTrue(e instanceof ConfigException, url + ": " + e);
      assertEquals("db.url", ((ConfigException) e).key());
      assertTrue(e.getMessage().contains("certificate was refused"), e.getMessage());
      assertTrue(e.getMessage().contains("certification path"), e.getMessage());
    }
  }

  @Test
  @DisplayName("verify-full to an address the certificate does not name (127.0.0.1, its SAN is DNS:localhost only) "
      + "stops start-up at once with a configuration error naming db.url and the address")
  void hostNotInCertificateIsRefused() {
    String ca = base.resolve("ca.pem").toString();
    Throwable e = startFails(url("127.0.0.1", "tls_name", "sslmode=verify-full&sslrootcert=" + ca));
    assertTrue(e instanceof ConfigException, String.valueOf(e));
    assertEquals("db.url", ((ConfigException) e).key());
    assertTrue(e.getMessage().contains("certificate was refused") && e.getMessage().contains("127.0.0.1"),
        e.getMessage());
  }

  @Test
  @DisplayName("the program itself exits with code 2 and one line naming db.url when the server's certificate is "
      + "refused, instead of retrying for db.startupTimeoutSeconds and exiting 1")
  void refusedCertificateExitsTwo() {
    String url = url("localhost", "tls_other", "sslmode=verify-full&sslrootcert=" + file("other-ca.pem"));
    try (GatewayProcess gateway = GatewayProcess.on(url)) {
      assertEquals(2, gateway.waitFor(Duration.ofSeconds(25)), gateway.describe());
      List<String> lines = gateway.stderrLines();
      assertEquals(1, lines.size(), gateway.describe());
      assertTrue(lines.get(0).startsWith("flightdeck: configuration error: db.url: ")
          && lines.get(0).contains("certificate was refused"), lines.get(0));
    }
  }

  @Test
  @DisplayName("sslcert and sslkey authenticate the role by client certificate (pg_hba.conf cert) with a PKCS#8, a "
      + "PKCS#1 RSA and a SEC1 EC key: the gateway starts, stores and reads an event, every connection by certificate")
  void clientCertificateAuthenticates() throws Exception {
    String[][] pairs = {{"client.crt", "client-pkcs8.key"}, {"client.crt", "client-pkcs1.key"},
        {"client-ec.crt", "client-ec.key"}};
    for (String[] pair : pairs) {
      String url = certUrl("tls_cert", "&sslcert=" + file(pair[0]) + "&sslkey=" + file(pair[1]));
      String stream = "cert-" + pair[1].replace('.', '-');
      try (TestGateway gateway = start(url)) {
        assertEquals(200, gateway.http().postEvents(HttpTestClient.click(stream, "b")).status(), pair[1]);
        HttpTestClient.Response read = gateway.http().getWithReadToken("/v1/streams/" + stream + "/events");
        assertEquals(200, read.status(), read.body());
        assertTrue(read.body().contains(stream), read.body());
        Map<String, String> dns = clientNames("tls_cert");
        assertTrue(dns.keySet().containsAll(List.of("flightdeck-append", "flightdeck-read", "flightdeck-listen")),
            dns.toString());
        dns.forEach((name, dn) -> assertEquals("/CN=" + CERT_ROLE, dn, name + " of " + dns));
      }
    }
  }

  /** Application name to the client certificate's DN (null without one) of each connection to {@code database}. */
  private static Map<String, String> clientNames(String database) throws Exception {
    Map<String, String> dns = new HashMap<>();
    try (Connection c = admin().connect(); Statement st = c.createStatement();
         ResultSet rs = st.executeQuery("SELECT a.application_name, s.client_dn FROM pg_stat_activity a "
             + "JOIN pg_stat_ssl s USING (pid) WHERE a.datname = '" + database + "'")) {
      while (rs.next()) {
        dns.put(rs.getString(1), rs.getString(2));
      }
    }
    return dns;
  }

  @Test
  @DisplayName("the certificate role without a client certificate, with one of another CA (not sent: the server names "
      + "its CA), or with an expired one (the server's TLS alert) is refused as a wrong password is: at once, not "
      + "retried as an unreachable server")
  void roleNeedsItsClientCertificate() {
    String key = "&sslkey=" + file("client-pkcs8.key");
    for (String query : List.of("", "&sslcert=" + file("client-other.crt") + key,
        "&sslcert=" + file("client-expired.crt") + key)) {
      Throwable e = startFails(certUrl("tls_cert_refused", query));
      assertTrue(e instanceof SQLException, query + ": " + e);
      assertTrue(((SQLException) e).getSQLState().startsWith("28"), query + ": " + e);
      assertTrue(e.getMessage().contains("refused") && e.getMessage().contains("client certificate"),
          e.getMessage());
      assertEquals(query.contains("other"), e.getMessage().contains("was not sent"), e.getMessage());
    }
  }

  @Test
  @DisplayName("sslcert without sslkey or the other way round, an encrypted key, a missing file, a certificate file "
      + "without a certificate, a key file without a key, a key of another certificate, and sslcert with a mode that "
      + "may skip TLS are refused when the configuration is read, naming db.url")
  void badClientCertificatesAreRefusedAtLoad() throws Exception {
    String cert = "&sslcert=" + file("client.crt");
    String key = "&sslkey=" + file("client-pkcs8.key");
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put(certUrl("d", cert), "without sslkey");
    cases.put(certUrl("d", key), "without sslcert");
    cases.put(certUrl("d", cert + "&sslkey=" + file("client-encrypted.key")), "encrypted");
    cases.put(certUrl("d", cert + "&sslkey=" + file("client-encrypted-pkcs1.key")), "encrypted");
    cases.put(certUrl("d", "&sslcert=" + file("missing.crt") + key), "is not a readable file");
    cases.put(certUrl("d", cert + "&sslkey=" + file("missing.key")), "is not a readable file");
    cases.put(certUrl("d", "&sslcert=" + file("client-pkcs8.key") + key), "no certificate");
    cases.put(certUrl("d", cert + "&sslkey=" + file("client.crt")), "no private key");
    cases.put(certUrl("d", cert + "&sslkey=" + file("client-ec.key")), "does not match");
    cases.put(certUrl("d", cert + "&sslkey=" + file("ca.key")), "does not match");
    for (String mode : List.of("disable", "allow", "prefer")) {
      cases.put(url("localhost", "d", "sslmode=" + mode + cert + key), "sslmode=" + mode);
    }
    cases.put("postgresql://" + CERT_ROLE + "@localhost:" + port + "/d?" + cert.substring(1) + key, "sslmode");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      ConfigException e = refusedAtLoad(c.getKey());
      assertTrue(e.getMessage().contains(c.getValue()), c.getKey() + ": " + e.getMessage());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
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
