package io.juicefs;

import java.io.IOException;
import java.lang.ref.Cleaner;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.SeekableByteChannel;
import java.util.Objects;

/**
 * An open file: a {@link SeekableByteChannel} with FileChannel-like positional I/O ({@link
 * #read(ByteBuffer, long)}, {@link #write(ByteBuffer, long)}), {@link #truncate}, {@link #force}.
 * The position is shared by all threads using the channel (as with a file descriptor); positional
 * calls leave it alone. Thread-safe: close() waits for calls in flight on other threads, and any
 * call after close throws {@link ClosedChannelException}. Direct buffers are passed to the library
 * without a copy; heap buffers are copied once, as FileChannel does.
 */
public final class JuiceFSChannel implements SeekableByteChannel {
  private final JuiceFS vol;
  private final Guard guard;
  private final String path;
  private final boolean readable, writable, deleteOnClose;
  private final Cleaner.Cleanable cleanable;

  JuiceFSChannel(JuiceFS vol, long handle, String path, int flags, boolean deleteOnClose) {
    this.vol = vol;
    this.guard = new Guard(handle);
    this.path = path;
    int acc = flags & 3;
    this.readable = acc == JuiceFS.O_RDONLY || acc == JuiceFS.O_RDWR;
    this.writable = acc == JuiceFS.O_WRONLY || acc == JuiceFS.O_RDWR;
    this.deleteOnClose = deleteOnClose;
    Guard g = guard;
    this.cleanable = JuiceFS.CLEANER.register(this, () -> {
      long h = g.take();
      if (h != 0) Native.close(h);
    });
  }

  public String path() {
    return path;
  }

  /** The raw file handle, for the package's tests of the native calls (0 once closed). */
  long handleForTest() {
    return guard.handle();
  }

  /** The file handle under a stamp of this channel, or ClosedChannelException. */
  private long file() throws ClosedChannelException {
    long h = guard.handle();
    if (h == 0) throw new ClosedChannelException();
    return h;
  }

  /** The exception for rc, with the volume's message (the volume may be closed: then 0). */
  private IOException error(long rc) {
    long vs = vol.guard.acquire();
    try {
      return Errors.of(rc, vol.guard.handle(), path, null);
    } finally {
      vol.guard.release(vs);
    }
  }

  @Override
  public int read(ByteBuffer dst) throws IOException {
    return read(dst, -1L, false);
  }

  /** Reads at {@code position} (>= 0) without moving the channel's position; -1 at end of file. */
  public int read(ByteBuffer dst, long position) throws IOException {
    if (position < 0) throw new IllegalArgumentException("negative position");
    return read(dst, position, true);
  }

  private int read(ByteBuffer dst, long pos, boolean positional) throws IOException {
    Objects.requireNonNull(dst, "dst");
    if (dst.isReadOnly()) throw new IllegalArgumentException("read-only buffer");
    long s = guard.acquire();
    try {
      long f = file();
      if (!readable) throw new NonReadableChannelException();
      int len = dst.remaining();
      if (len == 0) return 0;
      int n;
      if (dst.isDirect()) {
        n = Native.readDirect(f, dst, dst.position(), len, pos);
      } else {
        n = heapRead(f, dst.array(), dst.arrayOffset() + dst.position(), len, pos);
      }
      if (n < 0) throw error(n);
      if (n == 0) return -1;
      dst.position(dst.position() + n);
      return n;
    } finally {
      guard.release(s);
    }
  }

  // Reads into a Java array. Copying through native memory (Native.read) keeps the GC free while
  // the library waits on object storage, but the second copy halves the speed of reads served
  // from memory. So a read that was fast (under PIN_BASE_NANOS plus 1 ns per byte, i.e. ~1 GB/s:
  // the data came from memory or the local cache) makes the next one go straight into the pinned
  // array (Native.readPinned, no copy); a pinned read that turned out slow switches back to
  // copying. A GC thus waits on a pinned read only when a cache miss follows fast reads, and then
  // for one read. Races on pinReads between threads only pick the other (correct) path.
  private static final long PIN_BASE_NANOS = 1_000_000;  // scheduling noise on a busy machine
  private boolean pinReads;

  private int heapRead(long f, byte[] b, int off, int len, long pos) {
    boolean pin = pinReads;
    long t = System.nanoTime();
    int n = pin ? Native.readPinned(f, b, off, len, pos) : Native.read(f, b, off, len, pos);
    long took = System.nanoTime() - t;
    pinReads = n > 0 && took < PIN_BASE_NANOS + (long) n;  // n bytes in n ns = 1 GB/s
    return n;
  }

