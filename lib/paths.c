#include "lib/paths.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static char *
try_candidate (const char *dir, const char *rel, const char *name)
{
  char *p = msb_xasprintf ("%s/%s%s", dir, rel, name);
  char resolved[PATH_MAX];
  if (access (p, X_OK) == 0 && realpath (p, resolved))
    {
      free (p);
      return msb_xstrdup (resolved);
    }
  free (p);
  return NULL;
}

/* Relative places next to a binary or library, build tree first (cli/, agent/, lib/ are
 * siblings in the meson build directory), then the install layout. */
static char *
search_near (const char *dir, const char *name)
{
  static const char *const rels[] = { "", "../cli/", "../agent/", "../libexec/msb/", "../bin/" };
  for (size_t i = 0; i < sizeof rels / sizeof rels[0]; i++)
    {
      char *p = try_candidate (dir, rels[i], name);
      if (p)
        return p;
    }
  return NULL;
}

char *
msb_find_helper (const char *name, msb_error **err)
{
  const char *env = getenv (strcmp (name, "msb") == 0 ? "MSB_PATH" : "MSB_AGENT_PATH");
  if (env && *env)
    {
      if (access (env, X_OK) < 0)
        {
          msb_fail_errno (err, errno, MSB_ERR_GENERIC, "`%s` (from the environment)", env);
          return NULL;
        }
      return msb_xstrdup (env);
    }
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      _msb_cleanup_free_ char *d = msb_path_dirname (exe);
      char *p = search_near (d, name);
      if (p)
        return p;
    }
  Dl_info info;
  if (dladdr ((void *) msb_find_helper, &info) && info.dli_fname && info.dli_fname[0] == '/')
    {
      _msb_cleanup_free_ char *d = msb_path_dirname (info.dli_fname);
      char *p = search_near (d, name);
      if (p)
        return p;
    }
  char *p = try_candidate (MSB_INSTALL_BINDIR, "", name);
  if (p == NULL)
    p = try_candidate (MSB_INSTALL_LIBEXECDIR, "", name);
  if (p == NULL)
    msb_fail (err, MSB_ERR_GENERIC,
              "cannot find `%s`: set %s or install msb", name,
              strcmp (name, "msb") == 0 ? "MSB_PATH" : "MSB_AGENT_PATH");
  return p;
}

int
msb_sock_path (int dirfd, const char *file, char *out, size_t out_len)
{
  int n = snprintf (out, out_len, "/proc/self/fd/%d/%s", dirfd, file);
  return n > 0 && (size_t) n < out_len ? 0 : -1;
}
