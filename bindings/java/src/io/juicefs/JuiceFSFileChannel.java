package io.juicefs;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Objects;

/**
 * A {@link FileChannel} over a {@link JuiceFSChannel}, for {@code FileChannel.open(jfsPath, ...)}
 * and {@link JuiceFS#openFileChannel}. Memory mapping and file locks are not supported
 * (UnsupportedOperationException).
 */
public final class JuiceFSFileChannel extends FileChannel {
  private final JuiceFSChannel ch;

  JuiceFSFileChannel(JuiceFSChannel ch) {
    this.ch = ch;
  }

  @Override public int read(ByteBuffer dst) throws IOException { return ch.read(dst); }
  @Override public int read(ByteBuffer dst, long position) throws IOException {
    return ch.read(dst, position);
  }
  @Override public int write(ByteBuffer src) throws IOException { return ch.write(src); }
  @Override public int write(ByteBuffer src, long position) throws IOException {
    return ch.write(src, position);
  }

  @Override
  public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, dsts.length);
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      if (!dsts[i].hasRemaining()) continue;
      int n = ch.read(dsts[i]);
      if (n < 0) return total == 0 ? -1 : total;
      total += n;
      if (dsts[i].hasRemaining()) break;
    }
    return total;
  }

  @Override
  public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
    Objects.checkFromIndexSize(offset, length, srcs.length);
    long total = 0;
    for (int i = offset; i < offset + length; i++) {
      while (srcs[i].hasRemaining()) total += ch.write(srcs[i]);
    }
    return total;
  }

  @Override public long position() throws IOException { return ch.position(); }
  @Override public FileChannel position(long newPosition) throws IOException {
    ch.position(newPosition);
    return this;
  }
  @Override public long size() throws IOException { return ch.size(); }
  @Override public FileChannel truncate(long size) throws IOException {
    ch.truncate(size);
    return this;
  }
  @Override public void force(boolean metaData) throws IOException { ch.force(metaData); }

  @Override
  public long transferTo(long position, long count, WritableByteChannel target)
      throws IOException {
    if (position < 0 || count < 0) throw new IllegalArgumentException("negative argument");
    ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(count, 1 << 20));
    long done = 0;
    while (done < count) {
      buf.clear();
      if (count - done < buf.capacity()) buf.limit((int) (count - done));
      int n = ch.read(buf, position + done);
      if (n <= 0) break;
      buf.flip();
      while (buf.hasRemaining()) target.write(buf);
      done += n;
    }
    return done;
  }

  @Override
  public long transferFrom(ReadableByteChannel src, long position, long count)
      throws IOException {
    if (position < 0 || count < 0) throw new IllegalArgumentException("negative argument");
    ByteBuffer buf = ByteBuffer.allocateDirect((int) Math.min(count, 1 << 20));
    long done = 0;
    while (done < count) {
      buf.clear();
      if (count - done < buf.capacity()) buf.limit((int) (count - done));
      int n = src.read(buf);
      if (n <= 0) break;
      buf.flip();
      while (buf.hasRemaining()) done += ch.write(buf, position + done);
    }
    return done;
  }

  @Override
  public MappedByteBuffer map(MapMode mode, long position, long size) {
    throw new UnsupportedOperationException("JuiceFS files cannot be memory-mapped");
  }

  @Override
  public FileLock lock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException("file locks are not supported");
  }

  @Override
  public FileLock tryLock(long position, long size, boolean shared) {
    throw new UnsupportedOperationException("file locks are not supported");
  }

  @Override
  protected void implCloseChannel() throws IOException {
    ch.close();
  }
}
