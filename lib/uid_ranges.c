/* Host-wide claims on sandbox uid ranges.
 *
 * A sandbox's slot picks its 65,536 host uids (runtime.h). Slots are allocated in each state
 * root's database, but every MSB_HOME on a host maps into the same uid space: two roots'
 * sandboxes must never share a range, or root in one would own the other's files on the host
 * and share its per-uid limits. So a slot is also claimed in one directory per host,
 * /var/lib/msb/uid-ranges ($MSB_UID_RANGES_DIR for tests), as a file per slot naming the
 * state root (its device and inode, and its path) and the sandbox; every change happens under
 * an exclusive flock of the directory. A claim whose state root or sandbox directory is gone
 * (the root was deleted, or a remove was interrupted) is stale and is taken over; a remove
 * releases its claim.
 *
 * Root only: without root there is no ns or vm backend, and a user could not write the
 * directory anyway. Must never: fail a create because the directory is unusable — claims are
 * then off and slots are per state root, as before they existed. */
#include "lib/uid_ranges.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <stdint.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/runtime.h"

#define DEFAULT_DIR "/var/lib/msb/uid-ranges"
#define CLAIM_MAX 8192

static const char *
claims_dir (void)
{
  const char *d = getenv ("MSB_UID_RANGES_DIR");
  return d && *d ? d : DEFAULT_DIR;
}

void
msb_uid_ranges_open (msb_uid_ranges *r)
{
  r->dir_fd = -1;
  if (geteuid () != 0 || msb_mkdir_p_at (AT_FDCWD, claims_dir (), 0700, NULL) < 0)
    return;
  int fd = open (claims_dir (), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd < 0)
    return;
  /* Only a directory root alone can write is trusted with the host's uid ranges. */
  if (fstat (fd, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022) || flock (fd, LOCK_EX) < 0)
    {
      close (fd);
      return;
    }
  r->dir_fd = fd;
}

void
msb_uid_ranges_close (msb_uid_ranges *r)
{
  if (r->dir_fd >= 0)
    close (r->dir_fd); /* and the flock with it */
  r->dir_fd = -1;
}

