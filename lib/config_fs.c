/* Setters for volumes, patches, scripts, the custom init and the upper size (see
 * config_fs.h). Each validates its arguments and names the option in its error; host paths
 * are made absolute here, because the runtime that uses them runs in another directory.
 *
 * Must never: accept a guest path that could be read two ways ("..", "." components), or a
 * target that would cover the sandbox's API filesystems. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config.h"

/* A patch's content is stored in the config JSON in the state database. */
#define PATCH_CONTENT_MAX (16u << 20)
#define PATCHES_MAX 1024u
#define MOUNTS_MAX 256u
#define SCRIPT_BODY_MAX (1u << 20)

static bool
has_control_chars (const char *s)
{
  for (; *s; s++)
    if ((unsigned char) *s < 0x20 || *s == 0x7f)
      return true;
  return false;
}

char *
msb_guest_path_normalise (const char *option, const char *path, msb_error **err)
{
  if (path == NULL || path[0] != '/')
    {
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `%s` must be an absolute path", option,
                path ? path : "(null)");
      return NULL;
    }
  if (strlen (path) >= 4096 || has_control_chars (path))
    {
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `%s` is not a valid path", option, path);
      return NULL;
    }
  char *out = msb_xcalloc (strlen (path) + 2, 1);
  size_t n = 0;
  for (const char *p = path; *p;)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      const char *end = strchrnul (p, '/');
      size_t len = (size_t) (end - p);
      if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.' && p[1] == '.'))
        {
          msb_fail (err, MSB_ERR_INVALID_CONFIG,
                    "%s: `%s` must not contain `.` or `..` components", option, path);
          free (out);
          return NULL;
        }
      out[n++] = '/';
      memcpy (out + n, p, len);
      n += len;
      p = end;
    }
  if (n == 0)
    out[n++] = '/';
  out[n] = '\0';
  return out;
}

static bool
is_under (const char *path, const char *dir)
{
  size_t n = strlen (dir);
  return strncmp (path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* /proc and /sys are the kernel's views (their masks must stay), /.msb is the runtime's. */
static int
check_not_reserved (const char *option, const char *path, bool allow_root, msb_error **err)
{
  static const char *const reserved[] = { "/proc", "/sys", "/.msb" };
  if (!allow_root && strcmp (path, "/") == 0)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `/` cannot be used here", option);
  for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
    if (is_under (path, reserved[i]))
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: `%s` is under %s, which msb manages",
                       option, path, reserved[i]);
  return 0;
}

int
msb_volume_name_validate (const char *name, msb_error **err)
{
  if (name == NULL || *name == '\0')
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volume name must not be empty");
  size_t n = strlen (name);
  if (n > 128)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volume name is %zu bytes; the limit is 128", n);
  if (strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || strchr (name, '/')
      || has_control_chars (name))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "volume name `%s` must not be `.`, `..` or contain '/' or control characters",
                     name);
  return 0;
}

/* An absolute, resolved host path that exists. */
static char *
host_path_resolve (const char *option, const char *path, msb_error **err)
{
  if (path == NULL || *path == '\0')
    {
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "%s: the host path must not be empty", option);
      return NULL;
    }
  char *real = realpath (path, NULL);
  if (real == NULL)
    msb_fail_errno (err, errno, MSB_ERR_INVALID_CONFIG, "%s: host path `%s`", option, path);
  return real;
}

/* ---- lifetime --------------------------------------------------------------------------- */

static void
mount_clear (msb_mount_spec *m)
{
  free (m->source);
  free (m->target);
}

static void
patch_clear (msb_patch_spec *p)
{
  free (p->path);
  free (p->src);
  free (p->content);
}

void
msb_config_files_clear (msb_config *c)
{
  msb_config_files *f = &c->files;
  for (size_t i = 0; i < f->n_mounts; i++)
    mount_clear (&f->mounts[i]);
  free (f->mounts);
  for (size_t i = 0; i < f->n_patches; i++)
    patch_clear (&f->patches[i]);
  free (f->patches);
  free (f->init_cmd);
  msb_strv_free (f->init_args);
  msb_kvlist_clear (&f->init_env);
  memset (f, 0, sizeof *f);
}

