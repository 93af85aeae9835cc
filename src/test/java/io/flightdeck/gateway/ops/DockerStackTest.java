package io.flightdeck.gateway.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.flightdeck.gateway.support.MetricsDoc;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * The Docker stack in docker/ (compose, Prometheus, Grafana), checked without a Docker engine: the files parse,
 * point at each other and at files that exist, promtool accepts the Prometheus config and rules, and every
 * query of the dashboard and the alerts names a metric documented in docs/METRICS.md. Whether the gateway
 * really exports each documented metric is checked by the metrics integration test, not here.
 */
@DisplayName("docker/ stack (compose, Prometheus, Grafana), checked without a Docker engine")
class DockerStackTest {

  static final Path ROOT = projectRoot();
  static final Path DOCKER = ROOT.resolve("docker");
  static final Path COMPOSE = DOCKER.resolve("compose.yml");
  static final Path COMPOSE_TOKEN = DOCKER.resolve("compose.metrics-token.yml");
  static final Path PROMETHEUS = DOCKER.resolve("prometheus/prometheus.yml");
  static final Path PROMETHEUS_TOKEN = DOCKER.resolve("prometheus/prometheus-token.yml");
  static final Path RULES = DOCKER.resolve("prometheus/rules.yml");
  static final Path RULES_TEST = DOCKER.resolve("prometheus/rules.test.yml");
  static final Path DATASOURCES = DOCKER.resolve("grafana/provisioning/datasources/prometheus.yml");
  static final Path PROVIDERS = DOCKER.resolve("grafana/provisioning/dashboards/flightdeck.yml");
  static final Path DASHBOARD = DOCKER.resolve("grafana/dashboards/flightdeck.json");
  static final String GATEWAY_JOB = "flightdeck-gateway";

  // --- compose ------------------------------------------------------------------------------------------------

  @Test
  @DisplayName("compose.yml parses and runs postgres (with its health check), gateway, prometheus and grafana")
  void composeHasTheFourServices() {
    Map<String, Object> services = map(yaml(COMPOSE), "services");
    assertEquals(Set.of("postgres", "gateway", "prometheus", "grafana"), services.keySet());

    Map<String, Object> postgres = map(services, "postgres");
    Object check = map(postgres, "healthcheck").get("test");
    assertTrue(check instanceof List<?> l && !l.isEmpty() || check instanceof String s && !s.isBlank(),
        "postgres needs a health check: `make db` runs `up -d --wait postgres`");
    assertTrue(String.valueOf(check).contains("pg_isready"), String.valueOf(check));
    // the image's initialisation (first start on a new volume) runs a server on the Unix socket only and then
    // restarts it: pg_isready on the socket says ready meanwhile, and `up --wait` and the gateway went on too soon
    assertTrue(String.valueOf(check).matches(".*pg_isready .*(-h|--host)[ =](127\\.0\\.0\\.1|localhost)\\b.*"),
        "postgres's health check asks over TCP: " + check);

    Map<String, Object> build = map(map(services, "gateway"), "build");
    Path context = DOCKER.resolve(str(build, "context")).normalize();
    assertTrue(Files.isRegularFile(context.resolve(str(build, "dockerfile"))), "gateway's Dockerfile");
    assertEquals(ROOT.normalize(), context, "the image is built from the repository root");

    for (String name : List.of("postgres", "prometheus", "grafana")) {
      String image = str(map(services, name), "image");
      String tag = image.substring(image.lastIndexOf(':') + 1);
      assertTrue(image.contains(":") && !tag.isBlank() && !tag.equals("latest"), name + ": pinned tag, " + image);
    }
    assertTrue(str(map(services, "prometheus"), "image").startsWith("prom/prometheus:"));
    assertTrue(str(map(services, "grafana"), "image").startsWith("grafana/grafana:"));
    for (String name : List.of("prometheus", "grafana")) {
      assertFalse(map(map(services, name), "healthcheck").isEmpty(), name + " has a health check");
    }

    assertEquals("service_healthy", dependsOn(services, "gateway", "postgres"));
    assertNotNull(dependsOn(services, "prometheus", "gateway"), "prometheus starts after the gateway");
    assertEquals("service_healthy", dependsOn(services, "grafana", "prometheus"));

    assertTrue(containerPorts(map(services, "gateway")).contains(8080), "gateway publishes 8080");
    assertTrue(containerPorts(map(services, "prometheus")).contains(9090), "prometheus publishes 9090");
    assertTrue(containerPorts(map(services, "grafana")).contains(3000), "grafana publishes 3000");
  }

