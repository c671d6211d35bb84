/* Volume rows and storage (see volume_store.h). The row is inserted first, so the name is
 * claimed in the database before any file is made; storage that fails to appear takes its
 * row with it. */
#include "lib/volume_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/util.h"
#include "lib/config_fs.h"
#include "lib/ext4_image.h"

static const char *const kind_names[] = { [MSB_VOLUME_DIR] = "dir", [MSB_VOLUME_DISK] = "disk" };

const char *
msb_volume_kind_name (msb_volume_kind kind)
{
  return (unsigned) kind <= MSB_VOLUME_DISK ? kind_names[kind] : "dir";
}

void
msb_volume_row_clear (msb_volume_row *r)
{
  free (r->name);
  free (r->labels_json);
  memset (r, 0, sizeof *r);
}

char *
msb_volume_dir_rel (const char *name)
{
  return msb_xasprintf ("volumes/%s", name);
}

static void
row_from_stmt (sqlite3_stmt *st, msb_volume_row *r)
{
  memset (r, 0, sizeof *r);
  r->name = msb_db_column_strdup (st, 0);
  const unsigned char *k = sqlite3_column_text (st, 1);
  r->kind = k && strcmp ((const char *) k, "disk") == 0 ? MSB_VOLUME_DISK : MSB_VOLUME_DIR;
  r->quota_mib = (uint64_t) sqlite3_column_int64 (st, 2);
  r->size_mib = (uint64_t) sqlite3_column_int64 (st, 3);
  r->labels_json = msb_db_column_strdup (st, 4);
  r->created_at = sqlite3_column_int64 (st, 5);
}

#define ROW_COLUMNS "name, kind, quota_mib, size_mib, labels_json, created_at"

int
msb_volume_row_get (msb_db *db, const char *name, msb_volume_row *out, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT " ROW_COLUMNS " FROM volumes WHERE name = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_DONE)
    return msb_fail (err, MSB_ERR_VOLUME_NOT_FOUND, "volume `%s` does not exist", name);
  if (rc != SQLITE_ROW)
    return msb_db_fail (db, err, "read volume");
  row_from_stmt (st, out);
  return 0;
}

int
msb_volume_rows_list (msb_db *db, msb_volume_row **out, size_t *n, msb_error **err)
{
  *out = NULL;
  *n = 0;
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "SELECT " ROW_COLUMNS " FROM volumes ORDER BY name", &st, err) < 0)
    return -1;
  msb_volume_row *rows = NULL;
  size_t count = 0;
  int rc;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      rows = msb_xrealloc (rows, (count + 1) * sizeof *rows);
      row_from_stmt (st, &rows[count++]);
    }
  if (rc != SQLITE_DONE)
    {
      for (size_t i = 0; i < count; i++)
        msb_volume_row_clear (&rows[i]);
      free (rows);
      return msb_db_fail (db, err, "list volumes");
    }
  *out = rows;
  *n = count;
  return 0;
}

