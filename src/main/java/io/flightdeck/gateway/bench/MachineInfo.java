package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** The machine the figures belong to, read from /proc and the JVM once at start. Blocking: call from main. */
record MachineInfo(int cores, String cpuModel, String memory, long memoryMb, String kernel, String os, String java,
                   String loadAverage) {

  static MachineInfo collect() {
    Optional<Long> memKib = firstValue(Path.of("/proc/meminfo"), "MemTotal")
        .map(m -> Long.parseLong(m.replace("kB", "").trim()));
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        firstValue(Path.of("/proc/cpuinfo"), "model name").orElse(System.getProperty("os.arch")),
        memKib.map(k -> BenchText.num("%.1f GiB", k / 1024.0 / 1024.0)).orElse("n/a"),
        memKib.map(k -> k / 1024).orElse(0L),
        read(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version")),
        prettyName().orElse(System.getProperty("os.name")),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version"),
        read(Path.of("/proc/loadavg")).map(MachineInfo::firstThree).orElse("n/a"));
  }

  private static Optional<String> firstValue(Path file, String key) {
    return lines(file).stream()
        .filter(l -> l.startsWith(key))
        .map(l -> l.substring(l.indexOf(':') + 1).trim())
        .findFirst();
  }

  private static Optional<String> prettyName() {
    return lines(Path.of("/etc/os-release")).stream()
        .filter(l -> l.startsWith("PRETTY_NAME="))
        .map(l -> l.substring("PRETTY_NAME=".length()).replace("\"", ""))
        .findFirst();
  }

  private static String firstThree(String loadavg) {
    String[] f = loadavg.trim().split("\\s+");
    return f[0] + " " + f[1] + " " + f[2] + " (1, 5, 15 min)";
  }

  private static Optional<String> read(Path file) {
    try {
      return Optional.of(Files.readString(file).trim());
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException e) {
      return List.of();
    }
  }
}
