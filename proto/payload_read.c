/* Field readers shared by every payload decoder (contract in payload.h).
 *
 * Owns: turning CBOR items into the C fields of msb_msg — arena copies of text, zero-copy
 * bytes, range-checked integers, arrays sized only after they have been walked.
 * Must never: allocate from a count or length the input has not proved, or leave a field
 * half-written in a way a caller could read as valid (decode failure clears the message).
 */
#include "proto/payload.h"

#include <string.h>

int
msb_pd_fail (msb_pdec *d, const char *why)
{
  if (d->why == NULL && d->r.error == NULL)
    d->why = why;
  return -1;
}

/* Returns the index of the text key at the cursor in keys[0..n), n for an unknown text key,
 * n + 1 for a non-text key (consumed either way), or -1 on a malformed key. */
static int
read_key (msb_pdec *d, const char *const *keys, unsigned n)
{
  if (msb_cbor_peek (&d->r) != MSB_CBOR_TEXT)
    return msb_cbor_skip (&d->r) < 0 ? -1 : (int) n + 1;
  const char *k;
  size_t len;
  if (msb_cbor_read_text (&d->r, &k, &len) < 0)
    return -1;
  for (unsigned i = 0; i < n; i++)
    if (strlen (keys[i]) == len && memcmp (keys[i], k, len) == 0)
      return (int) i;
  return (int) n;
}

int
msb_pd_map (msb_pdec *d, const char *const *keys, unsigned n, msb_pd_field_fn fn, void *out,
            uint32_t *seen)
{
  size_t entries;
  const char *outer_key = d->key;
  *seen = 0;
  if (msb_cbor_enter_map (&d->r, &entries) < 0)
    return -1;
  for (size_t e = 0; e < entries; e++)
    {
      int k = read_key (d, keys, n);
      if (k < 0)
        return -1;
      if ((unsigned) k >= n)
        {
          if (msb_cbor_skip (&d->r) < 0)
            return -1;
          continue;
        }
      d->key = keys[k];
      if (*seen & (1u << k))
        return msb_pd_fail (d, "duplicate key");
      *seen |= 1u << k;
      if (fn (d, (unsigned) k, out) < 0)
        return -1;
    }
  msb_cbor_leave (&d->r);
  d->key = outer_key; /* later failures belong to the enclosing key again */
  return 0;
}

int
msb_pd_require (msb_pdec *d, const char *const *keys, uint32_t seen, uint32_t required)
{
  uint32_t missing = required & ~seen;
  if (missing == 0)
    return 0;
  d->key = keys[__builtin_ctz (missing)];
  return msb_pd_fail (d, "missing key");
}

int
msb_pd_cstr (msb_pdec *d, char **out)
{
  const char *s;
  size_t len;
  if (msb_cbor_read_text (&d->r, &s, &len) < 0)
    return -1;
  if (memchr (s, '\0', len) != NULL)
    return msb_pd_fail (d, "text contains a NUL byte");
  *out = msb_arena_strndup (d->arena, s, len);
  return 0;
}

int
msb_pd_cstr_or_null (msb_pdec *d, char **out)
{
  if (msb_cbor_take_null (&d->r))
    {
      *out = NULL;
      return 0;
    }
  return msb_pd_cstr (d, out);
}

static int
strv_elem (msb_pdec *d, void *elem)
{
  return msb_pd_cstr (d, (char **) elem);
}

int
msb_pd_strv (msb_pdec *d, char ***out)
{
  size_t n = 0;
  void *v = NULL;
  if (msb_cbor_take_null (&d->r))
    v = msb_arena_alloc (d->arena, sizeof (char *));
  else if (msb_pd_array (d, sizeof (char *), strv_elem, &v, &n) < 0)
    return -1;
  *out = v; /* msb_pd_array's zeroed spare element is the NULL terminator */
  return 0;
}

