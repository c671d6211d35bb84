/* The agent's filesystem server (API.md §3.7), spoken to over the wire like the host does.
 * The agent runs on the host with MSB_AGENT_FS_ROOT pointing at a scratch directory, which
 * stands in for the sandbox root: every escape test checks that nothing outside it is read
 * or written. */
#include <dirent.h>
#include <ftw.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "tests/unit/agent/agent_harness.h"

static char root[PATH_MAX];
static char outside[PATH_MAX]; /* a sibling of the root: "the host" */

static int
rm_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
  (void) st;
  (void) flag;
  (void) ftw;
  return remove (path);
}

static void
rm_tree (const char *path)
{
  nftw (path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
write_host_file (const char *dir, const char *rel, const char *content)
{
  char path[PATH_MAX * 2];
  snprintf (path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen (path, "w");
  fputs (content, f);
  fclose (f);
}

static char *
read_host_file (const char *dir, const char *rel)
{
  char path[PATH_MAX * 2];
  snprintf (path, sizeof path, "%s/%s", dir, rel);
  FILE *f = fopen (path, "r");
  if (f == NULL)
    return NULL;
  static char buf[65536];
  size_t n = fread (buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose (f);
  return buf;
}

/* A fresh root with /etc/passwd and an outside "host" file, and an agent serving it. */
static int
boot_fs (agent_proc *ap)
{
  rm_tree (root);
  rm_tree (outside);
  mkdir (root, 0755);
  mkdir (outside, 0755);
  char etc[PATH_MAX + 8];
  snprintf (etc, sizeof etc, "%s/etc", root);
  mkdir (etc, 0755);
  write_host_file (root, "etc/passwd", "sandbox-passwd\n");
  write_host_file (outside, "secret", "host-secret\n");
  setenv ("MSB_AGENT_FS_ROOT", root, 1);
  int r = agent_boot (ap);
  unsetenv ("MSB_AGENT_FS_ROOT");
  return r;
}

/* ---- a tiny fs client ------------------------------------------------------------------ */

static uint32_t next_id = 100;

/* Sends `req` on a new id and waits for its terminal frame (response or core.error). */
static int
fs_call_on (agent_proc *ap, uint32_t id, msb_msg_fs_request *req, rx_frame *out)
{
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  m.u.fs_request = *req;
  agent_send (ap, id, &m);
  for (;;)
    {
      if (agent_recv (ap, 10000, out) != 1)
        return -1;
      if (out->id == id && (out->flags & MSB_FLAG_TERMINAL))
        return out->decode_rc;
      rx_clear (out);
    }
}

static int
fs_call (agent_proc *ap, msb_msg_fs_request *req, rx_frame *out)
{
  return fs_call_on (ap, next_id++, req, out);
}

static bool
fs_ok (agent_proc *ap, msb_msg_fs_request *req)
{
  rx_frame f;
  if (fs_call (ap, req, &f) < 0)
    return false;
  bool ok = f.m.type == MSB_MSG_FS_RESPONSE && f.m.u.fs_response.ok;
  if (!ok && f.m.type == MSB_MSG_FS_RESPONSE)
    fprintf (stderr, "    agent said: %s\n", f.m.u.fs_response.error);
  rx_clear (&f);
  return ok;
}

/* The error text of a failed request ("" if it succeeded). */
static const char *
fs_error (agent_proc *ap, msb_msg_fs_request *req)
{
  static char text[1024];
  rx_frame f;
  text[0] = '\0';
  if (fs_call (ap, req, &f) < 0)
    return "(no reply)";
  if (f.m.type == MSB_MSG_FS_RESPONSE && !f.m.u.fs_response.ok)
    snprintf (text, sizeof text, "%s", f.m.u.fs_response.error ? f.m.u.fs_response.error : "?");
  else if (f.m.type == MSB_MSG_ERROR)
    snprintf (text, sizeof text, "core.error: %s", f.m.u.error.message);
  rx_clear (&f);
  return text;
}

static int64_t
fs_open_on (agent_proc *ap, uint32_t id, const char *path, bool write)
{
  msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_FILE, .path = (char *) path };
  req.open.read = !write;
  req.open.write = req.open.create = req.open.truncate = write;
  rx_frame f;
  int64_t h = -1;
  if (fs_call_on (ap, id, &req, &f) == 0 && f.m.u.fs_response.ok
      && f.m.u.fs_response.kind == MSB_FS_RESP_HANDLE)
    h = (int64_t) f.m.u.fs_response.handle;
  rx_clear (&f);
  return h;
}

static void
fs_close (agent_proc *ap, int64_t h)
{
  msb_msg_fs_request req = { .op = MSB_FS_OP_CLOSE_HANDLE, .handle = (uint64_t) h };
  fs_ok (ap, &req);
}

/* Writes `len` bytes of `data` in chunks of `chunk`. */
static bool
fs_write_file (agent_proc *ap, const char *path, const uint8_t *data, size_t len, size_t chunk)
{
  int64_t h = fs_open_on (ap, next_id++, path, true);
  if (h < 0)
    return false;
  uint32_t id = next_id++;
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  m.u.fs_request.op = MSB_FS_OP_WRITE;
  m.u.fs_request.handle = (uint64_t) h;
  agent_send (ap, id, &m);
  for (size_t off = 0;; off += chunk)
    {
      size_t n = off >= len ? 0 : len - off < chunk ? len - off : chunk;
      msb_msg d = { .type = MSB_MSG_FS_DATA };
      d.u.data.data = (msb_bytes){ data + (off < len ? off : 0), n };
      agent_send (ap, id, &d);
      if (n == 0)
        break;
      /* Let the agent's replies drain so neither side blocks on a full socket. */
      rx_frame f;
      while (agent_recv (ap, 0, &f) == 1)
        rx_clear (&f);
    }
  rx_frame f;
  bool ok = false;
  while (agent_recv (ap, 20000, &f) == 1)
    {
      bool done = f.id == id && (f.flags & MSB_FLAG_TERMINAL);
      if (done)
        ok = f.m.type == MSB_MSG_FS_RESPONSE && f.m.u.fs_response.ok;
      rx_clear (&f);
      if (done)
        break;
    }
  fs_close (ap, h);
  return ok;
}

/* Reads the whole file; returns -1 on error (error text in errbuf). */
static ssize_t
fs_read_file (agent_proc *ap, const char *path, msb_buf *out, char *errbuf, size_t errlen)
{
  int64_t h = fs_open_on (ap, next_id++, path, false);
  if (h < 0)
    {
      msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_FILE, .path = (char *) path };
      req.open.read = true;
      if (errbuf)
        snprintf (errbuf, errlen, "%s", fs_error (ap, &req));
      return -1;
    }
  uint32_t id = next_id++;
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  m.u.fs_request.op = MSB_FS_OP_READ;
  m.u.fs_request.handle = (uint64_t) h;
  agent_send (ap, id, &m);
  ssize_t r = -1;
  rx_frame f;
  while (agent_recv (ap, 20000, &f) == 1)
    {
      if (f.id == id && f.m.type == MSB_MSG_FS_DATA)
        {
          if (f.m.u.data.data.len > MSB_DATA_CHUNK_MAX)
            fprintf (stderr, "    chunk of %zu bytes\n", f.m.u.data.data.len);
          msb_buf_append (out, f.m.u.data.data.data, f.m.u.data.data.len);
        }
      bool done = f.id == id && (f.flags & MSB_FLAG_TERMINAL);
      if (done)
        r = f.m.type == MSB_MSG_FS_RESPONSE && f.m.u.fs_response.ok ? (ssize_t) out->len : -1;
      rx_clear (&f);
      if (done)
        break;
    }
  fs_close (ap, h);
  return r;
}

static void
fill_pattern (uint8_t *p, size_t n, uint32_t seed)
{
  for (size_t i = 0; i < n; i++)
    {
      seed = seed * 1103515245u + 12345u;
      p[i] = (uint8_t) (seed >> 16);
    }
}

/* ---- tests ---------------------------------------------------------------------------- */

TEST (test_fs_round_trip_sizes)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  const size_t sizes[] = { 0, 1, MSB_DATA_CHUNK_MAX + 1, 20u << 20 };
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    {
      size_t n = sizes[i];
      uint8_t *data = malloc (n ? n : 1);
      fill_pattern (data, n, (uint32_t) i + 7);
      char path[64];
      snprintf (path, sizeof path, "/file-%zu", n);
      CHECK (fs_write_file (&ap, path, data, n, MSB_DATA_CHUNK_MAX));
      msb_buf got = MSB_BUF_INIT;
      CHECK_EQ_INT (fs_read_file (&ap, path, &got, NULL, 0), (long long) n);
      CHECK (got.len == n && (n == 0 || memcmp (got.data, data, n) == 0));
      msb_buf_free (&got);
      free (data);
    }
  agent_shutdown (&ap);
}

TEST (test_fs_stat_and_list_fields)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  write_host_file (root, "b.txt", "hello");
  char p[PATH_MAX * 2];
  snprintf (p, sizeof p, "%s/a-dir", root);
  mkdir (p, 0750);
  snprintf (p, sizeof p, "%s/c-link", root);
  CHECK (symlink ("/b.txt", p) == 0);

  msb_msg_fs_request req = { .op = MSB_FS_OP_STAT, .path = "/b.txt", .follow_symlink = true };
  rx_frame f;
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK (f.m.u.fs_response.ok && f.m.u.fs_response.kind == MSB_FS_RESP_STAT);
  CHECK_EQ_INT (f.m.u.fs_response.stat.kind, MSB_FS_KIND_FILE);
  CHECK_EQ_INT (f.m.u.fs_response.stat.size, 5);
  CHECK (S_ISREG (f.m.u.fs_response.stat.mode));
  CHECK (f.m.u.fs_response.stat.has_modified && f.m.u.fs_response.stat.modified > 1600000000);
  rx_clear (&f);

  req = (msb_msg_fs_request){ .op = MSB_FS_OP_STAT, .path = "/c-link", .follow_symlink = false };
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK_EQ_INT (f.m.u.fs_response.stat.kind, MSB_FS_KIND_SYMLINK);
  rx_clear (&f);
  req.follow_symlink = true;
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK_EQ_INT (f.m.u.fs_response.stat.kind, MSB_FS_KIND_FILE);
  rx_clear (&f);

  req = (msb_msg_fs_request){ .op = MSB_FS_OP_LIST, .path = "/" };
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK (f.m.u.fs_response.ok && f.m.u.fs_response.kind == MSB_FS_RESP_LIST);
  CHECK_EQ_INT (f.m.u.fs_response.n_entries, 4); /* a-dir b.txt c-link etc, sorted */
  if (f.m.u.fs_response.n_entries == 4)
    {
      CHECK_EQ_STR (f.m.u.fs_response.entries[0].path, "/a-dir");
      CHECK_EQ_INT (f.m.u.fs_response.entries[0].kind, MSB_FS_KIND_DIR);
      CHECK_EQ_INT (f.m.u.fs_response.entries[0].mode & 0777, 0750);
      CHECK_EQ_STR (f.m.u.fs_response.entries[1].path, "/b.txt");
      CHECK_EQ_INT (f.m.u.fs_response.entries[1].size, 5);
      CHECK_EQ_INT (f.m.u.fs_response.entries[2].kind, MSB_FS_KIND_SYMLINK);
    }
  rx_clear (&f);
  agent_shutdown (&ap);
}

