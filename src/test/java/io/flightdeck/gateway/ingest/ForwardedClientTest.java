package io.flightdeck.gateway.ingest;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Which entry of a trusted proxy's header names the client, and the address in it. */
class ForwardedClientTest {

  @Test
  @DisplayName("X-Forwarded-For lines are one list of trimmed entries, in order, empty ones left out")
  void forwardedForEntries() {
    assertEquals(List.of("203.0.113.7", "10.0.0.1", "[2001:db8::1]:80", "192.0.2.1"),
        ForwardedClient.entries(List.of(" 203.0.113.7 , 10.0.0.1,,[2001:db8::1]:80 ", "192.0.2.1"), false));
    assertEquals(List.of(), ForwardedClient.entries(List.of("", " , "), false));
  }

  @Test
  @DisplayName("a Forwarded element's hop is its for= parameter, any case; an element without one is still a hop")
  void forwardedElements() {
    assertEquals(List.of("\"[2001:db8:cafe::17]:4711\"", "192.0.2.60", ""), ForwardedClient.entries(
        List.of("for=\"[2001:db8:cafe::17]:4711\";proto=https, By=10.0.0.1; FOR = 192.0.2.60", "proto=http"), true));
  }

  @Test
  @DisplayName("a quote a client leaves open does not hide the elements the proxy appended after it")
  void openQuoteDoesNotSwallowTheProxysElement() {
    List<String> entries = ForwardedClient.entries(List.of("for=198.51.100.9;x=\"a, for=192.0.2.60"), true);
    assertEquals("192.0.2.60", ForwardedClient.pick(entries, 1));
  }

  @ParameterizedTest(name = "{1} hops of {0}: {2}")
  @CsvSource(delimiter = '|', value = {
      "a,b,c | 1 | c",
      "a,b,c | 2 | b",
      "a,b,c | 3 | a",
      "a,b,c | 4 | a",
      "a | 10 | a"})
  @DisplayName("the client is the entry as many from the right as there are trusted proxies, else the leftmost")
  void pick(String entries, int hops, String client) {
    assertEquals(client, ForwardedClient.pick(List.of(entries.split(",")), hops));
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @CsvSource(delimiter = '|', value = {
      "203.0.113.7 | 203.0.113.7",
      "203.0.113.7:4711 | 203.0.113.7",
      "2001:db8::1 | 2001:db8::1",
      "fe80::1%eth0 | fe80::1%eth0",
      "[2001:db8:cafe::17] | 2001:db8:cafe::17",
      "[2001:db8:cafe::17]:4711 | 2001:db8:cafe::17",
      "[fe80::1%eth0]:80 | fe80::1%eth0",
      "\"[2001:db8:cafe::17]:4711\" | 2001:db8:cafe::17",
      "\"192.0.2.60\" | 192.0.2.60",
      "unknown | unknown",
      "_hidden:80 | _hidden"})
  @DisplayName("a node's address is read without quotes, brackets or port; IPv6 keeps its zone for anonymizing")
  void literal(String node, String literal) {
    assertEquals(literal, ForwardedClient.literal(node));
  }

  @Test
  @DisplayName("a bracketed node that does not end in ] or ]:port names no address")
  void malformedBrackets() {
    assertNull(ForwardedClient.literal("[2001:db8::1"));
    assertNull(ForwardedClient.literal("[2001:db8::1]x"));
    assertNull(ForwardedClient.literal("[]"));
  }
}