int
msb_volume_row_insert (msb_db *db, const msb_volume_row *r, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db,
                      "INSERT INTO volumes (" ROW_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)",
                      &st, err)
      < 0)
    return -1;
  sqlite3_bind_text (st, 1, r->name, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text (st, 2, msb_volume_kind_name (r->kind), -1, SQLITE_STATIC);
  if (r->quota_mib)
    sqlite3_bind_int64 (st, 3, (sqlite3_int64) r->quota_mib);
  else
    sqlite3_bind_null (st, 3);
  if (r->size_mib)
    sqlite3_bind_int64 (st, 4, (sqlite3_int64) r->size_mib);
  else
    sqlite3_bind_null (st, 4);
  sqlite3_bind_text (st, 5, r->labels_json ? r->labels_json : "{}", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64 (st, 6, r->created_at);
  int rc = sqlite3_step (st);
  if (rc == SQLITE_CONSTRAINT)
    return msb_fail (err, MSB_ERR_GENERIC, "volume `%s` already exists", r->name);
  if (rc != SQLITE_DONE)
    return msb_db_fail (db, err, "record volume");
  return 0;
}

int
msb_volume_row_delete (msb_db *db, const char *name, msb_error **err)
{
  _msb_cleanup_stmt_ sqlite3_stmt *st = NULL;
  if (msb_db_prepare (db, "DELETE FROM volumes WHERE name = ?", &st, err) < 0)
    return -1;
  sqlite3_bind_text (st, 1, name, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (st) != SQLITE_DONE)
    return msb_db_fail (db, err, "delete volume");
  return 0;
}

/* ---- storage ---------------------------------------------------------------------------- */

int
msb_volume_storage_create (const msb_home *home, const msb_volume_row *row, msb_error **err)
{
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (row->name);
  msb_rm_rf_at (home->root_fd, rel, NULL); /* debris of an interrupted remove */
  if (mkdirat (home->root_fd, rel, 0755) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "create `%s/%s`", home->root, rel);
  _msb_cleanup_close_ int fd = openat (home->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "open `%s/%s`", home->root, rel);
  if (row->kind == MSB_VOLUME_DISK)
    {
      /* The directory stays root's; the filesystem inside the image belongs to the volume
       * range, like a directory volume's contents. */
      if (msb_ext4_image_create (fd, "disk.raw", row->size_mib, MSB_VOLUME_UID_BASE,
                                 MSB_VOLUME_UID_BASE, err)
          < 0)
        return msb_error_prefix (err, "create volume `%s`", row->name);
      return 0;
    }
  if (fchown (fd, MSB_VOLUME_UID_BASE, MSB_VOLUME_UID_BASE) < 0)
    return msb_fail_errno (err, errno, MSB_ERR_IO, "chown `%s/%s`", home->root, rel);
  return 0;
}

int
msb_volume_storage_remove (const msb_home *home, const char *name, msb_error **err)
{
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (name);
  if (msb_rm_rf_at (home->root_fd, rel, err) < 0)
    return msb_error_prefix (err, "remove the data of volume `%s`", name);
  return 0;
}

static uint64_t
allocated_below (int dirfd, int depth)
{
  int fd = fcntl (dirfd, F_DUPFD_CLOEXEC, 3);
  _msb_cleanup_dir_ DIR *d = fd < 0 ? NULL : fdopendir (fd);
  if (d == NULL)
    {
      if (fd >= 0)
        close (fd);
      return 0;
    }
  uint64_t total = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      struct stat st;
      if (fstatat (dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      total += (uint64_t) st.st_blocks * 512u;
      if (S_ISDIR (st.st_mode) && depth < 128)
        {
          _msb_cleanup_close_ int sub
              = openat (dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
          if (sub >= 0)
            total += allocated_below (sub, depth + 1);
        }
    }
  return total;
}

uint64_t
msb_volume_used_bytes (const msb_home *home, const msb_volume_row *row)
{
  _msb_cleanup_free_ char *rel = msb_volume_dir_rel (row->name);
  _msb_cleanup_close_ int fd = openat (home->root_fd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return 0;
  return allocated_below (fd, 0);
}

int
msb_volume_create_in (msb_db *db, const msb_home *home, const char *name, msb_volume_kind kind,
                      uint64_t size_mib, uint64_t quota_mib, const char *labels_json,
                      msb_error **err)
{
  if (msb_volume_name_validate (name, err) < 0)
    return -1;
  if ((unsigned) kind > MSB_VOLUME_DISK)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG, "volume `%s`: unknown kind %d", name, (int) kind);
  if (kind == MSB_VOLUME_DISK && (size_mib < 8 || size_mib > (16ull << 20)))
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "volume `%s`: a disk volume needs a size between 8 MiB and 16 TiB", name);
  if (kind == MSB_VOLUME_DIR && size_mib)
    return msb_fail (err, MSB_ERR_INVALID_CONFIG,
                     "volume `%s`: a size applies to disk volumes; directory volumes take a quota",
                     name);
  msb_volume_row row = {
    .name = (char *) name,
    .kind = kind,
    .quota_mib = kind == MSB_VOLUME_DIR ? quota_mib : 0,
    .size_mib = kind == MSB_VOLUME_DISK ? size_mib : 0,
    .labels_json = (char *) labels_json,
    .created_at = msb_now_ms (),
  };
  if (msb_volume_row_insert (db, &row, err) < 0)
    return -1;
  if (msb_volume_storage_create (home, &row, err) < 0)
    {
      msb_volume_storage_remove (home, name, NULL);
      msb_volume_row_delete (db, name, NULL);
      return -1;
    }
  return 0;
}
