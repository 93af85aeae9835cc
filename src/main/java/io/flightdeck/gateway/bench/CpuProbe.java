package io.flightdeck.gateway.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the CPU time used so far by the load generator, the gateway, PostgreSQL and the whole machine, from
 * {@code /proc}. The three share the machine's cores, so a figure is only honest next to what each one used.
 * Blocking file reads: call from a worker thread.
 *
 * @param generatorPid the process generating load; 0 for this JVM
 * @param gatewayPid the gateway process; 0 when there is none
 * @param postmasterPid PostgreSQL's postmaster, whose children are the backends; 0 when unknown
 */
record CpuProbe(long generatorPid, long gatewayPid, long postmasterPid) {

  // USER_HZ, the unit of /proc times, is 100 on every architecture Linux exposes to user space this way
  private static final long NANOS_PER_TICK = 10_000_000L;
  private static final Path PROC = Path.of("/proc");
  static final String JIT_COMPILER = "JIT compiler";

  /** CPU time in nanoseconds at one instant ({@code gatewayJit}: the gateway's JIT compiler); -1 where unknown. */
  record Sample(long nanoTime, long generator, long gateway, long postgres, long machine, long gatewayJit) {
  }

  /**
   * Cores used on average between two samples; NaN where unknown.
   *
   * @param gatewayJit the part of {@code gateway} its JIT compiler threads used
   * @param warmupSeconds how long the load ran before the window opened (NaN when not told)
   */
  record Usage(double generator, double gateway, double postgres, double machine, double gatewayJit,
               double warmupSeconds) {

    static final Usage UNKNOWN = new Usage(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    Usage afterWarmup(double seconds) {
      return new Usage(generator, gateway, postgres, machine, gatewayJit, seconds);
    }

    /** Machine time used by none of the three: other people's work, the kernel, processes that exited. */
    double other() {
      // the readings are taken a few milliseconds apart: a small negative difference is noise, not work
      return Math.max(0, machine - generator - gateway - postgres);
    }
  }

  Sample sample() {
    return sample(System.nanoTime());
  }

  /** The CPU read now, as of {@code nanoTime} (taken just before). */
  Sample sample(long nanoTime) {
    return new Sample(nanoTime, generatorCpu(), gatewayPid == 0 ? -1 : processCpu(gatewayPid),
        postmasterPid == 0 ? -1 : postgresCpu(), machineBusy(), gatewayJit());
  }

  /** CPU nanoseconds the gateway's JIT compiler threads used so far; -1 without a gateway. */
  long gatewayJit() {
    return gatewayPid == 0 ? -1 : jvmThreads(gatewayPid).getOrDefault(JIT_COMPILER, -1L);
  }

  static Usage between(Sample a, Sample b) {
    double wall = b.nanoTime() - a.nanoTime();
    return new Usage(cores(a.generator(), b.generator(), wall), cores(a.gateway(), b.gateway(), wall),
        cores(a.postgres(), b.postgres(), wall), cores(a.machine(), b.machine(), wall),
        cores(a.gatewayJit(), b.gatewayJit(), wall), Double.NaN);
  }

  private static double cores(long from, long to, double wallNanos) {
    return from < 0 || to < 0 || wallNanos <= 0 ? Double.NaN : (to - from) / wallNanos;
  }

  private long generatorCpu() {
    if (generatorPid != 0) {
      return processCpu(generatorPid);
    }
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getProcessCpuTime();
    }
    return -1;
  }

  /** utime + stime of one process (all its threads). */
  static long processCpu(long pid) {
    long[] stat = stat(PROC.resolve(Long.toString(pid)).resolve("stat"));
    return stat == null ? -1 : stat[1];
  }

