/* `msb doctor [--format json]` (alias `info`): what this host offers the two isolation
 * backends and which one `auto` picks. Every check is made the way a sandbox would need it — the user namespace
 * and idmapped mount on the filesystem of MSB_HOME, KVM by running a vCPU — and none leaves
 * anything behind (the idmapped mount is a detached clone that is never attached).
 * Exit status 0 when at least one backend can run here. */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/backend.h"
#include "runtime/ns/cgroup.h"
#include "runtime/ns/ns.h"
#include "runtime/runtime.h"
#include "runtime/vm/vm.h"

#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif

typedef struct check
{
  bool ok;
  char detail[512];
} check;

static void
set (check *c, bool ok, const char *fmt, ...) __attribute__ ((format (printf, 3, 4)));

static void
set (check *c, bool ok, const char *fmt, ...)
{
  c->ok = ok;
  va_list ap;
  va_start (ap, fmt);
  vsnprintf (c->detail, sizeof c->detail, fmt, ap);
  va_end (ap);
}

static void
check_userns (check *c)
{
  _msb_cleanup_free_ char *max = NULL;
  msb_read_file_at (AT_FDCWD, "/proc/sys/user/max_user_namespaces", 64, &max, NULL, NULL);
  if (max)
    max[strcspn (max, "\n")] = '\0';
  if (access ("/proc/self/ns/user", F_OK) < 0)
    set (c, false, "the kernel has none");
  else if (max && strcmp (max, "0") == 0)
    set (c, false, "disabled (user.max_user_namespaces = 0)");
  else
    set (c, true, "yes (max %s)", max ? max : "?");
}

/* The existing directory nearest to MSB_HOME: the layer cache lives on its filesystem. */
static char *
home_probe_dir (void)
{
  const char *env = getenv ("MSB_HOME");
  char *p = env && *env ? msb_xstrdup (env)
                        : msb_xasprintf ("%s/.microsandbox", getenv ("HOME") ? getenv ("HOME") : "/");
  struct stat st;
  while (stat (p, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      char *slash = strrchr (p, '/');
      if (slash == NULL || slash == p)
        {
          free (p);
          return msb_xstrdup ("/");
        }
      *slash = '\0';
    }
  return p;
}

static void
check_idmap (check *c, bool is_root)
{
  if (!is_root)
    {
      set (c, false, "not checked (needs root)");
      return;
    }
  _msb_cleanup_free_ char *dir = home_probe_dir ();
  _msb_cleanup_close_ int userns = -1;
  msb_error *e = NULL;
  if (msb_ns_userns_create (MSB_UID_BASE_DEFAULT, MSB_UID_RANGE_SIZE, &userns, &e) < 0)
    {
      set (c, false, "no user namespace: %s", msb_error_get_message (e));
      msb_error_free (e);
      return;
    }
  _msb_cleanup_close_ int tree
      = (int) syscall (SYS_open_tree, AT_FDCWD, dir, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    {
      set (c, false, "open_tree(%s): %s", dir, strerror (errno));
      return;
    }
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t) userns };
  if (syscall (SYS_mount_setattr, tree, "", AT_EMPTY_PATH, &attr, sizeof attr) < 0)
    set (c, false, "not on the filesystem of %s: %s (needs Linux >= 5.19 and ext4, xfs, btrfs or "
                   "tmpfs)",
         dir, strerror (errno));
  else
    set (c, true, "yes (on the filesystem of %s)", dir);
}

static void
check_cgroups (check *c)
{
  const msb_cg_layout *l = msb_cg_layout_get ();
  if (l->unified)
    {
      set (c, true, "v2 (unified, %s)", l->v2_mount);
      return;
    }
  static const char *const names[] = { "memory", "cpu", "cpuacct", "pids", "blkio" };
  char v1[128] = "";
  for (int i = 0; i < MSB_CG__COUNT; i++)
    if (l->v1_mounts[i])
      snprintf (v1 + strlen (v1), sizeof v1 - strlen (v1), "%s%s", v1[0] ? " " : "", names[i]);
  if (v1[0] == '\0' && l->v2_mount == NULL)
    set (c, false, "none mounted");
  else if (l->v2_mount)
    set (c, true, "hybrid (v1: %s; v2 without controllers at %s)", v1[0] ? v1 : "none", l->v2_mount);
  else
    set (c, true, "v1 (%s)", v1);
}

static void
check_backend (check *c, const msb_backend *b)
{
  msb_error *e = NULL;
  if (b->probe (&e) < 0)
    {
      set (c, false, "%s", msb_error_get_message (e));
      msb_error_free (e);
    }
  else
    set (c, true, "usable");
}

