/* End-to-end test of the C ABI (include/juicefs/juicefs.h) from plain C11, on a temporary SQLite
 * volume with a local-directory bucket. No test framework: CHECK prints the failing line and the
 * library's last error, and exits non-zero.
 *
 * Usage: capi_test [WORKDIR]   (default: a fresh directory under $TMPDIR or /tmp) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "juicefs/juicefs.h"

static jfs_fs_t* g_fs; /* the volume under test, for messages */
static int g_checks;

#define CHECK(cond)                                                                         \
  do {                                                                                      \
    g_checks++;                                                                             \
    if (!(cond)) {                                                                          \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n  last error: %s\n  last open error: %s\n", \
              __FILE__, __LINE__, #cond, jfs_last_error(g_fs), jfs_last_open_error());      \
      exit(1);                                                                              \
    }                                                                                       \
  } while (0)

/* Checks that `expr` returns exactly `expected` (0, a count, or -errno). */
#define CHECK_EQ(expr, expected)                                                             \
  do {                                                                                       \
    int64_t got_ = (int64_t)(expr);                                                          \
    int64_t want_ = (int64_t)(expected);                                                     \
    g_checks++;                                                                              \
    if (got_ != want_) {                                                                     \
      fprintf(stderr,                                                                        \
              "%s:%d: %s returned %" PRId64 " (%s), expected %" PRId64                       \
              " (%s)\n  last error: %s\n  last open error: %s\n",                            \
              __FILE__, __LINE__, #expr, got_, got_ < 0 ? strerror((int)-got_) : "-", want_, \
              want_ < 0 ? strerror((int)-want_) : "-", jfs_last_error(g_fs),                 \
              jfs_last_open_error());                                                        \
      exit(1);                                                                               \
    }                                                                                        \
  } while (0)

#define OK(expr) CHECK_EQ(expr, 0)

static int Contains(const char* haystack, const char* needle) {
  return haystack != NULL && strstr(haystack, needle) != NULL;
}

static char g_dir[1024];
static char g_meta_url[1200];
static char g_db_path[1100];
static char g_bucket[1100];

/* ---------------------------------------------------------------------------------------------
 * Version and handle-less calls
 * ------------------------------------------------------------------------------------------- */

static void TestVersion(void) {
  char expected[64];
  snprintf(expected, sizeof(expected), "%d.%d.%d", JFS_VERSION_MAJOR, JFS_VERSION_MINOR,
           JFS_VERSION_PATCH);
  CHECK(jfs_version() != NULL);
  CHECK(strcmp(jfs_version(), expected) == 0);
#ifdef JFS_EXPECTED_VERSION
  CHECK(strcmp(jfs_version(), JFS_EXPECTED_VERSION) == 0); /* the project version in meson */
#endif
}

static void TestFormatAndOpenErrors(void) {
  jfs_fs_t* fs = (jfs_fs_t*)0x1; /* must stay untouched on failure */
  char url[1300];

  /* NULL arguments */
  CHECK_EQ(jfs_open_volume(NULL, NULL, &fs), -EINVAL);
  CHECK(Contains(jfs_last_open_error(), "jfs_open_volume"));
  CHECK(Contains(jfs_last_open_error(), "meta_url"));
  CHECK_EQ(jfs_open_volume(g_meta_url, NULL, NULL), -EINVAL);
  CHECK_EQ(jfs_format(NULL, "vol", NULL), -EINVAL);
  CHECK_EQ(jfs_format(g_meta_url, NULL, NULL), -EINVAL);

  /* unknown URL scheme */
  CHECK_EQ(jfs_open_volume("nosuchdb://host/x", NULL, &fs), -EINVAL);
  CHECK(strlen(jfs_last_open_error()) > 0);
  CHECK(Contains(jfs_last_open_error(), "EINVAL"));
  CHECK_EQ(jfs_open_volume("not a url", NULL, &fs), -EINVAL);
  CHECK(fs == (jfs_fs_t*)0x1);

  /* missing database: ENOENT */
  snprintf(url, sizeof(url), "sqlite3://%s/missing.db", g_dir);
  CHECK_EQ(jfs_open_volume(url, NULL, &fs), -ENOENT);
  CHECK(Contains(jfs_last_open_error(), "ENOENT"));
  snprintf(url, sizeof(url), "sqlite3://%s/no/such/dir/meta.db", g_dir);
  CHECK_EQ(jfs_open_volume(url, NULL, &fs), -ENOENT);

  /* an SQLite database that holds no volume: ENOENT */
  {
    char p[1200];
    sqlite3* db = NULL;
    snprintf(p, sizeof(p), "%s/empty.db", g_dir);
    CHECK(sqlite3_open(p, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "CREATE TABLE unrelated(x)", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    snprintf(url, sizeof(url), "sqlite3://%s", p);
    CHECK_EQ(jfs_open_volume(url, NULL, &fs), -ENOENT);
  }
  CHECK(fs == (jfs_fs_t*)0x1);

  /* bad volume names */
  {
    jfs_format_options_t fo;
    jfs_format_options_init(&fo);
    fo.bucket = g_bucket;
    CHECK_EQ(jfs_format(g_meta_url, "Bad_Name", &fo), -EINVAL);
    CHECK_EQ(jfs_format(g_meta_url, "a/b", &fo), -EINVAL);
    CHECK_EQ(jfs_format(g_meta_url, "", &fo), -EINVAL);
    CHECK(Contains(jfs_last_open_error(), "jfs_format"));
    fo.trash_days = -1;
    CHECK_EQ(jfs_format(g_meta_url, "capi-test", &fo), -EINVAL);
    jfs_format_options_init(&fo);
    fo.flags = 0x80;
    CHECK_EQ(jfs_format(g_meta_url, "capi-test", &fo), -EINVAL);
    /* an uninitialized options struct (size 0) is refused, not misread */
    memset(&fo, 0, sizeof(fo));
    CHECK_EQ(jfs_format(g_meta_url, "capi-test", &fo), -EINVAL);
    CHECK(Contains(jfs_last_open_error(), "jfs_format_options_init"));
  }
  /* nothing of the failed formats was left behind */
  CHECK_EQ(jfs_open_volume(g_meta_url, NULL, &fs), -ENOENT);
}

static void Format(void) {
  jfs_format_options_t fo;
  jfs_format_options_init(&fo);
  CHECK(fo.size == sizeof(fo));
  CHECK(fo.block_size_kib == 4096);
  CHECK(fo.trash_days == 1);
  fo.trash_days = 0; /* removals are immediate here (the trash keeps links: nlink unchanged) */
  fo.bucket = g_bucket;
  fo.capacity = 1ull << 40;
  fo.inodes = 1000000;
  OK(jfs_format(g_meta_url, "capi-test", &fo));
  /* formatting again without FORCE does not replace the volume */
  {
    jfs_format_options_t again = fo;
    again.block_size_kib = 1024;
    CHECK(jfs_format(g_meta_url, "capi-test", &again) < 0);
  }
}

/* Options structs grow by addition: older (shorter) structs get defaults for missing fields;
 * newer (longer) ones are accepted when the unknown tail is zero, refused (E2BIG) otherwise. */
static void TestOptionsGrowth(void) {
  jfs_fs_t* fs = NULL;
  union {
    jfs_volume_options_t opts;
    unsigned char bytes[sizeof(jfs_volume_options_t) + 16];
  } big;
  memset(&big, 0, sizeof(big));
  jfs_volume_options_init(&big.opts);
  CHECK(big.opts.size == sizeof(jfs_volume_options_t));
  CHECK(big.opts.buffer_size > 0);
  CHECK(big.opts.upload_threads > 0);

  big.opts.size = sizeof(big.bytes);
  big.bytes[sizeof(jfs_volume_options_t) + 3] = 1;
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -E2BIG);
  big.bytes[sizeof(jfs_volume_options_t) + 3] = 0;
  OK(jfs_open_volume(g_meta_url, &big.opts, &fs));
  OK(jfs_close_volume(fs));

  /* a caller compiled before `mount_point` existed */
  jfs_volume_options_init(&big.opts);
  big.opts.size = (uint32_t)offsetof(jfs_volume_options_t, mount_point);
  big.opts.mount_point = (const char*)0x1; /* beyond `size`: must not be read */
  OK(jfs_open_volume(g_meta_url, &big.opts, &fs));
  OK(jfs_close_volume(fs));

  /* Initializing never writes beyond the caller's struct: an older caller's shorter struct
   * (here: one compiled before the encryption fields of jfs_format_options_t) keeps its tail. */
  {
    union {
      jfs_format_options_t opts;
      unsigned char bytes[sizeof(jfs_format_options_t) + 16];
    } f;
    const size_t v10 = offsetof(jfs_format_options_t, encrypt_rsa_key);
    memset(&f, 0xAB, sizeof(f));
    jfs_format_options_init_sized(&f.opts, v10);
    CHECK(f.opts.size == v10);
    CHECK(f.opts.block_size_kib == 4096);
    for (size_t i = v10; i < sizeof(f.bytes); i++) CHECK(f.bytes[i] == 0xAB);
    memset(&f, 0xAB, sizeof(f));
    (jfs_format_options_init)(&f.opts); /* the 1.0 symbol, as old binaries call it */
    CHECK(f.opts.size == v10);
    for (size_t i = v10; i < sizeof(f.bytes); i++) CHECK(f.bytes[i] == 0xAB);
    memset(&f, 0xAB, sizeof(f));
    jfs_format_options_init(&f.opts); /* the macro: this header's whole struct */
    CHECK(f.opts.size == sizeof(jfs_format_options_t));
    CHECK(f.opts.encrypt_rsa_key == NULL);
    for (size_t i = sizeof(jfs_format_options_t); i < sizeof(f.bytes); i++) {
      CHECK(f.bytes[i] == 0xAB);
    }
    /* a newer caller's longer struct: the unknown tail is zeroed, so jfs_format accepts it */
    memset(&f, 0xAB, sizeof(f));
    jfs_format_options_init_sized(&f.opts, sizeof(f.bytes));
    CHECK(f.opts.size == sizeof(f.bytes));
    for (size_t i = sizeof(jfs_format_options_t); i < sizeof(f.bytes); i++) CHECK(f.bytes[i] == 0);
    jfs_format_options_init_sized(NULL, 100); /* ignored */
  }

  memset(&big, 0, sizeof(big));
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  jfs_volume_options_init(&big.opts);
  big.opts.flags = 0x100;
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  big.opts.flags = 0x8; /* the first unknown bit after JFS_VOLUME_CACHE_LARGE_WRITE */
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  /* automatic metadata backups: at least 5 minutes apart, known flags only */
  jfs_volume_options_init(&big.opts);
  CHECK(big.opts.backup_meta == 0);
  big.opts.backup_meta = 299;
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  CHECK(Contains(jfs_last_open_error(), "backup_meta"));
  big.opts.backup_meta = -1;
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  big.opts.backup_meta = 3600;
  big.opts.backup_flags = 0x2;
  CHECK_EQ(jfs_open_volume(g_meta_url, &big.opts, &fs), -EINVAL);
  big.opts.backup_flags = JFS_BACKUP_SKIP_TRASH;
  OK(jfs_open_volume(g_meta_url, &big.opts, &fs));
  OK(jfs_close_volume(fs));
}

/* ---------------------------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------------------------- */

static void TestFiles(jfs_fs_t* fs) {
  jfs_file_t* f = NULL;
  jfs_stat_t st;
  char buf[256];

  OK(jfs_mkdir(fs, "/files", 0755));
  OK(jfs_create(fs, "/files/a.txt", 0644, &f));
  CHECK(f != NULL);
  CHECK_EQ(jfs_write(f, "hello, ", 7), 7);
  CHECK_EQ(jfs_write(f, "world", 5), 5);
  CHECK_EQ(jfs_lseek(f, 0, JFS_SEEK_CUR), 12);
  CHECK_EQ(jfs_pwrite(f, "W", 1, 7), 1); /* position unchanged */
  CHECK_EQ(jfs_lseek(f, 0, JFS_SEEK_CUR), 12);
  CHECK_EQ(jfs_write(f, "!", 1), 1);
  OK(jfs_fstat(f, &st));
  CHECK(st.size == 13);
  CHECK((st.mode & 0170000) == 0100000);
  CHECK((st.mode & 07777) == 0644);
  /* written through O_WRONLY: reading is EBADF */
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), -EBADF);
  CHECK_EQ(jfs_pread(f, buf, sizeof(buf), 0), -EBADF);
  CHECK(Contains(jfs_last_error(fs), "jfs_pread"));
  OK(jfs_flush(f));
  OK(jfs_fsync(f));
  OK(jfs_close(f));
  /* a released file handle is detected, not dereferenced */
  CHECK_EQ(jfs_write(f, "x", 1), -EBADF);
  CHECK_EQ(jfs_close(f), -EBADF);
  CHECK(Contains(jfs_last_open_error(), "closed"));

  OK(jfs_open(fs, "/files/a.txt", O_RDONLY, 0, &f));
  memset(buf, 0, sizeof(buf));
  CHECK_EQ(jfs_read(f, buf, 5), 5);
  CHECK(memcmp(buf, "hello", 5) == 0);
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), 8);
  CHECK(memcmp(buf, ", World!", 8) == 0);
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), 0); /* EOF */
  CHECK_EQ(jfs_pread(f, buf, 5, 7), 5);
  CHECK(memcmp(buf, "World", 5) == 0);
  CHECK_EQ(jfs_pread(f, buf, 5, 1000), 0);
  CHECK_EQ(jfs_lseek(f, -6, JFS_SEEK_END), 7);
  CHECK_EQ(jfs_read(f, buf, 5), 5);
  CHECK(memcmp(buf, "World", 5) == 0);
  CHECK_EQ(jfs_lseek(f, 2, JFS_SEEK_SET), 2);
  CHECK_EQ(jfs_lseek(f, 3, JFS_SEEK_CUR), 5);
  /* bad arguments */
  CHECK_EQ(jfs_lseek(f, -1, JFS_SEEK_SET), -EINVAL);
  CHECK_EQ(jfs_lseek(f, -100, JFS_SEEK_END), -EINVAL);
  CHECK_EQ(jfs_lseek(f, 0, 99), -EINVAL);
  CHECK_EQ(jfs_pread(f, buf, 1, -1), -EINVAL);
  CHECK_EQ(jfs_read(f, NULL, 10), -EINVAL);
  CHECK_EQ(jfs_read(f, NULL, 0), 0);
  CHECK_EQ(jfs_read(f, buf, (uint64_t)INT64_MAX + 1), -EINVAL);
  CHECK_EQ(jfs_write(f, "x", 1), -EBADF); /* O_RDONLY */
  CHECK_EQ(jfs_pwrite(f, "x", 1, 0), -EBADF);
  CHECK(Contains(jfs_last_error(fs), "jfs_pwrite: EBADF"));
  CHECK_EQ(jfs_ftruncate(f, 0), -EINVAL); /* as Linux ftruncate(2) on a read-only fd */
  CHECK_EQ(jfs_fstat(f, NULL), -EINVAL);
  OK(jfs_close(f));

  /* NULL handles and arguments */
  CHECK_EQ(jfs_read(NULL, buf, 1), -EINVAL);
  CHECK_EQ(jfs_write(NULL, buf, 1), -EINVAL);
  CHECK_EQ(jfs_lseek(NULL, 0, JFS_SEEK_SET), -EINVAL);
  CHECK_EQ(jfs_close(NULL), -EINVAL);
  CHECK_EQ(jfs_fsync(NULL), -EINVAL);
  CHECK_EQ(jfs_open(fs, NULL, O_RDONLY, 0, &f), -EINVAL);
  CHECK_EQ(jfs_open(fs, "/files/a.txt", O_RDONLY, 0, NULL), -EINVAL);
  CHECK_EQ(jfs_open(NULL, "/files/a.txt", O_RDONLY, 0, &f), -EINVAL);
  CHECK_EQ(jfs_create(fs, NULL, 0644, &f), -EINVAL);

  /* open flags */
  CHECK_EQ(jfs_open(fs, "/files/missing", O_RDONLY, 0, &f), -ENOENT);
  CHECK(Contains(jfs_last_error(fs), "jfs_open /files/missing"));
  CHECK(Contains(jfs_last_error(fs), "ENOENT"));
  CHECK_EQ(jfs_open(fs, "/files/a.txt", O_WRONLY | O_CREAT | O_EXCL, 0644, &f), -EEXIST);
  CHECK_EQ(jfs_open(fs, "/files/a.txt/x", O_RDONLY, 0, &f), -ENOTDIR);
  CHECK_EQ(jfs_open(fs, "/files", O_WRONLY, 0, &f), -EISDIR);
  CHECK_EQ(jfs_open(fs, "/files/a.txt", O_RDONLY | O_DIRECTORY, 0, &f), -ENOTDIR);

  /* O_APPEND writes at the end whatever the position */
  OK(jfs_open(fs, "/files/a.txt", O_WRONLY | O_APPEND, 0, &f));
  CHECK_EQ(jfs_write(f, "++", 2), 2);
  OK(jfs_close(f));
  OK(jfs_stat(fs, "/files/a.txt", &st));
  CHECK(st.size == 15);

  /* O_TRUNC / jfs_create on an existing file, O_RDWR */
  OK(jfs_open(fs, "/files/a.txt", O_RDWR | O_TRUNC, 0, &f));
  OK(jfs_fstat(f, &st));
  CHECK(st.size == 0);
  CHECK_EQ(jfs_write(f, "0123456789", 10), 10);
  CHECK_EQ(jfs_pread(f, buf, 4, 3), 4);
  CHECK(memcmp(buf, "3456", 4) == 0);
  OK(jfs_ftruncate(f, 4));
  CHECK_EQ(jfs_ftruncate(f, -1), -EINVAL);
  OK(jfs_fstat(f, &st));
  CHECK(st.size == 4);
  OK(jfs_ftruncate(f, 100)); /* extending reads back zeros */
  CHECK_EQ(jfs_pread(f, buf, 200, 0), 100);
  CHECK(memcmp(buf, "0123", 4) == 0);
  {
    int i, zeros = 1;
    for (i = 4; i < 100; i++) zeros &= buf[i] == 0;
    CHECK(zeros);
  }
  OK(jfs_close(f));

  /* a directory opened read-only: fstat works, reading is EISDIR */
  OK(jfs_open(fs, "/files", O_RDONLY, 0, &f));
  OK(jfs_fstat(f, &st));
  CHECK((st.mode & 0170000) == 0040000);
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), -EISDIR);
  CHECK_EQ(jfs_pread(f, buf, sizeof(buf), 0), -EISDIR);
  OK(jfs_close(f));
}

