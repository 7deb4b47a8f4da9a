// JNI glue between io.juicefs.Native and the C ABI (include/juicefs/juicefs.h).
//
// Contract with the Java side (bindings/java/src/io/juicefs/Native.java):
//   - Handles travel as jlong; 0 means "closed" and gives -EBADF here without calling the library
//     (the Java wrappers also check, under a lock that keeps the handle alive during the call).
//   - Every function returns 0 / a non-negative count, or -errno; nothing here throws except
//     OutOfMemoryError from a failed JNI allocation. The Java side turns -errno into the NIO
//     exception, with the message of Native.lastError(fs) taken on the same thread right after.
//   - Strings are passed as UTF-8 byte[] (not JNI's modified UTF-8); a NUL inside gives -EINVAL.
//   - Array bounds are checked again here (-EINVAL), so a caller bug is never a JVM crash.
#include <jni.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "juicefs/juicefs.h"

namespace {

constexpr int kStatLongs = 16;
constexpr jint kStackBuf = 16 * 1024;
// Largest native bounce buffer for byte[] I/O; larger transfers are split (reads return short).
constexpr jint kMaxChunk = 8 * 1024 * 1024;

jfs_fs_t* Fs(jlong h) {
  return reinterpret_cast<jfs_fs_t*>(static_cast<intptr_t>(h));
}
jfs_file_t* File(jlong h) {
  return reinterpret_cast<jfs_file_t*>(static_cast<intptr_t>(h));
}
jfs_dir_t* Dir(jlong h) {
  return reinterpret_cast<jfs_dir_t*>(static_cast<intptr_t>(h));
}
jlong Handle(const void* p) {
  return static_cast<jlong>(reinterpret_cast<intptr_t>(p));
}

// A NUL-terminated copy of a Java byte[] holding UTF-8 text. ok() is false for null, or for an
// embedded NUL (which the C side would silently cut the string at).
class CStr {
 public:
  CStr(JNIEnv* env, jbyteArray a) {
    if (a == nullptr) return;
    jsize n = env->GetArrayLength(a);
    s_.resize(static_cast<size_t>(n));
    env->GetByteArrayRegion(a, 0, n, reinterpret_cast<jbyte*>(s_.data()));
    ok_ = std::memchr(s_.data(), 0, s_.size()) == nullptr;
  }
  bool ok() const { return ok_; }
  const char* c() const { return s_.c_str(); }

 private:
  std::string s_;
  bool ok_ = false;
};

// Frees memory returned by the library.
struct JfsFree {
  void operator()(void* p) const { jfs_free(p); }
};

jbyteArray NewBytes(JNIEnv* env, const char* p, size_t n) {
  if (n > static_cast<size_t>(INT32_MAX)) return nullptr;
  jbyteArray a = env->NewByteArray(static_cast<jsize>(n));
  if (a != nullptr && n > 0)
    env->SetByteArrayRegion(a, 0, static_cast<jsize>(n), reinterpret_cast<const jbyte*>(p));
  return a;
}

void PutStat(JNIEnv* env, jlongArray out, const jfs_stat_t& st) {
  jlong v[kStatLongs] = {static_cast<jlong>(st.ino),
                         st.mode,
                         st.nlink,
                         st.uid,
                         st.gid,
                         st.rdev,
                         st.flags,
                         static_cast<jlong>(st.size),
                         static_cast<jlong>(st.blocks),
                         st.blksize,
                         st.atime.sec,
                         st.atime.nsec,
                         st.mtime.sec,
                         st.mtime.nsec,
                         st.ctime.sec,
                         st.ctime.nsec};
  env->SetLongArrayRegion(out, 0, kStatLongs, v);
}

bool StatOutOk(JNIEnv* env, jlongArray out) {
  return out != nullptr && env->GetArrayLength(out) >= kStatLongs;
}

// Stores a library-allocated buffer into out[0] as a byte[] and frees it.
jint PutOwned(JNIEnv* env, jobjectArray out, char* p, size_t n) {
  std::unique_ptr<char, JfsFree> owned(p);
  jbyteArray a = NewBytes(env, owned.get(), n);
  if (a == nullptr) return -ENOMEM;
  env->SetObjectArrayElement(out, 0, a);
  return 0;
}

bool OutSlotOk(JNIEnv* env, jobjectArray out) {
  return out != nullptr && env->GetArrayLength(out) >= 1;
}

bool RangeOk(JNIEnv* env, jbyteArray b, jint off, jint len) {
  if (b == nullptr || off < 0 || len < 0) return false;
  jsize n = env->GetArrayLength(b);
  return off <= n && len <= n - off;
}

// A bounce buffer for byte[] transfers: on the stack when small, else a buffer kept per thread
// (up to kKeepPerThread), so that repeated 1 MiB transfers do not pay an mmap/munmap and fresh
// page faults per call (what makes a malloc'd buffer per call cost as much as the copy itself).
// Copying through native memory (rather than GetPrimitiveArrayCritical) keeps the GC free while
// the library may wait on object storage.
constexpr size_t kKeepPerThread = 8 * 1024 * 1024;

class Bounce {
 public:
  explicit Bounce(jint len) {
    auto n = static_cast<size_t>(len);
    if (len <= kStackBuf) {
      data_ = stack_;
    } else if (n <= kKeepPerThread) {
      thread_local std::unique_ptr<char[]> kept;
      thread_local size_t kept_size = 0;
      if (kept_size < n) {
        size_t want = kept_size == 0 ? size_t{1} << 20 : kept_size;
        while (want < n) want *= 2;
        kept.reset();
        kept = std::make_unique_for_overwrite<char[]>(want);
        kept_size = want;
      }
      data_ = kept.get();
    } else {
      heap_ = std::make_unique_for_overwrite<char[]>(n);
      data_ = heap_.get();
    }
  }
  char* data() { return data_; }

