package io.flightdeck.gateway.dashboard;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.microsoft.playwright.APIResponse;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Route;
import com.microsoft.playwright.assertions.LocatorAssertions;
import com.microsoft.playwright.assertions.PlaywrightAssertions;
import io.flightdeck.gateway.support.Chromium;
import io.flightdeck.gateway.support.Chromium.PageErrors;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestDatabase;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The live dashboard ({@code GET /}) in headless Chromium: Debian's {@code chromium}, driven by Playwright for
 * Java, which never downloads a browser of its own here. Events are posted over HTTP as a site would post them;
 * the assertions are on what a person looking at the page sees, and wait with Playwright's retrying assertions.
 */
@ExtendWith(PostgresExtension.class)
class DashboardBrowserIT {

  static final double WAIT_MS = 20_000;
  // a restarted gateway takes a few seconds to start, and the browser then waits for its next retry
  static final double RESTART_WAIT_MS = 45_000;
  static final String TOKEN_KEY = "flightdeck.readToken";
  static final String IMMUTABLE = "public, max-age=31536000, immutable";

  @RegisterExtension
  @Order(1)
  static final Chromium CHROMIUM = new Chromium("The dashboard's browser test");
  @RegisterExtension
  @Order(2)
  static final ClassGateway gateway = ClassGateway.defaults();

  BrowserContext context;
  Page page;
  final PageErrors errors = new PageErrors();

  @BeforeAll
  static void defaultWaits() {
    PlaywrightAssertions.setDefaultAssertionTimeout(WAIT_MS);
  }

  @BeforeEach
  void openTab() {
    context = CHROMIUM.newContext();
    page = errors.newPage(context);
  }

  @Test
  @DisplayName("the page is served without a token, with a strict Content-Security-Policy, and lists no directory")
  void served() {
    HttpTestClient http = gateway.http();
    Response index = http.send(http.request("/").GET());
    assertEquals(200, index.status());
    assertTrue(index.header("Content-Type").startsWith("text/html"), index.header("Content-Type"));
    String csp = index.header("Content-Security-Policy");
    for (String directive : List.of("default-src 'none'", "script-src 'self'", "connect-src 'self'",
        "style-src 'self'", "img-src 'self' data:")) {
      assertTrue(csp.contains(directive), csp);
    }
    assertEquals("nosniff", index.header("X-Content-Type-Options"));
    assertEquals("no-referrer", index.header("Referrer-Policy"));
    assertEquals("no-cache", index.header("Cache-Control"));
    assertTrue(index.body().contains("/dashboard/dashboard.js"));

    Response script = http.send(http.request("/dashboard/dashboard.js").GET());
    assertEquals(200, script.status());
    assertTrue(script.header("Content-Type").contains("javascript"), script.header("Content-Type"));
    assertEquals("nosniff", script.header("X-Content-Type-Options"));
    assertTrue(http.send(http.request("/dashboard/dashboard.css").GET()).header("Content-Type").startsWith("text/css"));
    Response folder = http.send(http.request("/dashboard/").GET());
    assertEquals(200, folder.status());
    assertEquals(index.body(), folder.body(), "the folder answers its index page, never a listing");
    assertEquals(404, http.send(http.request("/dashboard/nothing-here.js").GET()).status());
    assertEquals(404, http.send(http.request("/dashboard/%2e%2e/logback.xml").GET()).status());
  }

  @Test
  @DisplayName("each file is revalidated by a hash of its content, never by a time: a browser whose copy another "
      + "gateway process validated (another release, or the same one first served later) gets this one's file")
  void revalidatedByContent() {
    HttpTestClient http = gateway.http();
    // what Vert.x's StaticHandler sent as Last-Modified: the time the process first served the file, so another
    // process's copy of another release could look newer than this one's, and a revalidation kept it (a 304)
    String later = DateTimeFormatter.RFC_1123_DATE_TIME.format(ZonedDateTime.now(ZoneOffset.UTC).plusDays(1));
    for (String path : List.of("/", "/dashboard/dashboard.js", "/dashboard/dashboard.css")) {
      Response first = http.send(http.request(path).GET());
      assertEquals(200, first.status(), path);
      Response elsewhere = http.send(http.request(path).header("If-Modified-Since", later).GET());
      assertEquals(200, elsewhere.status(), path);
      assertEquals(first.body(), elsewhere.body(), path);
      assertNull(first.header("Last-Modified"), path);
      String etag = first.header("ETag");
      assertTrue(etag != null && etag.matches("\"[0-9a-f]{16}\""), path + ": " + etag);
      Response another = http.send(http.request(path).header("If-None-Match", "\"0123456789abcdef\"")
          .header("If-Modified-Since", later).GET());
      assertEquals(200, another.status(), path);
      Response same = http.send(http.request(path).header("If-None-Match", etag).GET());
      assertEquals(304, same.status(), path);
      assertEquals("", same.body(), path);
      assertEquals(etag, same.header("ETag"), path);
      assertEquals("no-cache", same.header("Cache-Control"), path);
    }
    assertEquals(http.send(http.request("/").GET()).header("ETag"),
        http.send(http.request("/dashboard/").GET()).header("ETag"));
    Response folder = http.send(http.request("/dashboard").GET());
    assertEquals(301, folder.status());
    assertEquals("/dashboard/", folder.header("Location"));
  }