/* Offsets and sizes beyond 2 GiB and 4 GiB, without writing gigabytes: sparse files. */
static void TestLargeOffsets(jfs_fs_t* fs) {
  const int64_t off = (int64_t)5 << 30; /* 5 GiB */
  jfs_file_t* f = NULL;
  jfs_stat_t st;
  char buf[16];

  OK(jfs_create(fs, "/files/sparse", 0644, &f));
  CHECK_EQ(jfs_pwrite(f, "tail", 4, off), 4);
  CHECK_EQ(jfs_lseek(f, 0, JFS_SEEK_END), off + 4);
  OK(jfs_close(f));
  OK(jfs_stat(fs, "/files/sparse", &st));
  CHECK(st.size == (uint64_t)off + 4);
  CHECK(st.blocks == ((uint64_t)off + 4 + 4095) / 4096 * 8);

  OK(jfs_open(fs, "/files/sparse", O_RDONLY, 0, &f));
  CHECK_EQ(jfs_pread(f, buf, 4, off), 4);
  CHECK(memcmp(buf, "tail", 4) == 0);
  memset(buf, 'x', sizeof(buf));
  CHECK_EQ(jfs_pread(f, buf, 8, ((int64_t)3 << 30) + 7), 8); /* inside the hole */
  CHECK(memcmp(buf, "\0\0\0\0\0\0\0\0", 8) == 0);
  CHECK_EQ(jfs_lseek(f, ((int64_t)1 << 32) + 1, JFS_SEEK_SET), ((int64_t)1 << 32) + 1);
  CHECK_EQ(jfs_read(f, buf, 4), 4);
  /* SEEK_DATA / SEEK_HOLE: any answer consistent with the data is valid (reporting the whole
   * file as data is, as on Linux); end of file is a hole; beyond it is ENXIO. */
  {
    int64_t data = jfs_lseek(f, 0, JFS_SEEK_DATA);
    int64_t hole = jfs_lseek(f, 0, JFS_SEEK_HOLE);
    CHECK(data >= 0 && data <= off);
    CHECK(hole >= 0 && hole <= off + 4);
    CHECK_EQ(jfs_lseek(f, 0, JFS_SEEK_CUR), hole);
    CHECK_EQ(jfs_lseek(f, off, JFS_SEEK_DATA), off);
    CHECK_EQ(jfs_lseek(f, off, JFS_SEEK_HOLE), off + 4);
    CHECK_EQ(jfs_lseek(f, off + 10, JFS_SEEK_DATA), -ENXIO);
  }
  OK(jfs_close(f));
  OK(jfs_truncate(fs, "/files/sparse", 10));
  OK(jfs_stat(fs, "/files/sparse", &st));
  CHECK(st.size == 10);
  CHECK_EQ(jfs_truncate(fs, "/files/sparse", -5), -EINVAL);
  CHECK_EQ(jfs_truncate(fs, "/files", 0), -EISDIR);
  OK(jfs_unlink(fs, "/files/sparse"));
}

