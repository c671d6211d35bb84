/* The QEMU process of a vm sandbox: its command line and its start.
 *
 * Machine: `microvm` — no PCI, no firmware tables beyond what the kernel needs, virtio over
 * MMIO described by ACPI; direct kernel boot (an ELF vmlinux boots through its PVH entry, a
 * bzImage through the boot protocol). Guest RAM is a shared memfd because vhost-user
 * (virtiofsd) maps it. Devices: the serial console (logs/kernel.log), one virtio-serial port
 * named `agent` wired to the relay's socket, a vhost-user-fs device for the root and, with
 * volumes, one for them (fs_server.c), and with networking a virtio-net device whose frames
 * go to the runtime's network engine over a stream socket (runtime/net).
 *
 * Under TCG (no usable KVM): multi-threaded TCG, a 32 MiB translation cache (what boot
 * translates stays resident: the default 1 GiB grows with it; 16, 32 and 64 MiB boot and run
 * exec loops equally fast here, 32 MiB leaves room for heavier code), `-cpu max` so
 * images built for x86-64-v2/v3 run, and the host TSC frequency on the kernel command line
 * (tsc_early_khz): calibrating against the emulated PIT hangs one boot in five.
 * Under KVM: `-cpu host`.
 *
 * QEMU runs as the sandbox's unprivileged host uid (root of the sandbox maps to it), in the
 * sandbox's cgroup, in network, IPC and UTS namespaces of its own, with no_new_privs and
 * QEMU's own seccomp sandbox, so a guest that breaks out of the device model holds what the
 * sandbox's root already owns and no more. Everything
 * it needs is handed over as fds — the kernel and initramfs (opened by us: the build tree
 * may not be readable by that uid), both sockets, the console log — and /dev/kvm is reached
 * through its group.
 *
 * Must never: start QEMU as host root, or without the runtime's death killing it. */
#include "runtime/vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <msb/config.h>

#include "common/buf.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/vm/vm_child.h"

/* The fds QEMU finds its pieces at (after stdio). */
enum
{
  FD_AGENT = 3,
  FD_FS,
  FD_KERNEL,
  FD_INITRD,
  FD_VOLS,
  FD_NET,
  FD__COUNT
};

/* x86's COMMAND_LINE_SIZE is 2048; the kernel truncates beyond it. */
#define CMDLINE_MAX 2000

char *
msb_vm_mount_spec (unsigned flags, bool is_tmpfs, uint64_t size_mib, size_t index, const char *target)
{
  char f[8];
  size_t n = 0;
  if (flags & MSB_MOUNT_READONLY)
    f[n++] = 'r';
  if (flags & MSB_MOUNT_NOEXEC)
    f[n++] = 'x';
  if (flags & MSB_MOUNT_NOSUID)
    f[n++] = 's';
  if (flags & MSB_MOUNT_NODEV)
    f[n++] = 'd';
  if (n == 0)
    f[n++] = '-';
  f[n] = '\0';
  msb_buf t = MSB_BUF_INIT;
  for (const unsigned char *p = (const unsigned char *) target; *p; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
        || strchr ("/._-", *p))
      msb_buf_append_byte (&t, *p);
    else
      {
        char hex[4];
        snprintf (hex, sizeof hex, "%%%02X", *p);
        msb_buf_append (&t, hex, 3);
      }
  msb_buf_append_byte (&t, 0);
  char *spec = is_tmpfs ? msb_xasprintf ("%s,tmpfs%llu,%s", f, (unsigned long long) size_mib, (char *) t.data)
                        : msb_xasprintf ("%s,v%zu,%s", f, index, (char *) t.data);
  msb_buf_free (&t);
  return spec;
}

