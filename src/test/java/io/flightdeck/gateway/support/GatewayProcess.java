package io.flightdeck.gateway.support;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The gateway as a separate JVM, started the way an operator starts it: {@code java -cp ... io.flightdeck.gateway.Main}
 * in the project directory (so {@code conf/gateway.yaml} is found), with the {@code FLIGHTDECK_*} variables given
 * and no others. stdout and stderr are captured; {@link #close()} always kills the process. One difference: the JVM
 * compiles with C1 only ({@code -XX:TieredStopAtLevel=1}), which changes how fast the gateway's code runs, not
 * what it does. The optimizing compiler took half of a short-lived gateway's CPU (7.6 to 8.7 s of 2-core CPU to
 * start and answer ready, 4.2 to 4.4 s without it), and the suite's many processes shared the cores with it.
 *
 * <p>The classpath is this JVM's minus the test output directory: an operator's classpath has no
 * {@code logback-test.xml}, and that file would hide the INFO lines ("gateway listening on port N").
 */
public final class GatewayProcess implements AutoCloseable {

  private static final Pattern LISTENING = Pattern.compile("gateway listening on port (\\d+)");
  private static final Pattern JVM_OPTIONS_NOTICE =
      Pattern.compile("(NOTE: )?Picked up (JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS):");

  private final Process process;
  private final Output stdout;
  private final Output stderr;

  private GatewayProcess(Process process) {
    this.process = process;
    this.stdout = new Output(process.getInputStream(), "gateway-stdout-" + process.pid());
    this.stderr = new Output(process.getErrorStream(), "gateway-stderr-" + process.pid());
  }

  /** Starts {@code Main} with a clean environment (no inherited {@code FLIGHTDECK_*}) plus {@code env}. */
  public static GatewayProcess start(Map<String, String> env) {
    return startIn(projectDir(), env);
  }

  /**
   * {@link #start} on the database at {@code dbUrl}, on a port of the system's choosing ({@link #awaitPort});
   * {@code env} adds variables, as name and value pairs.
   */
  public static GatewayProcess on(String dbUrl, String... env) {
    Map<String, String> all = new HashMap<>(Map.of("FLIGHTDECK_DB_URL", dbUrl, "FLIGHTDECK_HTTP_PORT", "0"));
    for (int i = 0; i < env.length; i += 2) {
      all.put(env[i], env[i + 1]);
    }
    return start(all);
  }

  /** A client of this gateway, once it listens (at most 60 s). */
  public HttpTestClient client() {
    return new HttpTestClient("http://127.0.0.1:" + awaitPort(Duration.ofSeconds(60)));
  }

