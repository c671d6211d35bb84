/* The credential files of secrets/registries/. */
#include "lib/image/registry_creds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/globalconfig.h"
#include "lib/image/registry_auth.h"

#define CREDS_DIR "secrets/registries"
#define CREDS_MAX (64u << 10)

int
msb_registry_creds_host (const char *host, char **norm, msb_error **err)
{
  *norm = NULL;
  if (host == NULL || *host == '\0' || strlen (host) > 255)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "a registry host is required (e.g. ghcr.io)");
  /* "https://ghcr.io/" as docker accepts it. */
  const char *h = host;
  if (strncmp (h, "https://", 8) == 0)
    h += 8;
  else if (strncmp (h, "http://", 7) == 0)
    h += 7;
  size_t n = strcspn (h, "/");
  _msb_cleanup_free_ char *bare = msb_xstrndup (h, n);
  if (h[n] == '/' && h[n + 1] != '\0' && strcmp (h + n, "/v1/") != 0 && strcmp (h + n, "/v2/") != 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "registry `%s`: give a host, not a path", host);
  if (*bare == '\0' || *bare == '.' || *bare == '-')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "registry `%s` is not a host name", host);
  for (const char *p = bare; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
          || strchr (".-:[]_", *p)))
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "registry `%s` is not a host[:port]", host);
  *norm = msb_registry_host_normalize (bare);
  return 0;
}

static int
open_dir (const msb_home *home, bool create, int *out, msb_error **err)
{
  if (create)
    {
      if (msb_mkdir_p_at (home->root_fd, CREDS_DIR, 0700, err) < 0)
        return msb_error_prefix (err, "create %s/%s", home->root, CREDS_DIR);
      /* Secrets live in a directory only the owner can list, whatever the umask was. */
      if (fchmodat (home->root_fd, "secrets", 0700, 0) < 0
          || fchmodat (home->root_fd, CREDS_DIR, 0700, 0) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_IO, "restrict %s/%s", home->root, CREDS_DIR);
    }
  int fd = openat (home->root_fd, CREDS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT && !create
               ? (*out = -1, 0)
               : msb_fail_errno (err, errno, MSB_ERR_IO, "open %s/%s", home->root, CREDS_DIR);
  *out = fd;
  return 0;
}

static char *
file_name (const char *norm)
{
  return msb_xasprintf ("%s.json", norm);
}

int
msb_registry_creds_store (const msb_home *home, const char *host, const char *username,
                          const char *password, msb_error **err)
{
  _msb_cleanup_free_ char *norm = NULL;
  if (msb_registry_creds_host (host, &norm, err) < 0)
    return -1;
  if (username == NULL || *username == '\0' || strchr (username, ':'))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "a user name (without ':') is required");
  if (password == NULL || *password == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "a password is required");
  _msb_cleanup_close_ int dfd = -1;
  if (open_dir (home, true, &dfd, err) < 0)
    return -1;
  json_t *doc = json_pack ("{s:s, s:s}", "username", username, "password", password);
  if (doc == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "user name and password must be UTF-8");
  char *text = json_dumps (doc, JSON_COMPACT);
  json_decref (doc);
  _msb_cleanup_free_ char *name = file_name (norm);
  _msb_cleanup_free_ char *tmp = msb_xasprintf (".%s.tmp.%d", name, (int) getpid ());
  unlinkat (dfd, tmp, 0);
  _msb_cleanup_close_ int fd
      = openat (dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  int r = 0;
  if (fd < 0)
    r = msb_fail_errno (err, errno, MSB_ERR_IO, "create credentials of `%s`", norm);
  else if (fchmod (fd, 0600) < 0 || msb_write_full (fd, text, strlen (text)) < 0 || fsync (fd) < 0
           || renameat (dfd, tmp, dfd, name) < 0)
    {
      r = msb_fail_errno (err, errno, MSB_ERR_IO, "write credentials of `%s`", norm);
      unlinkat (dfd, tmp, 0);
    }
  msb_secret_free (text);
  return r;
}

int
msb_registry_creds_load (const msb_home *home, const char *host, char **username,
                         char **password, msb_error **err)
{
  *username = *password = NULL;
  _msb_cleanup_free_ char *norm = NULL;
  if (msb_registry_creds_host (host, &norm, err) < 0)
    return -1;
  _msb_cleanup_close_ int dfd = -1;
  if (open_dir (home, false, &dfd, err) < 0)
    return -1;
  if (dfd < 0)
    return 0;
  _msb_cleanup_free_ char *name = file_name (norm);
  char *data = NULL;
  size_t len = 0;
  msb_error *rerr = NULL;
  if (msb_read_file_at (dfd, name, CREDS_MAX, &data, &len, &rerr) < 0)
    {
      int e = msb_error_get_errno (rerr);
      msb_error_free (rerr);
      if (e == ENOENT)
        return 0;
      return msb_fail_errno (err, e, MSB_ERR_IO, "read stored credentials of `%s`", norm);
    }
  json_error_t jerr;
  json_t *doc = json_loadb (data, len, 0, &jerr);
  explicit_bzero (data, len);
  free (data);
  const char *u = json_string_value (json_object_get (doc, "username"));
  const char *p = json_string_value (json_object_get (doc, "password"));
  int r = 0;
  if (u == NULL || p == NULL)
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG,
                  "stored credentials of `%s` are damaged: log in again (msb registry login %s)",
                  norm, norm);
  else
    {
      *username = msb_xstrdup (u);
      *password = msb_xstrdup (p);
    }
  /* jansson keeps its own copy of the password: wipe it before the object is freed. */
  json_t *pv = json_object_get (doc, "password");
  if (json_is_string (pv))
    explicit_bzero ((char *) json_string_value (pv), json_string_length (pv));
  json_decref (doc);
  return r;
}

