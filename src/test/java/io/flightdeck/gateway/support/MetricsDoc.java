package io.flightdeck.gateway.support;

import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Names documented in docs/METRICS.md: exact names with their type, and families such as {@code jvm_*}. */
public record MetricsDoc(Map<String, String> exact, List<String> familyPrefixes) {

  /** The project's docs/METRICS.md. */
  public static MetricsDoc load() throws IOException {
    return parse(Files.readString(GatewayProcess.projectDir().resolve("docs/METRICS.md")));
  }

  public static MetricsDoc parse(String markdown) {
    Map<String, String> exact = new LinkedHashMap<>();
    List<String> families = new ArrayList<>();
    Pattern code = Pattern.compile("`([a-zA-Z_:][a-zA-Z0-9_:]*\\*?)`");
    for (String line : markdown.split("\n")) {
      if (!line.startsWith("|")) {
        continue;
      }
      String[] cells = line.substring(1).split("(?<!\\\\)\\|"); // `\|` inside a cell is not a separator
      if (cells.length < 2 || cells[0].isBlank() || cells[0].trim().equals("name") || cells[0].contains("---")) {
        continue;
      }
      Matcher m = code.matcher(cells[0]);
      while (m.find()) {
        String name = m.group(1);
        if (name.endsWith("*")) {
          families.add(name.substring(0, name.length() - 1));
        } else {
          exact.put(name, cells[1].trim());
        }
      }
    }
    return new MetricsDoc(exact, families);
  }

  /** Why {@code name} is not a series the document promises, or empty when it is. */
  public Optional<String> problem(String name) {
    if (exact.containsKey(name) || familyPrefixes.stream().anyMatch(name::startsWith)) {
      return Optional.empty();
    }
    // timers and histograms export _bucket, _count, _sum and _max; summaries (no buckets) _count, _sum and _max
    for (String suffix : List.of("_bucket", "_count", "_sum", "_max")) {
      if (name.endsWith(suffix)) {
        String base = name.substring(0, name.length() - suffix.length());
        String type = exact.get(base);
        if ("timer".equals(type) || "histogram".equals(type) || "summary".equals(type) && !suffix.equals("_bucket")) {
          return Optional.empty();
        }
        if (type != null) {
          return Optional.of(name + ": " + base + " is a " + type + ", which has no " + suffix + " series");
        }
      }
    }
    String hint = exact.containsKey(name + "_total") ? " (counters end in _total: " + name + "_total)" : "";
    return Optional.of(name + " is not in docs/METRICS.md" + hint);
  }
}
