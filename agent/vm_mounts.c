/* Volumes and tmpfs mounts of a vm guest, as the kernel command line describes them:
 *
 *   msb.vols=TAG                      virtiofs tag of the volumes share
 *   msb.vol=FLAGS,SOURCE,TARGET       one mount, in the order given (parents first)
 *     FLAGS   letters r (read-only), x (noexec), s (nosuid), d (nodev), or "-"
 *     SOURCE  vN: directory vN of the volumes share; tmpfs or tmpfsN: a tmpfs of N MiB
 *     TARGET  absolute path in the sandbox, bytes outside [A-Za-z0-9/._-] as %XX
 *
 * The host serves volumes from their own virtiofsd (cache=auto: another sandbox or the host
 * may change them), apart from the root's (cache=always: only this guest changes it), with
 * the id mappings of the ns backend already applied. Here each is bound at its target, and
 * tmpfs mounts are made in guest memory.
 *
 * Mount points are hostile (the image chose them): every component is opened inside the root
 * without following symlinks and created when missing, and the mount goes onto the resulting
 * fd, as runtime/ns/volumes.c does on the host. */
#include "agent/vm_init.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

static int
hex_digit (char c)
{
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static char *
percent_decode (const char *s)
{
  char *out = msb_xmalloc (strlen (s) + 1);
  size_t n = 0;
  for (; *s; s++)
    if (*s == '%' && hex_digit (s[1]) >= 0 && hex_digit (s[2]) >= 0)
      {
        out[n++] = (char) (hex_digit (s[1]) * 16 + hex_digit (s[2]));
        s += 2;
      }
    else
      out[n++] = *s;
  out[n] = '\0';
  return out;
}

/* Opens directory `target` under the root, creating missing components and refusing
 * symlinks and non-directories. */
static int
open_mountpoint (int rootfd, const char *target, msb_error **err)
{
  int cur = fcntl (rootfd, F_DUPFD_CLOEXEC, 3);
  if (cur < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the sandbox root");
  _msb_cleanup_free_ char *copy = msb_xstrdup (target);
  char *save = NULL;
  for (char *comp = strtok_r (copy, "/", &save); comp; comp = strtok_r (NULL, "/", &save))
    {
      if (strcmp (comp, "..") == 0 || strcmp (comp, ".") == 0)
        {
          close (cur);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG, "mount point %s is not normalised", target);
        }
      int next = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (next < 0 && errno == ENOENT)
        {
          if (mkdirat (cur, comp, 0755) < 0 && errno != EEXIST)
            {
              int saved = errno;
              close (cur);
              return msb_fail_errno (err, saved, MSB_ERR_GENERIC, "create mount point %s", target);
            }
          next = openat (cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
      int saved = errno;
      close (cur);
      if (next < 0)
        return saved == ELOOP || saved == ENOTDIR
                   ? msb_fail (err, MSB_ERR_INVALID_CONFIG,
                               "mount point %s: `%s` in the image is a symbolic link or not a "
                               "directory; refusing to mount there",
                               target, comp)
                   : msb_fail_errno (err, saved, MSB_ERR_GENERIC, "open mount point %s", target);
      cur = next;
    }
  return cur;
}

static unsigned long
flag_bits (const char *flags)
{
  unsigned long f = 0;
  for (const char *p = flags; *p; p++)
    f |= *p == 'r' ? MS_RDONLY : *p == 'x' ? MS_NOEXEC : *p == 's' ? MS_NOSUID : *p == 'd' ? MS_NODEV : 0;
  return f;
}

static int
mount_one (int rootfd, const char *vols_dir, const char *spec, msb_error **err)
{
  _msb_cleanup_free_ char *copy = msb_xstrdup (spec);
  char *flags = copy, *source = strchr (copy, ',');
  char *target_enc = source ? strchr (source + 1, ',') : NULL;
  if (source == NULL || target_enc == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "malformed msb.vol=%s", spec);
  *source++ = '\0';
  *target_enc++ = '\0';
  _msb_cleanup_free_ char *target = percent_decode (target_enc);
  if (target[0] != '/')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "mount target `%s` is not absolute", target);
  unsigned long bits = flag_bits (flags);
  _msb_cleanup_close_ int fd = open_mountpoint (rootfd, target, err);
  if (fd < 0)
    return -1;
  char at[32];
  snprintf (at, sizeof at, "/proc/self/fd/%d", fd);
  if (strncmp (source, "tmpfs", 5) == 0)
    {
      char opts[64] = "mode=1777";
      unsigned long mib = strtoul (source + 5, NULL, 10);
      if (mib)
        snprintf (opts, sizeof opts, "mode=1777,size=%lum", mib);
      if (mount ("tmpfs", at, "tmpfs", bits, opts) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount a tmpfs at %s", target);
      return 0;
    }
  if (vols_dir == NULL || source[0] != 'v' || strchr (source, '/'))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "mount source `%s` of %s", source, target);
  _msb_cleanup_free_ char *from = msb_xasprintf ("%s/%s", vols_dir, source);
  if (mount (from, at, NULL, MS_BIND, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "bind the volume at %s", target);
  /* The fd names the covered directory: reopen the path to reach the bind itself. */
  _msb_cleanup_close_ int top = open_mountpoint (rootfd, target, err);
  if (top < 0)
    return -1;
  snprintf (at, sizeof at, "/proc/self/fd/%d", top);
  if (bits && mount (NULL, at, NULL, MS_BIND | MS_REMOUNT | bits, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "set the flags of the volume at %s", target);
  return 0;
}

int
agent_vm_mount_volumes (int rootfd, const char *vols_dir, char *const *specs, msb_error **err)
{
  for (size_t i = 0; specs && specs[i]; i++)
    if (mount_one (rootfd, vols_dir, specs[i], err) < 0)
      return -1;
  return 0;
}