void
msb_config_files_copy (msb_config *dst, const msb_config *src)
{
  const msb_config_files *s = &src->files;
  msb_config_files *d = &dst->files;
  memset (d, 0, sizeof *d);
  d->mounts = msb_xcalloc (s->n_mounts ? s->n_mounts : 1, sizeof *d->mounts);
  for (size_t i = 0; i < s->n_mounts; i++)
    {
      d->mounts[i] = s->mounts[i];
      d->mounts[i].source = msb_xstrdup (s->mounts[i].source);
      d->mounts[i].target = msb_xstrdup (s->mounts[i].target);
    }
  d->n_mounts = s->n_mounts;
  d->patches = msb_xcalloc (s->n_patches ? s->n_patches : 1, sizeof *d->patches);
  for (size_t i = 0; i < s->n_patches; i++)
    {
      const msb_patch_spec *p = &s->patches[i];
      d->patches[i] = *p;
      d->patches[i].path = msb_xstrdup (p->path);
      d->patches[i].src = msb_xstrdup (p->src);
      d->patches[i].content = NULL;
      if (p->content)
        {
          d->patches[i].content = msb_xmalloc (p->content_len + 1);
          memcpy (d->patches[i].content, p->content, p->content_len);
          d->patches[i].content[p->content_len] = 0;
        }
    }
  d->n_patches = s->n_patches;
  d->init_cmd = msb_xstrdup (s->init_cmd);
  d->init_args = msb_strv_dup (s->init_args);
  msb_kvlist_copy (&d->init_env, &s->init_env);
  d->upper_size_mib = s->upper_size_mib;
}

/* ---- mounts ----------------------------------------------------------------------------- */

static int
add_mount (msb_config *c, msb_mount_spec *m, const char *guest_path, msb_error **err)
{
  m->target = msb_guest_path_normalise ("volumes", guest_path, err);
  if (m->target == NULL || check_not_reserved ("volumes", m->target, false, err) < 0)
    {
      mount_clear (m);
      return -1;
    }
  msb_config_files *f = &c->files;
  for (size_t i = 0; i < f->n_mounts; i++)
    if (strcmp (f->mounts[i].target, m->target) == 0)
      {
        msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: `%s` is mounted twice", m->target);
        mount_clear (m);
        return -1;
      }
  if (f->n_mounts >= MOUNTS_MAX)
    {
      mount_clear (m);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: at most %u mounts", MOUNTS_MAX);
    }
  if (m->flags & ~(unsigned) (MSB_MOUNT_READONLY | MSB_MOUNT_NOEXEC | MSB_MOUNT_NOSUID | MSB_MOUNT_NODEV))
    {
      mount_clear (m);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: unknown mount flags 0x%x", m->flags);
    }
  f->mounts = msb_xrealloc (f->mounts, (f->n_mounts + 1) * sizeof *f->mounts);
  f->mounts[f->n_mounts++] = *m;
  return 0;
}

int
msb_config_add_bind_mount (msb_config *c, const char *host_path, const char *guest_path,
                           unsigned flags, msb_error **err)
{
  msb_mount_spec m = { .kind = MSB_MOUNT_KIND_BIND, .flags = flags };
  m.source = host_path_resolve ("volumes", host_path, err);
  if (m.source == NULL)
    return -1;
  struct stat st;
  if (stat (m.source, &st) < 0 || !S_ISDIR (st.st_mode))
    {
      msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: host path `%s` is not a directory",
                host_path);
      free (m.source);
      return -1;
    }
  return add_mount (c, &m, guest_path, err);
}

int
msb_config_add_named_mount (msb_config *c, const char *volume, const char *guest_path,
                            const msb_named_mount_opts *opts, msb_error **err)
{
  if (msb_volume_name_validate (volume, err) < 0)
    return msb_error_prefix (err, "volumes");
  msb_named_mount_opts o = { 0 };
  if (opts)
    memcpy (&o, opts, opts->size && opts->size < sizeof o ? opts->size : sizeof o);
  if ((unsigned) o.mode > MSB_NAMED_ENSURE_EXISTS)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: unknown named volume mode %d",
                     (int) o.mode);
  if ((unsigned) o.kind > MSB_VOLUME_DISK)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: unknown volume kind %d", (int) o.kind);
  if (o.mode != MSB_NAMED_EXISTING && o.kind == MSB_VOLUME_DISK && o.size_mib < 8)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "volumes: a disk volume needs a size of at least 8 MiB");
  msb_mount_spec m = {
    .kind = MSB_MOUNT_KIND_NAMED,
    .source = msb_xstrdup (volume),
    .flags = o.flags,
    .named_mode = (int) o.mode,
    .named_kind = (int) o.kind,
    .size_mib = o.size_mib,
    .quota_mib = o.quota_mib,
  };
  return add_mount (c, &m, guest_path, err);
}

int
msb_config_add_tmpfs_mount (msb_config *c, const char *guest_path, uint64_t size_mib,
                            unsigned flags, msb_error **err)
{
  if (size_mib > (1ull << 30))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volumes: tmpfs size %llu MiB is too large",
                     (unsigned long long) size_mib);
  msb_mount_spec m = { .kind = MSB_MOUNT_KIND_TMPFS, .flags = flags, .size_mib = size_mib };
  return add_mount (c, &m, guest_path, err);
}

