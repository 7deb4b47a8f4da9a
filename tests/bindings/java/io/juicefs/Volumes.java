package io.juicefs;

import java.io.IOException;
import java.nio.file.Path;

/** A fresh SQLite + local-directory volume in a test's temporary directory. */
final class Volumes {
  private Volumes() {}

  static String format(Path dir) throws IOException {
    java.nio.file.Files.createDirectories(dir);
    String meta = "sqlite3://" + dir.resolve("meta.db");
    JuiceFS.format(meta, "jtest",
        new JuiceFS.FormatOptions().bucket(dir.resolve("data").toString()).trashDays(0));
    return meta;
  }

  static JuiceFS open(Path dir) throws IOException {
    return JuiceFS.open(format(dir));
  }
}
