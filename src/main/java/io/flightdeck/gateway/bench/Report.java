package io.flightdeck.gateway.bench;

import io.flightdeck.gateway.projection.Projection;
import io.flightdeck.gateway.projection.model.ReadModels;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.HdrHistogram.Histogram;

/** docs/BENCHMARKS.md: the machine, the exact command, the results, the targets, and what skews them. */
final class Report {

  /** One run, as the report describes it. */
  /** {@code server}: which PostgreSQL server the run used, in words. */
  record Context(BenchOptions options, MachineInfo machine, Instant started, Duration took, String command,
                 String server) {
  }

  private final Context ctx;
  private final BenchRun.Results r;
  private final StringBuilder md = new StringBuilder();

  private Report(Context ctx, BenchRun.Results results) {
    this.ctx = ctx;
    this.r = results;
  }

  static String markdown(Context ctx, BenchRun.Results results) {
    return new Report(ctx, results).write();
  }

  /** One console line per gateway phase. */
  static String summary(BenchRun.GatewayPhase p) {
    LoadResult l = p.load();
    return BenchText.num("%.0f events/s", l.eventsPerSecond()) + BenchText.num(", %.0f req/s", l.requestsPerSecond())
        + ", p50/p99/p99.9 " + ms(l.latencyMs(50)) + "/" + ms(l.latencyMs(99)) + "/" + ms(l.latencyMs(99.9))
        + " ms, errors " + l.errorCount() + ", CPU load generator " + cores(l.cpu().generator()) + ", gateway "
        + cores(l.cpu().gateway()) + ", PostgreSQL " + cores(l.cpu().postgres()) + ", machine "
        + cores(l.cpu().machine()) + " (gateway JIT " + cores(l.cpu().gatewayJit()) + ", after "
        + BenchText.num("%.0f", l.cpu().warmupSeconds()) + " s of warm-up)"
        + (l.spec().openLoop() ? BenchText.num(", latest send %.1f ms after due", l.maxSendLagMicros() / 1000.0)
            + BenchText.num(" (generator's own lag at most %.1f ms)", l.maxOwnLagMicros() / 1000.0) : "");
  }

  /** One console line: PostgreSQL's execution time per acknowledged event, by kind of statement. */
  static String pgTimeSummary(BenchRun.GatewayPhase p) {
    PgTime.Result t = p.pgTime();
    if (t.unavailable() != null) {
      return "PostgreSQL time: not measured: " + t.unavailable();
    }
    double events = p.load().okEvents();
    StringBuilder sb = new StringBuilder("PostgreSQL execution time per event, us:");
    for (PgTime.Kind kind : PgTime.Kind.values()) {
      double us = t.microsPer(kind, events);
      if (us >= 0.05) {
        sb.append(' ').append(kind.label).append(' ').append(BenchText.num("%.1f", us)).append(',');
      }
    }
    return sb.append(" total ").append(BenchText.num("%.1f", t.totalMicrosPer(events))).toString();
  }

  /** One console line for what stalled inside a phase's window. */
  static String stallsSummary(BenchRun.GatewayPhase p) {
    PgTime.WalFlushes wal = p.pgTime().wal();
    return "stalls: " + gcPauses(p.stalls()) + "; WAL flushes "
        + (wal.counted() ? wal.count() + ", mean " + ms(wal.meanMs()) + " ms" : "not counted") + "; "
        + fsyncProbe(p.stalls());
  }

  /** The same for a phase whose PostgreSQL time is not measured (the live feed's). */
  static String stallsSummary(Stalls.Result st) {
    return "stalls: " + gcAndProbe(st);
  }

  /** GC pauses and the fsync probe, as text. */
  private static String gcAndProbe(Stalls.Result st) {
    return gcPauses(st) + "; " + fsyncProbe(st);
  }

