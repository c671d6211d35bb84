/* Fuzz target for the agent's filesystem server (agent/fs*.c): each input is a program of fs
 * requests, data chunks and client disconnects, on the ids of two relay clients, against a
 * scratch root that holds escaping symlinks ("../outside", an absolute path to it, a /proc
 * magic link) next to ordinary files. Requests go through the real codec (encoded, then
 * decoded) and the server's replies are discarded. After every input the directory beside
 * the root must be exactly as it was: a request that read or wrote through an escape would
 * show there (or as a sanitizer report). Copy/RemoveDir run inline (no fork).
 *
 * Input grammar, byte by byte: an opcode, then per op a client/id byte, path selectors (a
 * byte < 0xE0 picks a path from the table, otherwise a length byte and that many bytes are a
 * fuzzer-made path), a handle selector and small numbers.
 *
 * FUZZ_SOURCES is read by tests/fuzz/run.sh. */
// FUZZ_SOURCES: agent/fs.c agent/fs_handles.c agent/fs_jobs.c agent/fs_ops.c agent/fs_path.c
// FUZZ_SOURCES: agent/channel.c agent/queue.c agent/watch.c
// FUZZ_SOURCES: proto/arena.c proto/cbor.c proto/envelope.c proto/frame.c
// FUZZ_SOURCES: proto/msg_bootstrap.c proto/msg_core.c proto/msg_exec.c
// FUZZ_SOURCES: proto/msg_fs_request.c proto/msg_fs_response.c proto/msg_tcp.c
// FUZZ_SOURCES: proto/payload_read.c proto/payload_write.c proto/types.c
// FUZZ_SOURCES: common/buf.c common/util.c common/error.c common/tree_copy.c

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/fs.h"
#include "agent/fs_internal.h"
#include "common/util.h"

static msb_agent agent;
static char base[64];
static char root[128];
static char outside[128];
static unsigned inputs_since_reset;
/* Copies of a tree into itself double it each time: a few per input keep inputs fast. */
static unsigned copies_left;

static const char *const paths[] = {
  "/", "/a", "/a/b", "/a/b/c", "/file", "/empty", "/dir", "/dir/x", "/up", "/up/canary",
  "/abs", "/abs/canary", "/magic", "/magic/outside/canary", "../../outside/canary", "..",
  "/a/../../..", "/loop", "/loop/x", "/new", "/new/deeper/file", "/dir/../file", "//a//b/",
  "/a/b/../../file", "/copy", "/copy/a", "/file/x", "/proc/self/root", ".", "",
};
#define N_PATHS (sizeof paths / sizeof paths[0])

typedef struct reader
{
  const uint8_t *p;
  size_t n;
} reader;

static unsigned
byte (reader *r)
{
  if (r->n == 0)
    return 0;
  r->n--;
  return *r->p++;
}

/* A path from the table, or fuzzer bytes (NUL-free, at most 96 bytes). */
static char *
path (reader *r, char *buf, size_t len)
{
  unsigned b = byte (r);
  if (b < 0xE0)
    {
      snprintf (buf, len, "%s", paths[b % N_PATHS]);
      return buf;
    }
  size_t n = byte (r) % 96;
  size_t k = 0;
  while (n-- > 0 && r->n > 0 && k + 1 < len)
    {
      char c = (char) byte (r);
      if (c != '\0')
        buf[k++] = c;
    }
  buf[k] = '\0';
  return buf;
}

static uint32_t
id_of (unsigned b)
{
  /* Two relay clients: slot 0 and slot 1, a few ids each (ids collide on purpose). */
  return (b & 0x80 ? MSB_RELAY_ID_STEP : 0) + 1 + (b & 0x0F);
}

static uint64_t
handle_of (unsigned b)
{
  uint64_t next = agent.fs->next_handle;
  uint64_t back = b % 6;
  return back < next ? next - back : b;
}

/* The server sees what it would see from the wire: encode, then decode. */
static void
deliver (uint32_t id, msb_msg *m)
{
  msb_buf body = MSB_BUF_INIT;
  m->generation = MSB_PROTO_GENERATION;
  msb_msg_encode_body (&body, m);
  msb_msg d;
  msb_proto_error_kind perr;
  if (msb_msg_decode (body.data, body.len, &d, &perr, NULL, 0) == 0)
    {
      if (d.type == MSB_MSG_FS_REQUEST)
        agent_fs_on_request (&agent, id, &d.u.fs_request);
      else if (d.type == MSB_MSG_FS_DATA)
        agent_fs_on_data (&agent, id, d.u.data.data.data, d.u.data.data.len);
    }
  msb_msg_clear (&d);
  msb_buf_free (&body);
}

