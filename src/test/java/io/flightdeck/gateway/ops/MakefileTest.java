package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The Makefile's rules, read from make's own database ({@code make -p}) without building anything. */
@DisplayName("Makefile")
class MakefileTest {

  static final String JAR = "target/flightdeck-gateway.jar";

  @Test
  @DisplayName("make build and make run rebuild the jar when a file it packages changed, conf/gateway.yaml included")
  void jarDependsOnEverythingItPackages() throws Exception {
    List<String> prerequisites = prerequisites(JAR);
    assertTrue(prerequisites.contains("pom.xml"), prerequisites.toString());
    // pom.xml bundles conf/gateway.yaml as the jar's defaults (the layer under any operator file): a jar built before
    // an edit there carried the old defaults, and make build called it up to date
    for (String directory : DockerfileTest.pomResourceDirectories()) {
      assertTrue(prerequisites.stream().anyMatch(file -> file.startsWith(directory + "/")), JAR + " depends on no "
          + "file of " + directory + "/, which pom.xml packages into it: " + prerequisites);
    }
  }

  /** The prerequisites make knows for {@code target}, from {@code make -pRrq :}, which runs no recipe. */
  static List<String> prerequisites(String target) throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/make")), "make is not installed");
    Process p = new ProcessBuilder("/usr/bin/make", "-pRrq", ":").directory(DockerStackTest.ROOT.toFile())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("make -p did not finish in 60 s");
    }
    List<String> rules = out.lines().filter(l -> l.startsWith(target + ":")).toList();
    assertEquals(1, rules.size(), "one rule for " + target + ": " + rules);
    return Arrays.asList(rules.get(0).substring(target.length() + 1).strip().split("\\s+"));
  }
}
