package io.flightdeck.gateway.support;

import static org.junit.jupiter.api.Assertions.fail;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Playwright;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Debian's headless Chromium driven by Playwright, for the browser tests. Never a browser downloaded by a test
 * tool (that fails here): {@code chromium} on PATH, or the binary {@code FLIGHTDECK_CHROMIUM} names.
 */
public final class Chromium {

  /** The flags PITFALLS.md lists for running Chromium headless as root in a container. */
  private static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run");

  private Chromium() {
  }

  /** Playwright for the test class; close it in {@code @AfterAll}. */
  public static Playwright playwright() {
    return Playwright.create(new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
  }

  /** Launches headless Chromium; {@code who} names the test in the message when there is no Chromium. */
  public static Browser launch(Playwright playwright, Path executable) {
    return playwright.chromium().launch(new BrowserType.LaunchOptions()
        .setExecutablePath(executable)
        .setHeadless(true)
        .setArgs(FLAGS));
  }

  /** The Chromium binary, or a failing test that says how to install one ({@code who}: which test needs it). */
  public static Path executable(String who) {
    String configured = System.getenv("FLIGHTDECK_CHROMIUM");
    if (configured != null && !configured.isBlank()) {
      Path path = Path.of(configured);
      return Files.isExecutable(path) ? path
          : fail("FLIGHTDECK_CHROMIUM=" + configured + " is not an executable file; unset it to use `chromium` on PATH "
              + "(Debian: `apt-get install -y chromium`).");
    }
    for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
      for (String name : List.of("chromium", "chromium-browser")) {
        Path candidate = Path.of(dir, name);
        if (Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    return fail(who + " needs Chromium and found no `chromium` on PATH. Install Debian's: "
        + "`apt-get update && apt-get install -y chromium` (`make test` and .ci/run install it), or set "
        + "FLIGHTDECK_CHROMIUM to a Chromium binary. The test never downloads a browser of its own.");
  }
}