/* ---------------------------------------------------------------------------------------------
 * Namespace
 * ------------------------------------------------------------------------------------------- */

static void TestNamespace(jfs_fs_t* fs) {
  jfs_stat_t st, st2;
  char name[300];
  char* s = NULL;
  size_t len = 0;

  /* stat of the root */
  OK(jfs_stat(fs, "/", &st));
  CHECK(st.ino == 1);
  CHECK((st.mode & 0170000) == 0040000);
  CHECK(st.blksize == 4096 * 1024);
  CHECK_EQ(jfs_stat(fs, "/", NULL), -EINVAL);
  CHECK_EQ(jfs_stat(fs, NULL, &st), -EINVAL);
  CHECK_EQ(jfs_stat(NULL, "/", &st), -EINVAL);
  CHECK_EQ(jfs_stat(fs, "/nope", &st), -ENOENT);
  CHECK(Contains(jfs_last_error(fs), "jfs_stat /nope"));

  /* mkdir, mkdir_all, rmdir */
  OK(jfs_mkdir(fs, "/ns", 0755));
  CHECK_EQ(jfs_mkdir(fs, "/ns", 0755), -EEXIST);
  CHECK_EQ(jfs_mkdir(fs, "/no/such/parent", 0755), -ENOENT);
  OK(jfs_mkdir_all(fs, "/ns/a/b/c", 0750));
  OK(jfs_mkdir_all(fs, "/ns/a/b/c", 0750)); /* existing is fine */
  OK(jfs_stat(fs, "/ns/a/b/c", &st));
  CHECK((st.mode & 07777) == 0750);
  OK(jfs_stat(fs, "/ns/a", &st));
  CHECK(st.nlink == 3); /* 2 + one subdirectory */
  CHECK_EQ(jfs_rmdir(fs, "/ns/a"), -ENOTEMPTY);
  OK(jfs_rmdir(fs, "/ns/a/b/c"));
  CHECK_EQ(jfs_rmdir(fs, "/ns/a/b/c"), -ENOENT);

  /* the umask applies to new directories */
  OK(jfs_mkdir(fs, "/ns/m777", 0777));
  OK(jfs_stat(fs, "/ns/m777", &st));
  CHECK((st.mode & 07777) == 0755);

  /* name length: 255 bytes is fine, 256 is not */
  memset(name, 0, sizeof(name));
  strcpy(name, "/ns/");
  memset(name + 4, 'n', 255);
  OK(jfs_mkdir(fs, name, 0755));
  OK(jfs_rmdir(fs, name));
  name[4 + 255] = 'n';
  CHECK_EQ(jfs_mkdir(fs, name, 0755), -ENAMETOOLONG);
  CHECK_EQ(jfs_stat(fs, name, &st), -ENAMETOOLONG);

  /* path forms: duplicate slashes, ".", ".." */
  OK(jfs_stat(fs, "//ns///a/./b/../b", &st));
  OK(jfs_stat(fs, "/ns/a/b", &st2));
  CHECK(st.ino == st2.ino);
  OK(jfs_realpath(fs, "//ns///a/./b/..", &s));
  CHECK(strcmp(s, "/ns/a") == 0);
  jfs_free(s);
  s = NULL;
  CHECK_EQ(jfs_realpath(fs, "/ns/zzz", &s), -ENOENT);
  CHECK_EQ(jfs_realpath(fs, "/ns", NULL), -EINVAL);
  CHECK(s == NULL);

  /* files for the rest */
  {
    jfs_file_t* f = NULL;
    OK(jfs_create(fs, "/ns/f", 0640, &f));
    CHECK_EQ(jfs_write(f, "data", 4), 4);
    OK(jfs_close(f));
  }

  /* access */
  OK(jfs_access(fs, "/ns/f", 0));
  OK(jfs_access(fs, "/ns/f", 4 | 2));
  CHECK_EQ(jfs_access(fs, "/ns/g", 0), -ENOENT);
  CHECK_EQ(jfs_access(fs, "/ns/f", 0x40), -EINVAL);

  /* hard links */
  OK(jfs_link(fs, "/ns/f", "/ns/f2"));
  OK(jfs_stat(fs, "/ns/f", &st));
  OK(jfs_stat(fs, "/ns/f2", &st2));
  CHECK(st.ino == st2.ino);
  CHECK(st.nlink == 2);
  CHECK_EQ(jfs_link(fs, "/ns/f", "/ns/f2"), -EEXIST);
  CHECK_EQ(jfs_link(fs, "/ns/a", "/ns/dirlink"), -EPERM);
  CHECK_EQ(jfs_link(fs, "/ns/f", NULL), -EINVAL);

  /* symlinks */
  OK(jfs_symlink(fs, "f", "/ns/sl"));
  OK(jfs_symlink(fs, "/ns/nowhere", "/ns/dangling"));
  OK(jfs_readlink(fs, "/ns/sl", &s, &len));
  CHECK(len == 1 && strcmp(s, "f") == 0);
  jfs_free(s);
  OK(jfs_readlink(fs, "/ns/dangling", &s, NULL));
  CHECK(strcmp(s, "/ns/nowhere") == 0);
  jfs_free(s);
  CHECK_EQ(jfs_readlink(fs, "/ns/f", &s, &len), -EINVAL);
  CHECK_EQ(jfs_readlink(fs, "/ns/sl", NULL, &len), -EINVAL);
  OK(jfs_stat(fs, "/ns/sl", &st));
  CHECK((st.mode & 0170000) == 0100000);
  CHECK(st.size == 4);
  OK(jfs_lstat(fs, "/ns/sl", &st));
  CHECK((st.mode & 0170000) == 0120000);
  CHECK(st.size == 1);
  CHECK_EQ(jfs_stat(fs, "/ns/dangling", &st), -ENOENT);
  OK(jfs_lstat(fs, "/ns/dangling", &st));
  OK(jfs_realpath(fs, "/ns/sl", &s));
  CHECK(strcmp(s, "/ns/f") == 0);
  jfs_free(s);
  OK(jfs_symlink(fs, "loop2", "/ns/loop1"));
  OK(jfs_symlink(fs, "loop1", "/ns/loop2"));
  CHECK_EQ(jfs_stat(fs, "/ns/loop1", &st), -ELOOP);

  /* chmod / chown / lchown */
  OK(jfs_chmod(fs, "/ns/f", 04711));
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK((st.mode & 07777) == 04711);
  CHECK((st.mode & 0170000) == 0100000);
  OK(jfs_chown(fs, "/ns/f", 1234, (uint32_t)-1));
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK(st.uid == 1234 && st.gid == 0);
  OK(jfs_chown(fs, "/ns/sl", (uint32_t)-1, 77)); /* follows: changes /ns/f */
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK(st.uid == 1234 && st.gid == 77);
  OK(jfs_lchown(fs, "/ns/sl", 55, 66));
  OK(jfs_lstat(fs, "/ns/sl", &st));
  CHECK(st.uid == 55 && st.gid == 66);
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK(st.uid == 1234 && st.gid == 77);
  CHECK_EQ(jfs_chmod(fs, "/ns/none", 0644), -ENOENT);

  /* utimens / lutimens */
  {
    jfs_timespec_t t[2] = {{1000000000, 123456789}, {1500000000, 987654321}};
    OK(jfs_utimens(fs, "/ns/f", t));
    OK(jfs_stat(fs, "/ns/f", &st));
    CHECK(st.atime.sec == 1000000000 && st.atime.nsec == 123456789);
    CHECK(st.mtime.sec == 1500000000 && st.mtime.nsec == 987654321);
    t[0].nsec = JFS_UTIME_OMIT;
    t[1].sec = 1600000000;
    t[1].nsec = 5;
    OK(jfs_utimens(fs, "/ns/sl", t)); /* follows */
    OK(jfs_stat(fs, "/ns/f", &st));
    CHECK(st.atime.sec == 1000000000 && st.mtime.sec == 1600000000 && st.mtime.nsec == 5);
    t[0].nsec = 0;
    t[1].nsec = JFS_UTIME_OMIT;
    OK(jfs_lutimens(fs, "/ns/sl", t));
    OK(jfs_lstat(fs, "/ns/sl", &st));
    CHECK(st.atime.sec == 1000000000);
    OK(jfs_stat(fs, "/ns/f", &st2));
    CHECK(st2.mtime.sec == 1600000000);
    t[1].nsec = JFS_UTIME_NOW;
    t[0].nsec = JFS_UTIME_NOW;
    OK(jfs_utimens(fs, "/ns/f", t));
    OK(jfs_stat(fs, "/ns/f", &st));
    CHECK(st.mtime.sec >= (int64_t)time(NULL) - 60);
    OK(jfs_utimens(fs, "/ns/a", NULL)); /* NULL: both now */
    t[0].nsec = 1000000000;
    CHECK_EQ(jfs_utimens(fs, "/ns/f", t), -EINVAL);
    t[0].nsec = -3;
    CHECK_EQ(jfs_utimens(fs, "/ns/f", t), -EINVAL);
  }

  /* mknod: fifo and socket */
  OK(jfs_mknod(fs, "/ns/fifo", 0010644, 0));
  OK(jfs_lstat(fs, "/ns/fifo", &st));
  CHECK((st.mode & 0170000) == 0010000);
  OK(jfs_mknod(fs, "/ns/sock", 0140600, 0));
  OK(jfs_lstat(fs, "/ns/sock", &st));
  CHECK((st.mode & 0170000) == 0140000);
  CHECK((st.mode & 07777) == 0600);
  CHECK_EQ(jfs_mknod(fs, "/ns/fifo", 0010644, 0), -EEXIST);

  /* rename: plain, NOREPLACE, EXCHANGE, bad flags */
  OK(jfs_rename(fs, "/ns/fifo", "/ns/fifo2", 0));
  CHECK_EQ(jfs_lstat(fs, "/ns/fifo", &st), -ENOENT);
  OK(jfs_lstat(fs, "/ns/fifo2", &st));
  CHECK_EQ(jfs_rename(fs, "/ns/fifo2", "/ns/sock", JFS_RENAME_NOREPLACE), -EEXIST);
  OK(jfs_lstat(fs, "/ns/fifo2", &st));
  OK(jfs_lstat(fs, "/ns/sock", &st2));
  OK(jfs_rename(fs, "/ns/fifo2", "/ns/sock", JFS_RENAME_EXCHANGE));
  {
    jfs_stat_t a, b;
    OK(jfs_lstat(fs, "/ns/fifo2", &a));
    OK(jfs_lstat(fs, "/ns/sock", &b));
    CHECK(a.ino == st2.ino && b.ino == st.ino);
    CHECK((a.mode & 0170000) == 0140000);
  }
  CHECK_EQ(jfs_rename(fs, "/ns/fifo2", "/ns/sock", 3), -EINVAL);
  CHECK_EQ(jfs_rename(fs, "/ns/fifo2", "/ns/sock", 8), -EINVAL);
  CHECK_EQ(jfs_rename(fs, "/ns/fifo2", NULL, 0), -EINVAL);
  OK(jfs_rename(fs, "/ns/sock", "/ns/fifo2", 0)); /* replaces */
  CHECK_EQ(jfs_rename(fs, "/ns/missing", "/ns/x", 0), -ENOENT);

  /* unlink */
  OK(jfs_unlink(fs, "/ns/f2"));
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK(st.nlink == 1);
  OK(jfs_unlink(fs, "/ns/sl")); /* the link, not the target */
  OK(jfs_stat(fs, "/ns/f", &st));
  CHECK_EQ(jfs_unlink(fs, "/ns/a"), -EISDIR);
  CHECK_EQ(jfs_unlink(fs, "/ns/sl"), -ENOENT);
  CHECK_EQ(jfs_rmdir(fs, "/ns/f"), -ENOTDIR);

  /* statvfs reflects the format's quotas */
  {
    jfs_statvfs_t sv;
    OK(jfs_statvfs(fs, &sv));
    CHECK(sv.total_bytes == 1ull << 40);
    CHECK(sv.free_bytes <= sv.total_bytes);
    CHECK(sv.total_inodes == 1000000);
    CHECK(sv.free_inodes < sv.total_inodes);
    CHECK(sv.max_name == 255);
    CHECK(sv.block_size > 0);
    CHECK_EQ(jfs_statvfs(fs, NULL), -EINVAL);
  }
}

