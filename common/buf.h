/* A growable byte buffer. Allocation failure aborts: every caller would do the same. */
#ifndef MSB_COMMON_BUF_H
#define MSB_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct msb_buf
{
  uint8_t *data;
  size_t len;
  size_t cap;
} msb_buf;

#define MSB_BUF_INIT { NULL, 0, 0 }

/* Makes room for `extra` more bytes; returns a pointer to the first free byte. */
uint8_t *msb_buf_reserve (msb_buf *b, size_t extra);
void msb_buf_append (msb_buf *b, const void *data, size_t n);
void msb_buf_append_byte (msb_buf *b, uint8_t v);
/* Removes the first `n` bytes (a consumed prefix). */
void msb_buf_consume (msb_buf *b, size_t n);
void msb_buf_reset (msb_buf *b);
void msb_buf_free (msb_buf *b);

static inline void
msb_cleanup_buf_fn (msb_buf *b)
{
  msb_buf_free (b);
}
#define _msb_cleanup_buf_ __attribute__ ((cleanup (msb_cleanup_buf_fn)))

#endif
