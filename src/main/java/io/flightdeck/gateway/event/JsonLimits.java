package io.flightdeck.gateway.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamWriteFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import io.flightdeck.gateway.config.IngestConfig;
import io.vertx.core.json.jackson.DatabindCodec;
import java.math.BigDecimal;

/**
 * The Jackson mapper used for untrusted bodies. Vert.x's shared mapper keeps Jackson's generous defaults
 * (depth 1000, strings of 20 million characters), so ingest parses with its own, tightened to the config.
 */
public final class JsonLimits {

  /**
   * Digits a number in an event may have when written out in full ({@code 1e400} has 401). jsonb keeps a number
   * exactly and PostgreSQL prints it back written out, so this bounds what one number costs every reader (and
   * keeps it well inside numeric's 131072 digits before the point and 16383 after, and Jackson's plain writing).
   * Every JavaScript number has fewer than 400.
   */
  public static final int MAX_WRITTEN_OUT_DIGITS = 1000;

  private JsonLimits() {
  }

  /**
   * Makes Vert.x's own JSON (what the PostgreSQL client decodes jsonb with, and what every answer and live message
   * is encoded with) keep a number with a fraction or exponent exact, as the ingest mapper does: as a double,
   * {@code 1.50} read back as {@code 1.5} and {@code 1e-400} as {@code 0.0}. Process-wide and idempotent; whole
   * numbers were exact already.
   */
  public static void exactNumbersInVertxJson() {
    DatabindCodec.mapper()
        .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
        .configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
  }

  public static ObjectMapper ingestMapper(IngestConfig ingest) {
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(ingest.maxJsonDepth())
            .maxStringLength(ingest.maxStringLength())
            .maxNumberLength(ingest.maxNumberLength())
            .maxDocumentLength(ingest.maxBodyBytes())
            .maxNameLength(1024)
            .build())
        // numbers go to jsonb as PostgreSQL prints them back, so the data size limit counts what readers get
        .enable(StreamWriteFeature.WRITE_BIGDECIMAL_AS_PLAIN)
        .build();
    // duplicate keys make a body mean two things; refuse them instead of silently keeping the last
    factory.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    ObjectMapper mapper = new ObjectMapper(factory);
    // a fraction or exponent is kept as written, as jsonb keeps it: as a double, 1e400 became "Infinity",
    // 1e-400 became 0 and 0.1000000000000000000001 became 0.1; 1.50 keeps its trailing zero
    mapper.enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);
    mapper.configure(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES, false);
    return mapper;
  }

  /**
   * How many digits a JSON number has written out in full, without writing it ({@code 1e999999999} would take a
   * gigabyte); {@link Long#MAX_VALUE} for a double that is not finite.
   */
  public static long writtenOutDigits(JsonNode number) {
    if ((number.isDouble() || number.isFloat()) && !Double.isFinite(number.doubleValue())) {
      return Long.MAX_VALUE;
    }
    return writtenOutDigits(number.decimalValue());
  }

  /**
   * The digits of {@link BigDecimal#toPlainString()}, counted rather than written; a zero with an exponent counts
   * as if its zeros were written ({@code 0e5} as 6), because Jackson refuses to write plain any exponent beyond
   * 9999, zero or not.
   */
  static long writtenOutDigits(BigDecimal number) {
    long precision = number.precision();
    long scale = number.scale();
    if (scale <= 0) {
      return precision - scale;
    }
    // 0.001 and 0.000 have a zero before the point
    return precision > scale ? precision : scale + 1;
  }
}
