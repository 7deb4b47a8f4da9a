package io.juicefs;

import java.io.IOException;
import java.io.InputStream;
import java.util.Objects;

/** An InputStream over a {@link JuiceFSChannel} (unbuffered: wrap in a BufferedInputStream for
 * small reads). Reads after close throw an IOException. */
final class JuiceFSInputStream extends InputStream {
  private final JuiceFSChannel ch;

  JuiceFSInputStream(JuiceFSChannel ch) {
    this.ch = ch;
  }

  @Override
  public int read() throws IOException {
    byte[] b = new byte[1];
    int n = ch.read(b, 0, 1);
    return n <= 0 ? -1 : b[0] & 0xff;
  }

  @Override
  public int read(byte[] b, int off, int len) throws IOException {
    Objects.requireNonNull(b, "b");
    return ch.read(b, off, len);
  }

  @Override
  public long skip(long n) throws IOException {
    if (n <= 0) return 0;
    long pos = ch.position(), size = ch.size();
    long to = Math.min(size, pos + Math.min(n, Long.MAX_VALUE - pos));
    if (to <= pos) return 0;
    ch.position(to);
    return to - pos;
  }

  @Override
  public int available() throws IOException {
    long left = ch.size() - ch.position();
    return (int) Math.max(0, Math.min(Integer.MAX_VALUE, left));
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
