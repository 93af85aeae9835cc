package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

class SnippetHandlerTest {

  static final int MAX_GZIPPED_BYTES = 6 * 1024;

  @Test
  @DisplayName("the snippet a browser downloads is at most 6 KB gzip-compressed")
  void sizeBound() {
    int size = SnippetHandler.shared().gzippedSize();
    System.out.println("fd.js served: " + SnippetHandler.shared().body().length() + " bytes, " + size + " gzipped");
    assertTrue(size <= MAX_GZIPPED_BYTES, "fd.js is " + size + " bytes gzipped; the budget is " + MAX_GZIPPED_BYTES);
  }

  @Test
  @DisplayName("the served snippet is the minified one: the header comment first, then one strict IIFE, nothing the "
      + "minifier injected, and far smaller than the readable source")
  void servesTheMinifiedScript() {
    String body = SnippetHandler.shared().body();
    String header = body.substring(0, body.indexOf('\n'));
    String code = body.substring(header.length()).strip();
    assertTrue(header.startsWith("/*! FlightDeck fd.js") && header.endsWith("*/"), header);
    assertTrue(code.startsWith("(()=>{'use strict';") && code.endsWith("})();"), code.substring(0, 40));
    assertFalse(body.contains("$jscomp"), "nothing injected by the compiler");
    assertTrue(body.length() < SnippetHandler.read("static/snippet/fd.js").length() * 3 / 4, "minified");
  }

  @Test
  @DisplayName("gzip is sent only to clients that accept it")
  void acceptEncoding() {
    assertTrue(SnippetHandler.acceptsGzip("gzip, deflate, br"));
    assertTrue(SnippetHandler.acceptsGzip("br;q=1.0, GZIP;q=0.5"));
    assertFalse(SnippetHandler.acceptsGzip("gzip;q=0"));
    assertFalse(SnippetHandler.acceptsGzip("br"));
    assertFalse(SnippetHandler.acceptsGzip(null));
  }
}
