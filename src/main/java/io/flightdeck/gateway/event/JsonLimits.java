package io.flightdeck.gateway.event;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flightdeck.gateway.config.IngestConfig;

/**
 * The Jackson mapper used for untrusted bodies. Vert.x's shared mapper keeps Jackson's generous defaults
 * (depth 1000, strings of 20 million characters), so ingest parses with its own, tightened to the config.
 */
public final class JsonLimits {

  private JsonLimits() {
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
        .build();
    // duplicate keys make a body mean two things; refuse them instead of silently keeping the last
    factory.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    return new ObjectMapper(factory);
  }
}