void
msb_pd_strv_default (msb_pdec *d, char ***v)
{
  if (*v == NULL)
    *v = msb_arena_alloc (d->arena, sizeof (char *));
}

int
msb_pd_array (msb_pdec *d, size_t elem_size, msb_pd_elem_fn fn, void **out, size_t *n)
{
  /* Walk the array once on a copy: its items are now known to exist and be well-formed, so
   * count * elem_size is bounded by the input actually received. */
  msb_cbor_reader probe = d->r;
  if (msb_cbor_skip (&probe) < 0)
    {
      d->r.error = probe.error;
      return -1;
    }
  size_t count;
  if (msb_cbor_enter_array (&d->r, &count) < 0)
    return -1;
  /* One zeroed element more than needed: it terminates string vectors. */
  unsigned char *elems = msb_arena_alloc (d->arena, (count + 1) * elem_size);
  for (size_t i = 0; i < count; i++)
    if (fn (d, elems + i * elem_size) < 0)
      return -1;
  msb_cbor_leave (&d->r);
  *out = elems;
  *n = count;
  return 0;
}

int
msb_pd_bytes (msb_pdec *d, msb_bytes *out)
{
  return msb_cbor_read_bytes (&d->r, &out->data, &out->len);
}

int
msb_pd_bool (msb_pdec *d, bool *out)
{
  return msb_cbor_read_bool (&d->r, out);
}

int
msb_pd_uint (msb_pdec *d, uint64_t max, uint64_t *out)
{
  uint64_t v;
  if (msb_cbor_read_uint (&d->r, &v) < 0)
    return -1;
  if (v > max)
    return msb_pd_fail (d, "integer out of range");
  *out = v;
  return 0;
}

int
msb_pd_u32 (msb_pdec *d, uint32_t *out)
{
  uint64_t v;
  if (msb_pd_uint (d, UINT32_MAX, &v) < 0)
    return -1;
  *out = (uint32_t) v;
  return 0;
}

int
msb_pd_u16 (msb_pdec *d, uint16_t *out)
{
  uint64_t v;
  if (msb_pd_uint (d, UINT16_MAX, &v) < 0)
    return -1;
  *out = (uint16_t) v;
  return 0;
}

int
msb_pd_int (msb_pdec *d, int64_t min, int64_t max, int64_t *out)
{
  int64_t v;
  if (msb_cbor_read_int (&d->r, &v) < 0)
    return -1;
  if (v < min || v > max)
    return msb_pd_fail (d, "integer out of range");
  *out = v;
  return 0;
}

int
msb_pd_i32 (msb_pdec *d, int32_t *out)
{
  int64_t v;
  if (msb_pd_int (d, INT32_MIN, INT32_MAX, &v) < 0)
    return -1;
  *out = (int32_t) v;
  return 0;
}

int
msb_pd_opt_u64 (msb_pdec *d, bool *has, uint64_t *out)
{
  *has = false;
  if (msb_cbor_take_null (&d->r))
    return 0;
  if (msb_pd_uint (d, UINT64_MAX, out) < 0)
    return -1;
  *has = true;
  return 0;
}

int
msb_pd_opt_u32 (msb_pdec *d, bool *has, uint32_t *out)
{
  *has = false;
  if (msb_cbor_take_null (&d->r))
    return 0;
  if (msb_pd_u32 (d, out) < 0)
    return -1;
  *has = true;
  return 0;
}

int
msb_pd_opt_i64 (msb_pdec *d, bool *has, int64_t *out)
{
  *has = false;
  if (msb_cbor_take_null (&d->r))
    return 0;
  if (msb_pd_int (d, INT64_MIN, INT64_MAX, out) < 0)
    return -1;
  *has = true;
  return 0;
}

int
msb_pd_opt_i32 (msb_pdec *d, bool *has, int32_t *out)
{
  *has = false;
  if (msb_cbor_take_null (&d->r))
    return 0;
  if (msb_pd_i32 (d, out) < 0)
    return -1;
  *has = true;
  return 0;
}
