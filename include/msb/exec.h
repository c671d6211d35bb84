/* Running commands in a sandbox: buffered (msb_exec_run, msb_shell) or streamed
 * (msb_exec_start + msb_exec_next). Commands run with PATH lookup in the sandbox and no shell;
 * msb_shell runs `<shell> -c <script>`. */
#ifndef MSB_EXEC_H
#define MSB_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msb/error.h>

#ifdef __cplusplus
extern "C" {
#endif

/* libmsb is built with hidden visibility; everything declared here is its ABI. */
#pragma GCC visibility push(default)

typedef struct msb_sandbox msb_sandbox;
typedef struct msb_exec msb_exec;

typedef enum msb_stdin_mode
{
  MSB_STDIN_NULL = 0, /* stdin at EOF from the start */
  MSB_STDIN_PIPE,     /* caller writes with msb_exec_write_stdin / msb_exec_close_stdin */
  MSB_STDIN_BYTES,    /* `stdin_data` is sent, then EOF */
} msb_stdin_mode;

typedef struct msb_rlimit
{
  const char *resource; /* cpu fsize data stack core rss nproc nofile memlock as locks
                           sigpending msgqueue nice rtprio rttime */
  uint64_t soft;
  uint64_t hard;
} msb_rlimit;

/* Per-command options. Zero-initialise, set `size = sizeof (msb_exec_opts)`, fill what you
 * need; NULL opts means all defaults. */
typedef struct msb_exec_opts
{
  uint32_t size;
  const char *cwd;          /* default: sandbox workdir */
  const char *user;         /* default: sandbox user */
  const char *const *env;   /* "K=V", NULL-terminated; added over the sandbox env */
  bool tty;                 /* allocate a PTY; stdout and stderr are merged into stdout */
  uint16_t rows, cols;      /* initial PTY size (0 = 24x80) */
  const msb_rlimit *rlimits;
  size_t n_rlimits;
  int64_t timeout_ms;       /* msb_exec_run only: SIGKILL the process group after this
                               long and fail with MSB_ERR_EXEC_TIMEOUT; ≤ 0 = none */
  msb_stdin_mode stdin_mode;
  const void *stdin_data;   /* MSB_STDIN_BYTES */
  size_t stdin_len;
} msb_exec_opts;

typedef enum msb_exec_event_type
{
  MSB_EXEC_EVENT_STARTED = 1, /* pid */
  MSB_EXEC_EVENT_STDOUT,      /* data, len */
  MSB_EXEC_EVENT_STDERR,      /* data, len */
  MSB_EXEC_EVENT_EXITED,      /* code (-1 if killed by a signal) — last event */
  MSB_EXEC_EVENT_FAILED,      /* fail_kind, code (errno or 0), message — last event */
  MSB_EXEC_EVENT_STDIN_ERROR, /* code (errno or 0), message */
} msb_exec_event_type;

/* Why a command could not start (core.exec.failed kinds). */
typedef enum msb_exec_fail
{
  MSB_EXEC_FAIL_OTHER = 0,
  MSB_EXEC_FAIL_NOT_FOUND,
  MSB_EXEC_FAIL_PERMISSION_DENIED,
  MSB_EXEC_FAIL_NOT_EXECUTABLE,
  MSB_EXEC_FAIL_BAD_CWD,
  MSB_EXEC_FAIL_BAD_ARGS,
  MSB_EXEC_FAIL_RESOURCE_LIMIT,
  MSB_EXEC_FAIL_USER_SETUP_FAILED,
  MSB_EXEC_FAIL_OUT_OF_MEMORY,
  MSB_EXEC_FAIL_PTY_SETUP_FAILED,
} msb_exec_fail;

/* "not_found", "permission_denied", … */
const char *msb_exec_fail_name (msb_exec_fail kind);

/* An event; `data` and `message` stay valid until the next msb_exec_next() or msb_exec_free(). */
typedef struct msb_exec_event
{
  msb_exec_event_type type;
  uint32_t pid;
  int32_t code;
  const uint8_t *data;
  size_t len;
  msb_exec_fail fail_kind;
  const char *message;
} msb_exec_event;

/* Starts `cmd` with arguments `args` (NULL-terminated argv[1..], may be NULL) and returns at
 * once with a streaming session. Errors: MSB_ERR_SANDBOX_NOT_RUNNING, MSB_ERR_GENERIC. */
int msb_exec_start (msb_sandbox *sb, const char *cmd, const char *const *args,
                    const msb_exec_opts *opts, msb_exec **out, msb_error **err);

/* Waits up to timeout_ms (< 0 = forever) for the next event. Returns 1 with *ev filled, 0 at the
 * end of the stream (after EXITED or FAILED was returned), -1 on error; a timeout is an error
 * of kind MSB_ERR_EXEC_TIMEOUT that leaves the session usable. Stream order: STARTED, output,
 * then exactly one EXITED or FAILED. */
int msb_exec_next (msb_exec *ex, msb_exec_event *ev, int timeout_ms, msb_error **err);

/* A file descriptor that is readable whenever msb_exec_next() would not block (for event
 * loops: poll it, then call msb_exec_next with timeout 0). Owned by the session. */
int msb_exec_event_fd (const msb_exec *ex);

/* Non-empty correlation id of the session ("<sandbox>:<frame id>"). */
const char *msb_exec_id (const msb_exec *ex);

int msb_exec_write_stdin (msb_exec *ex, const void *data, size_t len, msb_error **err);
/* EOF on stdin (pipe mode; in PTY mode the terminal stays open). */
int msb_exec_close_stdin (msb_exec *ex, msb_error **err);
/* Delivers `sig` to the command's process group. */
int msb_exec_signal (msb_exec *ex, int sig, msb_error **err);
/* New PTY size (PTY sessions only). */
int msb_exec_resize (msb_exec *ex, uint16_t rows, uint16_t cols, msb_error **err);

/* Releases the session; a command still running is killed (SIGKILL to its group). */
void msb_exec_free (msb_exec *ex);

/* Buffered result of msb_exec_run / msb_shell. Free the buffers with msb_exec_output_clear(). */
typedef struct msb_exec_output
{
  int exit_code; /* -1 if killed by a signal */
  uint8_t *stdout_data;
  size_t stdout_len;
  uint8_t *stderr_data;
  size_t stderr_len;
} msb_exec_output;

void msb_exec_output_clear (msb_exec_output *out);

/* Runs to completion, buffering output. A command that cannot start fails with
 * MSB_ERR_EXEC_FAILED (msb_exec_run_fail_kind tells why); opts->timeout_ms expiry fails with
 * MSB_ERR_EXEC_TIMEOUT after killing the process group. `fail_kind` may be NULL. */
int msb_exec_run (msb_sandbox *sb, const char *cmd, const char *const *args,
                  const msb_exec_opts *opts, msb_exec_output *out, msb_exec_fail *fail_kind,
                  msb_error **err);

/* msb_exec_run (sb, <sandbox shell>, {"-c", script}, …). */
int msb_shell (msb_sandbox *sb, const char *script, const msb_exec_opts *opts,
               msb_exec_output *out, msb_error **err);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif
