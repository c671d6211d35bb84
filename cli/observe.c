/* `msb metrics [NAME]`, `msb ps [NAME]`, `msb inspect NAME`, and the small verbs `ping`,
 * `touch`, `drain`, `wait`. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"

static const char *
format_value (int argc, char **argv)
{
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp (argv[i], "--format") == 0)
      return argv[i + 1];
  return NULL;
}

static bool
is_running (const msb_sandbox_info *i)
{
  msb_sandbox_status s = msb_sandbox_info_status (i);
  return s == MSB_STATUS_RUNNING || s == MSB_STATUS_DRAINING || s == MSB_STATUS_STARTING;
}

static json_t *
metrics_json (const char *name, const msb_metrics *m, const char *state)
{
  return json_pack ("{s:s, s:s, s:f, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "name",
                    name, "state", state, "cpu_percent", m->cpu_percent, "vcpu_time_ns",
                    (json_int_t) m->cpu_time_ns, "memory_bytes", (json_int_t) m->memory_bytes,
                    "memory_limit_bytes", (json_int_t) m->memory_limit_bytes, "disk_read_bytes",
                    (json_int_t) m->disk_read_bytes, "disk_write_bytes",
                    (json_int_t) m->disk_write_bytes, "net_rx_bytes", (json_int_t) m->net_rx_bytes,
                    "net_tx_bytes", (json_int_t) m->net_tx_bytes, "uptime_ms",
                    (json_int_t) m->uptime_ms, "timestamp_ms", (json_int_t) m->timestamp_ms,
                    "cpus", (int) m->cpus);
}

static void
print_metrics_row (const char *name, const msb_metrics *m)
{
  printf ("%-24s %7.1f%% %10.1fM / %-8.0fM %10.1fM %10.1fM %10llu\n", name, m->cpu_percent,
          (double) m->memory_bytes / 1048576.0, (double) m->memory_limit_bytes / 1048576.0,
          (double) m->disk_read_bytes / 1048576.0, (double) m->disk_write_bytes / 1048576.0,
          (unsigned long long) (m->uptime_ms / 1000));
}

/* "stalled" when the runtime has not published for several intervals (hung, stopped with
 * SIGSTOP, starved); the slot itself cannot say so. */
static const char *
sample_state (const msb_metrics *m)
{
  struct timespec ts;
  clock_gettime (CLOCK_REALTIME, &ts);
  int64_t now = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  int64_t grace = 3 * (int64_t) (m->interval_ms ? m->interval_ms : 1000);
  return now - m->timestamp_ms > (grace > 2000 ? grace : 2000) ? "stalled" : "running";
}

/* One round. With `followed` (-f/-w on one name), a sandbox that was running and is no
 * longer is the end of the stream: a last {"state": "exited"} and *ended, not an error. */
static int
metrics_once (msb_ctx *ctx, const char *only, bool json, bool follow, bool *followed,
              bool *ended)
{
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_sandbox_list (ctx, &list, &n, &err) < 0)
    return cli_fail (err, 1);
  json_t *arr = json_array ();
  if (!json)
    printf ("%-24s %8s %23s %11s %11s %10s\n", "NAME", "CPU", "MEMORY / LIMIT", "DISK READ",
            "DISK WRITE", "UPTIME(s)");
  int status = 0, found = 0;
  for (size_t i = 0; i < n; i++)
    {
      const char *name = msb_sandbox_info_name (list[i]);
      if ((only && strcmp (only, name) != 0) || (!only && !is_running (list[i])))
        continue;
      found++;
      msb_metrics m = { .size = sizeof m };
      if (msb_sandbox_metrics (ctx, name, &m, &err) < 0)
        {
          if (only && *followed && msb_error_get_kind (err) == MSB_ERR_METRICS_UNAVAILABLE
              && !is_running (list[i]))
            {
              msb_error_free (err);
              err = NULL;
              *ended = true;
              if (json)
                json_array_append_new (arr, json_pack ("{s:s, s:s}", "name", name, "state",
                                                       "exited"));
              else
                printf ("%-24s exited\n", name);
              continue;
            }
          if (only)
            status = cli_fail (err, 1);
          else
            msb_error_free (err);
          err = NULL;
          continue;
        }
      *followed = only != NULL;
      if (json)
        json_array_append_new (arr, metrics_json (name, &m, sample_state (&m)));
      else
        print_metrics_row (name, &m);
    }
  if (only && !found)
    status = cli_failf (1, "sandbox `%s` not found", only);
  if (json && status == 0)
    {
      json_t *out = only && json_array_size (arr) == 1 ? json_incref (json_array_get (arr, 0)) : json_incref (arr);
      char *text = json_dumps (out, follow ? JSON_COMPACT : JSON_INDENT (2));
      puts (text);
      free (text);
      json_decref (out);
    }
  json_decref (arr);
  msb_sandbox_info_list_free (list, n);
  fflush (stdout);
  return status;
}