/* ---- patches ---------------------------------------------------------------------------- */

static const char *const patch_kind_names[] = {
  [MSB_PATCH_TEXT] = "text",           [MSB_PATCH_FILE] = "file",
  [MSB_PATCH_APPEND] = "append",       [MSB_PATCH_MKDIR] = "mkdir",
  [MSB_PATCH_REMOVE] = "remove",       [MSB_PATCH_COPY_FILE] = "copy_file",
  [MSB_PATCH_COPY_DIR] = "copy_dir",   [MSB_PATCH_SYMLINK] = "symlink",
};

const char *
msb_patch_kind_name (int kind)
{
  if (kind < MSB_PATCH_TEXT || kind > MSB_PATCH_SYMLINK)
    return "unknown";
  return patch_kind_names[kind];
}

char *
msb_patch_describe (const msb_patch_spec *p, size_t index)
{
  if (p->kind == MSB_PATCH_COPY_FILE || p->kind == MSB_PATCH_COPY_DIR)
    return msb_xasprintf ("patch %zu (%s %s -> %s)", index + 1, msb_patch_kind_name (p->kind),
                          p->src, p->path);
  if (p->kind == MSB_PATCH_SYMLINK)
    return msb_xasprintf ("patch %zu (symlink %s -> %s)", index + 1, p->path, p->src);
  return msb_xasprintf ("patch %zu (%s %s)", index + 1, msb_patch_kind_name (p->kind), p->path);
}

static int
add_patch (msb_config *c, msb_patch_spec *p, const char *guest_path, msb_error **err)
{
  const char *option = "patches";
  p->path = msb_guest_path_normalise (option, guest_path, err);
  bool allow_root = p->kind == MSB_PATCH_MKDIR;
  int r = p->path == NULL ? -1 : check_not_reserved (option, p->path, allow_root, err);
  if (r == 0 && p->mode > 07777)
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: mode %o is not a permission mode",
                  (unsigned) p->mode);
  if (r == 0 && p->content_len > PATCH_CONTENT_MAX)
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: content of %zu bytes is over the %u MiB limit",
                  p->content_len, PATCH_CONTENT_MAX >> 20);
  if (r == 0 && c->files.n_patches >= PATCHES_MAX)
    r = msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: at most %u patches", PATCHES_MAX);
  if (r < 0)
    {
      patch_clear (p);
      return -1;
    }
  msb_config_files *f = &c->files;
  f->patches = msb_xrealloc (f->patches, (f->n_patches + 1) * sizeof *f->patches);
  f->patches[f->n_patches++] = *p;
  return 0;
}

static uint8_t *
dup_bytes (const void *data, size_t len)
{
  uint8_t *b = msb_xmalloc (len + 1);
  if (len)
    memcpy (b, data, len);
  b[len] = 0;
  return b;
}

int
msb_config_add_patch_text (msb_config *c, const char *path, const char *content, int mode,
                           bool replace, msb_error **err)
{
  if (content == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: text content must not be NULL");
  msb_patch_spec p = { .kind = MSB_PATCH_TEXT, .mode = mode, .replace = replace,
                       .content = dup_bytes (content, strlen (content)),
                       .content_len = strlen (content) };
  return add_patch (c, &p, path, err);
}

int
msb_config_add_patch_file (msb_config *c, const char *path, const void *content, size_t len,
                           int mode, bool replace, msb_error **err)
{
  if (content == NULL && len)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: file content must not be NULL");
  msb_patch_spec p = { .kind = MSB_PATCH_FILE, .mode = mode, .replace = replace,
                       .content = dup_bytes (content, len), .content_len = len };
  return add_patch (c, &p, path, err);
}

int
msb_config_add_patch_append (msb_config *c, const char *path, const char *content,
                             msb_error **err)
{
  if (content == NULL)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: append content must not be NULL");
  msb_patch_spec p = { .kind = MSB_PATCH_APPEND, .mode = -1,
                       .content = dup_bytes (content, strlen (content)),
                       .content_len = strlen (content) };
  return add_patch (c, &p, path, err);
}

int
msb_config_add_patch_mkdir (msb_config *c, const char *path, int mode, msb_error **err)
{
  msb_patch_spec p = { .kind = MSB_PATCH_MKDIR, .mode = mode };
  return add_patch (c, &p, path, err);
}

int
msb_config_add_patch_remove (msb_config *c, const char *path, msb_error **err)
{
  msb_patch_spec p = { .kind = MSB_PATCH_REMOVE, .mode = -1 };
  return add_patch (c, &p, path, err);
}

static int
add_copy (msb_config *c, int kind, const char *host_src, const char *guest_dst, int mode,
          bool replace, msb_error **err)
{
  char *src = host_path_resolve ("patches", host_src, err);
  if (src == NULL)
    return -1;
  struct stat st;
  bool want_dir = kind == MSB_PATCH_COPY_DIR;
  if (stat (src, &st) < 0 || (want_dir ? !S_ISDIR (st.st_mode) : !S_ISREG (st.st_mode)))
    {
      free (src);
      return msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: host path `%s` is not a %s",
                       host_src, want_dir ? "directory" : "regular file");
    }
  msb_patch_spec p = { .kind = kind, .src = src, .mode = mode, .replace = replace };
  return add_patch (c, &p, guest_dst, err);
}