  @Test
  @DisplayName("after the read token is entered the dashboard goes live and shows posted events as they arrive, "
      + "newest first, as text")
  void showsEventsLive() {
    page.navigate(gateway.http().base() + "/");
    assertThat(page.locator("#token-form")).isVisible();
    assertThat(state()).hasText("unauthorized");
    signIn(TestGateway.READ_TOKEN);
    assertThat(state()).hasText("live");
    assertThat(page.locator("#token-panel")).isHidden();

    String markup = "<img src=x onerror=alert(1)>";
    post(HttpTestClient.pageView("dash-live", "/dash-home"), HttpTestClient.click("dash-live", "dash-buy"),
        HttpTestClient.pageView("dash-live", markup));

    Locator rows = page.locator("#live-list tr");
    assertThat(rows.first().locator("td.summary")).hasText(markup);
    Locator click = rows.nth(1);
    assertThat(click.locator("td.time")).hasText(Pattern.compile("^\\d{2}:\\d{2}:\\d{2}$"));
    assertThat(click.locator("td.type")).hasText("ButtonClicked");
    assertThat(click.locator("td.stream")).hasText("dash-live");
    assertThat(click.locator("td.summary")).hasText("dash-buy");
    assertThat(rows.nth(2).locator("td.summary")).hasText("/dash-home");
    assertThat(page.locator("#live-list img")).hasCount(0);
    assertThat(page.locator("#last-position")).containsText("last event #");
    errors.assertNone();
  }

  @Test
  @DisplayName("the events-per-minute chart and today's top pages show what was posted, also after a reload")
  void chartAndTopPages() {
    openSignedIn();
    // FormSubmitted is posted by this test only, so its total for the hour is known exactly
    post(HttpTestClient.formSubmission("dash-f", "dash-signup", new JsonObject().put("email", "a@example.com")),
        HttpTestClient.formSubmission("dash-f", "dash-signup", new JsonObject().put("email", "b@example.com")),
        HttpTestClient.pageView("dash-p1", "/dash-top-a"), HttpTestClient.pageView("dash-p1", "/dash-top-a"),
        HttpTestClient.pageView("dash-p2", "/dash-top-a"), HttpTestClient.pageView("dash-p1", "/dash-top-b"));

    assertThat(legendTotal("FormSubmitted")).hasText("2");
    assertThat(page.locator("#rate-chart rect[data-type='FormSubmitted']")).not().hasCount(0);
    assertThat(topPage("/dash-top-a")).hasText(new String[] {"/dash-top-a", "3", "2"});
    assertThat(topPage("/dash-top-b")).hasText(new String[] {"/dash-top-b", "1", "1"});
    page.locator("#site-input").fill("another-site");
    page.locator("#site-input").press("Enter");
    assertThat(page.locator("#pages-list tr")).hasCount(0);
    assertThat(page.locator("#pages-note")).hasText("No page views today for site another-site yet.");
    page.locator("#site-input").fill("demo");
    page.locator("#site-input").press("Enter");

    // after a reload nothing arrives live: the chart is drawn from the projection alone
    page.reload();
    assertThat(state()).hasText("live");
    assertThat(legendTotal("FormSubmitted")).hasText("2");
    assertThat(topPage("/dash-top-a")).hasText(new String[] {"/dash-top-a", "3", "2"});
    errors.assertNone();
  }