  /** The same in another working directory: where {@code conf/gateway.yaml} is looked for. */
  public static GatewayProcess startIn(Path directory, Map<String, String> env) {
    List<String> command = List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        // only the quick compiler: a test's gateway lives seconds, and the optimizing one spent half its CPU
        "-XX:TieredStopAtLevel=1",
        "-cp", operatorClasspath(),
        "io.flightdeck.gateway.Main");
    ProcessBuilder builder = new ProcessBuilder(command).directory(directory.toFile());
    builder.environment().keySet().removeIf(name -> name.startsWith("FLIGHTDECK_"));
    builder.environment().putAll(env);
    try {
      return new GatewayProcess(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + command, e);
    }
  }

  /** The project base directory: where {@code conf/gateway.yaml} lives. */
  public static Path projectDir() {
    return Path.of(System.getProperty("basedir", System.getProperty("user.dir"))).toAbsolutePath();
  }

  private static String operatorClasspath() {
    return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
        .filter(entry -> !entry.isBlank())
        .filter(entry -> !Path.of(entry).getFileName().toString().equals("test-classes"))
        .collect(Collectors.joining(File.pathSeparator));
  }

  /** Waits for the "gateway listening on port N" line and answers N; fails early if the process exits first. */
  public int awaitPort(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Matcher m = LISTENING.matcher(stdout.text());
      if (m.find()) {
        return Integer.parseInt(m.group(1));
      }
      if (!process.isAlive()) {
        drainOutput();
        throw new AssertionError("the gateway exited with code " + process.exitValue()
            + " before it was listening\n" + describe());
      }
      stdout.awaitChange(50);
    }
    throw new AssertionError("the gateway was not listening within " + timeout + "\n" + describe());
  }

  /**
   * SIGTERM, what {@code kill PID} and container runtimes send. Through {@code kill}, not {@link Process#destroy}:
   * that also closes this side of the process's stdout and stderr, so whatever the gateway logs while it shuts
   * down (its shutdown lines, the access lines of the streams it ends) would be lost to the test.
   */
  public void sendSigterm() {
    signal("TERM");
  }

  /**
   * SIGKILL on Linux ({@code kill -9}), a crash as far as the gateway can tell: no shutdown hook runs, and its
   * connections to PostgreSQL die with it. Answers once the process is gone.
   */
  public void kill() {
    process.destroyForcibly();
    waitFor(Duration.ofSeconds(10));
  }

  /**
   * SIGSTOP: the process freezes as under {@code docker pause} or a debugger, its sockets left open (its kernel still
   * answers TCP keepalive probes). {@link #thaw()} lets it go on; {@link #close()} kills it frozen or not.
   */
  public void freeze() {
    signal("STOP");
  }

  /** SIGCONT: a frozen process goes on where it stopped. */
  public void thaw() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      int exit = new ProcessBuilder("kill", "-" + name, String.valueOf(process.pid())).start().waitFor();
      if (exit != 0) {
        throw new IllegalStateException("kill -" + name + " " + process.pid() + " exited " + exit);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Waits for the process to exit and answers its exit code; fails if it is still running after {@code timeout}. */
  public int waitFor(Duration timeout) {
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError("the gateway did not exit within " + timeout + "\n" + describe());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    drainOutput();
    return process.exitValue();
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  public long pid() {
    return process.pid();
  }

  /** Everything written to stdout so far (the log). */
  public String stdout() {
    return stdout.text();
  }

  /** Everything written to stderr so far. */
  public String stderr() {
    return stderr.text();
  }

  /**
   * The non-blank lines written to stderr so far, without the notice the java launcher prints when the machine
   * sets JAVA_TOOL_OPTIONS or JDK_JAVA_OPTIONS (that line is the JVM's, not the gateway's).
   */
  public List<String> stderrLines() {
    return stderr.text().lines()
        .filter(line -> !line.isBlank())
        .filter(line -> !JVM_OPTIONS_NOTICE.matcher(line).lookingAt())
        .toList();
  }

  /** Both streams, for assertion messages. */
  public String describe() {
    return "--- stdout ---\n" + stdout.text() + "--- stderr ---\n" + stderr.text();
  }

  /** After exit, the readers may still hold the last bytes: give them a moment to reach end of stream. */
  private void drainOutput() {
    stdout.awaitEnd(2000);
    stderr.awaitEnd(2000);
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
    }
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    drainOutput();
  }

  /** Copies one stream into a buffer on a daemon thread. */
  private static final class Output {

    private final StringBuilder text = new StringBuilder();
    private boolean ended;

    Output(InputStream in, String name) {
      Thread reader = new Thread(() -> copy(in), name);
      reader.setDaemon(true);
      reader.start();
    }

    private void copy(InputStream in) {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          synchronized (this) {
            text.append(line).append('\n');
            notifyAll();
          }
        }
      } catch (IOException e) {
        // the process is gone; keep what was read
      } finally {
        synchronized (this) {
          ended = true;
          notifyAll();
        }
      }
    }

    synchronized String text() {
      return text.toString();
    }

    synchronized void awaitChange(long millis) {
      int length = text.length();
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      try {
        while (text.length() == length) {
          long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
          if (left <= 0) {
            return;
          }
          wait(left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }

    synchronized void awaitEnd(long millis) {
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
      try {
        while (!ended) {
          long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
          if (left <= 0) {
            return;
          }
          wait(left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