static void
row (const char *what, const check *c)
{
  printf ("  %-18s %s %s\n", what, c->ok ? "ok  " : "no  ", c->detail);
}

static json_t *
jcheck (const check *c)
{
  return json_pack ("{s:b, s:s}", "ok", c->ok, "detail", c->detail);
}

int
cli_doctor (int argc, char **argv)
{
  bool json = false;
  for (int i = 1; i < argc; i++)
    if ((strcmp (argv[i], "--format") == 0 && i + 1 < argc && strcmp (argv[++i], "json") == 0)
        || strcmp (argv[i], "--format=json") == 0)
      json = true;
    else if (strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "--help") == 0)
      {
        printf ("usage: msb doctor [--format json]\n"
                "  what this host offers the ns and vm backends, and what `auto` picks\n");
        return 0;
      }
    else if (strcmp (argv[i], "--fix") == 0)
      fprintf (stderr, "msb: doctor: nothing here is fixed automatically; the checks say what "
                       "to change\n");
    else
      return cli_failf (1, "doctor: unknown argument `%s`", argv[i]);

  bool is_root = geteuid () == 0;
  struct utsname u;
  uname (&u);
  check root, userns, idmap, cgroups, kvm, tools, ns, vm;
  set (&root, is_root, "%s", is_root ? "yes" : "no: both backends need root");
  check_userns (&userns);
  check_idmap (&idmap, is_root);
  check_cgroups (&cgroups);
  char why[256] = "";
  bool kvm_ok = msb_vm_kvm_usable_fresh (why, sizeof why);
  set (&kvm, kvm_ok, "%s", kvm_ok ? "usable (/dev/kvm runs a vCPU at hardware speed)" : why);
  msb_vm_host host;
  msb_error *e = NULL;
  if (msb_vm_host_resolve (NULL, &host, &e) < 0)
    {
      set (&tools, false, "%s", msb_error_get_message (e));
      msb_error_free (e);
      memset (&host, 0, sizeof host);
    }
  else
    set (&tools, true, "QEMU %s, virtiofsd %s, kernel %s, initramfs %s", host.qemu, host.virtiofsd,
         host.kernel, host.initramfs);
  check_backend (&ns, &msb_backend_ns);
  check_backend (&vm, &msb_backend_vm);
  if (vm.ok)
    {
      msb_vm_accel accel = MSB_VM_ACCEL_TCG;
      msb_vm_accel_choose (&accel, NULL);
      snprintf (vm.detail, sizeof vm.detail, "usable (accelerator: %s)", msb_vm_accel_name (accel));
    }
  const msb_backend *chosen = NULL;
  msb_error *se = NULL;
  const char *pick = msb_backend_select ("auto", &chosen, &se) == 0 ? chosen->name : "none";
  msb_error_free (se);
  char auto_why[300];
  if (strcmp (pick, "vm") == 0)
    snprintf (auto_why, sizeof auto_why, "vm (KVM usable, QEMU and guest files found)");
  else
    snprintf (auto_why, sizeof auto_why, "ns (vm needs %s)",
              !kvm_ok ? "a usable KVM" : !tools.ok ? "QEMU, virtiofsd and the guest files" : "root");
  const char *env = getenv ("MSB_BACKEND");

  if (json)
    {
      json_t *j = json_pack ("{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:{s:o, s:o}, s:s, s:s?}",
                             "kernel", u.release, "arch", u.machine, "root", jcheck (&root),
                             "user_namespaces", jcheck (&userns), "idmapped_mounts", jcheck (&idmap),
                             "cgroups", jcheck (&cgroups), "kvm", jcheck (&kvm), "vm_files",
                             jcheck (&tools), "backends", "ns", jcheck (&ns), "vm", jcheck (&vm),
                             "auto", pick, "MSB_BACKEND", env && *env ? env : NULL);
      cli_print_json (j, false);
      json_decref (j);
    }
  else
    {
      printf ("host: Linux %s (%s)\n", u.release, u.machine);
      row ("root", &root);
      row ("user namespaces", &userns);
      row ("idmapped mounts", &idmap);
      row ("cgroups", &cgroups);
      row ("KVM", &kvm);
      row ("QEMU & guest", &tools);
      printf ("backends:\n");
      row ("ns", &ns);
      row ("vm", &vm);
      printf ("  %-18s %s\n", "auto", auto_why);
      if (env && *env)
        printf ("  %-18s %s (MSB_BACKEND)\n", "selected", env);
    }
  msb_vm_host_clear (&host);
  return ns.ok || vm.ok ? 0 : 1;
}
