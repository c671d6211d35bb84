/* snapshot.json (see snapshot_descriptor.h). The digest is computed over a canonical
 * re-serialisation, never over the file's bytes: the file may be pretty-printed or written by
 * another tool, and two descriptors that say the same thing must have the same digest. */
#include "lib/snapshot_descriptor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/image/digest.h"

void
msb_snapshot_rfc3339 (int64_t ms, char *out, size_t n)
{
  time_t t = (time_t) (ms / 1000);
  struct tm tm;
  gmtime_r (&t, &tm);
  char base[32];
  strftime (base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf (out, n, "%s.%03dZ", base, (int) (ms % 1000));
}

json_t *
msb_snapshot_desc_build (const msb_snapshot_desc_fields *f)
{
  char created[40];
  msb_snapshot_rfc3339 (f->created_at_ms, created, sizeof created);
  json_t *upper = json_pack ("{s:s, s:I}", "file", MSB_SNAPSHOT_UPPER, "size_bytes",
                             (json_int_t) f->upper_size_bytes);
  if (f->upper_integrity)
    json_object_set_new (
        upper, "integrity",
        json_pack ("{s:s, s:s}", "algorithm", "sha256", "digest", f->upper_integrity));
  json_t *extensions = json_object ();
  if (f->upper_limit_mib)
    json_object_set_new (extensions, "msb",
                         json_pack ("{s:I}", "upper_limit_mib", (json_int_t) f->upper_limit_mib));
  json_t *labels = f->labels ? json_incref (f->labels) : json_object ();
  return json_pack ("{s:i, s:s, s:s, s:s, s:n, s:{s:s?, s:s?}, s:s?, s:{s:s, s:s, s:s, s:o},"
                    " s:o, s:o, s:[]}",
                    "schema", MSB_SNAPSHOT_SCHEMA, "artifact", "snapshot", "scope", "disk",
                    "created_at", created, "parent", "image", "ref", f->image_ref,
                    "manifest_digest", f->manifest_digest, "source_sandbox", f->source_sandbox,
                    "state", "kind", "file", "format", "raw", "fstype", "ext4", "upper", upper,
                    "labels", labels, "extensions", extensions, "requires");
}

static json_t *
get_path (const json_t *o, const char *path)
{
  char key[64];
  const json_t *cur = o;
  for (const char *p = path; cur && *p;)
    {
      const char *dot = strchr (p, '.');
      size_t n = dot ? (size_t) (dot - p) : strlen (p);
      if (n >= sizeof key)
        return NULL;
      memcpy (key, p, n);
      key[n] = '\0';
      cur = json_object_get (cur, key);
      p = dot ? dot + 1 : p + n;
    }
  return (json_t *) cur;
}

const char *
msb_snapshot_desc_str (const json_t *desc, const char *path)
{
  return json_string_value (get_path (desc, path));
}

uint64_t
msb_snapshot_desc_upper_size (const json_t *desc)
{
  json_int_t v = json_integer_value (get_path (desc, "state.upper.size_bytes"));
  return v > 0 ? (uint64_t) v : 0;
}

unsigned
msb_snapshot_desc_upper_limit_mib (const json_t *desc)
{
  json_int_t v = json_integer_value (get_path (desc, "extensions.msb.upper_limit_mib"));
  return v > 0 && v <= 16 * 1024 * 1024 ? (unsigned) v : 0;
}

int64_t
msb_snapshot_desc_created_ms (const json_t *desc)
{
  const char *s = msb_snapshot_desc_str (desc, "created_at");
  struct tm tm;
  memset (&tm, 0, sizeof tm);
  const char *rest = s ? strptime (s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
  if (rest == NULL)
    return 0;
  int64_t ms = (int64_t) timegm (&tm) * 1000;
  if (*rest == '.')
    {
      int64_t frac = 0, scale = 100;
      for (rest++; *rest >= '0' && *rest <= '9'; rest++, scale /= 10)
        frac += scale > 0 ? (*rest - '0') * scale : 0;
      ms += frac;
    }
  return ms;
}

static int
bad (msb_error **err, const char *field, const char *what)
{
  return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot descriptor: `%s` %s", field, what);
}

static int
need_string (const json_t *d, const char *path, msb_error **err)
{
  return json_is_string (get_path (d, path)) ? 0 : bad (err, path, "must be a string");
}

/* The upper file is opened inside the artifact directory: a plain name, nothing that could
 * lead out of it. */
static bool
is_plain_name (const char *s)
{
  return s && *s && strchr (s, '/') == NULL && strcmp (s, ".") != 0 && strcmp (s, "..") != 0
         && strlen (s) < 256;
}

int
msb_snapshot_desc_parse (const char *text, size_t len, json_t **out, msb_error **err)
{
  json_error_t jerr;
  json_t *d = json_loadb (text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (d == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot descriptor: %s (line %d)", jerr.text,
                     jerr.line);
  int r = 0;
  json_t *schema = json_object_get (d, "schema");
  if (!json_is_object (d))
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "snapshot descriptor: not a JSON object");
  else if (!json_is_integer (schema))
    r = bad (err, "schema", "must be an integer");
  else if (json_integer_value (schema) > MSB_SNAPSHOT_SCHEMA)
    r = msb_fail (err, MSB_ERR_SNAPSHOT_MIGRATION,
                  "snapshot descriptor schema %lld is newer than this msb understands (%d): "
                  "upgrade msb",
                  (long long) json_integer_value (schema), MSB_SNAPSHOT_SCHEMA);
  else if (json_integer_value (schema) != MSB_SNAPSHOT_SCHEMA)
    r = bad (err, "schema", "must be 1");
  else if (!json_is_string (json_object_get (d, "artifact"))
           || strcmp (json_string_value (json_object_get (d, "artifact")), "snapshot") != 0)
    r = bad (err, "artifact", "must be \"snapshot\"");
  else if (need_string (d, "scope", err) < 0 || need_string (d, "created_at", err) < 0
           || need_string (d, "state.kind", err) < 0)
    r = -1;
  else if (!json_is_object (json_object_get (d, "image")))
    r = bad (err, "image", "must be an object");
  else if (msb_snapshot_desc_str (d, "image.manifest_digest")
           && !msb_digest_is_valid (msb_snapshot_desc_str (d, "image.manifest_digest")))
    r = bad (err, "image.manifest_digest", "is not a sha256 digest");
  else if (json_object_get (d, "labels") && !json_is_object (json_object_get (d, "labels")))
    r = bad (err, "labels", "must be an object");
  else if (strcmp (msb_snapshot_desc_str (d, "state.kind"), "file") == 0
           && (!is_plain_name (msb_snapshot_desc_str (d, "state.upper.file"))
               || !json_is_integer (get_path (d, "state.upper.size_bytes"))))
    r = bad (err, "state.upper", "must name a file in the artifact and its size_bytes");
  if (r < 0)
    {
      json_decref (d);
      return -1;
    }
  *out = d;
  return 0;
}

char *
msb_snapshot_desc_digest (const json_t *desc)
{
  _msb_cleanup_free_ char *canonical = json_dumps (desc, JSON_COMPACT | JSON_SORT_KEYS);
  if (canonical == NULL)
    abort ();
  char out[MSB_DIGEST_STRLEN];
  msb_sha256_digest (canonical, strlen (canonical), out);
  return msb_xstrdup (out);
}
