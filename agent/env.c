/* Exec environment assembly (see env.h). */
#include "agent/env.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

typedef struct env_vec
{
  char **items;
  size_t len;
  size_t cap;
} env_vec;

static size_t
key_len (const char *entry)
{
  const char *eq = strchr (entry, '=');
  return eq ? (size_t) (eq - entry) : 0;
}

static ssize_t
env_find (const env_vec *v, const char *key, size_t klen)
{
  for (size_t i = 0; i < v->len; i++)
    if (strncmp (v->items[i], key, klen) == 0 && v->items[i][klen] == '=')
      return (ssize_t) i;
  return -1;
}

/* Sets "K=V" (taking ownership of `entry`), replacing an entry with the same key. */
static void
env_put (env_vec *v, char *entry)
{
  size_t klen = key_len (entry);
  ssize_t at = env_find (v, entry, klen);
  if (at >= 0)
    {
      free (v->items[at]);
      v->items[at] = entry;
      return;
    }
  if (v->len + 2 > v->cap)
    {
      v->cap = v->cap ? v->cap * 2 : 32;
      v->items = msb_xrealloc (v->items, v->cap * sizeof (char *));
    }
  v->items[v->len++] = entry;
  v->items[v->len] = NULL;
}

static void
env_put_all (env_vec *v, char *const *list)
{
  for (size_t i = 0; list && list[i]; i++)
    if (key_len (list[i]) > 0)
      env_put (v, msb_xstrdup (list[i]));
}

static bool
path_has_element (const char *path, const char *dir)
{
  size_t dlen = strlen (dir);
  for (const char *p = path; p; p = strchr (p, ':'), p = p ? p + 1 : NULL)
    if (strncmp (p, dir, dlen) == 0 && (p[dlen] == ':' || p[dlen] == '\0'))
      return true;
  return false;
}

static void
env_fix_path (env_vec *v)
{
  ssize_t at = env_find (v, "PATH", 4);
  const char *path = at >= 0 ? v->items[at] + 5 : AGENT_DEFAULT_PATH;
  if (path_has_element (path, AGENT_SCRIPTS_DIR))
    {
      if (at < 0)
        env_put (v, msb_xstrdup ("PATH=" AGENT_DEFAULT_PATH));
      return;
    }
  if (*path == '\0')
    env_put (v, msb_xstrdup ("PATH=" AGENT_SCRIPTS_DIR));
  else
    env_put (v, msb_xasprintf ("PATH=" AGENT_SCRIPTS_DIR ":%s", path));
}

char **
agent_env_build (char *const *base, char *const *overrides, const char *home, bool has_tty)
{
  env_vec v = { 0 };
  env_put_all (&v, base);
  env_put_all (&v, overrides);
  env_fix_path (&v);
  if (env_find (&v, "HOME", 4) < 0)
    env_put (&v, msb_xasprintf ("HOME=%s", home && *home ? home : "/"));
  if (has_tty && env_find (&v, "TERM", 4) < 0)
    env_put (&v, msb_xstrdup ("TERM=xterm"));
  return v.items;
}

const char *
agent_env_get (char *const *env, const char *key)
{
  size_t klen = strlen (key);
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], key, klen) == 0 && env[i][klen] == '=')
      return env[i] + klen + 1;
  return NULL;
}
