package io.juicefs;

import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Set;

/**
 * Attributes of a file (the C ABI's jfs_stat_t): {@link PosixFileAttributes} plus the raw numeric
 * fields. Owner and group are principals named by the numeric uid / gid (the volume has no user
 * database). creationTime() is the last modification time, as on Linux without birth times.
 */
public final class JuiceFSAttributes implements PosixFileAttributes {
  public static final int S_IFMT = 0170000, S_IFREG = 0100000, S_IFDIR = 0040000,
      S_IFLNK = 0120000;

  private final long[] v;

  JuiceFSAttributes(long[] v) {
    this.v = v;
  }

  public long ino() { return v[0]; }
  /** File type (Linux S_IFMT values) and permission bits (07777). */
  public int mode() { return (int) v[1]; }
  public int permissionBits() { return (int) v[1] & 07777; }
  public long nlink() { return v[2]; }
  public int uid() { return (int) v[3]; }
  public int gid() { return (int) v[4]; }
  public int rdev() { return (int) v[5]; }
  /** JuiceFS inode flags: 1 immutable, 2 append-only. */
  public int flags() { return (int) v[6]; }
  /** 512-byte units charged to the volume. */
  public long blocks() { return v[8]; }
  public int blockSize() { return (int) v[9]; }
  /** Time of the last status change. */
  public FileTime changeTime() { return time(14); }

  private FileTime time(int i) {
    return FileTime.from(Instant.ofEpochSecond(v[i], v[i + 1]));
  }

  @Override public FileTime lastModifiedTime() { return time(12); }
  @Override public FileTime lastAccessTime() { return time(10); }
  @Override public FileTime creationTime() { return time(12); }
  @Override public boolean isRegularFile() { return (mode() & S_IFMT) == S_IFREG; }
  @Override public boolean isDirectory() { return (mode() & S_IFMT) == S_IFDIR; }
  @Override public boolean isSymbolicLink() { return (mode() & S_IFMT) == S_IFLNK; }
  @Override public boolean isOther() {
    return !isRegularFile() && !isDirectory() && !isSymbolicLink();
  }
  @Override public long size() { return v[7]; }
  /** The inode number (a Long): equal keys are the same file of one volume. */
  @Override public Object fileKey() { return v[0]; }
  @Override public UserPrincipal owner() { return new Principals.User(uid()); }
  @Override public GroupPrincipal group() { return new Principals.Group(gid()); }
  @Override public Set<PosixFilePermission> permissions() { return toPermissions(mode()); }

  private static final PosixFilePermission[] ORDER = {
    PosixFilePermission.OTHERS_EXECUTE, PosixFilePermission.OTHERS_WRITE,
    PosixFilePermission.OTHERS_READ, PosixFilePermission.GROUP_EXECUTE,
    PosixFilePermission.GROUP_WRITE, PosixFilePermission.GROUP_READ,
    PosixFilePermission.OWNER_EXECUTE, PosixFilePermission.OWNER_WRITE,
    PosixFilePermission.OWNER_READ};

  static Set<PosixFilePermission> toPermissions(int mode) {
    Set<PosixFilePermission> s = EnumSet.noneOf(PosixFilePermission.class);
    for (int i = 0; i < 9; i++) {
      if ((mode & (1 << i)) != 0) s.add(ORDER[i]);
    }
    return s;
  }

  static int toMode(Set<PosixFilePermission> perms) {
    int m = 0;
    for (int i = 0; i < 9; i++) {
      if (perms.contains(ORDER[i])) m |= 1 << i;
    }
    return m;
  }

  @Override
  public String toString() {
    return String.format("JuiceFSAttributes{ino=%d, mode=0%o, size=%d, uid=%d, gid=%d}", ino(),
        mode(), size(), uid(), gid());
  }
}