 private:
  char stack_[kStackBuf];
  std::unique_ptr<char[]> heap_;
  char* data_;
};

void* DirectAddress(JNIEnv* env, jobject buf, jint off, jint len) {
  if (buf == nullptr || off < 0 || len < 0) return nullptr;
  void* base = env->GetDirectBufferAddress(buf);
  jlong cap = env->GetDirectBufferCapacity(buf);
  if (base == nullptr || cap < 0 || static_cast<jlong>(off) + len > cap) return nullptr;
  return static_cast<char*>(base) + off;
}

}  // namespace

extern "C" {

#define JNI_FN(ret, name) JNIEXPORT ret JNICALL Java_io_juicefs_Native_##name

JNI_FN(jbyteArray, version)(JNIEnv* env, jclass) {
  const char* v = jfs_version();
  return NewBytes(env, v, std::strlen(v));
}

JNI_FN(jbyteArray, lastError)(JNIEnv* env, jclass, jlong fs) {
  const char* m = fs == 0 ? jfs_last_open_error() : jfs_last_error(Fs(fs));
  return NewBytes(env, m, std::strlen(m));
}

// strs: meta_url, name, storage, bucket, access_key, secret_key, compression, encrypt_rsa_key,
// encrypt_algo (null = default). nums: flags, block_size_kib, trash_days, capacity, inodes.
JNI_FN(jint, format)(JNIEnv* env, jclass, jobjectArray strs, jlongArray nums) {
  if (strs == nullptr || nums == nullptr || env->GetArrayLength(strs) != 9 ||
      env->GetArrayLength(nums) != 5)
    return -EINVAL;
  std::unique_ptr<CStr> s[9];
  for (int i = 0; i < 9; ++i) {
    auto a = static_cast<jbyteArray>(env->GetObjectArrayElement(strs, i));
    if (a == nullptr) continue;
    s[i] = std::make_unique<CStr>(env, a);
    env->DeleteLocalRef(a);
    if (!s[i]->ok()) return -EINVAL;
  }
  if (!s[0] || !s[1]) return -EINVAL;
  jlong n[5];
  env->GetLongArrayRegion(nums, 0, 5, n);
  auto str = [&](int i) { return s[i] ? s[i]->c() : nullptr; };
  jfs_format_options_t o;
  jfs_format_options_init(&o);
  o.flags = static_cast<uint32_t>(n[0]);
  if (str(2)) o.storage = str(2);
  if (str(3)) o.bucket = str(3);
  if (str(4)) o.access_key = str(4);
  if (str(5)) o.secret_key = str(5);
  if (str(6)) o.compression = str(6);
  if (str(7)) o.encrypt_rsa_key = str(7);
  if (str(8)) o.encrypt_algo = str(8);
  if (n[1] >= 0) o.block_size_kib = static_cast<uint32_t>(n[1]);
  if (n[2] >= 0) o.trash_days = static_cast<int32_t>(n[2]);
  if (n[3] >= 0) o.capacity = static_cast<uint64_t>(n[3]);
  if (n[4] >= 0) o.inodes = static_cast<uint64_t>(n[4]);
  return jfs_format(str(0), str(1), &o);
}

// Returns the handle (> 0) or -errno.
JNI_FN(jlong, openVolume)
(JNIEnv* env, jclass, jbyteArray meta, jint flags, jlong buffer_size, jint upload_threads,
 jbyteArray mount_point) {
  CStr m(env, meta);
  if (!m.ok()) return -EINVAL;
  jfs_volume_options_t o;
  jfs_volume_options_init(&o);
  o.flags = static_cast<uint32_t>(flags);
  if (buffer_size > 0) o.buffer_size = static_cast<uint64_t>(buffer_size);
  if (upload_threads > 0) o.upload_threads = upload_threads;
  std::unique_ptr<CStr> mp;
  if (mount_point != nullptr) {
    mp = std::make_unique<CStr>(env, mount_point);
    if (!mp->ok()) return -EINVAL;
    o.mount_point = mp->c();
  }
  jfs_fs_t* fs = nullptr;
  int rc = jfs_open_volume(m.c(), &o, &fs);
  return rc < 0 ? rc : Handle(fs);
}

JNI_FN(jint, closeVolume)(JNIEnv*, jclass, jlong fs) {
  return fs == 0 ? -EBADF : jfs_close_volume(Fs(fs));
}

JNI_FN(jint, setCredentials)(JNIEnv* env, jclass, jlong fs, jint uid, jintArray gids, jint umask) {
  if (fs == 0) return -EBADF;
  if (gids == nullptr || umask < 0 || umask > 0777) return -EINVAL;
  jsize n = env->GetArrayLength(gids);
  if (n < 1) return -EINVAL;
  std::unique_ptr<uint32_t[]> g = std::make_unique<uint32_t[]>(static_cast<size_t>(n));
  env->GetIntArrayRegion(gids, 0, n, reinterpret_cast<jint*>(g.get()));
  return jfs_set_credentials(Fs(fs), static_cast<uint32_t>(uid), g.get(), static_cast<size_t>(n),
                             static_cast<uint16_t>(umask));
}

JNI_FN(jint, statvfs)(JNIEnv* env, jclass, jlong fs, jlongArray out) {
  if (fs == 0) return -EBADF;
  if (out == nullptr || env->GetArrayLength(out) < 6) return -EINVAL;
  jfs_statvfs_t v;
  int rc = jfs_statvfs(Fs(fs), &v);
  if (rc < 0) return rc;
  jlong a[6] = {static_cast<jlong>(v.block_size),  static_cast<jlong>(v.total_bytes),
                static_cast<jlong>(v.free_bytes),  static_cast<jlong>(v.total_inodes),
                static_cast<jlong>(v.free_inodes), static_cast<jlong>(v.max_name)};
  env->SetLongArrayRegion(out, 0, 6, a);
  return 0;
}

// ----- files -----

JNI_FN(jlong, open)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jint flags, jint mode) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok()) return -EINVAL;
  jfs_file_t* f = nullptr;
  int rc = jfs_open(Fs(fs), p.c(), flags, static_cast<uint32_t>(mode), &f);
  return rc < 0 ? rc : Handle(f);
}

