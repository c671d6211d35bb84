/* JSON of the config's volumes, patches, init and upper size (API.md §1.20):
 *   mounts:  [{"kind": "bind"|"named"|"tmpfs", "guest", "bind"?, "named"?, "named_mode"?,
 *              "named_kind"?, "size_mib", "quota_mib", "readonly", "noexec", "nosuid", "nodev"}]
 *   patches: [{"kind", "path", "content"? | "content_base64"?, "src"?, "dst"?, "target"?,
 *              "link"?, "mode", "replace"}]  (field names of PatchConfig)
 *   init:    null | {"cmd", "args": [..], "env": {K: V}}
 *   image.Oci.root_disk: {"kind": "managed", "size_mib"} when upper_size_mib is set.
 * Text that is not valid UTF-8 is stored as base64 ("content_base64"). Readers skip entries
 * they cannot make sense of: the stored config came from a setter that validated it. */
#include "lib/config_fs_json.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"

static const char *const mount_kinds[] = { [MSB_MOUNT_KIND_BIND] = "bind",
                                           [MSB_MOUNT_KIND_NAMED] = "named",
                                           [MSB_MOUNT_KIND_TMPFS] = "tmpfs" };
static const char *const named_modes[] = { "existing", "create", "ensure-exists" };
static const char *const volume_kinds[] = { "dir", "disk" };

static json_t *
uint_or_null (uint64_t v)
{
  return v ? json_integer ((json_int_t) v) : json_null ();
}

static json_t *
mount_json (const msb_mount_spec *m)
{
  json_t *o = json_object ();
  json_object_set_new (o, "kind", json_string (mount_kinds[m->kind]));
  json_object_set_new (o, "guest", json_string (m->target));
  if (m->kind == MSB_MOUNT_KIND_BIND)
    json_object_set_new (o, "bind", json_string (m->source));
  if (m->kind == MSB_MOUNT_KIND_NAMED)
    {
      json_object_set_new (o, "named", json_string (m->source));
      json_object_set_new (o, "named_mode", json_string (named_modes[m->named_mode]));
      json_object_set_new (o, "named_kind", json_string (volume_kinds[m->named_kind]));
    }
  json_object_set_new (o, "size_mib", uint_or_null (m->size_mib));
  json_object_set_new (o, "quota_mib", uint_or_null (m->quota_mib));
  json_object_set_new (o, "readonly", json_boolean (m->flags & MSB_MOUNT_READONLY));
  json_object_set_new (o, "noexec", json_boolean (m->flags & MSB_MOUNT_NOEXEC));
  json_object_set_new (o, "nosuid", json_boolean (m->flags & MSB_MOUNT_NOSUID));
  json_object_set_new (o, "nodev", json_boolean (m->flags & MSB_MOUNT_NODEV));
  return o;
}

json_t *
msb_config_mounts_json (const msb_config *c)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < c->files.n_mounts; i++)
    json_array_append_new (a, mount_json (&c->files.mounts[i]));
  return a;
}

static void
set_content (json_t *o, const uint8_t *data, size_t len, bool force_base64)
{
  json_t *s = force_base64 ? NULL : json_stringn ((const char *) data, len);
  if (s)
    {
      json_object_set_new (o, "content", s);
      return;
    }
  _msb_cleanup_free_ char *b64 = msb_xmalloc (4 * ((len + 2) / 3) + 1);
  EVP_EncodeBlock ((unsigned char *) b64, data, (int) len);
  json_object_set_new (o, "content_base64", json_string (b64));
}

static json_t *
patch_json (const msb_patch_spec *p)
{
  json_t *o = json_object ();
  json_object_set_new (o, "kind", json_string (msb_patch_kind_name (p->kind)));
  switch (p->kind)
    {
    case MSB_PATCH_COPY_FILE:
    case MSB_PATCH_COPY_DIR:
      json_object_set_new (o, "src", json_string (p->src));
      json_object_set_new (o, "dst", json_string (p->path));
      break;
    case MSB_PATCH_SYMLINK:
      json_object_set_new (o, "target", json_string (p->src));
      json_object_set_new (o, "link", json_string (p->path));
      break;
    default:
      json_object_set_new (o, "path", json_string (p->path));
      break;
    }
  if (p->content)
    set_content (o, p->content, p->content_len, p->kind == MSB_PATCH_FILE);
  json_object_set_new (o, "mode", p->mode >= 0 ? json_integer (p->mode) : json_null ());
  json_object_set_new (o, "replace", json_boolean (p->replace));
  return o;
}

