package io.juicefs;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessMode;
import java.nio.file.CopyOption;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.FileSystem;
import java.nio.file.FileSystemAlreadyExistsException;
import java.nio.file.FileSystemNotFoundException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.ReadOnlyFileSystemException;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.FileAttributeView;
import java.nio.file.attribute.FileOwnerAttributeView;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.spi.FileSystemProvider;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@code jfs} scheme: {@code jfs://NAME/path} names {@code /path} in the volume registered as
 * NAME by {@code FileSystems.newFileSystem(URI.create("jfs://NAME"), env)}. env keys: {@code
 * meta-url} (required; the volume's META-URL), {@code read-only} (Boolean or "true"), {@code
 * buffer-size} (bytes), {@code upload-threads}. Registered through
 * META-INF/services/java.nio.file.spi.FileSystemProvider.
 */
public final class JuiceFSFileSystemProvider extends FileSystemProvider {
  static final String SCHEME = "jfs";
  private final Map<String, JuiceFSFileSystem> systems = new ConcurrentHashMap<>();

  @Override
  public String getScheme() {
    return SCHEME;
  }

  private static String nameOf(URI uri) {
    if (!SCHEME.equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("not a jfs: URI: " + uri);
    }
    String a = uri.getAuthority();
    if (a == null || a.isEmpty()) {
      throw new IllegalArgumentException("jfs: URI without a file system name: " + uri);
    }
    return a;
  }

  @Override
  public FileSystem newFileSystem(URI uri, Map<String, ?> env) throws IOException {
    String name = nameOf(uri);
    Object meta = env == null ? null : env.get("meta-url");
    if (!(meta instanceof String)) {
      throw new IllegalArgumentException("env needs \"meta-url\" (the volume's META-URL)");
    }
    JuiceFS.Options o = new JuiceFS.Options();
    Object ro = env.get("read-only");
    boolean readOnly = ro != null && Boolean.parseBoolean(ro.toString());
    o.readOnly(readOnly);
    Object bs = env.get("buffer-size");
    if (bs != null) o.bufferSize(Long.parseLong(bs.toString()));
    Object ut = env.get("upload-threads");
    if (ut != null) o.uploadThreads(Integer.parseInt(ut.toString()));
    synchronized (systems) {
      if (systems.containsKey(name)) throw new FileSystemAlreadyExistsException(name);
      JuiceFSFileSystem fs = new JuiceFSFileSystem(this, name, JuiceFS.open((String) meta, o), readOnly);
      systems.put(name, fs);
      return fs;
    }
  }

  void unregister(JuiceFSFileSystem fs) {
    systems.remove(fs.name(), fs);
  }

  @Override
  public FileSystem getFileSystem(URI uri) {
    JuiceFSFileSystem fs = systems.get(nameOf(uri));
    if (fs == null) throw new FileSystemNotFoundException(uri.toString());
    return fs;
  }

  @Override
  public Path getPath(URI uri) {
    String p = uri.getPath();
    return getFileSystem(uri).getPath(p == null || p.isEmpty() ? "/" : p);
  }

  private static JuiceFS vol(Path p) {
    return JuiceFSPath.check(p).getFileSystem().volume();
  }

  private static String abs(Path p) {
    return JuiceFSPath.check(p).volumePath();
  }

  private static void checkWritable(Path p) {
    if (JuiceFSPath.check(p).getFileSystem().isReadOnly()) throw new ReadOnlyFileSystemException();
  }

  private static boolean follow(LinkOption... options) {
    for (LinkOption o : options) {
      if (o == LinkOption.NOFOLLOW_LINKS) return false;
      if (o == null) throw new NullPointerException();
    }
    return true;
  }

  /** Permission bits from a posix:permissions attribute, else {@code dflt}. */
  private static int modeOf(FileAttribute<?>[] attrs, int dflt) {
    int mode = dflt;
    for (FileAttribute<?> a : attrs) {
      if (a.name().equals("posix:permissions") || a.name().equals("unix:permissions")) {
        @SuppressWarnings("unchecked")
        Set<PosixFilePermission> s = (Set<PosixFilePermission>) a.value();
        mode = JuiceFSAttributes.toMode(s);
      } else {
        throw new UnsupportedOperationException("attribute " + a.name());
      }
    }
    return mode;
  }

  @Override
  public SeekableByteChannel newByteChannel(Path path, Set<? extends OpenOption> options,
      FileAttribute<?>... attrs) throws IOException {
    if (options.contains(StandardOpenOption.WRITE) || options.contains(StandardOpenOption.APPEND)) {
      checkWritable(path);
    }
    return vol(path).openChannel(abs(path), options, modeOf(attrs, 0666));
  }

  @Override
  public java.nio.channels.FileChannel newFileChannel(Path path,
      Set<? extends OpenOption> options, FileAttribute<?>... attrs) throws IOException {
    return new JuiceFSFileChannel((JuiceFSChannel) newByteChannel(path, options, attrs));
  }

  @Override
  public InputStream newInputStream(Path path, OpenOption... options) throws IOException {
    for (OpenOption o : options) {
      if (o == StandardOpenOption.APPEND || o == StandardOpenOption.WRITE) {
        throw new UnsupportedOperationException("'" + o + "' not allowed");
      }
    }
    Set<OpenOption> set = new HashSet<>(Arrays.asList(options));
    set.add(StandardOpenOption.READ);
    return new JuiceFSInputStream(vol(path).openChannel(abs(path), set, 0666));
  }

  @Override
  public OutputStream newOutputStream(Path path, OpenOption... options) throws IOException {
    checkWritable(path);
    return vol(path).newOutputStream(abs(path), options);
  }

  @Override
  public DirectoryStream<Path> newDirectoryStream(Path dir, DirectoryStream.Filter<? super Path> filter)
      throws IOException {
    JuiceFSDirectory d = vol(dir).openDirectory(abs(dir));
    return new DirectoryStream<Path>() {
      private boolean iterated;

      @Override
      public Iterator<Path> iterator() {
        if (iterated) throw new IllegalStateException("iterator() already called");
        if (!d.isOpen()) throw new IllegalStateException("directory stream closed");
        iterated = true;
        return new Iterator<Path>() {
          private Path next;

          @Override
          public boolean hasNext() {
            while (next == null) {
              if (!d.isOpen()) return false; // closed: iteration ends, as the JDK's streams do
              JuiceFSDirectory.Entry e;
              try {
                e = d.next();
              } catch (java.nio.channels.ClosedChannelException x) {
                return false;
              } catch (IOException x) {
                throw new DirectoryIteratorException(x);
              }
              if (e == null) return false;
              Path p = dir.resolve(e.name());
              try {
                if (filter == null || filter.accept(p)) next = p;
              } catch (IOException x) {
                throw new DirectoryIteratorException(x);
              }
            }
            return true;
          }

          @Override
          public Path next() {
            if (!hasNext()) throw new NoSuchElementException();
            Path p = next;
            next = null;
            return p;
          }
        };
      }

      @Override
      public void close() {
        d.close();
      }
    };
  }

  @Override
  public void createDirectory(Path dir, FileAttribute<?>... attrs) throws IOException {
    checkWritable(dir);
    vol(dir).mkdir(abs(dir), modeOf(attrs, 0777));
  }

  @Override
  public void createSymbolicLink(Path link, Path target, FileAttribute<?>... attrs)
      throws IOException {
    checkWritable(link);
    if (attrs.length > 0) throw new UnsupportedOperationException("attributes of a symlink");
    vol(link).symlink(JuiceFSPath.check(target).toString(), abs(link));
  }

  @Override
  public void createLink(Path link, Path existing) throws IOException {
    checkWritable(link);
    vol(link).link(abs(existing), abs(link));
  }

  @Override
  public Path readSymbolicLink(Path link) throws IOException {
    return JuiceFSPath.check(link).getFileSystem().getPath(vol(link).readlink(abs(link)));
  }

  @Override
  public void delete(Path path) throws IOException {
    checkWritable(path);
    vol(path).delete(abs(path));
  }

  @Override
  public void copy(Path source, Path target, CopyOption... options) throws IOException {
    checkWritable(target);
    boolean replace = false, attrs = false, follow = true;
    for (CopyOption o : options) {
      if (o == StandardCopyOption.REPLACE_EXISTING) replace = true;
      else if (o == StandardCopyOption.COPY_ATTRIBUTES) attrs = true;
      else if (o == LinkOption.NOFOLLOW_LINKS) follow = false;
      else throw new UnsupportedOperationException("copy option " + o);
    }
    JuiceFS sv = vol(source), tv = vol(target);
    String s = abs(source), t = abs(target);
    JuiceFSAttributes a = sv.stat(s, follow);
    if (isSameFile(source, target)) return;
    if (replace) {
      try {
        tv.delete(t);
      } catch (NoSuchFileException ignored) {
        // nothing to replace
      }
    } else if (exists(tv, t)) {
      throw new FileAlreadyExistsException(target.toString());
    }
    if (a.isDirectory()) {
      tv.mkdir(t, a.permissionBits());
    } else if (a.isSymbolicLink()) {
      tv.symlink(sv.readlink(s), t);
    } else {
      try (JuiceFSChannel in = sv.openChannel(s, StandardOpenOption.READ);
           JuiceFSChannel out = tv.openChannel(t, Set.of(StandardOpenOption.WRITE,
               StandardOpenOption.CREATE_NEW), a.permissionBits())) {
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
        while (in.read(buf) > 0) {
          buf.flip();
          while (buf.hasRemaining()) out.write(buf);
          buf.clear();
        }
      }
    }
    if (attrs) {
      if (!a.isSymbolicLink()) tv.chmod(t, a.permissionBits());
      tv.setTimes(t, a.lastAccessTime(), a.lastModifiedTime(), false);
    }
  }

  private static boolean exists(JuiceFS v, String p) throws IOException {
    try {
      v.lstat(p);
      return true;
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  @Override
  public void move(Path source, Path target, CopyOption... options) throws IOException {
    checkWritable(target);
    boolean replace = false;
    for (CopyOption o : options) {
      if (o == StandardCopyOption.REPLACE_EXISTING) replace = true;
      else if (o != StandardCopyOption.ATOMIC_MOVE && o != LinkOption.NOFOLLOW_LINKS
          && o != StandardCopyOption.COPY_ATTRIBUTES) {
        throw new UnsupportedOperationException("move option " + o);
      }
    }
    if (JuiceFSPath.check(source).getFileSystem() != JuiceFSPath.check(target).getFileSystem()) {
      copy(source, target, replace ? new CopyOption[] {StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS}
          : new CopyOption[] {StandardCopyOption.COPY_ATTRIBUTES, LinkOption.NOFOLLOW_LINKS});
      delete(source);
      return;
    }
    if (isSameFile(source, target)) return;
    vol(source).rename(abs(source), abs(target), replace ? 0 : JuiceFS.RENAME_NOREPLACE);
  }

  @Override
  public boolean isSameFile(Path a, Path b) throws IOException {
    if (a.equals(b)) return true;
    if (!(b instanceof JuiceFSPath) || !(a instanceof JuiceFSPath)) return false;
    JuiceFSPath x = (JuiceFSPath) a, y = (JuiceFSPath) b;
    if (x.getFileSystem() != y.getFileSystem()) return false;
    if (x.toAbsolutePath().normalize().equals(y.toAbsolutePath().normalize())) return true;
    try {
      return vol(a).stat(abs(a)).ino() == vol(b).stat(abs(b)).ino();
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  @Override
  public boolean isHidden(Path path) {
    Path n = JuiceFSPath.check(path).getFileName();
    return n != null && n.toString().startsWith(".");
  }

  @Override
  public FileStore getFileStore(Path path) throws IOException {
    vol(path).stat(abs(path));
    return JuiceFSPath.check(path).getFileSystem().store();
  }

  @Override
  public void checkAccess(Path path, AccessMode... modes) throws IOException {
    int mask = 0;
    for (AccessMode m : modes) {
      switch (m) {
        case READ: mask |= JuiceFS.R_OK; break;
        case WRITE:
          mask |= JuiceFS.W_OK;
          checkWritable(path);
          break;
        case EXECUTE: mask |= JuiceFS.X_OK; break;
        default: throw new UnsupportedOperationException(m.toString());
      }
    }
    vol(path).access(abs(path), mask);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <V extends FileAttributeView> V getFileAttributeView(Path path, Class<V> type,
      LinkOption... options) {
    JuiceFSPath.check(path);
    if (type == BasicFileAttributeView.class || type == PosixFileAttributeView.class
        || type == FileOwnerAttributeView.class) {
      return (V) new View(path, follow(options));
    }
    return null;
  }

  @Override
  @SuppressWarnings("unchecked")
  public <A extends BasicFileAttributes> A readAttributes(Path path, Class<A> type,
      LinkOption... options) throws IOException {
    if (type == BasicFileAttributes.class || type == PosixFileAttributes.class
        || type == JuiceFSAttributes.class) {
      return (A) vol(path).stat(abs(path), follow(options));
    }
    throw new UnsupportedOperationException("attributes " + type.getName());
  }

  private static final String[] BASIC = {"lastModifiedTime", "lastAccessTime", "creationTime",
    "size", "isRegularFile", "isDirectory", "isSymbolicLink", "isOther", "fileKey"};
  private static final String[] POSIX = {"permissions", "owner", "group"};
  private static final String[] UNIX = {"mode", "ino", "dev", "rdev", "nlink", "uid", "gid",
    "ctime"};

  private static Object value(JuiceFSAttributes a, String n) {
    switch (n) {
      case "lastModifiedTime": return a.lastModifiedTime();
      case "lastAccessTime": return a.lastAccessTime();
      case "creationTime": return a.creationTime();
      case "size": return a.size();
      case "isRegularFile": return a.isRegularFile();
      case "isDirectory": return a.isDirectory();
      case "isSymbolicLink": return a.isSymbolicLink();
      case "isOther": return a.isOther();
      case "fileKey": return a.fileKey();
      case "permissions": return a.permissions();
      case "owner": return a.owner();
      case "group": return a.group();
      case "mode": return a.mode();
      case "ino": return a.ino();
      case "dev": return 0L;
      case "rdev": return (long) a.rdev();
      case "nlink": return (int) a.nlink();
      case "uid": return a.uid();
      case "gid": return a.gid();
      case "ctime": return a.changeTime();
      default: return null;
    }
  }

  @Override
  public Map<String, Object> readAttributes(Path path, String attributes, LinkOption... options)
      throws IOException {
    String view = "basic", names = attributes;
    int colon = attributes.indexOf(':');
    if (colon >= 0) {
      view = attributes.substring(0, colon);
      names = attributes.substring(colon + 1);
    }
    Set<String> allowed = new HashSet<>(Arrays.asList(BASIC));
    switch (view) {
      case "basic": break;
      case "posix":
        allowed.addAll(Arrays.asList(POSIX));
        break;
      case "unix":
        allowed.addAll(Arrays.asList(POSIX));
        allowed.addAll(Arrays.asList(UNIX));
        break;
      default: throw new UnsupportedOperationException("view " + view);
    }
    JuiceFSAttributes a = vol(path).stat(abs(path), follow(options));
    Map<String, Object> out = new LinkedHashMap<>();
    for (String n : names.split(",")) {
      if (n.equals("*")) {
        for (String m : allowed) out.put(m, value(a, m));
      } else if (allowed.contains(n)) {
        out.put(n, value(a, n));
      } else {
        throw new IllegalArgumentException("'" + n + "' not recognized");
      }
    }
    return out;
  }

  @Override
  public void setAttribute(Path path, String attribute, Object value, LinkOption... options)
      throws IOException {
    checkWritable(path);
    String n = attribute.substring(attribute.indexOf(':') + 1);
    View v = new View(path, follow(options));
    switch (n) {
      case "lastModifiedTime": v.setTimes((FileTime) value, null, null); break;
      case "lastAccessTime": v.setTimes(null, (FileTime) value, null); break;
      case "creationTime": break; // not stored
      case "permissions": {
        @SuppressWarnings("unchecked")
        Set<PosixFilePermission> s = (Set<PosixFilePermission>) value;
        v.setPermissions(s);
        break;
      }
      case "owner": v.setOwner((UserPrincipal) value); break;
      case "group": v.setGroup((GroupPrincipal) value); break;
      case "mode": vol(path).chmod(abs(path), (Integer) value); break;
      default: throw new IllegalArgumentException("'" + attribute + "' not recognized");
    }
  }

  /** basic / posix / owner view of one path. */
  private static final class View implements PosixFileAttributeView {
    private final Path path;
    private final boolean follow;

    View(Path path, boolean follow) {
      this.path = path;
      this.follow = follow;
    }

    @Override public String name() { return "posix"; }

    @Override
    public PosixFileAttributes readAttributes() throws IOException {
      return vol(path).stat(abs(path), follow);
    }

    @Override
    public void setTimes(FileTime lastModified, FileTime lastAccess, FileTime create)
        throws IOException {
      if (lastModified == null && lastAccess == null) return;
      checkWritable(path);
      vol(path).setTimes(abs(path), lastAccess, lastModified, follow);
    }

    @Override
    public void setPermissions(Set<PosixFilePermission> perms) throws IOException {
      checkWritable(path);
      vol(path).chmod(abs(path), JuiceFSAttributes.toMode(perms));
    }

    @Override
    public void setGroup(GroupPrincipal group) throws IOException {
      checkWritable(path);
      int gid = Principals.idOf(group);
      if (follow) vol(path).chown(abs(path), -1, gid); else vol(path).lchown(abs(path), -1, gid);
    }

    @Override
    public UserPrincipal getOwner() throws IOException {
      return readAttributes().owner();
    }

    @Override
    public void setOwner(UserPrincipal owner) throws IOException {
      checkWritable(path);
      int uid = Principals.idOf(owner);
      if (follow) vol(path).chown(abs(path), uid, -1); else vol(path).lchown(abs(path), uid, -1);
    }
  }

}
