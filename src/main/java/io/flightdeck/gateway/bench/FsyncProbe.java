package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A flush of {@value #BYTES} bytes forced to disk (fdatasync), timed: what a commit waits for, measured outside
 * PostgreSQL. The file is written once when opened, so later flushes overwrite an allocated block, as PostgreSQL
 * reuses WAL segments; it is removed on close. Blocking: a thread of its own or a worker.
 */
final class FsyncProbe implements AutoCloseable {

  static final int BYTES = 8192;

  private final Path file;
  private final FileChannel channel;
  private final ByteBuffer block = ByteBuffer.allocateDirect(BYTES);

  private FsyncProbe(Path file, FileChannel channel) {
    this.file = file;
    this.channel = channel;
  }

  /** A probe of the file system {@code dir} is on; its file is {@code name} there. */
  static FsyncProbe open(Path dir, String name) throws IOException {
    Path file = dir.resolve(name);
    FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING);
    FsyncProbe probe = new FsyncProbe(file, channel);
    try {
      probe.flushMicros();
    } catch (IOException e) {
      probe.close();
      throw e;
    }
    return probe;
  }

  /** Writes the block again and forces it to disk; answers how long that took, in microseconds. */
  long flushMicros() throws IOException {
    long t0 = System.nanoTime();
    channel.write(block.clear(), 0);
    channel.force(false);
    return (System.nanoTime() - t0) / 1000;
  }

  @Override
  public void close() throws IOException {
    try {
      channel.close();
    } finally {
      Files.deleteIfExists(file);
    }
  }
}
