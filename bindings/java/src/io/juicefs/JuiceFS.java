package io.juicefs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * An open JuiceFS volume, named by its META-URL (e.g. {@code sqlite3:///var/lib/jfs/meta.db}).
 * Paths are absolute inside the volume ({@code "/dir/file"}). Thread-safe; close it (it is
 * {@link AutoCloseable}) to flush open files and end the session. Calls after close throw
 * {@link ClosedFileSystemException}; channels and streams opened from it then fail with an
 * IOException and must still be closed.
 *
 * <p>Errors are the NIO exceptions ({@code NoSuchFileException}, {@code
 * FileAlreadyExistsException}, {@code DirectoryNotEmptyException}, {@code AccessDeniedException},
 * {@code NotDirectoryException}, else {@code FileSystemException}) with the library's message.
 */
public final class JuiceFS implements AutoCloseable {
  static final Cleaner CLEANER = Cleaner.create();

  // Linux open(2) flags, as the C ABI takes them.
  static final int O_RDONLY = 0, O_WRONLY = 1, O_RDWR = 2, O_CREAT = 0100, O_EXCL = 0200,
      O_TRUNC = 01000, O_APPEND = 02000, O_DIRECTORY = 0200000, O_NOFOLLOW = 0400000;

  /** jfs_rename flags. */
  public static final int RENAME_NOREPLACE = 1, RENAME_EXCHANGE = 2;
  /** jfs_access masks. */
  public static final int F_OK = 0, X_OK = 1, W_OK = 2, R_OK = 4;
  /** setXattr flags. */
  public static final int XATTR_CREATE = 1, XATTR_REPLACE = 2;

  final Guard guard;
  private final String metaUrl;
  private final Cleaner.Cleanable cleanable;

  /** Options of {@link #open(String, Options)}; fluent setters, defaults as in the C ABI. */
  public static final class Options {
    boolean readOnly;
    long bufferSize;
    int uploadThreads;
    String mountPoint;

    public Options readOnly(boolean v) { readOnly = v; return this; }
    /** Bytes of unflushed write data before writers block (0: default 300 MiB). */
    public Options bufferSize(long v) { bufferSize = v; return this; }
    public Options uploadThreads(int v) { uploadThreads = v; return this; }
    public Options mountPoint(String v) { mountPoint = v; return this; }
  }

  /** Options of {@link #format}; unset fields take the C ABI's defaults. */
  public static final class FormatOptions {
    String storage, bucket, accessKey, secretKey, compression, encryptRsaKey, encryptAlgo;
    long blockSizeKiB = -1, trashDays = -1, capacity = -1, inodes = -1;
    int flags;

    public FormatOptions storage(String v) { storage = v; return this; }
    public FormatOptions bucket(String v) { bucket = v; return this; }
    public FormatOptions accessKey(String v) { accessKey = v; return this; }
    public FormatOptions secretKey(String v) { secretKey = v; return this; }
    public FormatOptions compression(String v) { compression = v; return this; }
    public FormatOptions encryptRsaKey(String pem) { encryptRsaKey = pem; return this; }
    public FormatOptions encryptAlgo(String v) { encryptAlgo = v; return this; }
    public FormatOptions blockSizeKiB(int v) { blockSizeKiB = nonNegative(v); return this; }
    public FormatOptions trashDays(int v) { trashDays = nonNegative(v); return this; }
    public FormatOptions capacity(long bytes) { capacity = nonNegative(bytes); return this; }
    public FormatOptions inodes(long v) { inodes = nonNegative(v); return this; }
    public FormatOptions force(boolean v) { flags = v ? flags | 1 : flags & ~1; return this; }
    public FormatOptions hashPrefix(boolean v) { flags = v ? flags | 2 : flags & ~2; return this; }

    private static long nonNegative(long v) {
      if (v < 0) throw new IllegalArgumentException("negative value: " + v);
      return v;
    }
  }

  private JuiceFS(long handle, String metaUrl) {
    this.guard = new Guard(handle);
    this.metaUrl = metaUrl;
    Guard g = guard;
    this.cleanable = CLEANER.register(this, () -> {
      long h = g.take();
      if (h != 0) Native.closeVolume(h);
    });
  }

  /** The version of the loaded libjuicefs ("MAJOR.MINOR.PATCH"). */
  public static String version() {
    return new String(Native.version(), StandardCharsets.UTF_8);
  }

  /** Formats a new volume {@code name} at {@code metaUrl}; FileAlreadyExistsException if it is. */
  public static void format(String metaUrl, String name, FormatOptions o) throws IOException {
    Objects.requireNonNull(metaUrl, "metaUrl");
    Objects.requireNonNull(name, "name");
    if (o == null) o = new FormatOptions();
    byte[][] s = {cstr(metaUrl), cstr(name), cstr(o.storage), cstr(o.bucket), cstr(o.accessKey),
      cstr(o.secretKey), cstr(o.compression), cstr(o.encryptRsaKey), cstr(o.encryptAlgo)};
    long[] n = {o.flags, o.blockSizeKiB, o.trashDays, o.capacity, o.inodes};
    int rc = Native.format(s, n);
    if (rc < 0) throw Errors.of(rc, 0, null, null);
  }

  public static JuiceFS open(String metaUrl) throws IOException {
    return open(metaUrl, null);
  }

  /** Opens the volume at {@code metaUrl}; NoSuchFileException if it is not formatted. */
  public static JuiceFS open(String metaUrl, Options o) throws IOException {
    Objects.requireNonNull(metaUrl, "metaUrl");
    if (o == null) o = new Options();
    if (o.bufferSize < 0 || o.uploadThreads < 0) {
      throw new IllegalArgumentException("negative bufferSize or uploadThreads");
    }
    long h = Native.openVolume(cstr(metaUrl), o.readOnly ? 1 : 0, o.bufferSize, o.uploadThreads,
        o.mountPoint == null ? null : cstr(o.mountPoint));
    if (h < 0) throw Errors.of(h, 0, null, null);
    if (h == 0) throw new FileSystemException(metaUrl, null, "jfs_open_volume returned no handle");
    return new JuiceFS(h, metaUrl);
  }

  public String metaUrl() {
    return metaUrl;
  }

  public boolean isOpen() {
    return guard.isOpen();
  }

  /**
   * Flushes open files, ends the session and releases the volume; waits for calls in flight on
   * other threads. Idempotent. An IOException says some data may not have been flushed.
   */
  @Override
  public void close() throws IOException {
    long h = guard.take();
    cleanable.clean(); // no-op now: the handle is taken
    if (h == 0) return;
    int rc = Native.closeVolume(h);
    if (rc < 0) throw Errors.of(rc, 0, null, null);
  }

  // ----- helpers -----

  /** UTF-8 bytes of a string for the C side; null stays null; NUL is rejected. */
  static byte[] cstr(String s) {
    if (s == null) return null;
    if (s.indexOf('\0') >= 0) throw new IllegalArgumentException("string contains NUL: " + s);
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A volume path: non-null, absolute, without NUL. */
  static byte[] path(String p) {
    Objects.requireNonNull(p, "path");
    if (!p.startsWith("/")) {
      throw new IllegalArgumentException("path must be absolute in the volume: \"" + p + "\"");
    }
    return cstr(p);
  }

  /** The live handle under a stamp, or ClosedFileSystemException. */
  long live() {
    long h = guard.handle();
    if (h == 0) throw new ClosedFileSystemException();
    return h;
  }

  interface Call {
    long run(long fs);
  }

  /** Runs {@code c} on the live handle; -errno becomes the matching exception. */
  long call(String path, String other, Call c) throws IOException {
    long s = guard.acquire();
    try {
      long fs = live();
      long rc = c.run(fs);
      if (rc < 0) throw Errors.of(rc, fs, path, other);
      return rc;
    } finally {
      guard.release(s);
    }
  }

  // ----- files -----

  static int openFlags(Set<? extends OpenOption> options) {
    boolean write = options.contains(StandardOpenOption.WRITE)
        || options.contains(StandardOpenOption.APPEND);
    boolean read = options.contains(StandardOpenOption.READ) || !write;
    int f = read && write ? O_RDWR : write ? O_WRONLY : O_RDONLY;
    if (options.contains(StandardOpenOption.APPEND)) {
      if (options.contains(StandardOpenOption.READ)) {
        throw new IllegalArgumentException("READ + APPEND not allowed");
      }
      if (options.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
        throw new IllegalArgumentException("APPEND + TRUNCATE_EXISTING not allowed");
      }
      f |= O_APPEND;
    }
    if (write) {
      if (options.contains(StandardOpenOption.CREATE_NEW)) {
        f |= O_CREAT | O_EXCL;
      } else if (options.contains(StandardOpenOption.CREATE)) {
        f |= O_CREAT;
      }
      if (options.contains(StandardOpenOption.TRUNCATE_EXISTING)) f |= O_TRUNC;
    }
    if (options.contains(LinkOption.NOFOLLOW_LINKS)) f |= O_NOFOLLOW;
    for (OpenOption o : options) {
      if (o == null) throw new NullPointerException("null open option");
      if (!(o instanceof StandardOpenOption) && o != LinkOption.NOFOLLOW_LINKS) {
        throw new UnsupportedOperationException("open option " + o);
      }
    }
    return f;
  }

  /**
   * Opens a file as a {@link JuiceFSChannel} with {@link StandardOpenOption}s (default READ), and
   * {@code mode} (permission bits, umask applied) for a created file.
   */
  public JuiceFSChannel openChannel(String path, Set<? extends OpenOption> options, int mode)
      throws IOException {
    Objects.requireNonNull(options, "options");
    int flags = openFlags(options);
    byte[] p = path(path);
    long h = call(path, null, fs -> Native.open(fs, p, flags, mode));
    return new JuiceFSChannel(this, h, path, flags,
        options.contains(StandardOpenOption.DELETE_ON_CLOSE));
  }

  public JuiceFSChannel openChannel(String path, OpenOption... options) throws IOException {
    Set<OpenOption> set = new HashSet<>(Arrays.asList(options));
    return openChannel(path, set, 0666);
  }

  /** As {@link #openChannel(String, Set, int)}, as a {@link java.nio.channels.FileChannel}. */
  public JuiceFSFileChannel openFileChannel(String path, Set<? extends OpenOption> options,
      int mode) throws IOException {
    return new JuiceFSFileChannel(openChannel(path, options, mode));
  }

  /** A stream reading the file from its start. */
  public InputStream newInputStream(String path) throws IOException {
    return new JuiceFSInputStream(openChannel(path, StandardOpenOption.READ));
  }

  /**
   * A stream writing the file; without options: CREATE, TRUNCATE_EXISTING, WRITE. flush() makes
   * the data written so far visible to other clients.
   */
  public OutputStream newOutputStream(String path, OpenOption... options) throws IOException {
    Set<OpenOption> set = new HashSet<>(Arrays.asList(options));
    if (set.isEmpty()) {
      set.addAll(EnumSet.of(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING));
    }
    set.add(StandardOpenOption.WRITE);
    if (set.contains(StandardOpenOption.READ)) {
      throw new IllegalArgumentException("READ not allowed for an output stream");
    }
    return new JuiceFSOutputStream(openChannel(path, set, 0666));
  }

  // ----- namespace -----

  /** Attributes of {@code path}, following a final symlink. */
  public JuiceFSAttributes stat(String path) throws IOException {
    return stat(path, true);
  }

  /** Attributes of {@code path} itself (a symlink is not followed). */
  public JuiceFSAttributes lstat(String path) throws IOException {
    return stat(path, false);
  }

  JuiceFSAttributes stat(String path, boolean follow) throws IOException {
    byte[] p = path(path);
    long[] out = new long[Native.STAT_LONGS];
    long s = guard.acquire();
    try {
      long fs = live();
      int rc = Native.stat(fs, p, follow, out);
      if (rc < 0) throw Errors.of(rc, fs, path, null);
    } finally {
      guard.release(s);
    }
    return new JuiceFSAttributes(out);
  }

  /** access(2) with {@link #F_OK}, {@link #R_OK}, ...; throws when access is not granted. */
  public void access(String path, int mask) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.access(fs, p, mask));
  }

  /** Whether {@code path} exists (following symlinks). */
  public boolean exists(String path) throws IOException {
    try {
      access(path, F_OK);
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  public void mkdir(String path, int mode) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.mkdir(fs, p, mode, false));
  }

  /** mkdir -p. */
  public void mkdirs(String path, int mode) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.mkdir(fs, p, mode, true));
  }

  public void rmdir(String path) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.rmdir(fs, p));
  }

  /** Removes a non-directory (a symlink itself). */
  public void unlink(String path) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.unlink(fs, p));
  }

  /** Removes a file, symlink or empty directory. */
  public void delete(String path) throws IOException {
    if (lstat(path).isDirectory()) {
      rmdir(path);
    } else {
      unlink(path);
    }
  }

  /** Renames, replacing an existing {@code to} (as rename(2)). */
  public void rename(String from, String to) throws IOException {
    rename(from, to, 0);
  }

  /** rename with {@link #RENAME_NOREPLACE} or {@link #RENAME_EXCHANGE}. */
  public void rename(String from, String to, int flags) throws IOException {
    byte[] a = path(from), b = path(to);
    call(from, to, fs -> Native.rename(fs, a, b, flags));
  }

  /** A hard link {@code newPath} to {@code existing}. */
  public void link(String existing, String newPath) throws IOException {
    byte[] a = path(existing), b = path(newPath);
    call(newPath, existing, fs -> Native.link(fs, a, b));
  }

  /** Creates symlink {@code linkPath} pointing at {@code target} (stored verbatim). */
  public void symlink(String target, String linkPath) throws IOException {
    Objects.requireNonNull(target, "target");
    byte[] t = cstr(target), l = path(linkPath);
    call(linkPath, null, fs -> Native.symlink(fs, t, l));
  }

  /** The target of symlink {@code path}; NotLinkException if it is not one. */
  public String readlink(String path) throws IOException {
    byte[] p = path(path);
    byte[][] out = new byte[1][];
    long s = guard.acquire();
    try {
      long fs = live();
      int rc = Native.readlink(fs, p, out);
      if (rc == -Errors.EINVAL) throw Errors.notLink(path, fs);
      if (rc < 0) throw Errors.of(rc, fs, path, null);
    } finally {
      guard.release(s);
    }
    return new String(out[0], StandardCharsets.UTF_8);
  }

  /** The canonical path (symlinks resolved). */
  public String realpath(String path) throws IOException {
    byte[] p = path(path);
    byte[][] out = new byte[1][];
    call(path, null, fs -> Native.realpath(fs, p, out));
    return new String(out[0], StandardCharsets.UTF_8);
  }

  /** Sets permission bits (07777). */
  public void chmod(String path, int mode) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.chmod(fs, p, mode));
  }

  /** Sets owner and group; -1 leaves one unchanged. */
  public void chown(String path, int uid, int gid) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.chown(fs, p, uid, gid, true));
  }

  /** chown of a symlink itself. */
  public void lchown(String path, int uid, int gid) throws IOException {
    byte[] p = path(path);
    call(path, null, fs -> Native.chown(fs, p, uid, gid, false));
  }

  static final long UTIME_OMIT = (1L << 30) - 2;

  /** Sets access and modification times; a null time is left unchanged. */
  public void setTimes(String path, FileTime atime, FileTime mtime, boolean followLinks)
      throws IOException {
    byte[] p = path(path);
    long[] t = new long[4];
    put(t, 0, atime);
    put(t, 2, mtime);
    call(path, null, fs -> Native.utimens(fs, p, t, followLinks));
  }

  private static void put(long[] t, int i, FileTime ft) {
    if (ft == null) {
      t[i + 1] = UTIME_OMIT;
      return;
    }
    long sec = ft.to(TimeUnit.SECONDS);
    long nanos = ft.toInstant().getNano();
    if (ft.toInstant().getEpochSecond() != sec) nanos = 0; // saturated
    t[i] = sec;
    t[i + 1] = nanos;
  }

  /** Sets the length of a regular file. */
  public void truncate(String path, long length) throws IOException {
    if (length < 0) throw new IllegalArgumentException("negative length: " + length);
    byte[] p = path(path);
    call(path, null, fs -> Native.truncate(fs, p, length));
  }

  /** Usage of the volume: block_size, total_bytes, free_bytes, total_inodes, free_inodes, max_name. */
  public long[] statvfs() throws IOException {
    long[] out = new long[6];
    call("/", null, fs -> Native.statvfs(fs, out));
    return out;
  }

  /** Credentials of later calls: uid, groups (gids[0] primary), umask (0..0777). */
  public void setCredentials(int uid, int[] gids, int umask) throws IOException {
    Objects.requireNonNull(gids, "gids");
    if (gids.length == 0) throw new IllegalArgumentException("at least one group");
    if (umask < 0 || umask > 0777) throw new IllegalArgumentException("umask out of range");
    int[] g = gids.clone();
    call("/", null, fs -> Native.setCredentials(fs, uid, g, umask));
  }

  // ----- directories -----

  /** Opens a stream over the entries of directory {@code path} (close it). */
  public JuiceFSDirectory openDirectory(String path) throws IOException {
    byte[] p = path(path);
    long h = call(path, null, fs -> Native.opendir(fs, p));
    return new JuiceFSDirectory(this, h, path);
  }

  /** All entries of directory {@code path} ("." and ".." excluded), in the library's order. */
  public List<JuiceFSDirectory.Entry> list(String path) throws IOException {
    List<JuiceFSDirectory.Entry> out = new ArrayList<>();
    try (JuiceFSDirectory d = openDirectory(path)) {
      JuiceFSDirectory.Entry e;
      while ((e = d.next()) != null) out.add(e);
    }
    return out;
  }

  // ----- extended attributes -----

  public byte[] getXattr(String path, String name) throws IOException {
    byte[] p = path(path), n = cstr(Objects.requireNonNull(name, "name"));
    byte[][] out = new byte[1][];
    call(path, null, fs -> Native.getxattr(fs, p, n, true, out));
    return out[0];
  }

  public void setXattr(String path, String name, byte[] value, int flags) throws IOException {
    byte[] p = path(path), n = cstr(Objects.requireNonNull(name, "name"));
    byte[] v = Objects.requireNonNull(value, "value");
    call(path, null, fs -> Native.setxattr(fs, p, n, v, flags, true));
  }

  public List<String> listXattr(String path) throws IOException {
    byte[] p = path(path);
    byte[][] out = new byte[1][];
    call(path, null, fs -> Native.listxattr(fs, p, true, out));
    List<String> names = new ArrayList<>();
    int start = 0;
    for (int i = 0; i < out[0].length; i++) {
      if (out[0][i] == 0) {
        names.add(new String(out[0], start, i - start, StandardCharsets.UTF_8));
        start = i + 1;
      }
    }
    return names;
  }

  public void removeXattr(String path, String name) throws IOException {
    byte[] p = path(path), n = cstr(Objects.requireNonNull(name, "name"));
    call(path, null, fs -> Native.removexattr(fs, p, n, true));
  }

  @Override
  public String toString() {
    return "JuiceFS{" + metaUrl + (isOpen() ? "" : ", closed") + "}";
  }
}