TEST (test_fs_errors_name_their_cause)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  msb_msg_fs_request req = { .op = MSB_FS_OP_STAT, .path = "/missing", .follow_symlink = true };
  CHECK (strstr (fs_error (&ap, &req), "(ENOENT)") != NULL);
  char err[512] = "";
  msb_buf b = MSB_BUF_INIT;
  CHECK (fs_read_file (&ap, "/etc", &b, err, sizeof err) < 0);
  CHECK (strstr (err, "(EISDIR)") != NULL);
  CHECK (fs_read_file (&ap, "/nope/x", &b, err, sizeof err) < 0);
  CHECK (strstr (err, "(ENOENT)") != NULL);
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE, .path = "/etc" };
  CHECK (strstr (fs_error (&ap, &req), "(EISDIR)") != NULL);
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE_DIR, .path = "/" , .recursive = true };
  CHECK (strstr (fs_error (&ap, &req), "(EINVAL)") != NULL);
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_STAT, .path = "", .follow_symlink = true };
  CHECK (strstr (fs_error (&ap, &req), "(EINVAL)") != NULL);
  msb_buf_free (&b);
  agent_shutdown (&ap);
}

TEST (test_fs_escapes_stay_in_root)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  /* ".." walks stop at the root. */
  msb_buf b = MSB_BUF_INIT;
  char dotdot[PATH_MAX * 2];
  snprintf (dotdot, sizeof dotdot, "../../../../..%s/secret", outside);
  CHECK (fs_read_file (&ap, dotdot, &b, NULL, 0) < 0);
  CHECK (fs_read_file (&ap, "../../etc/passwd", &b, NULL, 0) > 0);
  b.len = 0;
  /* An absolute symlink resolves inside the root, for reads and for writes. */
  char link[PATH_MAX * 2];
  snprintf (link, sizeof link, "%s/to-host", root);
  CHECK (symlink (outside, link) == 0);
  snprintf (dotdot, sizeof dotdot, "/to-host/secret");
  CHECK (fs_read_file (&ap, dotdot, &b, NULL, 0) < 0);
  snprintf (link, sizeof link, "%s/shadow-link", root);
  CHECK (symlink ("/etc/passwd", link) == 0);
  CHECK (fs_read_file (&ap, "/shadow-link", &b, NULL, 0) > 0);
  msb_buf_append_byte (&b, 0);
  CHECK_EQ_STR ((char *) b.data, "sandbox-passwd\n");
  b.len = 0;
  char outside_target[PATH_MAX * 2];
  snprintf (outside_target, sizeof outside_target, "%s/secret", outside);
  snprintf (link, sizeof link, "%s/write-link", root);
  CHECK (symlink (outside_target, link) == 0);
  /* The link's target does not exist inside the root: the write fails instead of escaping. */
  CHECK (!fs_write_file (&ap, "/write-link", (const uint8_t *) "pwned", 5, 5));
  CHECK_EQ_STR (read_host_file (outside, "secret"), "host-secret\n");
  /* /proc magic links are refused rather than followed out of the root. */
  char magic[PATH_MAX * 2];
  snprintf (magic, sizeof magic, "/proc/self/root%s/secret", outside);
  char proc[PATH_MAX * 2];
  snprintf (proc, sizeof proc, "%s/proc", root);
  mkdir (proc, 0755);
  mount ("proc", proc, "proc", 0, NULL);
  CHECK (fs_read_file (&ap, magic, &b, NULL, 0) < 0);
  umount2 (proc, MNT_DETACH);
  /* Mkdir and remove through an escaping link never touch the host directory. */
  msb_msg_fs_request req = { .op = MSB_FS_OP_MKDIR, .path = "/to-host/made" };
  CHECK (strstr (fs_error (&ap, &req), "(ENOENT)") != NULL);
  char made[PATH_MAX * 2];
  snprintf (made, sizeof made, "%s/made", outside);
  struct stat st;
  CHECK (stat (made, &st) < 0);
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE, .path = "/to-host/secret" };
  CHECK (strstr (fs_error (&ap, &req), "(ENOENT)") != NULL);
  CHECK_EQ_STR (read_host_file (outside, "secret"), "host-secret\n");
  msb_buf_free (&b);
  agent_shutdown (&ap);
}

