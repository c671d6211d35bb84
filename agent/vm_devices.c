/* Guest devices of the vm backend: the kernel modules the initramfs carries and the
 * virtio-serial port of the host channel. The distribution kernel builds virtio as modules
 * and the guest has no udev, so the agent loads them itself in the order the build resolved
 * from modules.dep, and finds its port by name in sysfs.
 *
 * Must never: load a module from anywhere but the initramfs (the root filesystem belongs to
 * the sandbox by the time anything else could run). */
#include "agent/vm_init.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"

#define MODULES_DIR "/lib/modules/msb"
#define PORTS_CLASS "/sys/class/virtio-ports"

static int
load_module (const char *name, msb_error **err)
{
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s.ko", MODULES_DIR, name);
  _msb_cleanup_close_ int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open module `%s`", path);
  if (syscall (SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
    return msb_fail_errno (err, errno, MSB_ERR_GENERIC,
                           "load module `%s` (built for another kernel? the initramfs must match "
                           "the guest kernel)",
                           name);
  /* The initramfs stays in memory for the guest's life: give the module's pages back. */
  unlink (path);
  return 0;
}

int
agent_vm_load_modules (const char *list, msb_error **err)
{
  _msb_cleanup_free_ char *order = NULL;
  _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s", MODULES_DIR, list);
  if (msb_read_file_at (AT_FDCWD, path, 64 * 1024, &order, NULL, err) < 0)
    return msb_error_prefix (err, "list of guest modules");
  char *save = NULL;
  for (char *name = strtok_r (order, "\n", &save); name; name = strtok_r (NULL, "\n", &save))
    if (*name && load_module (name, err) < 0)
      return -1;
  return 0;
}

/* "vport0p1" of the port whose sysfs name is `name`, or NULL. */
static char *
find_port (const char *name)
{
  _msb_cleanup_dir_ DIR *d = opendir (PORTS_CLASS);
  if (d == NULL)
    return NULL;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      _msb_cleanup_free_ char *path = msb_xasprintf ("%s/%s/name", PORTS_CLASS, e->d_name);
      _msb_cleanup_free_ char *value = NULL;
      size_t len = 0;
      if (msb_read_file_at (AT_FDCWD, path, 256, &value, &len, NULL) < 0)
        continue;
      while (len > 0 && (value[len - 1] == '\n' || value[len - 1] == '\0'))
        value[--len] = '\0';
      if (strcmp (value, name) == 0)
        return msb_xstrdup (e->d_name);
    }
  return NULL;
}

int
agent_vm_open_port (const char *name, int timeout_ms, msb_error **err)
{
  /* The port appears once the host's control message announcing it has been processed, a
   * moment after virtio_console is loaded; devtmpfs creates the node at the same time. */
  uint64_t deadline = msb_now_mono_ns () + (uint64_t) timeout_ms * 1000000ull;
  for (;;)
    {
      _msb_cleanup_free_ char *port = find_port (name);
      if (port)
        {
          _msb_cleanup_free_ char *dev = msb_xasprintf ("/dev/%s", port);
          int fd = open (dev, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
          if (fd >= 0)
            return fd;
          if (errno != ENOENT)
            return msb_fail_errno (err, errno, MSB_ERR_GENERIC, "open `%s` (port `%s`)", dev, name);
        }
      if (msb_now_mono_ns () >= deadline)
        return msb_fail (err, MSB_ERR_GENERIC,
                         "no virtio-serial port named `%s` appeared within %d ms", name, timeout_ms);
      struct timespec ts = { 0, 1000000 };
      nanosleep (&ts, NULL);
    }
}