  @Test
  @DisplayName("every bind mount, named volume and secret of both compose files refers to something that exists")
  void composeMountsExist() {
    for (Path file : List.of(COMPOSE, COMPOSE_TOKEN)) {
      Map<String, Object> compose = yaml(file);
      Map<String, Object> base = yaml(COMPOSE);
      Set<String> namedVolumes = new LinkedHashSet<>(map(base, "volumes").keySet());
      namedVolumes.addAll(map(compose, "volumes").keySet());
      Set<String> secrets = map(compose, "secrets").keySet();
      map(compose, "services").forEach((name, service) -> {
        for (Mount m : mounts(castMap(service))) {
          if (m.bind()) {
            assertTrue(Files.exists(DOCKER.resolve(m.source())),
                file.getFileName() + " " + name + ": " + m.source() + " does not exist in docker/");
          } else {
            assertTrue(namedVolumes.contains(m.source()), name + ": undeclared volume " + m.source());
          }
        }
        for (Object s : list(castMap(service), "secrets")) {
          String source = s instanceof Map<?, ?> sm ? String.valueOf(sm.get("source")) : String.valueOf(s);
          assertTrue(secrets.contains(source), name + ": undeclared secret " + source);
        }
      });
    }
  }

  @Test
  @DisplayName("Prometheus scrapes the gateway service's /metrics port, and compose mounts its config and rules")
  void prometheusIsWiredToTheGateway() {
    Map<String, Object> services = map(yaml(COMPOSE), "services");
    Map<String, Object> prometheus = map(services, "prometheus");
    Path config = hostPath(mounts(prometheus), flag(prometheus, "--config.file"));
    assertEquals(PROMETHEUS.normalize(), config.normalize(), "--config.file is docker/prometheus/prometheus.yml");
    String configDir = parentOf(flag(prometheus, "--config.file"));
    for (Object rules : list(yaml(PROMETHEUS), "rule_files")) {
      Path host = hostPath(mounts(prometheus), configDir + "/" + rules);
      assertTrue(Files.isRegularFile(host), rules + " is mounted next to prometheus.yml: " + host);
    }

    Map<String, Object> job = gatewayJob(yaml(PROMETHEUS));
    assertEquals("/metrics", job.getOrDefault("metrics_path", "/metrics"));
    assertTrue(List.of("5s", "15s").contains(String.valueOf(job.get("scrape_interval"))), "5 s or 15 s");
    List<Object> targets = list(castMap(list(job, "static_configs").get(0)), "targets");
    assertEquals(List.of("gateway:" + gatewayMetricsPort(map(services, "gateway"))), targets,
        "the gateway service, on the port that serves /metrics (conf/gateway.yaml metrics.port 0 = http.port)");
  }

  @Test
  @DisplayName("Grafana's datasource points at the prometheus service and its dashboard provider at the mounted JSON")
  void grafanaIsProvisioned() {
    Map<String, Object> grafana = map(map(yaml(COMPOSE), "services"), "grafana");
    List<Mount> mounts = mounts(grafana);
    assertEquals(DATASOURCES.getParent().normalize(),
        hostPath(mounts, "/etc/grafana/provisioning/datasources").normalize());
    assertEquals(PROVIDERS.getParent().normalize(),
        hostPath(mounts, "/etc/grafana/provisioning/dashboards").normalize());

    Map<String, Object> datasource = castMap(list(yaml(DATASOURCES), "datasources").get(0));
    assertEquals("prometheus", datasource.get("type"));
    URI url = URI.create(str(datasource, "url"));
    assertEquals("prometheus", url.getHost(), "the compose service");
    assertEquals(9090, url.getPort());
    assertFalse(str(datasource, "uid").isBlank(), "a fixed uid the dashboard can name");

    Map<String, Object> provider = castMap(list(yaml(PROVIDERS), "providers").get(0));
    assertEquals("file", provider.get("type"));
    Path dashboards = hostPath(mounts, str(map(provider, "options"), "path"));
    assertEquals(DASHBOARD.getParent().normalize(), dashboards.normalize(), "provider folder = grafana/dashboards");

    Map<String, Object> env = map(grafana, "environment");
    Path home = hostPath(mounts, str(env, "GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"));
    assertEquals(DASHBOARD.normalize(), home.normalize(), "the home dashboard is the FlightDeck one");
    assertTrue(str(env, "GF_SECURITY_ADMIN_PASSWORD").startsWith("${GRAFANA_ADMIN_PASSWORD:-"),
        "admin password from GRAFANA_ADMIN_PASSWORD with a documented default");
    assertEquals("Viewer", env.get("GF_AUTH_ANONYMOUS_ORG_ROLE"), "anonymous visitors may only view");
  }

