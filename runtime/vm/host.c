/* What the host offers the vm backend: the programs (QEMU, virtiofsd), the guest kernel and
 * the initramfs the build made for it, the accelerator, and the TSC frequency the guest is
 * told under TCG.
 *
 * Precedence for each path: environment, then the "vm" object of config.json
 *   { "vm": { "kernel": "/boot/vmlinuz-…", "initramfs": "…", "qemu": "…", "virtiofsd": "…" } }
 * then the defaults. The default kernel is the uncompressed one the build extracted
 * (msb-vmlinux: QEMU boots it through its PVH entry, skipping the guest's decompression),
 * else the bzImage the build was made for; the default initramfs is msb-initramfs.cpio, both
 * found next to the msb binary or library (build tree or libexecdir). */
#include "runtime/vm/vm.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include "common/cleanup.h"
#include "common/util.h"
#include "runtime/vm/vm_config.h"

static const char *const virtiofsd_paths[]
    = { "/usr/lib/qemu/virtiofsd", "/usr/libexec/virtiofsd", "/usr/lib/virtiofsd" };

static bool
is_file (const char *p, bool executable, bool nonempty)
{
  struct stat st;
  if (p == NULL || stat (p, &st) < 0 || !S_ISREG (st.st_mode))
    return false;
  if (nonempty && st.st_size == 0)
    return false;
  return !executable || access (p, X_OK) == 0;
}

static char *
in_path (const char *name)
{
  const char *path = getenv ("PATH");
  _msb_cleanup_free_ char *copy = msb_xstrdup (path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d; d = strtok_r (NULL, ":", &save))
    {
      char *p = msb_xasprintf ("%s/%s", d, name);
      if (is_file (p, true, false))
        return p;
      free (p);
    }
  return NULL;
}

/* A file the build installs beside msb: build tree (cli/ and runtime/vm/ are siblings) or
 * the install layout. Empty files are placeholders (no vmlinux could be extracted). */
static char *
find_data (const char *name)
{
  static const char *const rels[] = { "", "../runtime/vm/", "../libexec/msb/", "../lib/msb/" };
  char *dirs[3] = { NULL, NULL, NULL };
  char exe[PATH_MAX];
  ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0)
    {
      exe[n] = '\0';
      dirs[0] = msb_path_dirname (exe);
    }
  Dl_info info;
  if (dladdr ((void *) find_data, &info) && info.dli_fname && info.dli_fname[0] == '/')
    dirs[1] = msb_path_dirname (info.dli_fname);
  dirs[2] = msb_xstrdup (MSB_INSTALL_LIBEXECDIR);
  char *found = NULL;
  for (size_t d = 0; d < 3 && !found; d++)
    for (size_t r = 0; dirs[d] && r < sizeof rels / sizeof rels[0] && !found; r++)
      {
        char *p = msb_xasprintf ("%s/%s%s", dirs[d], rels[r], name);
        char resolved[PATH_MAX];
        if (is_file (p, false, true) && realpath (p, resolved))
          found = msb_xstrdup (resolved);
        free (p);
      }
  for (size_t d = 0; d < 3; d++)
    free (dirs[d]);
  return found;
}

static const char *
env_nonempty (const char *name)
{
  const char *v = getenv (name);
  return v && *v ? v : NULL;
}

/* The "vm" object of config.json; NULL when absent. */
static json_t *
load_vm_config (const char *home, msb_error **err)
{
  _msb_cleanup_free_ char *root = NULL;
  if (home)
    root = msb_xstrdup (home);
  else if (env_nonempty ("MSB_HOME"))
    root = msb_xstrdup (getenv ("MSB_HOME"));
  else if (env_nonempty ("HOME"))
    root = msb_xasprintf ("%s/.microsandbox", getenv ("HOME"));
  else
    return NULL;
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/config.json", root);
  if (access (path, F_OK) < 0)
    return NULL;
  json_error_t je;
  json_t *doc = json_load_file (path, 0, &je);
  if (doc == NULL)
    {
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: line %d: %s", path, je.line, je.text);
      return NULL;
    }
  json_t *vm = json_object_get (doc, "vm");
  if (vm && !json_is_object (vm))
    {
      json_decref (doc);
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `vm` must be an object", path);
      return NULL;
    }
  json_incref (vm);
  json_decref (doc);
  return vm;
}

static int
pick (const char *env, json_t *vm, const char *key, char **out, msb_error **err)
{
  const char *v = env_nonempty (env);
  if (v == NULL && vm)
    {
      json_t *j = json_object_get (vm, key);
      if (j && !json_is_string (j))
        return msb_fail (err, MSB_ERR_INVALID_CONFIG, "config.json: `vm.%s` must be a path", key);
      v = j ? json_string_value (j) : NULL;
    }
  *out = v ? msb_xstrdup (v) : NULL;
  return 0;
}

