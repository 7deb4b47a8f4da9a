package io.juicefs;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.ClosedFileSystemException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input and misuse give the usual Java exceptions, never a JVM crash. */
class RobustnessTest {
  @TempDir Path tmp;
  JuiceFS fs;

  @BeforeEach
  void open() throws Exception {
    fs = Volumes.open(tmp);
  }

  @AfterEach
  void close() throws Exception {
    fs.close();
  }

  @Test
  void nullArguments() throws Exception {
    assertThrows(NullPointerException.class, () -> fs.stat(null));
    assertThrows(NullPointerException.class, () -> fs.newInputStream(null));
    assertThrows(NullPointerException.class, () -> fs.rename("/a", null));
    assertThrows(NullPointerException.class, () -> fs.symlink(null, "/l"));
    assertThrows(NullPointerException.class, () -> JuiceFS.open(null));
    assertThrows(NullPointerException.class, () -> JuiceFS.format(null, "x", null));
    assertThrows(NullPointerException.class, () -> fs.setCredentials(0, null, 022));
    try (JuiceFSChannel ch = fs.openChannel("/n", StandardOpenOption.WRITE,
        StandardOpenOption.CREATE, StandardOpenOption.READ)) {
      assertThrows(NullPointerException.class, () -> ch.read((ByteBuffer) null));
      assertThrows(NullPointerException.class, () -> ch.write((ByteBuffer) null));
      assertThrows(NullPointerException.class, () -> ch.read(null, 0, 1));
    }
    try (OutputStream out = fs.newOutputStream("/n")) {
      assertThrows(NullPointerException.class, () -> out.write(null, 0, 1));
    }
  }

  @Test
  void badPathsAndRanges() throws Exception {
    assertThrows(IllegalArgumentException.class, () -> fs.stat("relative"));
    assertThrows(IllegalArgumentException.class, () -> fs.stat("/a\0b"));
    assertThrows(IllegalArgumentException.class, () -> fs.truncate("/x", -1));
    assertThrows(IllegalArgumentException.class, () -> fs.setCredentials(0, new int[0], 022));
    assertThrows(IllegalArgumentException.class, () -> fs.setCredentials(0, new int[] {0}, 01000));
    assertThrows(IllegalArgumentException.class,
        () -> new JuiceFS.FormatOptions().blockSizeKiB(-1));
    try (JuiceFSChannel ch = fs.openChannel("/r", StandardOpenOption.WRITE,
        StandardOpenOption.CREATE, StandardOpenOption.READ)) {
      byte[] b = new byte[4];
      assertThrows(IndexOutOfBoundsException.class, () -> ch.read(b, -1, 2));
      assertThrows(IndexOutOfBoundsException.class, () -> ch.read(b, 2, 3));
      assertThrows(IndexOutOfBoundsException.class, () -> ch.write(b, 3, Integer.MAX_VALUE));
      assertThrows(IllegalArgumentException.class, () -> ch.position(-1));
      assertThrows(IllegalArgumentException.class, () -> ch.read(ByteBuffer.allocate(1), -5));
      assertThrows(IllegalArgumentException.class, () -> ch.write(ByteBuffer.allocate(1), -5));
      assertThrows(IllegalArgumentException.class, () -> ch.truncate(-1));
      assertThrows(IllegalArgumentException.class,
          () -> ch.read(ByteBuffer.allocate(4).asReadOnlyBuffer()));
      // huge offsets: end of file for reads, an IOException for writes, never a crash
      assertEquals(-1, ch.read(ByteBuffer.allocate(4), Long.MAX_VALUE));
      assertThrows(IOException.class, () -> ch.write(ByteBuffer.wrap(b), Long.MAX_VALUE - 1));
      ch.position(Long.MAX_VALUE);
      assertEquals(-1, ch.read(ByteBuffer.allocate(4)));
      assertThrows(IOException.class, () -> ch.write(ByteBuffer.wrap(b)));
      // a read-only heap buffer can be written from
      ch.position(0);
      assertEquals(4, ch.write(ByteBuffer.wrap(b).asReadOnlyBuffer()));
    }
  }