static void TestXattr(jfs_fs_t* fs) {
  void* v = NULL;
  char* list = NULL;
  size_t size = 99;

  OK(jfs_mkdir(fs, "/x", 0755));
  {
    jfs_file_t* f = NULL;
    OK(jfs_create(fs, "/x/f", 0644, &f));
    OK(jfs_close(f));
  }
  OK(jfs_symlink(fs, "f", "/x/l"));

  OK(jfs_listxattr(fs, "/x/f", &list, &size));
  CHECK(list != NULL && size == 0);
  jfs_free(list);

  OK(jfs_setxattr(fs, "/x/f", "user.a", "1234", 4, 0));
  OK(jfs_setxattr(fs, "/x/f", "user.bin", "\0\1\2", 3, JFS_XATTR_CREATE));
  OK(jfs_setxattr(fs, "/x/f", "user.empty", NULL, 0, 0));
  CHECK_EQ(jfs_setxattr(fs, "/x/f", "user.a", "x", 1, JFS_XATTR_CREATE), -EEXIST);
  CHECK_EQ(jfs_setxattr(fs, "/x/f", "user.zz", "x", 1, JFS_XATTR_REPLACE), -ENODATA);
  CHECK_EQ(jfs_setxattr(fs, "/x/f", "user.a", "x", 1, 3), -EINVAL);
  CHECK_EQ(jfs_setxattr(fs, "/x/f", "user.a", NULL, 1, 0), -EINVAL);
  CHECK_EQ(jfs_setxattr(fs, "/x/f", NULL, "x", 1, 0), -EINVAL);
  OK(jfs_setxattr(fs, "/x/f", "user.a", "abc", 3, JFS_XATTR_REPLACE));

  OK(jfs_getxattr(fs, "/x/f", "user.a", &v, &size));
  CHECK(size == 3 && memcmp(v, "abc", 3) == 0);
  CHECK(((char*)v)[3] == '\0'); /* NUL-terminated for convenience */
  jfs_free(v);
  OK(jfs_getxattr(fs, "/x/f", "user.bin", &v, &size));
  CHECK(size == 3 && memcmp(v, "\0\1\2", 3) == 0);
  jfs_free(v);
  OK(jfs_getxattr(fs, "/x/f", "user.empty", &v, &size));
  CHECK(v != NULL && size == 0);
  jfs_free(v);
  v = NULL;
  CHECK_EQ(jfs_getxattr(fs, "/x/f", "user.none", &v, &size), -ENODATA);
  CHECK(v == NULL);
  CHECK_EQ(jfs_getxattr(fs, "/x/f", "user.a", NULL, &size), -EINVAL);

  /* through the symlink: the plain calls act on the target, the l-variants on the link */
  OK(jfs_getxattr(fs, "/x/l", "user.a", &v, NULL));
  CHECK(strcmp((char*)v, "abc") == 0);
  jfs_free(v);
  CHECK_EQ(jfs_lgetxattr(fs, "/x/l", "user.a", &v, &size), -ENODATA);
  OK(jfs_llistxattr(fs, "/x/l", &list, &size));
  CHECK(size == 0);
  jfs_free(list);

  OK(jfs_listxattr(fs, "/x/l", &list, &size));
  {
    /* three NUL-terminated names, any order */
    size_t i = 0;
    int seen = 0;
    while (i < size) {
      const char* n = list + i;
      if (strcmp(n, "user.a") == 0) seen |= 1;
      if (strcmp(n, "user.bin") == 0) seen |= 2;
      if (strcmp(n, "user.empty") == 0) seen |= 4;
      i += strlen(n) + 1;
    }
    CHECK(i == size);
    CHECK(seen == 7);
    CHECK(size == strlen("user.a") + strlen("user.bin") + strlen("user.empty") + 3);
  }
  jfs_free(list);

  OK(jfs_removexattr(fs, "/x/l", "user.bin"));
  CHECK_EQ(jfs_removexattr(fs, "/x/f", "user.bin"), -ENODATA);
  CHECK_EQ(jfs_lremovexattr(fs, "/x/l", "user.a"), -ENODATA);
  OK(jfs_removexattr(fs, "/x/f", "user.a"));
  OK(jfs_listxattr(fs, "/x/f", &list, &size));
  CHECK(size == strlen("user.empty") + 1);
  jfs_free(list);
  CHECK_EQ(jfs_getxattr(fs, "/x/missing", "user.a", &v, &size), -ENOENT);
  jfs_free(NULL); /* no-op */
}