TEST (test_fs_tree_operations)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  msb_msg_fs_request req = { .op = MSB_FS_OP_MKDIR, .path = "/a/b/c" };
  CHECK (fs_ok (&ap, &req));
  CHECK (fs_ok (&ap, &req)); /* idempotent */
  CHECK (fs_write_file (&ap, "/a/b/c/f", (const uint8_t *) "data", 4, 4));
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_SYMLINK, .target = "/etc/passwd", .link_path = "/a/b/l" };
  CHECK (fs_ok (&ap, &req));
  rx_frame f;
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_READ_LINK, .path = "/a/b/l" };
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK_EQ_STR (f.m.u.fs_response.path, "/etc/passwd");
  rx_clear (&f);
  /* Copy a tree: the symlink stays a symlink. */
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_COPY, .src = "/a", .dst = "/copy" };
  CHECK (fs_ok (&ap, &req));
  CHECK_EQ_STR (read_host_file (root, "copy/b/c/f"), "data");
  char p[PATH_MAX * 2], t[PATH_MAX];
  snprintf (p, sizeof p, "%s/copy/b/l", root);
  ssize_t n = readlink (p, t, sizeof t - 1);
  CHECK (n == 11 && memcmp (t, "/etc/passwd", 11) == 0);
  /* A copy into itself terminates. */
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_COPY, .src = "/a", .dst = "/a/inner" };
  CHECK (fs_ok (&ap, &req));
  CHECK_EQ_STR (read_host_file (root, "a/inner/b/c/f"), "data");
  snprintf (p, sizeof p, "%s/a/inner/inner", root);
  struct stat st;
  CHECK (stat (p, &st) < 0);
  /* Rename, real path, remove, recursive remove. */
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_RENAME, .src = "/copy", .dst = "/moved" };
  CHECK (fs_ok (&ap, &req));
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REAL_PATH, .path = "/moved/b/../b/c" };
  CHECK (fs_call (&ap, &req, &f) == 0);
  CHECK_EQ_STR (f.m.u.fs_response.path, "/moved/b/c");
  rx_clear (&f);
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE, .path = "/moved/b/c/f" };
  CHECK (fs_ok (&ap, &req));
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_REMOVE_DIR, .path = "/moved", .recursive = false };
  CHECK (strstr (fs_error (&ap, &req), "(ENOTEMPTY)") != NULL);
  req.recursive = true;
  CHECK (fs_ok (&ap, &req));
  snprintf (p, sizeof p, "%s/moved", root);
  CHECK (lstat (p, &st) < 0);
  /* SetStat. */
  req = (msb_msg_fs_request){ .op = MSB_FS_OP_SET_STAT, .path = "/a/b/c/f", .follow_symlink = true };
  req.attrs.has_mode = true;
  req.attrs.mode = 0600;
  req.attrs.has_mtime = true;
  req.attrs.mtime = 1000000000;
  CHECK (fs_ok (&ap, &req));
  snprintf (p, sizeof p, "%s/a/b/c/f", root);
  CHECK (stat (p, &st) == 0 && (st.st_mode & 0777) == 0600 && st.st_mtime == 1000000000);
  agent_shutdown (&ap);
}

