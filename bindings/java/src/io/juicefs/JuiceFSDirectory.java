package io.juicefs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.ref.Cleaner;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * A directory stream with attributes ("readdir-plus"). {@link #next()} returns entries until null;
 * or iterate once (errors then surface as UncheckedIOException). Close it; calls after close throw
 * ClosedChannelException.
 */
public final class JuiceFSDirectory implements AutoCloseable, Iterable<JuiceFSDirectory.Entry> {
  /** One entry: its name (no '/') and attributes. */
  public static final class Entry {
    private final String name;
    private final JuiceFSAttributes attrs;

    Entry(String name, JuiceFSAttributes attrs) {
      this.name = name;
      this.attrs = attrs;
    }

    public String name() { return name; }
    public JuiceFSAttributes attributes() { return attrs; }
    @Override public String toString() { return name; }
  }

  private final JuiceFS vol;
  private final Guard guard;
  private final String path;
  private final Cleaner.Cleanable cleanable;
  private boolean iterated;

  JuiceFSDirectory(JuiceFS vol, long handle, String path) {
    this.vol = vol;
    this.guard = new Guard(handle);
    this.path = path;
    Guard g = guard;
    this.cleanable = JuiceFS.CLEANER.register(this, () -> {
      long h = g.take();
      if (h != 0) Native.closedir(h);
    });
  }

  public String path() {
    return path;
  }

  /** The next entry, or null at the end. */
  public Entry next() throws IOException {
    byte[][] name = new byte[1][];
    long[] st = new long[Native.STAT_LONGS];
    long s = guard.acquire();
    try {
      long h = guard.handle();
      if (h == 0) throw new ClosedChannelException();
      int rc = Native.readdir(h, name, st);
      if (rc < 0) {
        long vs = vol.guard.acquire();
        try {
          throw Errors.of(rc, vol.guard.handle(), path, null);
        } finally {
          vol.guard.release(vs);
        }
      }
      if (rc == 0) return null;
    } finally {
      guard.release(s);
    }
    return new Entry(new String(name[0], StandardCharsets.UTF_8), new JuiceFSAttributes(st));
  }

  /** Iterates the remaining entries; only once. */
  @Override
  public synchronized Iterator<Entry> iterator() {
    if (iterated) throw new IllegalStateException("iterator() already called");
    iterated = true;
    return new Iterator<Entry>() {
      private Entry nextEntry;
      private boolean done;

      @Override
      public boolean hasNext() {
        if (nextEntry != null) return true;
        if (done) return false;
        try {
          nextEntry = JuiceFSDirectory.this.next();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
        if (nextEntry == null) done = true;
        return nextEntry != null;
      }

      @Override
      public Entry next() {
        if (!hasNext()) throw new NoSuchElementException();
        Entry e = nextEntry;
        nextEntry = null;
        return e;
      }
    };
  }

  public boolean isOpen() {
    return guard.isOpen();
  }

  @Override
  public void close() {
    long h = guard.take();
    cleanable.clean();
    if (h != 0) Native.closedir(h); // always releases; nothing useful to report
  }
}