int
msb_vm_host_resolve (const char *home, msb_vm_host *h, msb_error **err)
{
  memset (h, 0, sizeof *h);
  msb_error *cfg_err = NULL;
  json_t *vm = load_vm_config (home, &cfg_err);
  if (cfg_err)
    {
      msb_error_clear (err);
      if (err)
        *err = cfg_err;
      else
        msb_error_free (cfg_err);
      return -1;
    }
  int r = pick ("MSB_QEMU", vm, "qemu", &h->qemu, err) < 0
                  || pick ("MSB_VIRTIOFSD", vm, "virtiofsd", &h->virtiofsd, err) < 0
                  || pick ("MSB_VM_INITRAMFS", vm, "initramfs", &h->initramfs, err) < 0
                  || pick ("MSB_VM_KERNEL", vm, "kernel", &h->kernel, err) < 0
              ? -1
              : 0;
  json_decref (vm);
  if (r < 0)
    return -1;
  /* API.md §0: MSB_LIBKRUNFW_PATH names the guest kernel of the vm backend. */
  if (h->kernel == NULL && env_nonempty ("MSB_LIBKRUNFW_PATH"))
    h->kernel = msb_xstrdup (getenv ("MSB_LIBKRUNFW_PATH"));
  if (h->qemu == NULL)
    h->qemu = in_path ("qemu-system-x86_64");
  for (size_t i = 0; h->virtiofsd == NULL && i < sizeof virtiofsd_paths / sizeof virtiofsd_paths[0]; i++)
    if (is_file (virtiofsd_paths[i], true, false))
      h->virtiofsd = msb_xstrdup (virtiofsd_paths[i]);
  if (h->kernel == NULL)
    h->kernel = find_data ("msb-vmlinux");
  if (h->kernel == NULL && MSB_VM_DEFAULT_KERNEL[0])
    h->kernel = msb_xstrdup (MSB_VM_DEFAULT_KERNEL);
  if (h->initramfs == NULL)
    h->initramfs = find_data ("msb-initramfs.cpio");

  const struct
  {
    const char *path;
    bool is_program;
    const char *what;
  } needs[] = {
    { h->qemu, true, "QEMU (qemu-system-x86_64; set MSB_QEMU)" },
    { h->virtiofsd, true, "virtiofsd (/usr/lib/qemu/virtiofsd; set MSB_VIRTIOFSD)" },
    { h->kernel, false, "a guest kernel (apt-get install linux-image-cloud-amd64; set MSB_VM_KERNEL)" },
    { h->initramfs, false,
      "the guest initramfs (msb-initramfs.cpio, made by the build for the guest kernel; set "
      "MSB_VM_INITRAMFS)" },
  };
  for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
    if (!is_file (needs[i].path, needs[i].is_program, !needs[i].is_program))
      {
        if (needs[i].path)
          msb_fail (err, MSB_ERR_UNSUPPORTED, "the vm backend needs %s: `%s` is not usable",
                    needs[i].what, needs[i].path);
        else
          msb_fail (err, MSB_ERR_UNSUPPORTED, "the vm backend needs %s", needs[i].what);
        msb_vm_host_clear (h);
        return -1;
      }
  return 0;
}

void
msb_vm_host_clear (msb_vm_host *h)
{
  free (h->qemu);
  free (h->virtiofsd);
  free (h->kernel);
  free (h->initramfs);
  memset (h, 0, sizeof *h);
}

const char *
msb_vm_accel_name (msb_vm_accel a)
{
  return a == MSB_VM_ACCEL_KVM ? "kvm" : "tcg";
}

int
msb_vm_accel_choose (msb_vm_accel *out, msb_error **err)
{
  const char *want = env_nonempty ("MSB_VM_ACCEL");
  char why[256] = "";
  if (want == NULL || strcmp (want, "auto") == 0)
    {
      *out = msb_vm_kvm_usable (why, sizeof why) ? MSB_VM_ACCEL_KVM : MSB_VM_ACCEL_TCG;
      return 0;
    }
  if (strcmp (want, "tcg") == 0)
    {
      *out = MSB_VM_ACCEL_TCG;
      return 0;
    }
  if (strcmp (want, "kvm") != 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "MSB_VM_ACCEL=%s: expected kvm, tcg or auto", want);
  if (!msb_vm_kvm_usable (why, sizeof why))
    return msb_fail (err, MSB_ERR_UNSUPPORTED, "MSB_VM_ACCEL=kvm: KVM is not usable here: %s", why);
  *out = MSB_VM_ACCEL_KVM;
  return 0;
}

/* The guest's TSC runs at the host's (TCG reads the host TSC). Told the frequency, the guest
 * skips its calibration against the emulated PIT, which under TCG misjudges it often enough
 * to hang one boot in five. */
uint32_t
msb_vm_tsc_khz (void)
{
  static uint32_t cached;
  if (cached)
    return cached;
  _msb_cleanup_free_ char *text = NULL;
  if (msb_read_file_at (AT_FDCWD, "/sys/devices/system/cpu/cpu0/tsc_freq_khz", 64, &text, NULL, NULL) == 0
      && strtoul (text, NULL, 10) > 0)
    return cached = (uint32_t) strtoul (text, NULL, 10);
#if defined(__x86_64__)
  /* 2 ms against CLOCK_MONOTONIC_RAW; the error is the few hundred ns of the reads. */
  struct timespec a, b, pause = { 0, 2000000 };
  clock_gettime (CLOCK_MONOTONIC_RAW, &a);
  uint64_t c0 = __rdtsc ();
  nanosleep (&pause, NULL);
  clock_gettime (CLOCK_MONOTONIC_RAW, &b);
  uint64_t c1 = __rdtsc ();
  uint64_t ns = (uint64_t) (b.tv_sec - a.tv_sec) * 1000000000ull + (uint64_t) (b.tv_nsec - a.tv_nsec);
  if (ns > 0 && c1 > c0)
    cached = (uint32_t) ((c1 - c0) * 1000000ull / ns);
#endif
  return cached;
}
