package io.flightdeck.gateway.bench;

import java.util.Comparator;
import java.util.List;
import java.util.TreeMap;

/** The report's second half: C_db per client count, who used the cores, the method, and the checks. */
final class ReportNotes {

  private final StringBuilder md;
  private final Report.Context ctx;
  private final BenchRun.Results r;

  ReportNotes(StringBuilder md, Report.Context ctx, BenchRun.Results r) {
    this.md = md;
    this.ctx = ctx;
    this.r = r;
  }

  void write() {
    sharedCores();
    cdbDetail();
    method();
    checks();
  }

  private void sharedCores() {
    CpuProbe.Usage u = r.single().load().cpu();
    line("## Read this first: everything shares " + ctx.machine().cores() + " cores");
    line("");
    line("The load generator, the gateway and PostgreSQL run on the same machine and compete for the same "
        + ctx.machine().cores() + " cores, as the targets require. At the single-event maximum the load generator "
        + "used " + Report.cores(u.generator()) + " cores, the gateway " + Report.cores(u.gateway())
        + ", PostgreSQL " + Report.cores(u.postgres()) + ", and everything else on the machine "
        + Report.cores(u.other()) + " (of " + Report.cores(u.machine()) + " busy). Whatever the load generator "
        + "uses is taken from the gateway and PostgreSQL, so the gateway's figures are lower than they would be "
        + "with clients on other machines. C_db pays the same tax: pgbench ran on these cores too"
        + r.cdb().best().map(b -> " (" + Report.cores(b.cpu().generator()) + " cores)").orElse("") + ". "
        + "\"Everything else\" above zero is other work on the machine "
        + "and makes every figure here lower than on a quiet machine.");
    line("");
  }

  private void cdbDetail() {
    line("## C_db per pgbench client count");
    line("");
    if (r.cdb().runs().isEmpty()) {
      line("Not measured: " + r.cdb().skipped() + ". The ratios and targets are n/a.");
      line("");
      return;
    }
    line("`pgbench -n -M prepared -j 2 -P 1` on a fresh database per client count, running this script (one "
        + "statement, so one transaction and one advisory lock per " + PgBench.ROWS_PER_TRANSACTION + " rows):");
    line("");
    line("```sql");
    md.append(PgBench.SCRIPT);
    line("```");
    line("");
    line("That is the bare insert, trigger included. The gateway's append statement does more per event (the "
        + "duplicate-id check, each stream's head version, RETURNING, one NOTIFY per transaction): work the ratios "
        + "charge to the gateway.");
    line("");
    line("| clients | transactions/s | rows/s | failed | CPU pgbench | CPU gateway | CPU PostgreSQL | CPU machine |");
    line("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (PgBench.Run run : r.cdb().runs()) {
      line("| " + run.clients() + " | " + BenchText.num("%.1f", run.transactionsPerSecond()) + " | "
          + BenchText.num("%.0f", run.rowsPerSecond()) + " | " + run.failed() + " | " + Report.cpuCells(run.cpu())
          + " |");
    }
    line("");
    List<PgBench.Run> runs = r.cdb().runs();
    if (runs.size() > 1 && r.cdb().best().orElseThrow() == runs.get(runs.size() - 1)) {
      line("The most clients tried did best, so C_db may be higher still with more; that flatters the ratios.");
      line("");
    }
  }

  /** What the waits for quiet storage before each phase came to. */
  private String quietStorage() {
    List<QuietStorage.Wait> waits = r.quietWaits();
    String how = "Before each phase (C_db's runs included), after its database is created and the CHECKPOINT, the "
        + "benchmark waits until the storage is quiet, at most "
        + QuietStorage.limit(ctx.options().smoke()).toSeconds() + " s: " + QuietStorage.QUIET_FLUSHES
        + " fsync probe flushes in a row each under "
        + QuietStorage.QUIET_FLUSH_MS + " ms, with under " + QuietStorage.QUIET_DIRTY_MIB + " MiB of dirty pages "
        + "and under " + QuietStorage.QUIET_WRITEBACK_KIB / 1024 + " MiB in writeback in /proc/meminfo. In two "
        + "runs before there was this wait, the WAL flushes of the phase right after C_db took about twice as long "
        + "as those of the later phases. ";
    if (waits.isEmpty()) {
      return how + "No phase waited in this run.";
    }
    QuietStorage.Wait longest = waits.stream().max(Comparator.comparingDouble(QuietStorage.Wait::seconds)).get();
    List<String> loud = waits.stream().filter(w -> !w.quiet()).map(QuietStorage.Wait::phase).toList();
    return how + "This run waited " + waits.size() + " times, the longest " + BenchText.num("%.1f s", longest.seconds())
        + " (before " + longest.phase() + "); " + (loud.isEmpty() ? "every phase started on quiet storage."
            : "not quiet within the limit before " + String.join(", ", loud) + ": those phases may have paid for "
            + "earlier I/O.");
  }

