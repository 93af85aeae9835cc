package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code make db} (README, Quick start) on a machine where PostgreSQL already runs. {@code docker} and
 * {@code pg_ctlcluster} are replaced on PATH by scripts that only note that they were called and fail as the real
 * ones do when the server is up already (a port taken, "Cluster is already running."), so nothing is started
 * whatever this machine has installed.
 */
@ExtendWith(PostgresExtension.class)
@DisplayName("make db")
class MakeDbIT {

  @Test
  @DisplayName("make db succeeds and starts nothing when PostgreSQL already answers at FLIGHTDECK_DB_URL")
  void nothingToStartWhenTheServerAnswers(TestDatabase db, @TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/make")), "make is not installed");
    Path calls = dir.resolve("calls");
    Files.createFile(calls);
    stub(dir, "docker", """
        [ "$1" = info ] && exit 0
        echo "docker $*" >> %s
        echo 'Bind for 127.0.0.1:5432 failed: port is already allocated' >&2; exit 1
        """.formatted(calls));
    stub(dir, "pg_ctlcluster", """
        echo "pg_ctlcluster $*" >> %s
        echo 'Cluster is already running.' >&2; exit 2
        """.formatted(calls));
    ProcessBuilder make = new ProcessBuilder("/usr/bin/make", "--no-print-directory", "db")
        .directory(DockerStackTest.ROOT.toFile()).redirectErrorStream(true);
    make.environment().put("FLIGHTDECK_DB_URL", db.url());
    make.environment().put("PATH", dir + ":" + System.getenv("PATH"));
    Process p = make.start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("make db did not finish in 60 s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), "make db failed:\n" + out);
    assertTrue(out.contains("already answers"), out);
    assertEquals("", Files.readString(calls), "make db tried to start a server that answers:\n" + out);
  }

  static void stub(Path dir, String name, String body) throws Exception {
    Path script = dir.resolve(name);
    Files.writeString(script, "#!/bin/bash\n" + body);
    Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
  }
}
