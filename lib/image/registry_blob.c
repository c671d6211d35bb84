/* The producer thread, the ring buffer and the resume loop of a streamed layer blob. The
 * consumer gets zero-copy views into the ring; the space of a view is released on the next
 * read, so the view stays valid as msb_unpack_read_fn promises. */
#include "lib/image/registry_blob.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

#define RING_SIZE (4u << 20)
#define VIEW_MAX (1u << 20)

struct msb_blob_reader
{
  msb_blob_source src;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  unsigned char *ring;
  size_t head, tail, used; /* bytes [tail, tail+used) mod RING_SIZE are unread */
  size_t lent;             /* bytes of the last view handed to the consumer */
  bool started, done, cancelled;
  msb_error *error; /* producer failure, handed to the consumer */
  pthread_t thread;
};

msb_blob_reader *
msb_blob_reader_new (const msb_blob_source *src)
{
  msb_blob_reader *r = msb_xcalloc (1, sizeof *r);
  r->src = *src;
  r->ring = msb_xmalloc (RING_SIZE);
  pthread_mutex_init (&r->lock, NULL);
  pthread_cond_init (&r->cond, NULL);
  return r;
}

bool
msb_blob_reader_started (const msb_blob_reader *r)
{
  return r->started;
}

/* Producer side: copies into the ring, waiting for room. -1 once cancelled. */
static int
ring_sink (void *ctx, const void *data, size_t n)
{
  msb_blob_reader *r = ctx;
  const unsigned char *p = data;
  pthread_mutex_lock (&r->lock);
  while (n > 0)
    {
      while (r->used + r->lent >= RING_SIZE && !r->cancelled)
        pthread_cond_wait (&r->cond, &r->lock);
      if (r->cancelled)
        {
          pthread_mutex_unlock (&r->lock);
          return -1;
        }
      size_t room = RING_SIZE - r->used - r->lent;
      size_t to_end = RING_SIZE - r->head;
      size_t k = n < room ? n : room;
      if (k > to_end)
        k = to_end;
      memcpy (r->ring + r->head, p, k);
      r->head = (r->head + k) % RING_SIZE;
      r->used += k;
      p += k;
      n -= k;
      pthread_cond_broadcast (&r->cond);
    }
  pthread_mutex_unlock (&r->lock);
  return 0;
}

typedef struct progress_sink
{
  msb_blob_reader *r;
  uint64_t total; /* bytes delivered over all attempts */
} progress_sink;

static int
counting_sink (void *ctx, const void *data, size_t n)
{
  progress_sink *ps = ctx;
  if (ring_sink (ps->r, data, n) < 0)
    return -1;
  ps->total += n;
  if (ps->r->src.on_progress)
    ps->r->src.on_progress (ps->r->src.cb_ctx, ps->total, ps->r->src.size);
  return 0;
}

static void
backoff (int attempt)
{
  struct timespec ts = { 0, 250000000L };
  ts.tv_sec = attempt; /* 0.25 s, 1.25 s, 2.25 s */
  nanosleep (&ts, NULL);
}

static bool
is_cancelled (msb_blob_reader *r)
{
  pthread_mutex_lock (&r->lock);
  bool c = r->cancelled;
  pthread_mutex_unlock (&r->lock);
  return c;
}

static bool
producer_cancelled (void *ctx)
{
  return is_cancelled (((progress_sink *) ctx)->r);
}

static void *
produce (void *arg)
{
  msb_blob_reader *r = arg;
  progress_sink ps = { .r = r };
  msb_error *err = NULL;
  for (int attempt = 0;; attempt++)
    {
      msb_blob_xfer x = { .cancelled = producer_cancelled };
      msb_error_clear (&err);
      int rc = msb_registry_stream_blob (r->src.client, r->src.digest, ps.total, r->src.size,
                                         counting_sink, &ps, &x, &err);
      if (rc == 0 && r->src.size && ps.total < r->src.size)
        {
          /* The server ended early without a transport error: get the rest. */
          rc = msb_fail (&err, MSB_ERR_IMAGE_PULL_FAILED,
                         "layer blob %s: the transfer ended after %llu of %llu bytes",
                         r->src.digest, (unsigned long long) ps.total,
                         (unsigned long long) r->src.size);
          x.retryable = true;
        }
      if (rc == 0 || x.sink_aborted || is_cancelled (r))
        break;
      if (!x.retryable || attempt + 1 >= MSB_BLOB_ATTEMPTS)
        {
          if (attempt > 0)
            msb_error_prefix (&err, "after %d attempts", attempt + 1);
          break;
        }
      backoff (attempt);
    }
  if (err == NULL && r->src.on_complete)
    r->src.on_complete (r->src.cb_ctx, ps.total);
  pthread_mutex_lock (&r->lock);
  r->done = true;
  r->error = err;
  pthread_cond_broadcast (&r->cond);
  pthread_mutex_unlock (&r->lock);
  return NULL;
}

ssize_t
msb_blob_reader_read (void *reader, const void **buf, msb_error **err)
{
  msb_blob_reader *r = reader;
  pthread_mutex_lock (&r->lock);
  if (!r->started)
    {
      r->started = true;
      if (pthread_create (&r->thread, NULL, produce, r) != 0)
        {
          r->started = false;
          pthread_mutex_unlock (&r->lock);
          return msb_fail (err, MSB_ERR_IO, "start the download of %s", r->src.digest);
        }
    }
  /* The previous view is consumed: its space goes back to the producer. */
  r->tail = (r->tail + r->lent) % RING_SIZE;
  r->lent = 0;
  pthread_cond_broadcast (&r->cond);
  while (r->used == 0 && !r->done && !r->cancelled)
    pthread_cond_wait (&r->cond, &r->lock);
  if (r->cancelled)
    {
      pthread_mutex_unlock (&r->lock);
      return msb_fail (err, MSB_ERR_IMAGE_PULL_FAILED, "download of %s cancelled",
                       r->src.digest);
    }
  if (r->used == 0)
    {
      ssize_t ret = 0;
      if (r->error)
        {
          ret = -1;
          if (err)
            *err = msb_error_new (msb_error_get_kind (r->error), msb_error_get_errno (r->error),
                                  msb_error_get_message (r->error));
        }
      pthread_mutex_unlock (&r->lock);
      return ret;
    }
  size_t n = r->used;
  if (n > RING_SIZE - r->tail)
    n = RING_SIZE - r->tail;
  if (n > VIEW_MAX)
    n = VIEW_MAX;
  *buf = r->ring + r->tail;
  r->used -= n;
  r->lent = n;
  pthread_mutex_unlock (&r->lock);
  return (ssize_t) n;
}

void
msb_blob_reader_cancel (msb_blob_reader *r)
{
  pthread_mutex_lock (&r->lock);
  r->cancelled = true;
  pthread_cond_broadcast (&r->cond);
  pthread_mutex_unlock (&r->lock);
}

void
msb_blob_reader_free (msb_blob_reader *r)
{
  if (r == NULL)
    return;
  pthread_mutex_lock (&r->lock);
  r->cancelled = true;
  pthread_cond_broadcast (&r->cond);
  bool started = r->started;
  pthread_mutex_unlock (&r->lock);
  if (started)
    pthread_join (r->thread, NULL);
  msb_error_free (r->error);
  pthread_mutex_destroy (&r->lock);
  pthread_cond_destroy (&r->cond);
  free (r->ring);
  free (r);
}
