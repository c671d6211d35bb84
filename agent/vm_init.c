/* Guest init of the vm backend (see vm_init.h). Runs as PID 1 of the guest, as real root of a
 * kernel that belongs to the sandbox alone: the VM, not this code, is the isolation boundary,
 * and what it builds only has to match the sandbox the ns backend gives — the same /dev,
 * /proc masks, /sys and /.msb (the host already bound /.msb, volumes and the writable layer
 * into the shared root, with the sandbox's uid mapping, before QEMU started).
 *
 * Kernel command line (written by runtime/vm/qemu.c):
 *   msb.vm=1            this kernel boots an msb sandbox (required)
 *   msb.root=TAG        virtiofs tag of the root (default msbroot)
 *   msb.port=NAME       virtio-serial port of the host channel (default agent)
 *   msb.debug=1         phase timings on the console
 *   msb.vols=, msb.vol= volumes and tmpfs mounts (vm_mounts.c)
 *   msb.net=ADDR/PREFIX,GATEWAY,MTU   the sandbox is networked (vm_net.c)
 * Dotted parameters never reach init's argv or environment, so they are read from
 * /proc/cmdline.
 *
 * The initramfs is the kernel's rootfs, which pivot_root cannot leave: the root is moved
 * over "/" and entered with chroot, as switch_root does. Nothing of the initramfs stays
 * reachable from the sandbox's mount tree.
 *
 * Must never: run anything from the shared root before it is fully set up, or keep an fd of
 * the initramfs open across the switch other than the channel and the console. */
#include "agent/vm_init.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/channel.h"
#include "agent/init.h"
#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/ns/ns.h"

#define NEWROOT "/newroot"
#define VOLS "/vols"
#define MAX_VOLS 64
#define PORT_TIMEOUT_MS 10000
#define ROOT_TIMEOUT_MS 5000
/* Soft limit stays at the kernel's 1024 (select() users); the hard limit is what a sandbox
 * may raise to, like systemd's default. */
#define NOFILE_HARD 524288
/* Between asking a custom init to stop and powering off regardless. */
#define INIT_STOP_WAIT_MS 5000

typedef struct vm_params
{
  bool is_msb;
  bool is_debug;
  char root_tag[64];
  char port[64];
  char vols_tag[64];          /* "" = no volumes share */
  char net[96];               /* "" = no network */
  char *vols[MAX_VOLS + 1];   /* msb.vol specs, NULL-terminated */
  size_t n_vols;
} vm_params;

static bool vm_active;
static bool vm_debug;

bool
agent_vm_is_guest_init (void)
{
  return getpid () == 1 && getenv ("MSB_AGENT_FD") == NULL;
}

bool
agent_vm_is_active (void)
{
  return vm_active;
}

static void
phase (const char *what)
{
  if (!vm_debug)
    return;
  struct timespec ts;
  clock_gettime (CLOCK_BOOTTIME, &ts);
  fprintf (stderr, "msb-agent: [%5ld.%03ld] %s\n", (long) ts.tv_sec, ts.tv_nsec / 1000000, what);
}

