/* The filesystem plan of one boot (see volumes.h): what the runtime prepares before clone,
 * what it cleans up after, and the guest-side setup the sandbox's first process runs as the
 * sandbox's root — patches (first boot) and /.msb/scripts (every boot, so edits a sandbox
 * made to its scripts do not survive a restart). */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/volumes.h"
#include "runtime/rtlog.h"
#include "runtime/runtime.h"

/* Written in the sandbox directory once patches were applied: they run at the first boot. */
#define PATCHES_MARKER "patches.applied"

int msb_ns_volumes_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err);
int msb_ns_upper_disk_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err);
int msb_ns_patches_stage (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err);
int msb_ns_patches_apply (int root, const msb_ns_fs_plan *plan, msb_error **err);

int
msb_ns_fs_prepare (msb_runtime *rt, msb_ns_fs_plan *plan, msb_error **err)
{
  memset (plan, 0, sizeof *plan);
  plan->uid_base = rt->uid_base;
  plan->staging_fd = -1;
  plan->scripts = &rt->cfg->scripts;
  const msb_config_files *f = &rt->cfg->files;
  plan->patches = f->patches;
  plan->n_patches = f->n_patches;
  plan->apply_patches
      = f->n_patches > 0 && faccessat (rt->sandbox_dirfd, PATCHES_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) < 0;
  if (msb_ns_upper_disk_prepare (rt, plan, err) < 0 || msb_ns_volumes_prepare (rt, plan, err) < 0)
    return -1;
  if (plan->apply_patches && msb_ns_patches_stage (rt, plan, err) < 0)
    return msb_error_prefix (err, "prepare patches");
  return 0;
}

void
msb_ns_fs_plan_clear (msb_ns_fs_plan *plan)
{
  for (size_t i = 0; i < plan->n_mounts; i++)
    {
      msb_ns_mount_plan *m = &plan->mounts[i];
      if (m->idmap_fd >= 0)
        close (m->idmap_fd);
      free (m->target);
      free (m->source);
      free (m->what);
    }
  free (plan->mounts);
  if (plan->staging_fd >= 0)
    close (plan->staging_fd);
  free (plan->staging_rel);
  free (plan->upper_image);
  free (plan->upper_mnt);
  free (plan->upper_dir);
  free (plan->work_dir);
  memset (plan, 0, sizeof *plan);
  plan->staging_fd = -1;
}

void
msb_ns_fs_finish (msb_runtime *rt, msb_ns_fs_plan *plan, bool booted)
{
  if (booted && plan->apply_patches)
    {
      int fd = openat (rt->sandbox_dirfd, PATCHES_MARKER, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
      if (fd < 0)
        msb_rtlog (MSB_RT_WARN, "record applied patches: %s", strerror (errno));
      else
        close (fd);
    }
  if (plan->staging_rel)
    msb_rm_rf_at (rt->sandbox_dirfd, plan->staging_rel, NULL);
  msb_ns_fs_plan_clear (plan);
}

/* ---- guest side ------------------------------------------------------------------------- */

static int
write_scripts (int root, const msb_kvlist *scripts, msb_error **err)
{
  /* /.msb is the runtime directory bound by mounts.c; a sandbox owns its contents, so the
   * old scripts directory is removed without following anything it may have left there. */
  struct open_how how = { .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                          .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS };
  _msb_cleanup_close_ int msb = (int) syscall (SYS_openat2, root, ".msb", &how, sizeof how);
  if (msb < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /.msb");
  if (msb_rm_rf_at (msb, "scripts", err) < 0)
    return msb_error_prefix (err, "clear /.msb/scripts");
  if (scripts->n == 0)
    return 0;
  if (mkdirat (msb, "scripts", 0755) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create /.msb/scripts");
  _msb_cleanup_close_ int dir = openat (msb, "scripts", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /.msb/scripts");
  for (size_t i = 0; i < scripts->n; i++)
    {
      const msb_kv *s = &scripts->items[i];
      _msb_cleanup_close_ int fd
          = openat (dir, s->key, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0755);
      if (fd < 0 || msb_write_full (fd, s->value, strlen (s->value)) < 0 || fchmod (fd, 0755) < 0)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "write script /.msb/scripts/%s", s->key);
    }
  return 0;
}

int
msb_ns_guest_setup (const msb_ns_fs_plan *plan, msb_error **err)
{
  _msb_cleanup_close_ int root = open ("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the sandbox root");
  if (plan->apply_patches && msb_ns_patches_apply (root, plan, err) < 0)
    return -1;
  if (plan->scripts && write_scripts (root, plan->scripts, err) < 0)
    return -1;
  return 0;
}
