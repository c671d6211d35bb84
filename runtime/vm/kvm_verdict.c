/* The KVM probe's verdict, remembered for the rest of the boot in /run/msb/kvm-verdict.
 *
 * The probe (kvm.c) creates a VM and runs a vCPU: about a millisecond on hardware, 5–10 ms
 * where KVM is nested and emulates — too much to pay on every create with the `auto`
 * backend. The verdict is keyed by the boot id and by /dev/kvm's identity (device number,
 * inode, change time), so a reboot, a reloaded module or a changed permission probes again.
 * Root only: the vm backend needs root, and a file in /run/msb only root can write is one a
 * user cannot forge. `msb doctor` always probes afresh and rewrites it.
 *
 * Must never: fail a create because the cache cannot be read or written (it is a cache). */
#include "runtime/vm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define VERDICT_DIR "/run/msb"
#define VERDICT_FILE "kvm-verdict"

/* "v1 <boot id> <dev> <ino> <ctime s>.<ctime ns>": what the verdict was computed for. */
static bool
current_key (char *key, size_t key_len)
{
  if (geteuid () != 0)
    return false;
  struct stat st;
  if (stat ("/dev/kvm", &st) < 0)
    return false; /* nothing to remember: the probe fails at once */
  _msb_cleanup_free_ char *boot_id = NULL;
  size_t n = 0;
  if (msb_read_file_at (AT_FDCWD, "/proc/sys/kernel/random/boot_id", 64, &boot_id, &n, NULL) < 0)
    return false;
  boot_id[strcspn (boot_id, "\n")] = '\0';
  int w = snprintf (key, key_len, "v1 %s %llu %llu %lld.%09ld", boot_id, (unsigned long long) st.st_rdev,
                    (unsigned long long) st.st_ino, (long long) st.st_ctim.tv_sec, st.st_ctim.tv_nsec);
  return w > 0 && (size_t) w < key_len;
}

bool
msb_vm_kvm_verdict_load (bool *usable, char *why, size_t why_len)
{
  char key[256];
  if (!current_key (key, sizeof key))
    return false;
  _msb_cleanup_free_ char *data = NULL;
  size_t n = 0;
  if (msb_read_file_at (AT_FDCWD, VERDICT_DIR "/" VERDICT_FILE, 4096, &data, &n, NULL) < 0)
    return false;
  /* key \n 0|1 \n why */
  size_t key_n = strlen (key);
  if (n < key_n + 2 || strncmp (data, key, key_n) != 0 || data[key_n] != '\n')
    return false;
  const char *verdict = data + key_n + 1;
  if ((verdict[0] != '0' && verdict[0] != '1') || verdict[1] != '\n')
    return false;
  *usable = verdict[0] == '1';
  if (why && why_len)
    snprintf (why, why_len, "%s", verdict + 2);
  return true;
}

void
msb_vm_kvm_verdict_store (bool usable, const char *why)
{
  char key[256];
  if (!current_key (key, sizeof key))
    return;
  if (mkdir (VERDICT_DIR, 0755) < 0 && errno != EEXIST)
    return;
  _msb_cleanup_close_ int dir = open (VERDICT_DIR, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (dir < 0 || fstat (dir, &st) < 0 || st.st_uid != 0 || (st.st_mode & 022))
    return; /* not a directory only root writes: do not trust or feed it */
  _msb_cleanup_free_ char *text = msb_xasprintf ("%s\n%c\n%s", key, usable ? '1' : '0', why ? why : "");
  msb_write_file_atomic_at (dir, VERDICT_FILE, text, strlen (text), 0644, NULL);
}
