"""Volumes: bind mounts of host directories, named volumes (directory and disk), tmpfs, and
the `msb volume` commands. Ownership on the host is part of the contract: a bind directory's
owner gets the files the sandbox's root writes; nothing a sandbox writes is ever owned by the
host's root; named volumes look the same from every sandbox."""

import json
import os
import stat

import pytest

from msb_it import unique_name

VOLUME_UID_BASE = 0x3FFF0000


def test_bind_volume_sees_host_changes_and_vice_versa(msb, sandboxes, host_dir):
    os.chown(host_dir, 1000, 1000)
    (host_dir / "from-host").write_text("hello from the host\n")
    os.chown(host_dir / "from-host", 1000, 1000)  # as the directory's owner would have it
    name = sandboxes.create("-v", f"{host_dir}:/data", label="bind")
    assert msb.sh(name, "cat /data/from-host") == "hello from the host\n"
    msb.sh(name, "echo from the sandbox > /data/from-sandbox && mkdir /data/dir")
    assert (host_dir / "from-sandbox").read_text() == "from the sandbox\n"
    # Changes on either side show up live on the other.
    (host_dir / "later").write_text("later\n")
    assert msb.sh(name, "cat /data/later") == "later\n"
    msb.sh(name, "rm /data/from-host")
    assert not (host_dir / "from-host").exists()
    # A file of another host user (here root, never mapped) shows as nobody.
    assert msb.sh(name, "stat -c '%u' /data/later") == "65534\n"


def test_bind_volume_files_belong_to_the_directory_owner(msb, sandboxes, host_dir):
    os.chown(host_dir, 1000, 1001)
    name = sandboxes.create("-v", f"{host_dir}:/data", label="owner")
    msb.sh(name, "touch /data/by-root; chown 1000:1000 /data; touch /data/x; mkdir /data/d")
    st = os.stat(host_dir / "by-root")
    assert (st.st_uid, st.st_gid) == (1000, 1001)
    # Inside, the directory owner is the sandbox's root.
    assert msb.sh(name, "stat -c '%u %g' /data/by-root") == "0 0\n"


def test_bind_volume_of_a_root_directory_never_yields_root_files(msb, sandboxes, host_dir):
    """Root is never mapped: the sandbox writes a world-writable root directory as its own
    unprivileged uid, a setuid bit included, and cannot write a root-only one at all."""
    host_dir.chmod(0o1777)
    (host_dir / "root-only").mkdir(mode=0o700)
    name = sandboxes.create("-v", f"{host_dir}:/data", label="rootdir")
    msb.sh(name, "cp /bin/busybox /data/suid && chmod 4755 /data/suid")
    st = os.stat(host_dir / "suid")
    assert st.st_uid != 0 and st.st_gid != 0
    p = msb.exec(name, "sh", "-c", "touch /data/root-only/x")
    assert p.returncode != 0 and "Permission denied" in p.stderr
    for entry in host_dir.iterdir():
        assert os.lstat(entry).st_uid != 0 or entry.name == "root-only"


def test_read_only_volume_refuses_writes(msb, sandboxes, host_dir):
    (host_dir / "f").write_text("keep\n")
    name = sandboxes.create("-v", f"{host_dir}:/ro:ro", label="ro")
    p = msb.exec(name, "sh", "-c", "echo x > /ro/new")
    assert p.returncode != 0 and "Read-only file system" in p.stderr
    p = msb.exec(name, "sh", "-c", "rm /ro/f")
    assert p.returncode != 0
    assert (host_dir / "f").read_text() == "keep\n"
    assert not (host_dir / "new").exists()


def test_noexec_volume_refuses_execution(msb, sandboxes, host_dir):
    os.chown(host_dir, 1000, 1000)
    name = sandboxes.create("-v", f"{host_dir}:/nx:noexec,nosuid", label="nx")
    msb.sh(name, "cp /bin/busybox /nx/bb && chmod 755 /nx/bb")
    p = msb.exec(name, "/nx/bb", "true")
    assert p.returncode == 126


def test_named_volume_outlives_its_sandbox(msb, sandboxes, volumes):
    vol = unique_name("vol")
    volumes.append(vol)
    first = sandboxes.create("-v", f"{vol}:/vol", label="nv1")
    msb.sh(first, "echo persisted > /vol/f && mkdir /vol/d && chown 1000:1000 /vol/d")
    msb("rm", "-f", first, check=True)
    listed = json.loads(msb("volume", "ls", "--format", "json", check=True).stdout)
    assert vol in [v["name"] for v in listed]
    # Another sandbox (another uid range on the host) sees the same files and owners.
    second = sandboxes.create("-v", f"{vol}:/mnt/v", label="nv2")
    assert msb.sh(second, "cat /mnt/v/f; stat -c '%u' /mnt/v/f /mnt/v/d") == "persisted\n0\n1000\n"
    msb.sh(second, "echo again >> /mnt/v/f")
    path = json.loads(msb("volume", "inspect", vol, check=True).stdout)["path"]
    st = os.stat(os.path.join(path, "f"))
    assert st.st_uid == VOLUME_UID_BASE
    assert os.stat(os.path.join(path, "d")).st_uid == VOLUME_UID_BASE + 1000


