package io.flightdeck.gateway.support;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.microsoft.playwright.Browser;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.BrowserType;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Playwright;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Debian's headless Chromium driven by Playwright, for the browser tests. Never a browser downloaded by a test
 * tool (that fails here): {@code chromium} on PATH, or the binary {@code FLIGHTDECK_CHROMIUM} names.
 *
 * <p>Register it as a static field of the test class,
 * {@code @RegisterExtension static final Chromium CHROMIUM = new Chromium("The dashboard's browser test");}. It
 * launches one browser before the class's {@code @BeforeAll} methods (without Chromium the class fails there, before
 * any gateway starts: give it a lower {@code @Order} than the class's {@link ClassGateway}) and closes it after the
 * class. A test opens its contexts with {@link #newContext()}; those it leaves open are closed after it. Open the
 * test's pages with a {@link PageErrors}, which records what the browser reports as errors.
 */
public final class Chromium implements BeforeAllCallback, AfterEachCallback, AfterAllCallback {

  /** The flags PITFALLS.md lists for running Chromium headless as root in a container. */
  private static final List<String> FLAGS = List.of("--headless", "--no-sandbox", "--disable-gpu",
      "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run");

  private final String who;
  private Playwright playwright;
  private Browser browser;

  /** {@code who} names the test in the message when there is no Chromium. */
  public Chromium(String who) {
    this.who = who;
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    Path executable = executable(who);
    playwright = Playwright.create(
        new Playwright.CreateOptions().setEnv(Map.of("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")));
    browser = playwright.chromium().launch(new BrowserType.LaunchOptions()
        .setExecutablePath(executable)
        .setHeadless(true)
        .setArgs(FLAGS));
  }

  @Override
  public void afterEach(ExtensionContext context) {
    if (browser != null) {
      List.copyOf(browser.contexts()).forEach(BrowserContext::close);
    }
  }

  @Override
  public void afterAll(ExtensionContext context) {
    if (browser != null) {
      browser.close();
      browser = null;
    }
    if (playwright != null) {
      playwright.close();
      playwright = null;
    }
  }

  /** A new browser context (another visitor: empty storage), closed after the test if the test leaves it open. */
  public BrowserContext newContext() {
    return browser.newContext();
  }

  /** The Chromium binary, or a failing test that says how to install one ({@code who}: which test needs it). */
  private static Path executable(String who) {
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

  /**
   * What the pages of one test report as errors: the console's error messages and uncaught exceptions. Keep one
   * per test (an instance field) and open the test's pages with {@link #newPage(BrowserContext)}.
   */
  public static final class PageErrors {

    private final List<String> console = new CopyOnWriteArrayList<>();
    private final List<String> uncaught = new CopyOnWriteArrayList<>();

    /** A new page in {@code context} whose errors are recorded here. */
    public Page newPage(BrowserContext context) {
      Page page = context.newPage();
      page.onConsoleMessage(m -> {
        if ("error".equals(m.type())) {
          console.add(m.text());
        }
      });
      page.onPageError(uncaught::add);
      return page;
    }

    /** The console's error messages so far. */
    public List<String> console() {
      return console;
    }

    /** The uncaught exceptions so far. */
    public List<String> uncaught() {
      return uncaught;
    }

    /** Fails when a page logged a console error or threw an uncaught exception. */
    public void assertNone() {
      assertTrue(console.isEmpty(), () -> "console errors: " + console);
      assertTrue(uncaught.isEmpty(), () -> "uncaught errors: " + uncaught);
    }
  }
}