  @Test
  @DisplayName("compose.metrics-token.yml gives the gateway and Prometheus the same token, through prometheus-token.yml")
  void metricsTokenOverride() {
    Map<String, Object> override = yaml(COMPOSE_TOKEN);
    Map<String, Object> services = map(override, "services");
    assertTrue(str(map(map(services, "gateway"), "environment"), "FLIGHTDECK_METRICS_TOKEN")
        .startsWith("${FLIGHTDECK_METRICS_TOKEN:?"), "required when the override is used");
    assertEquals("FLIGHTDECK_METRICS_TOKEN", str(map(map(override, "secrets"), "metrics_token"), "environment"));

    Map<String, Object> prometheus = map(services, "prometheus");
    List<Mount> mounts = new ArrayList<>(mounts(map(map(yaml(COMPOSE), "services"), "prometheus")));
    mounts.addAll(mounts(prometheus)); // compose merges the override's volumes into the base service's
    String configFile = flag(prometheus, "--config.file");
    assertEquals(PROMETHEUS_TOKEN.normalize(), hostPath(mounts, configFile).normalize());

    Map<String, Object> secret = castMap(list(prometheus, "secrets").get(0));
    Map<String, Object> auth = map(gatewayJob(yaml(PROMETHEUS_TOKEN)), "authorization");
    assertEquals("Bearer", auth.getOrDefault("type", "Bearer"));
    String credentials = str(auth, "credentials_file");
    String expected = credentials.startsWith("/") ? credentials : parentOf(configFile) + "/" + credentials;
    assertEquals(expected, secret.get("target"), "the secret is mounted where credentials_file points");
    Object mode = secret.get("mode");
    assertTrue(mode instanceof Integer m && (m & 0004) != 0, "readable by Prometheus (user nobody): " + mode);

    // the same Prometheus config apart from the token
    Map<String, Object> withToken = yaml(PROMETHEUS_TOKEN);
    gatewayJob(withToken).remove("authorization");
    assertEquals(yaml(PROMETHEUS), withToken, "prometheus-token.yml = prometheus.yml + authorization");
  }

  // --- promtool -----------------------------------------------------------------------------------------------

  @Test
  @DisplayName("promtool check config accepts prometheus.yml and prometheus-token.yml, rule files included")
  void promtoolChecksConfig(@TempDir Path tmp) throws Exception {
    String promtool = promtool();
    run(DOCKER.resolve("prometheus"), promtool, "check", "config", PROMETHEUS.toString());

    // prometheus-token.yml names its credentials file relative to itself: give it one in a copy
    Files.copy(PROMETHEUS_TOKEN, tmp.resolve(PROMETHEUS_TOKEN.getFileName()));
    for (Object rules : list(yaml(PROMETHEUS_TOKEN), "rule_files")) {
      Files.copy(PROMETHEUS_TOKEN.resolveSibling(String.valueOf(rules)), tmp.resolve(String.valueOf(rules)));
    }
    String credentials = str(map(gatewayJob(yaml(PROMETHEUS_TOKEN)), "authorization"), "credentials_file");
    Files.writeString(tmp.resolve(credentials), "a-test-token-of-24-chars");
    run(tmp, promtool, "check", "config", tmp.resolve(PROMETHEUS_TOKEN.getFileName()).toString());
  }

  @Test
  @DisplayName("promtool check rules accepts rules.yml and its unit tests (promtool test rules) pass")
  void promtoolChecksAndTestsRules() throws Exception {
    String promtool = promtool();
    run(DOCKER.resolve("prometheus"), promtool, "check", "rules", RULES.toString());
    run(DOCKER.resolve("prometheus"), promtool, "test", "rules", RULES_TEST.toString());
  }