  @Test
  @DisplayName("a wrong token is refused with a message and the form stays; a stored token that stops working "
      + "brings the form back")
  void wrongToken() {
    page.navigate(gateway.http().base() + "/");
    signIn("not-the-read-token");
    assertThat(page.locator("#token-error")).containsText("refused");
    assertThat(page.locator("#token-form")).isVisible();
    assertThat(page.locator("#dashboard")).isHidden();
    assertThat(state()).hasText("unauthorized");
    signIn(TestGateway.ADMIN_TOKEN);
    assertThat(page.locator("#token-error")).containsText("refused");
    assertNull(storedToken());

    page.evaluate("([key, token]) => sessionStorage.setItem(key, token)", List.of(TOKEN_KEY, "a-stale-token"));
    page.reload();
    assertThat(page.locator("#token-error")).containsText("stored read token was refused");
    assertThat(page.locator("#token-form")).isVisible();
    assertNull(storedToken());

    signIn(TestGateway.READ_TOKEN);
    assertThat(state()).hasText("live");
    assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
    // the browser reports each refused request as a console error, and those are all there should be
    errors.console().forEach(e -> assertTrue(e.contains("401"), "unexpected console error: " + e));
  }

  @Test
  @DisplayName("a token pasted with a character no HTTP header can carry (a zero-width space, a typographic quote) "
      + "is refused with a message that says so, not reported as an unreachable gateway")
  void tokenWithAStrayCharacter() {
    page.navigate(gateway.http().base() + "/");
    for (String token : List.of(TestGateway.READ_TOKEN + "\u200b", "\u201c" + TestGateway.READ_TOKEN + "\u201d")) {
      signIn(token);
      assertThat(page.locator("#token-error")).containsText("character");
      assertThat(page.locator("#token-error")).not().containsText("reach");
      assertThat(page.locator("#token-form")).isVisible();
      assertNull(storedToken());
    }
    signIn(TestGateway.READ_TOKEN);
    assertThat(state()).hasText("live");
    errors.assertNone();
  }

  @Test
  @DisplayName("after a reload the token is remembered in the tab, and a new tab asks for it again")
  void remembersToken() {
    openSignedIn();
    assertEquals(TestGateway.READ_TOKEN, storedToken());
    page.reload();
    assertThat(state()).hasText("live");
    assertThat(page.locator("#token-panel")).isHidden();
    assertThat(page.locator("#dashboard")).isVisible();

    Page other = errors.newPage(context);
    other.navigate(gateway.http().base() + "/");
    assertThat(other.locator("#token-form")).isVisible();
    assertThat(other.locator("#state")).hasText("unauthorized");
    errors.assertNone();
  }

