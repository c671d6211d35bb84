/* A layer blob streamed from a registry straight into the unpacker: a producer thread runs
 * the HTTP transfer and writes into a bounded ring buffer; the unpacker pulls from it through
 * an msb_unpack_read_fn. Nothing is written to disk before it is unpacked.
 *
 * The transfer starts on the unpacker's first read, not before: when another process holds
 * the layer's lock and publishes the layer meanwhile, msb_image_layer_materialize returns
 * without reading and the blob is never fetched (two pulls fetch each layer once).
 *
 * A transfer that breaks (connection reset, timeout, 5xx) is resumed with a Range request
 * from the last byte delivered — or restarted with the delivered prefix skipped when the
 * server ignores ranges — so the unpacker sees one continuous stream; its digests decide. */
#ifndef MSB_LIB_IMAGE_REGISTRY_BLOB_H
#define MSB_LIB_IMAGE_REGISTRY_BLOB_H

#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "lib/image/registry_http.h"

#define MSB_BLOB_ATTEMPTS 4

typedef struct msb_blob_reader msb_blob_reader;

typedef struct msb_blob_source
{
  msb_registry_client *client;
  const char *digest;
  uint64_t size; /* from the descriptor: more bytes than this abort, fewer are retried */
  /* Called on the producer thread: bytes received so far, and once at the end. */
  void (*on_progress) (void *ctx, uint64_t downloaded, uint64_t total);
  void (*on_complete) (void *ctx, uint64_t downloaded);
  void *cb_ctx;
} msb_blob_source;

msb_blob_reader *msb_blob_reader_new (const msb_blob_source *src);

/* msb_unpack_read_fn over the ring; the first call starts the transfer. */
ssize_t msb_blob_reader_read (void *reader, const void **buf, msb_error **err);

/* True once the transfer was started (the blob was really fetched). */
bool msb_blob_reader_started (const msb_blob_reader *r);

/* Makes the transfer and every read fail from now on (another layer of the pull failed).
 * Safe from any thread. */
void msb_blob_reader_cancel (msb_blob_reader *r);

/* Cancels a transfer still running, joins the producer and frees everything. */
void msb_blob_reader_free (msb_blob_reader *r);

#endif
