/* fs_bench: moving SIZE MiB between the host and a running sandbox, three ways:
 *   api    msb_fs_write / msb_fs_read streams (core.fs.* through the relay)
 *   exec   `cat > f` / `cat f` through msb_exec with piped stdin / captured stdout
 *   bind   a bind volume: the host writes or reads the file in the shared directory
 * Each is run RUNS times; the median throughput (MB/s, 10^6 bytes) is printed as a markdown
 * table row per method, and as JSON with --json. The page cache is warm throughout: this
 * measures the transport, not the disk.
 *
 * usage: fs_bench --bind DIR [--size-mib N] [--runs N] [--json]   (MSB_HOME must hold
 * local/busybox:latest; needs root) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <msb/msb.h>

#define CHUNK (1u << 20)
#define MAX_RUNS 50

static double
now_s (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
die (const char *what, msb_error *e)
{
  fprintf (stderr, "fs_bench: %s: %s\n", what, e ? msb_error_get_message (e) : "failed");
  exit (1);
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
median (double *v, int n)
{
  qsort (v, (size_t) n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint8_t *chunk;
static uint64_t total;

static double
api_write (msb_sandbox *sb)
{
  msb_error *e = NULL;
  msb_fs_writer *w = NULL;
  double t0 = now_s ();
  if (msb_fs_write_open (sb, "/tmp/api.bin", &w, &e) < 0)
    die ("api write open", e);
  for (uint64_t off = 0; off < total; off += CHUNK)
    if (msb_fs_write_chunk (w, chunk, CHUNK, &e) < 0)
      die ("api write", e);
  if (msb_fs_write_close (w, &e) < 0)
    die ("api write close", e);
  return now_s () - t0;
}

static double
api_read (msb_sandbox *sb)
{
  msb_error *e = NULL;
  msb_fs_reader *r = NULL;
  double t0 = now_s ();
  if (msb_fs_read_open (sb, "/tmp/api.bin", &r, &e) < 0)
    die ("api read open", e);
  const uint8_t *data;
  size_t len, got = 0;
  int rc;
  while ((rc = msb_fs_read_next (r, &data, &len, &e)) == 1)
    got += len;
  if (rc < 0 || got != total)
    die ("api read", e);
  msb_fs_read_close (r);
  return now_s () - t0;
}

static void
wait_exit (msb_exec *ex, size_t *stdout_bytes)
{
  msb_exec_event ev;
  msb_error *e = NULL;
  int rc;
  while ((rc = msb_exec_next (ex, &ev, -1, &e)) == 1)
    {
      if (ev.type == MSB_EXEC_EVENT_STDOUT && stdout_bytes)
        *stdout_bytes += ev.len;
      if (ev.type == MSB_EXEC_EVENT_FAILED || (ev.type == MSB_EXEC_EVENT_EXITED && ev.code != 0))
        die ("exec", NULL);
    }
  if (rc < 0)
    die ("exec", e);
}

static double
exec_write (msb_sandbox *sb)
{
  msb_error *e = NULL;
  msb_exec *ex = NULL;
  const char *args[] = { "-c", "cat > /tmp/exec.bin", NULL };
  msb_exec_opts o = { .size = sizeof o, .stdin_mode = MSB_STDIN_PIPE };
  double t0 = now_s ();
  if (msb_exec_start (sb, "/bin/sh", args, &o, &ex, &e) < 0)
    die ("exec write start", e);
  for (uint64_t off = 0; off < total; off += CHUNK)
    if (msb_exec_write_stdin (ex, chunk, CHUNK, &e) < 0)
      die ("exec write stdin", e);
  if (msb_exec_close_stdin (ex, &e) < 0)
    die ("exec close stdin", e);
  wait_exit (ex, NULL);
  msb_exec_free (ex);
  return now_s () - t0;
}

static double
exec_read (msb_sandbox *sb)
{
  msb_error *e = NULL;
  msb_exec *ex = NULL;
  const char *args[] = { "/tmp/exec.bin", NULL };
  double t0 = now_s ();
  if (msb_exec_start (sb, "cat", args, NULL, &ex, &e) < 0)
    die ("exec read start", e);
  size_t got = 0;
  wait_exit (ex, &got);
  msb_exec_free (ex);
  if (got != total)
    die ("exec read: short output", NULL);
  return now_s () - t0;
}

static const char *bind_dir;

static double
bind_write (msb_sandbox *sb)
{
  (void) sb;
  char path[4096];
  snprintf (path, sizeof path, "%s/bind.bin", bind_dir);
  double t0 = now_s ();
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  for (uint64_t off = 0; fd >= 0 && off < total; off += CHUNK)
    if (write (fd, chunk, CHUNK) != CHUNK)
      die ("bind write", NULL);
  if (fd < 0 || close (fd) < 0)
    die ("bind write", NULL);
  return now_s () - t0;
}

static double
bind_read (msb_sandbox *sb)
{
  (void) sb;
  char path[4096];
  snprintf (path, sizeof path, "%s/bind.bin", bind_dir);
  double t0 = now_s ();
  int fd = open (path, O_RDONLY | O_CLOEXEC);
  uint64_t got = 0;
  ssize_t n;
  while (fd >= 0 && (n = read (fd, chunk, CHUNK)) > 0)
    got += (uint64_t) n;
  if (fd < 0 || got != total)
    die ("bind read", NULL);
  close (fd);
  return now_s () - t0;
}

typedef struct method
{
  const char *name;
  const char *how;
  double (*write) (msb_sandbox *);
  double (*read) (msb_sandbox *);
} method;

int
main (int argc, char **argv)
{
  int size_mib = 100, runs = 5;
  bool json = false;
  for (int i = 1; i < argc; i++)
    {
      if (strcmp (argv[i], "--bind") == 0 && i + 1 < argc)
        bind_dir = argv[++i];
      else if (strcmp (argv[i], "--size-mib") == 0 && i + 1 < argc)
        size_mib = atoi (argv[++i]);
      else if (strcmp (argv[i], "--runs") == 0 && i + 1 < argc)
        runs = atoi (argv[++i]);
      else if (strcmp (argv[i], "--json") == 0)
        json = true;
      else
        {
          fprintf (stderr, "usage: fs_bench --bind DIR [--size-mib N] [--runs N] [--json]\n");
          return 2;
        }
    }
  if (bind_dir == NULL || size_mib <= 0 || runs <= 0 || runs > MAX_RUNS)
    {
      fprintf (stderr, "usage: fs_bench --bind DIR [--size-mib N] [--runs N] [--json]\n");
      return 2;
    }
  total = (uint64_t) size_mib << 20;
  chunk = malloc (CHUNK);
  for (size_t i = 0; i < CHUNK; i++)
    chunk[i] = (uint8_t) (i * 2654435761u >> 13);

  msb_ctx *ctx = NULL;
  msb_error *e = NULL;
  if (msb_ctx_open (&ctx, NULL, &e) < 0)
    die ("open MSB_HOME", e);
  msb_config *cfg = msb_config_new ();
  msb_config_set_image (cfg, "local/busybox:latest", NULL);
  if (msb_config_add_bind_mount (cfg, bind_dir, "/vol", 0, &e) < 0)
    die ("bind mount", e);
  msb_sandbox *sb = NULL;
  if (msb_sandbox_create (ctx, "fs-bench", cfg, MSB_SANDBOX_REPLACE, -1, &sb, &e) < 0)
    die ("create the sandbox", e);
  msb_config_free (cfg);

  static const method methods[] = {
    { "api", "msb_fs_write / msb_fs_read (core.fs.*)", api_write, api_read },
    { "exec", "`cat` through msb_exec (stdin / stdout)", exec_write, exec_read },
    { "bind", "bind volume (host write(2)/read(2))", bind_write, bind_read },
  };
  double mbs_w[3], mbs_r[3];
  for (size_t m = 0; m < 3; m++)
    {
      double w[MAX_RUNS], r[MAX_RUNS];
      methods[m].write (sb); /* warm-up: allocates the file, fills the page cache */
      for (int i = 0; i < runs; i++)
        {
          w[i] = (double) total / 1e6 / methods[m].write (sb);
          r[i] = (double) total / 1e6 / methods[m].read (sb);
        }
      mbs_w[m] = median (w, runs);
      mbs_r[m] = median (r, runs);
    }
  if (json)
    {
      printf ("{\"size_mib\": %d, \"runs\": %d", size_mib, runs);
      for (size_t m = 0; m < 3; m++)
        printf (", \"%s_write_mbs\": %.0f, \"%s_read_mbs\": %.0f", methods[m].name, mbs_w[m],
                methods[m].name, mbs_r[m]);
      printf ("}\n");
    }
  else
    for (size_t m = 0; m < 3; m++)
      printf ("| %s | %.0f | %.0f |\n", methods[m].how, mbs_w[m], mbs_r[m]);
  msb_sandbox_close (sb);
  msb_sandbox_stop (ctx, "fs-bench", 5000, NULL);
  msb_sandbox_remove (ctx, "fs-bench", NULL);
  msb_ctx_close (ctx);
  free (chunk);
  return 0;
}
