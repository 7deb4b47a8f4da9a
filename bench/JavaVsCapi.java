// Java bindings vs the C ABI, in the same run, on one SQLite + local-directory volume.
//
//   bench/java_vs_capi.sh BUILD_DIR DIR [--mib 256] [--rounds 3] [--stats 20000]
//
// Big-file throughput with 1 MiB I/O: JuiceFS.newOutputStream().write(byte[1 MiB]) /
// newInputStream().read(byte[1 MiB]) (one copy between the Java heap and native memory, as
// FileInputStream does) and JuiceFSChannel with a direct 1 MiB ByteBuffer (no copy), against
// jfs_write / jfs_read of 1 MiB in build/bench/capi_io, a C program serving commands on a pipe so
// the rounds interleave on the same volume. Reads are measured right after the write and again
// warm. Per-call overhead: JuiceFS.stat() vs jfs_stat (the C side times its loop itself, so the
// pipe is not counted). Best of the rounds. Prints ratios. Not a test.
import io.juicefs.JuiceFS;
import io.juicefs.JuiceFSChannel;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

public class JavaVsCapi {
  static final int MIB = 1 << 20;
  static int mib = 256, rounds = 3, stats = 20000;
  static JuiceFS fs;
  static BufferedReader capiOut;
  static PrintWriter capiIn;
  static final Map<String, Double> best = new HashMap<>();

  static double capi(String cmd) throws Exception {
    capiIn.println(cmd);
    capiIn.flush();
    String line = capiOut.readLine();
    if (line == null) throw new IllegalStateException("capi_io died on: " + cmd);
    return Double.parseDouble(line);
  }

  static void record(String name, double secs) {
    best.merge(name, secs, Math::min);
  }

  static double time(Step s) throws Exception {
    long t = System.nanoTime();
    s.run();
    return (System.nanoTime() - t) / 1e9;
  }

  interface Step {
    void run() throws Exception;
  }

  static void streamWrite(String path, byte[] piece) throws Exception {
    try (OutputStream out = fs.newOutputStream(path)) {
      for (int i = 0; i < mib; i++) out.write(piece);
    }
  }

  static void channelWrite(String path, ByteBuffer piece) throws Exception {
    try (JuiceFSChannel ch = fs.openChannel(path, StandardOpenOption.WRITE,
        StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING)) {
      for (int i = 0; i < mib; i++) {
        piece.clear();
        while (piece.hasRemaining()) ch.write(piece);
      }
    }
  }

  static void streamRead(String path, byte[] buf) throws Exception {
    long total = 0;
    try (InputStream in = fs.newInputStream(path)) {
      int n;
      while ((n = in.read(buf)) > 0) total += n;
    }
    if (total != (long) mib * MIB) throw new IllegalStateException("short read " + total);
  }

  static void channelRead(String path, ByteBuffer buf) throws Exception {
    long total = 0;
    try (JuiceFSChannel ch = fs.openChannel(path)) {
      int n;
      buf.clear();
      while ((n = ch.read(buf)) > 0) {
        total += n;
        buf.clear();
      }
    }
    if (total != (long) mib * MIB) throw new IllegalStateException("short read " + total);
  }

