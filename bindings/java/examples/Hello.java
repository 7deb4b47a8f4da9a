import io.juicefs.JuiceFS;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;

public class Hello {
  public static void main(String[] args) throws Exception {
    String metaUrl = args[0], bucket = args[1]; // e.g. sqlite3:///tmp/meta.db /tmp/data
    try {
      JuiceFS.format(metaUrl, "hello", new JuiceFS.FormatOptions().bucket(bucket));
    } catch (FileAlreadyExistsException e) {
      // formatted by an earlier run
    }
    try (JuiceFS fs = JuiceFS.open(metaUrl)) {
      try (var out = fs.newOutputStream("/hello.txt")) {
        out.write("hello, juicefs".getBytes());
      }
      try (var in = fs.newInputStream("/hello.txt")) {
        System.out.println(fs.list("/") + " " + new String(in.readAllBytes()));
      }
    }
  }
}
