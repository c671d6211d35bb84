/* `msb sandbox run`: the runtime process of one sandbox, from boot to the record of its end.
 *
 * It holds the sandbox's live lock for its whole life (that is how every other process
 * knows it is alive), boots the backend, hands the agent its bootstrap and waits for
 * core.ready, publishes agent.sock and control.sock, reports success or the boot error on
 * the ready pipe to its creator, serves until the sandbox ends, and then removes what the
 * run created. A failure before ready leaves no mount, cgroup or process behind. */
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"
#include "lib/uid_ranges.h"
#include "proto/proto.h"
#include "runtime/rtlog.h"
#include "runtime/serve.h"
#include "runtime/init_handoff.h"
#include "runtime/net/net.h"

#define READY_TIMEOUT_MS 15000

uint32_t
msb_uid_base_for_slot (int slot)
{
  return MSB_UID_BASE_DEFAULT + (uint32_t) slot * MSB_UID_RANGE_SIZE;
}

static void
report_ready (int *ready_fd, const msb_error *e)
{
  if (*ready_fd < 0)
    return;
  json_t *j = e ? json_pack ("{s:b, s:s, s:i, s:s}", "ok", 0, "kind",
                             msb_error_kind_code (msb_error_get_kind (e)), "errno",
                             msb_error_get_errno (e), "message", msb_error_get_message (e))
                : json_pack ("{s:b, s:i}", "ok", 1, "pid", (int) getpid ());
  char *text = json_dumps (j, JSON_COMPACT);
  json_decref (j);
  if (text)
    {
      msb_write_full (*ready_fd, text, strlen (text));
      msb_write_full (*ready_fd, "\n", 1);
      free (text);
    }
  close (*ready_fd);
  *ready_fd = -1;
}

