package io.flightdeck.gateway.support;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One scrape of {@code /metrics}, parsed by the official Prometheus client's text-format parser (Debian's
 * python3-prometheus-client, installed by {@code make test}), as Prometheus itself would read it.
 */
public final class Scrape {

  /** One sample: metric name (with _total, _bucket... suffixes), its labels, its value. */
  public record Sample(String name, Map<String, String> labels, double value) {
  }

  private final String text;
  private final List<Sample> samples;

  private Scrape(String text, List<Sample> samples) {
    this.text = text;
    this.samples = samples;
  }

  public static Scrape parse(String text) {
    Path python = Path.of("/usr/bin/python3");
    String script = Path.of(GatewayProcess.projectDir().toString(), "src/test/resources/parse_metrics.py").toString();
    try {
      Process p = new ProcessBuilder(python.toString(), script).redirectErrorStream(false).start();
      try (OutputStream in = p.getOutputStream()) {
        in.write(text.getBytes(StandardCharsets.UTF_8));
      }
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new AssertionError("the Prometheus parser refused the scrape (install python3-prometheus-client "
            + "with `make metrics-tools`): " + err);
      }
      List<Sample> samples = new ArrayList<>();
      for (String line : out.split("\n")) {
        if (!line.isBlank()) {
          JsonObject j = new JsonObject(line);
          Map<String, String> labels = new java.util.TreeMap<>();
          j.getJsonObject("labels").forEach(e -> labels.put(e.getKey(), String.valueOf(e.getValue())));
          samples.add(new Sample(j.getString("name"), labels, j.getDouble("value")));
        }
      }
      return new Scrape(text, samples);
    } catch (IOException e) {
      throw new AssertionError("cannot run " + python + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String text() {
    return text;
  }

  public List<Sample> samples() {
    return samples;
  }

  /** The value of the sample with this name and exactly these labels (others ignored), 0 when absent. */
  public double value(String name, String... labelPairs) {
    Double v = find(name, labelPairs);
    return v == null ? 0 : v;
  }

  public Double find(String name, String... labelPairs) {
    for (Sample s : samples) {
      if (s.name().equals(name) && matches(s.labels(), labelPairs)) {
        return s.value();
      }
    }
    return null;
  }

  public boolean has(String name) {
    return samples.stream().anyMatch(s -> s.name().equals(name));
  }

  private static boolean matches(Map<String, String> labels, String[] pairs) {
    for (int i = 0; i < pairs.length; i += 2) {
      if (!pairs[i + 1].equals(labels.get(pairs[i]))) {
        return false;
      }
    }
    return true;
  }

  /** promtool's lint of the exposition; null when promtool is not installed. */
  public static String promtoolCheck(String text) throws IOException, InterruptedException {
    if (Files.notExists(Path.of("/usr/bin/promtool"))) {
      return null;
    }
    Process p = new ProcessBuilder("/usr/bin/promtool", "check", "metrics").redirectErrorStream(true).start();
    try (OutputStream in = p.getOutputStream()) {
      in.write(text.getBytes(StandardCharsets.UTF_8));
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor(30, TimeUnit.SECONDS);
    return p.exitValue() == 0 ? "" : out;
  }
}
