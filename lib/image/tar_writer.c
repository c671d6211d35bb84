/* ustar headers, pax 'x' records when needed, 512-byte padding. */
#include "lib/image/tar_writer.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"

#define BLOCK 512
#define USTAR_ID_MAX 07777777ull       /* 7 octal digits */
#define USTAR_SIZE_MAX 077777777777ull /* 11 octal digits */

typedef struct ustar
{
  char name[100];
  char mode[8];
  char uid[8];
  char gid[8];
  char size[12];
  char mtime[12];
  char chksum[8];
  char typeflag;
  char linkname[100];
  char magic[6];
  char version[2];
  char uname[32];
  char gname[32];
  char devmajor[8];
  char devminor[8];
  char prefix[155];
  char pad[12];
} ustar;

_Static_assert (sizeof (ustar) == BLOCK, "ustar header is one block");

void
msb_tar_writer_init (msb_tar_writer *w, msb_tar_write_fn write, void *ctx)
{
  memset (w, 0, sizeof *w);
  w->write = write;
  w->ctx = ctx;
}

static void
octal (char *field, size_t width, uint64_t v)
{
  /* width-1 digits, zero-padded, then a NUL (callers keep v within range). */
  field[width - 1] = '\0';
  for (size_t i = width - 1; i-- > 0; v >>= 3)
    field[i] = (char) ('0' + (v & 7));
}

static int
emit (msb_tar_writer *w, const void *buf, size_t n, msb_error **err)
{
  return w->write (w->ctx, buf, n, err);
}

static int
pad_to_block (msb_tar_writer *w, uint64_t size, msb_error **err)
{
  static const char zeros[BLOCK];
  size_t rem = (size_t) (size % BLOCK);
  return rem ? emit (w, zeros, BLOCK - rem, err) : 0;
}

/* Splits `path` into ustar prefix + name when it fits, else false. */
static bool
split_path (const char *path, ustar *h)
{
  size_t n = strlen (path);
  if (n <= sizeof h->name)
    {
      memcpy (h->name, path, n);
      return true;
    }
  /* The prefix ends at a '/', which is not stored; name is the rest. */
  for (size_t i = n - 1; i > 0; i--)
    if (path[i] == '/' && i <= sizeof h->prefix && n - i - 1 <= sizeof h->name && n - i - 1 > 0)
      {
        memcpy (h->prefix, path, i);
        memcpy (h->name, path + i + 1, n - i - 1);
        return true;
      }
  return false;
}

static void
checksum (ustar *h)
{
  memset (h->chksum, ' ', sizeof h->chksum);
  unsigned sum = 0;
  const unsigned char *p = (const unsigned char *) h;
  for (size_t i = 0; i < sizeof *h; i++)
    sum += p[i];
  snprintf (h->chksum, sizeof h->chksum, "%06o", sum);
  h->chksum[7] = ' ';
}

/* One "<len> key=value\n" pax record; len counts itself. */
static void
pax_record (char **buf, size_t *len, const char *key, const char *value)
{
  size_t body = strlen (key) + strlen (value) + 3; /* ' ' '=' '\n' */
  size_t digits = 1, total;
  for (;;)
    {
      total = body + digits;
      size_t d = 1;
      for (size_t t = total; t >= 10; t /= 10)
        d++;
      if (d == digits)
        break;
      digits = d;
    }
  *buf = msb_xrealloc (*buf, *len + total + 1);
  snprintf (*buf + *len, total + 1, "%zu %s=%s\n", total, key, value);
  *len += total;
}

static int
write_pax (msb_tar_writer *w, const char *records, size_t len, msb_error **err)
{
  ustar h;
  memset (&h, 0, sizeof h);
  memcpy (h.name, "././@PaxHeader", 14);
  octal (h.mode, sizeof h.mode, 0644);
  octal (h.uid, sizeof h.uid, 0);
  octal (h.gid, sizeof h.gid, 0);
  octal (h.size, sizeof h.size, len);
  octal (h.mtime, sizeof h.mtime, 0);
  h.typeflag = 'x';
  memcpy (h.magic, "ustar", 6);
  memcpy (h.version, "00", 2);
  checksum (&h);
  if (emit (w, &h, sizeof h, err) < 0 || emit (w, records, len, err) < 0)
    return -1;
  return pad_to_block (w, len, err);
}