  private void method() {
    String batchConnections = BenchText.listing(BenchRun.batchConnections(ctx.options().smoke()));
    line("## How it was measured");
    line("");
    bullet("Every phase runs on a fresh database; every gateway phase starts a fresh gateway (`java "
        + GatewayUnderTest.HEAP + " -jar " + ctx.options().jar() + "`, shipped conf/gateway.yaml) on a free port "
        + "on 127.0.0.1, waits for `GET /health/ready`, and stops it with SIGTERM afterwards. "
        + (r.checkpointRefused() == null ? "A CHECKPOINT precedes every phase, so none pays for another's WAL."
            : "CHECKPOINT was refused (" + r.checkpointRefused() + "), so a phase may pay for an earlier one's WAL."));
    bullet(quietStorage());
    bullet("PostgreSQL: " + ctx.server() + ". Unless `--db-url` names a server, the benchmark creates a cluster "
        + "of its own (initdb, trust auth on 127.0.0.1, fsync and synchronous_commit on) with a production "
        + "server's buffer and WAL sizes, runs every phase and C_db on it, and removes it afterwards. With the "
        + "distribution's defaults (128 MB shared_buffers, 1 GB max_wal_size) the random-key indexes every event "
        + "lands in (event id, stream, visitor) fill the WAL with full-page images, checkpoints follow each other "
        + "every few seconds and backends write out dirty pages themselves; on a host whose disk then holds a WAL "
        + "fsync for a second, the latency phases measured the disk. Where the distribution ships it, the server "
        + "preloads pg_stat_statements for the table of PostgreSQL's time; it costs every phase alike, C_db "
        + "included.");
    bullet("Gateway settings changed for the benchmark, so the benchmark measures the gateway and not a limit: "
        + String.join(", ", new TreeMap<>(GatewayUnderTest.OVERRIDES).keySet()) + " (the demo site's rate limit "
        + "raised to 10M events/s, the append queue to 1M events, http.maxConnections and live.maxConnections from "
        + "10,000 to " + GatewayUnderTest.MAX_CONNECTIONS + " so the idle phase's 10,000 streams fit next to the "
        + "other connections)." + inherited());
    bullet("Each phase: " + ctx.options().warmup().toSeconds() + " s warm-up (not counted), then a "
        + ctx.options().measure().toSeconds() + " s window. " + settling(ctx.options())
        + "Throughput counts the 200 answers that arrive inside the window. CPU is read from /proc at the window's "
        + "edges: the load generator is this JVM's process CPU "
        + "time (pgbench's for C_db), PostgreSQL the postmaster and all its children (any other client's backends "
        + "included, and those that exited inside the window, from the postmaster's cutime and cstime), the "
        + "machine everything /proc/stat counts as busy.");
    bullet("Load generator: this JVM, exactly the stated number of keep-alive connections (HTTP/1.1, no "
        + "pipelining) on " + (LoadGenerator.EVENT_LOOPS == 1 ? "one event loop (one thread)"
            : LoadGenerator.EVENT_LOOPS + " event loops") + ", on Netty's epoll transport like the gateway. Each "
        + "connection writes its POST (Host, Content-Type, X-Write-Key, User-Agent, Content-Length, the body) and "
        + "reads of the answer only the status, Content-Length, Connection and the body, the way wrk does "
        + "(`PostConnection`): a general HTTP client cost about a third more CPU per request (in an earlier "
        + "comparison, not this run), taken from the "
        + "gateway and PostgreSQL on these shared cores. Every event a PageViewed with its own random "
        + "UUID and its own stream, the batches `{\"events\": [...]}` of " + BenchRun.BATCH_SIZE + ".");
    bullet("Closed loop (the maxima): each connection sends its next request when the previous answer arrives. "
        + "Batches try " + batchConnections + " connections; the best counts.");
    bullet("Ingest alone: the rows marked \"no projections\" repeat the single-event maximum and the batches ("
        + batchConnections + " connections) with FLIGHTDECK_PROJECTIONS_ENABLED=false, the way an ingest-only "
        + "process runs when another process on the database runs the read models. They show what the four "
        + "projections cost the same 2 cores; the targets are judged on the shipped configuration, projections on.");
    bullet("Open loop (the latency): requests are due on a fixed schedule at half the single-event maximum, and "
        + "each one's ack latency counts from when it was due, not when it was sent, so a stall delays and "
        + "charges every request behind it (no coordinated omission). At most one request per connection is "
        + "outstanding; requests due while all are busy wait in the generator and their wait counts. "
        + "HdrHistogram, 3 significant digits, requests due inside the window. Before its warm-up, the fresh "
        + "gateway gets " + Verdict.percent(LivePhase.RAMP_SHARE) + " of the rate for one warm-up's length: from a "
        + "cold start at the full rate it falls behind while it compiles, and the backlog would be measured "
        + "instead of the steady state.");
    bullet("Projection lag: a further open-loop phase like the one above, at " + Verdict.percent(BenchRun.LAG_SHARE)
        + " of the single-event maximum, on a fresh database with the projections running in the gateway as "
        + "shipped (all events PageViewed, so form-submissions has nothing to apply and only moves its checkpoint). "
        + "Inside its window a thread of this JVM with its own PostgreSQL connection runs, every "
        + LagSampler.INTERVAL_MS + " ms on a fixed schedule, `" + LagSampler.QUERY.replaceAll("\\s+", " ") + "`: "
        + "for each projection, how long ago the first event after its checkpoint was recorded, by PostgreSQL's "
        + "clock (so the append's own commit is in it), 0 when caught up. HdrHistogram per projection and of the "
        + "slowest projection per sample; the target is judged on the latter's p99.");
    bullet("Rebuild: a fresh database gets " + (r.rebuild() == null ? "" : r.rebuild().fill().events() + " ")
        + "events by `INSERT ... SELECT ... FROM generate_series(...)`, " + RebuildPhase.CHUNK + " per transaction "
        + "(the store's position trigger included): random ids, " + RebuildPhase.STREAMS + " visitor streams with "
        + "consecutive versions, version 1 data of PageViewed (7 in 10, " + RebuildPhase.PAGES + " pages), "
        + "ButtonClicked (2) and FormSubmitted (1), metadata as the gateway stores it (site demo, user agent, "
        + "client address), occurredAt and recordedAt spread over " + RebuildPhase.SPAN.toDays() + " days. Then "
        + "`VACUUM (ANALYZE) events` (what autovacuum would have done to a table this size) and a CHECKPOINT. A "
        + "fresh gateway starts on it; its projections have no checkpoints yet, so each starts at position 0 "
        + "and replays the store. A second connection polls `projection_checkpoints` (every " + RebuildPhase.POLL_MS
        + " ms; before the engine has created the rows, every 20 ms): the clock starts when the rows appear "
        + "(the engine's start, a little before the gateway answers ready) and stops when every checkpoint is at "
        + "the head, so the time is at most one poll long. Rate = events / that time. CPU is read from /proc at "
        + "both ends (the gateway also by kind of thread); each projection's PostgreSQL backend is found by its "
        + "application_name. Afterwards the read models are checked against the store (see Checks).");
    liveMethod();
    bullet("Only a 200 counts; every other status or failure is counted as an error.");
    line("");
  }

