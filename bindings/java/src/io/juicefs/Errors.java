package io.juicefs;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.NotLinkException;

/** Turns -errno results of {@link Native} into the matching NIO exceptions. */
final class Errors {
  private Errors() {}

  static final int EPERM = 1, ENOENT = 2, EIO = 5, ENXIO = 6, EBADF = 9, ENOMEM = 12, EACCES = 13,
      EEXIST = 17, EXDEV = 18, ENOTDIR = 20, EISDIR = 21, EINVAL = 22, EFBIG = 27, ENOSPC = 28,
      EROFS = 30, ENAMETOOLONG = 36, ENOTEMPTY = 39, ELOOP = 40, ENODATA = 61, EDQUOT = 122;

  /** The library's message for the calling thread's last failure on {@code fs} (0: no volume). */
  static String message(long fs) {
    byte[] m = Native.lastError(fs);
    return m == null ? "" : new String(m, StandardCharsets.UTF_8);
  }

  /**
   * The exception for {@code rc} (a negated errno) of a call on {@code path} (and {@code other},
   * the second path of rename/link, may be null), with the library's message of the last failure
   * on {@code fs}; must be called on the failing thread while {@code fs} is kept alive.
   */
  static IOException of(long rc, long fs, String path, String other) {
    return of((int) -rc, message(fs), path, other);
  }

  static IOException of(int errno, String msg, String path, String other) {
    String reason = msg == null || msg.isEmpty() ? name(errno) : msg;
    switch (errno) {
      case ENOENT:
        return new NoSuchFileException(path, other, reason);
      case EEXIST:
        return new FileAlreadyExistsException(path, other, reason);
      case ENOTEMPTY:
        return withReason(new DirectoryNotEmptyException(path), reason);
      case EACCES:
      case EPERM:
        return new AccessDeniedException(path, other, reason);
      case ENOTDIR:
        return withReason(new NotDirectoryException(path), reason);
      case ELOOP:
        return withReason(new FileSystemLoopException(path), reason);
      default:
        return new FileSystemException(path, other, reason);
    }
  }

  private static IOException withReason(FileSystemException e, String reason) {
    // These exception types take no reason; keep the library's message as the cause.
    e.initCause(new IOException(reason));
    return e;
  }

  static NotLinkException notLink(String path, long fs) {
    return new NotLinkException(path, null, message(fs));
  }

  static ClosedChannelException closed() {
    return new ClosedChannelException();
  }

  static String name(int errno) {
    switch (errno) {
      case EPERM: return "EPERM (Operation not permitted)";
      case ENOENT: return "ENOENT (No such file or directory)";
      case EIO: return "EIO (Input/output error)";
      case EBADF: return "EBADF (Bad file descriptor)";
      case EACCES: return "EACCES (Permission denied)";
      case EEXIST: return "EEXIST (File exists)";
      case ENOTDIR: return "ENOTDIR (Not a directory)";
      case EISDIR: return "EISDIR (Is a directory)";
      case EINVAL: return "EINVAL (Invalid argument)";
      case ENOSPC: return "ENOSPC (No space left on device)";
      case EROFS: return "EROFS (Read-only file system)";
      case ENOTEMPTY: return "ENOTEMPTY (Directory not empty)";
      default: return "errno " + errno;
    }
  }
}