int
msb_config_add_patch_copy_file (msb_config *c, const char *host_src, const char *guest_dst,
                                int mode, bool replace, msb_error **err)
{
  return add_copy (c, MSB_PATCH_COPY_FILE, host_src, guest_dst, mode, replace, err);
}

int
msb_config_add_patch_copy_dir (msb_config *c, const char *host_src, const char *guest_dst,
                               bool replace, msb_error **err)
{
  return add_copy (c, MSB_PATCH_COPY_DIR, host_src, guest_dst, -1, replace, err);
}

int
msb_config_add_patch_symlink (msb_config *c, const char *target, const char *link, bool replace,
                              msb_error **err)
{
  if (target == NULL || *target == '\0' || strlen (target) >= 4096)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "patches: a symlink target must be 1 to 4095 bytes");
  msb_patch_spec p = { .kind = MSB_PATCH_SYMLINK, .src = msb_xstrdup (target), .mode = -1,
                       .replace = replace };
  return add_patch (c, &p, link, err);
}

/* ---- scripts, init, upper --------------------------------------------------------------- */

int
msb_config_set_script (msb_config *c, const char *name, const char *body, msb_error **err)
{
  if (name == NULL || *name == '\0' || strlen (name) > 255 || strchr (name, '/')
      || strcmp (name, ".") == 0 || strcmp (name, "..") == 0 || has_control_chars (name))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "scripts: `%s` is not a valid script name (1-255 bytes, no '/')",
                     name ? name : "(null)");
  if (body == NULL)
    {
      msb_kvlist_remove (&c->scripts, name);
      return 0;
    }
  if (strlen (body) > SCRIPT_BODY_MAX)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "scripts: `%s` is larger than 1 MiB", name);
  msb_kvlist_set (&c->scripts, name, body);
  return 0;
}

int
msb_config_set_init (msb_config *c, const char *cmd, const char *const *args,
                     const char *const *env, msb_error **err)
{
  msb_config_files *f = &c->files;
  if (cmd == NULL)
    {
      free (f->init_cmd);
      msb_strv_free (f->init_args);
      msb_kvlist_clear (&f->init_env);
      f->init_cmd = NULL;
      f->init_args = NULL;
      return 0;
    }
  if (strcmp (cmd, "auto") != 0 && (cmd[0] != '/' || strlen (cmd) >= 4096 || has_control_chars (cmd)))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "init: `%s` must be \"auto\" or an absolute path in the sandbox", cmd);
  msb_kvlist vars = { 0 };
  for (const char *const *e = env; e && *e; e++)
    {
      const char *eq = strchr (*e, '=');
      if (eq == NULL || eq == *e)
        {
          msb_kvlist_clear (&vars);
          return msb_fail (err, MSB_ERR_INVALID_CONFIG, "init: env entry `%s` is not K=V", *e);
        }
      _msb_cleanup_free_ char *k = msb_xstrndup (*e, (size_t) (eq - *e));
      msb_kvlist_set (&vars, k, eq + 1);
    }
  free (f->init_cmd);
  msb_strv_free (f->init_args);
  msb_kvlist_clear (&f->init_env);
  f->init_cmd = msb_xstrdup (cmd);
  static char *const none[] = { NULL };
  f->init_args = msb_strv_dup (args ? (char *const *) args : none);
  f->init_env = vars;
  return 0;
}

int
msb_config_set_upper_size_mib (msb_config *c, unsigned mib, msb_error **err)
{
  if (mib != 0 && mib < 32)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "upper_size_mib: must be 0 (no limit) or at least 32 MiB, got %u", mib);
  if (mib > 16u * 1024u * 1024u)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "upper_size_mib: %u MiB is more than 16 TiB",
                     mib);
  c->files.upper_size_mib = mib;
  return 0;
}
