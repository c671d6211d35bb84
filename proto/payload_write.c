/* Field writers shared by every payload encoder (contract in payload.h).
 *
 * Owns: the spelling of absent values — null for absent optionals, an empty array for a
 * NULL string vector.
 * Must never: fail; encoding a valid msb_msg always succeeds.
 */
#include "proto/payload.h"

#include <string.h>

void
msb_pe_key (msb_buf *out, const char *key)
{
  msb_cbor_put_text (out, key, strlen (key));
}

void
msb_pe_cstr_or_null (msb_buf *out, const char *s)
{
  if (s == NULL)
    msb_cbor_put_null (out);
  else
    msb_cbor_put_cstr (out, s);
}

void
msb_pe_strv (msb_buf *out, char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  msb_cbor_put_array (out, n);
  for (size_t i = 0; i < n; i++)
    msb_cbor_put_cstr (out, v[i]);
}

void
msb_pe_opt_uint (msb_buf *out, bool has, uint64_t v)
{
  if (has)
    msb_cbor_put_uint (out, v);
  else
    msb_cbor_put_null (out);
}

void
msb_pe_opt_int (msb_buf *out, bool has, int64_t v)
{
  if (has)
    msb_cbor_put_int (out, v);
  else
    msb_cbor_put_null (out);
}
