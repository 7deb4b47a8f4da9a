package io.juicefs;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.ReadOnlyFileSystemException;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** java.nio.file.Files works unchanged on jfs:// paths. */
class NioTest {
  @TempDir Path tmp;
  String meta;
  FileSystem jfs;
  String name;
  static int counter;

  @BeforeEach
  void open() throws Exception {
    meta = Volumes.format(tmp);
    name = "vol" + (++counter);
    jfs = FileSystems.newFileSystem(URI.create("jfs://" + name), Map.of("meta-url", meta));
  }

  @AfterEach
  void close() throws Exception {
    jfs.close();
  }

  private Path p(String s) {
    return Path.of(URI.create("jfs://" + name + s));
  }

  @Test
  void providerIsInstalledAndPathsResolve() {
    Path f = p("/a/b.txt");
    assertSame(jfs, f.getFileSystem());
    assertInstanceOf(JuiceFSFileSystemProvider.class, f.getFileSystem().provider());
    assertEquals("/a/b.txt", f.toString());
    assertEquals(URI.create("jfs://" + name + "/a/b.txt"), f.toUri());
    assertEquals(f, Path.of(f.toUri()));
    Path odd = jfs.getPath("/with space/ü#?%");
    assertEquals("/with space/ü#?%", odd.toString());
    assertEquals(odd, Path.of(odd.toUri()));
    assertThrows(FileSystemNotFoundException.class,
        () -> Path.of(URI.create("jfs://not-registered/x")));
    assertThrows(FileSystemAlreadyExistsException.class,
        () -> FileSystems.newFileSystem(URI.create("jfs://" + name), Map.of("meta-url", meta)));
    assertThrows(IllegalArgumentException.class,
        () -> FileSystems.newFileSystem(URI.create("jfs://other"), Map.of()));
  }

  @Test
  void pathOperations() {
    Path a = jfs.getPath("/x//y/", "z");
    assertEquals("/x/y/z", a.toString());
    assertEquals("z", a.getFileName().toString());
    assertEquals("/x/y", a.getParent().toString());
    assertEquals("/", a.getRoot().toString());
    assertEquals(3, a.getNameCount());
    assertEquals("y", a.getName(1).toString());
    assertEquals("y/z", a.subpath(1, 3).toString());
    assertTrue(a.startsWith(jfs.getPath("/x")));
    assertFalse(a.startsWith(jfs.getPath("/x/yy")));
    assertTrue(a.endsWith(jfs.getPath("y/z")));
    assertEquals("/x/q", jfs.getPath("/x/./y/../q").normalize().toString());
    assertEquals("/", jfs.getPath("/..").normalize().toString());
    assertEquals("../../q/r", jfs.getPath("/x/y").relativize(jfs.getPath("/q/r")).toString());
    assertEquals("/x/y/w", a.resolveSibling("w").toString());
    assertEquals("/abs", a.resolve("/abs").toString());
    Path rel = jfs.getPath("r/s");
    assertFalse(rel.isAbsolute());
    assertNull(rel.getRoot());
    assertEquals("/r/s", rel.toAbsolutePath().toString());
    assertNull(jfs.getPath("/").getFileName());
    assertNull(jfs.getPath("/").getParent());
    List<String> names = new ArrayList<>();
    a.forEach(n -> names.add(n.toString()));
    assertEquals(List.of("x", "y", "z"), names);
    assertTrue(jfs.getPathMatcher("glob:**/*.txt").matches(jfs.getPath("/d/e.txt")));
    assertThrows(ProviderMismatchException.class, () -> a.resolve(Path.of("/tmp")));
  }

  @Test
  void readAndWriteFiles() throws Exception {
    Path f = p("/hello.txt");
    Files.write(f, "hello".getBytes(StandardCharsets.UTF_8));
    assertArrayEquals("hello".getBytes(StandardCharsets.UTF_8), Files.readAllBytes(f));
    Files.writeString(f, "line1\nline2\n");
    assertEquals(List.of("line1", "line2"), Files.readAllLines(f));
    try (BufferedWriter w = Files.newBufferedWriter(f, StandardCharsets.UTF_8,
        java.nio.file.StandardOpenOption.APPEND)) {
      w.write("line3\n");
    }
    try (Stream<String> lines = Files.lines(f)) {
      assertEquals(3, lines.count());
    }
    assertEquals(18, Files.size(f));
    assertTrue(Files.exists(f));
    assertTrue(Files.isRegularFile(f));
    assertFalse(Files.isDirectory(f));
    assertTrue(Files.notExists(p("/nope")));
    assertThrows(NoSuchFileException.class, () -> Files.readAllBytes(p("/nope")));
    assertThrows(FileAlreadyExistsException.class, () -> Files.createFile(f));
    byte[] big = new byte[5 * 1024 * 1024 + 3];
    new Random(5).nextBytes(big);
    Files.write(p("/big"), big);
    assertArrayEquals(big, Files.readAllBytes(p("/big")));
  }