/* ---------------------------------------------------------------------------------------------
 * Directories
 * ------------------------------------------------------------------------------------------- */

static void TestReaddirSmall(jfs_fs_t* fs) {
  jfs_dir_t* d = NULL;
  const jfs_dirent_t* e = NULL;
  int n = 0, seen = 0, rc;

  OK(jfs_mkdir(fs, "/d", 0755));
  OK(jfs_mkdir(fs, "/d/sub", 0700));
  {
    jfs_file_t* f = NULL;
    OK(jfs_create(fs, "/d/file", 0644, &f));
    CHECK_EQ(jfs_write(f, "12345", 5), 5);
    OK(jfs_close(f));
  }
  OK(jfs_symlink(fs, "file", "/d/link"));

  OK(jfs_opendir(fs, "/d", &d));
  while ((rc = jfs_readdir(d, &e)) == 1) {
    n++;
    CHECK(e != NULL && e->name != NULL);
    CHECK(strlen(e->name) == e->name_len);
    CHECK(strchr(e->name, '/') == NULL);
    CHECK(strcmp(e->name, ".") != 0 && strcmp(e->name, "..") != 0);
    if (strcmp(e->name, "sub") == 0) {
      CHECK((e->stat.mode & 0170000) == 0040000);
      CHECK((e->stat.mode & 07777) == 0700);
      seen |= 1;
    } else if (strcmp(e->name, "file") == 0) {
      jfs_stat_t st;
      OK(jfs_stat(fs, "/d/file", &st));
      CHECK(e->stat.ino == st.ino);
      CHECK(e->stat.size == 5);
      CHECK((e->stat.mode & 0170000) == 0100000);
      CHECK(e->stat.mtime.sec == st.mtime.sec);
      seen |= 2;
    } else if (strcmp(e->name, "link") == 0) {
      CHECK((e->stat.mode & 0170000) == 0120000);
      seen |= 4;
    }
  }
  CHECK_EQ(rc, 0);
  CHECK(e == NULL);
  CHECK(n == 3 && seen == 7);
  CHECK_EQ(jfs_readdir(d, &e), 0); /* stays at the end */
  CHECK_EQ(jfs_readdir(d, NULL), -EINVAL);
  OK(jfs_closedir(d));
  CHECK_EQ(jfs_readdir(d, &e), -EBADF);
  CHECK_EQ(jfs_closedir(d), -EBADF);
  CHECK_EQ(jfs_readdir(NULL, &e), -EINVAL);
  CHECK_EQ(jfs_closedir(NULL), -EINVAL);

  CHECK_EQ(jfs_opendir(fs, "/d/file", &d), -ENOTDIR);
  CHECK_EQ(jfs_opendir(fs, "/d/none", &d), -ENOENT);
  CHECK_EQ(jfs_opendir(fs, "/d", NULL), -EINVAL);

  /* a stream closed without reading to the end */
  OK(jfs_opendir(fs, "/d", &d));
  CHECK_EQ(jfs_readdir(d, &e), 1);
  OK(jfs_closedir(d));
}

