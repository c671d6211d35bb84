/* lc_client — the lifecycle tests' second process: the C API where the CLI cannot stand in.
 *
 *   lc_client attached NAME IMAGE        create an attached sandbox, print "ready", then block
 *                                        until killed (the test SIGKILLs this process)
 *   lc_client detached NAME IMAGE        create a detached sandbox, print "ready", exit without
 *                                        closing anything
 *   lc_client detach NAME IMAGE          create an attached sandbox, detach the handle, print
 *                                        "detached", exit
 *   lc_client close NAME IMAGE           create an attached sandbox, close the handle (which
 *                                        stops it), print "closed", then block until killed
 *   lc_client shell NAME SCRIPT          connect to a running sandbox (not the owner), run
 *                                        SCRIPT with the sandbox shell, print its stdout, exit
 *                                        with its exit code
 *   lc_client two-clients NAME           two connections to one sandbox: a command held open
 *                                        on the first (it waits for stdin) while a second
 *                                        command runs to completion on the other; prints the
 *                                        outputs in the order they completed
 *
 * MSB_HOME selects the state root. Failures print "lc_client: <error kind>: <message>" on
 * stderr and exit 100 + the error kind, so the tests can tell the error class apart. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msb/msb.h>

static int
die (msb_error *err, const char *what)
{
  msb_error_kind kind = msb_error_get_kind (err);
  fprintf (stderr, "lc_client: %s: %s: %s\n", what, msb_error_kind_code (kind),
           msb_error_get_message (err));
  msb_error_free (err);
  return 100 + (int) kind;
}

static msb_config *
small_config (const char *image, msb_error **err)
{
  msb_config *cfg = msb_config_new ();
  if (msb_config_set_image (cfg, image, err) < 0 || msb_config_set_memory_mib (cfg, 64, err) < 0)
    {
      msb_config_free (cfg);
      return NULL;
    }
  return cfg;
}

enum then
{
  THEN_BLOCK,  /* wait to be killed */
  THEN_EXIT,   /* end the process without closing anything */
  THEN_DETACH, /* msb_sandbox_detach, then end */
  THEN_CLOSE,  /* msb_sandbox_close, then wait to be killed */
};

static int
create (msb_ctx *ctx, const char *name, const char *image, unsigned flags, enum then then)
{
  msb_error *err = NULL;
  msb_config *cfg = small_config (image, &err);
  if (cfg == NULL)
    return die (err, "config");
  msb_sandbox *sb = NULL;
  int r = msb_sandbox_create (ctx, name, cfg, flags, -1, &sb, &err);
  msb_config_free (cfg);
  if (r < 0)
    return die (err, "create");
  printf ("ready %s\n", msb_sandbox_owns_lifecycle (sb) ? "owner" : "not-owner");
  if (then == THEN_EXIT)
    _exit (0); /* as a process that simply ends: nothing closed, nothing stopped */
  if (then == THEN_DETACH)
    {
      if (msb_sandbox_detach (sb, &err) < 0)
        return die (err, "detach");
      printf ("detached %s\n", msb_sandbox_owns_lifecycle (sb) ? "owner" : "not-owner");
      _exit (0);
    }
  if (then == THEN_CLOSE)
    {
      msb_sandbox_close (sb);
      printf ("closed\n");
    }
  for (;;)
    pause ();
}

static int
shell (msb_ctx *ctx, const char *name, const char *script)
{
  msb_error *err = NULL;
  msb_sandbox *sb = NULL;
  if (msb_sandbox_connect (ctx, name, -1, &sb, &err) < 0)
    return die (err, "connect");
  if (msb_sandbox_owns_lifecycle (sb))
    {
      fprintf (stderr, "lc_client: a connected handle claims to own the lifecycle\n");
      return 2;
    }
  msb_exec_output out = { 0 };
  int r = msb_shell (sb, script, NULL, &out, &err);
  msb_sandbox_close (sb);
  if (r < 0)
    return die (err, "exec");
  fwrite (out.stdout_data, 1, out.stdout_len, stdout);
  fwrite (out.stderr_data, 1, out.stderr_len, stderr);
  int code = out.exit_code;
  msb_exec_output_clear (&out);
  return code < 0 ? 99 : code;
}

