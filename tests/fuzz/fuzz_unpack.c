/* Fuzz target for the layer unpacker (lib/image/unpack*.c): every input is unpacked, as a
 * plain or compressed tar, into a fresh root under a fresh temp parent; afterwards the parent
 * must hold nothing but the root — an entry that escaped the root (tar-slip, symlink or
 * hardlink tricks) aborts. Rejected layers are fine: only escapes and sanitizer reports
 * count.
 *
 * FUZZ_SOURCES and FUZZ_LIBS are read by tests/fuzz/run.sh. */
// FUZZ_SOURCES: lib/image/unpack.c lib/image/unpack_entry.c lib/image/inroot.c
// FUZZ_SOURCES: lib/image/digest.c common/buf.c common/util.c common/error.c
// FUZZ_LIBS: -larchive -lcrypto

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/error.h"
#include "common/util.h"
#include "lib/image/unpack.h"

typedef struct input
{
  const uint8_t *data;
  size_t len;
  int done;
} input;

static ssize_t
read_input (void *ctx, const void **buf, msb_error **err)
{
  input *in = ctx;
  (void) err;
  if (in->done)
    return 0;
  in->done = 1;
  *buf = in->data;
  return (ssize_t) in->len;
}

/* The parent must contain exactly one entry: "root". */
static void
check_parent (const char *parent)
{
  DIR *d = opendir (parent);
  if (d == NULL)
    abort ();
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0
          || strcmp (de->d_name, "root") == 0)
        continue;
      fprintf (stderr, "fuzz_unpack: `%s` was created outside the layer root\n", de->d_name);
      abort ();
    }
  closedir (d);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char parent[] = "/tmp/msb-fuzz-unpack-XXXXXX";
  if (mkdtemp (parent) == NULL)
    abort ();
  char root[sizeof parent + 8];
  snprintf (root, sizeof root, "%s/root", parent);
  if (mkdir (root, 0755) < 0)
    abort ();
  int root_fd = open (root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0)
    abort ();
  input in = { data, size, 0 };
  /* Small limits keep each run fast; the size checks themselves are exercised too. */
  msb_unpack_opts opts = {
    .restore_owner = -1,
    .max_unpacked_bytes = 64u << 20,
    .max_entries = 4096,
  };
  msb_unpack_result res;
  msb_error *err = NULL;
  msb_unpack_stream (root_fd, read_input, &in, &opts, &res, &err);
  msb_error_free (err);
  close (root_fd);
  check_parent (parent);
  err = NULL;
  if (msb_rm_rf_at (AT_FDCWD, parent, &err) < 0)
    {
      fprintf (stderr, "fuzz_unpack: cleanup: %s\n", msb_error_get_message (err));
      abort ();
    }
  return 0;
}