json_t *
msb_config_patches_json (const msb_config *c)
{
  json_t *a = json_array ();
  for (size_t i = 0; i < c->files.n_patches; i++)
    json_array_append_new (a, patch_json (&c->files.patches[i]));
  return a;
}

json_t *
msb_config_init_json (const msb_config *c)
{
  const msb_config_files *f = &c->files;
  if (f->init_cmd == NULL)
    return json_null ();
  json_t *args = json_array ();
  for (char **a = f->init_args; a && *a; a++)
    json_array_append_new (args, json_string (*a));
  json_t *env = json_object ();
  for (size_t i = 0; i < f->init_env.n; i++)
    json_object_set_new (env, f->init_env.items[i].key, json_string (f->init_env.items[i].value));
  return json_pack ("{s:s, s:o, s:o}", "cmd", f->init_cmd, "args", args, "env", env);
}

void
msb_config_root_disk_json (const msb_config *c, json_t *oci)
{
  if (c->files.upper_size_mib)
    json_object_set_new (oci, "root_disk",
                         json_pack ("{s:s, s:I}", "kind", "managed", "size_mib",
                                    (json_int_t) c->files.upper_size_mib));
}

/* ---- parsing ---------------------------------------------------------------------------- */

static const char *
str_of (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_string (v) ? json_string_value (v) : NULL;
}

static uint64_t
uint_of (json_t *o, const char *key)
{
  json_t *v = json_object_get (o, key);
  return json_is_integer (v) && json_integer_value (v) > 0 ? (uint64_t) json_integer_value (v) : 0;
}

static int
index_of (const char *s, const char *const *names, size_t n)
{
  for (size_t i = 0; s && i < n; i++)
    if (names[i] && strcmp (s, names[i]) == 0)
      return (int) i;
  return -1;
}

static void
read_mount (json_t *o, msb_config *c)
{
  int kind = index_of (str_of (o, "kind"), mount_kinds, sizeof mount_kinds / sizeof mount_kinds[0]);
  const char *guest = str_of (o, "guest");
  if (kind < 0 || guest == NULL)
    return;
  msb_mount_spec m = {
    .kind = kind,
    .target = msb_xstrdup (guest),
    .size_mib = uint_of (o, "size_mib"),
    .quota_mib = uint_of (o, "quota_mib"),
  };
  m.flags = (json_is_true (json_object_get (o, "readonly")) ? MSB_MOUNT_READONLY : 0)
            | (json_is_true (json_object_get (o, "noexec")) ? MSB_MOUNT_NOEXEC : 0)
            | (json_is_true (json_object_get (o, "nosuid")) ? MSB_MOUNT_NOSUID : 0)
            | (json_is_true (json_object_get (o, "nodev")) ? MSB_MOUNT_NODEV : 0);
  if (kind == MSB_MOUNT_KIND_BIND)
    m.source = msb_xstrdup (str_of (o, "bind"));
  if (kind == MSB_MOUNT_KIND_NAMED)
    {
      m.source = msb_xstrdup (str_of (o, "named"));
      int mode = index_of (str_of (o, "named_mode"), named_modes, 3);
      int vk = index_of (str_of (o, "named_kind"), volume_kinds, 2);
      m.named_mode = mode < 0 ? 0 : mode;
      m.named_kind = vk < 0 ? 0 : vk;
    }
  if (kind != MSB_MOUNT_KIND_TMPFS && m.source == NULL)
    {
      free (m.target);
      return;
    }
  msb_config_files *f = &c->files;
  f->mounts = msb_xrealloc (f->mounts, (f->n_mounts + 1) * sizeof *f->mounts);
  f->mounts[f->n_mounts++] = m;
}

