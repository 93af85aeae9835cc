package io.flightdeck.gateway.store;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.pgclient.PgException;
import io.vertx.sqlclient.ClosedConnectionException;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The one rule both append paths use to tell a rollback from a commit that may have happened unseen. */
class TransientErrorsTest {

  private static PgException server(String severity, String state) {
    return new PgException("test", severity, state, null);
  }

  @Test
  @DisplayName("a server's answer to a step before the commit means the transaction never committed")
  void answerBeforeCommitIsARollback() {
    assertFalse(TransientErrors.mayHaveCommitted(server("ERROR", "23505"), false));
    assertFalse(TransientErrors.mayHaveCommitted(server("FATAL", "57P01"), false));
    assertFalse(TransientErrors.mayHaveCommitted(server("PANIC", "XX000"), false));
  }

  @Test
  @DisplayName("an ERROR or FATAL answer to the commit is a rollback; a PANIC may follow a written commit record")
  void answerToTheCommit() {
    assertFalse(TransientErrors.mayHaveCommitted(server("ERROR", "40001"), true));
    assertFalse(TransientErrors.mayHaveCommitted(server("FATAL", "57P01"), true));
    assertTrue(TransientErrors.mayHaveCommitted(server("PANIC", "XX000"), true));
  }

  @Test
  @DisplayName("a connection that broke with no answer leaves the outcome unknown, whichever step was waiting")
  void noAnswerIsUnknown() {
    assertTrue(TransientErrors.mayHaveCommitted(ClosedConnectionException.INSTANCE, false));
    assertTrue(TransientErrors.mayHaveCommitted(ClosedConnectionException.INSTANCE, true));
  }
}
