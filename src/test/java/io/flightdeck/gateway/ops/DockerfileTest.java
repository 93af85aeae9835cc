package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flightdeck.gateway.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

/**
 * docker/Dockerfile read against the build and the code, without a Docker engine: its build stage gets every
 * file Maven packages, and its runtime stage puts the jar and the config where the gateway looks for them.
 */
@DisplayName("docker/Dockerfile, checked against pom.xml and the gateway without a Docker engine")
class DockerfileTest {

  static final Path ROOT = DockerStackTest.ROOT;
  static final Path DOCKERFILE = ROOT.resolve("docker/Dockerfile");

  /** One COPY instruction: its sources (relative to the build context) and its destination. */
  record Copy(List<String> sources, String destination, boolean fromStage) {
  }

  @Test
  @DisplayName("the build stage copies every directory pom.xml reads resources from (conf/ holds the defaults)")
  void buildStageCopiesEveryResourceDirectory() throws Exception {
    List<String> copied = copies(stage(0)).stream().filter(c -> !c.fromStage())
        .flatMap(c -> c.sources().stream()).map(DockerfileTest::normalize).toList();
    List<String> directories = pomResourceDirectories();
    assertTrue(directories.contains("conf"), "pom.xml bundles conf/gateway.yaml as the defaults: " + directories);
    for (String directory : directories) {
      assertTrue(copied.stream().anyMatch(source -> source.equals(".") || directory.equals(source)
              || directory.startsWith(source + "/")),
          "docker/Dockerfile's build stage copies only " + copied + ", so `mvn package` there builds a jar without "
              + directory + "/ (pom.xml's resource directory)");
    }
  }

  @Test
  @DisplayName("the runtime stage runs the shaded jar the build names and puts conf/gateway.yaml in its workdir")
  void runtimeStageRunsTheJarWithTheShippedConfig() throws Exception {
    List<String> runtime = stage(1);
    String workdir = argument(runtime, "WORKDIR");
    List<Copy> copies = copies(runtime);
    String jar = "/src/target/" + shadedJarName() + ".jar";
    assertTrue(copies.stream().anyMatch(c -> c.fromStage() && c.sources().contains(jar)),
        "the runtime stage copies " + jar + " from the build stage: " + copies);
    String entrypoint = argument(runtime, "ENTRYPOINT");
    assertTrue(entrypoint.contains("\"-jar\"") && entrypoint.contains(workdir + "/" + shadedJarName() + ".jar\""),
        entrypoint);
    String config = workdir + "/" + ConfigLoader.DEFAULT_PATH;
    assertTrue(copies.stream().anyMatch(c -> !c.fromStage() && c.sources().equals(List.of("conf/gateway.yaml"))
        && c.destination().equals(config)), "conf/gateway.yaml copied to " + config + ": " + copies);
    String healthcheck = argument(runtime, "HEALTHCHECK");
    assertTrue(healthcheck.contains("http://127.0.0.1:" + argument(runtime, "EXPOSE") + "/health/ready"),
        healthcheck);
  }

  static String normalize(String source) {
    String s = source.startsWith("./") ? source.substring(2) : source;
    return s.endsWith("/") && s.length() > 1 ? s.substring(0, s.length() - 1) : s;
  }

  /** The instructions of one stage (0 = the first FROM), continuation lines joined, comments left out. */
  static List<String> stage(int index) throws Exception {
    List<List<String>> stages = new ArrayList<>();
    StringBuilder pending = new StringBuilder();
    for (String line : Files.readAllLines(DOCKERFILE)) {
      String trimmed = line.strip();
      if (trimmed.startsWith("#") || trimmed.isEmpty() && pending.isEmpty()) {
        continue;
      }
      if (trimmed.endsWith("\\")) {
        pending.append(trimmed, 0, trimmed.length() - 1).append(' ');
        continue;
      }
      String instruction = pending.append(trimmed).toString();
      pending.setLength(0);
      if (instruction.regionMatches(true, 0, "FROM ", 0, 5)) {
        stages.add(new ArrayList<>());
      } else if (!stages.isEmpty()) {
        stages.get(stages.size() - 1).add(instruction);
      }
    }
    assertTrue(stages.size() > index, "docker/Dockerfile has " + stages.size() + " stages");
    return stages.get(index);
  }

  static String argument(List<String> stage, String keyword) {
    return stage.stream().filter(i -> i.regionMatches(true, 0, keyword + " ", 0, keyword.length() + 1))
        .map(i -> i.substring(keyword.length() + 1).strip()).reduce((first, last) -> last)
        .orElseThrow(() -> new AssertionError("no " + keyword + " in " + stage));
  }

  static List<Copy> copies(List<String> stage) {
    List<Copy> copies = new ArrayList<>();
    for (String instruction : stage) {
      if (!instruction.regionMatches(true, 0, "COPY ", 0, 5)) {
        continue;
      }
      List<String> words = new ArrayList<>(Arrays.asList(instruction.substring(5).strip().split("\\s+")));
      boolean fromStage = words.removeIf(w -> w.startsWith("--from="));
      words.removeIf(w -> w.startsWith("--"));
      assertFalse(words.size() < 2, instruction);
      copies.add(new Copy(List.copyOf(words.subList(0, words.size() - 1)), words.get(words.size() - 1), fromStage));
    }
    return copies;
  }

  static List<String> pomResourceDirectories() throws Exception {
    Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
    NodeList resources = pom.getElementsByTagName("resource");
    List<String> directories = new ArrayList<>();
    for (int i = 0; i < resources.getLength(); i++) {
      NodeList directory = ((Element) resources.item(i)).getElementsByTagName("directory");
      directories.add(directory.getLength() == 0 ? "src/main/resources"
          : normalize(directory.item(0).getTextContent().strip()));
    }
    assertFalse(directories.isEmpty(), "pom.xml names its resource directories");
    return directories;
  }

  static String shadedJarName() throws Exception {
    Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("pom.xml").toFile());
    NodeList names = pom.getElementsByTagName("finalName");
    assertEquals(1, names.getLength(), "one finalName in pom.xml (the shaded jar's)");
    return names.item(0).getTextContent().strip();
  }
}
