#include "common/buf.h"

#include <stdlib.h>
#include <string.h>

uint8_t *
msb_buf_reserve (msb_buf *b, size_t extra)
{
  if (b->cap - b->len < extra)
    {
      size_t cap = b->cap ? b->cap : 256;
      while (cap - b->len < extra)
        {
          if (cap > SIZE_MAX / 2)
            abort ();
          cap *= 2;
        }
      uint8_t *p = realloc (b->data, cap);
      if (p == NULL)
        abort ();
      b->data = p;
      b->cap = cap;
    }
  return b->data + b->len;
}

void
msb_buf_append (msb_buf *b, const void *data, size_t n)
{
  if (n == 0)
    return;
  memcpy (msb_buf_reserve (b, n), data, n);
  b->len += n;
}

void
msb_buf_append_byte (msb_buf *b, uint8_t v)
{
  *msb_buf_reserve (b, 1) = v;
  b->len++;
}

void
msb_buf_consume (msb_buf *b, size_t n)
{
  if (n >= b->len)
    {
      b->len = 0;
      return;
    }
  memmove (b->data, b->data + n, b->len - n);
  b->len -= n;
}

void
msb_buf_reset (msb_buf *b)
{
  b->len = 0;
}

void
msb_buf_free (msb_buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
