/* Capabilities of ns sandboxes. Root inside keeps Docker's default set, and only inside its
 * own user namespace — which owns none of the sandbox's other namespaces, so even these
 * cannot touch mounts, the network configuration or the hostname:
 *   CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP
 *   NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE
 * Everything else (SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, SYS_RAWIO, …) is dropped
 * from the bounding set, so no exec can regain it. Raw capset(2): no libcap dependency. */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

static const int kept[] = {
  CAP_CHOWN,   CAP_DAC_OVERRIDE, CAP_FSETID,  CAP_FOWNER,          CAP_MKNOD,
  CAP_NET_RAW, CAP_SETGID,       CAP_SETUID,  CAP_SETFCAP,         CAP_SETPCAP,
  CAP_NET_BIND_SERVICE,          CAP_SYS_CHROOT, CAP_KILL,         CAP_AUDIT_WRITE,
};

static bool
is_kept (int cap)
{
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    if (kept[i] == cap)
      return true;
  return false;
}

static int
last_cap (void)
{
  _msb_cleanup_free_ char *v = NULL;
  if (msb_read_file_at (AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &v, NULL, NULL) < 0)
    return CAP_LAST_CAP;
  return atoi (v);
}

int
msb_ns_caps_drop (msb_error **err)
{
  int last = last_cap ();
  for (int cap = 0; cap <= last; cap++)
    if (!is_kept (cap) && prctl (PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
      return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "drop capability %d from bounding set", cap);
  if (prctl (PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "clear ambient capabilities");
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
  for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
    {
      int cap = kept[i];
      data[cap / 32].effective |= 1u << (cap % 32);
      data[cap / 32].permitted |= 1u << (cap % 32);
      data[cap / 32].inheritable |= 1u << (cap % 32);
    }
  if (syscall (SYS_capset, &hdr, data) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "set capabilities");
  return 0;
}
