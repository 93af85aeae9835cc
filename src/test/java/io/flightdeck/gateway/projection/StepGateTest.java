package io.flightdeck.gateway.projection;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The gate runs at most its permits of steps at once, the waiting ones in arrival order, each on its own context. */
class StepGateTest {

  private Vertx vertx;

  @BeforeEach
  void start() {
    vertx = Vertx.vertx();
  }

  @AfterEach
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Runs {@code gate.run(step)} on {@code context}; answers what the gate's future completed with. */
  private static CompletableFuture<String> runOn(Context context, StepGate gate, Supplier<Future<String>> step) {
    CompletableFuture<String> answer = new CompletableFuture<>();
    context.runOnContext(v -> gate.run(step).onComplete(ar -> {
      if (ar.succeeded()) {
        answer.complete(ar.result());
      } else {
        answer.completeExceptionally(ar.cause());
      }
    }));
    return answer;
  }

  @Test
  @DisplayName("with one permit, a step starts only when the one before it is done, first come first served")
  void onePermitInArrivalOrder() throws Exception {
    StepGate gate = new StepGate(1);
    List<String> started = new CopyOnWriteArrayList<>();
    List<String> threads = new CopyOnWriteArrayList<>();
    Promise<String> first = Promise.promise();
    Promise<String> second = Promise.promise();
    Context a = vertx.getOrCreateContext();
    Context b = vertx.getOrCreateContext();
    Context c = vertx.getOrCreateContext();

    CompletableFuture<String> one = runOn(a, gate, () -> {
      started.add("one");
      return first.future();
    });
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> started.size() == 1);
    CompletableFuture<String> two = runOn(b, gate, () -> {
      started.add("two");
      threads.add(Thread.currentThread().getName());
      return second.future();
    });
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> gate.waiting() == 1);
    CompletableFuture<String> three = runOn(c, gate, () -> {
      started.add("three");
      return Future.succeededFuture("3");
    });
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> gate.waiting() == 2);
    assertEquals(List.of("one"), started);
    assertEquals(1, gate.running());

    a.runOnContext(v -> first.complete("1"));
    assertEquals("1", one.get(5, TimeUnit.SECONDS));
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> started.size() == 2);
    assertEquals(List.of("one", "two"), started, "the second waiter still waits");
    assertEquals(1, gate.waiting());

    b.runOnContext(v -> second.complete("2"));
    assertEquals("2", two.get(5, TimeUnit.SECONDS));
    assertEquals("3", three.get(5, TimeUnit.SECONDS));
    assertEquals(List.of("one", "two", "three"), started);
    assertEquals(0, gate.running());
    assertEquals(0, gate.waiting());
    // a waiting step runs on the context it was asked from, not on the one that freed the permit
    CompletableFuture<String> bThread = new CompletableFuture<>();
    b.runOnContext(v -> bThread.complete(Thread.currentThread().getName()));
    assertEquals(List.of(bThread.get(5, TimeUnit.SECONDS)), threads);
  }

  @Test
  @DisplayName("two permits run two steps at once; a failed or throwing step gives its permit back")
  void permitsComeBackAfterFailures() throws Exception {
    StepGate gate = new StepGate(2);
    Promise<String> held = Promise.promise();
    Context context = vertx.getOrCreateContext();
    CompletableFuture<String> holding = runOn(context, gate, held::future);
    CompletableFuture<String> failing = runOn(context, gate, () -> Future.failedFuture(new IllegalStateException("no")));
    assertTrue(assertThrows(Exception.class, () -> failing.get(5, TimeUnit.SECONDS)).getMessage().contains("no"));
    CompletableFuture<String> throwing = runOn(context, gate, () -> {
      throw new IllegalStateException("thrown");
    });
    assertTrue(assertThrows(Exception.class, () -> throwing.get(5, TimeUnit.SECONDS)).getMessage()
        .contains("thrown"));
    assertEquals("ok", runOn(context, gate, () -> Future.succeededFuture("ok")).get(5, TimeUnit.SECONDS));
    assertEquals(1, gate.running(), "only the held step");
    context.runOnContext(v -> held.complete("held"));
    assertEquals("held", holding.get(5, TimeUnit.SECONDS));
    assertEquals(0, gate.running());
  }

  @Test
  @DisplayName("a gate needs at least one permit")
  void atLeastOnePermit() {
    assertThrows(IllegalArgumentException.class, () -> new StepGate(0));
  }
}