TEST (test_fs_handles_belong_to_their_client)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  uint32_t slot0 = 5, slot1 = MSB_RELAY_ID_STEP + 5;
  int64_t h = fs_open_on (&ap, slot0, "/etc/passwd", false);
  CHECK (h > 0);
  /* Another client naming the same handle number gets nothing. */
  msb_msg_fs_request req = { .op = MSB_FS_OP_FSTAT, .handle = (uint64_t) h };
  rx_frame f;
  CHECK (fs_call_on (&ap, slot1, &req, &f) == 0);
  CHECK (!f.m.u.fs_response.ok && strstr (f.m.u.fs_response.error, "(EBADF)"));
  rx_clear (&f);
  CHECK (fs_call_on (&ap, slot0 + 1, &req, &f) == 0);
  CHECK (f.m.u.fs_response.ok && f.m.u.fs_response.stat.size == 15);
  rx_clear (&f);
  /* The client's disconnection closes its handles. */
  msb_msg d = { .type = MSB_MSG_RELAY_CLIENT_DISCONNECTED };
  d.u.relay_client_disconnected.id_start = 1;
  d.u.relay_client_disconnected.id_end_exclusive = MSB_RELAY_ID_STEP;
  agent_send (&ap, 0, &d);
  CHECK (fs_call_on (&ap, slot0 + 2, &req, &f) == 0);
  CHECK (!f.m.u.fs_response.ok);
  rx_clear (&f);
  agent_shutdown (&ap);
}

