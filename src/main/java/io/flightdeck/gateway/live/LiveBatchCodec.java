package io.flightdeck.gateway.live;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/** Passes a {@link LiveBatch} by reference to the consumers in this process; never sent over a wire. */
public final class LiveBatchCodec implements MessageCodec<LiveBatch, LiveBatch> {

  @Override
  public void encodeToWire(Buffer buffer, LiveBatch batch) {
    throw new UnsupportedOperationException("live batches stay in this process");
  }

  @Override
  public LiveBatch decodeFromWire(int pos, Buffer buffer) {
    throw new UnsupportedOperationException("live batches stay in this process");
  }

  @Override
  public LiveBatch transform(LiveBatch batch) {
    return batch;
  }

  @Override
  public String name() {
    return "flightdeck-live-batch";
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