static int
mount_fs (const char *source, const char *target, const char *type, unsigned long flags,
          msb_error **err)
{
  if (mkdir (target, 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create %s", target);
  if (mount (source, target, type, flags, NULL) < 0 && errno != EBUSY)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount %s at %s", type, target);
  return 0;
}

/* The kernel gives init the console as stdio only when the initramfs has /dev/console. */
static void
console_stdio (void)
{
  for (int fd = 0; fd < 3; fd++)
    if (fcntl (fd, F_GETFD) < 0)
      {
        int c = open ("/dev/console", O_RDWR | O_NOCTTY);
        if (c >= 0 && c != fd)
          {
            dup2 (c, fd);
            close (c);
          }
      }
}

static void
params_clear (vm_params *p)
{
  for (size_t i = 0; i < p->n_vols; i++)
    free (p->vols[i]);
  p->n_vols = 0;
}

static void
copy_value (char *dst, size_t cap, const char *v, size_t len)
{
  if (len >= cap)
    len = cap - 1;
  memcpy (dst, v, len);
  dst[len] = '\0';
}

static int
read_params (vm_params *p, msb_error **err)
{
  memset (p, 0, sizeof *p);
  strcpy (p->root_tag, "msbroot");
  strcpy (p->port, "agent");
  _msb_cleanup_free_ char *cmdline = NULL;
  if (msb_read_file_at (AT_FDCWD, "/proc/cmdline", 64 * 1024, &cmdline, NULL, err) < 0)
    return msb_error_prefix (err, "read the kernel command line");
  char *save = NULL;
  for (char *w = strtok_r (cmdline, " \t\n", &save); w; w = strtok_r (NULL, " \t\n", &save))
    {
      char *eq = strchr (w, '=');
      const char *v = eq ? eq + 1 : "";
      size_t klen = eq ? (size_t) (eq - w) : strlen (w);
      if (klen == 6 && strncmp (w, "msb.vm", 6) == 0)
        p->is_msb = strcmp (v, "1") == 0;
      else if (klen == 9 && strncmp (w, "msb.debug", 9) == 0)
        p->is_debug = strcmp (v, "1") == 0;
      else if (klen == 8 && strncmp (w, "msb.root", 8) == 0)
        copy_value (p->root_tag, sizeof p->root_tag, v, strlen (v));
      else if (klen == 8 && strncmp (w, "msb.port", 8) == 0)
        copy_value (p->port, sizeof p->port, v, strlen (v));
      else if (klen == 7 && strncmp (w, "msb.net", 7) == 0)
        copy_value (p->net, sizeof p->net, v, strlen (v));
      else if (klen == 8 && strncmp (w, "msb.vols", 8) == 0)
        copy_value (p->vols_tag, sizeof p->vols_tag, v, strlen (v));
      else if (klen == 7 && strncmp (w, "msb.vol", 7) == 0)
        {
          if (p->n_vols == MAX_VOLS)
            return msb_fail (err, MSB_ERR_INVALID_CONFIG, "more than %d mounts", MAX_VOLS);
          p->vols[p->n_vols++] = msb_xstrdup (v);
        }
    }
  if (!p->is_msb)
    return msb_fail (err, MSB_ERR_GENERIC,
                     "started as PID 1 without a channel (MSB_AGENT_FD) and without msb.vm=1 on "
                     "the kernel command line: not an msb sandbox");
  return 0;
}

/* The virtiofs device is probed when its module loads; the retry covers a slow probe. */
static int
mount_root (const vm_params *p, msb_error **err)
{
  if (mkdir (NEWROOT, 0755) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create %s", NEWROOT);
  uint64_t deadline = msb_now_mono_ns () + ROOT_TIMEOUT_MS * 1000000ull;
  /* nodev as on the ns backend's overlay: device nodes in the image are never usable. */
  while (mount (p->root_tag, NEWROOT, "virtiofs", MS_NODEV, NULL) < 0)
    {
      if ((errno != ENOENT && errno != ENODEV && errno != EINVAL) || msb_now_mono_ns () >= deadline)
        return msb_fail_errno (err, errno, MSB_ERR_GENERIC,
                               "mount the root filesystem (virtiofs tag `%s`)", p->root_tag);
      struct timespec ts = { 0, 2000000 };
      nanosleep (&ts, NULL);
    }
  return 0;
}

/* Leaves the initramfs for the root (switch_root): its API mounts go, the root moves over
 * "/" and becomes the process root. */
static int
enter_root (msb_error **err)
{
  static const char *const api[] = { "/proc", "/sys", "/dev", VOLS };
  for (size_t i = 0; i < 4; i++)
    umount2 (api[i], MNT_DETACH);
  if (chdir (NEWROOT) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "enter %s", NEWROOT);
  if (mount (".", "/", NULL, MS_MOVE, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "move the root over /");
  if (chroot (".") < 0 || chdir ("/") < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "enter the root");
  return 0;
}

/* The volumes share, outside the root: only what is bound from it becomes visible. */
static int
mount_volumes_share (const vm_params *p, msb_error **err)
{
  if (p->vols_tag[0] == '\0')
    return 0;
  if (mkdir (VOLS, 0700) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "create %s", VOLS);
  if (mount (p->vols_tag, VOLS, "virtiofs", MS_NODEV, NULL) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "mount the volumes (virtiofs tag `%s`)",
                           p->vols_tag);
  return 0;
}

static int
set_up_root (const vm_params *p, msb_error **err)
{
  if (mount_root (p, err) < 0 || mount_volumes_share (p, err) < 0)
    return -1;
  phase ("root mounted");
  _msb_cleanup_close_ int rootfd = open (NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open %s", NEWROOT);
  /* The ns backend's own layout, with the guest's root as the sandbox root (uid 0): /.msb is
   * already in the shared root. */
  if (msb_ns_mount_api_filesystems (rootfd, 0, NULL, err) < 0)
    return msb_error_prefix (err, "set up /dev, /proc and /sys");
  /* The guest's whole cgroup tree is the sandbox's, as the ns backend's cgroup namespace
   * makes its own: /proc/self/cgroup reads "0::/" once cgroup2 is mounted. Best effort. */
  mount ("cgroup2", NEWROOT "/sys/fs/cgroup", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  if (agent_vm_mount_volumes (rootfd, p->vols_tag[0] ? VOLS : NULL, p->vols, err) < 0)
    return -1;
  if (msb_ns_net_setup_loopback (err) < 0 || (p->net[0] && agent_vm_net_configure (p->net, err) < 0))
    return -1;
  phase ("api filesystems, network");
  if (enter_root (err) < 0)
    return -1;
  /* /etc/resolv.conf and /etc/hosts from /.msb, read-only, as on the ns backend. */
  return p->net[0] ? msb_ns_net_bind_files (0, err) : 0;
}

/* Tells the host why the guest is going down at once (the caller prints it on the console):
 * its boot wait ends with this message instead of a timeout. */
static void
send_boot_error (int port_fd, const msb_error *e)
{
  agent_channel ch;
  agent_channel_init (&ch, port_fd);
  agent_channel_send_error (&ch, 0, MSB_PERR_INVALID_PAYLOAD, NULL, "guest boot failed: %s",
                            msb_error_get_message (e));
  agent_channel_flush_until (&ch, msb_now_mono_ns () + 1000000000ull, NULL);
  ch.fd = -1;
  agent_channel_free (&ch);
}

/* The kernel hands init what it did not understand on its command line (HOME, TERM): start
 * over with the environment the ns backend gives the agent, so /proc/1/environ shows nothing
 * else. Once, and only while nothing is set up. */
static void
clean_environment (void)
{
  extern char **environ;
  static const char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  if (environ == NULL || environ[0] == NULL || (strcmp (environ[0], path) == 0 && environ[1] == NULL))
    return;
  char *const argv[] = { (char *) "/init", NULL };
  char *const envp[] = { (char *) path, NULL };
  execve ("/init", argv, envp);
}

int
agent_vm_boot (msb_error **err)
{
  clean_environment ();
  /* devtmpfs first: it holds /dev/console and the port's node. */
  if (mount_fs ("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, err) < 0)
    return -1;
  console_stdio ();
  if (mount_fs ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0
      || mount_fs ("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0)
    return -1;
  __attribute__ ((cleanup (params_clear))) vm_params p;
  if (read_params (&p, err) < 0)
    return -1;
  /* The kernel named PID 1 after /init; ps in the sandbox shows the agent as on ns. */
  prctl (PR_SET_NAME, "msb-agent", 0, 0, 0);
  vm_debug = p.is_debug;
  vm_active = true;
  phase ("init started");
  if (agent_vm_load_modules ("order", err) < 0
      || (p.net[0] && agent_vm_load_modules ("order.net", err) < 0))
    return -1;
  phase ("modules loaded");
  int port = agent_vm_open_port (p.port, PORT_TIMEOUT_MS, err);
  if (port < 0)
    return -1;
  phase ("channel open");
  if (set_up_root (&p, err) < 0)
    {
      if (err && *err)
        send_boot_error (port, *err);
      close (port);
      return -1;
    }
  phase ("root entered");
  struct rlimit nofile;
  if (getrlimit (RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max < NOFILE_HARD)
    {
      nofile.rlim_max = NOFILE_HARD;
      setrlimit (RLIMIT_NOFILE, &nofile);
    }
  /* stdin and stdout on /dev/null as on the ns backend; stderr stays on the console, where
   * the agent's complaints belong to kernel.log. */
  int null = open ("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0)
    {
      dup2 (null, 0);
      dup2 (null, 1);
      close (null);
    }
  char fd[16];
  snprintf (fd, sizeof fd, "%d", port);
  setenv ("MSB_AGENT_FD", fd, 1);
  return 0;
}

void
agent_vm_set_clock (uint64_t unix_nanos)
{
  if (!vm_active || unix_nanos == 0)
    return;
  struct timespec ts = { (time_t) (unix_nanos / 1000000000ull), (long) (unix_nanos % 1000000000ull) };
  if (clock_settime (CLOCK_REALTIME, &ts) < 0)
    fprintf (stderr, "msb-agent: set the guest clock: %s\n", strerror (errno));
}

_Noreturn void
agent_vm_power_off (msb_agent *a, int code)
{
  if (a->has_init)
    {
      /* A systemd init powers the machine off itself; one that simply exits ends it too
       * (PID 1 gone: panic, and QEMU runs with -no-reboot). Anything else gets a moment. */
      agent_init_request_stop (a);
      struct timespec ts = { INIT_STOP_WAIT_MS / 1000, (INIT_STOP_WAIT_MS % 1000) * 1000000L };
      nanosleep (&ts, NULL);
    }
  if (code != 0)
    fprintf (stderr, "msb-agent: stopping the guest (status %d)\n", code);
  sync ();
  mount (NULL, "/", NULL, MS_REMOUNT | MS_RDONLY, NULL);
  reboot (RB_POWER_OFF);
  fprintf (stderr, "msb-agent: power off: %s\n", strerror (errno));
  _exit (code);
}