  public static void main(String[] args) throws Exception {
    String capiBin = args[0];
    Path dir = Path.of(args[1]).toAbsolutePath();
    for (int i = 2; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--mib": mib = Integer.parseInt(args[i + 1]); break;
        case "--rounds": rounds = Integer.parseInt(args[i + 1]); break;
        case "--stats": stats = Integer.parseInt(args[i + 1]); break;
        default: throw new IllegalArgumentException(args[i]);
      }
    }
    if (Files.exists(dir)) {
      try (Stream<Path> s = Files.walk(dir)) {
        for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
          Files.delete(p);
        }
      }
    }
    Files.createDirectories(dir);
    String meta = "sqlite3://" + dir.resolve("meta.db");
    JuiceFS.format(meta, "jbench",
        new JuiceFS.FormatOptions().bucket(dir.resolve("data").toString()).trashDays(0));
    Process capiProc = new ProcessBuilder(capiBin, meta)
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    capiIn = new PrintWriter(capiProc.getOutputStream());
    capiOut = new BufferedReader(new InputStreamReader(capiProc.getInputStream()));
    byte[] piece = new byte[MIB];
    new Random(1).nextBytes(piece);
    ByteBuffer direct = ByteBuffer.allocateDirect(MIB);
    direct.put(piece).clear();
    ByteBuffer rbuf = ByteBuffer.allocateDirect(MIB);
    byte[] hbuf = new byte[MIB];
    try (JuiceFS v = JuiceFS.open(meta)) {
      fs = v;
      // warm-up (JIT, code paths), not counted
      int saved = mib;
      mib = 16;
      streamWrite("/warm", piece);
      channelWrite("/warm", direct);
      streamRead("/warm", hbuf);
      channelRead("/warm", rbuf);
      capi("write /warmc 16");
      capi("read /warmc 16");
      mib = saved;
      for (int r = 0; r < rounds; r++) {
        // alternate the order so neither side gains systematically from running first
        Step[] steps = {
          () -> record("c_write", capi("write /c " + mib)),
          () -> record("j_stream_write", time(() -> streamWrite("/js", piece))),
          () -> record("j_channel_write", time(() -> channelWrite("/jc", direct))),
          () -> record("c_read", capi("read /c " + mib)),
          () -> record("j_stream_read", time(() -> streamRead("/js", hbuf))),
          () -> record("j_channel_read", time(() -> channelRead("/jc", rbuf))),
        };
        if (r % 2 == 1) {
          Step[] rev = {steps[2], steps[1], steps[0], steps[5], steps[4], steps[3]};
          steps = rev;
        }
        for (Step s : steps) s.run();
      }
      Map<String, Double> cold = new HashMap<>(best);
      best.clear();
      for (int r = 0; r < rounds; r++) {
        record("c_read", capi("read /c " + mib));
        record("j_stream_read", time(() -> streamRead("/c", hbuf)));
        record("j_channel_read", time(() -> channelRead("/c", rbuf)));
      }
      Map<String, Double> warm = new HashMap<>(best);
      System.out.printf("%d MiB, 1 MiB I/O (MiB/s; Java/C)%n", mib);
      row("write", cold, "j_stream_write", "j_channel_write", "c_write");
      row("read (first, after write)", cold, "j_stream_read", "j_channel_read", "c_read");
      row("read (again, warm)", warm, "j_stream_read", "j_channel_read", "c_read");

      // stat: interleaved blocks, best block of each
      int block = 500;
      for (int i = 0; i < 20000; i++) fs.stat("/c"); // JIT warm-up
      double bj = Double.MAX_VALUE, bc = Double.MAX_VALUE, be = Double.MAX_VALUE;
      for (int b = 0; b < Math.max(stats / block, 1); b++) {
        long t = System.nanoTime();
        for (int i = 0; i < block; i++) fs.stat("/c");
        bj = Math.min(bj, (System.nanoTime() - t) / 1e9 / block);
        bc = Math.min(bc, capi("stat /c " + block) / block);
        t = System.nanoTime();
        for (int i = 0; i < block; i++) JuiceFS.version();
        be = Math.min(be, (System.nanoTime() - t) / 1e9 / block);
      }
      System.out.printf("stat: Java JuiceFS.stat %7.2f us   C jfs_stat %7.2f us   Java/C = %.2fx,"
          + " +%.2f us per call   (JuiceFS.version(), a trivial JNI call: %.2f us)%n",
          bj * 1e6, bc * 1e6, bj / bc, (bj - bc) * 1e6, be * 1e6);
    }
    capiIn.println("quit");
    capiIn.flush();
    if (capiProc.waitFor() != 0) throw new IllegalStateException("capi_io failed");
  }

  static void row(String what, Map<String, Double> m, String js, String jc, String c) {
    double s = mib / m.get(js), ch = mib / m.get(jc), cc = mib / m.get(c);
    System.out.printf("%-27s stream %8.1f   channel %8.1f   C ABI %8.1f   stream/C %.2fx"
        + "   channel/C %.2fx%n", what + ":", s, ch, cc, s / cc, ch / cc);
  }
}