JNI_FN(jint, close)(JNIEnv*, jclass, jlong f) {
  return f == 0 ? -EBADF : jfs_close(File(f));
}

// pos < 0: at (and advancing) the file position. Returns bytes read, 0 at end of file.
JNI_FN(jint, read)(JNIEnv* env, jclass, jlong f, jbyteArray b, jint off, jint len, jlong pos) {
  if (f == 0) return -EBADF;
  if (!RangeOk(env, b, off, len)) return -EINVAL;
  if (len > kMaxChunk) len = kMaxChunk;
  if (len == 0) return 0;
  Bounce buf(len);
  int64_t n = pos < 0 ? jfs_read(File(f), buf.data(), static_cast<uint64_t>(len))
                      : jfs_pread(File(f), buf.data(), static_cast<uint64_t>(len), pos);
  if (n > 0)
    env->SetByteArrayRegion(b, off, static_cast<jsize>(n), reinterpret_cast<jbyte*>(buf.data()));
  return static_cast<jint>(n);
}

// As read, but straight into the Java array, pinned with GetPrimitiveArrayCritical for the length
// of the library call (no bounce copy). While pinned, a garbage collection may have to wait for
// this call, so the Java side uses it only for reads it expects to be served from memory or the
// local cache (see JuiceFSChannel.heapRead). jfs_read/jfs_pread call no JNI function, as a
// critical region requires.
JNI_FN(jint, readPinned)
(JNIEnv* env, jclass, jlong f, jbyteArray b, jint off, jint len, jlong pos) {
  if (f == 0) return -EBADF;
  if (!RangeOk(env, b, off, len)) return -EINVAL;
  if (len > kMaxChunk) len = kMaxChunk;
  if (len == 0) return 0;
  void* base = env->GetPrimitiveArrayCritical(b, nullptr);
  if (base == nullptr) return -ENOMEM;
  char* p = static_cast<char*>(base) + off;
  int64_t n = pos < 0 ? jfs_read(File(f), p, static_cast<uint64_t>(len))
                      : jfs_pread(File(f), p, static_cast<uint64_t>(len), pos);
  // Mode 0 copies back (a no-op for a pinned array) and frees any copy the JVM made.
  env->ReleasePrimitiveArrayCritical(b, base, 0);
  return static_cast<jint>(n);
}

