package io.juicefs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClientTest {
  @TempDir Path tmp;
  JuiceFS fs;
  String meta;

  @BeforeEach
  void open() throws Exception {
    meta = Volumes.format(tmp);
    fs = JuiceFS.open(meta);
  }

  @AfterEach
  void close() throws Exception {
    fs.close();
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void versionIsReported() {
    assertTrue(JuiceFS.version().matches("\\d+\\.\\d+\\.\\d+"), JuiceFS.version());
  }

  @Test
  void streamsReadWhatWasWritten() throws Exception {
    byte[] data = random(3 * 1024 * 1024 + 17, 1);
    try (OutputStream out = fs.newOutputStream("/f.bin")) {
      out.write(data, 0, 1000);
      out.write(data[1000]);
      out.write(data, 1001, data.length - 1001);
    }
    try (InputStream in = fs.newInputStream("/f.bin")) {
      assertEquals(data[0] & 0xff, in.read());
      assertEquals(10, in.skip(10));
      byte[] rest = in.readAllBytes();
      assertEquals(data.length - 11, rest.length);
      assertArrayEquals(java.util.Arrays.copyOfRange(data, 11, data.length), rest);
      assertEquals(-1, in.read());
    }
    assertEquals(data.length, fs.stat("/f.bin").size());
  }

  // byte[] reads take two native paths (copy through native memory, or straight into the pinned
  // array after fast reads): both must fill exactly b[off..off+n) with the file's bytes.
  @Test
  void arrayReadsCopiedAndPinnedFillOnlyTheirRange() throws Exception {
    byte[] data = random(2 * 1024 * 1024 + 5, 7);
    try (OutputStream out = fs.newOutputStream("/p.bin")) {
      out.write(data);
    }
    try (JuiceFSChannel ch = fs.openChannel("/p.bin")) {
      long f = ch.handleForTest();
      for (boolean pinned : new boolean[] {false, true}) {
        byte[] buf = new byte[300_000];
        java.util.Arrays.fill(buf, (byte) 0x5a);
        int off = 1234, len = 200_000;
        long pos = 1_000_003;
        int n = pinned ? Native.readPinned(f, buf, off, len, pos) : Native.read(f, buf, off, len, pos);
        assertEquals(len, n);
        assertArrayEquals(java.util.Arrays.copyOfRange(data, (int) pos, (int) pos + len),
            java.util.Arrays.copyOfRange(buf, off, off + len));
        for (int i = 0; i < off; i++) assertEquals((byte) 0x5a, buf[i]);
        for (int i = off + len; i < buf.length; i++) assertEquals((byte) 0x5a, buf[i]);
        // short at end of file, 0 past it
        n = pinned ? Native.readPinned(f, buf, 0, 100, data.length - 10)
                   : Native.read(f, buf, 0, 100, data.length - 10);
        assertEquals(10, n);
        n = pinned ? Native.readPinned(f, buf, 0, 100, data.length + 1)
                   : Native.read(f, buf, 0, 100, data.length + 1);
        assertEquals(0, n);
      }
      // bad ranges and handles are refused, never a crash
      assertEquals(-22, Native.readPinned(f, new byte[10], 5, 6, 0));
      assertEquals(-22, Native.readPinned(f, new byte[10], -1, 2, 0));
      assertEquals(-22, Native.readPinned(f, null, 0, 0, 0));
      assertEquals(-9, Native.readPinned(0, new byte[10], 0, 10, 0));
    }
    // Many whole-file passes through the stream (the later ones warm, so pinned) read the same.
    for (int round = 0; round < 5; round++) {
      try (InputStream in = fs.newInputStream("/p.bin")) {
        byte[] buf = new byte[1 << 20];
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        int n;
        while ((n = in.read(buf, round, buf.length - round)) > 0) got.write(buf, round, n);
        assertArrayEquals(data, got.toByteArray());
      }
    }
  }

  @Test
  void appendAndCreateNewOptions() throws Exception {
    try (OutputStream out = fs.newOutputStream("/a.txt")) {
      out.write("one".getBytes(StandardCharsets.UTF_8));
    }
    try (OutputStream out = fs.newOutputStream("/a.txt", StandardOpenOption.APPEND)) {
      out.write("two".getBytes(StandardCharsets.UTF_8));
    }
    try (InputStream in = fs.newInputStream("/a.txt")) {
      assertEquals("onetwo", new String(in.readAllBytes(), StandardCharsets.UTF_8));
    }
    assertThrows(FileAlreadyExistsException.class,
        () -> fs.newOutputStream("/a.txt", StandardOpenOption.CREATE_NEW));
    assertThrows(NoSuchFileException.class,
        () -> fs.newOutputStream("/missing", StandardOpenOption.WRITE));
  }

  @Test
  void channelPositionSizeTruncate() throws Exception {
    try (JuiceFSChannel ch = fs.openChannel("/c", Set.of(StandardOpenOption.READ,
        StandardOpenOption.WRITE, StandardOpenOption.CREATE), 0644)) {
      assertEquals(10, ch.write(ByteBuffer.wrap("0123456789".getBytes(StandardCharsets.UTF_8))));
      assertEquals(10, ch.position());
      assertEquals(10, ch.size());
      ch.position(2);
      ByteBuffer b = ByteBuffer.allocate(3);
      assertEquals(3, ch.read(b));
      assertEquals("234", new String(b.array(), StandardCharsets.UTF_8));
      assertEquals(5, ch.position());
      // positional I/O leaves the position alone
      ByteBuffer d = ByteBuffer.allocateDirect(4);
      assertEquals(4, ch.read(d, 6));
      d.flip();
      byte[] got = new byte[4];
      d.get(got);
      assertEquals("6789", new String(got, StandardCharsets.UTF_8));
      assertEquals(2, ch.write(ByteBuffer.wrap("AB".getBytes(StandardCharsets.UTF_8)), 20));
      assertEquals(22, ch.size());
      assertEquals(5, ch.position());
      // past the end: -1
      assertEquals(-1, ch.read(ByteBuffer.allocate(4), 22));
      ch.position(100);
      assertEquals(-1, ch.read(ByteBuffer.allocate(4)));
      // truncate moves the position back to the new size
      ch.truncate(4);
      assertEquals(4, ch.size());
      assertEquals(4, ch.position());
      ch.truncate(10); // larger: no change
      assertEquals(4, ch.size());
      ch.force(true);
      assertEquals(4, ch.attributes().size());
    }
    assertEquals(4, fs.stat("/c").size());
  }

  @Test
  void directBuffersRoundTrip() throws Exception {
    byte[] data = random(1 << 20, 2);
    ByteBuffer src = ByteBuffer.allocateDirect(data.length);
    src.put(data).flip();
    try (JuiceFSChannel ch = fs.openChannel("/d", StandardOpenOption.WRITE,
        StandardOpenOption.CREATE)) {
      while (src.hasRemaining()) ch.write(src);
    }
    ByteBuffer dst = ByteBuffer.allocateDirect(data.length);
    try (JuiceFSChannel ch = fs.openChannel("/d")) {
      while (dst.hasRemaining() && ch.read(dst) > 0) {
        // keep reading
      }
    }
    dst.flip();
    byte[] got = new byte[data.length];
    dst.get(got);
    assertArrayEquals(data, got);
  }

  @Test
  void transfersLargerThanTheNativeChunk() throws Exception {
    // one write of 9 MiB goes through the JNI in 8 MiB pieces; reads may return short
    byte[] data = random(9 * 1024 * 1024 + 5, 3);
    try (JuiceFSChannel ch = fs.openChannel("/huge", StandardOpenOption.WRITE,
        StandardOpenOption.CREATE)) {
      ch.write(data, 0, data.length);
      assertEquals(data.length, ch.position());
    }
    byte[] got = new byte[data.length];
    try (JuiceFSChannel ch = fs.openChannel("/huge")) {
      int off = 0, n;
      while (off < got.length && (n = ch.read(got, off, got.length - off)) > 0) {
        assertTrue(n <= 8 * 1024 * 1024);
        off += n;
      }
      assertEquals(got.length, off);
      assertEquals(-1, ch.read(new byte[1], 0, 1));
    }
    assertArrayEquals(data, got);
  }

  @Test
  void readOnlyChannelRefusesWrites() throws Exception {
    fs.newOutputStream("/r").close();
    try (JuiceFSChannel ch = fs.openChannel("/r")) {
      assertThrows(java.nio.channels.NonWritableChannelException.class,
          () -> ch.write(ByteBuffer.allocate(1)));
      assertThrows(java.nio.channels.NonWritableChannelException.class, () -> ch.truncate(0));
    }
    try (JuiceFSChannel ch = fs.openChannel("/r", StandardOpenOption.WRITE)) {
      assertThrows(java.nio.channels.NonReadableChannelException.class,
          () -> ch.read(ByteBuffer.allocate(1)));
    }
  }

  @Test
  void namespaceOperations() throws Exception {
    fs.mkdir("/d", 0755);
    fs.mkdirs("/d/e/f", 0755);
    fs.newOutputStream("/d/file").close();
    assertTrue(fs.stat("/d").isDirectory());
    assertTrue(fs.stat("/d/file").isRegularFile());
    Set<String> names = fs.list("/d").stream().map(JuiceFSDirectory.Entry::name)
        .collect(Collectors.toCollection(TreeSet::new));
    assertEquals(Set.of("e", "file"), names);
    fs.rename("/d/file", "/d/moved");
    assertFalse(fs.exists("/d/file"));
    assertTrue(fs.exists("/d/moved"));
    fs.symlink("moved", "/d/link");
    assertEquals("moved", fs.readlink("/d/link"));
    assertTrue(fs.lstat("/d/link").isSymbolicLink());
    assertTrue(fs.stat("/d/link").isRegularFile());
    assertEquals("/d/moved", fs.realpath("/d/link"));
    fs.link("/d/moved", "/d/hard");
    assertEquals(2, fs.stat("/d/hard").nlink());
    fs.chmod("/d/moved", 0600);
    assertEquals(0600, fs.stat("/d/moved").permissionBits());
    assertEquals(PosixFilePermissions.fromString("rw-------"), fs.stat("/d/moved").permissions());
    fs.truncate("/d/moved", 1234);
    assertEquals(1234, fs.stat("/d/moved").size());
    FileTime t = FileTime.from(Instant.parse("2020-01-02T03:04:05.123456789Z"));
    fs.setTimes("/d/moved", t, t, true);
    assertEquals(t, fs.stat("/d/moved").lastModifiedTime());
    assertEquals(t, fs.stat("/d/moved").lastAccessTime());
    fs.unlink("/d/link");
    fs.delete("/d/hard");
    fs.delete("/d/moved");
    fs.rmdir("/d/e/f");
    fs.delete("/d/e");
    assertEquals(List.of(), fs.list("/d"));
    fs.rmdir("/d");
    assertFalse(fs.exists("/d"));
  }

  @Test
  void renameFlags() throws Exception {
    fs.newOutputStream("/x").close();
    fs.newOutputStream("/y").write(1);
    assertThrows(FileAlreadyExistsException.class,
        () -> fs.rename("/x", "/y", JuiceFS.RENAME_NOREPLACE));
    fs.rename("/x", "/y", JuiceFS.RENAME_EXCHANGE);
    assertEquals(0, fs.stat("/y").size());
  }

  @Test
  void errnoMapsToNioExceptions() throws Exception {
    NoSuchFileException e = assertThrows(NoSuchFileException.class, () -> fs.stat("/nope"));
    assertEquals("/nope", e.getFile());
    assertTrue(e.getReason().contains("ENOENT"), e.getReason());
    fs.mkdir("/d", 0755);
    fs.newOutputStream("/d/f").close();
    assertThrows(FileAlreadyExistsException.class, () -> fs.mkdir("/d", 0755));
    assertThrows(DirectoryNotEmptyException.class, () -> fs.rmdir("/d"));
    assertThrows(NotDirectoryException.class, () -> fs.list("/d/f"));
    assertThrows(NotDirectoryException.class, () -> fs.stat("/d/f/x"));
    assertThrows(NotLinkException.class, () -> fs.readlink("/d/f"));
    FileSystemException isDir = assertThrows(FileSystemException.class, () -> fs.unlink("/d"));
    assertEquals("/d", isDir.getFile());
    assertThrows(NoSuchFileException.class, () -> fs.rename("/none", "/other"));
  }

  @Test
  void permissionsAreEnforcedForOtherUsers() throws Exception {
    fs.mkdir("/private", 0700);
    fs.setCredentials(1000, new int[] {1000}, 022);
    AccessDeniedException e =
        assertThrows(AccessDeniedException.class, () -> fs.newOutputStream("/private/x"));
    assertNotNull(e.getReason());
    assertThrows(AccessDeniedException.class, () -> fs.access("/private", JuiceFS.R_OK));
    fs.newOutputStream("/mine").close();
    assertEquals(1000, fs.stat("/mine").uid());
    assertEquals(0644, fs.stat("/mine").permissionBits());
  }

  @Test
  void xattrsAndStatvfs() throws Exception {
    fs.newOutputStream("/x").close();
    fs.setXattr("/x", "user.k", "v".getBytes(StandardCharsets.UTF_8), 0);
    assertArrayEquals("v".getBytes(StandardCharsets.UTF_8), fs.getXattr("/x", "user.k"));
    assertEquals(List.of("user.k"), fs.listXattr("/x"));
    fs.removeXattr("/x", "user.k");
    assertEquals(List.of(), fs.listXattr("/x"));
    assertThrows(FileSystemException.class, () -> fs.getXattr("/x", "user.k"));
    long[] v = fs.statvfs();
    assertTrue(v[1] > 0 && v[2] > 0 && v[5] == 255);
  }

  @Test
  void directoryStreamIterates() throws Exception {
    fs.mkdir("/many", 0755);
    for (int i = 0; i < 300; i++) fs.newOutputStream("/many/f" + i).close();
    int n = 0;
    try (JuiceFSDirectory d = fs.openDirectory("/many")) {
      for (JuiceFSDirectory.Entry e : d) {
        assertTrue(e.name().startsWith("f"));
        assertTrue(e.attributes().isRegularFile());
        n++;
      }
      assertThrows(IllegalStateException.class, d::iterator);
    }
    assertEquals(300, n);
  }

  @Test
  void dataIsSharedBetweenClientsAfterFlush() throws Exception {
    try (JuiceFS other = JuiceFS.open(meta); OutputStream out = fs.newOutputStream("/shared")) {
      out.write("visible".getBytes(StandardCharsets.UTF_8));
      out.flush();
      try (InputStream in = other.newInputStream("/shared")) {
        assertEquals("visible", new String(in.readAllBytes(), StandardCharsets.UTF_8));
      }
    }
  }

  @Test
  void unicodeNamesRoundTrip() throws Exception {
    String name = "/dir-ünïcødé-😀";
    fs.mkdir(name, 0755);
    assertEquals(List.of("dir-ünïcødé-😀"),
        fs.list("/").stream().map(JuiceFSDirectory.Entry::name).filter(s -> s.startsWith("dir"))
            .collect(Collectors.toList()));
    assertTrue(fs.stat(name).isDirectory());
  }

  @Test
  void formatErrors() throws Exception {
    assertThrows(FileAlreadyExistsException.class,
        () -> JuiceFS.format(meta, "jtest", new JuiceFS.FormatOptions()
            .bucket(tmp.resolve("data").toString())));
    assertThrows(FileSystemException.class, () -> JuiceFS.format("sqlite3://" + tmp.resolve("m2.db"),
        "Bad_Name", null));
    assertThrows(NoSuchFileException.class,
        () -> JuiceFS.open("sqlite3://" + tmp.resolve("missing.db")));
    assertThrows(FileSystemException.class, () -> JuiceFS.open("nosuchscheme://x"));
  }

  @Test
  void readOnlyVolume() throws Exception {
    fs.newOutputStream("/ro").close();
    try (JuiceFS ro = JuiceFS.open(meta, new JuiceFS.Options().readOnly(true))) {
      assertTrue(ro.stat("/ro").isRegularFile());
      assertThrows(FileSystemException.class, () -> ro.mkdir("/no", 0755));
    }
  }
}