static void
drain (void)
{
  for (int i = 0; i < 64; i++)
    {
      agent_queue_free (&agent.channel.out);
      if (!agent_fs_pump (&agent))
        break;
    }
  agent_queue_free (&agent.channel.out);
}

static void
one_op (reader *r)
{
  char p1[128], p2[128];
  unsigned op = byte (r) % 22;
  uint32_t id = id_of (byte (r));
  msb_msg m = { .type = MSB_MSG_FS_REQUEST };
  msb_msg_fs_request *q = &m.u.fs_request;
  switch (op)
    {
    case 0: q->op = MSB_FS_OP_REAL_PATH; q->path = path (r, p1, sizeof p1); break;
    case 1: q->op = MSB_FS_OP_STAT; q->path = path (r, p1, sizeof p1); q->follow_symlink = byte (r) & 1; break;
    case 2:
      q->op = MSB_FS_OP_SET_STAT;
      q->path = path (r, p1, sizeof p1);
      q->follow_symlink = byte (r) & 1;
      q->attrs.has_mode = byte (r) & 1;
      q->attrs.mode = 0600 | (byte (r) & 077);
      q->attrs.has_size = byte (r) & 1;
      q->attrs.size = byte (r);
      q->attrs.has_mtime = byte (r) & 1;
      q->attrs.mtime = byte (r) * 1000000;
      break;
    case 3: q->op = MSB_FS_OP_LIST; q->path = path (r, p1, sizeof p1); break;
    case 4: q->op = MSB_FS_OP_READ_LINK; q->path = path (r, p1, sizeof p1); break;
    case 5: q->op = MSB_FS_OP_SYMLINK; q->target = path (r, p1, sizeof p1); q->link_path = path (r, p2, sizeof p2); break;
    case 6: q->op = MSB_FS_OP_MKDIR; q->path = path (r, p1, sizeof p1); break;
    case 7: q->op = MSB_FS_OP_REMOVE; q->path = path (r, p1, sizeof p1); break;
    case 8: q->op = MSB_FS_OP_REMOVE_DIR; q->path = path (r, p1, sizeof p1); q->recursive = byte (r) & 1; break;
    case 9:
      q->op = MSB_FS_OP_COPY;
      q->src = path (r, p1, sizeof p1);
      q->dst = path (r, p2, sizeof p2);
      if (copies_left == 0)
        return;
      copies_left--;
      break;
    case 10: q->op = MSB_FS_OP_RENAME; q->src = path (r, p1, sizeof p1); q->dst = path (r, p2, sizeof p2); break;
    case 11:
    case 12:
      {
        unsigned f = byte (r);
        q->op = MSB_FS_OP_OPEN_FILE;
        q->path = path (r, p1, sizeof p1);
        q->open = (msb_fs_open_options){ .read = f & 1, .write = f & 2, .append = f & 4,
                                         .create = f & 8, .truncate = f & 16,
                                         .create_new = f & 32 };
        break;
      }
    case 13: q->op = MSB_FS_OP_OPEN_DIR; q->path = path (r, p1, sizeof p1); break;
    case 14: q->op = MSB_FS_OP_CLOSE_HANDLE; q->handle = handle_of (byte (r)); break;
    case 15:
    case 16:
      q->op = op == 15 ? MSB_FS_OP_READ : MSB_FS_OP_WRITE;
      q->handle = handle_of (byte (r));
      q->offset = byte (r) * 97u;
      q->has_len = byte (r) & 1;
      q->len = byte (r) * 13u;
      break;
    case 17: q->op = MSB_FS_OP_READ_DIR; q->handle = handle_of (byte (r)); q->has_limit = true; q->limit = byte (r); break;
    case 18: q->op = MSB_FS_OP_FSTAT; q->handle = handle_of (byte (r)); break;
    case 19:
      q->op = MSB_FS_OP_FSET_STAT;
      q->handle = handle_of (byte (r));
      q->attrs.has_size = true;
      q->attrs.size = byte (r) * 31u;
      break;
    case 20:
      {
        /* A data chunk for a write stream (length 0 ends it). */
        msb_msg d = { .type = MSB_MSG_FS_DATA };
        uint8_t chunk[256];
        size_t n = byte (r) % sizeof chunk;
        for (size_t i = 0; i < n; i++)
          chunk[i] = (uint8_t) byte (r);
        d.u.data.data = (msb_bytes){ chunk, n };
        deliver (id, &d);
        return;
      }
    default:
      agent_fs_forget_range (&agent, id < MSB_RELAY_ID_STEP ? 1 : MSB_RELAY_ID_STEP + 1,
                             id < MSB_RELAY_ID_STEP ? MSB_RELAY_ID_STEP : 2 * MSB_RELAY_ID_STEP);
      return;
    }
  deliver (id, &m);
}