int
msb_tar_write_header (msb_tar_writer *w, const msb_tar_entry *e, msb_error **err)
{
  if (w->pending)
    return msb_fail (err, MSB_ERR_IO, "tar: %llu bytes of the previous entry missing",
                     (unsigned long long) w->pending);
  if (pad_to_block (w, w->entry_size, err) < 0)
    return -1;
  w->entry_size = 0;
  ustar h;
  memset (&h, 0, sizeof h);
  _msb_cleanup_free_ char *pax = NULL;
  size_t pax_len = 0;
  char num[32];
  if (!split_path (e->path, &h))
    {
      pax_record (&pax, &pax_len, "path", e->path);
      memset (h.prefix, 0, sizeof h.prefix);
      snprintf (h.name, sizeof h.name, "%.99s", e->path); /* a truncated fallback */
    }
  if (e->link)
    {
      size_t ln = strlen (e->link);
      if (ln > sizeof h.linkname)
        pax_record (&pax, &pax_len, "linkpath", e->link);
      memcpy (h.linkname, e->link, ln > sizeof h.linkname ? sizeof h.linkname : ln);
    }
  uint64_t size = e->type == MSB_TAR_REG ? e->size : 0;
  if (size > USTAR_SIZE_MAX)
    {
      snprintf (num, sizeof num, "%llu", (unsigned long long) size);
      pax_record (&pax, &pax_len, "size", num);
    }
  if (e->uid > USTAR_ID_MAX)
    {
      snprintf (num, sizeof num, "%llu", (unsigned long long) e->uid);
      pax_record (&pax, &pax_len, "uid", num);
    }
  if (e->gid > USTAR_ID_MAX)
    {
      snprintf (num, sizeof num, "%llu", (unsigned long long) e->gid);
      pax_record (&pax, &pax_len, "gid", num);
    }
  if (pax && write_pax (w, pax, pax_len, err) < 0)
    return -1;
  octal (h.mode, sizeof h.mode, (uint64_t) (e->mode & 07777));
  octal (h.uid, sizeof h.uid, e->uid > USTAR_ID_MAX ? 0 : e->uid);
  octal (h.gid, sizeof h.gid, e->gid > USTAR_ID_MAX ? 0 : e->gid);
  octal (h.size, sizeof h.size, size > USTAR_SIZE_MAX ? 0 : size);
  octal (h.mtime, sizeof h.mtime, e->mtime < 0 ? 0 : (uint64_t) e->mtime);
  h.typeflag = e->type;
  memcpy (h.magic, "ustar", 6);
  memcpy (h.version, "00", 2);
  octal (h.devmajor, sizeof h.devmajor, 0);
  octal (h.devminor, sizeof h.devminor, 0);
  checksum (&h);
  if (emit (w, &h, sizeof h, err) < 0)
    return -1;
  w->pending = size;
  w->entry_size = size;
  return 0;
}

int
msb_tar_write_data (msb_tar_writer *w, const void *buf, size_t n, msb_error **err)
{
  if (n > w->pending)
    return msb_fail (err, MSB_ERR_IO, "tar: entry data longer than its header says");
  w->pending -= n;
  return n ? emit (w, buf, n, err) : 0;
}

int
msb_tar_finish (msb_tar_writer *w, msb_error **err)
{
  static const char zeros[2 * BLOCK];
  if (w->pending)
    return msb_fail (err, MSB_ERR_IO, "tar: %llu bytes of the last entry missing",
                     (unsigned long long) w->pending);
  if (pad_to_block (w, w->entry_size, err) < 0)
    return -1;
  w->entry_size = 0;
  return emit (w, zeros, sizeof zeros, err);
}