  private static String gcPauses(Stalls.Result st) {
    return "gateway GC pauses " + (st.gcUnavailable() != null ? "not read (" + st.gcUnavailable() + ")"
        : st.gcPauses() + ", " + ms(st.gcTotalMs()) + " ms in all, longest " + ms(st.gcMaxMs()) + " ms");
  }

  private static String fsyncProbe(Stalls.Result st) {
    return "fsync probe p50/p99/max " + ms(st.probeMs(50)) + "/" + ms(st.probeMs(99)) + "/" + ms(st.probeMaxMs())
        + " ms, " + st.probeStalls() + " of " + st.probeMicros().getTotalCount() + " at " + Stalls.STALL_MS
        + " ms or more" + (st.probeUnavailable() != null ? " (" + st.probeUnavailable() + ")" : "");
  }

  /** One console line for the lag phase's samples. */
  static String lagSummary(LagSampler.Result lag) {
    StringBuilder sb = new StringBuilder("projection lag (slowest projection per sample) p50/p99/max "
        + ms(BenchText.ms(lag.maxOverProjections(), 50)) + "/" + ms(lag.p99Ms()) + "/"
        + ms(BenchText.maxMs(lag.maxOverProjections())) + " ms over " + lag.samples() + " samples; p99");
    lag.perProjection().forEach((name, h) -> sb.append(' ').append(name).append(' ')
        .append(ms(BenchText.ms(h, 99))));
    return sb.append(" ms").toString();
  }

  private String write() {
    header();
    machine();
    results();
    pgTime();
    stalls();
    floor();
    lag();
    rebuild();
    live();
    targets();
    new ReportNotes(md, ctx, r).write();
    return md.toString();
  }

  private void header() {
    line("# Benchmarks");
    line("");
    if (ctx.options().smoke()) {
      line("**Smoke run: phases of a few seconds that only check the benchmark works. These figures are not "
          + "measurements and no target is judged on them.**");
      line("");
    }
    line("Run on " + ctx.started().truncatedTo(ChronoUnit.SECONDS) + " (UTC), took " + ctx.took().toSeconds()
        + " s. Regenerate with `make bench` on a quiet machine. Exact command:");
    line("");
    line("```");
    line(ctx.command());
    line("```");
    line("");
  }

  /**
   * What the kernel's writeback threshold (the machine table) does to the stalls: an experiment made apart from
   * the benchmark (on a 2-core AMD EPYC host, 2026-12-04), which no run repeats, so the text says so; only the
   * last sentence is about this run's host.
   */
  static String writebackNote(MachineInfo.Writeback writeback) {
    return "Not measured by this run, but in an experiment on a 2-core AMD EPYC host (2026-12-04) that this "
        + "benchmark does not repeat: the probe's long stalls came with the kernel writing back 100 MB and more of "
        + "dirty page cache at once (/proc/diskstats and /proc/meminfo sampled every 20 ms: 143 MB written in the "
        + "second of a 50 ms stall, the disk's queue 39 deep against 1 to 5 in the other seconds): pages written "
        + "through the page cache that no fsync forces out (PostgreSQL 15's backends, for one, write the blocks "
        + "they extend a table or an index by as zeros that way). With the stock threshold (10 % of memory) they "
        + "pile up for the 30 s dirty pages may wait; with vm.dirty_background_bytes = 16 MiB the "
        + "kernel writes them back steadily. There, the open-loop phase at 5,000 requests/s, run alone, "
        + "alternating: p99 51, 44 and 86 ms (probe max 50, 111 and 81 ms) at the stock threshold, 24.6, 24.2 and "
        + "24.3 ms (probe max 24, 19 and 24 ms) at 16 MiB. " + (writeback.small()
            ? "This run's host had a small threshold (the machine table)."
            : "This run's host had the stock threshold or a large one (the machine table): its latency tails "
            + "may include those bursts.");
  }

