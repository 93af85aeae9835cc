package io.flightdeck.gateway.api;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * A failure the client caused or must be told about, with the contract's error body. Handlers fail the routing
 * context with it; {@link FailureHandler} writes it.
 */
public final class ApiError extends RuntimeException {

  private final int status;
  private final String code;
  private final JsonArray details;
  private final Integer retryAfterSeconds;

  public ApiError(int status, String code, String message) {
    this(status, code, message, null, null);
  }

  public ApiError(int status, String code, String message, JsonArray details, Integer retryAfterSeconds) {
    super(message, null, false, false);
    this.status = status;
    this.code = code;
    this.details = details;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  public static ApiError badRequest(String code, String message) {
    return new ApiError(400, code, message);
  }

  public int status() {
    return status;
  }

  public String code() {
    return code;
  }

  public Integer retryAfterSeconds() {
    return retryAfterSeconds;
  }

  /** The contract's body: {@code details} is always there, empty when the error is about no field. */
  public JsonObject body() {
    return new JsonObject().put("error", new JsonObject()
        .put("code", code)
        .put("message", getMessage())
        .put("details", details != null ? details : new JsonArray()));
  }
}