  @Test
  void closedChannelsAndStreams() throws Exception {
    JuiceFSChannel ch = fs.openChannel("/c", StandardOpenOption.WRITE, StandardOpenOption.CREATE);
    ch.close();
    ch.close(); // idempotent
    assertFalse(ch.isOpen());
    assertThrows(ClosedChannelException.class, () -> ch.write(ByteBuffer.allocate(1)));
    assertThrows(ClosedChannelException.class, () -> ch.read(ByteBuffer.allocate(1)));
    assertThrows(ClosedChannelException.class, ch::position);
    assertThrows(ClosedChannelException.class, ch::size);
    assertThrows(ClosedChannelException.class, () -> ch.force(true));
    InputStream in = fs.newInputStream("/c");
    in.close();
    assertThrows(IOException.class, in::read);
    OutputStream out = fs.newOutputStream("/c");
    out.close();
    assertThrows(IOException.class, () -> out.write(1));
    JuiceFSDirectory d = fs.openDirectory("/");
    d.close();
    d.close();
    assertThrows(ClosedChannelException.class, d::next);
  }

  @Test
  void closedVolume() throws Exception {
    JuiceFS v = Volumes.open(tmp.resolve("v2"));
    JuiceFSChannel ch = v.openChannel("/f", StandardOpenOption.WRITE, StandardOpenOption.CREATE);
    JuiceFSDirectory d = v.openDirectory("/");
    v.close();
    v.close(); // idempotent
    assertFalse(v.isOpen());
    assertThrows(ClosedFileSystemException.class, () -> v.stat("/"));
    assertThrows(ClosedFileSystemException.class, () -> v.newInputStream("/f"));
    // files outliving their volume fail with an IOException and can still be closed
    assertThrows(FileSystemException.class, () -> ch.write(ByteBuffer.allocate(1)));
    ch.close();
    assertThrows(IOException.class, d::next);
    d.close();
  }

  @Test
  void nativeEntryPointsRejectClosedHandles() {
    long[] st = new long[Native.STAT_LONGS];
    assertEquals(-Errors.EBADF, Native.stat(0, "/".getBytes(), true, st));
    assertEquals(-Errors.EBADF, Native.read(0, new byte[1], 0, 1, -1));
    assertEquals(-Errors.EBADF, Native.close(0));
    assertEquals(-Errors.EBADF, Native.closedir(0));
    assertEquals(-Errors.EBADF, Native.closeVolume(0));
    // bad arrays given straight to JNI: -EINVAL, not a crash
    long h = fs.guard.acquire();
    try {
      long v = fs.guard.handle();
      assertEquals(-Errors.EINVAL, Native.stat(v, null, true, st));
      assertEquals(-Errors.EINVAL, Native.stat(v, "/".getBytes(), true, new long[2]));
      assertEquals(-Errors.EINVAL, Native.stat(v, "/a\0b".getBytes(), true, st));
      assertEquals(-Errors.EINVAL, Native.readlink(v, "/".getBytes(), new byte[0][]));
    } finally {
      fs.guard.release(h);
    }
  }

  @Test
  void nativeBoundsAreCheckedAgain() throws Exception {
    try (JuiceFSChannel ch = fs.openChannel("/b", StandardOpenOption.WRITE,
        StandardOpenOption.CREATE, StandardOpenOption.READ)) {
      ch.write(new byte[8], 0, 8);
      java.lang.reflect.Field f = JuiceFSChannel.class.getDeclaredField("guard");
      f.setAccessible(true);
      Guard g = (Guard) f.get(ch);
      long s = g.acquire();
      try {
        long h = g.handle();
        assertEquals(-Errors.EINVAL, Native.read(h, new byte[4], 2, 3, 0));
        assertEquals(-Errors.EINVAL, Native.read(h, null, 0, 1, 0));
        assertEquals(-Errors.EINVAL, Native.write(h, new byte[4], -1, 1, 0));
        assertEquals(-Errors.EINVAL, Native.readDirect(h, ByteBuffer.allocate(4), 0, 4, 0));
        assertEquals(-Errors.EINVAL, Native.readDirect(h, ByteBuffer.allocateDirect(4), 2, 4, 0));
      } finally {
        g.release(s);
      }
    }
  }