  @Test
  @DisplayName("every dashboard query is valid PromQL (promtool check rules on recording rules made from them)")
  void dashboardQueriesAreValidPromQl(@TempDir Path tmp) throws Exception {
    String promtool = promtool();
    StringBuilder rules = new StringBuilder("groups:\n  - name: dashboard\n    rules:\n");
    int n = 0;
    for (Query q : dashboardQueries()) {
      // Grafana's variables stand for durations; promtool knows none of them
      String expr = q.expr().replaceAll("\\$__(rate_)?interval|\\$__range", "1m");
      rules.append("      - record: dashboard:query_").append(n++).append('\n')
          .append("        expr: ").append(Json.encode(expr)).append('\n'); // a JSON string is YAML too
    }
    Path file = tmp.resolve("dashboard-queries.yml");
    Files.writeString(file, rules);
    String out = run(tmp, promtool, "check", "rules", file.toString());
    assertTrue(out.contains(n + " rules found"), out);
  }

  // --- the dashboard ------------------------------------------------------------------------------------------

  @Test
  @DisplayName("the dashboard JSON parses, and every panel but a row has at least one target with a PromQL expr")
  void dashboardParsesAndEveryPanelHasAQuery() throws IOException {
    JsonObject dashboard = dashboard();
    assertEquals("flightdeck-gateway", dashboard.getString("uid"));
    assertTrue(dashboard.getInteger("schemaVersion") >= 36, "a current Grafana dashboard schema");
    JsonArray panels = dashboard.getJsonArray("panels");
    assertTrue(panels.size() >= 10, "panels: " + panels.size());
    Set<Integer> ids = new LinkedHashSet<>();
    for (JsonObject panel : objects(panels)) {
      String title = panel.getString("title");
      assertTrue(ids.add(panel.getInteger("id")), "duplicate panel id " + panel.getInteger("id"));
      JsonObject grid = panel.getJsonObject("gridPos");
      assertNotNull(grid, title);
      assertTrue(grid.getInteger("x") + grid.getInteger("w") <= 24, title + " fits the 24 columns");
      if ("row".equals(panel.getString("type"))) {
        continue;
      }
      assertTrue(Set.of("timeseries", "stat").contains(panel.getString("type")), title + ": " + panel.getString("type"));
      JsonArray targets = panel.getJsonArray("targets", new JsonArray());
      assertFalse(targets.isEmpty(), title + " has no target");
      Set<String> refIds = new LinkedHashSet<>();
      for (JsonObject target : objects(targets)) {
        String expr = target.getString("expr", "");
        assertFalse(expr.isBlank(), title + ": a target without expr");
        assertTrue(refIds.add(target.getString("refId")), title + ": duplicate refId");
      }
    }
  }

  @Test
  @DisplayName("every datasource the dashboard names is the provisioned Prometheus, by its fixed uid")
  void dashboardUsesTheProvisionedDatasource() throws IOException {
    Map<String, Object> provisioned = castMap(list(yaml(DATASOURCES), "datasources").get(0));
    String uid = str(provisioned, "uid");
    List<Object> refs = new ArrayList<>();
    collectDatasources(dashboard(), refs);
    assertFalse(refs.isEmpty(), "panels name their datasource");
    for (Object ref : refs) {
      assertTrue(ref instanceof JsonObject, "a datasource by uid, not by name: " + ref);
      assertEquals(uid, ((JsonObject) ref).getString("uid"), String.valueOf(ref));
      assertEquals("prometheus", ((JsonObject) ref).getString("type"), String.valueOf(ref));
    }
  }

  @Test
  @DisplayName("every metric the dashboard and the alert rules query is documented in docs/METRICS.md")
  void everyQueriedMetricIsDocumented() throws IOException {
    MetricsDoc doc = MetricsDoc.load();
    List<String> problems = new ArrayList<>();
    for (Query q : dashboardQueries()) {
      Set<String> names = metricNames(q.expr());
      if (names.isEmpty()) {
        problems.add(q.where() + ": queries no metric: " + q.expr());
      }
      for (String name : names) {
        doc.problem(name).ifPresent(p -> problems.add(q.where() + ": " + p));
      }
    }
    for (Object group : list(yaml(RULES), "groups")) {
      for (Object rule : list(castMap(group), "rules")) {
        Map<String, Object> r = castMap(rule);
        for (String name : metricNames(str(r, "expr"))) {
          if (!name.equals("up")) { // Prometheus' own series for each target
            doc.problem(name).ifPresent(p -> problems.add("rules.yml " + r.get("alert") + ": " + p));
          }
        }
      }
    }
    assertEquals(List.of(), problems);
  }

