/* exec.log (API.md §3.8): whole JSON lines, rotation at 10 MiB keeping exec.log.1–.3, and a
 * line torn by a killed runtime closed off before the next run writes. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util.h"
#include "runtime/exec_log.h"
#include "tests/unit/test.h"

static char *
make_dir (void)
{
  char tmpl[] = "/tmp/msb-test-exec-log.XXXXXX";
  char *d = mkdtemp (tmpl);
  return d ? strdup (d) : NULL;
}

static void
remove_dir (const char *dir)
{
  char cmd[512];
  snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
  (void) !system (cmd);
}

static char *
slurp (const char *dir, const char *file, size_t *len)
{
  char path[512];
  snprintf (path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen (path, "re");
  if (f == NULL)
    return NULL;
  fseek (f, 0, SEEK_END);
  long n = ftell (f);
  rewind (f);
  char *data = malloc ((size_t) n + 1);
  *len = fread (data, 1, (size_t) n, f);
  data[*len] = '\0';
  fclose (f);
  return data;
}

/* Every line of `text` parses as a JSON object; returns the number of lines. */
static int
count_json_lines (char *text)
{
  int n = 0;
  for (char *save = NULL, *line = strtok_r (text, "\n", &save); line;
       line = strtok_r (NULL, "\n", &save), n++)
    {
      json_t *j = json_loads (line, 0, NULL);
      CHECK (json_is_object (j));
      json_decref (j);
    }
  return n;
}

TEST (test_exec_log_torn_line_is_closed_before_new_lines)
{
  char *dir = make_dir ();
  CHECK (dir != NULL);
  if (dir == NULL)
    return;
  char path[512];
  snprintf (path, sizeof path, "%s/exec.log", dir);
  FILE *f = fopen (path, "we");
  fputs ("{\"t\":\"2026-01-01T00:00:00.000Z\",\"s\":\"stdout\",\"d\":\"ok\\n\",\"id\":1}\n"
         "{\"t\":\"2026-01-01T00:00:01.000Z\",\"s\":\"std",
         f);
  fclose (f);
  int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  msb_exec_log *log = NULL;
  CHECK (msb_exec_log_open (dirfd, &log, NULL) == 0);
  msb_exec_log_system (log, "--- sandbox started ---");
  msb_exec_log_close (log);
  close (dirfd);
  size_t len;
  char *text = slurp (dir, "exec.log", &len);
  /* The torn line stays on a line of its own; the marker is whole and last. */
  CHECK (strstr (text, "\"s\":\"std\n{\"t\":") != NULL);
  const char *marker = "\"s\":\"system\",\"d\":\"--- sandbox started ---\\n\"}\n";
  CHECK (len > strlen (marker) && strcmp (text + len - strlen (marker), marker) == 0);
  free (text);
  remove_dir (dir);
  free (dir);
}

TEST (test_exec_log_rotation_keeps_three_old_files)
{
  char *dir = make_dir ();
  CHECK (dir != NULL);
  if (dir == NULL)
    return;
  int dirfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  msb_exec_log *log = NULL;
  CHECK (msb_exec_log_open (dirfd, &log, NULL) == 0);
  static uint8_t chunk[65536];
  memset (chunk, 'x', sizeof chunk);
  /* 45 MiB: more than exec.log + three rotations hold. */
  for (int i = 0; i < 45 * 16; i++)
    msb_exec_log_write (log, "stdout", chunk, sizeof chunk, 1);
  msb_exec_log_close (log);
  close (dirfd);
  const char *files[] = { "exec.log", "exec.log.1", "exec.log.2", "exec.log.3" };
  for (size_t i = 0; i < 4; i++)
    {
      size_t len = 0;
      char *text = slurp (dir, files[i], &len);
      CHECK (text != NULL);
      if (i > 0)
        CHECK (len >= MSB_EXEC_LOG_ROTATE_BYTES && len < MSB_EXEC_LOG_ROTATE_BYTES + 2 * 65536);
      if (text)
        CHECK (count_json_lines (text) > 0);
      free (text);
    }
  size_t len;
  CHECK (slurp (dir, "exec.log.4", &len) == NULL);
  remove_dir (dir);
  free (dir);
}

TEST_MAIN (TEST_ENTRY (test_exec_log_torn_line_is_closed_before_new_lines),
           TEST_ENTRY (test_exec_log_rotation_keeps_three_old_files))