  @Test
  void closeFromAnotherThreadWhileReading() throws Exception {
    byte[] data = new byte[1 << 20];
    try (OutputStream out = fs.newOutputStream("/big")) {
      for (int i = 0; i < 4; i++) out.write(data);
    }
    for (int round = 0; round < 20; round++) {
      JuiceFSChannel ch = fs.openChannel("/big");
      AtomicInteger bad = new AtomicInteger();
      AtomicReference<Throwable> unexpected = new AtomicReference<>();
      CountDownLatch started = new CountDownLatch(4);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        Thread th = new Thread(() -> {
          ByteBuffer b = ByteBuffer.allocate(64 * 1024);
          started.countDown();
          try {
            for (long pos = 0; ; pos = (pos + 65536) % (4 << 20)) {
              b.clear();
              ch.read(b, pos);
            }
          } catch (ClosedChannelException e) {
            bad.incrementAndGet(); // the expected way out
          } catch (Throwable e) {
            unexpected.set(e);
          }
        });
        th.start();
        threads.add(th);
      }
      started.await();
      Thread.sleep(2);
      ch.close();
      for (Thread th : threads) th.join(30000);
      assertEquals(null, unexpected.get());
      assertEquals(4, bad.get());
    }
  }

  @Test
  void closeVolumeFromAnotherThreadWhileUsingIt() throws Exception {
    for (int round = 0; round < 10; round++) {
      JuiceFS v = Volumes.open(tmp.resolve("r" + round));
      v.mkdir("/d", 0755);
      AtomicReference<Throwable> unexpected = new AtomicReference<>();
      AtomicInteger closedSeen = new AtomicInteger();
      CountDownLatch started = new CountDownLatch(3);
      List<Thread> threads = new ArrayList<>();
      for (int t = 0; t < 3; t++) {
        Thread th = new Thread(() -> {
          started.countDown();
          try {
            while (true) {
              assertTrue(v.stat("/d").isDirectory());
              v.list("/");
            }
          } catch (ClosedFileSystemException e) {
            closedSeen.incrementAndGet();
          } catch (IOException e) {
            // a directory stream released by the close (ClosedChannel / EBADF) is fine too
            closedSeen.incrementAndGet();
          } catch (Throwable e) {
            unexpected.set(e);
          }
        });
        th.start();
        threads.add(th);
      }
      started.await();
      Thread.sleep(2);
      v.close();
      for (Thread th : threads) th.join(30000);
      assertEquals(null, unexpected.get());
      assertEquals(3, closedSeen.get());
    }
  }

  @Test
  void concurrentWritersOnSeparateFiles() throws Exception {
    List<Thread> threads = new ArrayList<>();
    AtomicReference<Throwable> err = new AtomicReference<>();
    for (int t = 0; t < 4; t++) {
      final int id = t;
      Thread th = new Thread(() -> {
        try (OutputStream out = fs.newOutputStream("/w" + id)) {
          byte[] b = new byte[100_000];
          java.util.Arrays.fill(b, (byte) id);
          for (int i = 0; i < 10; i++) out.write(b);
        } catch (Throwable e) {
          err.set(e);
        }
      });
      th.start();
      threads.add(th);
    }
    for (Thread th : threads) th.join();
    assertEquals(null, err.get());
    for (int t = 0; t < 4; t++) {
      try (InputStream in = fs.newInputStream("/w" + t)) {
        byte[] all = in.readAllBytes();
        assertEquals(1_000_000, all.length);
        for (byte x : all) {
          if (x != t) throw new AssertionError("wrong byte in /w" + t);
        }
      }
    }
  }
}