/* A state root's identity, "<dev>:<ino>": the same whatever path spells it. */
static bool
identity_of (int fd, char out[64])
{
  struct stat st;
  if (fstat (fd, &st) < 0)
    return false;
  snprintf (out, 64, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
  return true;
}

/* "<identity>\n<root path>\n<name>\n": who holds a slot. */
static char *
claim_text (const msb_home *home, const char *name)
{
  char identity[64];
  if (!identity_of (home->root_fd, identity))
    return NULL;
  return msb_xasprintf ("%s\n%s\n%s\n", identity, home->root, name);
}

typedef struct claim
{
  char *text;
  char *identity, *root, *name; /* into text */
} claim;

static void
claim_clear (claim *c)
{
  free (c->text);
  memset (c, 0, sizeof *c);
}

/* false: no claim, or one too damaged to name a holder (then it is anyone's). */
static bool
read_claim (int dir_fd, int slot, claim *c)
{
  memset (c, 0, sizeof *c);
  char file[16];
  snprintf (file, sizeof file, "%d", slot);
  size_t n = 0;
  if (msb_read_file_at (dir_fd, file, CLAIM_MAX, &c->text, &n, NULL) < 0)
    return false;
  char *save = NULL;
  c->identity = strtok_r (c->text, "\n", &save);
  c->root = strtok_r (NULL, "\n", &save);
  c->name = strtok_r (NULL, "\n", &save);
  if (c->identity && c->root && c->name)
    return true;
  claim_clear (c);
  return false;
}

/* Does any process run with a uid of the slot's range (the agent of a running sandbox, a
 * VM's QEMU)? /proc/<pid> belongs to the process's effective uid. */
static bool
range_in_use (int slot)
{
  uint32_t base = msb_uid_base_for_slot (slot);
  _msb_cleanup_dir_ DIR *proc = opendir ("/proc");
  if (proc == NULL)
    return true; /* unsure: keep the claim */
  struct dirent *e;
  while ((e = readdir (proc)) != NULL)
    {
      struct stat st;
      if (e->d_name[0] < '1' || e->d_name[0] > '9'
          || fstatat (dirfd (proc), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (st.st_uid >= base && st.st_uid - base < MSB_UID_RANGE_SIZE)
        return true;
    }
  return false;
}

/* Its state root at its path (the same directory), with the sandbox's directory. */
static bool
claim_files_exist (const claim *c)
{
  _msb_cleanup_close_ int root = open (c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char identity[64];
  if (root < 0 || !identity_of (root, identity))
    return errno != ENOENT && errno != ENOTDIR; /* unsure: keep the claim */
  if (strcmp (identity, c->identity) != 0)
    return false; /* another state root now lives at that path */
  _msb_cleanup_free_ char *dir = msb_xasprintf ("sandboxes/%s", c->name);
  return faccessat (root, dir, F_OK, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT;
}

/* Is the holder still there: its state root at its path, with the sandbox's directory — or,
 * when its state root was deleted under a running sandbox, processes in its range? */
static bool
holder_exists (const claim *c, int slot)
{
  if (claim_files_exist (c))
    return true;
  return range_in_use (slot);
}

static bool
is_holder (const claim *c, const msb_home *home, const char *name)
{
  char identity[64];
  return identity_of (home->root_fd, identity) && strcmp (identity, c->identity) == 0
         && strcmp (name, c->name) == 0;
}

bool
msb_uid_ranges_available (msb_uid_ranges *r, int slot, const msb_home *home, const char *name)
{
  if (r->dir_fd < 0)
    return true;
  claim c;
  if (!read_claim (r->dir_fd, slot, &c))
    return true;
  bool ok = is_holder (&c, home, name) || !holder_exists (&c, slot);
  claim_clear (&c);
  return ok;
}

int
msb_uid_ranges_claim (msb_uid_ranges *r, int slot, const msb_home *home, const char *name,
                      msb_error **err)
{
  if (r->dir_fd < 0)
    return 0;
  _msb_cleanup_free_ char *text = claim_text (home, name);
  if (text == NULL)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "claim uid range %d: stat the state root", slot);
  char file[16];
  snprintf (file, sizeof file, "%d", slot);
  /* No fsync (it would cost every create a journal commit): readers hold the lock, and a
   * claim a crash damages reads as no claim; the sandbox's next boot claims its range again. */
  _msb_cleanup_close_ int fd
      = openat (r->dir_fd, file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0 || msb_write_full (fd, text, strlen (text)) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "claim uid range %d in %s", slot, claims_dir ());
  return 0;
}

void
msb_uid_ranges_release (int slot, const msb_home *home, const char *name)
{
  msb_uid_ranges r;
  msb_uid_ranges_open (&r);
  claim c;
  if (r.dir_fd >= 0 && read_claim (r.dir_fd, slot, &c))
    {
      if (is_holder (&c, home, name))
        {
          char file[16];
          snprintf (file, sizeof file, "%d", slot);
          unlinkat (r.dir_fd, file, 0);
        }
      claim_clear (&c);
    }
  msb_uid_ranges_close (&r);
}

bool
msb_uid_ranges_ensure (int slot, const msb_home *home, const char *name, char *holder,
                       size_t holder_len)
{
  msb_uid_ranges r;
  msb_uid_ranges_open (&r);
  bool ok = true, mine = false;
  claim c;
  if (r.dir_fd >= 0 && read_claim (r.dir_fd, slot, &c))
    {
      mine = is_holder (&c, home, name);
      if (!mine && holder_exists (&c, slot))
        {
          ok = false;
          snprintf (holder, holder_len, "sandbox `%s` of %s", c.name, c.root);
        }
      claim_clear (&c);
    }
  if (ok && !mine)
    msb_uid_ranges_claim (&r, slot, home, name, NULL);
  msb_uid_ranges_close (&r);
  return ok;
}
