/* Rendering pull events (include/msb/pull.h) for a person: on a terminal, one line per layer
 * redrawn in place (a bar, bytes, state); otherwise plain lines at the milestones only, so
 * logs stay readable. Used by `msb pull` and by `run` / `create` when they pull. An image that
 * was already cached prints nothing unless the caller asks (`msb pull` does). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

typedef enum layer_state
{
  LAYER_WAITING = 0,
  LAYER_CACHED,
  LAYER_DOWNLOADING,
  LAYER_VERIFYING,
  LAYER_WRITING,
  LAYER_DONE,
} layer_state;

typedef struct layer_line
{
  char digest[20]; /* "sha256:" + 12 hex */
  layer_state state;
  int64_t downloaded, total;
} layer_line;

struct cli_pull_progress
{
  FILE *out;
  bool tty;
  bool verbose_cached; /* say so when nothing had to be downloaded */
  bool drawn;          /* the layer lines are on screen (tty) */
  bool any_download;
  size_t n;
  layer_line *layers;
  char *reference;
};

cli_pull_progress *
cli_pull_progress_new (FILE *out, bool tty, bool verbose_cached)
{
  cli_pull_progress *p = calloc (1, sizeof *p);
  if (p == NULL)
    abort ();
  p->out = out;
  p->tty = tty;
  p->verbose_cached = verbose_cached;
  return p;
}

static void
human (int64_t bytes, char *buf, size_t n)
{
  double v = (double) (bytes < 0 ? 0 : bytes);
  const char *unit = "B";
  if (v >= 1024.0 * 1024 * 1024)
    v /= 1024.0 * 1024 * 1024, unit = "GiB";
  else if (v >= 1024.0 * 1024)
    v /= 1024.0 * 1024, unit = "MiB";
  else if (v >= 1024.0)
    v /= 1024.0, unit = "KiB";
  snprintf (buf, n, unit[0] == 'B' ? "%.0f %s" : "%.1f %s", v, unit);
}

static void
draw_line (cli_pull_progress *p, size_t i)
{
  layer_line *l = &p->layers[i];
  static const char *const names[] = { "waiting", "cached", "downloading", "verifying",
                                       "unpacking", "done" };
  char done[32], total[32], bar[26];
  human (l->downloaded, done, sizeof done);
  human (l->total, total, sizeof total);
  int width = 24, fill = 0;
  if (l->state == LAYER_DONE || l->state == LAYER_CACHED)
    fill = width;
  else if (l->total > 0 && l->downloaded > 0)
    fill = (int) ((double) l->downloaded / (double) l->total * width);
  if (fill > width)
    fill = width;
  for (int k = 0; k < width; k++)
    bar[k] = k < fill ? '=' : (k == fill ? '>' : ' ');
  bar[width] = '\0';
  fprintf (p->out, "\033[2K  %2zu %-19s [%s] %10s / %-10s %s\n", i + 1,
           l->digest[0] ? l->digest : "", bar, done, total, names[l->state]);
}

static void
redraw (cli_pull_progress *p)
{
  if (!p->tty || p->n == 0)
    return;
  if (p->drawn)
    fprintf (p->out, "\033[%zuA", p->n);
  for (size_t i = 0; i < p->n; i++)
    draw_line (p, i);
  p->drawn = true;
  fflush (p->out);
}

static void
on_resolved (cli_pull_progress *p, const msb_pull_event *ev)
{
  p->n = ev->layer_count > 0 ? (size_t) ev->layer_count : 0;
  p->layers = calloc (p->n ? p->n : 1, sizeof *p->layers);
  if (p->layers == NULL)
    abort ();
  p->any_download = ev->total_download_bytes > 0;
  if (!p->any_download && !p->verbose_cached)
    return;
  char total[32];
  human (ev->total_download_bytes, total, sizeof total);
  fprintf (p->out, "%s: resolved to %s, %" PRId64 " layer%s, %s to download\n", p->reference,
           ev->manifest_digest ? ev->manifest_digest : "?", ev->layer_count,
           ev->layer_count == 1 ? "" : "s", total);
  fflush (p->out);
}

static layer_line *
layer_of (cli_pull_progress *p, const msb_pull_event *ev)
{
  if (ev->layer_index < 0 || (size_t) ev->layer_index >= p->n)
    return NULL;
  layer_line *l = &p->layers[ev->layer_index];
  if (ev->digest && l->digest[0] == '\0')
    snprintf (l->digest, sizeof l->digest, "%.19s", ev->digest);
  return l;
}

static void
plain (cli_pull_progress *p, const msb_pull_event *ev, const char *what)
{
  if (p->tty || (!p->any_download && !p->verbose_cached))
    return;
  layer_line *l = &p->layers[ev->layer_index];
  char n[32];
  human (l->downloaded, n, sizeof n);
  fprintf (p->out, "layer %" PRId64 "/%zu %s: %s%s%s\n", ev->layer_index + 1, p->n,
           l->digest[0] ? l->digest : (ev->diff_id ? ev->diff_id : ""), what,
           l->state == LAYER_DOWNLOADING || l->state == LAYER_VERIFYING ? " " : "",
           l->state == LAYER_DOWNLOADING || l->state == LAYER_VERIFYING ? n : "");
  fflush (p->out);
}

void
cli_pull_progress_event (const msb_pull_event *ev, void *data)
{
  cli_pull_progress *p = data;
  if (ev->type == MSB_PULL_RESOLVING)
    {
      free (p->reference);
      p->reference = strdup (ev->reference ? ev->reference : "");
      return;
    }
  if (ev->type == MSB_PULL_RESOLVED)
    {
      on_resolved (p, ev);
      return;
    }
  if (ev->type == MSB_PULL_COMPLETE)
    return;
  layer_line *l = layer_of (p, ev);
  if (l == NULL)
    return;
  switch (ev->type)
    {
    case MSB_PULL_LAYER_DOWNLOAD_PROGRESS:
      l->state = LAYER_DOWNLOADING;
      l->downloaded = ev->downloaded_bytes;
      l->total = ev->total_bytes;
      break;
    case MSB_PULL_LAYER_DOWNLOAD_COMPLETE:
      l->downloaded = ev->downloaded_bytes;
      if (l->total <= 0)
        l->total = ev->downloaded_bytes;
      l->state = LAYER_VERIFYING;
      plain (p, ev, "downloaded");
      break;
    case MSB_PULL_LAYER_DOWNLOAD_VERIFYING:
      l->state = LAYER_VERIFYING;
      break;
    case MSB_PULL_LAYER_MATERIALIZE_STARTED:
      if (l->state == LAYER_WAITING)
        l->state = LAYER_DOWNLOADING;
      break;
    case MSB_PULL_LAYER_MATERIALIZE_WRITING:
      l->state = LAYER_WRITING;
      break;
    case MSB_PULL_LAYER_MATERIALIZE_COMPLETE:
      {
        bool was_waiting = l->state == LAYER_WAITING;
        l->state = was_waiting ? LAYER_CACHED : LAYER_DONE;
        plain (p, ev, was_waiting ? "already cached" : "unpacked");
        break;
      }
    default:
      break;
    }
  if (p->any_download || p->verbose_cached)
    redraw (p);
}

int
cli_pull_progress_finish (cli_pull_progress *p)
{
  if (p == NULL)
    return 0;
  int shown = p->any_download;
  if (p->tty && p->drawn)
    fflush (p->out);
  free (p->layers);
  free (p->reference);
  free (p);
  return shown;
}