JNI_FN(jint, readDirect)(JNIEnv* env, jclass, jlong f, jobject bb, jint off, jint len, jlong pos) {
  if (f == 0) return -EBADF;
  void* p = DirectAddress(env, bb, off, len);
  if (p == nullptr) return -EINVAL;
  int64_t n = pos < 0 ? jfs_read(File(f), p, static_cast<uint64_t>(len))
                      : jfs_pread(File(f), p, static_cast<uint64_t>(len), pos);
  return static_cast<jint>(n);
}

// Writes all `len` bytes (pos < 0: at the file position). Returns len or -errno.
JNI_FN(jint, write)(JNIEnv* env, jclass, jlong f, jbyteArray b, jint off, jint len, jlong pos) {
  if (f == 0) return -EBADF;
  if (!RangeOk(env, b, off, len)) return -EINVAL;
  if (pos > INT64_MAX - len) return -EFBIG;  // pos + done below must not overflow
  Bounce buf(len < kMaxChunk ? len : kMaxChunk);
  jint done = 0;
  while (done < len) {
    jint n = len - done < kMaxChunk ? len - done : kMaxChunk;
    env->GetByteArrayRegion(b, off + done, n, reinterpret_cast<jbyte*>(buf.data()));
    int64_t w = pos < 0 ? jfs_write(File(f), buf.data(), static_cast<uint64_t>(n))
                        : jfs_pwrite(File(f), buf.data(), static_cast<uint64_t>(n), pos + done);
    if (w < 0) return static_cast<jint>(w);
    done += static_cast<jint>(w);
  }
  return done;
}

JNI_FN(jint, writeDirect)(JNIEnv* env, jclass, jlong f, jobject bb, jint off, jint len, jlong pos) {
  if (f == 0) return -EBADF;
  void* p = DirectAddress(env, bb, off, len);
  if (p == nullptr) return -EINVAL;
  int64_t w = pos < 0 ? jfs_write(File(f), p, static_cast<uint64_t>(len))
                      : jfs_pwrite(File(f), p, static_cast<uint64_t>(len), pos);
  return static_cast<jint>(w);
}

JNI_FN(jlong, seek)(JNIEnv*, jclass, jlong f, jlong off, jint whence) {
  return f == 0 ? -EBADF : jfs_lseek(File(f), off, whence);
}

JNI_FN(jint, ftruncate)(JNIEnv*, jclass, jlong f, jlong len) {
  return f == 0 ? -EBADF : jfs_ftruncate(File(f), len);
}

JNI_FN(jint, flush)(JNIEnv*, jclass, jlong f) {
  return f == 0 ? -EBADF : jfs_flush(File(f));
}

JNI_FN(jint, fsync)(JNIEnv*, jclass, jlong f) {
  return f == 0 ? -EBADF : jfs_fsync(File(f));
}