  @Test
  @DisplayName("the dashboard plots what the issue asks: ingest, append quantiles, projections, SSE, errors, latency")
  void dashboardCoversTheIssue() throws IOException {
    Set<String> used = new TreeSet<>();
    StringBuilder all = new StringBuilder();
    for (Query q : dashboardQueries()) {
      used.addAll(metricNames(q.expr()));
      all.append(q.expr()).append('\n');
    }
    for (String required : List.of("flightdeck_events_appended_total", "flightdeck_append_latency_seconds_bucket",
        "flightdeck_projection_lag_seconds", "flightdeck_projection_lag_events",
        "flightdeck_projection_events_applied_total", "flightdeck_projection_dead_letters",
        "flightdeck_sse_connections", "flightdeck_sse_messages_delivered_total",
        "flightdeck_sse_delivery_latency_seconds_bucket", "vertx_http_server_requests_total",
        "flightdeck_ingest_rejected_total", "flightdeck_append_queue_depth",
        "vertx_http_server_response_time_seconds_bucket")) {
      assertTrue(used.contains(required), "no panel plots " + required);
    }
    for (String phi : List.of("0.5", "0.99", "0.999")) {
      assertTrue(all.toString().contains("histogram_quantile(" + phi + ", sum by (le) (rate("
          + "flightdeck_append_latency_seconds_bucket"), "append latency quantile " + phi);
    }
    assertTrue(all.toString().contains("code=~\"4..|5..\""), "HTTP errors by route and code");
    assertTrue(all.toString().contains("sum by (reason)"), "ingest rejected by reason");
  }

  @Test
  @DisplayName("the projection gauges, the same cluster-wide figures from every gateway, are never summed across "
      + "instances on the dashboard")
  void clusterWideGaugesAreNotSummed() throws IOException {
    // every process samples them from the database (docs/METRICS.md): a sum over two gateways would double them
    for (Query q : dashboardQueries()) {
      assertFalse(q.expr().matches("(?s).*sum(\\s+by\\s*\\([^)]*\\))?\\s*\\(\\s*flightdeck_projection_"
              + "(dead_letters|lag_events|lag_seconds|checkpoint_position)\\b.*"),
          q.where() + " sums a cluster-wide gauge over instances: " + q.expr());
    }
  }

  @Test
  @DisplayName("the pool panels show the database pools only: vertx_pool_* also has Vert.x's worker pools")
  void poolQueriesSelectTheDatabasePools() throws IOException {
    // a scrape has vertx_pool_in_use{pool_type="worker",pool_name="vert.x-worker-thread"} beside the sql pools
    for (Query q : dashboardQueries()) {
      if (q.expr().contains("vertx_pool_")) {
        assertTrue(q.expr().matches("(?s).*vertx_pool_\\w+\\{[^}]*pool_type=\"sql\"[^}]*\\}.*"),
            q.where() + " sums the worker pools in: " + q.expr());
      }
    }
  }

  @Test
  @DisplayName("the metric-name check itself: suffixes by type, families, label values ignored, typos caught")
  void metricNameCheckerSelfTest() throws IOException {
    MetricsDoc doc = MetricsDoc.load();
    assertTrue(doc.exact().size() >= 15, "names parsed from docs/METRICS.md: " + doc.exact().keySet());
    assertEquals(Set.of("flightdeck_append_latency_seconds_bucket"),
        metricNames("histogram_quantile(0.99, sum by (le) (rate(flightdeck_append_latency_seconds_bucket"
            + "{pool_name=\"flightdeck_read\"}[$__rate_interval])))"));
    assertEquals(Set.of("flightdek_events_total", "vertx_pool_in_use"),
        metricNames("sum by (site) (rate(flightdek_events_total[5m])) or on (x) vertx_pool_in_use > bool 0"));
    for (String ok : List.of("flightdeck_events_appended_total", "flightdeck_append_latency_seconds_bucket",
        "flightdeck_append_latency_seconds_count", "flightdeck_append_batch_size_sum", "jvm_memory_used_bytes",
        "vertx_pool_queue_pending", "vertx_http_server_response_time_seconds_max")) {
      assertEquals(Optional.empty(), doc.problem(ok), ok);
    }
    for (String bad : List.of("flightdeck_events_appended", "flightdeck_events_appended_total_bucket",
        "vertx_sql_processing_time_seconds_bucket", "flightdeck_append_queue_depth_sum", "flightdek_events_total",
        "vertx_http_server_requests", "flightdeck_projection_lag")) {
      assertTrue(doc.problem(bad).isPresent(), bad + " must be rejected");
    }
  }

