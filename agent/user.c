/* passwd/group parsing for exec user switching (see user.h). Reads the files whole, parses
 * them line by line, and never trusts a field: malformed lines are skipped, ids must be
 * plain decimals below (uid_t)-1. Allocates only what it returns. */
#include "agent/user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

/* An image's account database is small; anything bigger is hostile or broken. */
#define ACCOUNT_FILE_MAX (16u * 1024u * 1024u)
/* Far below the kernel's NGROUPS_MAX (65536): real accounts have tens of groups, and the
 * dedup below is quadratic in a list the image controls. */
#define GROUPS_MAX 4096u

/* One line split into at most `max` colon-separated fields (pointers into the line). */
static size_t
split_fields (char *line, char **fields, size_t max)
{
  size_t n = 0;
  fields[n++] = line;
  for (char *p = line; *p && n < max; p++)
    if (*p == ':')
      {
        *p = '\0';
        fields[n++] = p + 1;
      }
  return n;
}

/* Parses a decimal id; rejects signs, blanks, overflow and the reserved (id_t)-1. */
static bool
parse_id (const char *s, uint32_t *out)
{
  if (*s == '\0')
    return false;
  uint64_t v = 0;
  for (const char *p = s; *p; p++)
    {
      if (*p < '0' || *p > '9')
        return false;
      v = v * 10 + (uint64_t) (*p - '0');
      if (v >= UINT32_MAX)
        return false;
    }
  *out = (uint32_t) v;
  return true;
}

/* Reads an account file; a missing file reads as empty (scratch images have none). */
static int
read_account_file (const char *path, char **out, msb_error **err)
{
  size_t len = 0;
  if (msb_read_file_at (AT_FDCWD, path, ACCOUNT_FILE_MAX, out, &len, err) == 0)
    return 0;
  if (err && *err && msb_error_get_errno (*err) == ENOENT)
    {
      msb_error_clear (err);
      *out = msb_xstrdup ("");
      return 0;
    }
  return -1;
}

typedef struct passwd_entry
{
  bool found;
  char *name;
  uint32_t uid;
  uint32_t gid;
  char *home;
} passwd_entry;

/* Finds the first passwd line matching `name` (when not NULL) or `uid`. */
static void
passwd_find (char *data, const char *name, uint32_t uid, passwd_entry *out)
{
  char *save = NULL;
  for (char *line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[7];
      uint32_t u, g;
      if (split_fields (line, f, 7) < 7 || !parse_id (f[2], &u) || !parse_id (f[3], &g))
        continue;
      if (name ? strcmp (f[0], name) != 0 : u != uid)
        continue;
      out->found = true;
      out->name = msb_xstrdup (f[0]);
      out->uid = u;
      out->gid = g;
      out->home = msb_xstrdup (f[5]);
      return;
    }
}

static bool
member_list_contains (char *members, const char *name)
{
  char *save = NULL;
  for (char *m = strtok_r (members, ",", &save); m; m = strtok_r (NULL, ",", &save))
    if (strcmp (m, name) == 0)
      return true;
  return false;
}

static void
groups_add (agent_user *u, gid_t gid)
{
  for (size_t i = 0; i < u->n_groups; i++)
    if (u->groups[i] == gid)
      return;
  if (u->n_groups >= GROUPS_MAX)
    return;
  u->groups = msb_xrealloc (u->groups, (u->n_groups + 1) * sizeof (gid_t));
  u->groups[u->n_groups++] = gid;
}

/* Walks /etc/group once: resolves `group_name` (when not NULL) into *gid_out and collects
 * the groups listing `member` (when not NULL). Returns whether `group_name` was found. */
static bool
group_scan (char *data, const char *group_name, gid_t *gid_out, const char *member, agent_user *u)
{
  bool found = false;
  char *save = NULL;
  for (char *line = strtok_r (data, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
    {
      char *f[4];
      uint32_t g;
      if (split_fields (line, f, 4) < 4 || !parse_id (f[2], &g))
        continue;
      if (group_name && !found && strcmp (f[0], group_name) == 0)
        {
          *gid_out = g;
          found = true;
        }
      if (member && member_list_contains (f[3], member))
        groups_add (u, g);
    }
  return found;
}

static int
resolve_user_part (const char *user_part, const char *passwd_path, passwd_entry *pw,
                   msb_error **err)
{
  _msb_cleanup_free_ char *data = NULL;
  if (read_account_file (passwd_path, &data, err) < 0)
    return -1;
  uint32_t uid = 0;
  bool is_numeric = parse_id (user_part, &uid);
  passwd_find (data, is_numeric ? NULL : user_part, uid, pw);
  if (pw->found || is_numeric)
    {
      if (!pw->found)
        pw->uid = uid;
      return 0;
    }
  /* A scratch image without passwd still runs as root by name. */
  if (strcmp (user_part, "root") == 0)
    {
      pw->found = true;
      pw->name = msb_xstrdup ("root");
      pw->home = msb_xstrdup ("/root");
      return 0;
    }
  return msb_fail (err, MSB_ERR_EXEC_FAILED, "user `%s` not found in %s", user_part, passwd_path);
}

static int
resolve_groups (const char *group_part, const char *group_path, const passwd_entry *pw,
                agent_user *out, msb_error **err)
{
  _msb_cleanup_free_ char *data = NULL;
  if (read_account_file (group_path, &data, err) < 0)
    return -1;
  uint32_t gid = pw->found ? pw->gid : 0;
  bool is_named_group = group_part && !parse_id (group_part, &gid);
  agent_user memberships = { 0 };
  gid_t named_gid = 0;
  bool found = group_scan (data, is_named_group ? group_part : NULL, &named_gid,
                           pw->found ? pw->name : NULL, &memberships);
  if (is_named_group && !found)
    {
      free (memberships.groups);
      return msb_fail (err, MSB_ERR_EXEC_FAILED, "group `%s` not found in %s", group_part,
                       group_path);
    }
  out->gid = is_named_group ? named_gid : gid;
  /* Like initgroups(): the primary group first, then every group naming the user. */
  groups_add (out, out->gid);
  for (size_t i = 0; i < memberships.n_groups; i++)
    groups_add (out, memberships.groups[i]);
  free (memberships.groups);
  return 0;
}

int
agent_user_resolve (const char *spec, const char *passwd_path, const char *group_path,
                    agent_user *out, msb_error **err)
{
  memset (out, 0, sizeof *out);
  if (spec == NULL || *spec == '\0')
    spec = "root";
  _msb_cleanup_free_ char *user_part = msb_xstrdup (spec);
  char *group_part = strchr (user_part, ':');
  if (group_part)
    *group_part++ = '\0';
  if (*user_part == '\0' || (group_part && (*group_part == '\0' || strchr (group_part, ':'))))
    return msb_fail (err, MSB_ERR_EXEC_FAILED, "invalid user spec `%s`", spec);

  passwd_entry pw = { 0 };
  int r = resolve_user_part (user_part, passwd_path, &pw, err);
  if (r == 0)
    r = resolve_groups (group_part, group_path, &pw, out, err);
  out->uid = pw.uid;
  out->home = msb_steal_pointer (&pw.home);
  free (pw.name);
  if (r < 0)
    agent_user_clear (out);
  return r;
}

void
agent_user_clear (agent_user *u)
{
  free (u->groups);
  free (u->home);
  memset (u, 0, sizeof *u);
}