JNI_FN(jint, fstat)(JNIEnv* env, jclass, jlong f, jlongArray out) {
  if (f == 0) return -EBADF;
  if (!StatOutOk(env, out)) return -EINVAL;
  jfs_stat_t st;
  int rc = jfs_fstat(File(f), &st);
  if (rc == 0) PutStat(env, out, st);
  return rc;
}

// ----- namespace -----

JNI_FN(jint, stat)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jboolean follow, jlongArray out) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok() || !StatOutOk(env, out)) return -EINVAL;
  jfs_stat_t st;
  int rc = follow ? jfs_stat(Fs(fs), p.c(), &st) : jfs_lstat(Fs(fs), p.c(), &st);
  if (rc == 0) PutStat(env, out, st);
  return rc;
}

JNI_FN(jint, access)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jint mask) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  return p.ok() ? jfs_access(Fs(fs), p.c(), mask) : -EINVAL;
}

JNI_FN(jint, mkdir)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jint mode, jboolean all) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok()) return -EINVAL;
  return all ? jfs_mkdir_all(Fs(fs), p.c(), static_cast<uint32_t>(mode))
             : jfs_mkdir(Fs(fs), p.c(), static_cast<uint32_t>(mode));
}

JNI_FN(jint, rmdir)(JNIEnv* env, jclass, jlong fs, jbyteArray path) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  return p.ok() ? jfs_rmdir(Fs(fs), p.c()) : -EINVAL;
}

JNI_FN(jint, unlink)(JNIEnv* env, jclass, jlong fs, jbyteArray path) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  return p.ok() ? jfs_unlink(Fs(fs), p.c()) : -EINVAL;
}

JNI_FN(jint, rename)(JNIEnv* env, jclass, jlong fs, jbyteArray from, jbyteArray to, jint flags) {
  if (fs == 0) return -EBADF;
  CStr a(env, from), b(env, to);
  return a.ok() && b.ok() ? jfs_rename(Fs(fs), a.c(), b.c(), static_cast<uint32_t>(flags))
                          : -EINVAL;
}

JNI_FN(jint, link)(JNIEnv* env, jclass, jlong fs, jbyteArray existing, jbyteArray newpath) {
  if (fs == 0) return -EBADF;
  CStr a(env, existing), b(env, newpath);
  return a.ok() && b.ok() ? jfs_link(Fs(fs), a.c(), b.c()) : -EINVAL;
}

JNI_FN(jint, symlink)(JNIEnv* env, jclass, jlong fs, jbyteArray target, jbyteArray linkpath) {
  if (fs == 0) return -EBADF;
  CStr a(env, target), b(env, linkpath);
  return a.ok() && b.ok() ? jfs_symlink(Fs(fs), a.c(), b.c()) : -EINVAL;
}

JNI_FN(jint, readlink)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jobjectArray out) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok() || !OutSlotOk(env, out)) return -EINVAL;
  char* t = nullptr;
  size_t n = 0;
  int rc = jfs_readlink(Fs(fs), p.c(), &t, &n);
  return rc < 0 ? rc : PutOwned(env, out, t, n);
}

JNI_FN(jint, realpath)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jobjectArray out) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok() || !OutSlotOk(env, out)) return -EINVAL;
  char* t = nullptr;
  int rc = jfs_realpath(Fs(fs), p.c(), &t);
  return rc < 0 ? rc : PutOwned(env, out, t, std::strlen(t));
}

JNI_FN(jint, chmod)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jint mode) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  return p.ok() ? jfs_chmod(Fs(fs), p.c(), static_cast<uint32_t>(mode)) : -EINVAL;
}

JNI_FN(jint, chown)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jint uid, jint gid, jboolean follow) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok()) return -EINVAL;
  auto u = static_cast<uint32_t>(uid), g = static_cast<uint32_t>(gid);
  return follow ? jfs_chown(Fs(fs), p.c(), u, g) : jfs_lchown(Fs(fs), p.c(), u, g);
}

