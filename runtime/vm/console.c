/* The guest console in boot errors. A guest that fails to boot tells why on its console —
 * the kernel's panic, the agent's "guest boot failed: …", or QEMU's own complaint, which
 * goes to the same file — so the create error carries the last lines of logs/kernel.log
 * rather than only "did not become ready". */
#include "runtime/vm/vm.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"

#define TAIL_BYTES 8192
#define SCAN_LINES 64
#define TAIL_LINES 12

/* Where the story of a failed boot starts: a kernel panic, the agent's own words. */
static bool
is_headline (const char *line)
{
  return strstr (line, "Kernel panic") || strstr (line, "msb-agent:") || strstr (line, "qemu-system");
}

void
msb_vm_console_explain (int sandbox_dirfd, msb_error **err)
{
  if (err == NULL || *err == NULL || sandbox_dirfd < 0)
    return;
  _msb_cleanup_close_ int fd = openat (sandbox_dirfd, "logs/kernel.log", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return;
  off_t size = lseek (fd, 0, SEEK_END);
  off_t from = size > TAIL_BYTES ? size - TAIL_BYTES : 0;
  char buf[TAIL_BYTES + 1];
  ssize_t n = pread (fd, buf, TAIL_BYTES, from);
  if (n <= 0)
    return;
  buf[n] = '\0';
  /* Keep printable text only: the console may carry escape sequences. */
  for (ssize_t i = 0; i < n; i++)
    if ((buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f)
      buf[i] = ' ';
  /* The last SCAN_LINES lines, newest first. */
  const char *lines[SCAN_LINES];
  size_t count = 0;
  char *end = buf + n;
  while (end > buf && count < SCAN_LINES)
    {
      while (end > buf && (end[-1] == '\n' || end[-1] == ' '))
        *--end = '\0';
      char *start = end;
      while (start > buf && start[-1] != '\n')
        start--;
      if (start == end || (start == buf && from > 0))
        break; /* nothing left, or a line cut by the window */
      lines[count++] = start;
      end = start;
    }
  if (count == 0)
    return;
  /* From the oldest headline among the last lines (the panic, not its call trace), else the
   * last TAIL_LINES lines. */
  size_t first = count < TAIL_LINES ? count - 1 : TAIL_LINES - 1;
  for (size_t i = count; i-- > 0;)
    if (is_headline (lines[i]))
      {
        first = i;
        break;
      }
  _msb_cleanup_buf_ msb_buf text = MSB_BUF_INIT;
  const char *head = msb_error_get_message (*err);
  msb_buf_append (&text, head, strlen (head));
  const char *title = "\nguest console (logs/kernel.log):";
  msb_buf_append (&text, title, strlen (title));
  for (size_t i = first + 1, shown = 0; i-- > 0 && shown < TAIL_LINES; shown++)
    {
      msb_buf_append (&text, "\n  ", 3);
      msb_buf_append (&text, lines[i], strlen (lines[i]));
    }
  msb_buf_append (&text, "", 1);
  msb_error *e = msb_error_new (msb_error_get_kind (*err), msb_error_get_errno (*err),
                                (const char *) text.data);
  msb_error_clear (err);
  *err = e;
}
