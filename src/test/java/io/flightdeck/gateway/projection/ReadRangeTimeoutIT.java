package io.flightdeck.gateway.projection;

import io.flightdeck.gateway.support.ClassGateway;
import io.flightdeck.gateway.support.PostgresExtension;
import java.time.Duration;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * A read of projections.scanPositions positions that is itself cancelled at db.statementTimeoutMs: the range is as
 * wide as the run of other events in front of form-submissions (2,000,000 positions, a scan of several times the
 * 100 ms, as in {@link SparseTypesScanIT}), while a range of a few hundred thousand positions reads within it. Read
 * over the same range again, the read would be cancelled for ever. The shared window of recent events is off, so
 * that every projection reads the run from the store itself.
 */
@ExtendWith(PostgresExtension.class)
class ReadRangeTimeoutIT {

  static final Duration CATCH_UP = Duration.ofSeconds(20);

  @RegisterExtension
  static final ClassGateway gateway = ClassGateway.with(SparseTypesScanIT.settings(SparseTypesScanIT.OTHER_EVENTS));

  @Test
  @DisplayName("a projection whose read of projections.scanPositions positions outlasts db.statementTimeoutMs reads "
      + "smaller ranges: its checkpoint moves over the run of other events, and its next event is applied once")
  void readRangeLongerThanTheStatementTimeout() {
    SparseTypesScanIT.runOfOtherEvents(gateway, "range-other", CATCH_UP);
    SparseTypesScanIT.nextEventAppliedOnce(gateway, "range-form", CATCH_UP);
  }
}
