/* An ordered list of key/value strings (env, labels, scripts): set replaces in place, so the
 * order users gave is kept in the stored config. */
#ifndef MSB_LIB_KV_H
#define MSB_LIB_KV_H

#include <stddef.h>

typedef struct msb_kv
{
  char *key;
  char *value;
} msb_kv;

typedef struct msb_kvlist
{
  msb_kv *items;
  size_t n;
} msb_kvlist;

void msb_kvlist_set (msb_kvlist *l, const char *key, const char *value);
const char *msb_kvlist_get (const msb_kvlist *l, const char *key);
void msb_kvlist_remove (msb_kvlist *l, const char *key);
void msb_kvlist_copy (msb_kvlist *dst, const msb_kvlist *src);
void msb_kvlist_clear (msb_kvlist *l);
/* "K=V" strings, NULL-terminated, newly allocated. */
char **msb_kvlist_to_envv (const msb_kvlist *l);

#endif