  private void liveMethod() {
    LivePhase.Delivery d = r.live();
    LivePhase.Delivery m = r.liveMax();
    LivePhase.Idle idle = r.liveIdle();
    bullet("Live feed, each part on a fresh database and a fresh gateway. Subscribers: this JVM, on a Vert.x "
        + "instance of their own with " + LiveSubscribers.LOOPS + " event loops (the load generator keeps its one "
        + "loop to itself), each subscriber a plain TCP connection that sends `GET /v1/live` (HTTP/1.1, "
        + "`Authorization: Bearer` with the read token) and parses the answer incrementally from Netty's read "
        + "buffers: status line, chunked coding, and of the SSE stream only the `: connected` comment, the `id:` "
        + "line (the event's position) and the blank line that ends a message, with one clock read per TCP read; "
        + "nothing is allocated per message. Connections open " + SubscriberGroup.MAX_CONNECTING + " at a time "
        + "per loop; a subscriber counts as connected at its `: connected` comment. Every subscriber is connected "
        + "before the first event is posted, so each must receive every event.");
    bullet("Delivery latency: " + d.opened().wanted() + " subscribers; single events posted open loop at "
        + BenchText.num("%.0f", d.ingest().spec().ratePerSecond()) + "/s on " + d.ingest().spec().connections()
        + " connections (the machinery of the open-loop phase: due on a fixed schedule, no coordinated omission): "
        + "first a ramp at " + Verdict.percent(LivePhase.RAMP_SHARE) + " of that rate for "
        + ctx.options().warmup().toSeconds() + " s (from a cold start at the full rate, the gateway, still compiling "
        + "its fan-out path, fell behind and spent the whole window draining the backlog), then "
        + warmup(ctx.options(), d.ingest()) + " at the full rate, then the " + ctx.options().measure()
        .toSeconds() + " s window. "
        + "Each 200 answer's position is logged with the time its POST was due; each delivery's latency is "
        + "arrival - due. The message can arrive before its POST's answer does (the answer is sent after the "
        + "commit, the live feed reads the commit independently): such deliveries are parked and matched once the "
        + "answer is in. After the window the posting stops and the subscribers get up to " + LivePhase.DRAIN_MS
        / 1000 + " s to receive the last acknowledged event; then every subscriber's received positions (a bit "
        + "per position) are checked against every event due inside the window: missing, duplicate and "
        + "out-of-order deliveries are counted, the latency histogram (HdrHistogram, 3 digits) holds one value "
        + "per delivery of those events.");
    bullet("Maximum deliveries: the same subscribers and method (no ramp: a closed loop never sends more than is "
        + "acknowledged); single events posted by a closed loop of "
        + m.ingest().spec().connections() + " connections (each posts its next event when the previous is "
        + "acknowledged), so ingest runs as fast as the gateway acknowledges while it also fans out. Deliveries/s "
        + "= messages the subscribers received inside the window / its length; streams that end while the phase "
        + "runs are counted as cut off (the gateway closes a subscriber that lets more than live.maxBufferBytes "
        + "pile up unsent).");
    bullet("Idle streams: " + idle.opened().wanted() + " subscribers as above on one gateway, nothing posted "
        + "while they open. Before opening them (gateway ready) and " + LivePhase.SETTLE_MS / 1000 + " s after "
        + "the last one had its `: connected` comment, the gateway's resident set is read from /proc/<pid>/status "
        + "(VmRSS, and VmHWM, the peak since start) and its heap from `" + ProcessMemory.jcmdBinary()
        + " <pid> GC.heap_info` (the same JDK); \"after a full GC\" runs `jcmd <pid> GC.run` first. The RSS target "
        + "is judged on VmRSS with the streams open, before any forced GC. Last, one event is posted and every "
        + "stream must receive it (it shows the streams are live, and how long reaching all of them takes).");
  }

