#include "lib/kv.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

void
msb_kvlist_set (msb_kvlist *l, const char *key, const char *value)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].key, key) == 0)
      {
        free (l->items[i].value);
        l->items[i].value = msb_xstrdup (value);
        return;
      }
  l->items = msb_xrealloc (l->items, (l->n + 1) * sizeof *l->items);
  l->items[l->n].key = msb_xstrdup (key);
  l->items[l->n].value = msb_xstrdup (value);
  l->n++;
}

const char *
msb_kvlist_get (const msb_kvlist *l, const char *key)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].key, key) == 0)
      return l->items[i].value;
  return NULL;
}

void
msb_kvlist_remove (msb_kvlist *l, const char *key)
{
  for (size_t i = 0; i < l->n; i++)
    if (strcmp (l->items[i].key, key) == 0)
      {
        free (l->items[i].key);
        free (l->items[i].value);
        memmove (&l->items[i], &l->items[i + 1], (l->n - i - 1) * sizeof *l->items);
        l->n--;
        return;
      }
}

void
msb_kvlist_copy (msb_kvlist *dst, const msb_kvlist *src)
{
  for (size_t i = 0; i < src->n; i++)
    msb_kvlist_set (dst, src->items[i].key, src->items[i].value);
}

void
msb_kvlist_clear (msb_kvlist *l)
{
  for (size_t i = 0; i < l->n; i++)
    {
      free (l->items[i].key);
      free (l->items[i].value);
    }
  free (l->items);
  l->items = NULL;
  l->n = 0;
}

char **
msb_kvlist_to_envv (const msb_kvlist *l)
{
  char **v = msb_xcalloc (l->n + 1, sizeof (char *));
  for (size_t i = 0; i < l->n; i++)
    v[i] = msb_xasprintf ("%s=%s", l->items[i].key, l->items[i].value);
  return v;
}