// t: atime sec, nsec, mtime sec, nsec (nsec may be JFS_UTIME_NOW / JFS_UTIME_OMIT).
JNI_FN(jint, utimens)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jlongArray t, jboolean follow) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok() || t == nullptr || env->GetArrayLength(t) < 4) return -EINVAL;
  jlong v[4];
  env->GetLongArrayRegion(t, 0, 4, v);
  jfs_timespec_t ts[2] = {{v[0], v[1]}, {v[2], v[3]}};
  return follow ? jfs_utimens(Fs(fs), p.c(), ts) : jfs_lutimens(Fs(fs), p.c(), ts);
}

JNI_FN(jint, truncate)(JNIEnv* env, jclass, jlong fs, jbyteArray path, jlong len) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  return p.ok() ? jfs_truncate(Fs(fs), p.c(), len) : -EINVAL;
}

// ----- directories -----

JNI_FN(jlong, opendir)(JNIEnv* env, jclass, jlong fs, jbyteArray path) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok()) return -EINVAL;
  jfs_dir_t* d = nullptr;
  int rc = jfs_opendir(Fs(fs), p.c(), &d);
  return rc < 0 ? rc : Handle(d);
}

// 1 with the name in name[0] and the attributes in st, 0 at the end, or -errno.
JNI_FN(jint, readdir)(JNIEnv* env, jclass, jlong d, jobjectArray name, jlongArray st) {
  if (d == 0) return -EBADF;
  if (!OutSlotOk(env, name) || !StatOutOk(env, st)) return -EINVAL;
  const jfs_dirent_t* e = nullptr;
  int rc = jfs_readdir(Dir(d), &e);
  if (rc != 1) return rc;
  jbyteArray a = NewBytes(env, e->name, e->name_len);
  if (a == nullptr) return -ENOMEM;
  env->SetObjectArrayElement(name, 0, a);
  PutStat(env, st, e->stat);
  return 1;
}

JNI_FN(jint, closedir)(JNIEnv*, jclass, jlong d) {
  return d == 0 ? -EBADF : jfs_closedir(Dir(d));
}

// ----- extended attributes -----

JNI_FN(jint, getxattr)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jbyteArray name, jboolean follow,
 jobjectArray out) {
  if (fs == 0) return -EBADF;
  CStr p(env, path), n(env, name);
  if (!p.ok() || !n.ok() || !OutSlotOk(env, out)) return -EINVAL;
  void* v = nullptr;
  size_t sz = 0;
  int rc = follow ? jfs_getxattr(Fs(fs), p.c(), n.c(), &v, &sz)
                  : jfs_lgetxattr(Fs(fs), p.c(), n.c(), &v, &sz);
  return rc < 0 ? rc : PutOwned(env, out, static_cast<char*>(v), sz);
}

JNI_FN(jint, setxattr)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jbyteArray name, jbyteArray value, jint flags,
 jboolean follow) {
  if (fs == 0) return -EBADF;
  CStr p(env, path), n(env, name);
  if (!p.ok() || !n.ok() || value == nullptr) return -EINVAL;
  jsize len = env->GetArrayLength(value);
  std::string v(static_cast<size_t>(len), '\0');
  env->GetByteArrayRegion(value, 0, len, reinterpret_cast<jbyte*>(v.data()));
  return follow ? jfs_setxattr(Fs(fs), p.c(), n.c(), v.data(), v.size(), flags)
                : jfs_lsetxattr(Fs(fs), p.c(), n.c(), v.data(), v.size(), flags);
}

JNI_FN(jint, listxattr)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jboolean follow, jobjectArray out) {
  if (fs == 0) return -EBADF;
  CStr p(env, path);
  if (!p.ok() || !OutSlotOk(env, out)) return -EINVAL;
  char* l = nullptr;
  size_t sz = 0;
  int rc = follow ? jfs_listxattr(Fs(fs), p.c(), &l, &sz) : jfs_llistxattr(Fs(fs), p.c(), &l, &sz);
  return rc < 0 ? rc : PutOwned(env, out, l, sz);
}

JNI_FN(jint, removexattr)
(JNIEnv* env, jclass, jlong fs, jbyteArray path, jbyteArray name, jboolean follow) {
  if (fs == 0) return -EBADF;
  CStr p(env, path), n(env, name);
  if (!p.ok() || !n.ok()) return -EINVAL;
  return follow ? jfs_removexattr(Fs(fs), p.c(), n.c()) : jfs_lremovexattr(Fs(fs), p.c(), n.c());
}

}  // extern "C"
