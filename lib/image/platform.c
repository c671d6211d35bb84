/* The host platform in OCI's spelling, for picking a manifest out of an image index. */
#include <string.h>
#include <sys/utsname.h>

#include "lib/image/image_archive.h"

const char *
msb_image_host_arch (void)
{
  static const struct
  {
    const char *machine, *arch;
  } map[] = {
    { "x86_64", "amd64" },   { "aarch64", "arm64" }, { "arm64", "arm64" },
    { "armv7l", "arm" },     { "armv6l", "arm" },    { "i686", "386" },
    { "i386", "386" },       { "ppc64le", "ppc64le" }, { "s390x", "s390x" },
    { "riscv64", "riscv64" }, { "loongarch64", "loong64" },
  };
  struct utsname u;
  if (uname (&u) == 0)
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
      if (strcmp (u.machine, map[i].machine) == 0)
        return map[i].arch;
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#else
  return "unknown";
#endif
}
