/* Copying a writable layer (lib/snapshot_tree.c): everything overlayfs gives meaning to
 * survives — whiteouts, opaque markers, set-id bits, hard links, holes, symlinks, FIFOs —
 * owners and file capabilities are rebased into the destination's id range, ids from outside
 * the source range become nobody, and a real device node is refused. Needs root (it makes
 * files of other owners, device nodes and trusted.* xattrs): skipped otherwise. */
#include <endian.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/util.h"
#include "lib/snapshot_tree.h"
#include "tests/unit/test.h"

#define SRC_BASE 100000u
#define DST_BASE 300000u

static char tmp[64];

static int
dir_fd (const char *rel)
{
  char p[256];
  snprintf (p, sizeof p, "%s/%s", tmp, rel);
  return open (p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static char *
path (const char *rel)
{
  static char p[256];
  snprintf (p, sizeof p, "%s/%s", tmp, rel);
  return p;
}

static void
make_source (void)
{
  mkdir (path ("src"), 0755);
  CHECK (lchown (path ("src"), SRC_BASE, SRC_BASE) == 0);
  int fd = open (path ("src/a"), O_WRONLY | O_CREAT, 0644);
  (void) !write (fd, "hello", 5);
  close (fd);
  CHECK (lchown (path ("src/a"), SRC_BASE + 1000, SRC_BASE + 1001) == 0);
  chmod (path ("src/a"), 04755);
  struct vfs_ns_cap_data cap = { 0 };
  cap.magic_etc = htole32 (VFS_CAP_REVISION_3 | VFS_CAP_FLAGS_EFFECTIVE);
  cap.data[0].permitted = htole32 (1u << CAP_NET_BIND_SERVICE);
  cap.rootid = htole32 (SRC_BASE);
  CHECK (setxattr (path ("src/a"), "security.capability", &cap, XATTR_CAPS_SZ_3, 0) == 0);
  char a[256];
  snprintf (a, sizeof a, "%s", path ("src/a"));
  CHECK (link (a, path ("src/b")) == 0);
  mkdir (path ("src/d"), 0700);
  CHECK (lchown (path ("src/d"), SRC_BASE, SRC_BASE) == 0);
  CHECK (setxattr (path ("src/d"), "trusted.overlay.opaque", "y", 1, 0) == 0);
  CHECK (mknod (path ("src/d/w"), S_IFCHR | 0, makedev (0, 0)) == 0);
  CHECK (mkfifo (path ("src/p"), 0640) == 0);
  CHECK (symlink ("a", path ("src/l")) == 0);
  CHECK (lchown (path ("src/l"), SRC_BASE + 5, SRC_BASE + 5) == 0);
  fd = open (path ("src/s"), O_WRONLY | O_CREAT, 0600);
  CHECK (pwrite (fd, "x", 1, 1 << 20) == 1);
  close (fd);
  CHECK (lchown (path ("src/s"), 7, 7) == 0); /* outside the source range */
}

TEST (test_copy_keeps_what_overlayfs_needs_and_rebases_owners)
{
  if (geteuid () != 0)
    return;
  make_source ();
  mkdir (path ("dst"), 0700);
  int s = dir_fd ("src"), d = dir_fd ("dst");
  msb_layer_copy c = { .src_base = SRC_BASE, .dst_base = DST_BASE };
  msb_error *e = NULL;
  CHECK (msb_layer_copy_tree (s, d, &c, &e) == 0);
  if (e)
    fprintf (stderr, "  %s\n", msb_error_get_message (e));
  msb_error_free (e);
  close (s);
  close (d);
  struct stat st, st2;
  CHECK (lstat (path ("dst"), &st) == 0 && st.st_uid == DST_BASE && (st.st_mode & 07777) == 0755);
  CHECK (lstat (path ("dst/a"), &st) == 0 && st.st_uid == DST_BASE + 1000
         && st.st_gid == DST_BASE + 1001);
  CHECK ((st.st_mode & 07777) == 04755);
  CHECK (lstat (path ("dst/b"), &st2) == 0 && st2.st_ino == st.st_ino && st.st_nlink == 2);
  struct vfs_ns_cap_data cap = { 0 };
  CHECK (getxattr (path ("dst/a"), "security.capability", &cap, sizeof cap) == XATTR_CAPS_SZ_3);
  CHECK_EQ_INT (le32toh (cap.rootid), DST_BASE);
  CHECK_EQ_INT (le32toh (cap.data[0].permitted), 1u << CAP_NET_BIND_SERVICE);
  char v[8] = "";
  CHECK (getxattr (path ("dst/d"), "trusted.overlay.opaque", v, sizeof v) == 1 && v[0] == 'y');
  CHECK (lstat (path ("dst/d"), &st) == 0 && (st.st_mode & 07777) == 0700);
  CHECK (lstat (path ("dst/d/w"), &st) == 0 && S_ISCHR (st.st_mode)
         && st.st_rdev == makedev (0, 0));
  CHECK (lstat (path ("dst/p"), &st) == 0 && S_ISFIFO (st.st_mode) && (st.st_mode & 0777) == 0640);
  char target[16] = "";
  CHECK (readlink (path ("dst/l"), target, sizeof target) == 1 && target[0] == 'a');
  CHECK (lstat (path ("dst/l"), &st) == 0 && st.st_uid == DST_BASE + 5);
  CHECK (lstat (path ("dst/s"), &st) == 0 && st.st_size == (1 << 20) + 1);
  CHECK (st.st_blocks * 512 < (1 << 20)); /* the hole stayed a hole */
  CHECK (st.st_uid == DST_BASE + 65534);  /* an id from outside the range: nobody */
  CHECK_EQ_INT (c.entries, 6);            /* a, d, d/w, p, l, s: b is a link to a */
  uint64_t bytes = 0, inodes = 0;
  int dfd = dir_fd ("dst");
  CHECK (msb_layer_usage (dfd, &bytes, &inodes, NULL) == 0);
  close (dfd);
  CHECK_EQ_INT (inodes, 7);
}

/* Runs after the copy test: the copy's owners rebased back where they are, as a cloned image
 * is — set-id bits and the capability survive the chown, a file with two links moves once. */
TEST (test_rebase_in_place_keeps_setid_bits_and_capabilities)
{
  if (geteuid () != 0)
    return;
  int d = dir_fd ("dst");
  msb_layer_copy c = { .src_base = DST_BASE, .dst_base = SRC_BASE };
  msb_error *e = NULL;
  CHECK (msb_layer_rebase_tree (d, &c, &e) == 0);
  if (e)
    fprintf (stderr, "  %s\n", msb_error_get_message (e));
  msb_error_free (e);
  close (d);
  struct stat st;
  CHECK (lstat (path ("dst"), &st) == 0 && st.st_uid == SRC_BASE);
  CHECK (lstat (path ("dst/a"), &st) == 0 && st.st_uid == SRC_BASE + 1000
         && st.st_gid == SRC_BASE + 1001);
  CHECK ((st.st_mode & 07777) == 04755);
  struct vfs_ns_cap_data cap = { 0 };
  CHECK (getxattr (path ("dst/a"), "security.capability", &cap, sizeof cap) == XATTR_CAPS_SZ_3);
  CHECK_EQ_INT (le32toh (cap.rootid), SRC_BASE);
  CHECK (lstat (path ("dst/l"), &st) == 0 && st.st_uid == SRC_BASE + 5);
  CHECK (lstat (path ("dst/d/w"), &st) == 0
         && st.st_uid == SRC_BASE + 65534); /* made by host root */
  CHECK (lstat (path ("dst/s"), &st) == 0 && st.st_uid == SRC_BASE + 65534);
  /* A device node in a tree to rebase is refused too. */
  CHECK (mknod (path ("dst/mem"), S_IFCHR | 0600, makedev (1, 1)) == 0);
  d = dir_fd ("dst");
  CHECK (msb_layer_rebase_tree (d, &c, &e) < 0);
  msb_error_free (e);
  close (d);
}

TEST (test_copy_refuses_a_device_node)
{
  if (geteuid () != 0)
    return;
  mkdir (path ("evil"), 0755);
  CHECK (mknod (path ("evil/mem"), S_IFCHR | 0600, makedev (1, 1)) == 0);
  mkdir (path ("evil-dst"), 0700);
  int s = dir_fd ("evil"), d = dir_fd ("evil-dst");
  msb_layer_copy c = { .src_base = SRC_BASE, .dst_base = DST_BASE };
  msb_error *e = NULL;
  CHECK (msb_layer_copy_tree (s, d, &c, &e) < 0);
  CHECK (e && strstr (msb_error_get_message (e), "refusing device node 1:1") != NULL);
  msb_error_free (e);
  close (s);
  close (d);
  struct stat st;
  CHECK (lstat (path ("evil-dst/mem"), &st) < 0);
}

static void
cleanup (void)
{
  msb_rm_rf_at (AT_FDCWD, tmp, NULL);
}

int
main (int argc, char **argv)
{
  snprintf (tmp, sizeof tmp, "/tmp/msb-layer-copy-XXXXXX");
  if (mkdtemp (tmp) == NULL)
    return 1;
  static const msb_test_case cases[]
      = { TEST_ENTRY (test_copy_keeps_what_overlayfs_needs_and_rebases_owners),
          TEST_ENTRY (test_rebase_in_place_keeps_setid_bits_and_capabilities),
          TEST_ENTRY (test_copy_refuses_a_device_node) };
  int r = msb_test_main (cases, sizeof cases / sizeof cases[0], argc, argv);
  cleanup ();
  return r;
}