/* stderr → logs/runtime.log; stdin/stdout → /dev/null. */
int
msb_runtime_prepare_dirs (msb_runtime *rt, msb_error **err)
{
  static const char *const dirs[] = { "upper", "work", "rootfs", "runtime", "logs" };
  for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
    if (mkdirat (rt->sandbox_dirfd, dirs[i], 0755) < 0 && errno != EEXIST)
      return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/%s`", rt->sandbox_dir, dirs[i]);
  if (fchownat (rt->sandbox_dirfd, "upper", rt->uid_base, rt->uid_base, AT_SYMLINK_NOFOLLOW) < 0
      || fchownat (rt->sandbox_dirfd, "runtime", rt->uid_base, rt->uid_base, AT_SYMLINK_NOFOLLOW) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown sandbox directories");
  return 0;
}

char **
msb_runtime_layer_paths (const msb_runtime *rt)
{
  char **v = msb_xcalloc (rt->image.layer_count + 1, sizeof (char *));
  for (size_t i = 0; i < rt->image.layer_count; i++)
    v[i] = msb_image_layer_path (&rt->home, rt->image.diff_ids[i]);
  return v;
}

static int
redirect_stdio (msb_runtime *rt, msb_error **err)
{
  int logfd = openat (rt->sandbox_dirfd, "logs/runtime.log",
                      O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (logfd < 0 || null < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open runtime.log");
  dup2 (null, STDIN_FILENO);
  dup2 (null, STDOUT_FILENO);
  dup2 (logfd, STDERR_FILENO);
  close (null);
  close (logfd);
  return 0;
}

static char **
merge_env (const msb_runtime *rt)
{
  msb_kvlist env = { 0 };
  for (char **e = rt->image.config.env; e && *e; e++)
    {
      char *eq = strchr (*e, '=');
      if (eq == NULL)
        continue;
      _msb_cleanup_free_ char *k = msb_xstrndup (*e, (size_t) (eq - *e));
      msb_kvlist_set (&env, k, eq + 1);
    }
  if (msb_kvlist_get (&env, "HOSTNAME") == NULL)
    msb_kvlist_set (&env, "HOSTNAME", rt->hostname);
  msb_kvlist_copy (&env, &rt->cfg->env);
  char **v = msb_kvlist_to_envv (&env);
  msb_kvlist_clear (&env);
  return v;
}

static int
load_sandbox (msb_runtime *rt, const msb_runtime_opts *opts, msb_error **err)
{
  if (msb_home_open (&rt->home, opts->home, err) < 0 || msb_db_open (&rt->db, &rt->home, err) < 0)
    return -1;
  rt->live_lock_fd = msb_lock_live (&rt->home, rt->name, err);
  if (rt->live_lock_fd < 0)
    return -1;
  if (msb_state_get (&rt->db, &rt->home, rt->name, &rt->row, err) < 0
      || msb_config_from_json (rt->row.config_json, &rt->cfg, err) < 0)
    return -1;
  msb_rtlog_set_level (rt->cfg->log_level);
  if (msb_image_store_lookup (&rt->db, rt->row.manifest_digest, &rt->image, err) < 0)
    return msb_error_prefix (err, "image `%s` of sandbox `%s`", rt->row.image_ref, rt->name);
  _msb_cleanup_free_ char *rel = msb_sandbox_dir_rel (rt->name);
  rt->sandbox_dir = msb_home_path (&rt->home, rel);
  if (msb_mkdir_p_at (rt->home.root_fd, rel, 0700, err) < 0)
    return -1;
  rt->sandbox_dirfd = openat (rt->home.root_fd, rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (rt->sandbox_dirfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", rt->sandbox_dir);
  if (mkdirat (rt->sandbox_dirfd, "logs", 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/logs`", rt->sandbox_dir);
  rt->uid_base = msb_uid_base_for_slot (rt->row.uid_slot);
  /* A sandbox made before host-wide claims, or whose claim was taken over while its state
   * root was away from its path: never share a uid range with another sandbox. */
  char holder[512];
  if (!msb_uid_ranges_ensure (rt->row.uid_slot, &rt->home, rt->name, holder, sizeof holder))
    return msb_fail (err, MSB_ERR_GENERIC,
                     "sandbox `%s`: its host uid range (slot %d) now belongs to %s; remove and "
                     "create this sandbox again to give it a range of its own",
                     rt->name, rt->row.uid_slot, holder);
  rt->hostname = msb_config_effective_hostname (rt->cfg, rt->name);
  rt->env = merge_env (rt);
  return msb_backend_select (rt->row.backend, &rt->backend, err);
}

static void
bootstrap_msg (const msb_runtime *rt, msb_msg *m)
{
  memset (m, 0, sizeof *m);
  m->type = MSB_MSG_BOOTSTRAP;
  m->u.bootstrap.env = rt->env;
  m->u.bootstrap.workdir = rt->cfg->workdir ? rt->cfg->workdir : rt->image.config.working_dir;
  if (m->u.bootstrap.workdir && *m->u.bootstrap.workdir == '\0')
    m->u.bootstrap.workdir = NULL;
  m->u.bootstrap.user = rt->cfg->user ? rt->cfg->user : rt->image.config.user;
  if (m->u.bootstrap.user && *m->u.bootstrap.user == '\0')
    m->u.bootstrap.user = NULL;
  m->u.bootstrap.clock_unix_nanos = msb_now_realtime_ns ();
  /* The ns backend sets it from outside; a vm guest sets its own. */
  m->u.bootstrap.hostname = rt->hostname;
  msb_runtime_init_bootstrap (rt, &m->u.bootstrap); /* custom init handoff (init_handoff.c) */
}

/* A core.error before core.ready is the agent refusing the bootstrap: the sandbox's config
 * (default user, workdir, hostname…) does not fit the image. Its message is the create error. */
static int
agent_refused (const msb_frame *f, msb_error **err)
{
  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  char reason[128] = "";
  int r;
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, reason, sizeof reason) < 0)
    r = msb_fail (err, MSB_ERR_GENERIC, "the agent sent an undecodable error during boot: %s",
                  reason);
  else
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s",
                  m.u.error.message ? m.u.error.message : "the agent refused the bootstrap");
  msb_msg_clear (&m);
  return r;
}

