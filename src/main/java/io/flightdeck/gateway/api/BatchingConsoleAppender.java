package io.flightdeck.gateway.api;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;
import java.io.ByteArrayOutputStream;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
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
 * <p>Configured in logback.xml like any appender: {@code <encoder>}, {@code <queueSize>},
 * {@code <flushIntervalMs>}.
 */
public final class BatchingConsoleAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {

  /** Linux's PIPE_BUF: a write of at most this many bytes to a pipe is never interleaved with another's. */
  static final int PIPE_BUF = 4096;

  private Encoder<ILoggingEvent> encoder;
  private int queueSize = 8192;
  private long flushIntervalMs = 100;
  private OutputStream out = new FileOutputStream(FileDescriptor.out);
  private final AtomicLong dropped = new AtomicLong();
  private ArrayBlockingQueue<ILoggingEvent> queue;
  private Thread writer;
  private volatile boolean running;

  public void setEncoder(Encoder<ILoggingEvent> encoder) {
    this.encoder = encoder;
  }

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
    if (encoder == null) {
      addError("no encoder for appender " + name);
      return;
    }
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
    add(chunk, encoder.headerBytes());
    while (running) {
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(flushIntervalMs));
      drain(batch, chunk);
    }
    drain(batch, chunk);
    add(chunk, encoder.footerBytes());
    writeOut(chunk);
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
    if (line == null || line.length == 0) {
      return;
    }
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
}
