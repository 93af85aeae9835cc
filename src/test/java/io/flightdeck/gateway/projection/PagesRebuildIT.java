package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.HttpTestClient;
import io.flightdeck.gateway.support.HttpTestClient.Response;
import io.flightdeck.gateway.support.PostgresExtension;
import io.flightdeck.gateway.support.ReadModelCheck;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A client walking {@code GET /v1/pages} through {@code next} while an admin rebuilds page-stats, which empties the
 * table and refills it from the store: its cursor may stand at a row not refilled yet.
 */
@ExtendWith(PostgresExtension.class)
class PagesRebuildIT {

  // one event per projection transaction, so a rebuild refills the rows one at a time
  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200",
      "FLIGHTDECK_PROJECTIONS_BATCH_SIZE", "1"));

  /** The advisory lock the test holds to keep the rebuild from refilling /pr/a's row. */
  static final long STALL_LOCK = 4343;
  static final String RANGE = "/v1/pages?site=demo&from=2025-04-01&to=2025-04-02&limit=1";

  @Test
  @DisplayName("a cursor given before a rebuild of page-stats is 409 cursor_expired, not a walk that silently leaves "
      + "out the rows refilled after it")
  void cursorFromBeforeARebuildExpires() throws Exception {
    // stored /pr/b, /pr/c, then /pr/a: a replay refills /pr/a's row after the two that follow it in page order
    gateway.http().postBatch(view("pr-1", "/pr/b", "2025-04-01"), view("pr-2", "/pr/c", "2025-04-01"),
        view("pr-3", "/pr/a", "2025-04-01"), view("pr-4", "/pr/e", "2025-04-02"));
    ReadModelCheck.awaitCaughtUp(gateway.db(), Duration.ofSeconds(20));
    JsonObject byPage = ok(RANGE + "&order=page");
    JsonObject byViews = ok(RANGE);
    assertEquals("/pr/a", pageIds(byPage).get(0));
    assertEquals("/pr/a", pageIds(byViews).get(0), "ties of views by page id");
    String unstamped = byPage.getString("next").replaceFirst("^(p\\.[^.]+)\\.[0-9]+\\.", "$1.");
    assertEquals(List.of("/pr/b"), pageIds(ok(RANGE + "&order=page&after=" + unstamped)),
        "a cursor of an earlier release (no rebuild stamp) still walks on");

    gateway.db().execute("""
        CREATE FUNCTION stall_pr_a() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          PERFORM pg_advisory_lock_shared(%d);
          PERFORM pg_advisory_unlock_shared(%d);
          RETURN NEW;
        END $$""".formatted(STALL_LOCK, STALL_LOCK));
    gateway.db().execute("CREATE TRIGGER stall_pr_a BEFORE INSERT ON page_stats FOR EACH ROW "
        + "WHEN (NEW.page_id = '/pr/a') EXECUTE FUNCTION stall_pr_a()");
    try (Connection holder = gateway.db().connect(); Statement st = holder.createStatement()) {
      st.execute("SELECT pg_advisory_lock(" + STALL_LOCK + ")");
      Response rebuild = gateway.http().postWithAdminToken("/v1/admin/projections/page-stats/rebuild");
      assertEquals(202, rebuild.status(), rebuild.body());
      Awaitility.await("/pr/b and /pr/c refilled, /pr/a held").atMost(Duration.ofSeconds(20))
          .until(() -> gateway.db().queryLong("SELECT count(*) FROM page_stats WHERE page_id IN ('/pr/b', '/pr/c')")
              == 2);
      assertEquals(0, gateway.db().queryLong("SELECT count(*) FROM page_stats WHERE page_id = '/pr/a'"));

      for (String path : List.of(RANGE + "&order=page&after=" + byPage.getString("next"),
          RANGE + "&after=" + byViews.getString("next"))) {
        Response r = gateway.http().getWithReadToken(path);
        assertEquals(409, r.status(), path + ": " + r.body());
        assertEquals("cursor_expired", r.errorCode(), path);
      }
      st.execute("SELECT pg_advisory_unlock(" + STALL_LOCK + ")");
    } finally {
      gateway.db().execute("DROP TRIGGER stall_pr_a ON page_stats");
    }
    ReadModelCheck.awaitCaughtUp(gateway.db(), Duration.ofSeconds(20));

    Response stillOld = gateway.http().getWithReadToken(RANGE + "&order=page&after=" + byPage.getString("next"));
    assertEquals(409, stillOld.status(), "a walk begun before the rebuild starts again: " + stillOld.body());
    assertEquals(List.of("/pr/a", "/pr/b", "/pr/c", "/pr/e"), walk(RANGE + "&order=page"));
    assertEquals(List.of("/pr/a", "/pr/b", "/pr/c", "/pr/e"), walk(RANGE));
  }

  static JsonObject view(String streamId, String pageId, String day) {
    return HttpTestClient.pageView(streamId, pageId).put("occurredAt", day + "T10:00:00Z");
  }

  static JsonObject ok(String path) {
    Response r = gateway.http().getWithReadToken(path);
    assertEquals(200, r.status(), path + ": " + r.body());
    return r.json();
  }

  static List<String> pageIds(JsonObject answer) {
    List<String> ids = new ArrayList<>();
    JsonArray pages = answer.getJsonArray("pages");
    for (int i = 0; i < pages.size(); i++) {
      ids.add(pages.getJsonObject(i).getString("pageId"));
    }
    return ids;
  }

  /** Every page id of a walk through next, in order. */
  static List<String> walk(String path) {
    List<String> ids = new ArrayList<>();
    String after = null;
    for (int i = 0; i < 10; i++) {
      JsonObject answer = ok(path + (after == null ? "" : "&after=" + after));
      ids.addAll(pageIds(answer));
      after = answer.getString("next");
      if (after == null) {
        return ids;
      }
    }
    assertNull(after, "the walk ends");
    return ids;
  }
}