  @Test
  @DisplayName("when the gateway goes away the dashboard says reconnecting; back, it shows what was stored meanwhile "
      + "once and goes live; back with another read token, it asks for the token")
  void resumes(TestDatabase db) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    TestGateway own = TestGateway.start(db, env);
    int port = own.port();
    env.put("FLIGHTDECK_HTTP_PORT", String.valueOf(port));
    try {
      page.navigate(own.http().base() + "/");
      signIn(TestGateway.READ_TOKEN);
      assertThat(state()).hasText("live");
      post(own, HttpTestClient.pageView("dash-r", "/dash-before-outage"));
      assertThat(page.locator("#live-list")).containsText("/dash-before-outage");

      own.close();
      assertThat(state()).hasText("reconnecting");
      // stored meanwhile through another gateway on the same database
      post(gateway.get(), HttpTestClient.pageView("dash-r", "/dash-during-outage"),
          HttpTestClient.click("dash-r", "dash-during"));

      own = TestGateway.start(db, env);
      assertThat(state()).hasText("live", new LocatorAssertions.HasTextOptions()
          .setTimeout(RESTART_WAIT_MS));
      assertThat(page.locator("#live-list")).containsText("/dash-during-outage");
      assertThat(page.locator("#live-list")).containsText("dash-during");
      assertThat(summaries("/dash-before-outage")).hasCount(1);
      assertThat(summaries("/dash-during-outage")).hasCount(1);

      own.close();
      env.put("FLIGHTDECK_READ_TOKEN", "a-rotated-read-token");
      own = TestGateway.start(db, env);
      assertThat(page.locator("#token-error")).containsText("refused",
          new LocatorAssertions.ContainsTextOptions().setTimeout(RESTART_WAIT_MS));
      assertThat(page.locator("#token-form")).isVisible();
      assertThat(state()).hasText("unauthorized");
      assertNull(storedToken());
      assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
    } finally {
      own.close();
    }
  }

  @Test
  @DisplayName("a dashboard that had shown no event yet when the gateway went away shows, once it is back, what was "
      + "stored meanwhile: the browser resumes from where its stream started")
  void resumesBeforeAnyEvent(TestDatabase db) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    TestGateway own = TestGateway.start(db, env);
    env.put("FLIGHTDECK_HTTP_PORT", String.valueOf(own.port()));
    try {
      page.navigate(own.http().base() + "/");
      signIn(TestGateway.READ_TOKEN);
      assertThat(state()).hasText("live");

      own.close();
      assertThat(state()).hasText("reconnecting");
      post(gateway.get(), HttpTestClient.pageView("dash-q", "/dash-while-away"));

      own = TestGateway.start(db, env);
      assertThat(state()).hasText("live", new LocatorAssertions.HasTextOptions().setTimeout(RESTART_WAIT_MS));
      assertThat(page.locator("#live-list")).containsText("/dash-while-away");
      assertThat(summaries("/dash-while-away")).hasCount(1);
      assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
    } finally {
      own.close();
    }
  }

  @Test
  @DisplayName("a dashboard that had shown no event yet, whose feed was refused for a while (503, as a gateway at "
      + "live.maxConnections refuses it), shows once it is back what was stored meanwhile: the EventSource it opens "
      + "in place of the refused one resumes where the first feed started")
  void resumesBeforeAnyEventAfterARefusal(TestDatabase db) throws Exception {
    Map<String, String> env = new HashMap<>(Map.of("FLIGHTDECK_PROJECTIONS_ENABLED", "false"));
    TestGateway own = TestGateway.start(db, env);
    env.put("FLIGHTDECK_HTTP_PORT", String.valueOf(own.port()));
    List<String> feeds = new CopyOnWriteArrayList<>();
    page.onRequest(r -> {
      if (r.url().contains("/v1/live")) {
        feeds.add(r.url());
      }
    });
    try {
      page.navigate(own.http().base() + "/");
      signIn(TestGateway.READ_TOKEN);
      assertThat(state()).hasText("live");
      page.route("**/v1/live**", route -> route.fulfill(new Route.FulfillOptions().setStatus(503)
          .setHeaders(Map.of("Retry-After", "1")).setContentType("application/json")
          .setBody("{\"error\":{\"code\":\"unavailable\",\"message\":\"too many live streams\"}}")));

      own.close();
      // the browser's own reconnect is refused, which closes the EventSource for good: the dashboard opens another
      // (Playwright hands events and routes over only inside its own calls: wait in one)
      page.waitForCondition(() -> feeds.size() >= 3, new Page.WaitForConditionOptions().setTimeout(WAIT_MS));
      post(gateway.get(), HttpTestClient.pageView("dash-z", "/dash-while-refused"));
      own = TestGateway.start(db, env);
      page.unroute("**/v1/live**");

      assertThat(state()).hasText("live", new LocatorAssertions.HasTextOptions().setTimeout(RESTART_WAIT_MS));
      assertThat(page.locator("#live-list")).containsText("/dash-while-refused", new LocatorAssertions
          .ContainsTextOptions().setTimeout(WAIT_MS));
      assertThat(summaries("/dash-while-refused")).hasCount(1);
      assertTrue(feeds.get(0).contains("lastEventId="), "even the first feed starts at a known position: " + feeds);
      assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
    } finally {
      own.close();
    }
  }

  @Test
  @DisplayName("long type names, stream ids and page ids wrap inside their panels: the page never scrolls sideways "
      + "and the live list never covers the chart")
  void longTextStaysInItsPanel() {
    page.setViewportSize(1280, 900);
    openSignedIn();
    // a Segment track name and a user id (the stream) of 200 characters, a page id of 2,048: all allowed
    String type = "Dash Long " + "y".repeat(190);
    String stream = "dash-long-" + "z".repeat(190);
    String pageId = "/dash-long-" + "p".repeat(2037);
    Response tracked = segment("/v1/track", new JsonObject().put("event", type).put("userId", stream)
        .put("properties", new JsonObject().put("k".repeat(300), "v".repeat(500))).encode());
    assertEquals(200, tracked.status(), tracked.body());
    post(HttpTestClient.pageView(stream, pageId));

    assertThat(page.locator("#live-list td.type").filter(new Locator.FilterOptions().setHasText(type)))
        .hasCount(1);
    assertThat(page.locator("#rate-legend li[data-type='" + type + "']")).hasCount(1);
    assertThat(topPage("/dash-long-")).not().hasCount(0);
    // before, a type cell did not wrap: the list grew 2,400 pixels wide, over the chart, and the page scrolled
    @SuppressWarnings("unchecked")
    Map<String, Object> widths = (Map<String, Object>) page.evaluate("() => {"
        + " const over = [...document.querySelectorAll('.panel')].filter(p => p.scrollWidth > p.clientWidth)"
        + "   .map(p => p.id);"
        + " return { page: document.documentElement.scrollWidth, view: innerWidth, over: over.join(' ') }; }");
    assertEquals("", widths.get("over"), "panels wider than themselves: " + widths);
    assertTrue(((Number) widths.get("page")).intValue() <= ((Number) widths.get("view")).intValue(),
        widths::toString);
    errors.assertNone();
  }

  @Test
  @DisplayName("a burst of events builds only the rows the list keeps: the rows are drawn once a frame")
  void burstBuildsOnlyTheRowsKept() {
    // the page's EventSource, to hand it a burst within one task, as a browser does with the messages that arrive
    // between two frames (Playwright keeps every page in front, so a background tab cannot be shown here)
    page.addInitScript("(() => { const Native = window.EventSource;"
        + " window.EventSource = class extends Native {"
        + "   constructor(...args) { super(...args); window.liveSource = this; } }; })()");
    openSignedIn();
    // the events as the page reads them every 10 s (to find those a history change took): the burst's, which is
    // not in the store
    page.route(url -> url.contains("/v1/events?after="), DashboardBrowserIT::burstAsStored);
    page.evaluate("() => { window.addedRows = 0;"
        + " new MutationObserver((ms) => { for (const m of ms) { window.addedRows += m.addedNodes.length; } })"
        + "   .observe(document.getElementById('live-list'), { childList: true });"
        + " const at = new Date().toISOString();"
        + " for (let i = 1; i <= 1000; i++) {"
        + "   const position = 8000000000 + i;"
        + "   window.liveSource.dispatchEvent(new MessageEvent('message', { lastEventId: String(position),"
        + "     data: JSON.stringify({ id: 'burst-' + position, position, type: 'PageViewed',"
        + "       streamId: 'dash-burst', recordedAt: at,"
        + "       data: { pageId: '/dash-burst-' + i } }) })); } }");

    Locator rows = page.locator("#live-list tr");
    assertThat(rows.first().locator("td.summary")).hasText("/dash-burst-1000");
    assertThat(rows).hasCount(200);
    assertThat(rows.last().locator("td.summary")).hasText("/dash-burst-801");
    assertThat(page.locator("#last-position")).hasText("last event #8000001000");
    // before, each event built a row and the list dropped the oldest: 1,000 rows built to keep 200
    assertEquals(200, ((Number) page.evaluate("window.addedRows")).intValue());
    errors.assertNone();
  }

  @Test
  @DisplayName("the chart's scale stays readable at a busy gateway's rates: a peak of 935,000 events a minute is "
      + "labelled inside the chart, not cut at its left edge")
  void chartScaleFitsBigCounts() {
    Instant to = Instant.now().truncatedTo(ChronoUnit.MINUTES).plus(1, ChronoUnit.MINUTES);
    JsonObject answer = new JsonObject().put("from", to.minus(1, ChronoUnit.HOURS).toString())
        .put("to", to.toString()).put("types", 1).put("otherTypes", 0)
        .put("counts", new JsonArray().add(new JsonObject().put("minute", to.minus(1, ChronoUnit.MINUTES).toString())
            .put("type", "PageViewed").put("count", 935_000)));
    page.route("**/v1/event-counts**", route -> route.fulfill(new Route.FulfillOptions().setStatus(200)
        .setContentType("application/json").setBody(answer.encode())));
    openSignedIn();
    assertThat(legendTotal("PageViewed")).hasText("935000");

    @SuppressWarnings("unchecked")
    Map<String, Object> label = (Map<String, Object>) page.evaluate("() => {"
        + " const t = document.querySelector('#rate-chart svg text'); const box = t.getBBox();"
        + " return { text: t.textContent, left: box.x }; }");
    // before, "935000" ended 4 units left of the axis and began past the chart's left edge: it read "35000"
    assertTrue(((Number) label.get("left")).doubleValue() >= 0, label::toString);
    assertTrue(String.valueOf(label.get("text")).startsWith("935"), label::toString);
    errors.assertNone();
  }

  @Test
  @DisplayName("events of custom types (a Segment track call's name, a type the site allows) show live as the "
      + "built-in ones do")
  void showsCustomTypesLive() {
    openSignedIn();
    String body = "{\"event\":\"Order <b>Completed</b>\",\"userId\":\"dash-seg\",\"properties\":{\"total\":42}}";
    Response tracked = segment("/v1/track", body);
    assertEquals(200, tracked.status(), tracked.body());
    post(HttpTestClient.pageView("dash-seg", "/dash-after-track"));

    // before, the feed named the message "Order <b>Completed</b>" and the page had no listener for that name
    Locator rows = page.locator("#live-list tr");
    assertThat(rows.first().locator("td.summary")).hasText("/dash-after-track");
    assertThat(rows.nth(1).locator("td.type")).hasText("Order <b>Completed</b>");
    assertThat(rows.nth(1).locator("td.stream")).hasText("dash-seg");
    assertThat(rows.nth(1).locator("td.summary")).hasText("total=42");
    assertThat(page.locator("#live-list b")).hasCount(0);
    errors.assertNone();
  }

  @Test
  @DisplayName("a site that sends many distinct custom type names does not grow the chart's legend without bound: "
      + "the types beyond its room are counted together as other types, and every event still shows live")
  void manyCustomTypesKeepTheLegendBounded() {
    openSignedIn();
    JsonArray batch = new JsonArray();
    for (int i = 0; i < 60; i++) {
      batch.add(new JsonObject().put("type", "track").put("event", "Dash Viewed Product " + i)
          .put("userId", "dash-many"));
    }
    Response r = segment("/v1/batch", new JsonObject().put("batch", batch).encode());
    assertEquals(200, r.status(), r.body());

    assertThat(page.locator("#live-list")).containsText("Dash Viewed Product 59");
    assertThat(page.locator("#live-list td.type").filter(new Locator.FilterOptions()
        .setHasText("Dash Viewed Product"))).hasCount(60);
    // drawn a quarter of a second after the burst: the legend holds what the chart can tell apart
    assertThat(page.locator("#rate-legend li[data-type='other types']")).hasCount(1);
    int legend = page.locator("#rate-legend li").count();
    assertTrue(legend <= 31, "legend entries: " + legend);
    errors.assertNone();
  }

  @Test
  @DisplayName("the page names its script and style by their content hash: a request naming this release's hash "
      + "is cacheable as immutable, one naming another release's gets this release's file, never stored")
  void assetsNamedByContentHash() {
    HttpTestClient http = gateway.http();
    String index = http.send(http.request("/").GET()).body();
    for (String file : List.of("dashboard.js", "dashboard.css")) {
      Matcher named = Pattern.compile("\"/dashboard/" + Pattern.quote(file) + "\\?v=([0-9a-f]{16})\"").matcher(index);
      // before, the page named /dashboard/dashboard.js: a balancer could answer it from another release
      assertTrue(named.find(), file + " is not named by its hash in the page: " + index);
      String path = "/dashboard/" + file;
      Response plain = http.send(http.request(path).GET());
      assertEquals("\"" + named.group(1) + "\"", plain.header("ETag"), path);

      String hashed = path + "?v=" + named.group(1);
      Response pinned = http.send(http.request(hashed).GET());
      assertEquals(200, pinned.status(), path);
      assertEquals(plain.body(), pinned.body(), path);
      assertEquals(IMMUTABLE, pinned.header("Cache-Control"), path);
      assertEquals(plain.header("ETag"), pinned.header("ETag"), path);
      Response same = http.send(http.request(hashed).header("If-None-Match", plain.header("ETag")).GET());
      assertEquals(304, same.status(), path);
      assertEquals(IMMUTABLE, same.header("Cache-Control"), path);
      Response head = http.send(http.request(hashed).method("HEAD", HttpRequest.BodyPublishers.noBody()));
      assertEquals(200, head.status(), path);
      assertEquals(IMMUTABLE, head.header("Cache-Control"), path);
      assertEquals(String.valueOf(plain.body().getBytes(StandardCharsets.UTF_8).length),
          head.header("Content-Length"), path);

      // a page of another release behind the same balancer names its own hash: answered, but cached nowhere
      Response other = http.send(http.request(path + "?v=0123456789abcdef").GET());
      assertEquals(200, other.status(), path);
      assertEquals(plain.body(), other.body(), path);
      assertEquals("no-store", other.header("Cache-Control"), path);
      assertEquals("no-cache", plain.header("Cache-Control"), path);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"/", "/dashboard/dashboard.js", "/dashboard/dashboard.css"})
  @DisplayName("a page load whose page, script or style came from another release (a rolling deploy behind one "
      + "balancer) reloads itself once, and then runs one release's files")
  void otherReleaseReloadsOnce(String file) {
    String url = gateway.http().base() + file;
    AtomicInteger rewritten = new AtomicInteger();
    page.route(u -> u.equals(url) || u.startsWith(url + "?"), route -> {
      if (rewritten.getAndIncrement() == 0) {
        APIResponse real = route.fetch();
        route.fulfill(new Route.FulfillOptions().setResponse(real).setBody(otherRelease(file, real.text())));
      } else {
        route.resume();
      }
    });
    AtomicInteger loads = documentLoads();
    openSignedIn();
    // before, the page ran as it came: another release's page with this one's script, or the reverse
    assertEquals(2, loads.get(), "page loads");
    assertEquals(2, rewritten.get(), file + " requests");
    assertNotOtherRelease();
    errors.assertNone();
  }

  @Test
  @DisplayName("a page load that keeps getting files of two releases (two releases alternating behind the "
      + "balancer) reloads only once, then runs as it is; the next load of the tab may reload once again")
  void twoReleasesReloadOnlyOnce() {
    String url = gateway.http().base() + "/dashboard/dashboard.js";
    page.route(u -> u.startsWith(url), route -> {
      APIResponse real = route.fetch();
      route.fulfill(new Route.FulfillOptions().setResponse(real).setBody(otherRelease("/dashboard/dashboard.js",
          real.text())));
    });
    AtomicInteger loads = documentLoads();
    openSignedIn();
    assertEquals(2, loads.get(), "page loads");
    page.reload();
    assertThat(state()).hasText("live");
    assertEquals(4, loads.get(), "page loads");
    errors.assertNone();
  }

  @Test
  @DisplayName("a tab brought back to the front reads the chart's counts and the top pages at once, not at the next "
      + "10 s refresh (a hidden tab's timers may be throttled to once a minute), and only once while a read is out")
  void refreshesWhenVisibleAgain() {
    // time stands still in the page: its 10 s refresh never comes, and every read counted here is another cause's
    page.clock().install();
    page.clock().pauseAt(Instant.now().plus(1, ChronoUnit.MINUTES).toEpochMilli());
    List<String> reads = new CopyOnWriteArrayList<>();
    AtomicInteger finished = new AtomicInteger();
    page.onRequest(r -> {
      if (r.url().contains("/v1/event-counts") || r.url().contains("/v1/pages")) {
        reads.add(r.url().replaceFirst("\\?.*", "").replaceFirst(".*/", ""));
      }
    });
    page.onRequestFinished(r -> {
      if (r.url().contains("/v1/event-counts") || r.url().contains("/v1/pages")) {
        finished.incrementAndGet();
      }
    });
    openSignedIn();
    page.waitForCondition(() -> reads.size() >= 2 && finished.get() == reads.size());
    List<String> before = List.copyOf(reads);
    assertEquals(List.of("event-counts", "pages"), before.stream().sorted().toList());

    // Playwright keeps every page in front: the page is told it went to the background and came back
    page.evaluate("() => { let state = 'visible';"
        + " Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });"
        + " Object.defineProperty(document, 'hidden', { configurable: true, get: () => state === 'hidden' });"
        + " window.showTab = (s) => { state = s; document.dispatchEvent(new Event('visibilitychange')); }; }");
    page.evaluate("() => showTab('hidden')");
    // twice in a row: the second finds both reads still out
    page.evaluate("() => { showTab('visible'); showTab('hidden'); showTab('visible'); }");
    // before, nothing was read until the 10 s refresh, which a background tab's throttled timers delay up to a minute
    page.waitForCondition(() -> reads.size() >= 4 && finished.get() == reads.size());
    // a read sent after these (a second one, queued while the first was out) is seen before this request's answer
    page.evaluate("() => fetch('/health/live').then((r) => r.status)");
    page.waitForCondition(() -> finished.get() == reads.size());
    assertEquals(List.of("event-counts", "pages"), reads.subList(2, reads.size()).stream().sorted().toList(),
        "reads after the tab came back: " + reads);
    errors.assertNone();
  }

  // ---- helpers ----

  /** Answers {@code GET /v1/events?after=&limit=} with burst events: {@code burst-<position>} at each position. */
  private static void burstAsStored(Route route) {
    Map<String, String> query = new HashMap<>();
    for (String pair : route.request().url().replaceFirst(".*\\?", "").split("&")) {
      String[] kv = pair.split("=", 2);
      query.put(kv[0], kv.length > 1 ? kv[1] : "");
    }
    long after = Long.parseLong(query.get("after"));
    JsonArray events = new JsonArray();
    for (long p = Math.max(after, 8_000_000_000L) + 1; p <= 8_000_001_000L
        && events.size() < Integer.parseInt(query.get("limit")); p++) {
      events.add(new JsonObject().put("id", "burst-" + p).put("position", p));
    }
    route.fulfill(new Route.FulfillOptions().setStatus(200).setContentType("application/json")
        .setBody(new JsonObject().put("events", events).encode()));
  }

  /**
   * {@code file} ({@code /}, the script or the style) as another release of the gateway would serve it: another
   * build id wherever this release's stands, and a mark {@link #assertNotOtherRelease()} looks for.
   */
  private static String otherRelease(String file, String body) {
    String build = build(gateway.http().send(gateway.http().request("/").GET()).body());
    String other = build == null ? body : body.replace(build, "another-release");
    return switch (file) {
      case "/" -> other.replace("<title>FlightDeck live dashboard</title>", "<title>another release</title>");
      case "/dashboard/dashboard.js" -> other + "\nwindow.anotherRelease = true;\n";
      default -> other + "\nbody { outline: 3px solid rgb(1, 2, 3); }\n";
    };
  }

  /** The build id the page names, or null. */
  private static String build(String index) {
    Matcher m = Pattern.compile("<meta name=\"flightdeck-build\" content=\"([^\"]+)\">").matcher(index);
    return m.find() ? m.group(1) : null;
  }

  private void assertNotOtherRelease() {
    assertEquals("FlightDeck live dashboard", page.title());
    assertEquals(false, page.evaluate("() => window.anotherRelease === true"));
    assertEquals(false, page.evaluate("() => getComputedStyle(document.body).outlineColor === 'rgb(1, 2, 3)'"));
  }

  /** Counts the documents the page loads (navigations and reloads), from now on. */
  private AtomicInteger documentLoads() {
    AtomicInteger loads = new AtomicInteger();
    page.onRequest(r -> {
      if (r.isNavigationRequest() && r.frame() == page.mainFrame()) {
        loads.incrementAndGet();
      }
    });
    return loads;
  }

  private void openSignedIn() {
    page.navigate(gateway.http().base() + "/");
    signIn(TestGateway.READ_TOKEN);
    assertThat(state()).hasText("live");
  }

  private void signIn(String token) {
    page.locator("#token-input").fill(token);
    page.locator("#token-submit").click();
  }

  private Locator state() {
    return page.locator("#state");
  }

  private Locator legendTotal(String type) {
    return page.locator("#rate-legend li[data-type='" + type + "'] .total");
  }

  private Locator topPage(String pageId) {
    return page.locator("#pages-list tr").filter(new Locator.FilterOptions().setHasText(pageId)).locator("td");
  }

  private Locator summaries(String text) {
    return page.locator("#live-list td.summary").filter(new Locator.FilterOptions().setHasText(text));
  }

  private String storedToken() {
    return (String) page.evaluate("key => sessionStorage.getItem(key)", TOKEN_KEY);
  }

  /** A POST to the Segment-compatible API, with the demo write key as the Basic user name. */
  private static Response segment(String path, String body) {
    return gateway.http().send(gateway.http().request(path)
        .header("Content-Type", "application/json")
        .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(
            (TestGateway.WRITE_KEY + ":").getBytes(StandardCharsets.UTF_8)))
        .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private static void post(JsonObject... events) {
    post(gateway.get(), events);
  }

  private static void post(TestGateway to, JsonObject... events) {
    to.http().postBatch(events);
  }
}