static void
make_root (void)
{
  char cmd[2048];
  snprintf (cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s/a/b/c' '%s/dir' '%s/proc' && "
                             "printf content > '%s/file' && : > '%s/empty' && "
                             "ln -s ../outside '%s/up' && ln -s '%s' '%s/abs' && "
                             "ln -s /proc/self/root%s '%s/magic' && ln -s loop '%s/loop'",
            root, root, root, root, root, root, root, outside, root, base, root, root);
  if (system (cmd) != 0)
    abort ();
}

static void
check_outside (void)
{
  char path[256];
  snprintf (path, sizeof path, "%s/canary", outside);
  FILE *f = fopen (path, "r");
  char buf[32] = "";
  if (f == NULL || fgets (buf, sizeof buf, f) == NULL || strcmp (buf, "canary") != 0)
    {
      fprintf (stderr, "fuzz_agent_fs: the canary outside the root changed\n");
      abort ();
    }
  fclose (f);
  struct stat st;
  if (stat (path, &st) != 0 || st.st_size != 6 || (st.st_mode & 07777) != 0644)
    abort ();
  DIR *d = opendir (outside);
  struct dirent *de;
  while (d && (de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && strcmp (de->d_name, "canary"))
      {
        fprintf (stderr, "fuzz_agent_fs: `%s` appeared outside the root\n", de->d_name);
        abort ();
      }
  if (d)
    closedir (d);
  snprintf (path, sizeof path, "%s", base);
  d = opendir (base);
  while (d && (de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") && strcmp (de->d_name, "..") && strcmp (de->d_name, "root")
        && strcmp (de->d_name, "outside"))
      {
        fprintf (stderr, "fuzz_agent_fs: `%s` appeared beside the root\n", de->d_name);
        abort ();
      }
  if (d)
    closedir (d);
}

static void
remove_scratch (void)
{
  char cmd[256];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", base);
  (void) !system (cmd);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  snprintf (base, sizeof base, "/tmp/fuzz-agent-fs-%d", (int) getpid ());
  snprintf (root, sizeof root, "%s/root", base);
  snprintf (outside, sizeof outside, "%s/outside", base);
  mkdir (base, 0755);
  mkdir (outside, 0755);
  char path[256];
  snprintf (path, sizeof path, "%s/canary", outside);
  FILE *f = fopen (path, "w");
  fputs ("canary", f);
  fclose (f);
  chmod (path, 0644);
  make_root ();
  atexit (remove_scratch);
  agent_channel_init (&agent.channel, -1);
  setenv ("MSB_AGENT_FS_ROOT", root, 1);
  if (agent_fs_init (&agent, NULL) < 0)
    abort ();
  agent.fs->is_inline_jobs = true;
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  copies_left = 2;
  if (++inputs_since_reset > 200)
    {
      inputs_since_reset = 0;
      make_root ();
    }
  reader r = { data, size };
  for (int ops = 0; r.n > 0 && ops < 64; ops++)
    {
      one_op (&r);
      drain ();
    }
  /* Both clients leave: every handle and stream is dropped before the next input. */
  agent_fs_forget_range (&agent, 1, MSB_RELAY_ID_STEP);
  agent_fs_forget_range (&agent, MSB_RELAY_ID_STEP + 1, 2 * MSB_RELAY_ID_STEP);
  agent_queue_free (&agent.channel.out);
  check_outside ();
  return 0;
}
