package io.flightdeck.gateway.dashboard;

import static com.microsoft.playwright.assertions.PlaywrightAssertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.microsoft.playwright.BrowserContext;
import com.microsoft.playwright.Locator;
import com.microsoft.playwright.Page;
import com.microsoft.playwright.assertions.PlaywrightAssertions;
import io.flightdeck.gateway.support.Chromium;
import io.flightdeck.gateway.support.Chromium.PageErrors;
import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.TestGateway;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The live dashboard when the store's history changes under the gateway (docs/API.md, the live feed): a failover
 * promoted a replica that had not received the last commits, so events the page shows are gone and new events take
 * their positions. Each test makes that happen to its database as LiveHistoryChangeIT does.
 */
@ExtendWith(PostgresExtension.class)
class DashboardHistoryBrowserIT {

  @RegisterExtension
  @Order(1)
  static final Chromium CHROMIUM = new Chromium("The dashboard's history-change browser test");
  // no projections: their checkpoints would be past the positions given out again (a real replica's are not)
  @RegisterExtension
  @Order(2)
  static final ClassGateway gateway = ClassGateway.with(Map.of(
      "FLIGHTDECK_PROJECTIONS_ENABLED", "false",
      "FLIGHTDECK_LIVE_POLL_INTERVAL_MS", "200"));

  BrowserContext context;
  Page page;
  final PageErrors errors = new PageErrors();

  @BeforeAll
  static void defaultWaits() {
    PlaywrightAssertions.setDefaultAssertionTimeout(DashboardBrowserIT.WAIT_MS);
  }

  @BeforeEach
  void openTab() {
    context = CHROMIUM.newContext();
    page = errors.newPage(context);
    page.navigate(gateway.http().base() + "/");
    page.locator("#token-input").fill(TestGateway.READ_TOKEN);
    page.locator("#token-submit").click();
    assertThat(page.locator("#state")).hasText("live");
  }

  @Test
  @DisplayName("new events in the positions of events the store lost show live, and the lost events leave the list")
  void newEventsInLostPositions() {
    long kept = position(post(HttpTestClient.pageView("dash-h1", "/dash-h1-kept")), 0);
    post(HttpTestClient.pageView("dash-h1", "/dash-h1-lost-1"), HttpTestClient.pageView("dash-h1", "/dash-h1-lost-2"));
    assertThat(summaries("/dash-h1-lost-2")).hasCount(1);

    gateway.db().loseEventsAfter(kept);
    JsonArray fresh = post(HttpTestClient.pageView("dash-h1", "/dash-h1-new-1"),
        HttpTestClient.pageView("dash-h1", "/dash-h1-new-2"));
    assertEquals(kept + 1, position(fresh, 0), "the new history gives the lost positions out again");

    // before, the page took them for events it had shown already and dropped them, and kept the lost ones
    assertThat(summaries("/dash-h1-new-1")).hasCount(1);
    assertThat(summaries("/dash-h1-new-2")).hasCount(1);
    assertThat(summaries("/dash-h1-lost-1")).hasCount(0);
    assertThat(summaries("/dash-h1-lost-2")).hasCount(0);
    assertThat(summaries("/dash-h1-kept")).hasCount(1);
    assertThat(page.locator("#live-list tr").first().locator("td.summary")).hasText("/dash-h1-new-2");
    assertThat(page.locator("#last-position")).hasText("last event #" + position(fresh, 1));
    assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
  }

  @Test
  @DisplayName("events the store lost leave the list even when no new event follows, and the next one shows")
  void lostEventsLeaveWithoutNewOnes() {
    long kept = position(post(HttpTestClient.pageView("dash-h2", "/dash-h2-kept")), 0);
    post(HttpTestClient.pageView("dash-h2", "/dash-h2-lost"));
    assertThat(summaries("/dash-h2-lost")).hasCount(1);

    gateway.db().loseEventsAfter(kept);
    // the page reads the store's head every 10 s
    assertThat(summaries("/dash-h2-lost")).hasCount(0);
    assertThat(summaries("/dash-h2-kept")).hasCount(1);
    assertThat(page.locator("#last-position")).hasText("last event #" + kept);

    post(HttpTestClient.pageView("dash-h2", "/dash-h2-next"));
    assertThat(summaries("/dash-h2-next")).hasCount(1);
    assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
  }

  @Test
  @DisplayName("events the store lost leave the list also when the new history's positions skip past theirs (a "
      + "promoted replica's position sequence may be ahead: PostgreSQL logs a sequence 32 values ahead), and the new "
      + "events show")
  void lostEventsLeaveWhenNewPositionsSkipPastThem() {
    long kept = position(post(HttpTestClient.pageView("dash-h3", "/dash-h3-kept")), 0);
    JsonArray lost = post(HttpTestClient.pageView("dash-h3", "/dash-h3-lost-1"),
        HttpTestClient.pageView("dash-h3", "/dash-h3-lost-2"));
    assertThat(summaries("/dash-h3-lost-2")).hasCount(1);

    gateway.db().loseEventsAfter(kept);
    gateway.db().execute("SELECT setval(pg_get_serial_sequence('events', 'position'), " + (kept + 40) + ")");
    JsonArray fresh = post(HttpTestClient.pageView("dash-h3", "/dash-h3-new"));
    assertTrue(position(fresh, 0) > position(lost, 1), "the new event's position is past the lost ones'");

    assertThat(summaries("/dash-h3-new")).hasCount(1);
    // before, neither the feed's next event (a new position) nor the store's head (above the lost events) said so
    assertThat(summaries("/dash-h3-lost-1")).hasCount(0);
    assertThat(summaries("/dash-h3-lost-2")).hasCount(0);
    assertThat(summaries("/dash-h3-kept")).hasCount(1);
    assertThat(page.locator("#live-list tr").first().locator("td.summary")).hasText("/dash-h3-new");
    assertThat(page.locator("#last-position")).hasText("last event #" + position(fresh, 0));
    assertTrue(errors.uncaught().isEmpty(), errors.uncaught()::toString);
  }

  private Locator summaries(String text) {
    return page.locator("#live-list td.summary").filter(new Locator.FilterOptions().setHasText(text));
  }

  private static long position(JsonArray results, int i) {
    return results.getJsonObject(i).getLong("position");
  }

  private static JsonArray post(JsonObject... events) {
    return gateway.http().postBatch(events);
  }
}