  private void machine() {
    MachineInfo m = ctx.machine();
    line("## Machine");
    line("");
    line("| | |");
    line("| --- | --- |");
    line("| CPU | " + m.cpuModel() + " |");
    line("| cores (nproc) | " + m.cores() + " |");
    line("| memory | " + m.memory() + " |");
    line("| kernel | " + m.kernel() + " (" + m.os() + ") |");
    line("| Java | " + m.java() + " (load generator and gateway alike; gateway heap " + GatewayUnderTest.HEAP + ") |");
    line("| PostgreSQL | " + r.server().version() + " on the same host (" + ctx.server() + "), synchronous_commit = "
        + r.server().synchronousCommit() + ", fsync = " + r.server().fsync() + ", shared_buffers = "
        + r.server().sharedBuffers() + ", max_wal_size = " + r.server().maxWalSize() + ", checkpoint_timeout = "
        + r.server().checkpointTimeout() + " |");
    line("| kernel writeback | " + m.writeback().describe() + " |");
    line("| load average before the run | " + m.loadAverage() + " |");
    line("");
  }

  private void results() {
    double cdb = r.cdb().rowsPerSecond();
    line("## Results");
    line("");
    line("C_db = **" + BenchText.num("%.0f", cdb) + " rows/s**" + r.cdb().best()
        .map(b -> " (pgbench, " + PgBench.ROWS_PER_TRANSACTION + " rows per transaction, best of " + r.cdb().runs()
            .stream().map(x -> "-c " + x.clients()).collect(Collectors.joining(", ")) + ": -c " + b.clients() + ")")
        .orElse(" (not measured: " + r.cdb().skipped() + ")") + ". Each window lasted "
        + ctx.options().measure().toSeconds() + " s after " + ctx.options().warmup().toSeconds() + " s of warm-up"
        + (ctx.options().settleMax().isZero() ? "" : ", which went on (at most " + ctx.options().settleMax()
            .toSeconds() + " s more) until the gateway's JIT compiler had used less than "
            + cores(PhaseClock.SETTLED_JIT_CORES) + " cores over " + PhaseClock.SETTLE_STEP_MS / 1000 + " s")
        + ": the \"warm-up s\" column says how long each phase warmed up, \"of which JIT\" what the gateway's JIT "
        + "compiler still took inside the window.");
    line("");
    line("| phase | connections | events/request | events/s | requests/s | x C_db | errors | p50 ms | p99 ms "
        + "| p99.9 ms | max ms | warm-up s | CPU load generator | CPU gateway | of which JIT | CPU PostgreSQL "
        + "| CPU machine |");
    line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        + "| ---: | ---: |");
    r.cdb().best().ifPresent(b -> row("C_db: pgbench (load generator = pgbench)", b.clients(),
        PgBench.ROWS_PER_TRANSACTION, BenchText.num("%.0f", b.rowsPerSecond()),
        BenchText.num("%.0f", b.transactionsPerSecond()), "1.00", b.failed(), "", "", "", "",
        ctx.options().warmup().toSeconds(), cpuCellsWithJit(b.cpu())));
    for (BenchRun.GatewayPhase p : r.gatewayPhases()) {
      LoadResult l = p.load();
      row(phaseLabel(p), l.spec().connections(), l.spec().eventsPerRequest(),
          BenchText.num("%.0f", l.eventsPerSecond()), BenchText.num("%.0f", l.requestsPerSecond()),
          BenchText.num("%.2f", l.eventsPerSecond() / cdb), l.errorCount(), ms(l.latencyMs(50)),
          ms(l.latencyMs(99)), ms(l.latencyMs(99.9)), ms(l.maxLatencyMs()),
          BenchText.num("%.0f", l.cpu().warmupSeconds()), cpuCellsWithJit(l.cpu()));
    }
    line("");
    line("CPU columns are cores used on average inside the window (" + ctx.machine().cores() + " = all of them); "
        + "\"machine\" is everything the kernel counted as busy, other people's processes included.");
    line("");
  }

  /** Where PostgreSQL's time went, per event, in each gateway phase's window. */
  private void pgTime() {
    line("### Where PostgreSQL's time went");
    line("");
    line("The execution time of the statements each phase ran in its own database inside the window "
        + "(pg_stat_statements), by what they do, in microseconds per event acknowledged in the window. Execution "
        + "time is wall time inside the server: it includes waiting for locks (the position lock every insert into "
        + "events takes), so it can add up to more than the CPU PostgreSQL used (the CPU column above), "
        + "and it leaves out the WAL flush at commit, which pg_stat_statements does not time (the next section "
        + "counts those). \"other\" holds "
        + "BEGIN, COMMIT, LISTEN and the health checks; \"event reads\" the live feed's and the projections' reads "
        + "of the events. The benchmark's own statements in the phase's database (the projection-lag sampler's, "
        + "pg_stat_statements' reset and reading) are left out. C_db's pgbench is left out: its clients queue at that "
        + "lock, so their execution time measures the queue, not the insert.");
    line("");
    StringBuilder head = new StringBuilder("| phase |");
    StringBuilder align = new StringBuilder("| --- |");
    for (PgTime.Kind kind : PgTime.Kind.values()) {
      head.append(' ').append(kind.label).append(" |");
      align.append(" ---: |");
    }
    line(head.append(" total |").toString());
    line(align.append(" ---: |").toString());
    for (BenchRun.GatewayPhase p : r.gatewayPhases()) {
      PgTime.Result t = p.pgTime();
      if (t.unavailable() != null) {
        row(phaseLabel(p), "not measured: " + t.unavailable().replace('|', '/'));
        continue;
      }
      List<Object> cells = new ArrayList<>(List.of(phaseLabel(p)));
      for (PgTime.Kind kind : PgTime.Kind.values()) {
        cells.add(BenchText.num("%.1f", t.microsPer(kind, p.load().okEvents())));
      }
      cells.add(BenchText.num("%.1f", t.totalMicrosPer(p.load().okEvents())));
      row(cells.toArray());
    }
    line("");
  }

  /** What stalled inside each gateway phase's window: GC pauses, WAL flushes, the machine's fsync latency. */
  private void stalls() {
    line("### What stalled inside the windows");
    line("");
    line("A request's ack waits for its group's commit, and the commit for a flush of the WAL to disk, so a tail "
        + "latency is the sum of what stalled while the request was in flight. Three things that stall, counted "
        + "inside each window: the gateway's stop-the-world GC pauses (from its GC log; each pause stops every "
        + "request in flight), PostgreSQL's WAL flushes (pg_stat_wal, the whole server's; their time only when the "
        + "server sets track_wal_io_timing, as the benchmark's own server does; a backend reports them when idle, "
        + "at most once a second, so each edge of the window is exact to about a second), and the machine's own "
        + "fsync latency, probed by a thread of the load generator that writes " + FsyncProbe.BYTES / 1024
        + " KiB to a file in the benchmark's directory (on the file system the benchmark's own server keeps its data "
        + "on) and forces it to disk, " + Stalls.PROBE_EVERY_MS + " ms after each flush ends. The probe shares the cores and the disk "
        + "with everything else, like the WAL flushes: a slow probe flush is the disk, or a core that was not "
        + "free when the flush finished, and not the gateway. " + writebackNote(ctx.machine().writeback()));
    line("");
    line("| phase | GC pauses | GC paused ms | longest GC pause ms | WAL flushes/s | WAL flush mean ms "
        + "| WAL flush ms per s | probe flushes | probe p50 ms | probe p99 ms | probe max ms | probe flushes >= "
        + Stalls.STALL_MS + " ms |");
    line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (BenchRun.GatewayPhase p : r.gatewayPhases()) {
      Stalls.Result st = p.stalls();
      PgTime.WalFlushes wal = p.pgTime().wal();
      double seconds = p.load().windowSeconds();
      boolean gc = st.gcUnavailable() == null;
      row(phaseLabel(p), gc ? st.gcPauses() : "n/a", gc ? ms(st.gcTotalMs()) : "n/a", gc ? ms(st.gcMaxMs()) : "n/a",
          BenchText.num("%.0f", wal.perSecond(seconds)), ms(wal.meanMs()), ms(wal.millis() / seconds),
          st.probeMicros().getTotalCount(), ms(st.probeMs(50)), ms(st.probeMs(99)), ms(st.probeMaxMs()),
          st.probeStalls());
    }
    line("");
  }

  /** The floor under each throughput target (see {@link Floor}): how much of its CPU budget the gateway has. */
  private void floor() {
    Floor f = r.floor();
    int cores = ctx.machine().cores();
    line("### What these cores allow");
    line("");
    if (f.skipped() != null) {
      line("Not measured: " + f.skipped() + ".");
      line("");
      return;
    }
    line("The least CPU an event can cost here, measured in this run, part by part, each alone. **HTTP**: a server "
        + "built like the gateway's HTTP side (`FloorServer`: Vert.x on epoll, " + 2 * cores + " event loops, the "
        + "same heap) answered the single-event phase's POSTs (same load generator, " + BenchRun.SINGLE_CONNECTIONS
        + " connections, same requests) with the gateway's answer, reading each body but doing nothing with it; "
        + "its CPU and the load generator's per request. **Append**: C_db's PostgreSQL CPU per row at its "
        + "cheapest client count, the targets' own yardstick. **Read models**: pgbench (-c " + Floor.CLIENTS
        + ", fresh database) running the projections' bare writes for " + PgBench.ROWS_PER_TRANSACTION + " new "
        + "visitors per statement (each visitor's visitor_activity and page_visitors rows, the page's page_stats "
        + "row, the minute's event_counts row: one transaction, no checkpoint, no reading of events), PostgreSQL's "
        + "CPU per visitor. Both PostgreSQL figures are net of the CPU their scripts spend making up ids and "
        + "visitors (measured by a third script that only does that), which the gateway gets from its clients.");
    line("");
    line("| floor | rate | CPU load generator | CPU server | CPU PostgreSQL | CPU machine | per event, us |");
    line("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    LoadResult http = f.http();
    row("HTTP: floor server, single events, " + http.spec().connections() + " connections, closed loop",
        BenchText.num("%.0f req/s", http.requestsPerSecond()), cpuCells(http.cpu()),
        BenchText.num("%.1f", f.httpMicros()));
    Floor.cheapest(r.cdb()).ifPresent(c -> pgbenchRow("append: C_db at its cheapest per row, pgbench -c "
        + c.clients() + ", net of generation", c, f.appendMicros(r.cdb())));
    pgbenchRow("read models: bare writes, pgbench -c " + Floor.CLIENTS + ", net of generation", f.readModels(),
        f.readModelMicros());
    pgbenchRow("generation of ids and visitors alone, pgbench -c " + Floor.CLIENTS, f.generation(),
        f.generationMicros());
    line("");
    line("Each throughput target against that floor. A goal of N events/s allows " + cores + " cores / N of CPU "
        + "per event, and only if every core is busy all the time, which no phase here reaches. What the floor "
        + "leaves of it is all there is for the gateway's own work (parsing, validating, answering, the "
        + "PostgreSQL client, the projections' reading of events) and PostgreSQL's beyond the bare statements "
        + "(transactions, each event's stream-head probe and duplicate check, checkpoints, the reads). Batches "
        + "count no HTTP floor (it was measured for single events only), which leaves them more than they have.");
    line("");
    line("| target | goal, events/s | CPU per event it allows, us | floor per event, us | left for everything else, "
        + "us | events/s at the floor | measured: machine CPU per event at the maximum, us |");
    line("| --- | ---: | ---: | --- | ---: | ---: | ---: |");
    for (Floor.Bound b : f.bounds(r, Verdict.SINGLE_TARGET, Verdict.BATCHED_TARGET)) {
      row(b.shape(), BenchText.num("%.0f", b.goalPerSecond()), BenchText.num("%.1f", b.allowedMicros(cores)),
          b.parts().stream().map(p -> p.name() + " " + BenchText.num("%.1f", p.micros()))
              .collect(Collectors.joining(" + ")) + " = " + BenchText.num("%.1f", b.floorMicros()),
          BenchText.num("%.1f", b.leftMicros(cores)), BenchText.num("%.0f", b.ceilingPerSecond(cores)),
          BenchText.num("%.1f", b.measuredMicros()));
    }
    line("");
  }

  private void pgbenchRow(String name, PgBench.Run run, double micros) {
    row(name, BenchText.num("%.0f rows/s", run.rowsPerSecond()), cpuCells(run.cpu()), BenchText.num("%.1f", micros));
  }

  /** A gateway phase as the tables name it. */
  private String phaseLabel(BenchRun.GatewayPhase p) {
    return BenchRun.describe(p.load().spec()) + (r.bestOfSeveralBatches(p) ? " (best)" : "");
  }

  private void lag() {
    BenchRun.LagPhase p = r.lag();
    LagSampler.Result lag = p.lag();
    LoadResult l = p.phase().load();
    line("### Projection lag at " + Verdict.percent(BenchRun.LAG_SHARE) + " of the single-event maximum");
    line("");
    line("Open loop at " + BenchText.num("%.0f", l.spec().ratePerSecond()) + " single events/s ("
        + Verdict.percent(BenchRun.LAG_SHARE) + " of " + BenchText.num("%.0f", r.singleMax()) + "), the row \""
        + BenchRun.describe(l.spec()) + "\" above (its ack latency and CPU). Every projection's lag was sampled every "
        + LagSampler.INTERVAL_MS + " ms inside the window: " + lag.samples() + " samples, " + lag.missed()
        + " skipped. A projection's lag is how long ago the store recorded the first event it has not applied yet "
        + "(0 when it is caught up).");
    line("");
    line("| projection | p50 ms | p99 ms | max ms |");
    line("| --- | ---: | ---: | ---: |");
    lagRow("slowest projection per sample", lag.maxOverProjections());
    for (String name : projectionNames()) {
      if (lag.perProjection().containsKey(name)) {
        lagRow(name, lag.perProjection().get(name));
      }
    }
    line("");
  }

  private void lagRow(String name, Histogram h) {
    row(name, ms(BenchText.ms(h, 50)), ms(BenchText.ms(h, 99)), ms(BenchText.maxMs(h)));
  }

  private void rebuild() {
    RebuildPhase.Result b = r.rebuild();
    RebuildPhase.Fill f = b.fill();
    line("### Rebuild of all projections over " + f.events() + " stored events");
    line("");
    line(f.events() + " events (" + RebuildPhase.STREAMS + " visitor streams; 7 in 10 PageViewed over "
        + RebuildPhase.PAGES + " pages, 2 ButtonClicked, 1 FormSubmitted; occurredAt spread over "
        + RebuildPhase.SPAN.toDays() + " days) were stored by SQL in " + BenchText.num("%.1f s", f.insertSeconds())
        + ", then a fresh gateway (projections.batchSize " + b.batchSize() + ") replayed them into every projection, "
        + "each from position 0: **" + BenchText.num("%.0f events/s", b.eventsPerSecond()) + "**, "
        + BenchText.num("%.1f s", b.seconds()) + " from the projection engine's start until every checkpoint was "
        + "at the head (the gateway answered ready " + BenchText.num("%.1f s", b.readyAfterSeconds())
        + " after the engine started).");
    line("");
    line("| projection | at the head after s | events/s | CPU of its PostgreSQL backend, s |");
    line("| --- | ---: | ---: | ---: |");
    for (String name : projectionNames()) {
      Double at = b.reachedAfterSeconds().get(name);
      if (at != null) {
        row(name, BenchText.num("%.1f", at), BenchText.num("%.0f", f.events() / at),
            BenchText.num("%.1f", b.backendCpuSeconds().getOrDefault(name, Double.NaN)));
      }
    }
    row("all projections", BenchText.num("%.1f", b.seconds()), BenchText.num("%.0f", b.eventsPerSecond()),
        BenchText.num("%.1f", b.backendCpuSeconds().values().stream().mapToDouble(Double::doubleValue).sum()));
    line("");
    line("CPU over the replay, in cores: gateway " + cores(b.cpu().gateway()) + " (" + threads(b) + "), PostgreSQL "
        + cores(b.cpu().postgres()) + ", this benchmark's JVM " + cores(b.cpu().generator()) + ", machine "
        + cores(b.cpu().machine()) + " of " + ctx.machine().cores() + ".");
    line("");
  }

  private void live() {
    LivePhase.Delivery d = r.live();
    LivePhase.Delivery m = r.liveMax();
    LivePhase.Idle idle = r.liveIdle();
    line("### Live feed: SSE delivery to " + d.opened().wanted() + " subscribers, and " + idle.opened().wanted()
        + " idle streams");
    line("");
    line("Each subscriber is its own HTTP/1.1 connection (`GET /v1/live`, read token) from this JVM; events are "
        + "posted one per request. A delivery's latency runs from when its POST was due (open loop) or sent (closed "
        + "loop) until the subscriber had read the whole SSE message, over every subscriber and every event due "
        + "inside the window; \"expected\" is those events x the subscribers that connected. Deliveries/s counts "
        + "the messages the subscribers received inside the window; messages per read, how many SSE messages one "
        + "TCP read of a subscriber brought on average over the phase (the gateway writes each batch it reads from "
        + "the store to each stream at once, so this shows how much it batched).");
    line("");
    line("| phase | subscribers | events/s posted | deliveries/s | expected | received | missing | duplicates "
        + "| cut off | messages per read | p50 ms | p99 ms | p99.9 ms | max ms | ack p99 ms "
        + "| CPU load generator + subscribers | CPU gateway | CPU PostgreSQL | CPU machine |");
    line("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        + "| ---: | ---: | ---: | ---: |");
    for (LivePhase.Delivery p : List.of(d, m)) {
      LoadResult l = p.ingest();
      row(p.name(), p.opened().connected(), BenchText.num("%.0f", l.eventsPerSecond()),
          BenchText.num("%.0f", p.deliveriesPerSecond()), p.expectedDeliveries(),
          p.stats().windowEventsReceived, p.missing(), p.stats().duplicates, p.stats().ended,
          BenchText.num("%.1f", p.messagesPerRead()), ms(p.latencyMs(50)), ms(p.latencyMs(99)),
          ms(p.latencyMs(99.9)), ms(p.maxLatencyMs()), ms(l.latencyMs(99)), cpuCells(l.cpu()));
    }
    line("");
    line("The gateway's cores by kind of thread inside the window: at " + BenchText.num("%.0f", d.ingest().spec()
        .ratePerSecond()) + " events/s " + LivePhase.threads(d.gatewayThreads()) + "; at the maximum "
        + LivePhase.threads(m.gatewayThreads()) + ". The machine's interrupt time (irq + softirq in /proc/stat, "
        + "where loopback TCP's receive path runs; part of \"CPU machine\", and partly also charged to the process "
        + "it interrupted): " + cores(d.interrupts()) + " and " + cores(m.interrupts()) + " cores. At the maximum "
        + "each subscriber received "
        + BenchText.num("%.0f", m.deliveriesPerSecond() / Math.max(1, m.opened().connected()))
        + " events/s; " + (m.stats().ended == 0 ? "no stream was cut off as slow."
            : m.stats().ended + " streams ended (the gateway cuts off a subscriber that lets more than "
                + "live.maxBufferBytes pile up: " + m.stats().firstEnd + ")."));
    line("");
    line("What stalled inside these windows (see \"What stalled inside the windows\"): at "
        + BenchText.num("%.0f", d.ingest().spec().ratePerSecond()) + " events/s " + gcAndProbe(d.stalls())
        + "; at the maximum " + gcAndProbe(m.stalls()) + ".");
    line("");
    line("Idle streams: " + idle.opened().connected() + " of " + idle.opened().wanted() + " opened (each had its `: "
        + "connected` comment) in " + BenchText.num("%.1f s", idle.opened().seconds()) + " on one gateway process; "
        + "memory read " + LivePhase.SETTLE_MS / 1000 + " s later:");
    line("");
    line("| gateway | RSS (VmRSS) | peak RSS (VmHWM) | heap used | heap committed |");
    line("| --- | ---: | ---: | ---: | ---: |");
    memoryRow("ready, no stream open (after a full GC)", idle.before());
    memoryRow("with the " + idle.opened().connected() + " streams open", idle.with());
    memoryRow("the same, after a full GC (live heap)", idle.withAfterGc());
    line("");
    line("Per stream: " + BenchText.num("%.1f KiB", idle.rssPerConnectionKib()) + " of RSS, "
        + BenchText.num("%.1f KiB", idle.heapPerConnectionKib()) + " of live heap. Then one event was posted: it "
        + "reached " + idle.probe().latencyMicros.getTotalCount() + " of the " + idle.opened().connected()
        + " streams, the last " + BenchText.num("%.1f ms", idle.probeMs()) + " after its POST was sent.");
    line("");
  }

  private void memoryRow(String what, ProcessMemory.Snapshot s) {
    row(what, ProcessMemory.mib(s.rssKib()), ProcessMemory.mib(s.peakRssKib()), ProcessMemory.mib(s.heapUsedKib()),
        ProcessMemory.mib(s.heapCommittedKib()));
  }

  static String threads(RebuildPhase.Result b) {
    return b.gatewayThreads().entrySet().stream()
        .filter(e -> !(e.getValue() < 0.005))
        .map(e -> e.getKey() + " " + cores(e.getValue()))
        .collect(Collectors.joining(", "));
  }

  static List<String> projectionNames() {
    return ReadModels.projections().stream().map(Projection::name).toList();
  }

  private void targets() {
    line("## Targets");
    line("");
    if (ctx.options().smoke()) {
      line("Not judged: this was a smoke run.");
      line("");
      return;
    }
    line("| target | goal | measured | result |");
    line("| --- | --- | --- | --- |");
    for (Verdict.Target t : Verdict.targets(r)) {
      line("| " + t.name() + " | " + t.goal() + " | " + t.measured() + " | **" + t.result() + "** |");
    }
    line("");
  }

  static String cpuCells(CpuProbe.Usage u) {
    return String.join(" | ", cores(u.generator()), cores(u.gateway()), cores(u.postgres()), cores(u.machine()));
  }

  /** As {@link #cpuCells}, with the gateway's JIT compiler after the gateway ("n/a" without a gateway). */
  static String cpuCellsWithJit(CpuProbe.Usage u) {
    return String.join(" | ", cores(u.generator()), cores(u.gateway()),
        Double.isNaN(u.gatewayJit()) ? "n/a" : cores(u.gatewayJit()), cores(u.postgres()), cores(u.machine()));
  }

  static String errorList(Map<String, Long> errors, Map<String, String> samples) {
    return errors.entrySet().stream()
        .map(e -> e.getValue() + " x " + e.getKey() + " (`" + samples.getOrDefault(e.getKey(), "")
            .replace('`', '\'').replace('\n', ' ') + "`)")
        .collect(Collectors.joining("; "));
  }

  static String cores(double value) {
    return BenchText.num("%.2f", value);
  }

  static String ms(double value) {
    return BenchText.num("%.2f", value);
  }

  private void row(Object... cells) {
    line(Arrays.stream(cells).map(String::valueOf).collect(Collectors.joining(" | ", "| ", " |")));
  }

  private void line(String text) {
    md.append(text).append('\n');
  }
}
