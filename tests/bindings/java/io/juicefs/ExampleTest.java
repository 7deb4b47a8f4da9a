package io.juicefs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs bindings/java/examples/Hello.java as a user would (java's single-file launcher). */
class ExampleTest {
  @TempDir Path tmp;

  private String run(String meta) throws Exception {
    Path src = Path.of(System.getProperty("jfs.test.examples"), "Hello.java");
    ProcessBuilder pb = new ProcessBuilder(System.getProperty("jfs.test.java"),
        "-Djuicefs.jni.library=" + System.getProperty("juicefs.jni.library"),
        "-cp", System.getProperty("jfs.test.jar"), src.toString(), meta,
        tmp.resolve("data").toString());
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertEquals(0, p.exitValue(), out);
    return out;
  }

  @Test
  void helloExampleRunsTwice() throws Exception {
    String meta = "sqlite3://" + tmp.resolve("meta.db");
    assertEquals("[hello.txt] hello, juicefs\n", run(meta));
    assertEquals("[hello.txt] hello, juicefs\n", run(meta)); // reopens the formatted volume
    try (JuiceFS fs = JuiceFS.open(meta)) {
      assertEquals(List.of("hello.txt"), fs.list("/").stream().map(e -> e.name())
          .filter(n -> !n.startsWith(".")).collect(java.util.stream.Collectors.toList()));
    }
  }

  @Test
  void missingJniLibraryIsAClearError() throws Exception {
    ProcessBuilder pb = new ProcessBuilder(System.getProperty("jfs.test.java"),
        "-Djuicefs.jni.library=" + tmp.resolve("no-such-lib.so"),
        "-cp", System.getProperty("jfs.test.jar"),
        Path.of(System.getProperty("jfs.test.examples"), "Hello.java").toString(), "x", "y");
    pb.redirectErrorStream(true);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(p.waitFor(120, TimeUnit.SECONDS));
    assertTrue(p.exitValue() != 0);
    assertTrue(out.contains("no-such-lib.so") && out.contains("juicefs.jni.library"), out);
  }
}