/* Collects a streaming session to its end: stdout into `buf`, returns the exit code. */
static int
collect (msb_exec *ex, char *buf, size_t cap, msb_error **err)
{
  size_t len = 0;
  for (;;)
    {
      msb_exec_event ev;
      int r = msb_exec_next (ex, &ev, 30000, err);
      if (r < 0)
        return -1000;
      if (r == 0)
        break;
      if (ev.type == MSB_EXEC_EVENT_STDOUT && len + ev.len < cap)
        {
          memcpy (buf + len, ev.data, ev.len);
          len += ev.len;
        }
      if (ev.type == MSB_EXEC_EVENT_EXITED)
        {
          buf[len] = '\0';
          return ev.code;
        }
      if (ev.type == MSB_EXEC_EVENT_FAILED)
        {
          buf[len] = '\0';
          return -2000;
        }
    }
  buf[len] = '\0';
  return -3000;
}

static int
two_clients (msb_ctx *ctx, const char *name)
{
  msb_error *err = NULL;
  msb_sandbox *a = NULL, *b = NULL;
  if (msb_sandbox_connect (ctx, name, -1, &a, &err) < 0)
    return die (err, "connect first client");
  if (msb_sandbox_connect (ctx, name, -1, &b, &err) < 0)
    return die (err, "connect second client");
  msb_exec_opts held = { .size = sizeof held, .stdin_mode = MSB_STDIN_PIPE };
  const char *held_args[] = { "-c", "read line; echo first:$line", NULL };
  msb_exec *ex = NULL;
  if (msb_exec_start (a, "sh", held_args, &held, &ex, &err) < 0)
    return die (err, "start on the first client");
  /* The first command is now blocked on its stdin: the second client must still be served. */
  msb_exec_output out = { 0 };
  if (msb_shell (b, "echo second", NULL, &out, &err) < 0)
    return die (err, "run on the second client");
  fwrite (out.stdout_data, 1, out.stdout_len, stdout);
  msb_exec_output_clear (&out);
  if (msb_exec_write_stdin (ex, "go\n", 3, &err) < 0 || msb_exec_close_stdin (ex, &err) < 0)
    return die (err, "write stdin on the first client");
  char buf[256];
  int code = collect (ex, buf, sizeof buf, &err);
  if (code == -1000)
    return die (err, "finish on the first client");
  fputs (buf, stdout);
  printf ("first exit %d\n", code);
  msb_exec_free (ex);
  msb_sandbox_close (a);
  msb_sandbox_close (b);
  return 0;
}

int
main (int argc, char **argv)
{
  if (argc < 3)
    {
      fprintf (stderr, "usage: lc_client attached|detached|detach|close|shell|two-clients NAME [ARG]\n");
      return 2;
    }
  setvbuf (stdout, NULL, _IOLBF, 0);
  msb_ctx *ctx = NULL;
  msb_error *err = NULL;
  if (msb_ctx_open (&ctx, NULL, &err) < 0)
    return die (err, "open MSB_HOME");
  const char *verb = argv[1], *name = argv[2], *arg = argc > 3 ? argv[3] : NULL;
  int status = 2;
  if (strcmp (verb, "attached") == 0 && arg)
    status = create (ctx, name, arg, 0, THEN_BLOCK);
  else if (strcmp (verb, "detached") == 0 && arg)
    status = create (ctx, name, arg, MSB_SANDBOX_DETACHED, THEN_EXIT);
  else if (strcmp (verb, "detach") == 0 && arg)
    status = create (ctx, name, arg, 0, THEN_DETACH);
  else if (strcmp (verb, "close") == 0 && arg)
    status = create (ctx, name, arg, 0, THEN_CLOSE);
  else if (strcmp (verb, "shell") == 0 && arg)
    status = shell (ctx, name, arg);
  else if (strcmp (verb, "two-clients") == 0)
    status = two_clients (ctx, name);
  else
    fprintf (stderr, "lc_client: unknown verb `%s` or missing argument\n", verb);
  msb_ctx_close (ctx);
  return status;
}