static char *
kernel_cmdline (const msb_vm_launch *l)
{
  /* quiet: the console is the sandbox's kernel.log, where a boot error must stand out.
   * panic=-1 + QEMU's -no-reboot: a guest that panics ends QEMU at once (reboot=t: by triple
   * fault, no firmware reboot path). cryptomgr.notests: the crypto self-tests alone cost
   * ~0.2 s under TCG. microvm has one UART and no PCI: probing more costs, and says so. */
  _msb_cleanup_free_ char *tsc = l->accel == MSB_VM_ACCEL_TCG && l->tsc_khz
                                     ? msb_xasprintf (" tsc_early_khz=%u", l->tsc_khz)
                                     : msb_xstrdup ("");
  msb_buf b = MSB_BUF_INIT;
  _msb_cleanup_free_ char *head
      = msb_xasprintf ("console=ttyS0 quiet panic=-1 reboot=t pci=off cryptomgr.notests 8250.nr_uarts=1"
                       "%s msb.vm=1 msb.root=%s msb.port=%s%s",
                       tsc, MSB_VM_ROOT_TAG, MSB_VM_AGENT_PORT, l->is_debug ? " msb.debug=1" : "");
  msb_buf_append (&b, head, strlen (head));
  if (l->vols_fd >= 0)
    msb_buf_append (&b, " msb.vols=" MSB_VM_VOLUMES_TAG, strlen (" msb.vols=" MSB_VM_VOLUMES_TAG));
  if (l->net_fd >= 0)
    {
      msb_buf_append (&b, " msb.net=", 9);
      msb_buf_append (&b, l->net_spec, strlen (l->net_spec));
    }
  for (size_t i = 0; l->mounts && l->mounts[i]; i++)
    {
      msb_buf_append (&b, " msb.vol=", 9);
      msb_buf_append (&b, l->mounts[i], strlen (l->mounts[i]));
    }
  msb_buf_append_byte (&b, 0);
  return (char *) b.data;
}

int
msb_vm_qemu_argv (const msb_vm_launch *l, char ***out, msb_error **err)
{
  char *cmdline = kernel_cmdline (l);
  if (strlen (cmdline) > CMDLINE_MAX)
    {
      free (cmdline);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                       "the volumes and mounts do not fit the guest kernel's command line (%d "
                       "bytes): use fewer or shorter mount paths",
                       CMDLINE_MAX);
    }
  char **v = msb_xcalloc (72, sizeof (char *));
  size_t n = 0;
#define ARG(...) (v[n++] = msb_xasprintf (__VA_ARGS__))
  ARG ("%s", l->host->qemu);
  ARG ("-name");
  ARG ("msb-%s,process=msb-vm", l->label);
  ARG ("-M");
  ARG ("microvm,x-option-roms=off,isa-serial=on,rtc=on,acpi=on,memory-backend=mem");
  ARG ("-accel");
  if (l->accel == MSB_VM_ACCEL_KVM)
    {
      ARG ("kvm");
      ARG ("-cpu");
      ARG ("host");
    }
  else
    {
      ARG ("tcg,thread=multi,tb-size=32");
      ARG ("-cpu");
      ARG ("max");
    }
  ARG ("-smp");
  ARG ("%u", l->cpus ? l->cpus : 1);
  ARG ("-m");
  ARG ("%uM", l->memory_mib);
  ARG ("-object");
  ARG ("memory-backend-memfd,id=mem,size=%uM,share=on", l->memory_mib);
  ARG ("-nodefaults");
  ARG ("-no-user-config");
  ARG ("-display");
  ARG ("none");
  ARG ("-no-reboot");
  ARG ("-chardev");
  ARG ("stdio,id=con,signal=off");
  ARG ("-serial");
  ARG ("chardev:con");
  ARG ("-kernel");
  ARG ("/proc/self/fd/%d", FD_KERNEL);
  ARG ("-initrd");
  ARG ("/proc/self/fd/%d", FD_INITRD);
  ARG ("-append");
  v[n++] = cmdline;
  ARG ("-global");
  ARG ("virtio-mmio.force-legacy=false");
  ARG ("-device");
  ARG ("virtio-serial-device,max_ports=2");
  ARG ("-chardev");
  ARG ("socket,id=agent,fd=%d", FD_AGENT);
  ARG ("-device");
  ARG ("virtserialport,chardev=agent,name=%s", MSB_VM_AGENT_PORT);
  ARG ("-chardev");
  ARG ("socket,id=fs,fd=%d", FD_FS);
  ARG ("-device");
  ARG ("vhost-user-fs-device,chardev=fs,tag=%s", MSB_VM_ROOT_TAG);
  if (l->vols_fd >= 0)
    {
      ARG ("-chardev");
      ARG ("socket,id=vols,fd=%d", FD_VOLS);
      ARG ("-device");
      ARG ("vhost-user-fs-device,chardev=vols,tag=%s", MSB_VM_VOLUMES_TAG);
    }
  /* The network: Ethernet frames, length-prefixed, over a stream socket to the runtime's
   * engine — the same policy path as the ns backend's TAP. */
  if (l->net_fd >= 0)
    {
      ARG ("-netdev");
      ARG ("stream,id=net0,server=off,addr.type=fd,addr.str=%d", FD_NET);
      ARG ("-device");
      ARG ("virtio-net-device,netdev=net0,mac=%02x:%02x:%02x:%02x:%02x:%02x", l->mac[0], l->mac[1],
           l->mac[2], l->mac[3], l->mac[4], l->mac[5]);
    }
  ARG ("-sandbox");
  ARG ("on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
#undef ARG
  v[n] = NULL;
  *out = v;
  return 0;
}

