package io.juicefs;

import java.util.concurrent.locks.StampedLock;

/**
 * Owns one native handle and keeps it alive while calls use it: every call holds a read stamp
 * (many threads at once), close takes the write lock, so it waits for calls in flight and no call
 * can start on a released handle (no use-after-free when another thread closes).
 */
final class Guard {
  private final StampedLock lock = new StampedLock();
  private long handle; // written under the write lock only; 0 once closed
  // Set before close waits for the write lock: calls starting from then on see "closed" at once,
  // so a closer is not starved by threads that keep calling (StampedLock has no writer preference).
  private volatile boolean closing;

  Guard(long handle) {
    this.handle = handle;
  }

  /** Read stamp; then {@link #handle()} is stable until {@link #release}. */
  long acquire() {
    return lock.readLock();
  }

  /** The handle under a stamp from {@link #acquire}; 0 if closed. */
  long handle() {
    return closing ? 0 : handle;
  }

  void release(long stamp) {
    lock.unlockRead(stamp);
  }

  boolean isOpen() {
    if (closing) return false;
    long s = lock.tryOptimisticRead();
    long h = handle;
    if (!lock.validate(s)) {
      s = lock.readLock();
      try {
        h = handle;
      } finally {
        lock.unlockRead(s);
      }
    }
    return h != 0;
  }

  /** Marks closed and returns the handle to release (0 if it was closed already). */
  long take() {
    closing = true;
    long s = lock.writeLock();
    try {
      long h = handle;
      handle = 0;
      return h;
    } finally {
      lock.unlockWrite(s);
    }
  }
}
