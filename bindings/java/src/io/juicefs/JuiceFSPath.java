package io.juicefs;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.ProviderMismatchException;
import java.nio.file.WatchEvent;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A path of a {@link JuiceFSFileSystem}: '/'-separated, absolute ("/a/b") or relative ("a/b",
 * resolved against the root). Kept in normal form without duplicate or trailing slashes.
 */
final class JuiceFSPath implements Path {
  private final JuiceFSFileSystem fs;
  private final String path; // "" (empty), "/", "/a/b" or "a/b"
  private volatile String[] names;

  JuiceFSPath(JuiceFSFileSystem fs, String input) {
    this.fs = fs;
    this.path = normalizeSlashes(input);
  }

  private static String normalizeSlashes(String s) {
    if (s.indexOf('\0') >= 0) throw new InvalidPathException(s, "NUL character not allowed");
    StringBuilder b = new StringBuilder(s.length());
    char prev = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '/' && prev == '/') continue;
      b.append(c);
      prev = c;
    }
    if (b.length() > 1 && b.charAt(b.length() - 1) == '/') b.setLength(b.length() - 1);
    return b.toString();
  }

  private String[] names() {
    String[] n = names;
    if (n == null) {
      String body = path.startsWith("/") ? path.substring(1) : path;
      n = body.isEmpty() ? (path.isEmpty() ? new String[] {""} : new String[0]) : body.split("/");
      names = n;
    }
    return n;
  }

  /** The absolute path string inside the volume, as the C ABI takes it. */
  String volumePath() {
    return isAbsolute() ? path : "/" + path;
  }

  static JuiceFSPath check(Path p) {
    Objects.requireNonNull(p, "path");
    if (!(p instanceof JuiceFSPath)) throw new ProviderMismatchException();
    return (JuiceFSPath) p;
  }

  @Override public JuiceFSFileSystem getFileSystem() { return fs; }
  @Override public boolean isAbsolute() { return path.startsWith("/"); }
  @Override public Path getRoot() { return isAbsolute() ? new JuiceFSPath(fs, "/") : null; }

  @Override
  public Path getFileName() {
    String[] n = names();
    if (n.length == 0) return null;
    if (n.length == 1 && !isAbsolute()) return this;
    return new JuiceFSPath(fs, n[n.length - 1]);
  }

  @Override
  public Path getParent() {
    String[] n = names();
    if (n.length == 0 || (n.length == 1 && !isAbsolute())) return null;
    if (n.length == 1) return getRoot();
    return new JuiceFSPath(fs, (isAbsolute() ? "/" : "")
        + String.join("/", Arrays.copyOf(n, n.length - 1)));
  }

  @Override public int getNameCount() { return names().length; }

  @Override
  public Path getName(int index) {
    String[] n = names();
    if (index < 0 || index >= n.length) throw new IllegalArgumentException("index " + index);
    return new JuiceFSPath(fs, n[index]);
  }

  @Override
  public Path subpath(int begin, int end) {
    String[] n = names();
    if (begin < 0 || end > n.length || begin >= end) {
      throw new IllegalArgumentException("subpath(" + begin + ", " + end + ")");
    }
    return new JuiceFSPath(fs, String.join("/", Arrays.copyOfRange(n, begin, end)));
  }

  @Override
  public boolean startsWith(Path other) {
    if (!(other instanceof JuiceFSPath) || other.getFileSystem() != fs) return false;
    JuiceFSPath o = (JuiceFSPath) other;
    if (o.isAbsolute() != isAbsolute()) return false;
    String[] a = names(), b = o.names();
    if (b.length > a.length) return false;
    if (o.path.isEmpty()) return path.isEmpty();
    for (int i = 0; i < b.length; i++) {
      if (!a[i].equals(b[i])) return false;
    }
    return true;
  }

  @Override
  public boolean endsWith(Path other) {
    if (!(other instanceof JuiceFSPath) || other.getFileSystem() != fs) return false;
    JuiceFSPath o = (JuiceFSPath) other;
    if (o.isAbsolute()) return o.path.equals(path);
    String[] a = names(), b = o.names();
    if (o.path.isEmpty()) return path.isEmpty();
    if (b.length > a.length) return false;
    for (int i = 0; i < b.length; i++) {
      if (!a[a.length - b.length + i].equals(b[i])) return false;
    }
    return true;
  }

  @Override
  public Path normalize() {
    List<String> out = new ArrayList<>();
    for (String n : names()) {
      if (n.equals(".") || n.isEmpty()) continue;
      if (n.equals("..")) {
        if (!out.isEmpty() && !out.get(out.size() - 1).equals("..")) {
          out.remove(out.size() - 1);
          continue;
        }
        if (isAbsolute()) continue; // "/.." is "/"
      }
      out.add(n);
    }
    return new JuiceFSPath(fs, (isAbsolute() ? "/" : "") + String.join("/", out));
  }

  @Override
  public Path resolve(Path other) {
    JuiceFSPath o = check(other);
    if (o.isAbsolute()) return o;
    if (o.path.isEmpty()) return this;
    if (path.isEmpty()) return o;
    return new JuiceFSPath(fs, path + "/" + o.path);
  }

  @Override
  public Path relativize(Path other) {
    JuiceFSPath o = check(other);
    if (o.isAbsolute() != isAbsolute()) {
      throw new IllegalArgumentException("'other' is different type of Path");
    }
    if (o.path.equals(path)) return new JuiceFSPath(fs, "");
    String[] a = path.isEmpty() ? new String[0] : names();
    String[] b = o.path.isEmpty() ? new String[0] : o.names();
    int i = 0;
    while (i < a.length && i < b.length && a[i].equals(b[i])) i++;
    List<String> out = new ArrayList<>();
    for (int j = i; j < a.length; j++) out.add("..");
    for (int j = i; j < b.length; j++) out.add(b[j]);
    return new JuiceFSPath(fs, String.join("/", out));
  }

  @Override
  public URI toUri() {
    try {
      return new URI(JuiceFSFileSystemProvider.SCHEME, fs.name(), volumePath(), null, null);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public Path toAbsolutePath() {
    return isAbsolute() ? this : new JuiceFSPath(fs, "/" + path);
  }

  @Override
  public Path toRealPath(LinkOption... options) throws IOException {
    for (LinkOption o : options) {
      if (o == LinkOption.NOFOLLOW_LINKS) {
        JuiceFSPath p = (JuiceFSPath) toAbsolutePath().normalize();
        fs.volume().lstat(p.volumePath()); // must exist
        return p;
      }
    }
    return new JuiceFSPath(fs, fs.volume().realpath(volumePath()));
  }

  @Override
  public WatchKey register(WatchService watcher, WatchEvent.Kind<?>[] events,
      WatchEvent.Modifier... modifiers) {
    throw new UnsupportedOperationException("JuiceFS has no watch service");
  }

  @Override
  public int compareTo(Path other) {
    return path.compareTo(check(other).path);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof JuiceFSPath && ((JuiceFSPath) o).fs == fs && ((JuiceFSPath) o).path.equals(path);
  }

  @Override
  public int hashCode() {
    return path.hashCode();
  }

  @Override
  public String toString() {
    return path;
  }
}