def test_named_volume_must_exist_unless_created(msb, sandboxes):
    """`-v NAME:/dst` creates the volume; a sandbox whose volume was removed cannot boot."""
    vol = unique_name("gone")
    name = sandboxes.create("-v", f"{vol}:/v", label="gone")
    msb("stop", name, check=True)
    msb("volume", "rm", vol, check=True)
    p = msb("start", name)
    assert p.returncode != 0 and "does not exist" in p.stderr


def test_volume_in_use_cannot_be_removed(msb, sandboxes, volumes):
    vol = unique_name("busy")
    volumes.append(vol)
    msb("volume", "create", vol, check=True)
    name = sandboxes.create("-v", f"{vol}:/v", label="busy")
    p = msb("volume", "rm", vol)
    assert p.returncode != 0 and name in p.stderr
    msb("rm", "-f", name, check=True)
    msb("volume", "rm", vol, check=True)
    volumes.remove(vol)
    assert vol not in msb("volume", "ls", "-q", check=True).stdout.split()


def test_disk_volume_is_bounded_by_its_size(msb, sandboxes, volumes):
    vol = unique_name("disk")
    volumes.append(vol)
    msb("volume", "create", vol, "--kind", "disk", "--size", "32M", check=True)
    info = json.loads(msb("volume", "inspect", vol, check=True).stdout)
    assert info["kind"] == "disk" and info["capacity_bytes"] == 32 << 20
    assert info["disk_format"] == "raw" and info["disk_fstype"] == "ext4"
    name = sandboxes.create("-v", f"{vol}:/disk", label="disk")
    p = msb.exec(name, "sh", "-c", "dd if=/dev/zero of=/disk/fill bs=1M count=64")
    assert p.returncode != 0 and "No space left on device" in p.stderr
    # The rest of the sandbox is unaffected.
    msb.sh(name, "echo fine > /tmp/ok")
    msb("rm", "-f", name, check=True)
    # The data persists into the next sandbox.
    again = sandboxes.create("-v", f"{vol}:/d2", label="disk2")
    assert int(msb.sh(again, "wc -c < /d2/fill")) > 16 << 20


def test_tmpfs_is_bounded_by_its_size(msb, sandboxes):
    name = sandboxes.create("--tmpfs", "/scratch:8M", label="tmpfs")
    p = msb.exec(name, "sh", "-c", "dd if=/dev/zero of=/scratch/fill bs=1M count=16")
    assert p.returncode != 0 and "No space left on device" in p.stderr
    assert msb.sh(name, "stat -c '%u %a' /scratch") == "0 1777\n"


def test_volume_commands(msb, volumes):
    vol = unique_name("cmd")
    volumes.append(vol)
    assert msb("volume", "create", vol, "--quota", "64M", check=True).stdout.strip() == vol
    p = msb("volume", "create", vol)
    assert p.returncode != 0 and "already exists" in p.stderr
    info = json.loads(msb("volume", "inspect", vol, check=True).stdout)
    assert info["kind"] == "dir" and info["quota_mib"] == 64 and info["disk_format"] is None
    assert vol in msb("vol", "ls", "-q", check=True).stdout.split()
    assert vol in msb("volumes", "-q", check=True).stdout.split()
    p = msb("volume", "inspect", unique_name("nope"))
    assert p.returncode != 0 and "does not exist" in p.stderr
    for bad in ("a/b", "..", "x" * 129):
        assert msb("volume", "create", bad).returncode != 0


def test_volume_mount_point_symlink_in_image_is_refused(msb, sandboxes, load_image, tmp_path):
    """An image whose /data is a symlink to /etc cannot redirect a volume over its /etc."""
    tag = load_image("local/evil-mountpoint:latest", [
        ("bin", "dir", None), ("bin/busybox", "file", open("/bin/busybox", "rb").read()),
        ("bin/sh", "symlink", "busybox"), ("etc", "dir", None), ("data", "symlink", "/etc"),
    ])
    d = tmp_path / "h"
    d.mkdir()
    name = unique_name("evilmp")
    p = msb("create", "-n", name, "-v", f"{d}:/data", tag)
    sandboxes.adopt(name)
    assert p.returncode != 0 and "symbolic link" in p.stderr
    assert name not in msb.names()


@pytest.mark.parametrize("spec", ["/a:relative", "nohost:/proc/x", "./x:/sys", "vol:/"])
def test_bad_volume_specs_are_refused(msb, spec, tmp_path):
    p = msb("create", "-n", unique_name("badv"), "-v", spec, "local/busybox:latest")
    assert p.returncode != 0