TEST (test_fs_handle_limit_per_client)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  int opened = 0;
  for (int i = 0; i < 1030; i++)
    opened += fs_open_on (&ap, (uint32_t) (1000 + i), "/etc/passwd", false) > 0;
  CHECK_EQ_INT (opened, 1024);
  /* Other clients are not affected. */
  CHECK (fs_open_on (&ap, 2 * MSB_RELAY_ID_STEP + 1, "/etc/passwd", false) > 0);
  agent_shutdown (&ap);
}

TEST (test_fs_read_dir_pages)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  char p[PATH_MAX * 2];
  snprintf (p, sizeof p, "%s/many", root);
  mkdir (p, 0755);
  for (int i = 0; i < 300; i++)
    {
      char rel[64];
      snprintf (rel, sizeof rel, "many/f%03d", i);
      write_host_file (root, rel, "x");
    }
  msb_msg_fs_request req = { .op = MSB_FS_OP_OPEN_DIR, .path = "/many" };
  rx_frame f;
  CHECK (fs_call (&ap, &req, &f) == 0);
  uint64_t h = f.m.u.fs_response.handle;
  rx_clear (&f);
  size_t total = 0;
  for (int pages = 0; pages < 10; pages++)
    {
      req = (msb_msg_fs_request){ .op = MSB_FS_OP_READ_DIR, .handle = h, .has_limit = true, .limit = 128 };
      CHECK (fs_call (&ap, &req, &f) == 0);
      size_t n = f.m.u.fs_response.n_entries;
      if (n > 0)
        CHECK (strncmp (f.m.u.fs_response.entries[0].path, "/many/f", 7) == 0);
      rx_clear (&f);
      total += n;
      if (n == 0)
        break;
    }
  CHECK_EQ_INT (total, 300);
  agent_shutdown (&ap);
}