  // --- metric names -------------------------------------------------------------------------------------------

  /** Keywords, and aggregation operators (which may stand before {@code by (...)} rather than a parenthesis). */
  private static final Set<String> PROMQL_WORDS = Set.of("by", "without", "on", "ignoring", "group_left",
      "group_right", "and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "sum", "min", "max", "avg",
      "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio");

  /**
   * The metric names a PromQL expression selects: identifiers that are not functions, aggregation operators,
   * keywords, label names (in {@code {...}} or grouping clauses) or durations, with strings removed first, so
   * label values never count.
   */
  static Set<String> metricNames(String expr) {
    String s = expr.replaceAll("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`", "\"\"");
    s = s.replaceAll("\\[[^\\]]*\\]", " ");                 // ranges and subqueries: [5m], [$__rate_interval]
    s = s.replaceAll("\\{[^}]*\\}", " ");                   // label matchers
    s = s.replaceAll("\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)", " $1 ");
    Set<String> names = new TreeSet<>();
    Matcher m = Pattern.compile("(?<![A-Za-z0-9_:.$])[A-Za-z_:][A-Za-z0-9_:]*").matcher(s);
    while (m.find()) {
      String word = m.group();
      boolean call = s.substring(m.end()).matches("(?s)\\s*\\(.*");
      if (!call && !PROMQL_WORDS.contains(word.toLowerCase())) {
        names.add(word);
      }
    }
    return names;
  }

  // --- helpers ------------------------------------------------------------------------------------------------

  record Query(String where, String expr) {
  }

  record Mount(String source, String target, boolean bind) {
  }

  static JsonObject dashboard() throws IOException {
    return new JsonObject(Files.readString(DASHBOARD));
  }

  static List<Query> dashboardQueries() throws IOException {
    List<Query> out = new ArrayList<>();
    for (JsonObject panel : objects(dashboard().getJsonArray("panels"))) {
      for (JsonObject target : objects(panel.getJsonArray("targets", new JsonArray()))) {
        out.add(new Query("panel '" + panel.getString("title") + "' " + target.getString("refId"),
            target.getString("expr", "")));
      }
    }
    assertFalse(out.isEmpty(), "the dashboard has queries");
    return out;
  }

  static void collectDatasources(Object node, List<Object> out) {
    if (node instanceof JsonObject o) {
      for (String key : o.fieldNames()) {
        if (key.equals("datasource")) {
          out.add(o.getValue(key));
        } else {
          collectDatasources(o.getValue(key), out);
        }
      }
    } else if (node instanceof JsonArray a) {
      a.forEach(v -> collectDatasources(v, out));
    }
  }

  static List<JsonObject> objects(JsonArray array) {
    List<JsonObject> out = new ArrayList<>();
    for (int i = 0; i < array.size(); i++) {
      out.add(array.getJsonObject(i));
    }
    return out;
  }

  static Map<String, Object> gatewayJob(Map<String, Object> prometheusConfig) {
    return list(prometheusConfig, "scrape_configs").stream().map(DockerStackTest::castMap)
        .filter(j -> GATEWAY_JOB.equals(j.get("job_name"))).findFirst()
        .orElseThrow(() -> new AssertionError("no scrape job " + GATEWAY_JOB));
  }

  /** The port whose /metrics Prometheus must scrape: conf/gateway.yaml plus the gateway service's environment. */
  static int gatewayMetricsPort(Map<String, Object> gateway) {
    Map<String, Object> conf = yaml(ROOT.resolve("conf/gateway.yaml"));
    Map<String, Object> env = map(gateway, "environment");
    int httpPort = intFrom(env.get("FLIGHTDECK_HTTP_PORT"), map(conf, "http").get("port"));
    int metricsPort = intFrom(env.get("FLIGHTDECK_METRICS_PORT"), map(conf, "metrics").getOrDefault("port", 0));
    return metricsPort == 0 ? httpPort : metricsPort;
  }

