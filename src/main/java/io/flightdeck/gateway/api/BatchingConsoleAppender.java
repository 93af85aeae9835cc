package io.flightdeck.gateway.api;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.AppenderAttachable;
import ch.qos.logback.core.spi.AppenderAttachableImpl;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * The access log's appender: one line per request without a thread hand-off per line. Event loops only queue
 * the event (never blocking: beyond {@code queueSize} waiting lines, lines are dropped and counted); a writer
 * thread wakes every {@code flushIntervalMs}, encodes every waiting line with the configured encoder and writes
 * them to stdout, as many whole lines per system call as fit in {@value #PIPE_BUF} bytes (what a pipe writes
 * atomically, so the other loggers' lines on the same stdout never land inside one of ours). logback's
 * AsyncAppender wakes its writer for every line and its console appender writes each line on its own; at ten
 * thousand requests a second on 2 cores those wake-ups and writes cost about a sixth of the gateway's throughput
 * (measured with make bench's single-event phase).
 *
 * <p>Configured in logback.xml like logback's AsyncAppender: an {@code <appender-ref>} names the console
 * appender whose encoder (its format) the lines are written in, so each format is defined once; plus
 * {@code <queueSize>} and {@code <flushIntervalMs>}. That appender's own header and footer stay its own.
 */
public final class BatchingConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent>
    implements AppenderAttachable<ILoggingEvent> {

  /** Linux's PIPE_BUF: a write of at most this many bytes to a pipe is never interleaved with another's. */
  static final int PIPE_BUF = 4096;

  /** The referenced format appender; only its encoder is used. */
  private final AppenderAttachableImpl<ILoggingEvent> formats = new AppenderAttachableImpl<>();
  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 8192;
  private long flushIntervalMs = 100;
  private OutputStream out = new FileOutputStream(FileDescriptor.out);
  private final AtomicLong dropped = new AtomicLong();
  private ArrayBlockingQueue<ILoggingEvent> queue;
  private Thread writer;
  private volatile boolean running;

  public void setQueueSize(int queueSize) {
    this.queueSize = queueSize;
  }

  public void setFlushIntervalMs(long flushIntervalMs) {
    this.flushIntervalMs = flushIntervalMs;
  }

  /** Where the lines go (stdout unless a test says otherwise); set before start. */
  void setOutputStream(OutputStream out) {
    this.out = out;
  }

  /** Lines dropped since start because the queue was full. */
  public long dropped() {
    return dropped.get();
  }

  @Override
  public void start() {
    Iterator<Appender<ILoggingEvent>> referenced = formats.iteratorForAppenders();
    if (!referenced.hasNext() || !(referenced.next() instanceof OutputStreamAppender<ILoggingEvent> format)
        || format.getEncoder() == null) {
      addError("appender " + name + " needs an <appender-ref> to a console appender with an encoder");
      return;
    }
    encoder = format.getEncoder();
    if (queueSize < 1 || flushIntervalMs < 1) {
      addError("queueSize and flushIntervalMs must be positive for appender " + name);
      return;
    }
    queue = new ArrayBlockingQueue<>(queueSize);
    running = true;
    writer = new Thread(this::writeLoop, "access-log-writer");
    writer.setDaemon(true);
    writer.start();
    super.start();
  }

  @Override
  public void stop() {
    if (!isStarted()) {
      return;
    }
    super.stop();
    running = false;
    LockSupport.unpark(writer);
    try {
      writer.join(TimeUnit.SECONDS.toMillis(1));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  protected void append(ILoggingEvent event) {
    // the message is formatted now, on the caller's thread: its arguments may change once we return
    event.prepareForDeferredProcessing();
    if (!queue.offer(event)) {
      dropped.incrementAndGet();
    }
  }

  private void writeLoop() {
    List<ILoggingEvent> batch = new ArrayList<>(queueSize);
    ByteArrayOutputStream chunk = new ByteArrayOutputStream(PIPE_BUF);
    while (running) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(flushIntervalMs));
      drain(batch, chunk);
    }
    drain(batch, chunk);
  }

  private void drain(List<ILoggingEvent> batch, ByteArrayOutputStream chunk) {
    queue.drainTo(batch);
    for (ILoggingEvent event : batch) {
      add(chunk, encoder.encode(event));
    }
    batch.clear();
    writeOut(chunk);
  }

  /** Adds a line to the chunk, writing the chunk out first when the line would take it past PIPE_BUF. */
  private void add(ByteArrayOutputStream chunk, byte[] line) {
    if (chunk.size() > 0 && chunk.size() + line.length > PIPE_BUF) {
      writeOut(chunk);
    }
    chunk.writeBytes(line);
  }

  private void writeOut(ByteArrayOutputStream chunk) {
    if (chunk.size() == 0) {
      return;
    }
    try {
      chunk.writeTo(out);
      out.flush();
    } catch (IOException e) {
      addError("cannot write the access log", e);
    }
    chunk.reset();
  }

  // AppenderAttachable, for logback's <appender-ref>: the format appender is kept, never appended to

  @Override
  public void addAppender(Appender<ILoggingEvent> appender) {
    formats.addAppender(appender);
  }

  @Override
  public Iterator<Appender<ILoggingEvent>> iteratorForAppenders() {
    return formats.iteratorForAppenders();
  }

  @Override
  public Appender<ILoggingEvent> getAppender(String name) {
    return formats.getAppender(name);
  }

  @Override
  public boolean isAttached(Appender<ILoggingEvent> appender) {
    return formats.isAttached(appender);
  }

  @Override
  public void detachAndStopAllAppenders() {
    formats.detachAndStopAllAppenders();
  }

  @Override
  public boolean detachAppender(Appender<ILoggingEvent> appender) {
    return formats.detachAppender(appender);
  }

  @Override
  public boolean detachAppender(String name) {
    return formats.detachAppender(name);
  }
}
