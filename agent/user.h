/* Resolution of an exec `user` spec against the sandbox's own /etc/passwd and /etc/group.
 * The agent is static, so NSS is not an option — and it must not be: NSS would load modules
 * chosen by the image. Forms: name, uid, name:group, uid:gid, name:gid, uid:group. */
#ifndef MSB_AGENT_USER_H
#define MSB_AGENT_USER_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

typedef struct agent_user
{
  uid_t uid;
  gid_t gid;
  gid_t *groups;   /* supplementary groups: the primary gid, then /etc/group memberships */
  size_t n_groups;
  char *home;      /* passwd home directory; NULL when the uid has no passwd entry */
} agent_user;

/* Resolves `spec` (NULL or "" = root) reading `passwd_path` and `group_path`.
 * A name that is not in the file fails (MSB_ERR_EXEC_FAILED); a numeric uid without an entry
 * gets the given gid, or 0. */
int agent_user_resolve (const char *spec, const char *passwd_path, const char *group_path,
                        agent_user *out, msb_error **err);

void agent_user_clear (agent_user *u);

#endif