typedef struct qemu_child_ctx
{
  const msb_vm_launch *l;
  int fds[FD__COUNT];
  char *const *argv;
} qemu_child_ctx;

static void
qemu_child (msb_vm_child *c, void *arg)
{
  qemu_child_ctx *x = arg;
  const msb_vm_launch *l = x->l;
  msb_vm_child_arrange_fds (c, x->fds, FD__COUNT);
  gid_t groups[1] = { (gid_t) l->kvm_gid };
  if (setgroups (l->kvm_gid >= 0 ? 1 : 0, groups) < 0 || setresgid (l->gid, l->gid, l->gid) < 0
      || setresuid (l->uid, l->uid, l->uid) < 0)
    msb_vm_child_die (c, errno, "drop privileges to uid %u", (unsigned) l->uid);
  msb_vm_child_die_with_parent (c);
  if (prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    msb_vm_child_die (c, errno, "set no_new_privs");
  static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
  execve (l->host->qemu, x->argv, envp);
  msb_vm_child_die (c, errno, "execute `%s`", l->host->qemu);
}

int
msb_vm_qemu_start (const msb_vm_launch *l, msb_cgroup *cg, pid_t *pid, int *pidfd, msb_error **err)
{
  _msb_cleanup_close_ int kernel = open (l->host->kernel, O_RDONLY | O_CLOEXEC);
  if (kernel < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the guest kernel `%s`", l->host->kernel);
  _msb_cleanup_close_ int initrd = open (l->host->initramfs, O_RDONLY | O_CLOEXEC);
  if (initrd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open the guest initramfs `%s`",
                           l->host->initramfs);
  _msb_cleanup_close_ int null = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open /dev/null");
  _msb_cleanup_strv_ char **argv = NULL;
  if (msb_vm_qemu_argv (l, &argv, err) < 0)
    return -1;
  /* Without a volumes share or network their slots are /dev/null, which QEMU is not told
   * about. */
  qemu_child_ctx x = {
    .l = l,
    .fds = { null, l->console_fd, l->console_fd, l->agent_fd, l->fs_fd, kernel, initrd,
             l->vols_fd >= 0 ? l->vols_fd : null, l->net_fd >= 0 ? l->net_fd : null },
    .argv = argv,
  };
  /* Own network, IPC and UTS namespaces: QEMU reaches the network only through the engine's
   * socket it was given, and a compromised device model cannot open host sockets. */
  return msb_vm_spawn (cg, CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS, "QEMU", qemu_child, &x, pid,
                       pidfd, err);
}
