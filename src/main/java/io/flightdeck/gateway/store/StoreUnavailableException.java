package io.flightdeck.gateway.store;

/** The store cannot take an append now: queue full, store unreachable past the retry deadline, or shutting down. */
public final class StoreUnavailableException extends RuntimeException {

  public enum Reason { QUEUE_FULL, STORE_DOWN, SHUTTING_DOWN }

  private final Reason reason;
  private final int retryAfterSeconds;

  public StoreUnavailableException(Reason reason, String message, int retryAfterSeconds, Throwable cause) {
    super(message, cause, false, false);
    this.reason = reason;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public Reason reason() {
    return reason;
  }

  public int retryAfterSeconds() {
    return retryAfterSeconds;
  }
}
