package io.flightdeck.gateway.config;

/**
 * Limits on what one ingest request may carry. The defaults are the contract's.
 *
 * @param maxBodyBytes request body limit, enforced while reading (413)
 * @param maxBatchEvents events in one request (413 above)
 * @param maxDataBytes one event's {@code data}, serialized (413 above)
 * @param maxJsonDepth nesting depth of the body (400 above)
 * @param maxStringLength characters in any one JSON string (400 above)
 * @param maxNumberLength digits in any one JSON number (400 above)
 * @param maxMetadataEntries keys in one event's {@code metadata}
 * @param maxMetadataValueLength characters in one metadata value
 */
public record IngestConfig(int maxBodyBytes, int maxBatchEvents, int maxDataBytes, int maxJsonDepth,
                           int maxStringLength, int maxNumberLength, int maxMetadataEntries,
                           int maxMetadataValueLength) {

  static IngestConfig from(Section s) {
    return new IngestConfig(
        s.integer("maxBodyBytes", 512 * 1024, 1024, 64 * 1024 * 1024),
        s.integer("maxBatchEvents", 500, 1, 10_000),
        s.integer("maxDataBytes", 32 * 1024, 64, 16 * 1024 * 1024),
        s.integer("maxJsonDepth", 32, 4, 1000),
        s.integer("maxStringLength", 32 * 1024, 256, 16 * 1024 * 1024),
        s.integer("maxNumberLength", 64, 16, 1000),
        s.integer("maxMetadataEntries", 64, 0, 10_000),
        s.integer("maxMetadataValueLength", 2048, 16, 1024 * 1024));
  }
}