static uint8_t *
content_of (json_t *o, size_t *len)
{
  const char *text = str_of (o, "content");
  if (text)
    {
      json_t *v = json_object_get (o, "content");
      *len = json_string_length (v);
      uint8_t *b = msb_xmalloc (*len + 1);
      memcpy (b, text, *len);
      b[*len] = 0;
      return b;
    }
  const char *b64 = str_of (o, "content_base64");
  if (b64 == NULL)
    return NULL;
  size_t n = strlen (b64);
  uint8_t *b = msb_xmalloc (n / 4 * 3 + 4);
  int decoded = n ? EVP_DecodeBlock (b, (const unsigned char *) b64, (int) n) : 0;
  if (decoded < 0)
    {
      free (b);
      return NULL;
    }
  /* EVP_DecodeBlock counts the '=' padding as zero bytes. */
  size_t pad = n >= 1 && b64[n - 1] == '=' ? (n >= 2 && b64[n - 2] == '=' ? 2 : 1) : 0;
  *len = (size_t) decoded - pad;
  b[*len] = 0;
  return b;
}

static void
read_patch (json_t *o, msb_config *c)
{
  const char *kind_name = str_of (o, "kind");
  int kind = 0;
  for (int k = MSB_PATCH_TEXT; k <= MSB_PATCH_SYMLINK; k++)
    if (kind_name && strcmp (kind_name, msb_patch_kind_name (k)) == 0)
      kind = k;
  if (kind == 0)
    return;
  msb_patch_spec p = { .kind = kind, .mode = -1 };
  json_t *mode = json_object_get (o, "mode");
  if (json_is_integer (mode) && json_integer_value (mode) >= 0 && json_integer_value (mode) <= 07777)
    p.mode = (int) json_integer_value (mode);
  p.replace = json_is_true (json_object_get (o, "replace"));
  if (kind == MSB_PATCH_COPY_FILE || kind == MSB_PATCH_COPY_DIR)
    {
      p.src = msb_xstrdup (str_of (o, "src"));
      p.path = msb_xstrdup (str_of (o, "dst"));
    }
  else if (kind == MSB_PATCH_SYMLINK)
    {
      p.src = msb_xstrdup (str_of (o, "target"));
      p.path = msb_xstrdup (str_of (o, "link"));
    }
  else
    p.path = msb_xstrdup (str_of (o, "path"));
  p.content = content_of (o, &p.content_len);
  bool needs_content = kind == MSB_PATCH_TEXT || kind == MSB_PATCH_FILE || kind == MSB_PATCH_APPEND;
  bool needs_src = kind == MSB_PATCH_COPY_FILE || kind == MSB_PATCH_COPY_DIR || kind == MSB_PATCH_SYMLINK;
  if (p.path == NULL || (needs_content && p.content == NULL) || (needs_src && p.src == NULL))
    {
      free (p.path);
      free (p.src);
      free (p.content);
      return;
    }
  msb_config_files *f = &c->files;
  f->patches = msb_xrealloc (f->patches, (f->n_patches + 1) * sizeof *f->patches);
  f->patches[f->n_patches++] = p;
}

static void
read_init (json_t *o, msb_config *c)
{
  const char *cmd = str_of (o, "cmd");
  if (cmd == NULL)
    return;
  msb_config_files *f = &c->files;
  f->init_cmd = msb_xstrdup (cmd);
  json_t *args = json_object_get (o, "args");
  size_t n = json_is_array (args) ? json_array_size (args) : 0;
  f->init_args = msb_xcalloc (n + 1, sizeof (char *));
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (json_is_string (json_array_get (args, i)))
      f->init_args[k++] = msb_xstrdup (json_string_value (json_array_get (args, i)));
  json_t *env = json_object_get (o, "env");
  const char *key;
  json_t *v;
  if (json_is_object (env))
    json_object_foreach (env, key, v)
      if (json_is_string (v))
        msb_kvlist_set (&f->init_env, key, json_string_value (v));
}

void
msb_config_files_from_json (json_t *root, msb_config *c)
{
  size_t i;
  json_t *item;
  json_t *mounts = json_object_get (root, "mounts");
  if (json_is_array (mounts))
    json_array_foreach (mounts, i, item)
      if (json_is_object (item))
        read_mount (item, c);
  json_t *patches = json_object_get (root, "patches");
  if (json_is_array (patches))
    json_array_foreach (patches, i, item)
      if (json_is_object (item))
        read_patch (item, c);
  json_t *init = json_object_get (root, "init");
  if (json_is_object (init))
    read_init (init, c);
  json_t *disk = json_object_get (json_object_get (json_object_get (root, "image"), "Oci"), "root_disk");
  uint64_t mib = json_is_object (disk) ? uint_of (disk, "size_mib") : 0;
  if (mib && mib <= 16u * 1024u * 1024u)
    c->files.upper_size_mib = (unsigned) mib;
}
