/* Recursive copy of a file or directory tree between two places given as fds, never following
 * a symlink inside the tree (see tree_copy.c). libc only: the static agent links it. */
#ifndef MSB_COMMON_TREE_COPY_H
#define MSB_COMMON_TREE_COPY_H

#include <sys/types.h>

typedef struct msb_tree_copy_opts
{
  dev_t skip_dev; /* a directory never descended into (the copy itself, when copying a tree */
  ino_t skip_ino; /* into a place inside it); 0/0 = none */
  int owner_uid;  /* chown what is created to owner_uid:owner_gid; -1 = leave as created */
  int owner_gid;
} msb_tree_copy_opts;

/* Copies the file or directory open as `sfd` (O_RDONLY) to entry `dname` of directory `ddir`
 * (merging into an existing directory, overwriting existing files, refusing to write through
 * an existing symlink). Symlinks in the tree are copied as symlinks, devices, FIFOs and
 * sockets are skipped. Returns 0, or -1 with errno and *failed_at (newly allocated) naming
 * the entry that failed. `opts` may be NULL. */
int msb_tree_copy (int sfd, int ddir, const char *dname, const msb_tree_copy_opts *opts,
                   char **failed_at);

#endif
