package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class BatchingConsoleAppenderTest {

  private final LoggerContext context = new LoggerContext();
  /** Every write call the appender made, as it made it. */
  private final List<String> writes = new CopyOnWriteArrayList<>();

  BatchingConsoleAppenderTest() {
    // what SLF4J's logback provider gives the context it starts; events read their MDC through it
    context.setMDCAdapter(new LogbackMDCAdapter());
  }

  private BatchingConsoleAppender appender(int queueSize, long flushIntervalMs) {
    PatternLayoutEncoder encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern("%msg%n");
    encoder.start();
    // the format appender logback.xml references: only its encoder is used
    OutputStreamAppender<ILoggingEvent> format = new OutputStreamAppender<>();
    format.setEncoder(encoder);
    BatchingConsoleAppender appender = new BatchingConsoleAppender();
    appender.setContext(context);
    appender.setName("access-test");
    appender.addAppender(format);
    appender.setQueueSize(queueSize);
    appender.setFlushIntervalMs(flushIntervalMs);
    appender.setOutputStream(new OutputStream() {
      @Override
      public void write(int b) {
        throw new AssertionError("the appender writes whole chunks, never single bytes");
      }

      @Override
      public void write(byte[] b, int off, int len) {
        writes.add(new String(b, off, len, StandardCharsets.UTF_8));
      }
    });
    appender.start();
    assertTrue(appender.isStarted(), () -> context.getStatusManager().getCopyOfStatusList().toString());
    return appender;
  }

  private LoggingEvent event(String message, Object... args) {
    return new LoggingEvent("test", context.getLogger("flightdeck.access"), Level.INFO, message, null, args);
  }

  @Test
  @DisplayName("lines from many threads are all written once, many per write, each write whole lines within PIPE_BUF")
  void batchesWholeLines() throws Exception {
    BatchingConsoleAppender appender = appender(20_000, 20);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < 4; t++) {
      int thread = t;
      Thread caller = new Thread(() -> {
        for (int i = 0; i < 2500; i++) {
          appender.doAppend(event("POST /v1/events 200 {}ms thread {} line {}", 1, thread, i));
        }
      });
      caller.start();
      threads.add(caller);
    }
    for (Thread t : threads) {
      t.join();
    }
    appender.stop();

    Set<String> lines = new TreeSet<>();
    int count = 0;
    for (String w : writes) {
      assertTrue(w.length() <= BatchingConsoleAppender.PIPE_BUF, "a write of " + w.length() + " bytes");
      assertTrue(w.endsWith("\n"), "a write that ends inside a line");
      for (String line : w.split("\n")) {
        lines.add(line);
        count++;
      }
    }
    assertEquals(10_000, count);
    assertEquals(10_000, lines.size());
    assertTrue(lines.contains("POST /v1/events 200 1ms thread 3 line 2499"));
    assertEquals(0, appender.dropped());
    assertTrue(writes.size() <= 10_000 / 20, writes.size() + " writes for 10000 lines");
  }

  @Test
  @DisplayName("a full queue drops lines instead of blocking the caller, and counts them")
  void dropsWhenFull() {
    BatchingConsoleAppender appender = appender(10, 60_000);
    for (int i = 0; i < 25; i++) {
      appender.doAppend(event("line {}", i));
    }
    assertEquals(15, appender.dropped());
    appender.stop();

    String written = String.join("", writes);
    assertEquals(Arrays.asList("line 0", "line 1", "line 2", "line 3", "line 4", "line 5", "line 6", "line 7",
        "line 8", "line 9"), Arrays.asList(written.split("\n")));
  }
}