  @Test
  void directoriesWalkAndDelete() throws Exception {
    Files.createDirectories(p("/a/b/c"));
    Files.createDirectories(p("/a/b/c")); // exists: fine
    Files.writeString(p("/a/one.txt"), "1");
    Files.writeString(p("/a/b/two.txt"), "2");
    Files.writeString(p("/a/b/c/three.log"), "3");
    Set<String> all;
    try (Stream<Path> s = Files.walk(p("/a"))) {
      all = s.map(Path::toString).collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(new TreeSet<>(List.of("/a", "/a/b", "/a/b/c", "/a/b/c/three.log",
        "/a/b/two.txt", "/a/one.txt")), all);
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(p("/a"), "*.txt")) {
      List<String> got = new ArrayList<>();
      ds.forEach(x -> got.add(x.getFileName().toString()));
      assertEquals(List.of("one.txt"), got);
    }
    try (Stream<Path> s = Files.find(p("/a"), 10, (x, at) -> at.isRegularFile()
        && x.toString().endsWith(".log"))) {
      assertEquals(List.of("/a/b/c/three.log"), s.map(Path::toString).collect(Collectors.toList()));
    }
    assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(p("/a/b")));
    assertThrows(NotDirectoryException.class, () -> Files.newDirectoryStream(p("/a/one.txt")));
    // delete the tree bottom-up
    try (Stream<Path> s = Files.walk(p("/a"))) {
      for (Path x : s.sorted((u, v) -> v.toString().compareTo(u.toString()))
          .collect(Collectors.toList())) {
        Files.delete(x);
      }
    }
    assertFalse(Files.exists(p("/a")));
    assertThrows(NoSuchFileException.class, () -> Files.delete(p("/a")));
    assertFalse(Files.deleteIfExists(p("/a")));
  }

  @Test
  void copyAndMove() throws Exception {
    Files.writeString(p("/src"), "data");
    Files.copy(p("/src"), p("/dst"));
    assertEquals("data", Files.readString(p("/dst")));
    assertThrows(FileAlreadyExistsException.class, () -> Files.copy(p("/src"), p("/dst")));
    Files.writeString(p("/src"), "new");
    Files.copy(p("/src"), p("/dst"), StandardCopyOption.REPLACE_EXISTING);
    assertEquals("new", Files.readString(p("/dst")));
    // to and from the local file system
    Path local = tmp.resolve("local.txt");
    Files.copy(p("/dst"), local);
    assertEquals("new", Files.readString(local));
    Files.writeString(local, "from local");
    Files.copy(local, p("/fromlocal"));
    assertEquals("from local", Files.readString(p("/fromlocal")));
    // moves are renames
    Files.move(p("/fromlocal"), p("/moved"));
    assertFalse(Files.exists(p("/fromlocal")));
    assertThrows(FileAlreadyExistsException.class, () -> Files.move(p("/moved"), p("/dst")));
    Files.move(p("/moved"), p("/dst"), StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
    assertEquals("from local", Files.readString(p("/dst")));
    // a stream copy
    try (var in = Files.newInputStream(p("/dst"))) {
      Files.copy(in, p("/streamed"));
    }
    assertEquals("from local", Files.readString(p("/streamed")));
  }

  @Test
  void fileChannelOpen() throws Exception {
    Path f = p("/fc");
    try (java.nio.channels.FileChannel fc = java.nio.channels.FileChannel.open(f,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
        java.nio.file.StandardOpenOption.READ)) {
      java.nio.ByteBuffer[] parts = {java.nio.ByteBuffer.wrap("ab".getBytes(StandardCharsets.UTF_8)),
        java.nio.ByteBuffer.wrap("cde".getBytes(StandardCharsets.UTF_8))};
      assertEquals(5, fc.write(parts));
      assertEquals(5, fc.size());
      java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(3);
      assertEquals(3, fc.read(b, 1));
      assertEquals("bcd", new String(b.array(), StandardCharsets.UTF_8));
      java.io.ByteArrayOutputStream bos = new java.io.ByteArrayOutputStream();
      assertEquals(4, fc.transferTo(1, 100, java.nio.channels.Channels.newChannel(bos)));
      assertEquals("bcde", bos.toString(StandardCharsets.UTF_8));
      assertEquals(2, fc.transferFrom(java.nio.channels.Channels.newChannel(
          new java.io.ByteArrayInputStream("XY".getBytes(StandardCharsets.UTF_8))), 5, 10));
      fc.truncate(6);
      assertThrows(UnsupportedOperationException.class, () -> fc.lock());
      assertThrows(UnsupportedOperationException.class,
          () -> fc.map(java.nio.channels.FileChannel.MapMode.READ_ONLY, 0, 1));
    }
    assertEquals("abcdeX", Files.readString(f));
  }

  @Test
  void attributes() throws Exception {
    Path f = p("/f");
    Files.writeString(f, "12345");
    BasicFileAttributes b = Files.readAttributes(f, BasicFileAttributes.class);
    assertEquals(5, b.size());
    assertTrue(b.isRegularFile());
    PosixFileAttributes px = Files.readAttributes(f, PosixFileAttributes.class);
    assertEquals(PosixFilePermissions.fromString("rw-r--r--"), px.permissions());
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwx------"));
    assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(f));
    FileTime t = FileTime.from(Instant.parse("2021-05-06T07:08:09Z"));
    Files.setLastModifiedTime(f, t);
    assertEquals(t, Files.getLastModifiedTime(f));
    Map<String, Object> m = Files.readAttributes(f, "posix:size,permissions,owner");
    assertEquals(5L, m.get("size"));
    assertEquals(3, m.size());
    Map<String, Object> u = Files.readAttributes(f, "unix:*");
    assertEquals(0100700, u.get("mode"));
    assertEquals(b.fileKey(), u.get("fileKey"));
    assertEquals(5L, Files.getAttribute(f, "size"));
    PosixFileAttributeView v = Files.getFileAttributeView(f, PosixFileAttributeView.class);
    v.setTimes(null, t, null);
    assertEquals(t, v.readAttributes().lastAccessTime());
    Files.setOwner(f, jfs.getUserPrincipalLookupService().lookupPrincipalByName("1234"));
    assertEquals("1234", Files.getOwner(f).getName());
    Files.setAttribute(f, "posix:permissions", PosixFilePermissions.fromString("r--r--r--"));
    assertEquals(0444, ((JuiceFSAttributes) Files.readAttributes(f, PosixFileAttributes.class))
        .permissionBits());
    assertThrows(IllegalArgumentException.class, () -> Files.readAttributes(f, "basic:bogus"));
    assertThrows(UnsupportedOperationException.class, () -> Files.readAttributes(f, "dos:*"));
    Path d = Files.createDirectory(p("/dd"),
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    assertEquals(PosixFilePermissions.fromString("rwx------"), Files.getPosixFilePermissions(d));
  }

  @Test
  void symlinksAndLinks() throws Exception {
    Files.writeString(p("/target"), "t");
    Files.createSymbolicLink(p("/link"), jfs.getPath("target"));
    assertTrue(Files.isSymbolicLink(p("/link")));
    assertEquals("target", Files.readSymbolicLink(p("/link")).toString());
    assertEquals("t", Files.readString(p("/link")));
    assertEquals(p("/target"), p("/link").toRealPath());
    assertEquals(p("/link"), p("/link").toRealPath(java.nio.file.LinkOption.NOFOLLOW_LINKS));
    assertTrue(Files.isSameFile(p("/link"), p("/target")));
    assertTrue(Files.readAttributes(p("/link"), BasicFileAttributes.class,
        java.nio.file.LinkOption.NOFOLLOW_LINKS).isSymbolicLink());
    Files.createLink(p("/hard"), p("/target"));
    assertEquals(2, (int) Files.getAttribute(p("/hard"), "unix:nlink"));
    Files.delete(p("/link"));
    assertTrue(Files.exists(p("/target")));
  }

  @Test
  void fileStoreAndHidden() throws Exception {
    FileStore st = Files.getFileStore(p("/"));
    assertEquals("juicefs", st.type());
    assertTrue(st.getTotalSpace() > 0);
    assertTrue(st.getUsableSpace() > 0);
    assertTrue(Files.isHidden(p("/.x")));
    assertFalse(Files.isHidden(p("/x")));
  }

  @Test
  void readOnlyFileSystem() throws Exception {
    Files.writeString(p("/r"), "r");
    try (FileSystem ro = FileSystems.newFileSystem(URI.create("jfs://ro-" + name),
        Map.of("meta-url", meta, "read-only", "true"))) {
      assertTrue(ro.isReadOnly());
      assertEquals("r", Files.readString(ro.getPath("/r")));
      assertThrows(ReadOnlyFileSystemException.class,
          () -> Files.writeString(ro.getPath("/w"), "w"));
      assertThrows(ReadOnlyFileSystemException.class, () -> Files.delete(ro.getPath("/r")));
    }
    assertThrows(FileSystemNotFoundException.class,
        () -> Path.of(URI.create("jfs://ro-" + name + "/r")));
  }

  @Test
  void closedFileSystem() throws Exception {
    FileSystem other = FileSystems.newFileSystem(URI.create("jfs://closing-" + name),
        Map.of("meta-url", meta));
    Path x = other.getPath("/x");
    other.close();
    assertFalse(other.isOpen());
    assertThrows(java.nio.file.ClosedFileSystemException.class, () -> Files.readAllBytes(x));
  }
}
