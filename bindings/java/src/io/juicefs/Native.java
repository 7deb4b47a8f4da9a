package io.juicefs;

import java.nio.ByteBuffer;

/**
 * The JNI entry points (bindings/java/jni/juicefs_jni.cc), one per C ABI function. Handles are
 * {@code long}s, 0 meaning closed; every call returns 0 / a count or -errno and never throws
 * (apart from OutOfMemoryError). Strings are UTF-8 byte arrays. Callers keep a handle alive for
 * the duration of a call (see {@link Guard}).
 */
final class Native {
  private Native() {}

  static final int STAT_LONGS = 16;

  static {
    NativeLoader.load();
  }

  static native byte[] version();

  static native byte[] lastError(long fs);

  static native int format(byte[][] strs, long[] nums);

  static native long openVolume(byte[] meta, int flags, long bufferSize, int uploadThreads,
      byte[] mountPoint);

  static native int closeVolume(long fs);

  static native int setCredentials(long fs, int uid, int[] gids, int umask);

  static native int statvfs(long fs, long[] out);

  static native long open(long fs, byte[] path, int flags, int mode);

  static native int close(long f);

  static native int read(long f, byte[] b, int off, int len, long pos);

  static native int readPinned(long f, byte[] b, int off, int len, long pos);

  static native int readDirect(long f, ByteBuffer b, int off, int len, long pos);

  static native int write(long f, byte[] b, int off, int len, long pos);

  static native int writeDirect(long f, ByteBuffer b, int off, int len, long pos);

  static native long seek(long f, long off, int whence);

  static native int ftruncate(long f, long len);

  static native int flush(long f);

  static native int fsync(long f);

  static native int fstat(long f, long[] out);

  static native int stat(long fs, byte[] path, boolean follow, long[] out);

  static native int access(long fs, byte[] path, int mask);

  static native int mkdir(long fs, byte[] path, int mode, boolean all);

  static native int rmdir(long fs, byte[] path);

  static native int unlink(long fs, byte[] path);

  static native int rename(long fs, byte[] from, byte[] to, int flags);

  static native int link(long fs, byte[] existing, byte[] newPath);

  static native int symlink(long fs, byte[] target, byte[] linkPath);

  static native int readlink(long fs, byte[] path, byte[][] out);

  static native int realpath(long fs, byte[] path, byte[][] out);

  static native int chmod(long fs, byte[] path, int mode);

  static native int chown(long fs, byte[] path, int uid, int gid, boolean follow);

  static native int utimens(long fs, byte[] path, long[] times, boolean follow);

  static native int truncate(long fs, byte[] path, long len);

  static native long opendir(long fs, byte[] path);

  static native int readdir(long d, byte[][] name, long[] stat);

  static native int closedir(long d);

  static native int getxattr(long fs, byte[] path, byte[] name, boolean follow, byte[][] out);

  static native int setxattr(long fs, byte[] path, byte[] name, byte[] value, int flags,
      boolean follow);

  static native int listxattr(long fs, byte[] path, boolean follow, byte[][] out);

  static native int removexattr(long fs, byte[] path, byte[] name, boolean follow);
}
