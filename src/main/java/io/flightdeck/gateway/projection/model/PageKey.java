package io.flightdeck.gateway.projection.model;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The key page_stats and page_visitors index a page by: the SHA-256 of its id's UTF-8 bytes, 32 bytes however long
 * the id (a page id may be 8 KB of UTF-8, more than a btree entry holds). The same digest V5 computed in the
 * database as {@code sha256(convert_to(page_id, 'UTF8'))}, so rows keyed then are found now; the gateway computes
 * it since V6, because the database could only do so through a SQL function it re-planned for every statement.
 */
public final class PageKey {

  private PageKey() {
  }

  /** The key of {@code pageId}, as the projection's statement takes it. */
  static Buffer of(String pageId) {
    return Buffer.buffer(digest(pageId));
  }

  /** The SHA-256 of {@code pageId}'s UTF-8 bytes. */
  public static byte[] digest(String pageId) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(pageId.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
