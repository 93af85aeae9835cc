package io.flightdeck.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
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
  @DisplayName("the readable source keeps nothing over several lines that compacting line by line would break")
  void sourceCompactsSafely() {
    List<String> lines = SnippetHandler.read(SnippetHandler.SOURCE).lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i);
      assertEquals(0, line.chars().filter(c -> c == '`').count() % 2,
          "line " + (i + 1) + ": a template literal must end on the line it starts: " + line);
      if (i > 0) {
        assertFalse(line.contains("/*"), "line " + (i + 1) + ": use // comments after the first line: " + line);
      }
      assertFalse(line.endsWith("\\"), "line " + (i + 1) + ": no string continued on the next line: " + line);
    }
  }

  @Test
  @DisplayName("compacting drops whole-line comments, indentation and blank lines and keeps the code")
  void compacts() {
    String source = "/*! header */\n// a comment\n(() => {\n\n    const a = 'x // y'; // why\n  \t// more\n})();\n";
    assertEquals("/*! header */\n(() => {\nconst a = 'x // y'; // why\n})();\n", SnippetHandler.compact(source));
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