int
cli_metrics (int argc, char **argv)
{
  if (cli_check_flags ("metrics", argc, argv, "--interval= --format= --sort= -f|--follow -w|--watch", 1))
    return 1;
  const char *only = NULL;
  double interval = 1;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--interval") == 0 && i + 1 < argc)
      {
        if (cli_parse_duration (argv[++i], &interval) < 0 || interval <= 0)
          return cli_failf (1, "metrics: --interval: invalid duration `%s`", argv[i]);
      }
    else if (strcmp (argv[i], "--format") == 0 || strcmp (argv[i], "--sort") == 0)
      i++;
    else if (argv[i][0] != '-')
      only = argv[i];
  bool follow = cli_has_flag (argc, argv, "-f", "--follow");
  bool watch = cli_has_flag (argc, argv, "-w", "--watch");
  const char *fmt = format_value (argc, argv);
  bool json = follow || (fmt && strcmp (fmt, "json") == 0);
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int status;
  bool followed = false, ended = false;
  for (;;)
    {
      if (watch && !json)
        printf ("\033[H\033[2J");
      status = metrics_once (ctx, only, json, follow, &followed, &ended);
      if (status || ended || !(watch || follow))
        break;
      usleep ((useconds_t) (interval * 1e6));
    }
  msb_ctx_close (ctx);
  return status;
}

static json_t *
config_of (const msb_sandbox_info *i)
{
  json_t *c = json_loads (msb_sandbox_info_config_json (i), 0, NULL);
  return c ? c : json_object ();
}

/* The published ports of a config, docker-style: ["127.0.0.1:8080->80/tcp", …]. */
static json_t *
ports_of (json_t *config)
{
  json_t *out = json_array ();
  size_t i;
  json_t *p;
  json_array_foreach (json_object_get (json_object_get (config, "network"), "ports"), i, p)
  {
    const char *bind = json_string_value (json_object_get (p, "host_bind"));
    const char *proto = json_string_value (json_object_get (p, "protocol"));
    char text[96];
    snprintf (text, sizeof text, strchr (bind ? bind : "", ':') ? "[%s]:%lld->%lld/%s" : "%s:%lld->%lld/%s",
              bind ? bind : "127.0.0.1", (long long) json_integer_value (json_object_get (p, "host_port")),
              (long long) json_integer_value (json_object_get (p, "guest_port")), proto ? proto : "tcp");
    json_array_append_new (out, json_string (text));
  }
  return out;
}

int
cli_ps (int argc, char **argv)
{
  if (cli_check_flags ("ps", argc, argv, "-a|--all -q|--quiet --format=", 1))
    return 1;
  bool all = cli_has_flag (argc, argv, "-a", "--all");
  bool quiet = cli_has_flag (argc, argv, "-q", "--quiet");
  const char *fmt = format_value (argc, argv);
  bool json = fmt && strcmp (fmt, "json") == 0;
  const char *only = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--format") == 0)
      i++;
    else if (argv[i][0] != '-')
      only = argv[i];
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_sandbox_info **list = NULL;
  size_t n = 0;
  msb_error *err = NULL;
  if (msb_sandbox_list (ctx, &list, &n, &err) < 0)
    {
      msb_ctx_close (ctx);
      return cli_fail (err, 1);
    }
  json_t *arr = json_array ();
  if (!json && !quiet)
    printf ("%-24s %-28s %-16s %-7s %-11s %-9s %s\n", "NAME", "IMAGE", "COMMAND", "CPUS", "MEM",
            "STATUS", "PORTS");
  for (size_t i = 0; i < n; i++)
    {
      const char *name = msb_sandbox_info_name (list[i]);
      if ((only && strcmp (name, only)) || (!all && !only && !is_running (list[i])))
        continue;
      json_t *c = config_of (list[i]);
      json_t *res = json_object_get (c, "resources");
      json_int_t cpus = json_integer_value (json_object_get (res, "cpus"));
      json_int_t max_cpus = json_integer_value (json_object_get (res, "max_cpus"));
      json_int_t mem = json_integer_value (json_object_get (res, "memory_mib"));
      json_int_t max_mem = json_integer_value (json_object_get (res, "max_memory_mib"));
      const char *shell = json_string_value (json_object_get (json_object_get (c, "runtime"), "shell"));
      const char *status = msb_sandbox_status_name (msb_sandbox_info_status (list[i]));
      const char *image = msb_sandbox_info_image (list[i]);
      json_t *ports = ports_of (c);
      if (json)
        json_array_append_new (arr, json_pack ("{s:s, s:s, s:s?, s:s?, s:I, s:I, s:I, s:I, s:n, s:O}",
                                               "name", name, "status", status, "image", image,
                                               "command", shell, "cpus", cpus, "max_cpus", max_cpus,
                                               "memory_mib", mem, "max_memory_mib", max_mem, "thp",
                                               "ports", ports));
      else if (quiet)
        puts (name);
      else
        {
          char cpu_s[32], mem_s[32];
          snprintf (cpu_s, sizeof cpu_s, "%lld/%lld", (long long) cpus, (long long) max_cpus);
          snprintf (mem_s, sizeof mem_s, "%lld/%lldM", (long long) mem, (long long) max_mem);
          char port_s[256] = "";
          size_t k;
          json_t *pv;
          json_array_foreach (ports, k, pv)
          {
            size_t used = strlen (port_s);
            snprintf (port_s + used, sizeof port_s - used, "%s%s", k ? "," : "", json_string_value (pv));
          }
          printf ("%-24s %-28s %-16s %-7s %-11s %-9s %s\n", name, image ? image : "-",
                  shell ? shell : "-", cpu_s, mem_s, status, *port_s ? port_s : "-");
        }
      json_decref (ports);
      json_decref (c);
    }
  if (json)
    cli_print_json (arr, false);
  json_decref (arr);
  msb_sandbox_info_list_free (list, n);
  msb_ctx_close (ctx);
  return 0;
}