  static int intFrom(Object override, Object fallback) {
    return Integer.parseInt(String.valueOf(override != null ? override : fallback).trim());
  }

  static String dependsOn(Map<String, Object> services, String service, String on) {
    Object deps = map(services, service).get("depends_on");
    if (deps instanceof Map<?, ?> m && m.get(on) instanceof Map<?, ?> d) {
      return String.valueOf(d.get("condition"));
    }
    return deps instanceof List<?> l && l.contains(on) ? "service_started" : null;
  }

  static Set<Integer> containerPorts(Map<String, Object> service) {
    Set<Integer> ports = new TreeSet<>();
    for (Object p : list(service, "ports")) {
      String spec = String.valueOf(p).replaceAll("/(tcp|udp)$", "");
      ports.add(Integer.parseInt(spec.substring(spec.lastIndexOf(':') + 1)));
    }
    return ports;
  }

  static List<Mount> mounts(Map<String, Object> service) {
    List<Mount> out = new ArrayList<>();
    for (Object v : list(service, "volumes")) {
      if (v instanceof Map<?, ?> m) {
        String source = String.valueOf(m.get("source"));
        out.add(new Mount(source, String.valueOf(m.get("target")), "bind".equals(m.get("type"))));
      } else {
        String[] parts = String.valueOf(v).split(":");
        boolean bind = parts[0].startsWith(".") || parts[0].startsWith("/") || parts[0].startsWith("~");
        out.add(new Mount(parts[0], parts[1], bind));
      }
    }
    return out;
  }

  /** The file in the repository that a path inside the container is, through the service's bind mounts. */
  static Path hostPath(List<Mount> mounts, String containerPath) {
    for (Mount m : mounts) {
      if (!m.bind()) {
        continue;
      }
      if (containerPath.equals(m.target())) {
        return DOCKER.resolve(m.source());
      }
      if (containerPath.startsWith(m.target() + "/")) {
        return DOCKER.resolve(m.source()).resolve(containerPath.substring(m.target().length() + 1));
      }
    }
    return fail("nothing from the repository is mounted at " + containerPath + " (mounts: " + mounts + ")");
  }

  static String flag(Map<String, Object> service, String name) {
    for (Object arg : list(service, "command")) {
      if (String.valueOf(arg).startsWith(name + "=")) {
        return String.valueOf(arg).substring(name.length() + 1);
      }
    }
    return fail("no " + name + " in " + service.get("command"));
  }

  static String parentOf(String containerPath) {
    return containerPath.substring(0, containerPath.lastIndexOf('/'));
  }

  static String promtool() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "promtool");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    Assumptions.assumeTrue(false,
        "promtool is not on PATH, so this check is skipped: `make metrics-tools` (run by `make test`) installs it "
            + "(Debian package prometheus)");
    return null;
  }

  static String run(Path dir, String... command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail(String.join(" ", command) + " did not finish in 60 s");
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), String.join(" ", command) + " failed:\n" + out);
    return out;
  }

  static Map<String, Object> yaml(Path file) {
    try {
      Object doc = new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file));
      assertTrue(doc instanceof Map<?, ?>, file + " is a YAML mapping");
      return castMap(doc);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> castMap(Object o) {
    assertTrue(o instanceof Map<?, ?>, "a mapping: " + o);
    return (Map<String, Object>) o;
  }

  static Map<String, Object> map(Map<String, Object> parent, String key) {
    Object v = parent.get(key);
    return v == null ? new LinkedHashMap<>() : castMap(v);
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Map<String, Object> parent, String key) {
    Object v = parent.get(key);
    assertTrue(v == null || v instanceof List<?>, key + " is a list: " + v);
    return v == null ? List.of() : (List<Object>) v;
  }

  static String str(Map<String, Object> parent, String key) {
    Object v = parent.get(key);
    assertNotNull(v, "missing " + key + " in " + parent.keySet());
    return String.valueOf(v);
  }

  static Path projectRoot() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !(Files.isRegularFile(dir.resolve("pom.xml")) && Files.isDirectory(dir.resolve("docker")))) {
      dir = dir.getParent();
    }
    assertNotNull(dir, "the project root (pom.xml and docker/) above " + Path.of("").toAbsolutePath());
    return dir;
  }
}
