package io.flightdeck.gateway.snippet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.microsoft.playwright.APIResponse;
import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.Request;
import com.microsoft.playwright.Route;
import io.flightdeck.gateway.support.Chromium;
import io.flightdeck.gateway.support.Chromium.PageErrors;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
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
 * The tracking snippet ({@code GET /fd.js}) in headless Chromium (Debian's {@code chromium}, driven by Playwright
 * for Java, which never downloads a browser of its own here), installed with its one tag on pages of a test site
 * on another origin than the gateway. Every assertion is on what the gateway stored, read back through the read
 * API; Playwright's network interception plays the failing network or gateway.
 */
@ExtendWith(PostgresExtension.class)
class SnippetBrowserIT {

  static final long WAIT_MS = 20_000;
  // a form's attributes for a submission that is sent (not cancelled) and leaves the browser on the page
  static final String SUBMITTED = "method=\"post\" action=\"" + TestSite.NO_CONTENT + "\"";
  static final String WRITE_KEY = TestGateway.WRITE_KEY;
  static final Pattern UUID_TEXT =
      Pattern.compile("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  // what the browser logs for a refused or failed request: expected where a test provokes one, nowhere else
  static final Pattern PROVOKED = Pattern.compile(
      "Failed to load resource: (the server responded with a status of (400|401|403|413|429|503)"
          + "|net::ERR_(INTERNET_DISCONNECTED|CONNECTION_REFUSED))");

  @RegisterExtension
  @Order(1)
  static final Chromium CHROMIUM = new Chromium("The snippet's browser test");
  // the custom types the tests track, named as a real site names them
  @RegisterExtension
  @Order(2)
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_SITES", TestGateway.demoSiteNaming(
      "SpaDone", "ClosedTab", "WhileHidden", "AfterShown", "OfflineTrack", "LeftOffline", "StillStored",
      "Signup Started", "QueuedDone", "Private", "FormsDone")));

  static TestSite site;

  BrowserContext context;
  Page page;
  final PageErrors errors = new PageErrors();
  final List<Request> posts = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void openSite() {
    site = new TestSite(gateway.http().base());
  }

  @AfterAll
  static void closeSite() throws Exception {
    if (site != null) {
      site.close();
    }
  }

  @BeforeEach
  void openContext() {
    newContext();
  }

  /** A new browser context (another visitor: empty localStorage), recording the posts to the gateway. */
  private void newContext() {
    if (context != null) {
      context.close();
    }
    posts.clear();
    context = CHROMIUM.newContext();
    context.setDefaultTimeout(WAIT_MS);
    context.onRequest(r -> {
      if (r.method().equals("POST") && r.url().startsWith(gateway.http().base() + "/v1/events")) {
        posts.add(r);
      }
    });
    page = errors.newPage(context);
  }

  // ---- serving ----

  @Test
  @DisplayName("GET /fd.js serves the snippet gzip-compressed within 6 KB, cached 5 minutes and revalidated by its "
      + "ETag; its content-hashed URL serves the same bytes for a year")
  void served() throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    HttpResponse<byte[]> gz = http.send(HttpRequest.newBuilder(URI.create(gateway.http().base() + "/fd.js"))
        .header("Accept-Encoding", "gzip").GET().build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, gz.statusCode());
    assertEquals("gzip", gz.headers().firstValue("Content-Encoding").orElse(null));
    assertTrue(gz.body().length <= 6 * 1024, "gzipped size " + gz.body().length);
    assertEquals("text/javascript; charset=utf-8", gz.headers().firstValue("Content-Type").orElse(null));
    assertEquals("public, max-age=300", gz.headers().firstValue("Cache-Control").orElse(null));
    assertEquals("nosniff", gz.headers().firstValue("X-Content-Type-Options").orElse(null));
    String etag = gz.headers().firstValue("ETag").orElseThrow();
    String pinned = gz.headers().firstValue("Content-Location").orElseThrow();
    assertTrue(pinned.matches("/fd\\.[0-9a-f]{16}\\.js"), pinned);
    HttpResponse<byte[]> head = http.send(HttpRequest.newBuilder(URI.create(gateway.http().base() + "/fd.js"))
        .method("HEAD", HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.ofByteArray());
    assertEquals(200, head.statusCode(), "HEAD answers like GET, without the body");
    assertEquals(0, head.body().length);
    assertEquals(etag, head.headers().firstValue("ETag").orElse(null));
    assertEquals("W/\"" + pinned.substring(4, 20) + "\"", etag);
    String script = new String(new GZIPInputStream(new ByteArrayInputStream(gz.body())).readAllBytes(),
        StandardCharsets.UTF_8);
    assertTrue(script.startsWith("/*! FlightDeck fd.js"), script.substring(0, 40));

    Response plain = gateway.http().send(gateway.http().request("/fd.js").GET());
    assertEquals(script, plain.body(), "without Accept-Encoding: gzip the same script, uncompressed");
    Response revalidated = gateway.http().send(gateway.http().request("/fd.js").header("If-None-Match", etag).GET());
    assertEquals(304, revalidated.status());
    assertEquals("", revalidated.body());

    Response forever = gateway.http().send(gateway.http().request(pinned).GET());
    assertEquals(200, forever.status());
    assertEquals(script, forever.body());
    assertEquals("public, max-age=31536000, immutable", forever.header("Cache-Control"));
    assertEquals(404, gateway.http().send(gateway.http().request("/fd.0000000000000000.js").GET()).status());
  }

  // ---- automatic capture ----

  @Test
  @DisplayName("a page view is stored on load, as PageViewed version 2 with the fd: meta tags as page id and "
      + "properties, a client UUID, the visitor as stream and the session and context as metadata")
  void pageViewOnLoad() {
    String url = site.page("/shop/pricing?plan=pro", "Pricing",
        "<meta name=\"fd:page-id\" content=\"pricing\"><meta name=\"fd:section\" content=\"shop\">"
            + "<meta name=\"fd:author\" content=\"Ada\">", "", "<h1>Pricing</h1>");
    open(url);
    String visitor = visitor();
    JsonObject view = awaitEvents(visitor, 1).getJsonObject(0);

    assertEquals("PageViewed", view.getString("type"));
    assertEquals(2, view.getInteger("schemaVersion"));
    assertEquals(visitor, view.getString("streamId"));
    assertTrue(UUID_TEXT.matcher(view.getString("id")).matches(), view.getString("id"));
    assertEquals(new JsonObject().put("pageId", "pricing").put("url", site.base() + "/shop/pricing?plan=pro")
        .put("title", "Pricing").putNull("referrer")
        .put("properties", new JsonObject().put("section", "shop").put("author", "Ada")), view.getJsonObject("data"));
    JsonObject meta = view.getJsonObject("metadata");
    assertTrue(UUID_TEXT.matcher(meta.getString("fd.sessionId")).matches(), meta.encode());
    assertEquals(url, meta.getString("fd.url"));
    assertEquals("Pricing", meta.getString("fd.title"));
    assertTrue(meta.getString("fd.screen").matches("\\d+x\\d+"), meta.encode());
    assertEquals(page.evaluate("navigator.language"), meta.getString("fd.language"));
    assertTrue(meta.getString("fd.library").startsWith("fd.js/"), meta.encode());
    assertEquals("demo", meta.getString("site"));
    assertNotNull(view.getString("occurredAt"));
    assertTrue(posts.stream().allMatch(r -> r.headerValue("content-type").startsWith("text/plain")),
        "sent as text/plain, so no preflight");
    errors.assertNone();
  }

  @Test
  @DisplayName("SPA navigation with the history API stores a page view per new page (back and forward too, not a "
      + "change of the hash alone), with the previous URL as referrer and the page's fd:page-id when it sets one")
  void spaNavigation() {
    String first = site.page("/spa/first", "First", "", "", "<p>app</p>");
    open(first);
    String visitor = visitor();
    page.evaluate("() => { history.pushState({}, '', '/spa/second'); document.title = 'Second'; }");
    page.waitForFunction("() => location.pathname === '/spa/second'");
    page.evaluate("() => history.back()");
    page.waitForFunction("() => location.pathname === '/spa/first'");
    page.evaluate("() => { location.hash = '#details'; history.replaceState({}, '', '/spa/first#more'); }");
    page.evaluate("() => { const m = document.createElement('meta'); m.name = 'fd:page-id'; m.content = 'third';"
        + " document.head.appendChild(m); history.pushState({}, '', '/spa/third'); }");
    page.waitForFunction("() => location.pathname === '/spa/third'");
    // after the page view, which waits a tick for the app to update title and meta tags
    page.evaluate("() => new Promise(r => setTimeout(() => { flightdeck.track('SpaDone', {}); r(); }, 50))");

    JsonArray events = awaitEvents(visitor, 5);
    List<JsonObject> views = ofType(events, "PageViewed");
    assertEquals(List.of("/spa/first", "/spa/second", "/spa/first", "third"),
        views.stream().map(v -> v.getJsonObject("data").getString("pageId")).toList());
    assertEquals(site.base() + "/spa/second", views.get(1).getJsonObject("data").getString("url"));
    assertEquals("Second", views.get(1).getJsonObject("data").getString("title"));
    assertEquals(first, views.get(1).getJsonObject("data").getString("referrer"));
    assertEquals(site.base() + "/spa/second", views.get(2).getJsonObject("data").getString("referrer"));
    assertEquals("SpaDone", events.getJsonObject(4).getString("type"), "nothing else in between");
    assertEquals(1, views.stream().map(v -> v.getJsonObject("metadata").getString("fd.sessionId")).distinct().count(),
        "one session");
    errors.assertNone();
  }

  @Test
  @DisplayName("an app that normalizes its URL with the history API while the page loads (a module script, before "
      + "DOMContentLoaded) gets one page view of the normalized URL, with the page's own referrer, not two")
  void urlNormalizedWhileLoadingViewedOnce() {
    // the tag without async (a site may install it so): it runs while the page is parsed, as an async one that
    // arrives early does; module scripts run after parsing, just before DOMContentLoaded
    String url = site.serve("/boot", "<!doctype html><html><head><meta charset=\"utf-8\"><title>Boot</title>"
        + "<script src=\"" + gateway.http().base() + "/fd.js\" data-write-key=\"" + WRITE_KEY + "\"></script>"
        + "<script type=\"module\">history.replaceState({}, '', '/boot/home');</script></head><body></body></html>");
    open(url);
    String visitor = visitor();
    page.evaluate("() => new Promise(r => setTimeout(r, 100)).then(() => flightdeck.flush())");

    // before, the automatic view on DOMContentLoaded and the navigation's view a tick later were both stored
    JsonObject view = awaitEvents(visitor, 1).getJsonObject(0);
    assertEquals(site.base() + "/boot/home", view.getJsonObject("data").getString("url"));
    assertEquals(null, view.getJsonObject("data").getString("referrer"), "the page's own referrer: none");
    errors.assertNone();
  }

  @Test
  @DisplayName("clicks on elements marked data-fd-button-id are stored as ButtonClicked with label and page; other "
      + "clicks are not, and links only when the site opts in")
  void clickCapture() {
    open(site.page("/clicks", "Clicks", "<meta name=\"fd:page-id\" content=\"clicks-page\">", "",
        "<button data-fd-button-id=\"buy-pro\">Buy <b id=\"inner\">Pro</b></button>"
            + "<button id=\"untracked\">Untracked</button><a id=\"link\" href=\"#faq\">FAQ</a>"
            + "<div data-fd-button-id=\"stop\" data-fd-label=\"Stopper\" onclick=\"event.stopPropagation()\">"
            + "<span id=\"stopped\">x</span></div>"));
    String visitor = visitor();
    page.click("#inner");
    page.click("#untracked");
    page.click("#link");
    page.click("#stopped");

    List<JsonObject> clicks = ofType(awaitEvents(visitor, 3), "ButtonClicked");
    assertEquals(2, clicks.size(), clicks::toString);
    assertEquals(new JsonObject().put("buttonId", "buy-pro").put("label", "Buy Pro").put("pageId", "clicks-page"),
        clicks.get(0).getJsonObject("data"));
    assertEquals(2, clicks.get(0).getInteger("schemaVersion"));
    assertEquals("Stopper", clicks.get(1).getJsonObject("data").getString("label"));

    open(site.page("/links", "Links", "", "data-track-links=\"true\"",
        "<a id=\"docs\" href=\"#docs\"> The  docs </a>"));
    assertEquals(visitor, visitor(), "the same visitor on the next page");
    page.click("#docs");
    JsonObject link = ofType(awaitEvents(visitor, 5), "ButtonClicked").get(2);
    assertEquals(new JsonObject().put("buttonId", "link:#docs").put("label", "The docs").put("pageId", "/links"),
        link.getJsonObject("data"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a form marked data-fd-form-id is stored with only the fields its markup allows; a password, a "
      + "hidden secret and a card number are never sent, even when listed")
  void formCapture() {
    site.plainPage("/thanks");
    // each caught by another rule: the input type, the name, data-fd-secret, autocomplete, the Luhn check
    String secrets = "<input type=\"password\" name=\"pw\" value=\"hunter2-secret\">"
        + "<input type=\"hidden\" name=\"csrf_token\" value=\"csrf-secret-value\">"
        + "<input type=\"hidden\" name=\"ref\" data-fd-secret value=\"marked-secret-value\">"
        + "<input name=\"card\" autocomplete=\"cc-number\" value=\"5555 5555 5555 4445\">" // mistyped: no Luhn
        + "<input name=\"payment\" value=\"4111-1111-1111-1111\">";
    open(site.page("/signup", "Sign up", "", "",
        "<form id=\"listed\" data-fd-form-id=\"signup\" method=\"post\" action=\"/thanks\""
            + " data-fd-fields=\"email plan newsletter campaign pw csrf_token ref card payment\">"
            + "<input name=\"email\" value=\"ada@example.com\"><select name=\"plan\"><option>free</option>"
            + "<option selected>pro</option></select><input type=\"checkbox\" name=\"newsletter\" checked>"
            + "<input type=\"hidden\" name=\"campaign\" value=\"spring\"><input name=\"note\" value=\"not listed\">"
            + "<textarea name=\"bio\" data-fd-field>Hello</textarea>" + secrets
            + "<button id=\"submit-listed\">Sign up</button></form>"
            + "<form id=\"star\" data-fd-form-id=\"contact\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<input name=\"name\" value=\"Ada\"><input type=\"hidden\" name=\"campaign\" value=\"hidden-by-star\">"
            + secrets + "<button id=\"submit-star\">Send</button></form>"));
    String visitor = visitor();
    page.click("#submit-star");
    // a classic form post navigates away: the event leaves in a beacon
    page.click("#submit-listed");
    page.waitForURL(site.base() + "/thanks");

    JsonArray events = awaitEvents(visitor, 3);
    List<JsonObject> forms = ofType(events, "FormSubmitted");
    assertEquals(new JsonObject().put("formId", "contact").put("formData", new JsonObject().put("name", "Ada"))
        .put("pageId", "/signup"), forms.get(0).getJsonObject("data"));
    assertEquals(new JsonObject().put("email", "ada@example.com").put("plan", "pro").put("newsletter", "on")
        .put("campaign", "spring").put("bio", "Hello"), forms.get(1).getJsonObject("data").getJsonObject("formData"));
    String stored = events.encode();
    for (String secret : List.of("hunter2", "csrf-secret", "marked-secret", "5555 5555", "555555555555",
        "4111-1111", "411111111111")) {
      assertFalse(stored.contains(secret), secret + " was stored: " + stored);
    }
    errors.assertNone();
  }

  @Test
  @DisplayName("form fields named like members of Object.prototype (constructor, toString, __proto__) are sent with "
      + "their own values, like any other field")
  void fieldsNamedLikeObjectMembers() {
    open(site.page("/members", "Members", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"members\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<input name=\"constructor\" value=\"c\"><input name=\"toString\" value=\"t\">"
            + "<input name=\"__proto__\" value=\"p\"><input name=\"plain\" value=\"x\">"
            + "<button id=\"send\">Send</button></form>"));
    String visitor = visitor();
    page.click("#send");
    flushAfterSubmits();

    // before, {"constructor":"function Object() { [native code] },c","toString":"function toString() { [native "
    // code] },t","plain":"x"}: the inherited members were taken for fields seen before, and __proto__ was lost
    JsonObject form = ofType(awaitEvents(visitor, 2), "FormSubmitted").get(0);
    assertEquals(new JsonObject().put("constructor", "c").put("toString", "t").put("__proto__", "p").put("plain", "x"),
        form.getJsonObject("data").getJsonObject("formData"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a form with fields named like the form's own members (getAttribute, elements, isConnected), which "
      + "the fields then hide, is stored with those fields, sent by its button or by form.submit(); detached, not")
  void fieldsNamedLikeFormMembers() {
    String fields = "<input name=\"getAttribute\" value=\"g\"><input name=\"elements\" value=\"e\">"
        + "<input name=\"isConnected\" value=\"i\">";
    open(site.page("/shadowed", "Shadowed", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"clicked\" data-fd-fields=\"*\" " + SUBMITTED + ">" + fields
            + "<button id=\"send\">Send</button></form>"
            + "<form id=\"f\" data-fd-form-id=\"scripted\" data-fd-fields=\"*\" " + SUBMITTED + ">" + fields
            + "</form>"));
    String visitor = visitor();
    // clicked by the page: Playwright's own click reads the button's ancestors with getAttribute, and so would throw
    page.evaluate("() => send.click()");
    page.evaluate("() => HTMLFormElement.prototype.submit.call(f)");
    // a form not in the document, which the browser does not send, though its form.isConnected is a field
    page.evaluate("() => { const g = document.createElement('form'); g.setAttribute('data-fd-form-id', 'detached');"
        + " g.innerHTML = '<input name=\"isConnected\">'; HTMLFormElement.prototype.submit.call(g); }");
    flushAfterSubmits();

    // before, the submit listener threw (form.getAttribute is not a function) and form.submit() stored nothing
    List<JsonObject> forms = ofType(awaitEvents(visitor, 3), "FormSubmitted");
    assertEquals(List.of("clicked", "scripted"), forms.stream()
        .map(e -> e.getJsonObject("data").getString("formId")).sorted().toList());
    for (JsonObject form : forms) {
      assertEquals(new JsonObject().put("getAttribute", "g").put("elements", "e").put("isConnected", "i"),
          form.getJsonObject("data").getJsonObject("formData"));
    }
    errors.assertNone();
  }

  @Test
  @DisplayName("named elements that hide the document's own members (<img name=\"title\">, <form "
      + "name=\"addEventListener\">, currentScript, referrer, querySelectorAll, visibilityState...) change nothing: "
      + "the page view has the page's title and referrer, and clicks, forms and hiding the page are captured")
  void namedElementsHidingDocumentMembers() {
    // before the tag: these images are the document's currentScript and readyState while the snippet runs
    String before = "<img name=\"currentScript\"><img name=\"readyState\">";
    open(site.page("/named", "Named", before, "data-flush-ms=\"60000\"",
        "<img name=\"title\"><img name=\"referrer\"><img name=\"visibilityState\"><img name=\"querySelector\">"
            + "<form name=\"querySelectorAll\"></form><form name=\"addEventListener\"></form>"
            + "<button id=\"b\" data-fd-button-id=\"named\">Go</button>"
            + "<form id=\"f\" data-fd-form-id=\"named-form\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<input name=\"q\" value=\"x\"><button id=\"send\">Send</button></form>"));
    String visitor = visitor();
    // by the page (Playwright's own click reads the document's members), then the submission decided (a task later)
    page.evaluate("() => { document.getElementById('b').click(); document.getElementById('send').click(); "
        + "return new Promise(r => setTimeout(r)); }");
    // nothing sent yet (data-flush-ms): hiding the page sends the queue
    setVisibility("hidden");

    // before, document.addEventListener('click', ...) threw (the form named addEventListener): no snippet at all
    JsonArray events = awaitEvents(visitor, 3);
    assertEquals(List.of("PageViewed", "ButtonClicked", "FormSubmitted"), types(events));
    JsonObject view = events.getJsonObject(0);
    assertEquals(new JsonObject().put("pageId", "/named").put("url", site.base() + "/named").put("title", "Named")
        .putNull("referrer"), view.getJsonObject("data"));
    assertEquals("Named", view.getJsonObject("metadata").getString("fd.title"));
    assertFalse(view.getJsonObject("metadata").containsKey("fd.referrer"), view.encode());
    assertEquals(new JsonObject().put("buttonId", "named").put("label", "Go").put("pageId", "/named"),
        events.getJsonObject(1).getJsonObject("data"));
    assertEquals(new JsonObject().put("formId", "named-form").put("formData", new JsonObject().put("q", "x"))
        .put("pageId", "/named"), events.getJsonObject(2).getJsonObject("data"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a click on or inside a form marked data-fd-button-id whose controls are named like the members the "
      + "click listener reads (closest, getAttribute, hasAttribute, textContent), which they then hide, is stored")
  void clickOnFormWithControlsNamedLikeElementMembers() {
    open(site.page("/closest", "Closest", "", "data-flush-ms=\"60000\"",
        "<form id=\"f\" data-fd-button-id=\"picker\">Pick <input name=\"closest\"><input name=\"getAttribute\">"
            + "<input name=\"hasAttribute\"><input name=\"textContent\"><span id=\"inside\">here</span></form>"));
    String visitor = visitor();
    // by the page: Playwright's own click reads the ancestors' members
    page.evaluate("() => { document.getElementById('f').click(); document.getElementById('inside').click(); "
        + "return flightdeck.flush(); }");

    // before, the click listener threw (e.target.closest, then el.getAttribute, is not a function)
    List<JsonObject> clicks = ofType(awaitEvents(visitor, 3), "ButtonClicked");
    assertEquals(2, clicks.size(), clicks::toString);
    for (JsonObject click : clicks) {
      assertEquals(new JsonObject().put("buttonId", "picker").put("label", "Pick here").put("pageId", "/closest"),
          click.getJsonObject("data"));
    }
    errors.assertNone();
  }

  @Test
  @DisplayName("a password typed into its field is never sent, even when a show-password button made the field a "
      + "text field before the form was submitted and its name does not look secret")
  void shownPasswordNotSent() {
    open(site.page("/login", "Log in", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"login\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<input name=\"user\"><input id=\"pw\" type=\"password\" name=\"pw\">"
            + "<button id=\"show\" type=\"button\" onclick=\"pw.type = 'text'\">Show</button>"
            + "<button id=\"send\">Log in</button></form>"));
    String visitor = visitor();
    page.fill("input[name=user]", "ada");
    page.fill("#pw", "hunter2-shown");
    page.click("#show");
    page.click("#send");
    flushAfterSubmits();

    // before, formData was {"user":"ada","pw":"hunter2-shown"}: the field was type="text" when it was read
    JsonObject form = ofType(awaitEvents(visitor, 2), "FormSubmitted").get(0);
    assertEquals(new JsonObject().put("user", "ada"), form.getJsonObject("data").getJsonObject("formData"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a form submission the page cancels (preventDefault: validation that failed, an app that sends the "
      + "form itself with fetch, a handler delegated to the window) is not stored; one it lets go on is, also when a "
      + "handler stopped its propagation")
  void cancelledSubmissionNotStored() {
    site.plainPage("/api/signup");
    open(site.page("/cancelled", "Cancelled", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"invalid\" data-fd-fields=\"*\" " + SUBMITTED
            + " onsubmit=\"if (!this.email.value) event.preventDefault()\">"
            + "<input name=\"email\"><button id=\"send-invalid\">Send</button></form>"
            + "<form id=\"spa\" data-fd-form-id=\"spa\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<input name=\"plan\" value=\"pro\"><button id=\"send-spa\">Send</button></form>"
            + "<form id=\"delegated\" data-fd-form-id=\"delegated\" " + SUBMITTED + ">"
            + "<button id=\"send-delegated\">Send</button></form>"
            + "<form data-fd-form-id=\"sent\" data-fd-fields=\"*\" " + SUBMITTED
            + " onsubmit=\"event.stopPropagation()\"><input name=\"plan\" value=\"team\">"
            + "<button id=\"send-sent\">Send</button></form>"
            // the app's own sending, and a handler on the window that runs after every other
            + "<script>spa.addEventListener('submit', (e) => { e.preventDefault();"
            + " fetch('/api/signup', {method: 'POST', body: new FormData(spa)}); });"
            + " window.addEventListener('submit', (e) => { if (e.target.id === 'delegated') e.preventDefault(); });"
            + "</script>"));
    String visitor = visitor();
    page.click("#send-invalid");
    page.click("#send-spa");
    page.click("#send-delegated");
    page.click("#send-sent");
    page.evaluate("() => new Promise(r => setTimeout(r)).then(() => { flightdeck.track('FormsDone', {});"
        + " return flightdeck.flush(); })");

    // before, all four were stored: the snippet stored a submission before the page's handlers could cancel it
    JsonArray events = awaitEvents(visitor, 3);
    assertEquals(List.of("PageViewed", "FormSubmitted", "FormsDone"), types(events));
    assertEquals(new JsonObject().put("formId", "sent").put("formData", new JsonObject().put("plan", "team"))
        .put("pageId", "/cancelled"), events.getJsonObject(1).getJsonObject("data"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a form whose submit handler cancels the event and sends it later with form.submit() (reCAPTCHA v2 "
      + "invisible: execute, then its callback submits) is stored once, with the fields as they were when submit() "
      + "was called, and arrives in a beacon as the page navigates away")
  void cancelledThenSubmittedByScript() {
    site.plainPage("/thanks");
    open(site.page("/captcha", "Captcha", "", "data-flush-ms=\"60000\"",
        "<form id=\"f\" data-fd-form-id=\"captcha\" data-fd-fields=\"email plan\" method=\"post\" action=\"/thanks\">"
            + "<input name=\"email\"><input type=\"hidden\" name=\"plan\" value=\"free\">"
            + "<input type=\"hidden\" name=\"g-recaptcha-response\"><button id=\"send\">Sign up</button></form>"
            // the widget's execute() answers later; its callback fills the token, the app sets the plan and submits
            + "<script>f.addEventListener('submit', (e) => { e.preventDefault(); setTimeout(() => {"
            + " f['g-recaptcha-response'].value = 'token-from-the-widget'; f.plan.value = 'pro'; f.submit(); }, 50);"
            + " });</script>"));
    String visitor = visitor();
    page.fill("input[name=email]", "ada@example.com");
    page.click("#send");
    // data-flush-ms="60000": nothing leaves by fetch before the page is gone, so what arrives came in the beacon
    page.waitForURL(site.base() + "/thanks");

    // before, only the page view was stored: form.submit() fires no submit event, and the one before was cancelled
    JsonArray events = awaitEvents(visitor, 2);
    assertEquals(List.of("PageViewed", "FormSubmitted"), types(events));
    assertEquals(new JsonObject().put("formId", "captcha")
        .put("formData", new JsonObject().put("email", "ada@example.com").put("plan", "pro"))
        .put("pageId", "/captcha"), events.getJsonObject(1).getJsonObject("data"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a form sent with form.submit() and no submit event at all (here through the prototype, as a page "
      + "must when a field is named submit) is stored once, with only the fields its markup allows")
  void submittedByScriptWithoutEvent() {
    site.plainPage("/thanks");
    String secrets = "<input type=\"password\" name=\"pw\" value=\"hunter2-secret\">"
        + "<input type=\"hidden\" name=\"csrf_token\" value=\"csrf-secret-value\">"
        + "<input type=\"hidden\" name=\"ref\" data-fd-secret value=\"marked-secret-value\">"
        + "<input name=\"card\" autocomplete=\"cc-number\" value=\"5555 5555 5555 4445\">"
        + "<input name=\"payment\" value=\"4111-1111-1111-1111\">";
    open(site.page("/scripted", "Scripted", "", "data-flush-ms=\"60000\"",
        "<form id=\"f\" data-fd-form-id=\"scripted\" method=\"post\" action=\"/thanks\""
            + " data-fd-fields=\"email campaign pw csrf_token ref card payment\">"
            + "<input name=\"email\" value=\"ada@example.com\">"
            + "<input type=\"hidden\" name=\"campaign\" value=\"spring\">"
            + "<input name=\"note\" value=\"not listed\"><textarea name=\"bio\" data-fd-field>Hello</textarea>"
            + secrets + "<input type=\"hidden\" name=\"submit\" value=\"shadows form.submit\"></form>"));
    String visitor = visitor();
    // the wrapped method looks and fails as the browser's own: a call on no form throws its TypeError, and a
    // failure of the snippet's reading (a FormData made while the form builds its entry list) throws nothing
    assertEquals("submit,0,false,TypeError,sent nothing", page.evaluate("() => { const s = HTMLFormElement.prototype"
        + ".submit; let err = ''; try { s.call({}); } catch (e) { err = e.name; }"
        + " f.addEventListener('formdata', () => s.call(f), {once: true}); new FormData(f);"
        + " return [s.name, s.length, 'prototype' in s, err, 'sent nothing'].join(); }"));
    page.evaluate("() => HTMLFormElement.prototype.submit.call(f)");
    page.waitForURL(site.base() + "/thanks");

    // before, only the page view was stored
    JsonArray events = awaitEvents(visitor, 2);
    assertEquals(List.of("PageViewed", "FormSubmitted"), types(events));
    assertEquals(new JsonObject().put("formId", "scripted").put("formData", new JsonObject()
        .put("email", "ada@example.com").put("campaign", "spring").put("bio", "Hello")).put("pageId", "/scripted"),
        events.getJsonObject(1).getJsonObject("data"));
    errors.assertNone();
  }

  @Test
  @DisplayName("each form sent is stored once however the page sends it: requestSubmit() after a cancelled submit "
      + "event, form.submit() inside a handler that cancelled the event or let it go on, form.submit() twice in a "
      + "row; a cancelled submission never sent, and a form not in the document, are not stored")
  void eachSubmissionStoredOnce() {
    open(site.page("/once", "Once", "", "data-flush-ms=\"60000\"",
        "<form id=\"again\" data-fd-form-id=\"again\" " + SUBMITTED + "><button id=\"send-again\">Send</button></form>"
            + "<form id=\"dropped\" data-fd-form-id=\"dropped\" " + SUBMITTED
            + " onsubmit=\"event.preventDefault()\"><button id=\"send-dropped\">Send</button></form>"
            + "<form id=\"inside\" data-fd-form-id=\"inside\" " + SUBMITTED
            + " onsubmit=\"event.preventDefault(); this.submit()\"><button id=\"send-inside\">Send</button></form>"
            + "<form id=\"own\" data-fd-form-id=\"own\" " + SUBMITTED
            + " onsubmit=\"this.submit()\"><button id=\"send-own\">Send</button></form>"
            + "<form id=\"twice\" data-fd-form-id=\"twice\" " + SUBMITTED + "></form>"
            // validation that fails once, then the app sends the form again with requestSubmit
            + "<script>let checked = false; again.addEventListener('submit', (e) => { if (!checked) {"
            + " e.preventDefault(); checked = true;"
            + " setTimeout(() => { again.requestSubmit(); window.resent = true; }, 50); } });</script>"));
    String visitor = visitor();
    page.click("#send-again");
    page.waitForFunction("() => window.resent");
    page.click("#send-dropped");
    page.click("#send-inside");
    page.click("#send-own");
    page.evaluate("() => { twice.submit(); twice.submit(); }");
    // a form not in the document, which the browser does not send
    page.evaluate("() => { const g = document.createElement('form'); g.setAttribute('data-fd-form-id', 'detached');"
        + " g.action = '" + TestSite.NO_CONTENT + "'; g.submit(); }");
    page.evaluate("() => new Promise(r => setTimeout(r, 200)).then(() => { flightdeck.track('FormsDone', {});"
        + " return flightdeck.flush(); })");

    // before, "inside" was missing: its submit event was cancelled and form.submit() was not seen
    JsonArray events = awaitEvents(visitor, 6);
    assertEquals("FormsDone", events.getJsonObject(5).getString("type"));
    assertEquals(List.of("again", "inside", "own", "twice"), ofType(events, "FormSubmitted").stream()
        .map(e -> e.getJsonObject("data").getString("formId")).sorted().toList());
    errors.assertNone();
  }

  @Test
  @DisplayName("a page that loads the snippet twice stores a form sent with form.submit() once: the second copy "
      + "wraps nothing")
  void snippetLoadedTwiceStoresOnce() {
    site.plainPage("/thanks");
    String tag = "<script src=\"" + gateway.http().base() + "/fd.js\" data-write-key=\"" + WRITE_KEY
        + "\" data-flush-ms=\"60000\"></script>";
    open(site.serve("/twice", "<!doctype html><html><head><meta charset=\"utf-8\"><title>Twice</title>" + tag + tag
        + "</head><body><form id=\"f\" data-fd-form-id=\"twice\" method=\"post\" action=\"/thanks\"></form>"
        + "</body></html>"));
    String visitor = visitor();
    page.evaluate("() => f.submit()");
    page.waitForURL(site.base() + "/thanks");

    // before, no FormSubmitted at all (form.submit() was not seen)
    assertEquals(List.of("PageViewed", "FormSubmitted"), types(awaitEvents(visitor, 2)));
    errors.assertNone();
  }

  @Test
  @DisplayName("with data-require-consent a form sent with form.submit() before consent(true) is neither stored nor "
      + "kept in the browser; after consent(true) it is stored")
  void submittedByScriptRespectsConsent() {
    open(site.page("/consent-form", "Consent form", "", "data-require-consent=\"true\"",
        "<form id=\"f\" data-fd-form-id=\"consented\" " + SUBMITTED + "></form>"));
    page.evaluate("() => { f.submit(); return new Promise(r => setTimeout(r)).then(() => flightdeck.flush()); }");
    assertEquals(List.of(), fdKeys(page));
    assertEquals(List.of(), posts);

    page.evaluate("() => flightdeck.consent(true)");
    page.evaluate("() => { f.submit(); return new Promise(r => setTimeout(r)).then(() => flightdeck.flush()); }");
    // before, only the page view consent(true) sends was stored
    assertEquals(List.of("PageViewed", "FormSubmitted"), types(awaitEvents(visitor(), 2)));
    errors.assertNone();
  }

  // ---- delivery ----

  @Test
  @DisplayName("events still queued when the visitor navigates away or closes the tab arrive, sent in a beacon")
  void beaconOnLeave() {
    site.plainPage("/elsewhere");
    String url = site.page("/leaving", "Leaving", "", "data-flush-ms=\"60000\"",
        "<a id=\"leave\" data-fd-button-id=\"leave\" href=\"/elsewhere\">Leave</a>");
    open(url);
    String visitor = visitor();
    page.click("#leave");
    page.waitForURL(site.base() + "/elsewhere");
    assertEquals(List.of("PageViewed", "ButtonClicked"), types(awaitEvents(visitor, 2)));

    open(url);
    page.evaluate("() => flightdeck.track('ClosedTab', {at: 'close'})");
    page.close();
    assertEquals("ClosedTab", awaitEvents(visitor, 4).getJsonObject(3).getString("type"));
    assertTrue(posts.stream().allMatch(r -> r.headerValue("content-type").startsWith("text/plain")));
    errors.assertNone();
  }

  @Test
  @DisplayName("the request that carries the queue as the page goes away carries no cookies either: behind a "
      + "first-party proxy (data-endpoint on the site's origin) the site's cookies would go to the gateway")
  void leavingCarriesNoCookies() {
    site.plainPage("/elsewhere");
    String url = site.page("/cookies", "Cookies", "<script>document.cookie = 'session=s3cret; path=/';</script>",
        "data-flush-ms=\"60000\" data-endpoint=\"" + TestSite.COLLECT + "\"",
        "<a id=\"leave\" data-fd-button-id=\"leave\" href=\"/elsewhere\">Leave</a>");
    int before = site.collected().size(); // the site is shared by the class's tests
    open(url);
    page.click("#leave");
    page.waitForURL(site.base() + "/elsewhere");
    await("the request as the page went away", () -> site.collected().size(), n -> n > before);

    // before, navigator.sendBeacon sent it, which always includes credentials: [session=s3cret]
    assertEquals(List.of("null"), site.collected().subList(before, site.collected().size()),
        "the Cookie headers sent");
    errors.assertNone();
  }

  @Test
  @DisplayName("a browser without fetch keepalive (Firefox before 133) hands the queue to a beacon as the page goes "
      + "away, which delivers it (with the cookies a beacon carries)")
  void leavingWithoutKeepaliveBeacons() {
    site.plainPage("/elsewhere-old");
    // such a browser has no Request.prototype.keepalive, and a fetch it starts as the page goes away is dropped
    String oldBrowser = "<script>delete Request.prototype.keepalive;"
        + " document.cookie = 'session=s3cret; path=/';</script>";
    String url = site.page("/no-keepalive", "No keepalive", oldBrowser,
        "data-flush-ms=\"60000\" data-endpoint=\"" + TestSite.COLLECT + "\"",
        "<a id=\"leave\" data-fd-button-id=\"leave\" href=\"/elsewhere-old\">Leave</a>");
    int before = site.collected().size(); // the site is shared by the class's tests
    open(url);
    page.click("#leave");
    page.waitForURL(site.base() + "/elsewhere-old");
    await("the beacon as the page went away", () -> site.collected().size(), n -> n > before);

    // before, a keepalive fetch went out, which such a browser loses with the page: no cookie told it apart here
    assertEquals(List.of("session=s3cret"), site.collected().subList(before, site.collected().size()),
        "the Cookie headers sent");
    errors.assertNone();
  }

  @Test
  @DisplayName("each event is serialized once, however often it is measured, stored in localStorage and sent: "
      + "retried after a 503, beaconed when the page is hidden, sent again when it is shown")
  void eachEventSerializedOnce() {
    // counts the page's JSON.stringify calls by the events they serialize: alone, in a list or in a request's body
    String counter = "<script>(() => { window.serialized = {}; const original = JSON.stringify;"
        + " const count = (v) => { if (v && v.id && v.type) serialized[v.id] = (serialized[v.id] || 0) + 1; };"
        + " JSON.stringify = function (v) { [v].concat(Array.isArray(v) ? v : (v && v.events) || []).forEach(count);"
        + " return original.apply(this, arguments); }; })();</script>";
    AtomicInteger refused = new AtomicInteger();
    context.route(gateway.http().base() + "/v1/events", route -> {
      if (refused.getAndIncrement() == 0) {
        route.fulfill(failure(Map.of(), 503, "0"));
      } else {
        route.resume();
      }
    });
    open(site.page("/serialized", "Serialized", counter, "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    page.evaluate("() => { for (let i = 0; i < 5; i++) flightdeck.track('SpaDone', {i}); flightdeck.flush(); }");
    awaitEvents(visitor, 6);
    context.unroute(gateway.http().base() + "/v1/events");
    page.evaluate("() => flightdeck.track('WhileHidden', {})");
    setVisibility("hidden");
    awaitEvents(visitor, 7);
    setVisibility("visible");
    page.evaluate("() => flightdeck.flush()");
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");

    // before, an event was serialized again to be stored (and with every later event), measured and sent
    @SuppressWarnings("unchecked")
    Map<String, Object> counts = (Map<String, Object>) page.evaluate("() => serialized");
    assertEquals(ids(stream(visitor)), counts.keySet());
    counts.forEach((id, n) -> assertEquals(1, ((Number) n).intValue(), "times event " + id + " was serialized"));
    assertEquals(2, refused.get(), "the request answered 503 and its retry");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("events beaconed while the page was hidden, whose beacon the gateway refused (503), are sent again "
      + "once the page is shown, while it stays open")
  void lostBeaconResentWhenShownAgain() {
    open(site.page("/hidden", "Hidden", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    page.evaluate("() => flightdeck.flush()");
    awaitEvents(visitor, 1);
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");

    // the visitor switches to another app while the gateway is overloaded: the beacon is answered 503
    AtomicInteger refused = new AtomicInteger();
    context.route(gateway.http().base() + "/v1/events", route -> {
      refused.incrementAndGet();
      route.fulfill(failure(Map.of(), 503, "1"));
    });
    page.evaluate("() => flightdeck.track('WhileHidden', {n: 1})");
    setVisibility("hidden");
    await("the beacon", refused::get, n -> n >= 1);
    context.unroute(gateway.http().base() + "/v1/events");
    assertEquals(1, outbox(page).size(), "the beaconed event waits in localStorage");

    // back in the tab, which stays open (a single-page app: no other page of the site is loaded)
    setVisibility("visible");
    page.evaluate("() => { flightdeck.track('AfterShown', {n: 2}); return flightdeck.flush(); }");
    assertEquals(List.of("PageViewed", "WhileHidden", "AfterShown"), types(awaitEvents(visitor, 3)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a retry still waiting for its Retry-After when the page is hidden is sent once the page is shown "
      + "again and the wait is over, with no other call or event to start it")
  void retryPendingWhilePageHiddenStillSent() {
    // the gateway is overloaded: the page view's request and the beacon are both answered 503, Retry-After: 3
    AtomicInteger refused = new AtomicInteger();
    context.route(gateway.http().base() + "/v1/events", route -> {
      refused.incrementAndGet();
      route.fulfill(failure(Map.of(), 503, "3"));
    });
    open(site.page("/pending-retry", "Pending retry", "", "", ""));
    String visitor = visitor();
    await("the page view's request", refused::get, n -> n >= 1);
    page.waitForTimeout(200); // the snippet reads the 503 and waits 3 s to send it again

    // the visitor switches tabs meanwhile, and back, while the gateway recovers
    setVisibility("hidden");
    await("the beacon", refused::get, n -> n >= 2);
    context.unroute(gateway.http().base() + "/v1/events");
    setVisibility("visible");

    assertEquals(List.of("PageViewed"), types(awaitEvents(visitor, 1)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertProvokedErrorsOnly();
  }

  /**
   * What the browser does when the tab is switched away from or back to. On the prototype: the snippet reads the
   * document's members there (a named element could hide them on the document).
   */
  private void setVisibility(String state) {
    page.evaluate("state => { Object.defineProperty(Document.prototype, 'visibilityState', {get: () => state, "
        + "configurable: true}); document.dispatchEvent(new Event('visibilitychange')); }", state);
  }

  @Test
  @DisplayName("events captured offline wait in localStorage and arrive once when the browser is back online, "
      + "also from a page opened later")
  void offlineThenOnline() {
    String url = site.page("/offline", "Offline", "", "",
        "<button id=\"b\" data-fd-button-id=\"offline-click\">x</button>");
    open(url);
    String visitor = visitor();
    awaitEvents(visitor, 1);
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");

    context.setOffline(true);
    page.click("#b");
    page.evaluate("() => flightdeck.track('OfflineTrack', {n: 1})");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(2, outbox(page).size(), "waiting in localStorage");
    assertEquals(1, stream(visitor).size(), "nothing arrived while offline");
    context.setOffline(false);
    assertEquals(List.of("PageViewed", "ButtonClicked", "OfflineTrack"), types(awaitEvents(visitor, 3)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");

    // offline again, and the tab closed before the network comes back: the next page sends them
    context.setOffline(true);
    page.evaluate("() => flightdeck.track('LeftOffline', {n: 2})");
    assertEquals(1, outbox(page).size());
    page.close();
    context.setOffline(false);
    page = errors.newPage(context);
    open(url);
    JsonArray events = awaitEvents(visitor, 5);
    assertEquals(List.of("PageViewed", "ButtonClicked", "OfflineTrack", "LeftOffline", "PageViewed"), types(events));
    assertEquals(5, ids(events).size(), "each stored once");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("two tabs opened at once both send what a closed tab left in the shared fd.outbox, at the same moment: "
      + "each event is stored once, in one order, and both tabs let go of it")
  void twoTabsShareTheOutbox() {
    String url = site.page("/tabs", "Tabs", "", "data-flush-ms=\"0\"", "");
    open(url);
    String visitor = visitor();
    awaitEvents(visitor, 1);
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    context.setOffline(true);
    page.evaluate("() => { for (let i = 0; i < 5; i++) flightdeck.track('LeftOffline', {n: i}); }");
    page.close();
    context.setOffline(false);

    // both tabs' first requests are held until both are made, then let go together
    List<Route> held = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      if (held.size() < 2) {
        held.add(route);
      } else {
        route.resume();
      }
    });
    Page first = errors.newPage(context);
    Page second = errors.newPage(context);
    first.navigate(url);
    second.navigate(url);
    first.waitForCondition(() -> held.size() == 2, new Page.WaitForConditionOptions().setTimeout(WAIT_MS));
    held.forEach(Route::resume);

    JsonArray events = awaitEvents(visitor, 8);
    assertEquals(8, ids(events).size(), "each stored once");
    assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8),
        events.stream().map(e -> ((JsonObject) e).getInteger("streamVersion")).toList());
    // what a tab may still hold is stored already: each tab's read-modify-write of fd.outbox may overwrite the
    // other's (no lock across tabs), which leaves a delivered event to be sent again, stored once
    first.waitForTimeout(500);
    Set<String> stored = ids(events);
    for (Page tab : List.of(first, second)) {
      JsonArray left = new JsonArray((String) tab.evaluate("() => localStorage.getItem('fd.outbox') || '[]'"));
      for (int i = 0; i < left.size(); i++) {
        assertTrue(stored.contains(left.getJsonObject(i).getString("id")), "not stored: " + left.getValue(i));
      }
    }
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a tab's write of fd.outbox that leaves out another tab's undelivered events (it read the list before "
      + "they were stored) does not lose them: that tab stores them again, and they arrive once after it closed")
  void otherTabsStaleWriteKeepsUndeliveredEvents() {
    String url = site.page("/stale-tab", "Stale tab", "", "", "");
    open(url);
    String visitor = visitor();
    awaitEvents(visitor, 1);
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    Page other = errors.newPage(context);
    other.navigate(url);
    other.waitForFunction("() => window.flightdeck && window.flightdeck.version");
    awaitEvents(visitor, 2);
    other.waitForFunction("() => !localStorage.getItem('fd.outbox')");

    context.setOffline(true);
    // the other tab's copy of the list, before this tab stores its events
    String stale = (String) other.evaluate("() => localStorage.getItem('fd.outbox') || '[]'");
    page.evaluate("() => { for (let i = 0; i < 3; i++) flightdeck.track('LeftOffline', {n: i}); }");
    List<Object> mine = outbox(page);
    assertEquals(3, mine.size());
    // Chromium keeps a copy of localStorage per renderer process and sends other processes' writes to it later: a
    // tab's read-modify-write may start from a list without this tab's events. Played here explicitly, then wait
    // until this tab has handled the storage event (its listeners run in order: the snippet's first).
    page.evaluate("() => { window.outboxWritten = new Promise((r) => addEventListener('storage', "
        + "(e) => e.key === 'fd.outbox' && r())); }");
    other.evaluate("s => localStorage.setItem('fd.outbox', s)", stale);
    page.evaluate("() => window.outboxWritten");
    assertEquals(mine, outbox(other), "this tab's undelivered events are in fd.outbox again");

    page.close();
    context.setOffline(false);
    page = errors.newPage(context);
    open(url);
    JsonArray events = awaitEvents(visitor, 6);
    assertEquals(List.of("PageViewed", "PageViewed", "LeftOffline", "LeftOffline", "LeftOffline", "PageViewed"),
        types(events));
    assertEquals(6, ids(events).size(), "each stored once");
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a batch whose answer is lost (a 503 with Retry-After) is sent again with the same ids and stored "
      + "once")
  void retriedBatchStoredOnce() {
    AtomicInteger attempts = new AtomicInteger();
    List<String> bodies = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      bodies.add(route.request().postData());
      if (attempts.incrementAndGet() == 1) {
        // the gateway stores the batch, but the answer the page gets is a 503
        APIResponse stored = route.fetch();
        assertEquals(200, stored.status(), stored.text());
        route.fulfill(failure(stored.headers(), 503, "1"));
      } else {
        route.resume();
      }
    });
    open(site.page("/retry", "Retry", "", "data-flush-ms=\"60000\"",
        "<button id=\"b\" data-fd-button-id=\"retry-click\">x</button>"));
    String visitor = visitor();
    page.click("#b");
    page.click("#b");
    page.evaluate("() => flightdeck.flush()");

    awaitEvents(visitor, 3);
    // delivered: the retry was answered, and the snippet let go of the events
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertEquals(2, attempts.get());
    assertEquals(ids(new JsonObject(bodies.get(0)).getJsonArray("events")),
        ids(new JsonObject(bodies.get(1)).getJsonArray("events")), "the retry carries the same event ids");
    JsonArray events = stream(visitor);
    assertEquals(3, events.size(), "stored once: " + events);
    assertEquals(ids(new JsonObject(bodies.get(0)).getJsonArray("events")), ids(events));
    assertEquals(List.of(1, 2, 3), events.stream().map(e -> ((JsonObject) e).getInteger("streamVersion")).toList());
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a 429 answer's Retry-After is honoured before the batch is sent again")
  void rateLimitedRetryAfter() {
    List<Long> at = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      at.add(System.nanoTime());
      if (at.size() == 1) {
        route.fulfill(failure(Map.of(), 429, "2"));
      } else {
        route.resume();
      }
    });
    open(site.page("/limited", "Limited", "", "", ""));
    String visitor = visitor();
    assertEquals(List.of("PageViewed"), types(awaitEvents(visitor, 1)));
    long waitedMs = (at.get(1) - at.get(0)) / 1_000_000;
    assertTrue(waitedMs >= 2000, "sent again after " + waitedMs + " ms, before Retry-After: 2");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a Retry-After longer than a timer can wait (over 24.8 days) is waited for, not taken as no wait: "
      + "the snippet neither sends again nor spins on its timer")
  void retryAfterBeyondTimerRange() {
    AtomicInteger refused = new AtomicInteger();
    context.route(gateway.http().base() + "/v1/events", route -> {
      refused.incrementAndGet();
      route.fulfill(failure(Map.of(), 503, "2600000"));
    });
    page.addInitScript("(() => { const set = window.setTimeout; window.timeouts = 0;"
        + " window.setTimeout = function () { window.timeouts++; return set.apply(this, arguments); }; })()");
    open(site.page("/far-retry", "Far retry", "", "data-flush-ms=\"0\"", ""));
    await("the page view's request", refused::get, n -> n >= 1);
    page.waitForTimeout(200);
    int before = ((Number) page.evaluate("window.timeouts")).intValue();
    page.waitForTimeout(1000);
    int after = ((Number) page.evaluate("window.timeouts")).intValue();
    // before, a timer set past 2^31-1 ms fired at once: flush() set it again, hundreds of times a second
    assertTrue(after - before <= 2, (after - before) + " timers set in a second");
    assertEquals(1, refused.get());
    assertProvokedErrorsOnly();
  }

  @ParameterizedTest(name = "answered {0}")
  @ValueSource(ints = {401, 403})
  @DisplayName("after a 401 or 403 (a wrong write key, an origin the site does not allow), which no retry can heal, "
      + "the page sends nothing more: later events are neither sent nor kept, and one console warning says so")
  void refusalStopsSending(int status) {
    AtomicInteger requests = new AtomicInteger();
    context.route(gateway.http().base() + "/v1/events", route -> {
      requests.incrementAndGet();
      route.fulfill(failure(Map.of(), status, null));
    });
    List<String> warnings = new CopyOnWriteArrayList<>();
    page.onConsoleMessage(m -> {
      if (m.text().startsWith("flightdeck:")) {
        warnings.add(m.text());
      }
    });
    open(site.page("/refused-key", "Refused", "", "data-flush-ms=\"60000\"",
        "<button id=\"b\" data-fd-button-id=\"after-refusal\">x</button>"));
    page.evaluate("() => flightdeck.flush()");
    assertEquals(1, requests.get(), "the page view");
    Awaitility.await().atMost(Duration.ofMillis(WAIT_MS)).until(() -> !warnings.isEmpty());

    page.click("#b");
    page.evaluate("() => { flightdeck.track('StillStored', {n: 1}); return flightdeck.flush(); }");
    // before, each later flush sent its events, was refused again and warned again: a request per event
    assertEquals(1, requests.get(), "nothing sent after the refusal");
    assertEquals(null, page.evaluate("() => localStorage.getItem('fd.outbox')"), "nothing kept to send later");
    assertEquals(List.of("flightdeck: dropped 1 event(s): the gateway answered " + status + "; nothing more is sent"),
        warnings);
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("a request the gateway takes and never answers is given up after 30 s and sent again with the same "
      + "ids, as after a network failure, instead of holding the queue for ever")
  void unansweredRequestTimesOut() {
    List<String> bodies = firstRequestNeverAnswered();
    open(site.page("/unanswered", "Unanswered", "", "data-flush-ms=\"0\"", ""));
    String visitor = visitor();
    await("the page view's request", bodies::size, n -> n >= 1);
    page.clock().fastForward(30_000);

    // before, the request waited for ever and nothing more was sent
    awaitEvents(visitor, 1);
    assertEquals(2, bodies.size());
    assertEquals(ids(new JsonObject(bodies.get(0)).getJsonArray("events")),
        ids(new JsonObject(bodies.get(1)).getJsonArray("events")), "the retry carries the same event ids");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("after a request given up unanswered (a link too slow to carry the batch in 30 s) the next attempt "
      + "carries half as many events, with the same ids, and the rest follow once it is answered")
  void timedOutBatchHalved() {
    List<String> bodies = firstRequestNeverAnswered();
    open(site.page("/slow-link", "Slow link", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    // the page view and 7 events in one request (not awaited: it is never answered)
    page.evaluate("() => { for (let i = 0; i < 7; i++) flightdeck.track('StillStored', {n: i}); "
        + "flightdeck.flush(); }");
    await("the first request", bodies::size, n -> n >= 1);
    page.clock().fastForward(30_000);
    // the retry's back-off, at most 1.25 s
    page.clock().fastForward(2_000);
    await("the retry", bodies::size, n -> n >= 2);

    List<String> first = eventIds(bodies.get(0));
    assertEquals(8, first.size());
    // before, the retry carried the same 8 events, and on a link that slow would time out again, for ever
    assertEquals(first.subList(0, 4), eventIds(bodies.get(1)), "half the batch, the oldest first, same ids");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(8, awaitEvents(visitor, 8).size());
    assertEquals(first.subList(4, 8), eventIds(bodies.get(2)), "then the rest");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("an event the gateway refuses does not cost the rest of its batch: the snippet drops the events the "
      + "400 names and sends the others again at once")
  void invalidEventDropped() {
    open(site.page("/invalid", "Invalid", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    page.evaluate("() => { flightdeck.track('ButtonClicked', {label: 'no buttonId'}); "
        + "flightdeck.track('StillStored', {n: 1}); return flightdeck.flush(); }");
    assertEquals(List.of("PageViewed", "StillStored"), types(awaitEvents(visitor, 2)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertEquals(2, posts.size(), "the refused batch, then the rest");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("data-flush-ms=\"0\" sends each event at once, in its own request, instead of waiting the default "
      + "second")
  void flushMsZeroSendsAtOnce() {
    open(site.page("/at-once", "At once", "", "data-flush-ms=\"0\"",
        "<button id=\"b\" data-fd-button-id=\"at-once\">x</button>"));
    String visitor = visitor();
    page.waitForTimeout(300);
    page.click("#b");

    // before, 0 was taken for the default: the view waited a second, and the click, 300 ms later, joined it
    assertEquals(List.of("PageViewed", "ButtonClicked"), types(awaitEvents(visitor, 2)));
    // Playwright hands over its request events only while it is called: wait in it for the second (had the click
    // joined the view's request, there would be no second, and this wait fails)
    page.waitForCondition(() -> posts.size() >= 2, new Page.WaitForConditionOptions().setTimeout(WAIT_MS));
    assertEquals(2, posts.size(), "one request per event");
    assertTrue(posts.stream().allMatch(r -> r.postData().split("\"type\"").length == 2),
        "each request carried one event");
    errors.assertNone();
  }

  @Test
  @DisplayName("flush() sends the whole queue, in as many requests as it takes, and settles when the last is answered")
  void flushSendsTheWholeQueue() {
    open(site.page("/flush-all", "Flush all", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    // 1 page view and 250 events: three requests of at most 100; the outbox is read when flush() settles
    Object left = page.evaluate("() => { for (let i = 0; i < 250; i++) flightdeck.track('StillStored', {n: i}); "
        + "return flightdeck.flush().then(() => JSON.parse(localStorage.getItem('fd.outbox') || '[]').length); }");

    assertEquals(0, ((Number) left).intValue(), "events not yet answered when flush() settled");
    assertEquals(3, posts.size());
    assertEquals(251, awaitEvents(visitor, 251).size());
    assertProvokedErrorsOnly();
  }

  @ParameterizedTest(name = "fd.outbox: {0}")
  @ValueSource(strings = {"{\"events\":[]}", "[null]", "\"text\"", "7"})
  @DisplayName("a fd.outbox that is JSON but no list of events (another script's or version's data, a bad write) is "
      + "ignored: the page is tracked, instead of every event throwing")
  void corruptedOutboxIgnored(String stored) {
    page.navigate(site.plainPage("/corrupt-before"));
    page.evaluate("v => localStorage.setItem('fd.outbox', v)", stored);
    // the page view sent at once rather than after the default second: the outbox is read when it is queued
    open(site.page("/corrupt", "Corrupt", "", "data-flush-ms=\"0\"", ""));
    String visitor = visitor();
    assertEquals(List.of("PageViewed"), types(awaitEvents(visitor, 1)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    errors.assertNone();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"fd.vid", "fd.sid", "fd.uid"})
  @DisplayName("an id in localStorage the gateway would refuse (a visitor id over 200 characters, a session or user "
      + "id over 2048 or no string) does not cost every event: the visitor id is made anew, the others are cut")
  void corruptedIdsInStorage(String key) {
    page.navigate(site.plainPage("/bad-ids-before"));
    page.evaluate("key => localStorage.setItem(key, key === 'fd.vid' ? 'v'.repeat(300) : key === 'fd.uid' ? "
        + "'u'.repeat(3000) : JSON.stringify({id: 42, at: Date.now()}))", key);
    // the page view sent at once rather than after the default second: the ids are read when it is captured
    open(site.page("/bad-ids", "Bad ids", "", "data-flush-ms=\"0\"", ""));
    String visitor = visitor();
    // before, every event was refused (400) and dropped
    JsonObject view = awaitEvents(visitor, 1).getJsonObject(0);
    assertEquals(key.equals("fd.uid") ? "u".repeat(2048) : null, view.getJsonObject("metadata").getString("fd.userId"));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    errors.assertNone();
  }

  @ParameterizedTest(name = "fd.vid: {0}")
  @ValueSource(strings = {"line\nbreak", "tab\there", "del\u007f", ".", ".."})
  @DisplayName("a stored visitor id the gateway refuses as a stream id (a control character, . or ..) is made anew, "
      + "instead of costing every event")
  void refusedVisitorIdReplaced(String stored) {
    page.navigate(site.plainPage("/bad-vid-before"));
    page.evaluate("v => localStorage.setItem('fd.vid', v)", stored);
    open(site.page("/bad-vid", "Bad visitor id", "", "data-flush-ms=\"0\"", ""));
    // the page view's request answered: stored, or refused and dropped
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    String visitor = (String) page.evaluate("() => localStorage.getItem('fd.vid')");
    // before, the stored id was kept: the page view was refused (400, streamId "must not contain control
    // characters" or "must not be . or ..") and dropped, and so was every later event of the visitor
    assertNotEquals(stored, visitor, "the refused visitor id was kept");
    assertEquals(List.of("PageViewed"), types(awaitEvents(visitor, 1)));
    errors.assertNone();
  }

  @Test
  @DisplayName("with localStorage full (the site filled it) the snippet keeps its ids and queue in memory and still "
      + "delivers, and no request is sent twice while one is in flight")
  void storageFull() {
    page.navigate(site.plainPage("/full-before"));
    page.evaluate("() => { let i = 0; for (const n of [1 << 20, 1 << 14, 64, 1]) { const v = 'x'.repeat(n);"
        + " try { for (;;) localStorage.setItem('junk' + i++, v); } catch (e) { } } }");
    List<Route> held = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      if (held.isEmpty()) {
        held.add(route);
      } else {
        route.resume();
      }
    });
    open(site.page("/full", "Full", "", "data-flush-ms=\"0\"",
        "<button id=\"b\" data-fd-button-id=\"full-click\">x</button>"));
    page.waitForCondition(() -> held.size() == 1, new Page.WaitForConditionOptions().setTimeout(WAIT_MS));
    // while the page view's request waits for its answer: events and flushes send nothing more
    for (int i = 0; i < 3; i++) {
      page.click("#b");
    }
    page.evaluate("() => { flightdeck.flush(); flightdeck.flush(); }");
    page.waitForTimeout(200);
    assertEquals(1, posts.size(), "sent while a request was in flight");
    held.get(0).resume();
    String visitor = new JsonObject(posts.get(0).postData()).getJsonArray("events").getJsonObject(0)
        .getString("streamId");
    assertEquals(List.of("PageViewed", "ButtonClicked", "ButtonClicked", "ButtonClicked"),
        types(awaitEvents(visitor, 4)));
    assertEquals(null, page.evaluate("() => localStorage.getItem('fd.vid')"), "the storage was full");
    errors.assertNone();
  }

  @Test
  @DisplayName("track() with data that has no JSON form (a cycle, a BigInt) is not sent and warns, and neither throws "
      + "into the page's code nor holds back the events queued with it or after it")
  void dataWithoutJsonSkipped() {
    open(site.page("/no-json", "No JSON", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    Object thrown = page.evaluate("() => { const cyclic = {}; cyclic.self = cyclic; const thrown = [];"
        + " for (const data of [cyclic, {n: 1n}]) { try { flightdeck.track('StillStored', data); }"
        + " catch (e) { thrown.push(String(e)); } }"
        + " flightdeck.track('StillStored', {n: 2}); return thrown; }");
    assertEquals(List.of(), thrown, "track() threw");
    // before, every flush threw in JSON.stringify of the cyclic event: nothing was ever sent again
    page.evaluate("() => flightdeck.flush()");
    JsonArray events = awaitEvents(visitor, 2);
    assertEquals(2, events.getJsonObject(1).getJsonObject("data").getInteger("n"));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    errors.assertNone();
  }

  @Test
  @DisplayName("an event too large for any request (a track() call with over 512 KiB of data) is dropped, not sent "
      + "again and again ahead of the events after it")
  void eventTooLargeForAnyRequestDropped() {
    open(site.page("/huge", "Huge", "", "data-flush-ms=\"60000\"", ""));
    String visitor = visitor();
    page.evaluate("() => { flightdeck.track('StillStored', {parts: Array(40).fill('x'.repeat(16000))}); "
        + "flightdeck.track('StillStored', {n: 2}); return flightdeck.flush(); }");
    JsonArray events = awaitEvents(visitor, 2);
    assertEquals(2, events.getJsonObject(1).getJsonObject("data").getInteger("n"));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertProvokedErrorsOnly();
  }

  @Test
  @DisplayName("while the gateway cannot be reached (connection refused) the batch is sent again with back-off, and "
      + "stored once when the gateway is back")
  void gatewayDownThenUp() {
    List<Long> at = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      at.add(System.nanoTime());
      if (at.size() <= 2) {
        route.abort("connectionrefused");
      } else {
        route.resume();
      }
    });
    open(site.page("/down", "Down", "", "data-flush-ms=\"0\"", ""));
    String visitor = visitor();
    assertEquals(List.of("PageViewed"), types(awaitEvents(visitor, 1)));
    page.waitForFunction("() => !localStorage.getItem('fd.outbox')");
    assertEquals(3, at.size());
    long first = (at.get(1) - at.get(0)) / 1_000_000, second = (at.get(2) - at.get(1)) / 1_000_000;
    assertTrue(first >= 700 && second >= 1400, "waits of " + first + " and " + second + " ms");
    assertProvokedErrorsOnly();
  }

  @ParameterizedTest(name = "the site''s write key: {0}")
  @ValueSource(strings = {WRITE_KEY, "another-write-key"})
  @DisplayName("on a page whose origin no site allows, the snippet reads the gateway's refusal (403 for its origin, "
      + "401 for a write key no site has) and drops its events, instead of keeping them and sending them again")
  void originNoSiteAllowsDropsTheEvents(String siteKey) throws Exception {
    String sites = "[{\"id\":\"demo\",\"writeKey\":\"" + siteKey
        + "\",\"allowedOrigins\":[\"https://shop.example\"]}]";
    int status = siteKey.equals(WRITE_KEY) ? 403 : 401;
    try (TestGateway restricted = TestGateway.start(gateway.db(), Map.of("FLIGHTDECK_SITES", sites));
         TestSite elsewhere = new TestSite(restricted.http().base())) {
      List<Request> requests = new CopyOnWriteArrayList<>();
      context.onRequest(requests::add);
      Supplier<Long> refused = () -> requests.stream()
          .filter(r -> r.method().equals("POST") && r.url().startsWith(restricted.http().base() + "/v1/events"))
          .count();
      List<String> warnings = new CopyOnWriteArrayList<>();
      page.onConsoleMessage(m -> warnings.add(m.text()));
      open(elsewhere.page("/refused", "Refused", "", "", ""));
      // sends the page view now rather than on the snippet's timer; settles with the gateway's answer
      page.evaluate("() => flightdeck.flush()");
      // without an Access-Control-Allow-Origin on the refusal, the snippet saw a network failure: no warning, the
      // page view kept in fd.outbox and sent again after a second, and again, for as long as the page was open
      Awaitility.await().atMost(Duration.ofMillis(WAIT_MS)).untilAsserted(() -> assertTrue(
          warnings.contains(
              "flightdeck: dropped 1 event(s): the gateway answered " + status + "; nothing more is sent"),
          refused.get() + " posts; console: " + warnings + "; requests: "
              + requests.stream().map(r -> r.method() + " " + r.url()).toList() + "; page: " + page.evaluate(
              "() => JSON.stringify({outbox: localStorage.getItem('fd.outbox'), visibility: document.visibilityState,"
              + " online: navigator.onLine, dnt: navigator.doNotTrack, gpc: navigator.globalPrivacyControl,"
              + " consent: localStorage.getItem('fd.consent'), url: location.href})")));
      assertEquals(null, page.evaluate("() => localStorage.getItem('fd.outbox')"), "nothing left to send");
      Thread.sleep(2500);
      assertEquals(1L, refused.get(), "sent once, not again");
      assertEquals(0L, gateway.db().queryLong("SELECT count(*) FROM events WHERE data->>'url' LIKE ?",
          elsewhere.base() + "%"));
    }
  }

  @Test
  @DisplayName("calls made before the script loads are queued by the stub and replayed in order: identify, a "
      + "custom track and a page view that replaces the automatic one")
  void queuedBeforeLoad() {
    String stub = "<script>window.flightdeck = window.flightdeck || {q: []};"
        + "['page','track','identify','consent','flush','reset'].forEach(function (m) {"
        + " flightdeck[m] = flightdeck[m] || function () { flightdeck.q.push([m, arguments]); }; });"
        + "flightdeck.identify('user-42', {plan: 'pro'});"
        + "flightdeck.track('Signup Started', {step: 1, source: 'stub'});"
        + "flightdeck.page('/landing', {campaign: 'spring'});"
        + "window.queuedBeforeLoad = flightdeck.q.length;</script>";
    open(site.page("/queued", "Queued", "<meta name=\"fd:section\" content=\"home\">" + stub, "", ""));
    assertEquals(3, page.evaluate("window.queuedBeforeLoad"));
    String visitor = visitor();
    page.evaluate("() => flightdeck.track('QueuedDone', {})");

    JsonArray events = awaitEvents(visitor, 4);
    assertEquals(List.of("Identified", "Signup Started", "PageViewed", "QueuedDone"), types(events));
    JsonObject identified = events.getJsonObject(0);
    assertEquals(1, identified.getInteger("schemaVersion"));
    assertEquals(new JsonObject().put("traits", new JsonObject().put("plan", "pro")).put("userId", "user-42"),
        identified.getJsonObject("data"));
    assertEquals(new JsonObject().put("step", 1).put("source", "stub"), events.getJsonObject(1).getJsonObject("data"));
    assertEquals(1, events.getJsonObject(1).getInteger("schemaVersion"));
    JsonObject view = events.getJsonObject(2).getJsonObject("data");
    assertEquals("/landing", view.getString("pageId"));
    assertEquals(new JsonObject().put("section", "home").put("campaign", "spring"), view.getJsonObject("properties"));
    for (Object e : events) {
      assertEquals("user-42", ((JsonObject) e).getJsonObject("metadata").getString("fd.userId"));
    }
    errors.assertNone();
  }

  @Test
  @DisplayName("a form submission or page view whose data would be over the gateway's 32 KiB limit is stored with "
      + "the fields and page properties that fit, in page order, instead of being refused (413) and lost")
  void oversizedDataFitted() {
    StringBuilder meta = new StringBuilder();
    StringBuilder inputs = new StringBuilder();
    for (int i = 0; i < 60; i++) {
      meta.append("<meta name=\"fd:p").append(i).append("\" content=\"").append("m".repeat(2000)).append("\">");
      inputs.append("<textarea name=\"f").append(i).append("\">").append("x".repeat(1000)).append("</textarea>");
    }
    open(site.page("/large", "Large", meta.toString(), "",
        "<form data-fd-form-id=\"large\" data-fd-fields=\"*\" " + SUBMITTED + ">" + inputs
            + "<button id=\"send\">Send</button></form>"));
    String visitor = visitor();
    page.click("#send");

    // before, both were answered 413 payload_too_large, dropped by the snippet, and nothing was stored
    JsonArray events = awaitEvents(visitor, 2);
    JsonObject properties = ofType(events, "PageViewed").get(0).getJsonObject("data").getJsonObject("properties");
    JsonObject formData = ofType(events, "FormSubmitted").get(0).getJsonObject("data").getJsonObject("formData");
    for (JsonObject kept : List.of(properties, formData)) {
      assertTrue(kept.size() >= 10 && kept.size() < 60, "entries kept: " + kept.size());
      String prefix = kept == properties ? "p" : "f";
      for (int i = 0; i < kept.size(); i++) {
        assertEquals(kept == properties ? "m".repeat(2000) : "x".repeat(1000), kept.getString(prefix + i),
            "the first entries are kept whole");
      }
    }
    for (Object e : events) {
      int bytes = ((JsonObject) e).getJsonObject("data").encode().getBytes(StandardCharsets.UTF_8).length;
      assertTrue(bytes <= 32 * 1024, "data of " + bytes + " bytes");
    }
    assertTrue(posts.stream().allMatch(r -> r.response().status() == 200), "no request was refused");
    errors.assertNone();
  }

  @Test
  @DisplayName("a NUL character a script put in a form field or a page's text is stored as U+FFFD instead of the "
      + "gateway refusing the whole submission or click (400) and the snippet dropping it")
  void nulCharacterReplaced() {
    open(site.page("/nul", "Nul", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"nul\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<textarea id=\"t\" name=\"note\"></textarea><button id=\"send\">Send</button></form>"
            + "<button id=\"b\" data-fd-button-id=\"nul-click\"></button>"));
    String visitor = visitor();
    // what an app's script may do; the HTML parser itself never leaves a NUL in the page
    page.evaluate("() => { document.getElementById('t').value = 'a\\u0000b';"
        + " document.getElementById('b').append('Buy\\u0000now'); }");
    page.click("#send");
    page.click("#b");
    flushAfterSubmits();

    // before, both were answered 400 (data.formData.note, data.label: must not contain the NUL character) and dropped
    JsonArray events = awaitEvents(visitor, 3);
    assertEquals("a\ufffdb", ofType(events, "FormSubmitted").get(0).getJsonObject("data")
        .getJsonObject("formData").getString("note"));
    assertEquals("Buy\ufffdnow", ofType(events, "ButtonClicked").get(0).getJsonObject("data").getString("label"));
    errors.assertNone();
  }

  @Test
  @DisplayName("a lone surrogate (half an emoji a script cut off) in a form field or a page's title is stored as "
      + "U+FFFD instead of the gateway refusing the event (400) and the snippet dropping it; whole emoji stay")
  void loneSurrogateReplaced() {
    open(site.page("/surrogate", "Surrogate", "", "data-flush-ms=\"60000\"",
        "<form data-fd-form-id=\"surrogate\" data-fd-fields=\"*\" " + SUBMITTED + ">"
            + "<textarea id=\"t\" name=\"note\"></textarea><button id=\"send\">Send</button></form>"));
    String visitor = visitor();
    // 'Hi 😀' cut to 4 UTF-16 units by an app's script: a high surrogate alone; a title ending in a low one
    page.evaluate("() => { document.getElementById('t').value = 'Hi \\ud83d\\ude00 ' + 'Hi \\ud83d\\ude00'.slice(0, 4);"
        + " document.title = 'Title \\ude00'; }");
    page.click("#send");
    flushAfterSubmits();

    // before, the submission was answered 400 and dropped: only the page view was stored
    JsonObject form = ofType(awaitEvents(visitor, 2), "FormSubmitted").get(0);
    assertEquals("Hi \ud83d\ude00 Hi \ufffd", form.getJsonObject("data").getJsonObject("formData").getString("note"));
    assertEquals("Title \ufffd", form.getJsonObject("metadata").getString("fd.title"));
    errors.assertNone();
  }

  // ---- privacy ----

  @Test
  @DisplayName("with Global Privacy Control or Do-Not-Track nothing is captured, sent or stored in the browser; "
      + "a site that configures the snippet to ignore them is tracked")
  void dntAndGpc() {
    String body = "<button id=\"b\" data-fd-button-id=\"private-click\">x</button>";
    String url = site.page("/private", "Private", "", "", body);
    Map<String, String> signals = Map.of(
        "gpc", "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
            + "{get: () => true, configurable: true})",
        "dnt", "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1', configurable: true})");
    for (Map.Entry<String, String> signal : signals.entrySet()) {
      Page p = errors.newPage(context);
      p.addInitScript(signal.getValue());
      page = p;
      open(url);
      page.click("#b");
      page.evaluate("() => { flightdeck.identify('private-user', {}); flightdeck.track('Private', {}); "
          + "return flightdeck.flush(); }");
      assertEquals(List.of(), fdKeys(page), signal.getKey() + ": nothing stored in the browser");
      assertEquals(List.of(), posts, signal.getKey() + ": nothing sent");
      page.close();
    }

    page = errors.newPage(context);
    page.addInitScript(signals.get("gpc"));
    open(site.page("/private-ignored", "Ignored", "", "data-respect-dnt=\"false\"", body));
    page.click("#b");
    assertEquals(List.of("PageViewed", "ButtonClicked"), types(awaitEvents(visitor(), 2)));
    errors.assertNone();
  }

  @Test
  @DisplayName("consent(false) stops capture, clears the queue and the stored ids; consent(true) starts again "
      + "with a new visitor; with data-require-consent nothing is captured before consent(true)")
  void consent() {
    String body = "<button id=\"b\" data-fd-button-id=\"consent-click\">x</button>";
    open(site.page("/consent", "Consent", "", "data-flush-ms=\"60000\"", body));
    String before = visitor();
    page.click("#b");
    page.evaluate("() => flightdeck.consent(false)");
    assertEquals(List.of("fd.consent"), fdKeys(page), "only the decision is kept");
    page.click("#b");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(List.of(), posts, "the queue was cleared, nothing sent");

    page.reload();
    page.waitForFunction("() => window.flightdeck && window.flightdeck.version");
    page.click("#b");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(List.of("fd.consent"), fdKeys(page), "the decision is remembered");
    assertEquals(List.of(), posts);

    page.evaluate("() => flightdeck.consent(true)");
    String after = visitor();
    assertNotEquals(before, after);
    page.click("#b");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(List.of("PageViewed", "ButtonClicked"), types(awaitEvents(after, 2)));
    assertEquals(0, stream(before).size(), "nothing from before consent(false)");

    errors.assertNone();

    // opt-in, for a new visitor: nothing until consent(true), which sends the page's view
    newContext();
    open(site.page("/opt-in", "Opt-in", "", "data-require-consent=\"true\"", body));
    page.click("#b");
    page.evaluate("() => flightdeck.flush()");
    assertEquals(List.of(), fdKeys(page));
    assertEquals(List.of(), posts);
    page.evaluate("() => flightdeck.consent(true)");
    JsonObject view = awaitEvents(visitor(), 1).getJsonObject(0);
    assertEquals("/opt-in", view.getJsonObject("data").getString("pageId"));
    errors.assertNone();
  }

  // ---- helpers ----

  /** Opens {@code url} and waits until the snippet has loaded. */
  private void open(String url) {
    page.navigate(url);
    page.waitForFunction("() => window.flightdeck && window.flightdeck.version");
  }

  /** Sends the queue once the submissions clicked have been decided (after their dispatch, in a task of its own). */
  private void flushAfterSubmits() {
    page.evaluate("() => new Promise(r => setTimeout(r)).then(() => flightdeck.flush())");
  }

  /** The anonymous visitor id the snippet keeps in localStorage: the events' stream. */
  private String visitor() {
    return (String) page.waitForFunction("() => localStorage.getItem('fd.vid')").jsonValue();
  }

  private static List<Object> outbox(Page p) {
    return new JsonArray((String) p.evaluate("() => localStorage.getItem('fd.outbox') || '[]'")).getList();
  }

  @SuppressWarnings("unchecked")
  private static List<String> fdKeys(Page p) {
    return (List<String>) p.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('fd.')).sort()");
  }

  /** The visitor's stream, read with the read token. */
  private static JsonArray stream(String streamId) {
    Response r = gateway.http().getWithReadToken("/v1/streams/" + streamId + "/events?limit=1000");
    assertEquals(200, r.status(), r.body());
    return r.json().getJsonArray("events");
  }

  /** Waits until the stream holds {@code count} events, and checks it holds no more. */
  private JsonArray awaitEvents(String streamId, int count) {
    JsonArray events = await(count + " events in stream " + streamId, () -> stream(streamId), e -> e.size() >= count);
    assertEquals(count, events.size(), () -> "more events than expected: " + events.encodePrettily());
    return events;
  }

  /**
   * Polls until {@code done}. Between probes the page waits, which also lets Playwright run its route handlers
   * (it dispatches them only inside its own calls).
   */
  private <T> T await(String what, Supplier<T> probe, Predicate<T> done) {
    long deadline = System.currentTimeMillis() + WAIT_MS;
    T last = probe.get();
    while (!done.test(last)) {
      if (System.currentTimeMillis() > deadline) {
        fail("timed out waiting for " + what + "; last seen: " + last);
      }
      Page pump = context.pages().isEmpty() ? null : context.pages().get(0);
      if (pump != null) {
        pump.waitForTimeout(100);
      } else {
        pause();
      }
      last = probe.get();
    }
    return last;
  }

  private static void pause() {
    try {
      Thread.sleep(100);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A refusal as the gateway answers it, with {@code Retry-After} unless it is null. */
  private static Route.FulfillOptions failure(Map<String, String> upstream, int status, String retryAfter) {
    Map<String, String> headers = new HashMap<>(upstream);
    headers.put("access-control-allow-origin", site.base());
    headers.put("access-control-expose-headers", "Retry-After");
    headers.put("content-type", "application/json");
    if (retryAfter != null) {
      headers.put("retry-after", retryAfter);
    }
    headers.remove("content-length");
    String code = switch (status) {
      case 401 -> "unknown_write_key";
      case 403 -> "origin_not_allowed";
      case 429 -> "rate_limited";
      default -> "unavailable";
    };
    return new Route.FulfillOptions().setStatus(status).setHeaders(headers)
        .setBody("{\"error\":{\"code\":\"" + code + "\",\"message\":\"provoked by the test\"}}");
  }

  private static List<JsonObject> ofType(JsonArray events, String type) {
    List<JsonObject> out = new ArrayList<>();
    for (Object e : events) {
      if (type.equals(((JsonObject) e).getString("type"))) {
        out.add((JsonObject) e);
      }
    }
    return out;
  }

  private static List<String> types(JsonArray events) {
    return events.stream().map(e -> ((JsonObject) e).getString("type")).toList();
  }

  /** The ids of the events a request's body carries, in order. */
  /**
   * The bodies of the page's requests to /v1/events: the first is taken and never answered, the next go to the
   * gateway. The page's timers run on a clock the test moves: no test waits the snippet's 30 s.
   */
  private List<String> firstRequestNeverAnswered() {
    List<String> bodies = new CopyOnWriteArrayList<>();
    context.route(gateway.http().base() + "/v1/events", route -> {
      bodies.add(route.request().postData());
      if (bodies.size() > 1) {
        route.resume();
      }
    });
    page.clock().install();
    return bodies;
  }

  private static List<String> eventIds(String body) {
    return new JsonObject(body).getJsonArray("events").stream().map(e -> ((JsonObject) e).getString("id")).toList();
  }

  private static Set<String> ids(JsonArray events) {
    return events.stream().map(e -> ((JsonObject) e).getString("id")).collect(Collectors.toCollection(HashSet::new));
  }

  private void assertProvokedErrorsOnly() {
    errors.console().forEach(e -> assertTrue(PROVOKED.matcher(e).find(), "unexpected console error: " + e));
    assertTrue(errors.uncaught().isEmpty(), () -> "uncaught errors: " + errors.uncaught());
  }
}