int
cli_inspect (int argc, char **argv)
{
  if (cli_check_flags ("inspect", argc, argv, "--format=", 1))
    return 1;
  const char *name = NULL;
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--format") == 0)
      i++;
    else if (argv[i][0] != '-')
      name = argv[i];
  if (name == NULL)
    return cli_failf (1, "inspect: a sandbox name is required");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  msb_sandbox_info *info = NULL;
  msb_error *err = NULL;
  int status = 0;
  if (msb_sandbox_get (ctx, name, &info, &err) < 0)
    status = cli_fail (err, 1);
  else
    {
      char created[32], updated[32];
      cli_rfc3339 (msb_sandbox_info_created_at (info), created, sizeof created);
      cli_rfc3339 (msb_sandbox_info_updated_at (info), updated, sizeof updated);
      json_t *j = json_pack ("{s:s, s:s, s:s?, s:o, s:s, s:s, s:s?, s:s?, s:i}", "name", name, "status",
                             msb_sandbox_status_name (msb_sandbox_info_status (info)), "backend",
                             msb_sandbox_info_backend (info), "config",
                             config_of (info), "created_at", created, "updated_at", updated,
                             "manifest_digest", msb_sandbox_info_manifest_digest (info),
                             "termination_reason", msb_sandbox_info_termination_reason (info),
                             "pid", msb_sandbox_info_pid (info));
      cli_print_json (j, false);
      json_decref (j);
      msb_sandbox_info_free (info);
    }
  msb_ctx_close (ctx);
  return status;
}

/* ping and touch: `data` says which. */
static int
ping_one (msb_ctx *ctx, const char *name, void *data, msb_error **err)
{
  bool is_touch = *(bool *) data;
  msb_sandbox *sb = NULL;
  if (msb_sandbox_connect (ctx, name, -1, &sb, err) < 0)
    return -1;
  double ms;
  uint64_t seq;
  int r = is_touch ? msb_sandbox_touch (sb, &seq, err) : msb_sandbox_ping (sb, &ms, err);
  if (r >= 0 && is_touch)
    printf ("%s: activity %llu\n", name, (unsigned long long) seq);
  else if (r >= 0)
    printf ("%s: %.3f ms\n", name, ms);
  msb_sandbox_close (sb);
  return r;
}

/* fn over each name, quietly; no name at all is not an error for these verbs. */
static int
each_sandbox (int argc, char **argv, cli_name_fn fn, void *data)
{
  return cli_each_sandbox (argc, argv, fn, data, false) > 0;
}

int
cli_ping (int argc, char **argv)
{
  if (cli_check_flags ("ping", argc, argv, "--touch", 1))
    return 1;
  bool is_touch = cli_has_flag (argc, argv, "--touch", NULL);
  return each_sandbox (argc, argv, ping_one, &is_touch);
}

int
cli_touch (int argc, char **argv)
{
  if (cli_check_flags ("touch", argc, argv, "", 1))
    return 1;
  bool is_touch = true;
  return each_sandbox (argc, argv, ping_one, &is_touch);
}

static int
drain_one (msb_ctx *ctx, const char *name, void *data, msb_error **err)
{
  return msb_sandbox_drain (ctx, name, err);
}

int
cli_drain (int argc, char **argv)
{
  if (cli_check_flags ("drain", argc, argv, "", 1))
    return 1;
  return each_sandbox (argc, argv, drain_one, NULL);
}

int
cli_wait (int argc, char **argv)
{
  if (cli_check_flags ("wait", argc, argv, "", 1))
    return 1;
  if (argc < 2)
    return cli_failf (1, "wait: a sandbox name is required");
  msb_ctx *ctx = cli_ctx ();
  if (ctx == NULL)
    return 1;
  int code = -1;
  msb_error *err = NULL;
  int status = msb_sandbox_wait (ctx, argv[1], -1, &code, &err) < 0 ? cli_fail (err, 1) : 0;
  if (status == 0)
    printf ("%d\n", code);
  msb_ctx_close (ctx);
  return status;
}