  /** Reads into {@code b[off..off+len)} at the position; -1 at end of file. */
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    if (len == 0) return 0;
    long s = guard.acquire();
    try {
      long f = file();
      if (!readable) throw new NonReadableChannelException();
      int n = heapRead(f, b, off, len, -1L);
      if (n < 0) throw error(n);
      return n == 0 ? -1 : n;
    } finally {
      guard.release(s);
    }
  }

  @Override
  public int write(ByteBuffer src) throws IOException {
    return write(src, -1L, false);
  }

  /** Writes at {@code position} (>= 0) without moving the channel's position. */
  public int write(ByteBuffer src, long position) throws IOException {
    if (position < 0) throw new IllegalArgumentException("negative position");
    return write(src, position, true);
  }

  private int write(ByteBuffer src, long pos, boolean positional) throws IOException {
    Objects.requireNonNull(src, "src");
    long s = guard.acquire();
    try {
      long f = file();
      if (!writable) throw new NonWritableChannelException();
      int len = src.remaining();
      if (len == 0) return 0;
      int n;
      if (src.isDirect()) {
        n = Native.writeDirect(f, src, src.position(), len, pos);
      } else if (src.hasArray()) {
        n = Native.write(f, src.array(), src.arrayOffset() + src.position(), len, pos);
      } else {
        byte[] tmp = new byte[len];
        src.duplicate().get(tmp);
        n = Native.write(f, tmp, 0, len, pos);
      }
      if (n < 0) throw error(n);
      src.position(src.position() + n);
      return n;
    } finally {
      guard.release(s);
    }
  }

  /** Writes all of {@code b[off..off+len)} at the position. */
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.checkFromIndexSize(off, len, b.length);
    long s = guard.acquire();
    try {
      long f = file();
      if (!writable) throw new NonWritableChannelException();
      int n = Native.write(f, b, off, len, -1L);
      if (n < 0) throw error(n);
    } finally {
      guard.release(s);
    }
  }

  private long seek(long off, int whence) throws IOException {
    long s = guard.acquire();
    try {
      long r = Native.seek(file(), off, whence);
      if (r < 0) throw error(r);
      return r;
    } finally {
      guard.release(s);
    }
  }

  @Override
  public long position() throws IOException {
    return seek(0, 1);
  }

  /** Sets the position; beyond the end is allowed (reads give -1, writes extend the file). */
  @Override
  public JuiceFSChannel position(long newPosition) throws IOException {
    if (newPosition < 0) throw new IllegalArgumentException("negative position");
    seek(newPosition, 0);
    return this;
  }

  /** The file's size, including data not yet flushed. */
  @Override
  public long size() throws IOException {
    return attributes().size();
  }

  public JuiceFSAttributes attributes() throws IOException {
    long[] out = new long[Native.STAT_LONGS];
    long s = guard.acquire();
    try {
      int rc = Native.fstat(file(), out);
      if (rc < 0) throw error(rc);
    } finally {
      guard.release(s);
    }
    return new JuiceFSAttributes(out);
  }

  /** Truncates to {@code size} if the file is longer; the position is then at most size. */
  @Override
  public JuiceFSChannel truncate(long size) throws IOException {
    if (size < 0) throw new IllegalArgumentException("negative size");
    long s = guard.acquire();
    try {
      long f = file();
      if (!writable) throw new NonWritableChannelException();
      long[] st = new long[Native.STAT_LONGS];
      int rc = Native.fstat(f, st);
      if (rc < 0) throw error(rc);
      if (size < st[7]) {
        rc = Native.ftruncate(f, size);
        if (rc < 0) throw error(rc);
      }
      long p = Native.seek(f, 0, 1);
      if (p > size) Native.seek(f, size, 0);
    } finally {
      guard.release(s);
    }
    return this;
  }

  /** Makes the data written so far visible to other clients (jfs_flush / jfs_fsync). */
  public void force(boolean metaData) throws IOException {
    long s = guard.acquire();
    try {
      long f = file();
      int rc = metaData ? Native.fsync(f) : Native.flush(f);
      if (rc < 0) throw error(rc);
    } finally {
      guard.release(s);
    }
  }

  @Override
  public boolean isOpen() {
    return guard.isOpen();
  }

  /** Flushes and releases the file (waits for calls in flight); idempotent. */
  @Override
  public void close() throws IOException {
    long h = guard.take();
    cleanable.clean();
    if (h == 0) return;
    int rc = Native.close(h);
    if (rc < 0) throw error(rc);
    if (deleteOnClose) vol.unlink(path);
  }
}