static size_t HeapInUse(void) {
#if defined(__SANITIZE_ADDRESS__)
  return 0; /* the sanitizer's allocator is not glibc's: not measurable */
#else
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
#endif
}

/* 20,000 entries with long names: every one listed exactly once, and the stream does not hold the
 * whole directory in memory (it would take well over 5 MB here; a paged stream holds a page). */
static void TestReaddirLarge(jfs_fs_t* fs) {
  enum { kEntries = 20000, kNameLen = 200 };
  unsigned char* seen = calloc(kEntries, 1);
  char path[300];
  jfs_dir_t* d = NULL;
  const jfs_dirent_t* e = NULL;
  int i, n = 0, rc;
  size_t heap_before, heap_peak = 0;

  CHECK(seen != NULL);
  OK(jfs_mkdir(fs, "/big", 0755));
  for (i = 0; i < kEntries; i++) {
    int k = snprintf(path, sizeof(path), "/big/%06d-", i);
    memset(path + k, 'e', kNameLen - (k - 5));
    path[5 + kNameLen] = '\0';
    OK(jfs_mknod(fs, path, 0100644, 0));
  }

  heap_before = HeapInUse();
  OK(jfs_opendir(fs, "/big", &d));
  while ((rc = jfs_readdir(d, &e)) == 1) {
    int idx = atoi(e->name);
    CHECK(e->name_len == kNameLen);
    CHECK(idx >= 0 && idx < kEntries);
    CHECK(!seen[idx]);
    CHECK((e->stat.mode & 0170000) == 0100000);
    seen[idx] = 1;
    n++;
    if (n % 1000 == 0) {
      size_t h = HeapInUse();
      if (h > heap_peak) heap_peak = h;
    }
  }
  CHECK_EQ(rc, 0);
  CHECK(n == kEntries);
  OK(jfs_closedir(d));
  if (heap_before != 0) {
    size_t growth = heap_peak > heap_before ? heap_peak - heap_before : 0;
    printf("readdir of %d entries: heap growth %zu KiB\n", kEntries, growth / 1024);
    CHECK(growth < (size_t)4 << 20);
  }
  free(seen);
}

/* ---------------------------------------------------------------------------------------------
 * Credentials, last-error threading, corruption, closed volumes
 * ------------------------------------------------------------------------------------------- */

static void TestCredentials(jfs_fs_t* fs) {
  const uint32_t user_groups[] = {1000, 2000};
  const uint32_t root_groups[] = {0};
  jfs_stat_t st;
  jfs_file_t* f = NULL;

  OK(jfs_mkdir(fs, "/cred", 0755));
  OK(jfs_mkdir(fs, "/cred/open", 0777));
  OK(jfs_chmod(fs, "/cred/open", 0777));

  CHECK_EQ(jfs_set_credentials(fs, 1000, NULL, 1, 022), -EINVAL);
  CHECK_EQ(jfs_set_credentials(fs, 1000, user_groups, 0, 022), -EINVAL);
  CHECK_EQ(jfs_set_credentials(fs, 1000, user_groups, 2, 01000), -EINVAL);
  CHECK_EQ(jfs_set_credentials(NULL, 1000, user_groups, 2, 022), -EINVAL);

  OK(jfs_set_credentials(fs, 1000, user_groups, 2, 077));
  CHECK_EQ(jfs_mkdir(fs, "/cred/denied", 0755), -EACCES);
  CHECK_EQ(jfs_access(fs, "/cred", 2), -EACCES);
  OK(jfs_access(fs, "/cred", 4 | 1));
  OK(jfs_create(fs, "/cred/open/mine", 0666, &f));
  OK(jfs_close(f));
  OK(jfs_stat(fs, "/cred/open/mine", &st));
  CHECK(st.uid == 1000 && st.gid == 1000);
  CHECK((st.mode & 07777) == 0600); /* umask 077 */
  CHECK_EQ(jfs_chown(fs, "/cred/open/mine", 0, (uint32_t)-1), -EPERM);
  OK(jfs_chown(fs, "/cred/open/mine", (uint32_t)-1, 2000)); /* a group of the caller */

  OK(jfs_set_credentials(fs, 0, root_groups, 1, 022));
  OK(jfs_mkdir(fs, "/cred/denied", 0755));
  OK(jfs_stat(fs, "/cred/open/mine", &st));
  CHECK(st.gid == 2000);
}

struct ThreadArg {
  jfs_fs_t* fs;
  const char* path;
  int rc;
  char message[512];
};

static void* FailInThread(void* p) {
  struct ThreadArg* a = (struct ThreadArg*)p;
  jfs_stat_t st;
  int i;
  for (i = 0; i < 50; i++) {
    a->rc = jfs_stat(a->fs, a->path, &st);
    snprintf(a->message, sizeof(a->message), "%s", jfs_last_error(a->fs));
    if (!Contains(a->message, a->path)) break; /* another thread's message leaked in */
  }
  return NULL;
}

/* Messages are per thread: concurrent failures on one handle each see their own. */
static void TestLastErrorPerThread(jfs_fs_t* fs) {
  struct ThreadArg a = {fs, "/no-such-a", 0, ""}, b = {fs, "/no-such-b/deeper", 0, ""};
  pthread_t ta, tb;
  CHECK_EQ(jfs_stat(fs, "/thread-main-missing", &(jfs_stat_t){0}), -ENOENT);
  CHECK(pthread_create(&ta, NULL, FailInThread, &a) == 0);
  CHECK(pthread_create(&tb, NULL, FailInThread, &b) == 0);
  pthread_join(ta, NULL);
  pthread_join(tb, NULL);
  CHECK_EQ(a.rc, -ENOENT);
  CHECK_EQ(b.rc, -ENOENT);
  CHECK(Contains(a.message, "/no-such-a") && !Contains(a.message, "/no-such-b"));
  CHECK(Contains(b.message, "/no-such-b/deeper"));
  CHECK(Contains(jfs_last_error(fs), "/thread-main-missing"));
  /* a successful call does not clear the message */
  OK(jfs_stat(fs, "/", &(jfs_stat_t){0}));
  CHECK(Contains(jfs_last_error(fs), "/thread-main-missing"));
}

static int64_t g_corrupt_ino;

static void WriteFileForCorruption(jfs_fs_t* fs) {
  jfs_file_t* f = NULL;
  jfs_stat_t st;
  char data[100000];
  memset(data, 'c', sizeof(data));
  OK(jfs_create(fs, "/corrupt", 0644, &f));
  CHECK_EQ(jfs_write(f, data, sizeof(data)), (int64_t)sizeof(data));
  OK(jfs_close(f));
  OK(jfs_stat(fs, "/corrupt", &st));
  g_corrupt_ino = (int64_t)st.ino;
}

/* Truncates the file's slice list to a length that is not a multiple of the 24-byte record. */
static void CorruptSlices(void) {
  sqlite3* db = NULL;
  sqlite3_stmt* stmt = NULL;
  CHECK(sqlite3_open(g_db_path, &db) == SQLITE_OK);
  CHECK(sqlite3_prepare_v2(db,
                           "UPDATE jfs_chunk SET slices = substr(slices, 1, 23) WHERE inode = ?",
                           -1, &stmt, NULL) == SQLITE_OK);
  CHECK(sqlite3_bind_int64(stmt, 1, g_corrupt_ino) == SQLITE_OK);
  CHECK(sqlite3_step(stmt) == SQLITE_DONE);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

static void TestCorruptSlices(jfs_fs_t* fs) {
  jfs_file_t* f = NULL;
  char buf[64];
  OK(jfs_open(fs, "/corrupt", O_RDONLY, 0, &f));
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), -EIO);
  CHECK(Contains(jfs_last_error(fs), "jfs_read"));
  CHECK(Contains(jfs_last_error(fs), "EIO"));
  CHECK(strlen(jfs_last_error(fs)) > strlen("jfs_read: EIO (Input/output error)"));
  CHECK_EQ(jfs_pread(f, buf, sizeof(buf), 10), -EIO);
  OK(jfs_close(f));
  /* the rest of the volume is unaffected */
  OK(jfs_stat(fs, "/corrupt", &(jfs_stat_t){0}));
  OK(jfs_rename(fs, "/corrupt", "/corrupt-renamed", 0));
  OK(jfs_create(fs, "/after-corrupt", 0644, &f));
  CHECK_EQ(jfs_write(f, "fine", 4), 4);
  OK(jfs_close(f));
  OK(jfs_open(fs, "/after-corrupt", O_RDONLY, 0, &f));
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), 4);
  OK(jfs_close(f));
}