int
msb_registry_creds_remove (const msb_home *home, const char *host, bool *existed,
                           msb_error **err)
{
  if (existed)
    *existed = false;
  _msb_cleanup_free_ char *norm = NULL;
  if (msb_registry_creds_host (host, &norm, err) < 0)
    return -1;
  _msb_cleanup_close_ int dfd = -1;
  if (open_dir (home, false, &dfd, err) < 0)
    return -1;
  if (dfd < 0)
    return 0;
  _msb_cleanup_free_ char *name = file_name (norm);
  if (unlinkat (dfd, name, 0) < 0)
    return errno == ENOENT ? 0
                           : msb_fail_errno (err, errno, MSB_ERR_IO,
                                             "remove stored credentials of `%s`", norm);
  if (existed)
    *existed = true;
  return 0;
}

static int
compare_str (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

int
msb_registry_creds_list (const msb_home *home, char ***hosts, char ***usernames, msb_error **err)
{
  *hosts = msb_xcalloc (1, sizeof (char *));
  *usernames = msb_xcalloc (1, sizeof (char *));
  _msb_cleanup_close_ int dfd = -1;
  if (open_dir (home, false, &dfd, err) < 0)
    return -1;
  if (dfd < 0)
    return 0;
  int dup_fd = dup (dfd);
  _msb_cleanup_dir_ DIR *d = dup_fd >= 0 ? fdopendir (dup_fd) : NULL;
  if (d == NULL)
    {
      if (dup_fd >= 0)
        close (dup_fd);
      return msb_fail_errno (err, errno, MSB_ERR_IO, "list stored registry credentials");
    }
  size_t n = 0;
  struct dirent *de;
  char **found = msb_xcalloc (1, sizeof (char *));
  while ((de = readdir (d)) != NULL)
    {
      size_t len = strlen (de->d_name);
      if (de->d_name[0] == '.' || len <= 5 || strcmp (de->d_name + len - 5, ".json") != 0)
        continue;
      found = msb_xrealloc (found, (n + 2) * sizeof (char *));
      found[n++] = msb_xstrndup (de->d_name, len - 5);
      found[n] = NULL;
    }
  qsort (found, n, sizeof (char *), compare_str);
  free (*hosts);
  free (*usernames);
  *hosts = found;
  *usernames = msb_xcalloc (n + 1, sizeof (char *));
  for (size_t i = 0; i < n; i++)
    {
      char *u = NULL, *p = NULL;
      if (msb_registry_creds_load (home, found[i], &u, &p, NULL) == 0 && u)
        (*usernames)[i] = u;
      else
        (*usernames)[i] = msb_xstrdup ("?");
      msb_secret_free (p);
    }
  return 0;
}
