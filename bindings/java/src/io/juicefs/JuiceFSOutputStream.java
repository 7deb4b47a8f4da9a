package io.juicefs;

import java.io.IOException;
import java.io.OutputStream;
import java.util.Objects;

/** An OutputStream over a {@link JuiceFSChannel} (unbuffered: every write goes to the library,
 * which buffers blocks itself). flush() makes the data visible to other clients. */
final class JuiceFSOutputStream extends OutputStream {
  private final JuiceFSChannel ch;

  JuiceFSOutputStream(JuiceFSChannel ch) {
    this.ch = ch;
  }

  @Override
  public void write(int b) throws IOException {
    ch.write(new byte[] {(byte) b}, 0, 1);
  }

  @Override
  public void write(byte[] b, int off, int len) throws IOException {
    Objects.requireNonNull(b, "b");
    ch.write(b, off, len);
  }

  @Override
  public void flush() throws IOException {
    ch.force(false);
  }

  @Override
  public void close() throws IOException {
    ch.close();
  }
}
