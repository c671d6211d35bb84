/* The vm backend's QEMU command line (runtime/vm/qemu.c), checked for both accelerators: the
 * KVM path cannot boot a guest on hosts without usable KVM, so what QEMU is asked to do must
 * be right by construction. Also the msb.vol specs the guest agent decodes. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <msb/config.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/vm/vm.h"
#include "tests/unit/test.h"

static msb_vm_host host = { "/usr/bin/qemu-system-x86_64", "/usr/lib/qemu/virtiofsd", "/k", "/i" };

static msb_vm_launch
launch (msb_vm_accel accel)
{
  msb_vm_launch l = {
    .host = &host, .accel = accel, .cpus = 2, .memory_mib = 256, .tsc_khz = 2596074,
    .label = "0123456789abcdef01234567", .uid = 1000, .gid = 1000, .kvm_gid = -1,
    .agent_fd = 10, .fs_fd = 11, .vols_fd = -1, .net_fd = -1, .console_fd = 12,
  };
  return l;
}

static char **
argv_of (const msb_vm_launch *l)
{
  char **v = NULL;
  msb_error *e = NULL;
  CHECK (msb_vm_qemu_argv (l, &v, &e) == 0);
  msb_error_free (e);
  return v;
}

/* The value after `flag` (the first occurrence), or NULL. */
static const char *
opt (char **v, const char *flag)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], flag) == 0)
      return v[i + 1];
  return NULL;
}

static size_t
count (char **v, const char *needle)
{
  size_t n = 0;
  for (size_t i = 0; v && v[i]; i++)
    n += strstr (v[i], needle) != NULL;
  return n;
}

TEST (test_tcg_uses_multithreaded_tcg_cpu_max_and_the_host_tsc)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_TCG);
  char **v = argv_of (&l);
  CHECK_EQ_STR (opt (v, "-accel"), "tcg,thread=multi,tb-size=32");
  CHECK_EQ_STR (opt (v, "-cpu"), "max");
  CHECK (strstr (opt (v, "-append"), " tsc_early_khz=2596074 ") != NULL);
  CHECK_EQ_STR (opt (v, "-smp"), "2");
  msb_strv_free (v);
}

TEST (test_kvm_uses_the_host_cpu_and_lets_the_guest_calibrate)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_KVM);
  char **v = argv_of (&l);
  CHECK_EQ_STR (opt (v, "-accel"), "kvm");
  CHECK_EQ_STR (opt (v, "-cpu"), "host");
  CHECK (strstr (opt (v, "-append"), "tsc_early_khz") == NULL);
  msb_strv_free (v);
}

TEST (test_guest_ram_is_a_shared_memfd_of_the_configured_size)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_TCG);
  char **v = argv_of (&l);
  CHECK_EQ_STR (opt (v, "-m"), "256M");
  CHECK_EQ_STR (opt (v, "-object"), "memory-backend-memfd,id=mem,size=256M,share=on");
  CHECK (strstr (opt (v, "-M"), "microvm,") == opt (v, "-M"));
  CHECK (strstr (opt (v, "-M"), "memory-backend=mem") != NULL);
  msb_strv_free (v);
}

TEST (test_devices_are_the_agent_port_and_the_root_share_only_by_default)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_TCG);
  char **v = argv_of (&l);
  CHECK_EQ_INT (count (v, "virtserialport,chardev=agent,name=agent"), 1);
  CHECK_EQ_INT (count (v, "vhost-user-fs-device,chardev=fs,tag=msbroot"), 1);
  CHECK_EQ_INT (count (v, "msbvols"), 0);
  CHECK_EQ_INT (count (v, "virtio-net"), 0);
  CHECK (strstr (opt (v, "-append"), "msb.vm=1 msb.root=msbroot msb.port=agent") != NULL);
  CHECK (strstr (opt (v, "-append"), "msb.net") == NULL);
  CHECK_EQ_STR (opt (v, "-sandbox"), "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
  msb_strv_free (v);
}

TEST (test_volumes_and_network_add_their_devices_and_guest_parameters)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_TCG);
  char *mounts[] = { "d,v0,/data", "-,tmpfs16,/scratch", NULL };
  l.vols_fd = 13;
  l.mounts = mounts;
  l.net_fd = 14;
  strcpy (l.net_spec, "172.16.0.2/30,172.16.0.1,1500");
  memcpy (l.mac, (uint8_t[]){ 0x02, 0x4d, 0x53, 0x10, 0x00, 0x02 }, 6);
  char **v = argv_of (&l);
  CHECK_EQ_INT (count (v, "vhost-user-fs-device,chardev=vols,tag=msbvols"), 1);
  CHECK_EQ_INT (count (v, "virtio-net-device,netdev=net0,mac=02:4d:53:10:00:02"), 1);
  CHECK_EQ_INT (count (v, "stream,id=net0,server=off,addr.type=fd"), 1);
  const char *append = opt (v, "-append");
  CHECK (strstr (append, " msb.vols=msbvols") != NULL);
  CHECK (strstr (append, " msb.vol=d,v0,/data msb.vol=-,tmpfs16,/scratch") != NULL);
  CHECK (strstr (append, " msb.net=172.16.0.2/30,172.16.0.1,1500") != NULL);
  msb_strv_free (v);
}

TEST (test_a_command_line_beyond_the_kernel_limit_is_refused)
{
  msb_vm_launch l = launch (MSB_VM_ACCEL_TCG);
  char *long_mount = malloc (2100);
  memset (long_mount, 'a', 2099);
  long_mount[0] = '/';
  long_mount[2099] = '\0';
  char *mounts[] = { long_mount, NULL };
  l.mounts = mounts;
  char **v = NULL;
  msb_error *e = NULL;
  CHECK (msb_vm_qemu_argv (&l, &v, &e) < 0);
  CHECK (e && strstr (msb_error_get_message (e), "command line") != NULL);
  msb_error_free (e);
  free (long_mount);
}

TEST (test_mount_spec_encodes_flags_source_and_an_escaped_target)
{
  char *s = msb_vm_mount_spec (MSB_MOUNT_READONLY | MSB_MOUNT_NODEV, false, 0, 3, "/my data,x");
  CHECK_EQ_STR (s, "rd,v3,/my%20data%2Cx");
  free (s);
  s = msb_vm_mount_spec (0, true, 64, 7, "/tmp/t");
  CHECK_EQ_STR (s, "-,tmpfs64,/tmp/t");
  free (s);
  s = msb_vm_mount_spec (MSB_MOUNT_NOEXEC | MSB_MOUNT_NOSUID, false, 0, 0, "/é");
  CHECK_EQ_STR (s, "xs,v0,/%C3%A9");
  free (s);
}

TEST_MAIN (TEST_ENTRY (test_tcg_uses_multithreaded_tcg_cpu_max_and_the_host_tsc),
           TEST_ENTRY (test_kvm_uses_the_host_cpu_and_lets_the_guest_calibrate),
           TEST_ENTRY (test_guest_ram_is_a_shared_memfd_of_the_configured_size),
           TEST_ENTRY (test_devices_are_the_agent_port_and_the_root_share_only_by_default),
           TEST_ENTRY (test_volumes_and_network_add_their_devices_and_guest_parameters),
           TEST_ENTRY (test_a_command_line_beyond_the_kernel_limit_is_refused),
           TEST_ENTRY (test_mount_spec_encodes_flags_source_and_an_escaped_target))
