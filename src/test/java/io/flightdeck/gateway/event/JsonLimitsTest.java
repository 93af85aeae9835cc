package io.flightdeck.gateway.event;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.math.BigDecimal;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Counting a number's digits written out, without writing out one that would take a gigabyte. */
class JsonLimitsTest {

  @ParameterizedTest(name = "{0}")
  @CsvSource({"0, 1", "42, 2", "-42, 2", "1.50, 3", "0.001, 4", "0.000, 4", "12.3, 3", "1e3, 4", "1e400, 401",
      "1e-400, 401", "0e5, 6", "123456789012345678901234567890.5, 31"})
  @DisplayName("a number's digits written out are those of toPlainString, counted without writing them")
  void writtenOutDigits(String number, long digits) {
    BigDecimal value = new BigDecimal(number);
    assertEquals(digits, JsonLimits.writtenOutDigits(value));
    if (value.signum() != 0 || value.scale() >= 0) {
      assertEquals(digits, value.toPlainString().replace("-", "").replace(".", "").length());
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"1e999999999", "1E-999999999", "-1e2147483647"})
  @DisplayName("a number whose written-out form would be a gigabyte is counted at once")
  void hugeNumbers(String number) {
    assertEquals(true, JsonLimits.writtenOutDigits(new BigDecimal(number)) > 999_999_999L);
  }
}
