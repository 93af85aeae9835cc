package io.flightdeck.gateway.support;

import java.util.Map;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * One test class's {@link TestGateway} on that class's database: started before the class's tests, closed after them.
 * It replaces the {@code @BeforeAll}/{@code @AfterAll} pair that started and closed a gateway in every integration
 * test, so that a class declares its gateway, and the overrides it runs with, in one place:
 *
 * <pre>{@code
 * @ExtendWith(PostgresExtension.class)
 * class SomeIT {
 *   @RegisterExtension
 *   static final ClassGateway gateway = ClassGateway.with(Map.of("FLIGHTDECK_PROJECTIONS_POLL_INTERVAL_MS", "200"));
 * }
 * }</pre>
 *
 * <p>Register it on a static field of a class annotated with {@code @ExtendWith(PostgresExtension.class)}. JUnit
 * registers that class-level extension before the class's {@code @RegisterExtension} fields, runs the before-all
 * callbacks in registration order and the after-all ones in reverse: the database exists when the gateway starts and
 * is dropped only after the gateway has stopped. The class's own {@code @BeforeAll} methods run after every before-all
 * callback, so they may already post to the gateway, and its {@code @AfterAll} methods before the gateway closes. A
 * class with more than one such field, or with another extension that must come first (a {@link Chromium}), orders
 * them with {@code @Order}.
 */
public final class ClassGateway implements BeforeAllCallback, AfterAllCallback {

  private final Map<String, String> overrides;
  private TestDatabase db;
  private TestGateway gateway;

  private ClassGateway(Map<String, String> overrides) {
    this.overrides = Map.copyOf(overrides);
  }

  /** A gateway as {@link TestGateway#start(TestDatabase)} starts one: {@code conf/gateway.yaml}, no overrides. */
  public static ClassGateway defaults() {
    return new ClassGateway(Map.of());
  }

  /** A gateway with {@code overrides} as the {@code FLIGHTDECK_*} environment variables (see {@link TestGateway}). */
  public static ClassGateway with(Map<String, String> overrides) {
    return new ClassGateway(overrides);
  }

  @Override
  public void beforeAll(ExtensionContext context) {
    db = PostgresExtension.database(context);
    gateway = TestGateway.start(db, overrides);
  }

  @Override
  public void afterAll(ExtensionContext context) throws Exception {
    TestGateway started = gateway;
    gateway = null;
    db = null;
    if (started != null) { // null when an earlier before-all callback failed, or the gateway did not start
      started.close();
    }
  }

  /** The running gateway. */
  public TestGateway get() {
    if (gateway == null) {
      throw new IllegalStateException("no gateway: it runs between the class's before-all and after-all callbacks");
    }
    return gateway;
  }

  /** A client of the running gateway's HTTP port. */
  public HttpTestClient http() {
    return get().http();
  }

  /** The class's database, the one the gateway runs on. */
  public TestDatabase db() {
    if (db == null) {
      throw new IllegalStateException("no database: it is set between the class's before-all and after-all callbacks");
    }
    return db;
  }
}
