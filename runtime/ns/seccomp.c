/* The default seccomp filter of ns sandboxes: allow by default, refuse (EPERM) the system
 * calls a sandbox has no business making and that widen the kernel's attack surface —
 * the same families Docker's and Podman's default profiles refuse. Only the native x86-64 ABI
 * is allowed; 32-bit and x32 entry points kill the process (their tables have a long CVE
 * history and bypass filters written for the native numbers).
 *
 * Refused: kernel modules and kexec; keyrings; bpf and perf_event_open; io_uring; mount and
 * the new mount API, pivot_root, swapon/off, reboot, acct, quotactl; clock and time setting;
 * namespace creation and joining (unshare/clone with CLONE_NEW*, setns; clone3 reports
 * ENOSYS so libc falls back to clone, whose flags can be inspected); open_by_handle_at
 * (the "shocker" escape); userfaultfd; kernel log access; obsolete calls (uselib, ustat, sysfs, nfsservctl, vm86…).
 * ptrace stays allowed (debuggers work); it cannot reach outside the pid namespace. */
#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <stddef.h>

#include "common/error.h"
#include "runtime/ns/ns.h"

static const char *const refused[] = {
  "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module",
  "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "init_module",
  "io_uring_enter", "io_uring_register", "io_uring_setup", "kexec_file_load", "kexec_load",
  "keyctl", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "nfsservctl",
  "open_by_handle_at", "open_tree", "perf_event_open", "pivot_root", "query_module", "quotactl",
  "quotactl_fd", "reboot", "request_key", "setns", "settimeofday", "stime", "swapoff", "swapon",
  "sysfs", "_sysctl", "syslog", "umount", "umount2", "uselib", "userfaultfd", "ustat", "vm86",
  "vm86old", "iopl", "ioperm", "adjtimex", "fanotify_init", "lsm_set_self_attr",
};

#define NS_FLAGS                                                                            \
  (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET \
   | CLONE_NEWCGROUP)

static int
refuse_namespace_flags (scmp_filter_ctx ctx)
{
  /* A new user namespace needs no capability at all: this is the rule that matters. */
  for (unsigned long bit = 1; bit; bit <<= 1)
    {
      if (!(bit & NS_FLAGS))
        continue;
      int r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (unshare), 1,
                                SCMP_A0 (SCMP_CMP_MASKED_EQ, bit, bit));
      if (r == 0)
        r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), SCMP_SYS (clone), 1,
                              SCMP_A0 (SCMP_CMP_MASKED_EQ, bit, bit));
      if (r < 0)
        return r;
    }
  return seccomp_rule_add (ctx, SCMP_ACT_ERRNO (ENOSYS), SCMP_SYS (clone3), 0);
}

int
msb_ns_seccomp_load (msb_error **err)
{
  scmp_filter_ctx ctx = seccomp_init (SCMP_ACT_ALLOW);
  if (ctx == NULL)
    return msb_fail (err, MSB_ERR_GENERIC, "seccomp: init failed");
  int r = seccomp_attr_set (ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  for (size_t i = 0; r == 0 && i < sizeof refused / sizeof refused[0]; i++)
    {
      int nr = seccomp_syscall_resolve_name (refused[i]);
      if (nr == __NR_SCMP_ERROR || nr < 0)
        continue; /* not a syscall on this architecture */
      r = seccomp_rule_add (ctx, SCMP_ACT_ERRNO (EPERM), nr, 0);
    }
  if (r == 0)
    r = refuse_namespace_flags (ctx);
  if (r == 0)
    r = seccomp_load (ctx);
  seccomp_release (ctx);
  if (r < 0)
    return msb_fail_errno (err, -r, MSB_ERR_GENERIC, "seccomp: load the default filter");
  return 0;
}
