/* Self-cleaning resources: __attribute__((cleanup)) helpers for memory, fds, dirs, files
 * and child processes, in the style of crun's libcrun. A function that hands a resource to
 * its caller nulls its local with msb_steal_pointer()/msb_steal_fd(). */
#ifndef MSB_COMMON_CLEANUP_H
#define MSB_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void
msb_cleanup_free_fn (void *p)
{
  void **pp = (void **) p;
  free (*pp);
}

static inline void
msb_cleanup_close_fn (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}

static inline void
msb_cleanup_dir_fn (DIR **d)
{
  if (*d)
    closedir (*d);
}

static inline void
msb_cleanup_file_fn (FILE **f)
{
  if (*f)
    fclose (*f);
}

/* Frees a NULL-terminated vector of strings. */
static inline void
msb_strv_free (char **v)
{
  if (v == NULL)
    return;
  for (char **p = v; *p; p++)
    free (*p);
  free (v);
}

static inline void
msb_cleanup_strv_fn (char ***v)
{
  msb_strv_free (*v);
}

#define _msb_cleanup_free_ __attribute__ ((cleanup (msb_cleanup_free_fn)))
#define _msb_cleanup_close_ __attribute__ ((cleanup (msb_cleanup_close_fn)))
#define _msb_cleanup_dir_ __attribute__ ((cleanup (msb_cleanup_dir_fn)))
#define _msb_cleanup_file_ __attribute__ ((cleanup (msb_cleanup_file_fn)))
#define _msb_cleanup_strv_ __attribute__ ((cleanup (msb_cleanup_strv_fn)))

static inline void *
msb_steal_pointer_impl (void *pp)
{
  void **p = (void **) pp;
  void *v = *p;
  *p = NULL;
  return v;
}
#define msb_steal_pointer(pp) ((__typeof__ (*(pp))) msb_steal_pointer_impl (pp))

static inline int
msb_steal_fd (int *fd)
{
  int v = *fd;
  *fd = -1;
  return v;
}

#endif