  /**
   * A phase's warm-up as it ran: the fixed warm-up, and how much longer it went on while the gateway's JIT
   * compiler was still busy (the phase clock's settling), from the phase's own figures.
   */
  static String warmup(BenchOptions options, LoadResult phase) {
    long fixed = options.warmup().toSeconds();
    double ran = phase.cpu().warmupSeconds();
    if (options.settleMax().isZero() || Double.isNaN(ran)) {
      return fixed + " s warm-up";
    }
    return BenchText.num("%.0f s warm-up", ran) + " (" + fixed + " s, then until the gateway's JIT compiler was "
        + "quiet, as in the other phases)";
  }

  private static String inherited() {
    List<String> names = GatewayUnderTest.inheritedSettings();
    return names.isEmpty() ? " No other FLIGHTDECK_* variable was set."
        : " Also passed on from the environment, and so part of what was measured: " + String.join(", ", names) + ".";
  }

  private void checks() {
    line("## Checks");
    line("");
    for (BenchRun.GatewayPhase p : r.gatewayPhases()) {
      LoadResult l = p.load();
      String errors = l.errorCount() == 0 ? "no errors" : "errors: " + Report.errorList(l.errors(), l.errorSamples());
      String backlog = l.spec().openLoop() ? ", largest generator backlog " + l.maxBacklog() + " requests, latest send "
          + BenchText.num("%.1f", l.maxSendLagMicros() / 1000.0) + " ms after its due time, of which at most "
          + BenchText.num("%.1f", l.maxOwnLagMicros() / 1000.0) + " ms with a connection free (the generator's own lag)"
          : "";
      bullet(BenchRun.describe(l.spec()) + ": " + l.ackedEvents() + " events acknowledged, " + p.storedEvents()
          + " stored, gateway exit code " + p.gatewayExit() + backlog + "; " + errors + ".");
    }
    if (r.lag() != null) {
      LagSampler.Result lag = r.lag().lag();
      bullet("projection lag: " + lag.samples() + " samples inside the window, " + lag.missed() + " skipped because "
          + "the one before was still running, slowest sample query " + BenchText.num("%.1f ms", lag.slowestQueryMs())
          + ", " + (lag.errors() == 0 ? "no failed samples" : lag.errors() + " failed (" + lag.firstError() + ")")
          + ".");
    }
    if (r.rebuild() != null) {
      RebuildPhase.Result b = r.rebuild();
      RebuildPhase.Check c = b.check();
      List<String> problems = b.problems();
      bullet("rebuild: " + b.fill().events() + " events stored (" + c.pageViewed() + " PageViewed, "
          + c.buttonClicked() + " ButtonClicked, " + c.formSubmitted() + " FormSubmitted); afterwards visitor_activity "
          + "counts " + c.visitorEvents() + " events of " + c.visitors() + " visitors, event_counts adds up to "
          + c.eventCounts() + ", page_stats to " + c.pageViews() + " views and " + c.uniqueVisitors()
          + " unique visitors (page_visitors: " + c.pageVisitors() + " rows), form_submissions holds " + c.formRows()
          + " rows, " + c.deadLetters() + " dead letters; gateway exit code " + b.gatewayExit() + "; "
          + (problems.isEmpty() ? "the read models are complete." : "problems: " + String.join("; ", problems) + "."));
    }
    for (LivePhase.Delivery d : new LivePhase.Delivery[] {r.live(), r.liveMax()}) {
      if (d != null) {
        SubscriberGroup.Stats s = d.stats();
        LoadResult l = d.ingest();
        String errors = l.errorCount() == 0 ? "no POST errors" : "POST errors: " + Report.errorList(l.errors(),
            l.errorSamples());
        bullet(d.name() + ": " + LivePhase.opened(d.opened()) + "; " + d.ackedEvents() + " events acknowledged, "
            + d.storedEvents() + " stored, " + d.windowEvents() + " due inside the window; " + s.deliveries
            + " deliveries in all; of the window's " + d.expectedDeliveries() + " expected, "
            + s.windowEventsReceived + " received (" + s.latencyMicros.getTotalCount() + " in the latency "
            + "histogram), " + s.missingIntact + " missing on streams never cut "
            + "off, " + s.missingCutOff + " on the " + s.ended + " streams cut off" + (s.firstEnd == null ? ""
                : " (" + s.firstEnd + ")") + ", " + s.subscribersMissing + " subscribers missed any; " + s.duplicates
            + " duplicates, " + s.outOfOrder + " out of order, " + s.unmatched + " deliveries of events whose POST "
            + "got no 200 answer; "
            + (d.caughtUp() ? BenchText.num("every open stream had the last event %.2f s after the window", d
                .drainSeconds()) : "NOT every open stream had the last event " + LivePhase.DRAIN_MS / 1000
                + " s after the window") + "; gateway exit code " + d.gatewayExit() + "; " + errors + ".");
      }
    }
    if (r.liveIdle() != null) {
      LivePhase.Idle i = r.liveIdle();
      bullet("idle streams: " + LivePhase.summary(i) + ".");
    }
    List<String> problems = Verdict.problems(r, ctx.options().smoke());
    bullet(problems.isEmpty() ? "No problems found." : "Problems: " + String.join("; ", problems));
    line("");
  }

  private void bullet(String text) {
    line("- " + text);
  }

  private void line(String text) {
    md.append(text).append('\n');
  }

  /** How the warm-up of a gateway phase may go on while the gateway is still compiling; empty when it may not. */
  static String settling(BenchOptions options) {
    if (options.settleMax().isZero()) {
      return "";
    }
    return "A gateway phase's warm-up goes on, at most " + options.settleMax().toSeconds() + " s longer, "
        + "until the gateway's JIT compiler threads used less than " + Report.cores(PhaseClock.SETTLED_JIT_CORES)
        + " cores over " + PhaseClock.SETTLE_STEP_MS / 1000 + " s (read from /proc/<pid>/task): in earlier runs on "
        + "2-core hosts (not this one), a fresh gateway compiled its hot paths for its first 20 to 40 s, and a "
        + "window that opened earlier measured the compiler (up to 0.4 cores, and a third fewer events/s) instead of "
        + "the gateway a long-running process is. The table says how long each phase warmed up in this run and what "
        + "the compiler still used inside the window. ";
  }
}