TEST (test_fs_exec_works_during_a_large_read)
{
  agent_proc ap;
  CHECK (boot_fs (&ap) == 0);
  size_t n = 64u << 20;
  uint8_t *data = malloc (n);
  fill_pattern (data, n, 3);
  CHECK (fs_write_file (&ap, "/big", data, n, MSB_DATA_CHUNK_MAX));
  free (data);
  int64_t h = fs_open_on (&ap, next_id++, "/big", false);
  uint32_t rid = next_id++;
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  m.u.fs_request.op = MSB_FS_OP_READ;
  m.u.fs_request.handle = (uint64_t) h;
  agent_send (&ap, rid, &m);
  /* An exec started behind the read finishes while the read is still streaming. */
  exec_result r = { .id = next_id++ };
  exec_opts o = { .cmd = "echo", .args = { "hi", NULL } };
  exec_send (&ap, r.id, &o);
  size_t got = 0;
  bool read_done = false, exec_done_first = false;
  rx_frame f;
  while (!(read_done && r.is_done) && agent_recv (&ap, 20000, &f) == 1)
    {
      if (f.id == rid && f.m.type == MSB_MSG_FS_DATA)
        got += f.m.u.data.data.len;
      if (f.id == rid && (f.flags & MSB_FLAG_TERMINAL))
        read_done = true;
      if (f.id == r.id)
        {
          exec_apply (&r, &f);
          if (r.is_done && !read_done)
            exec_done_first = true;
        }
      rx_clear (&f);
    }
  CHECK_EQ_INT (got, n);
  CHECK (r.is_exited && r.code == 0);
  CHECK (exec_done_first);
  exec_result_free (&r);
  agent_shutdown (&ap);
}

int
main (int argc, char **argv)
{
  if (geteuid () != 0)
    {
      printf ("1..0 # SKIP needs root (mounts /proc in the scratch root)\n");
      return 77;
    }
  snprintf (root, sizeof root, "/tmp/msb-agent-fs-%d/root", (int) getpid ());
  snprintf (outside, sizeof outside, "/tmp/msb-agent-fs-%d/host", (int) getpid ());
  char base[PATH_MAX];
  snprintf (base, sizeof base, "/tmp/msb-agent-fs-%d", (int) getpid ());
  mkdir (base, 0755);
  static const msb_test_case cases[] = {
    TEST_ENTRY (test_fs_round_trip_sizes),
    TEST_ENTRY (test_fs_stat_and_list_fields),
    TEST_ENTRY (test_fs_errors_name_their_cause),
    TEST_ENTRY (test_fs_escapes_stay_in_root),
    TEST_ENTRY (test_fs_tree_operations),
    TEST_ENTRY (test_fs_handles_belong_to_their_client),
    TEST_ENTRY (test_fs_handle_limit_per_client),
    TEST_ENTRY (test_fs_read_dir_pages),
    TEST_ENTRY (test_fs_exec_works_during_a_large_read),
  };
  int r = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  rm_tree (base);
  return r;
}