/* The agent's own boot timings (guest CLOCK_BOOTTIME: on the vm backend they include the
 * guest kernel's boot) for runtime.log and the benchmarks. */
static void
log_ready_times (const msb_frame *f)
{
  msb_msg m;
  msb_proto_error_kind perr = MSB_PERR_NONE;
  char reason[64];
  if (msb_msg_decode (f->body, f->body_len, &m, &perr, reason, sizeof reason) == 0)
    msb_rtlog (MSB_RT_INFO, "agent ready: started at %.1f ms, bootstrapped at %.1f ms, ready at %.1f ms (sandbox clock)",
               (double) m.u.ready.boot_time_ns / 1e6, (double) m.u.ready.init_time_ns / 1e6,
               (double) m.u.ready.ready_time_ns / 1e6);
  msb_msg_clear (&m);
}

/* Sends core.bootstrap and reads frames until core.ready, bounded by READY_TIMEOUT_MS. The
 * raw ready frame is kept for the relay to replay to clients. */
static int
handshake_agent (msb_runtime *rt, msb_buf *ready, msb_error **err)
{
  msb_msg m;
  bootstrap_msg (rt, &m);
  _msb_cleanup_buf_ msb_buf out = MSB_BUF_INIT;
  msb_msg_write_frame (&out, 0, 0, &m);
  if (msb_write_full (rt->agent_fd, out.data, out.len) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "send bootstrap to the agent");
  _msb_cleanup_buf_ msb_buf in = MSB_BUF_INIT;
  uint64_t deadline = msb_now_mono_ns () + READY_TIMEOUT_MS * 1000000ull;
  for (;;)
    {
      msb_frame f;
      size_t used;
      int p = msb_frame_parse (in.data, in.len, &f, &used);
      if (p < 0)
        return msb_fail (err, MSB_ERR_GENERIC, "the agent sent a malformed frame during boot");
      if (p > 0)
        {
          msb_msg_type type = MSB_MSG_UNKNOWN;
          msb_msg_peek_type (f.body, f.body_len, &type);
          if (type == MSB_MSG_READY)
            {
              log_ready_times (&f);
              msb_buf_append (ready, in.data, used);
              return 0;
            }
          if (type == MSB_MSG_ERROR)
            return agent_refused (&f, err);
          msb_buf_consume (&in, used);
          continue;
        }
      uint64_t now = msb_now_mono_ns ();
      if (now >= deadline)
        return msb_fail (err, MSB_ERR_GENERIC, "the agent did not become ready within %d ms",
                         READY_TIMEOUT_MS);
      struct pollfd pfd = { rt->agent_fd, POLLIN, 0 };
      int r = poll (&pfd, 1, (int) ((deadline - now) / 1000000ull) + 1);
      if (r < 0 && errno != EINTR)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "wait for the agent");
      if (r <= 0)
        continue;
      ssize_t n = read (rt->agent_fd, msb_buf_reserve (&in, 65536), 65536);
      if (n == 0)
        return msb_fail (err, MSB_ERR_GENERIC,
                         "the agent exited before it was ready (see logs/runtime.log)");
      if (n > 0)
        in.len += (size_t) n;
    }
}

static int
listen_unix (int dirfd, const char *file, msb_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (msb_sock_path (dirfd, file, addr.sun_path, sizeof addr.sun_path) < 0)
    return msb_fail (err, MSB_ERR_GENERIC, "socket path too long");
  unlinkat (dirfd, file, 0);
  _msb_cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "socket");
  mode_t old = umask (0077);
  int r = bind (fd, (struct sockaddr *) &addr, sizeof addr);
  umask (old);
  if (r < 0 || listen (fd, 128) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "listen on `%s`", file);
  return msb_steal_fd (&fd);
}