/* After jfs_close_volume: the handle is detected as released, open files and streams fail with
 * EBADF and are still released by jfs_close / jfs_closedir. */
static void TestClosedVolume(void) {
  jfs_fs_t* fs = NULL;
  jfs_file_t* f = NULL;
  jfs_dir_t* d = NULL;
  char buf[8];

  OK(jfs_open_volume(g_meta_url, NULL, &fs));
  OK(jfs_create(fs, "/leftover", 0644, &f));
  CHECK_EQ(jfs_write(f, "unflushed", 9), 9);
  OK(jfs_opendir(fs, "/", &d));
  OK(jfs_close_volume(fs));

  CHECK_EQ(jfs_stat(fs, "/", &(jfs_stat_t){0}), -EBADF);
  CHECK(Contains(jfs_last_error(fs), "EBADF"));
  CHECK(Contains(jfs_last_open_error(), "jfs_stat"));
  CHECK_EQ(jfs_mkdir(fs, "/x", 0755), -EBADF);
  CHECK_EQ(jfs_close_volume(fs), -EBADF);
  CHECK_EQ(jfs_close_volume(NULL), -EINVAL);
  CHECK_EQ(jfs_write(f, "x", 1), -EBADF);
  CHECK_EQ(jfs_read(f, buf, 1), -EBADF);
  CHECK_EQ(jfs_readdir(d, &(const jfs_dirent_t*){NULL}), -EBADF);
  OK(jfs_close(f));
  OK(jfs_closedir(d));

  /* the volume's close flushed the file */
  OK(jfs_open_volume(g_meta_url, NULL, &fs));
  g_fs = fs;
  OK(jfs_open(fs, "/leftover", O_RDONLY, 0, &f));
  CHECK_EQ(jfs_read(f, buf, sizeof(buf)), 8);
  CHECK(memcmp(buf, "unflushe", 8) == 0);
  OK(jfs_close(f));
  OK(jfs_unlink(fs, "/leftover"));
  OK(jfs_close_volume(fs));
  g_fs = NULL;
}

/* The disk cache options and jfs_stats: written blocks go into the cache directory given, a
 * re-read is served from it, writeback needs the cache. */
static void TestCacheAndStats(void) {
  jfs_fs_t* fs = NULL;
  jfs_file_t* f = NULL;
  jfs_volume_options_t vo;
  jfs_stats_t st0, st1, st2;
  char cache_dir[2100];
  static char data[300000], back[300000];
  size_t i;
  for (i = 0; i < sizeof(data); i++) data[i] = (char)(i * 7 + i / 1000);
  snprintf(cache_dir, sizeof(cache_dir), "%s/cache-a:%s/cache-b", g_dir, g_dir);

  jfs_volume_options_init(&vo);
  CHECK(vo.cache_size == 0);
  CHECK(vo.free_space_ratio > 0.09 && vo.free_space_ratio < 0.11);
  CHECK(vo.prefetch == 1);
  vo.cache_size = 0;
  vo.flags = JFS_VOLUME_WRITEBACK;
  CHECK_EQ(jfs_open_volume(g_meta_url, &vo, &fs), -EINVAL);
  jfs_volume_options_init(&vo);
  vo.cache_eviction = "lru-maybe";
  vo.cache_dir = cache_dir;
  CHECK_EQ(jfs_open_volume(g_meta_url, &vo, &fs), -EINVAL);

  jfs_volume_options_init(&vo);
  vo.cache_dir = cache_dir;
  vo.cache_size = 64;
  vo.free_space_ratio = 0;
  vo.flags = JFS_VOLUME_WRITEBACK | JFS_VOLUME_CACHE_LARGE_WRITE;
  OK(jfs_open_volume(g_meta_url, &vo, &fs));
  g_fs = fs;
  CHECK_EQ(jfs_stats(fs, NULL, sizeof(st0)), -EINVAL);
  OK(jfs_stats(fs, &st0, sizeof(st0)));
  CHECK(st0.size == sizeof(st0));
  OK(jfs_create(fs, "/cached", 0644, &f));
  CHECK_EQ(jfs_write(f, data, sizeof(data)), (int64_t)sizeof(data));
  OK(jfs_close(f));
  OK(jfs_stats(fs, &st1, sizeof(st1)));
  CHECK(st1.meta_calls > st0.meta_calls);
  CHECK(st1.cache_write_ops > st0.cache_write_ops);
  CHECK(st1.cache_write_bytes >= st0.cache_write_bytes + sizeof(data));
  OK(jfs_open(fs, "/cached", O_RDONLY, 0, &f));
  CHECK_EQ(jfs_pread(f, back, sizeof(back), 0), (int64_t)sizeof(back));
  CHECK(memcmp(back, data, sizeof(data)) == 0);
  OK(jfs_close(f));
  OK(jfs_stats(fs, &st2, sizeof(st2)));
  CHECK(st2.cache_hit_ops > st1.cache_hit_ops);
  CHECK(st2.cache_hit_bytes >= st1.cache_hit_bytes + sizeof(data));
  {
    /* an older caller's shorter struct gets only what it has room for */
    jfs_stats_t small;
    memset(&small, 0xAB, sizeof(small));
    OK(jfs_stats(fs, &small, offsetof(jfs_stats_t, cache_miss_ops)));
    CHECK(small.size == offsetof(jfs_stats_t, cache_miss_ops));
    CHECK(small.cache_miss_ops == 0xABABABABABABABABull);
  }
  OK(jfs_close_volume(fs)); /* waits for the writeback uploads */
  g_fs = NULL;

  /* the data is in the object store: readable without any cache */
  jfs_volume_options_init(&vo);
  vo.cache_size = 0;
  OK(jfs_open_volume(g_meta_url, &vo, &fs));
  g_fs = fs;
  OK(jfs_open(fs, "/cached", O_RDONLY, 0, &f));
  memset(back, 0, sizeof(back));
  CHECK_EQ(jfs_pread(f, back, sizeof(back), 0), (int64_t)sizeof(back));
  CHECK(memcmp(back, data, sizeof(data)) == 0);
  OK(jfs_close(f));
  OK(jfs_stats(fs, &st0, sizeof(st0)));
  CHECK(st0.get_ops > 0);
  CHECK(st0.cache_hit_ops == 0);
  OK(jfs_unlink(fs, "/cached"));
  OK(jfs_close_volume(fs));
  g_fs = NULL;
}

static void TestReadOnly(void) {
  jfs_fs_t* fs = NULL;
  jfs_file_t* f = NULL;
  jfs_volume_options_t vo;
  jfs_volume_options_init(&vo);
  vo.flags = JFS_VOLUME_READ_ONLY;
  OK(jfs_open_volume(g_meta_url, &vo, &fs));
  g_fs = fs;
  OK(jfs_stat(fs, "/files/a.txt", &(jfs_stat_t){0}));
  CHECK_EQ(jfs_mkdir(fs, "/ro", 0755), -EROFS);
  CHECK_EQ(jfs_create(fs, "/ro-file", 0644, &f), -EROFS);
  OK(jfs_close_volume(fs));
  g_fs = NULL;
}

/* ---------------------------------------------------------------------------------------------
 * Embedding: threads and fork
 * ------------------------------------------------------------------------------------------- */