  /**
   * CPU nanoseconds one JVM's threads used so far, by kind: Vert.x event loops, Vert.x workers, the JIT
   * compiler, the garbage collector (with the VM thread, which runs its pauses), everything else. Threads that
   * exited took their time with them. Empty when the process is gone.
   */
  static Map<String, Long> jvmThreads(long pid) {
    Map<String, Long> byKind = new TreeMap<>();
    Path tasks = PROC.resolve(Long.toString(pid)).resolve("task");
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(tasks, p -> isPid(p.getFileName().toString()))) {
      for (Path dir : dirs) {
        String line;
        try {
          line = Files.readString(dir.resolve("stat"));
        } catch (IOException e) {
          continue; // the thread exited meanwhile
        }
        String name = line.substring(line.indexOf('(') + 1, line.lastIndexOf(')'));
        long[] stat = stat(dir.resolve("stat"));
        if (stat != null) {
          byKind.merge(threadKind(name), stat[1], Long::sum);
        }
      }
    } catch (IOException e) {
      return Map.of();
    }
    return byKind;
  }

  private static String threadKind(String name) {
    if (name.startsWith("vert.x-eventloo")) {
      return "event loops";
    }
    if (name.startsWith("vert.x-")) {
      return "Vert.x workers";
    }
    if (name.contains("CompilerThre") || name.startsWith("C1 ") || name.startsWith("C2 ")) {
      return JIT_COMPILER;
    }
    if (name.startsWith("GC ") || name.startsWith("G1 ") || name.equals("VM Thread")) {
      return "GC and VM thread";
    }
    return "other";
  }

  /** The parent of a process, or 0 when it cannot be read (another host, another PID namespace). */
  static long parentPid(long pid) {
    long[] stat = stat(PROC.resolve(Long.toString(pid)).resolve("stat"));
    return stat == null ? 0 : stat[0];
  }

  /**
   * The postmaster and its children: the CPU of those alive now, plus the postmaster's cutime and cstime, where
   * the kernel adds the CPU of every child the postmaster has reaped. So a backend that exits inside the window
   * (an autovacuum worker, a client that disconnects) keeps its time in the total instead of taking it, and its
   * time before the window, away with it.
   */
  long postgresCpu() {
    long total = 0;
    boolean seen = false;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(PROC, p -> isPid(p.getFileName().toString()))) {
      for (Path dir : dirs) {
        long pid = Long.parseLong(dir.getFileName().toString());
        long[] stat = stat(dir.resolve("stat"));
        if (stat != null && pid == postmasterPid) {
          total += stat[1] + stat[2];
          seen = true;
        } else if (stat != null && stat[0] == postmasterPid) {
          total += stat[1];
          seen = true;
        }
      }
    } catch (IOException e) {
      return -1;
    }
    return seen ? total : -1;
  }

  /**
   * {ppid, cpu nanoseconds, cpu nanoseconds of its reaped children} from a /proc/[pid]/stat file, or null when
   * it is gone.
   */
  private static long[] stat(Path file) {
    String line;
    try {
      line = Files.readString(file);
    } catch (IOException e) {
      return null;
    }
    // the command name (field 2) may hold spaces and parentheses; the fixed fields follow the last ')'
    String[] f = line.substring(line.lastIndexOf(')') + 2).trim().split(" ");
    // utime and stime are fields 14 and 15, cutime and cstime (children waited for) 16 and 17
    long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]);
    long childTicks = Long.parseLong(f[13]) + Long.parseLong(f[14]);
    return new long[] {Long.parseLong(f[1]), ticks * NANOS_PER_TICK, childTicks * NANOS_PER_TICK};
  }

  private static long machineBusy() {
    try {
      String[] f = Files.readAllLines(PROC.resolve("stat")).get(0).trim().split("\\s+");
      // cpu user nice system idle iowait irq softirq steal: idle, iowait and steal (a hypervisor's other
      // guests) are not work done on this machine
      long busy = 0;
      for (int i : new int[] {1, 2, 3, 6, 7}) {
        busy += Long.parseLong(f[i]);
      }
      return busy * NANOS_PER_TICK;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  private static boolean isPid(String name) {
    return !name.isEmpty() && name.chars().allMatch(Character::isDigit);
  }
}