/* run/sandboxes/<H12>/{agent,control}.sock and the run/agent/<H16> compatibility links. */
static int
publish_sockets (msb_runtime *rt, int *agent_listen, int *control_listen, msb_error **err)
{
  _msb_cleanup_free_ char *run_rel = msb_sandbox_run_dir_rel (rt->name);
  if (mkdirat (rt->home.root_fd, run_rel, 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s`", run_rel);
  _msb_cleanup_close_ int run_fd
      = openat (rt->home.root_fd, run_rel, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (run_fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s`", run_rel);
  *agent_listen = listen_unix (run_fd, "agent.sock", err);
  if (*agent_listen < 0)
    return -1;
  *control_listen = listen_unix (run_fd, "control.sock", err);
  if (*control_listen < 0)
    return -1;
  char h16[33], h12[25];
  msb_name_hash16 (rt->name, h16);
  msb_name_hash12 (rt->name, h12);
  _msb_cleanup_free_ char *l1 = msb_xasprintf ("run/agent/%s.sock", h16);
  _msb_cleanup_free_ char *l2 = msb_xasprintf ("run/agent/%s.control.sock", h16);
  _msb_cleanup_free_ char *t1 = msb_xasprintf ("../sandboxes/%s/agent.sock", h12);
  _msb_cleanup_free_ char *t2 = msb_xasprintf ("../sandboxes/%s/control.sock", h12);
  unlinkat (rt->home.root_fd, l1, 0);
  unlinkat (rt->home.root_fd, l2, 0);
  (void) !symlinkat (t1, rt->home.root_fd, l1);
  (void) !symlinkat (t2, rt->home.root_fd, l2);
  return 0;
}

static void
unpublish_sockets (msb_runtime *rt)
{
  char h16[33];
  msb_name_hash16 (rt->name, h16);
  _msb_cleanup_free_ char *l1 = msb_xasprintf ("run/agent/%s.sock", h16);
  _msb_cleanup_free_ char *l2 = msb_xasprintf ("run/agent/%s.control.sock", h16);
  _msb_cleanup_free_ char *run_rel = msb_sandbox_run_dir_rel (rt->name);
  unlinkat (rt->home.root_fd, l1, 0);
  unlinkat (rt->home.root_fd, l2, 0);
  msb_rm_rf_at (rt->home.root_fd, run_rel, NULL);
}

static void
write_boot_error (msb_runtime *rt, const msb_error *e)
{
  if (rt->sandbox_dirfd < 0)
    return;
  json_t *j = json_pack ("{s:s, s:i, s:s}", "stage", "boot", "errno", msb_error_get_errno (e),
                         "message", msb_error_get_message (e));
  char *text = json_dumps (j, JSON_INDENT (2));
  json_decref (j);
  if (text)
    msb_write_file_atomic_at (rt->sandbox_dirfd, "logs/boot-error.json", text, strlen (text), 0600,
                              NULL);
  free (text);
}

/* Brings the sandbox down and waits for it, whatever state boot reached. */
static void
stop_sandbox (msb_runtime *rt)
{
  if (rt->sandbox_pid > 0)
    {
      rt->backend->kill (rt);
      while (waitpid (rt->sandbox_pid, NULL, 0) < 0 && errno == EINTR)
        ;
      rt->sandbox_pid = 0;
    }
  if (rt->backend && rt->backend->cleanup)
    rt->backend->cleanup (rt);
  /* With the sandbox gone its network goes too, before the end of the run is recorded: the
   * published ports are free again by the time anyone sees the sandbox stopped. */
  msb_net_free (rt->net);
  rt->net = NULL;
}

static void
runtime_free (msb_runtime *rt)
{
  msb_net_free (rt->net);
  rt->net = NULL;
  if (rt->agent_fd >= 0)
    close (rt->agent_fd);
  if (rt->sandbox_dirfd >= 0)
    close (rt->sandbox_dirfd);
  msb_strv_free (rt->env);
  free (rt->hostname);
  free (rt->sandbox_dir);
  msb_image_clear (&rt->image);
  msb_config_free (rt->cfg);
  msb_sandbox_row_clear (&rt->row);
  msb_db_close (&rt->db);
  msb_home_close (&rt->home);
  free (rt->name);
  if (rt->live_lock_fd >= 0)
    close (rt->live_lock_fd);
}

static int
exit_code_of (int wait_status, int *signal)
{
  *signal = WIFSIGNALED (wait_status) ? WTERMSIG (wait_status) : 0;
  return WIFEXITED (wait_status) ? WEXITSTATUS (wait_status) : -1;
}

/* Records the end of the run; an ephemeral sandbox disappears with it. */
static void
record_end (msb_runtime *rt, const msb_rt_serve *s)
{
  int sig = 0;
  int code = exit_code_of (s->wait_status, &sig);
  if (s->has_main)
    {
      code = s->main_exit_code;
      sig = 0;
    }
  bool requested = s->reason && strcmp (s->reason, "sandbox exited") != 0;
  msb_sandbox_status status = requested ? MSB_STATUS_STOPPED : MSB_STATUS_CRASHED;
  msb_error *e = NULL;
  if (msb_state_run_end (&rt->db, rt->name, rt->run_id, status, code, sig,
                         s->reason ? s->reason : "sandbox exited", &e)
      < 0)
    msb_rtlog (MSB_RT_ERROR, "record the end of the run: %s", msb_error_get_message (e));
  msb_error_free (e);
  msb_rtlog (MSB_RT_INFO, "sandbox ended (%s, exit %d, signal %d)", s->reason ? s->reason : "?",
             code, sig);
  if (rt->cfg->ephemeral)
    {
      _msb_cleanup_free_ char *rel = msb_sandbox_dir_rel (rt->name);
      _msb_cleanup_free_ char *live = msb_sandbox_live_lock_rel (rt->name);
      _msb_cleanup_free_ char *lock = msb_sandbox_lock_rel (rt->name);
      msb_state_delete (&rt->db, rt->name, NULL, NULL);
      msb_uid_ranges_release (rt->row.uid_slot, &rt->home, rt->name);
      msb_rm_rf_at (rt->home.root_fd, rel, NULL);
      unlinkat (rt->home.root_fd, live, 0); /* still held: released when we exit */
      unlinkat (rt->home.root_fd, lock, 0);
    }
}

static uint64_t boot_t0;

static void
boot_phase (const char *what)
{
  msb_rtlog (MSB_RT_DEBUG, "boot: %s at %.2f ms", what, (double) (msb_now_mono_ns () - boot_t0) / 1e6);
}

/* The backend adds what it knows (the vm backend: the guest console's last lines). */
static int
boot_failed (msb_runtime *rt, msb_error **err)
{
  if (rt->backend->explain_boot_failure)
    rt->backend->explain_boot_failure (rt, err);
  return msb_error_prefix (err, "boot sandbox `%s`", rt->name);
}

static int
boot (msb_runtime *rt, msb_rt_serve *s, const msb_runtime_opts *opts, int *ready_fd,
      msb_error **err)
{
  boot_phase ("loaded");
  if (rt->backend->probe (err) < 0)
    return -1;
  if (msb_state_run_begin (&rt->db, rt->name, (int) getpid (),
                           msb_process_start_time ((int) getpid ()), &rt->run_id, err)
      < 0)
    return -1;
  boot_phase ("run recorded");
  /* Before the backend: a published port that is taken fails the create at once. */
  if (msb_net_create (rt, &rt->net, err) < 0)
    return msb_error_prefix (err, "network of sandbox `%s`", rt->name);
  if (rt->backend->boot (rt, err) < 0)
    return boot_failed (rt, err);
  boot_phase ("agent executing");
  _msb_cleanup_buf_ msb_buf ready = MSB_BUF_INIT;
  if (handshake_agent (rt, &ready, err) < 0)
    return boot_failed (rt, err);
  boot_phase ("agent ready");
  int agent_listen = -1, control_listen = -1;
  if (publish_sockets (rt, &agent_listen, &control_listen, err) < 0)
    return -1;
  if (msb_rt_serve_init (s, rt, opts->watchdog_fd, err) < 0)
    return -1;
  _msb_cleanup_free_ char *logs = msb_xasprintf ("%s/logs", rt->sandbox_dir);
  _msb_cleanup_close_ int logs_fd = open (logs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (logs_fd < 0 || msb_exec_log_open (logs_fd, &s->log, err) < 0)
    return -1;
  if (msb_rt_serve_attach (s, agent_listen, control_listen, ready.data, ready.len, err) < 0)
    return -1;
  /* The network engine runs in the same loop (net/net.h). */
  if (rt->net && msb_net_start (rt->net, &s->loop, err) < 0)
    return msb_error_prefix (err, "network of sandbox `%s`", rt->name);
  msb_exec_log_system (s->log, "--- sandbox started ---");
  if (msb_state_run_ready (&rt->db, rt->name, rt->run_id, err) < 0)
    return -1;
  report_ready (ready_fd, NULL);
  boot_phase ("reported ready");
  return 0;
}

/* Undoes a partial boot. Without the live lock another runtime owns the sandbox: touch
 * nothing of it. */
static void
fail_boot (msb_runtime *rt, msb_rt_serve *serve, int *ready_fd, const msb_error *err)
{
  msb_rtlog (MSB_RT_ERROR, "%s", msb_error_get_message (err));
  if (rt->live_lock_fd < 0)
    {
      report_ready (ready_fd, err);
      return;
    }
  write_boot_error (rt, err);
  stop_sandbox (rt);
  if (rt->run_id)
    msb_state_run_end (&rt->db, rt->name, rt->run_id, MSB_STATUS_STOPPED, -1, 0, "boot failed",
                       NULL);
  if (serve->relay || serve->control)
    msb_rt_serve_close (serve);
  msb_exec_log_close (serve->log);
  unpublish_sockets (rt);
  /* Last: when the creator hears of the failure, the sandbox is stopped and its processes
   * gone (a VM's QEMU and virtiofsd take a moment), so a retry does not find it running. */
  report_ready (ready_fd, err);
}

int
msb_runtime_main (const msb_runtime_opts *opts)
{
  boot_t0 = msb_now_mono_ns ();
  msb_rt_block_signals ();
  msb_runtime rt = { .agent_fd = -1, .sandbox_dirfd = -1, .live_lock_fd = -1, .run_id = 0 };
  msb_rt_serve serve;
  memset (&serve, 0, sizeof serve);
  serve.watchdog_fd = serve.signal_fd = serve.timer_fd = -1;
  rt.name = msb_xstrdup (opts->name);
  int ready_fd = opts->ready_fd;
  msb_error *err = NULL;
  if (load_sandbox (&rt, opts, &err) < 0 || redirect_stdio (&rt, &err) < 0
      || boot (&rt, &serve, opts, &ready_fd, &err) < 0)
    {
      fail_boot (&rt, &serve, &ready_fd, err);
      msb_error_free (err);
      runtime_free (&rt);
      return 1;
    }
  msb_rtlog (MSB_RT_INFO, "sandbox `%s` ready (pid %d)", rt.name, (int) rt.sandbox_pid);
  msb_rt_serve_run (&serve);
  msb_relay_close_clients (serve.relay);
  msb_exec_log_system (serve.log, "--- sandbox stopped ---");
  rt.sandbox_pid = 0; /* reaped by the loop */
  stop_sandbox (&rt);
  unpublish_sockets (&rt);
  record_end (&rt, &serve);
  msb_rt_serve_close (&serve);
  msb_exec_log_close (serve.log);
  runtime_free (&rt);
  return 0;
}
