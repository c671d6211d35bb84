/* A request line with arguments on control.sock, and its one-line JSON answer (see
 * control_call.h). The answer is bounded (64 KiB): a runtime answers with a few fields. */
#include "lib/control_call.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/paths.h"

#define MAX_REPLY 65536

int
msb_control_call (const msb_home *home, const char *name, const json_t *request, json_t **reply,
                  msb_error **err)
{
  const char *op = json_string_value (json_object_get (request, "op"));
  _msb_cleanup_free_ char *run_rel = msb_sandbox_run_dir_rel (name);
  _msb_cleanup_close_ int dirfd = openat (home->root_fd, run_rel, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dirfd < 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running", name);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  msb_sock_path (dirfd, "control.sock", addr.sun_path, sizeof addr.sun_path);
  _msb_cleanup_close_ int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` is not running", name);
  _msb_cleanup_free_ char *text = json_dumps (request, JSON_COMPACT);
  if (text == NULL)
    abort ();
  _msb_cleanup_free_ char *line = msb_xasprintf ("%s\n", text);
  if (msb_write_full (fd, line, strlen (line)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "control request `%s`", op ? op : "?");
  _msb_cleanup_free_ char *buf = msb_xmalloc (MAX_REPLY);
  ssize_t n = msb_read_full (fd, buf, MAX_REPLY - 1);
  if (n <= 0)
    return msb_fail (err, MSB_ERR_SANDBOX_NOT_RUNNING, "sandbox `%s` closed its control socket",
                     name);
  buf[n] = '\0';
  json_t *j = json_loads (buf, JSON_DISABLE_EOF_CHECK, NULL);
  if (!json_is_object (j))
    {
      json_decref (j);
      return msb_fail (err, MSB_ERR_GENERIC,
                       "sandbox `%s` answered `%s` with something else than JSON", name,
                       op ? op : "?");
    }
  *reply = j;
  return 0;
}

int
msb_control_request (const msb_home *home, const char *name, const char *op, msb_error **err)
{
  json_t *request = json_pack ("{s:s}", "op", op);
  json_t *reply = NULL;
  int r = msb_control_call (home, name, request, &reply, err);
  json_decref (request);
  if (r == 0 && !json_is_true (json_object_get (reply, "ok")))
    r = msb_fail (err, MSB_ERR_GENERIC, "sandbox `%s` refused `%s`", name, op);
  json_decref (reply);
  return r;
}
