#include "lib/home.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/sha256.h"

/* Directories every command may rely on. Private to the owner: the database holds secret
 * values passed through the SDK (API.md §1.20) and the cache holds image contents. */
static const char *const home_dirs[] = {
  "db", "cache", "cache/layers", "cache/blobs", "cache/tmp", "cache/locks",
  "sandboxes", "volumes", "snapshots", "logs", "secrets", "bin", "lib",
  "run", "run/sandboxes", "run/agent", "run/locks", "run/metrics",
};

static char *
default_root (void)
{
  const char *env = getenv ("MSB_HOME");
  if (env && *env)
    return msb_xstrdup (env);
  const char *home = getenv ("HOME");
  if (home == NULL || *home == '\0')
    {
      struct passwd *pw = getpwuid (getuid ());
      home = pw ? pw->pw_dir : "/root";
    }
  return msb_xasprintf ("%s/.microsandbox", home);
}

int
msb_home_open (msb_home *home, const char *root, msb_error **err)
{
  home->root = NULL;
  home->root_fd = -1;
  _msb_cleanup_free_ char *path = root ? msb_xstrdup (root) : default_root ();
  if (path[0] != '/')
    {
      _msb_cleanup_free_ char *cwd = getcwd (NULL, 0);
      if (cwd == NULL)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "resolve MSB_HOME `%s`", path);
      char *abs = msb_xasprintf ("%s/%s", cwd, path);
      free (path);
      path = abs;
    }
  if (msb_mkdir_p_at (AT_FDCWD, path, 0700, err) < 0)
    return msb_error_prefix (err, "create MSB_HOME `%s`", path);
  _msb_cleanup_close_ int fd = open (path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open MSB_HOME `%s`", path);
  for (size_t i = 0; i < sizeof home_dirs / sizeof home_dirs[0]; i++)
    if (mkdirat (fd, home_dirs[i], 0700) < 0 && errno != EEXIST)
      return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/%s`", path, home_dirs[i]);
  home->root = msb_steal_pointer (&path);
  home->root_fd = msb_steal_fd (&fd);
  return 0;
}

void
msb_home_close (msb_home *home)
{
  free (home->root);
  home->root = NULL;
  if (home->root_fd >= 0)
    close (home->root_fd);
  home->root_fd = -1;
}

char *
msb_home_path (const msb_home *home, const char *rel)
{
  return msb_xasprintf ("%s/%s", home->root, rel);
}

static void
name_hash (const char *name, size_t nbytes, char *out)
{
  uint8_t md[32];
  msb_sha256_buf (name, strlen (name), md);
  msb_hex (md, nbytes, out);
}

void
msb_name_hash12 (const char *name, char out[25])
{
  name_hash (name, 12, out);
}

void
msb_name_hash16 (const char *name, char out[33])
{
  name_hash (name, 16, out);
}

void
msb_sandbox_host_id (const msb_home *home, const char *name, char out[25])
{
  struct stat st;
  memset (&st, 0, sizeof st);
  fstat (home->root_fd, &st);
  _msb_cleanup_free_ char *key = msb_xasprintf ("%llx:%llx:%s", (unsigned long long) st.st_dev,
                                                (unsigned long long) st.st_ino, name);
  name_hash (key, 12, out);
}

char *
msb_sandbox_dir_rel (const char *name)
{
  return msb_xasprintf ("sandboxes/%s", name);
}

char *
msb_sandbox_run_dir_rel (const char *name)
{
  char h[25];
  msb_name_hash12 (name, h);
  return msb_xasprintf ("run/sandboxes/%s", h);
}

char *
msb_sandbox_agent_sock_rel (const char *name)
{
  char h[25];
  msb_name_hash12 (name, h);
  return msb_xasprintf ("run/sandboxes/%s/agent.sock", h);
}

char *
msb_sandbox_control_sock_rel (const char *name)
{
  char h[25];
  msb_name_hash12 (name, h);
  return msb_xasprintf ("run/sandboxes/%s/control.sock", h);
}

char *
msb_sandbox_lock_rel (const char *name)
{
  char h[33];
  msb_name_hash16 (name, h);
  return msb_xasprintf ("run/locks/%s.lock", h);
}

char *
msb_sandbox_live_lock_rel (const char *name)
{
  char h[33];
  msb_name_hash16 (name, h);
  return msb_xasprintf ("run/locks/%s.live", h);
}
