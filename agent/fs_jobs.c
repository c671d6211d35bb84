/* Copy and RemoveDir: the fs operations whose cost has no bound (a tree of any size, files of
 * any length). Each runs in a forked worker that keeps only the fds it needs and reports
 * "<errno>\n<message>" on a pipe the loop watches; the reply goes out when the pipe closes.
 * A client that disconnects meanwhile gets nothing; the worker still finishes (or dies with
 * the agent's shutdown, which signals every child).
 *
 * The worker resolves nothing from strings below the paths the request named: tree_copy.c
 * walks the tree with dirfds and O_NOFOLLOW, so a symlink swapped into the tree during the
 * copy is copied as a link, never followed.
 *
 * Must never: make the loop wait for a worker. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/fs.h"
#include "agent/fs_internal.h"
#include "common/cleanup.h"
#include "common/tree_copy.h"
#include "common/util.h"

typedef struct job_spec
{
  bool is_copy;
  int src_fd;        /* copy: the resolved source (file or directory) */
  int dst_dir;       /* copy: parent of the destination; remove: parent of the tree */
  const char *leaf;  /* destination name / name of the tree to remove */
} job_spec;

/* Runs the job; returns 0 or an errno, with *msg naming the entry that failed. */
static int
job_run (const job_spec *j, char **msg)
{
  *msg = NULL;
  if (!j->is_copy)
    {
      msb_error *e = NULL;
      if (msb_rm_rf_at (j->dst_dir, j->leaf, &e) == 0)
        return 0;
      int errnum = msb_error_get_errno (e) ? msb_error_get_errno (e) : EIO;
      *msg = msb_xstrdup (msb_error_get_message (e));
      msb_error_free (e);
      return errnum;
    }
  /* A directory copied into itself would never end: its own new copy is skipped. */
  struct stat dst_st = { 0 };
  struct stat src_st;
  if (fstat (j->src_fd, &src_st) < 0)
    return errno;
  if (S_ISDIR (src_st.st_mode))
    {
      if (mkdirat (j->dst_dir, j->leaf, 0700) < 0 && errno != EEXIST)
        return errno;
      if (fstatat (j->dst_dir, j->leaf, &dst_st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno;
      if (!S_ISDIR (dst_st.st_mode))
        return ENOTDIR;
    }
  msb_tree_copy_opts o = { .skip_dev = dst_st.st_dev, .skip_ino = dst_st.st_ino,
                           .owner_uid = -1, .owner_gid = -1 };
  if (msb_tree_copy (j->src_fd, j->dst_dir, j->leaf, &o, msg) < 0)
    return errno ? errno : EIO;
  return 0;
}

static void
reply_result (msb_agent *a, uint32_t id, const char *what, int errnum, const char *msg)
{
  if (errnum == 0)
    fs_reply_ok (a, id);
  else if (msg && *msg)
    fs_reply_errno (a, id, errnum, "%s: %s", what, msg);
  else
    fs_reply_errno (a, id, errnum, "%s", what);
}

/* Keeps fds[0..n) open (plus 0-2) and closes everything else: a worker must not hold the
 * host channel or another session's pipe ends open past the agent. */
static void
keep_only_fds (int *fds, size_t n)
{
  for (size_t i = 1; i < n; i++)
    for (size_t k = i; k > 0 && fds[k - 1] > fds[k]; k--)
      {
        int t = fds[k];
        fds[k] = fds[k - 1];
        fds[k - 1] = t;
      }
  unsigned lo = 3;
  for (size_t i = 0; i < n; i++)
    {
      if (fds[i] < 0 || (unsigned) fds[i] < lo)
        continue;
      if ((unsigned) fds[i] > lo)
        syscall (SYS_close_range, lo, (unsigned) fds[i] - 1, 0);
      lo = (unsigned) fds[i] + 1;
    }
  syscall (SYS_close_range, lo, ~0U, 0);
}

static _Noreturn void
worker_main (const job_spec *j, int root_fd, int report_fd)
{
  sigset_t none;
  sigemptyset (&none);
  sigprocmask (SIG_SETMASK, &none, NULL);
  signal (SIGPIPE, SIG_DFL);
  int keep[] = { root_fd, j->src_fd, j->dst_dir, report_fd };
  keep_only_fds (keep, sizeof keep / sizeof keep[0]);
  char *msg = NULL;
  int errnum = job_run (j, &msg);
  char head[16];
  int n = snprintf (head, sizeof head, "%d\n", errnum);
  msb_write_full (report_fd, head, (size_t) n);
  if (msg)
    msb_write_full (report_fd, msg, strnlen (msg, 900));
  _exit (0);
}

static fs_job *
job_find_watch (agent_fs *fs, agent_watch *w)
{
  for (fs_job *j = fs->jobs; j; j = j->next)
    if (&j->w == w)
      return j;
  return NULL;
}

static void
job_unlink (agent_fs *fs, fs_job *target)
{
  for (fs_job **p = &fs->jobs; *p; p = &(*p)->next)
    if (*p == target)
      {
        *p = target->next;
        fs->n_jobs--;
        return;
      }
}

static void
job_start (msb_agent *a, agent_fs *fs, uint32_t id, const job_spec *spec, const char *what)
{
  if (fs->is_inline_jobs)
    {
      char *msg = NULL;
      int errnum = job_run (spec, &msg);
      reply_result (a, id, what, errnum, msg);
      free (msg);
      return;
    }
  if (fs->n_jobs >= FS_JOBS_MAX)
    {
      fs_reply_errno (a, id, EBUSY, "%s: too many copies and removals in flight", what);
      return;
    }
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      fs_reply_errno (a, id, errno, "%s: create the worker pipe", what);
      return;
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      worker_main (spec, fs->root_fd, p[1]);
    }
  int saved = errno;
  close (p[1]);
  if (pid < 0)
    {
      close (p[0]);
      fs_reply_errno (a, id, saved, "%s: start a worker", what);
      return;
    }
  msb_set_nonblock (p[0], true);
  fs_job *j = msb_xcalloc (1, sizeof *j);
  j->id = id;
  j->pid = pid;
  j->what = msb_xstrdup (what);
  j->w = (agent_watch){ .kind = AGENT_WATCH_FS_JOB, .fd = p[0], .owner = j };
  j->next = fs->jobs;
  fs->jobs = j;
  fs->n_jobs++;
  if (agent_watch_set (a, &j->w, EPOLLIN, NULL) < 0)
    {
      /* Without a watch the result could never be read: give up on it. */
      kill (pid, SIGKILL);
      agent_watch_close (a, &j->w);
      job_unlink (fs, j);
      fs_reply_errno (a, id, EIO, "%s: watch the worker", what);
      free (j->what);
      free (j);
    }
}

void
agent_fs_on_job (msb_agent *a, agent_watch *w)
{
  agent_fs *fs = a->fs;
  fs_job *j = fs ? job_find_watch (fs, w) : NULL;
  if (j == NULL)
    return;
  for (;;)
    {
      uint8_t *dst = msb_buf_reserve (&j->result, 1024);
      ssize_t n = read (w->fd, dst, 1024);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
      if (n > 0)
        {
          j->result.len += (size_t) n;
          if (j->result.len < 4096)
            continue;
        }
      break; /* EOF (or a worker that talks too much): the result is complete */
    }
  msb_buf_append_byte (&j->result, 0);
  const char *text = (const char *) j->result.data;
  char *nl = strchr (text, '\n');
  int errnum = nl ? atoi (text) : EIO; /* no report: the worker died */
  if (j->id != 0)
    reply_result (a, j->id, j->what, nl ? errnum : EIO, nl ? nl + 1 : "the worker died");
  agent_watch_close (a, &j->w);
  job_unlink (fs, j);
  msb_buf_free (&j->result);
  free (j->what);
  free (j);
}

bool
fs_job_id_in_use (const agent_fs *fs, uint32_t id)
{
  for (const fs_job *j = fs->jobs; j; j = j->next)
    if (j->id == id)
      return true;
  return false;
}

void
fs_jobs_forget_range (agent_fs *fs, uint32_t start, uint32_t end)
{
  for (fs_job *j = fs->jobs; j; j = j->next)
    if (j->id >= start && j->id < end)
      j->id = 0;
}

/* ---- the two operations ----------------------------------------------------------------- */

void
fs_op_remove_dir (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_free_ char *leaf_buf = NULL;
  const char *leaf = NULL;
  _msb_cleanup_close_ int dir = fs_path_open_parent (fs, r->path, &leaf_buf, &leaf);
  struct stat st;
  if (dir < 0 || fstatat (dir, leaf, &st, AT_SYMLINK_NOFOLLOW) < 0)
    {
      fs_reply_errno (a, id, errno, "remove directory `%s`", r->path);
      return;
    }
  if (!S_ISDIR (st.st_mode))
    {
      fs_reply_errno (a, id, ENOTDIR, "remove directory `%s`", r->path);
      return;
    }
  if (!r->recursive)
    {
      if (unlinkat (dir, leaf, AT_REMOVEDIR) < 0)
        fs_reply_errno (a, id, errno, "remove directory `%s`", r->path);
      else
        fs_reply_ok (a, id);
      return;
    }
  job_spec spec = { .is_copy = false, .src_fd = -1, .dst_dir = dir, .leaf = leaf };
  _msb_cleanup_free_ char *what = msb_xasprintf ("remove directory `%s`", r->path);
  job_start (a, fs, id, &spec, what);
}

void
fs_op_copy (msb_agent *a, agent_fs *fs, uint32_t id, const msb_msg_fs_request *r)
{
  _msb_cleanup_free_ char *what = msb_xasprintf ("copy `%s` to `%s`", r->src ? r->src : "",
                                                 r->dst ? r->dst : "");
  /* O_NONBLOCK: a FIFO source must not hang the open; it is refused just below. */
  _msb_cleanup_close_ int src = fs_path_open (fs, r->src, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
  struct stat st;
  if (src < 0 || fstat (src, &st) < 0)
    {
      fs_reply_errno (a, id, errno, "%s", what);
      return;
    }
  if (!S_ISREG (st.st_mode) && !S_ISDIR (st.st_mode))
    {
      fs_reply_errno (a, id, EINVAL, "%s: the source is not a file or directory", what);
      return;
    }
  msb_set_nonblock (src, false);
  _msb_cleanup_free_ char *leaf_buf = NULL;
  const char *leaf = NULL;
  _msb_cleanup_close_ int dir = fs_path_open_parent (fs, r->dst, &leaf_buf, &leaf);
  if (dir < 0)
    {
      fs_reply_errno (a, id, errno, "%s", what);
      return;
    }
  struct stat dst;
  if (fstatat (dir, leaf, &dst, AT_SYMLINK_NOFOLLOW) == 0)
    {
      if (S_ISDIR (dst.st_mode) && !S_ISDIR (st.st_mode))
        {
          fs_reply_errno (a, id, EISDIR, "%s", what);
          return;
        }
      if (!S_ISDIR (dst.st_mode) && S_ISDIR (st.st_mode))
        {
          fs_reply_errno (a, id, ENOTDIR, "%s", what);
          return;
        }
      if (dst.st_dev == st.st_dev && dst.st_ino == st.st_ino)
        {
          fs_reply_errno (a, id, EINVAL, "%s: source and destination are the same", what);
          return;
        }
    }
  job_spec spec = { .is_copy = true, .src_fd = src, .dst_dir = dir, .leaf = leaf };
  job_start (a, fs, id, &spec, what);
}
