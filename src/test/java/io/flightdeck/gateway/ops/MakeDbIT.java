package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make db} (README, Quick start). {@code docker}, {@code pg_lsclusters} and {@code pg_ctlcluster} are
 * replaced on PATH by scripts that only note that they were called, so nothing is started whatever this machine has
 * installed.
 */
@ExtendWith(PostgresExtension.class)
@DisplayName("make db")
class MakeDbIT {

  @Test
  @DisplayName("make db succeeds and starts nothing when PostgreSQL already answers at FLIGHTDECK_DB_URL")
  void nothingToStartWhenTheServerAnswers(TestDatabase db, @TempDir Path dir) throws Exception {
    Path calls = stubs(dir, true, "");
    Make make = make(dir, db.url());
    assertEquals(0, make.exit(), "make db failed:\n" + make.out());
    assertTrue(make.out().contains("already answers"), make.out());
    assertEquals("", Files.readString(calls), "make db tried to start a server that answers:\n" + make.out());
  }

  @Test
  @DisplayName("make db starts nothing, and says why, when FLIGHTDECK_DB_URL names another machine that does not "
      + "answer")
  void nothingToStartForAnotherMachine(@TempDir Path dir) throws Exception {
    Path calls = stubs(dir, true, "15 main 5432 down postgres /var/lib/postgresql/15/main log");
    Make make = make(dir, "postgresql://app:secret@db.flightdeck.invalid:5432/flightdeck");
    assertNotEquals(0, make.exit(), make.out());
    assertTrue(make.out().contains("db.flightdeck.invalid:5432"), make.out());
    assertEquals("", Files.readString(calls), "make db started a local server for another machine:\n" + make.out());
  }

  @Test
  @DisplayName("with Docker, make db starts nothing, and says why, when FLIGHTDECK_DB_URL names a local port other "
      + "than the compose PostgreSQL's 5432")
  void nothingToStartWithDockerOnAnotherPort(@TempDir Path dir) throws Exception {
    Path calls = stubs(dir, true, "15 main 5432 down postgres /var/lib/postgresql/15/main log");
    int port = TestGateway.freePort();
    Make make = make(dir, "postgresql://postgres@127.0.0.1:" + port + "/flightdeck");
    assertNotEquals(0, make.exit(), make.out());
    assertTrue(make.out().contains(":" + port), make.out());
    assertEquals("", Files.readString(calls), "make db started a server on another port:\n" + make.out());
  }

  @Test
  @DisplayName("without Docker, make db starts the local cluster that listens on FLIGHTDECK_DB_URL's port, and none "
      + "when no cluster does")
  void startsTheClusterOnTheUrlsPort(@TempDir Path dir) throws Exception {
    int port = TestGateway.freePort();
    Path calls = stubs(dir, false, """
        15 main 5432 down postgres /var/lib/postgresql/15/main log
        16 other %d down postgres /var/lib/postgresql/16/other log""".formatted(port));
    Make none = make(dir, "postgresql://postgres@127.0.0.1:" + TestGateway.freePort() + "/flightdeck");
    assertNotEquals(0, none.exit(), none.out());
    assertEquals("", Files.readString(calls), "make db started a cluster on another port:\n" + none.out());

    CompletableFuture<Make> running = CompletableFuture.supplyAsync(() -> make(dir,
        "postgresql://postgres@localhost:" + port + "/flightdeck"));
    // the cluster "starts" once make db asked for it: its port answers from then on
    Awaitility.await().atMost(Duration.ofSeconds(30))
        .until(() -> running.isDone() || Files.readString(calls).contains(" start"));
    try (ServerSocket started = new ServerSocket(port, 50, InetAddress.getLoopbackAddress())) {
      Make make = running.get(60, TimeUnit.SECONDS);
      assertEquals(0, make.exit(), make.out());
      assertEquals("pg_ctlcluster 16 other status\npg_ctlcluster --skip-systemctl-redirect 16 other start\n",
          Files.readString(calls), make.out());
    }
  }

  @Test
  @DisplayName("make db finds the server of a URL whose password holds an '@' and a quote, and starts nothing when "
      + "it answers")
  void passwordWithAtSignAndQuote(TestDatabase db, @TempDir Path dir) throws Exception {
    Path calls = stubs(dir, false, "15 main 5432 down postgres /var/lib/postgresql/15/main log");
    String url = db.url().replaceFirst("://([^@/]*)@", "://$1:p@ss'w\"rd@");
    assertNotEquals(db.url(), url, "the test URL has credentials to add a password to: " + db.url());
    Make make = make(dir, url);
    assertEquals(0, make.exit(), "make db failed:\n" + make.out());
    assertTrue(make.out().contains("already answers"), make.out());
    assertEquals("", Files.readString(calls), "make db tried to start a server that answers:\n" + make.out());
  }

  @Test
  @DisplayName("make db reads an IPv6 host in brackets: a server answering at [::1] and the URL's port starts "
      + "nothing")
  void ipv6Host(@TempDir Path dir) throws Exception {
    Path calls = stubs(dir, false, "15 main 5432 down postgres /var/lib/postgresql/15/main log");
    try (ServerSocket server = new ServerSocket()) {
      try {
        server.bind(new java.net.InetSocketAddress(InetAddress.getByName("::1"), 0));
      } catch (IOException e) {
        Assumptions.abort("no IPv6 loopback on this machine: " + e.getMessage());
      }
      Make make = make(dir, "postgresql://postgres@[::1]:" + server.getLocalPort() + "/flightdeck");
      assertEquals(0, make.exit(), "make db failed:\n" + make.out());
      assertTrue(make.out().contains("already answers at [::1]:" + server.getLocalPort()), make.out());
      assertEquals("", Files.readString(calls), "make db tried to start a server that answers:\n" + make.out());
    }
  }

  /** The output and exit code of one {@code make db}. */
  record Make(int exit, String out) {
  }

  /**
   * Stubs of docker (whose engine answers when {@code docker} is true; compose "starts" and succeeds),
   * pg_lsclusters (listing {@code clusters}) and pg_ctlcluster (status: down; start: succeeds), each noting its
   * calls in the file returned.
   */
  static Path stubs(Path dir, boolean docker, String clusters) throws Exception {
    Path calls = dir.resolve("calls");
    Files.writeString(calls, "");
    stub(dir, "docker", """
        [ "$1" = info ] && exit %d
        echo "docker $*" >> %s
        """.formatted(docker ? 0 : 1, calls));
    stub(dir, "pg_ctlcluster", """
        echo "pg_ctlcluster $*" >> %s
        [ "${@: -1}" = status ] && exit 3
        exit 0
        """.formatted(calls));
    stub(dir, "pg_lsclusters", "[ -n '%s' ] && echo '%s'\nexit 0\n".formatted(clusters, clusters));
    return calls;
  }

  static Make make(Path stubs, String url) {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/make")), "make is not installed");
    ProcessBuilder make = new ProcessBuilder("/usr/bin/make", "--no-print-directory", "db")
        .directory(DockerStackTest.ROOT.toFile()).redirectErrorStream(true);
    make.environment().put("FLIGHTDECK_DB_URL", url);
    make.environment().put("PATH", stubs + ":" + System.getenv("PATH"));
    try {
      Process p = make.start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        fail("make db did not finish in 60 s");
      }
      return new Make(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  static void stub(Path dir, String name, String body) throws Exception {
    Path script = dir.resolve(name);
    Files.writeString(script, "#!/bin/bash\n" + body);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
