/* hello.c — a first program on libjuicefs's C ABI.
 *
 *   hello [META-URL BUCKET-DIR]
 *
 * Opens the volume at META-URL (formatting it first, with its data in BUCKET-DIR, if the database
 * holds no volume yet), writes /hello/greeting.txt, reads it back, lists /hello and prints the
 * file's attributes. Without arguments it uses a new SQLite volume in a temporary directory.
 *
 * Build: cc hello.c $(pkg-config --cflags --libs juicefs) */
#if !defined(_GNU_SOURCE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <juicefs/juicefs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every call returns 0 (or a count) on success and -errno on failure; the message of the last
 * failure is available per volume handle. */
static int Failed(const char* what, int64_t rc, jfs_fs_t* fs) {
  if (rc >= 0) return 0;
  fprintf(stderr, "hello: %s failed: %s\n  %s\n", what, strerror((int)-rc),
          fs != NULL ? jfs_last_error(fs) : jfs_last_open_error());
  return 1;
}

int main(int argc, char** argv) {
  char meta_url[4200], bucket[4200];
  jfs_fs_t* fs = NULL;
  jfs_file_t* f = NULL;
  jfs_dir_t* dir = NULL;
  const jfs_dirent_t* entry = NULL;
  jfs_stat_t st;
  const char greeting[] = "Hello from libjuicefs!\n";
  char buf[128];
  int64_t n;
  int rc;

  if (argc == 3) {
    snprintf(meta_url, sizeof(meta_url), "%s", argv[1]);
    snprintf(bucket, sizeof(bucket), "%s", argv[2]);
  } else if (argc == 1) {
    char dir_template[] = "/tmp/jfs-hello-XXXXXX";
    if (mkdtemp(dir_template) == NULL) {
      perror("mkdtemp");
      return 1;
    }
    snprintf(meta_url, sizeof(meta_url), "sqlite3://%s/meta.db", dir_template);
    snprintf(bucket, sizeof(bucket), "%s/bucket", dir_template);
  } else {
    fprintf(stderr, "usage: %s [META-URL BUCKET-DIR]\n", argv[0]);
    return 2;
  }
  printf("libjuicefs %s, volume %s\n", jfs_version(), meta_url);

  rc = jfs_open_volume(meta_url, NULL, &fs);
  if (rc == -ENOENT) { /* no volume there yet: format one */
    jfs_format_options_t opts;
    jfs_format_options_init(&opts);
    opts.storage = "file";
    opts.bucket = bucket;
    if (Failed("jfs_format", jfs_format(meta_url, "hello", &opts), NULL)) return 1;
    printf("formatted volume \"hello\" (data in %s)\n", bucket);
    rc = jfs_open_volume(meta_url, NULL, &fs);
  }
  if (Failed("jfs_open_volume", rc, NULL)) return 1;

  if (Failed("jfs_mkdir_all", jfs_mkdir_all(fs, "/hello", 0755), fs)) goto fail;

  if (Failed("jfs_create", jfs_create(fs, "/hello/greeting.txt", 0644, &f), fs)) goto fail;
  n = jfs_write(f, greeting, strlen(greeting));
  rc = jfs_close(f); /* makes the data visible to every client */
  if (Failed("jfs_write", n, fs) || Failed("jfs_close", rc, fs)) goto fail;

  if (Failed("jfs_open", jfs_open(fs, "/hello/greeting.txt", O_RDONLY, 0, &f), fs)) goto fail;
  n = jfs_read(f, buf, sizeof(buf) - 1);
  jfs_close(f);
  if (Failed("jfs_read", n, fs)) goto fail;
  buf[n] = '\0';
  printf("read back %" PRId64 " bytes: %s", n, buf);

  if (Failed("jfs_opendir", jfs_opendir(fs, "/hello", &dir), fs)) goto fail;
  printf("entries of /hello:\n");
  while ((rc = jfs_readdir(dir, &entry)) == 1) {
    printf("  %-20s inode %-6" PRIu64 " %8" PRIu64 " bytes  mode %06o\n", entry->name,
           entry->stat.ino, entry->stat.size, (unsigned)entry->stat.mode);
  }
  jfs_closedir(dir);
  if (Failed("jfs_readdir", rc, fs)) goto fail;

  if (Failed("jfs_stat", jfs_stat(fs, "/hello/greeting.txt", &st), fs)) goto fail;
  printf("stat /hello/greeting.txt: inode %" PRIu64 ", size %" PRIu64
         ", mode %o, uid %u, gid %u,"
         " nlink %u, mtime %" PRId64 ".%09" PRId64 "\n",
         st.ino, st.size, (unsigned)st.mode, (unsigned)st.uid, (unsigned)st.gid, (unsigned)st.nlink,
         st.mtime.sec, st.mtime.nsec);

  return Failed("jfs_close_volume", jfs_close_volume(fs), NULL);

fail:
  jfs_close_volume(fs);
  return 1;
}