static int ThreadCount(void) {
  DIR* d = opendir("/proc/self/task");
  struct dirent* e;
  int n = 0;
  CHECK(d != NULL);
  while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

/* With no volume open, the process may fork and the child may use the library. */
static void TestForkWithoutOpenVolume(void) {
  pid_t pid = fork();
  int status = 0;
  CHECK(pid >= 0);
  if (pid == 0) {
    jfs_fs_t* fs = NULL;
    jfs_stat_t st;
    int ok = jfs_open_volume(g_meta_url, NULL, &fs) == 0 &&
             jfs_stat(fs, "/files/a.txt", &st) == 0 && st.size == 100 &&
             jfs_mkdir(fs, "/made-by-child", 0755) == 0 && jfs_close_volume(fs) == 0;
    if (!ok) fprintf(stderr, "child: %s %s\n", jfs_last_error(fs), jfs_last_open_error());
    _exit(ok ? 0 : 1);
  }
  CHECK(waitpid(pid, &status, 0) == pid);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  {
    jfs_fs_t* fs = NULL;
    OK(jfs_open_volume(g_meta_url, NULL, &fs));
    g_fs = fs;
    OK(jfs_rmdir(fs, "/made-by-child"));
    OK(jfs_close_volume(fs));
    g_fs = NULL;
  }
}

/* ---------------------------------------------------------------------------------------------
 * Main
 * ------------------------------------------------------------------------------------------- */

static int RemoveEntry(const char* path, const struct stat* sb, int flag, struct FTW* ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static jfs_posix_lock_t Lk(int16_t type, int16_t whence, int64_t start, int64_t len) {
  jfs_posix_lock_t l;
  memset(&l, 0, sizeof(l));
  l.type = type;
  l.whence = whence;
  l.start = start;
  l.len = len;
  return l;
}

/* Locks within one process: flock and OFD locks belong to a handle, process locks are shared by
 * every handle and go with the close of any of them. */
static void TestLocks(jfs_fs_t* fs) {
  jfs_file_t *a, *b, *ro;
  jfs_posix_lock_t l;
  OK(jfs_open(fs, "/locked", O_RDWR | O_CREAT, 0644, &a));
  OK(jfs_open(fs, "/locked", O_RDWR, 0, &b));
  OK(jfs_open(fs, "/locked", O_RDONLY, 0, &ro));

  /* flock: per handle */
  OK(jfs_flock(a, JFS_LOCK_SH | JFS_LOCK_NB));
  OK(jfs_flock(b, JFS_LOCK_SH | JFS_LOCK_NB));
  CHECK_EQ(jfs_flock(b, JFS_LOCK_EX | JFS_LOCK_NB), -EAGAIN);
  OK(jfs_flock(a, JFS_LOCK_UN));
  OK(jfs_flock(b, JFS_LOCK_EX | JFS_LOCK_NB));
  CHECK_EQ(jfs_flock(a, JFS_LOCK_SH | JFS_LOCK_NB), -EAGAIN);
  CHECK_EQ(jfs_flock(a, 0), -EINVAL);
  CHECK_EQ(jfs_flock(a, JFS_LOCK_SH | JFS_LOCK_EX), -EINVAL);
  CHECK_EQ(jfs_flock(NULL, JFS_LOCK_SH), -EINVAL);

  /* process locks: shared by every handle of the process */
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 100);
  OK(jfs_fcntl_lock(a, JFS_F_SETLK, &l));
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 50, 10);
  OK(jfs_fcntl_lock(b, JFS_F_SETLK, &l));
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 0);
  OK(jfs_fcntl_lock(b, JFS_F_GETLK, &l));
  CHECK(l.type == JFS_F_UNLCK); /* the process's own locks never conflict */
  /* OFD locks: per handle, conflicting with the process's locks */
  l = Lk(JFS_F_RDLCK, JFS_SEEK_SET, 90, 20);
  CHECK_EQ(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l), -EAGAIN);
  l = Lk(JFS_F_RDLCK, JFS_SEEK_SET, 100, 20);
  OK(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l));
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 1);
  OK(jfs_fcntl_lock(ro, JFS_F_OFD_GETLK, &l));
  CHECK(l.type == JFS_F_WRLCK);
  CHECK(l.whence == JFS_SEEK_SET);
  CHECK(l.start == 0 && l.len == 100);
  CHECK(l.pid == (int32_t)getpid());        /* same session: the holder's pid */
  l = Lk(JFS_F_WRLCK, JFS_SEEK_END, -5, 5); /* the file is empty: [-5, 0) is before 0 */
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, &l), -EINVAL);
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 10, -5); /* negative len: [5, 10) */
  OK(jfs_fcntl_lock(a, JFS_F_SETLK, &l));
  l = Lk(JFS_F_WRLCK, 9, 0, 0);
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, &l), -EINVAL);
  l = Lk(5, JFS_SEEK_SET, 0, 0);
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, &l), -EINVAL);
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 0);
  CHECK_EQ(jfs_fcntl_lock(a, 99, &l), -EINVAL);
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, NULL), -EINVAL);
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, INT64_MAX, 2);
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, &l), -EOVERFLOW);
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 1);
  CHECK_EQ(jfs_fcntl_lock(ro, JFS_F_SETLK, &l), -EBADF); /* write lock on a read-only handle */
  /* A waiter with the volume's timeout (none here) would wait: SETLKW is tested across
   * processes; here the OFD lock of `ro` blocks a write lock of the process until it closes. */
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 110, 1);
  CHECK_EQ(jfs_fcntl_lock(a, JFS_F_SETLK, &l), -EAGAIN);
  OK(jfs_close(ro)); /* its OFD lock goes, and (POSIX) the process's locks on the file */
  OK(jfs_fcntl_lock(a, JFS_F_SETLK, &l));
  OK(jfs_open(fs, "/locked", O_RDONLY, 0, &ro));
  l = Lk(JFS_F_RDLCK, JFS_SEEK_SET, 0, 1);
  OK(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l)); /* [0, 100) was released by that close */
  l = Lk(JFS_F_UNLCK, JFS_SEEK_SET, 0, 0);
  OK(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l));
  l = Lk(JFS_F_WRLCK, JFS_SEEK_SET, 0, 100);
  OK(jfs_fcntl_lock(a, JFS_F_SETLK, &l));
  l = Lk(JFS_F_RDLCK, JFS_SEEK_SET, 0, 1);
  CHECK_EQ(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l), -EAGAIN);
  /* closing ANY handle of the file releases the process's locks (POSIX) — and b's flock */
  OK(jfs_close(b));
  OK(jfs_fcntl_lock(ro, JFS_F_OFD_SETLK, &l));
  OK(jfs_flock(ro, JFS_LOCK_EX | JFS_LOCK_NB));
  OK(jfs_close(ro));
  OK(jfs_close(a));
}

int main(int argc, char** argv) {
  jfs_fs_t* fs = NULL;
  const char* tmp = getenv("TMPDIR");
  int threads_at_start;

  if (argc > 1) {
    snprintf(g_dir, sizeof(g_dir), "%s", argv[1]);
    mkdir(g_dir, 0755);
  } else {
    snprintf(g_dir, sizeof(g_dir), "%s/jfs-capi-test-XXXXXX", tmp != NULL ? tmp : "/tmp");
    CHECK(mkdtemp(g_dir) != NULL);
  }
  snprintf(g_db_path, sizeof(g_db_path), "%s/meta.db", g_dir);
  snprintf(g_meta_url, sizeof(g_meta_url), "sqlite3://%s", g_db_path);
  snprintf(g_bucket, sizeof(g_bucket), "%s/bucket", g_dir);

  /* no library thread before a volume is opened, nor after every volume is closed */
  threads_at_start = ThreadCount();
  TestVersion();
  TestFormatAndOpenErrors();
  Format();
  CHECK(ThreadCount() == threads_at_start);
  TestOptionsGrowth();
  CHECK(ThreadCount() == threads_at_start);
  TestCacheAndStats();
  CHECK(ThreadCount() == threads_at_start);

  OK(jfs_open_volume(g_meta_url, NULL, &fs));
  g_fs = fs;
  {
    /* run as root inside the volume whatever user runs the test */
    const uint32_t root_groups[] = {0};
    OK(jfs_set_credentials(fs, 0, root_groups, 1, 022));
  }
  TestFiles(fs);
  TestLargeOffsets(fs);
  TestNamespace(fs);
  TestXattr(fs);
  TestReaddirSmall(fs);
  TestReaddirLarge(fs);
  TestCredentials(fs);
  TestLastErrorPerThread(fs);
  TestLocks(fs);
  WriteFileForCorruption(fs);
  OK(jfs_close_volume(fs));
  g_fs = NULL;

  CorruptSlices();
  OK(jfs_open_volume(g_meta_url, NULL, &fs));
  g_fs = fs;
  TestCorruptSlices(fs);
  OK(jfs_close_volume(fs));
  g_fs = NULL;

  TestClosedVolume();
  TestReadOnly();
  CHECK(ThreadCount() == threads_at_start);
  TestForkWithoutOpenVolume();

  printf("capi_test: %d checks passed\n", g_checks);
  if (argc <= 1) nftw(g_dir, RemoveEntry, 16, FTW_DEPTH | FTW_PHYS);
  return 0;
}
