"""Create options applied while a sandbox boots: patches (the CLI's copy/mkdir/rm), scripts, a
custom init as PID 1, and the size limit of the writable layer. Patch kinds the CLI does not
spell (text, file, append, symlink, replace) are covered through the C API in
tests/integration/c_fs."""

import json
import os

import pytest

from msb_it import unique_name


def test_patches_apply_before_the_agent_starts(msb, sandboxes, tmp_path):
    (tmp_path / "conf").write_text("copied\n")
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "a").write_text("a\n")
    os.symlink("/etc/passwd", tree / "link")
    name = sandboxes.create("--copy", f"{tmp_path / 'conf'}:/etc/app/conf",
                            "--copy-dir", f"{tree}:/opt/tree", "--mkdir", "/var/made",
                            "--rm", "/etc/group", label="patch")
    out = msb.sh(name, "cat /etc/app/conf /opt/tree/sub/a; readlink /opt/tree/link;"
                       " test -d /var/made && echo made; test -e /etc/group || echo removed;"
                       " stat -c '%u' /etc/app/conf")
    assert out == "copied\na\n/etc/passwd\nmade\nremoved\n0\n"
    # Patches belong to the first boot: a restart keeps what the sandbox changed since.
    msb.sh(name, "echo changed > /etc/app/conf")
    msb("stop", name, check=True)
    msb("start", name, check=True)
    assert msb.sh(name, "cat /etc/app/conf") == "changed\n"


def test_a_failing_patch_fails_the_create_and_leaves_nothing(msb, tmp_path, leaks):
    (tmp_path / "x").write_text("x\n")
    before = leaks.snapshot()
    name = unique_name("badpatch")
    p = msb("create", "-n", name, "--copy", f"{tmp_path / 'x'}:/etc/passwd", "local/busybox:latest")
    assert p.returncode != 0
    assert "patch 1 (copy_file" in p.stderr and "already exists" in p.stderr
    assert name not in msb.names()
    assert not os.path.exists(msb.sandbox_dir(name))
    leaks.assert_none_since(before)


def test_patches_stay_inside_a_hostile_root(msb, sandboxes, load_image, tmp_path):
    """An image whose /out is an absolute symlink: a patch through it lands in the sandbox's
    own /etc (not the host's), and one aimed at a host-only path fails without touching it."""
    target = tmp_path / "host-target"
    target.mkdir()
    marker = f"msb-patch-{unique_name('m')}"
    tag = load_image("local/evil-patch:latest", [
        ("bin", "dir", None), ("bin/busybox", "file", open("/bin/busybox", "rb").read()),
        ("bin/sh", "symlink", "busybox"), ("etc", "dir", None), ("out", "symlink", "/etc"),
        ("away", "symlink", str(target)),
    ])
    (tmp_path / "payload").write_text("pwned\n")
    name = sandboxes.create("--copy", f"{tmp_path / 'payload'}:/out/{marker}", image=tag,
                            label="evilpatch")
    assert not os.path.exists(f"/etc/{marker}")
    assert msb.exec(name, "/bin/busybox", "cat", f"/etc/{marker}").stdout == "pwned\n"
    other = unique_name("evilpatch2")
    p = msb("create", "-n", other, "--copy", f"{tmp_path / 'payload'}:/away/payload", tag)
    sandboxes.adopt(other)
    assert p.returncode != 0 and "patch 1" in p.stderr
    assert list(target.iterdir()) == []


def test_scripts_run_by_name(msb, sandboxes):
    name = sandboxes.create("--script", "greet=#!/bin/sh\necho hello \"$1\"",
                            "--script", "count=#!/bin/sh\necho $#", label="scripts")
    assert msb.sh(name, "greet world; count a b c; ls -l /.msb/scripts | grep -c rwx") == \
        "hello world\n3\n2\n"
    assert msb.exec(name, "greet", "direct").stdout == "hello direct\n"
    # A sandbox's edits to its scripts do not survive a restart.
    msb.sh(name, "echo 'echo tampered' > /.msb/scripts/greet")
    msb("stop", name, check=True)
    msb("start", name, check=True)
    assert msb.exec(name, "greet", "again").stdout == "hello again\n"
    cfg = json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["config"]
    assert set(cfg["runtime"]["scripts"]) == {"greet", "count"}


def test_custom_init_is_pid_1_while_exec_works(msb, sandboxes, tiny_init):
    name = sandboxes.create("--copy", f"{tiny_init}:/sbin/tiny-init", "--init", "/sbin/tiny-init",
                            label="init")
    assert msb.sh(name, "cat /tmp/init-pid").split()[0] == "1"
    assert msb.sh(name, "cat /proc/1/cmdline | tr '\\0' ' '") == "/sbin/tiny-init "
    assert msb.sh(name, "echo exec works; cat /proc/$$/status | grep ^PPid").startswith("exec works")
    cfg = json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["config"]
    assert cfg["init"]["cmd"] == "/sbin/tiny-init"
    # A graceful stop reaches the init, which exits cleanly.
    msb("stop", name, check=True)
    msb("start", name, check=True)
    assert msb.sh(name, "test -e /tmp/init-stopped && echo clean") == "clean\n"


def test_custom_init_missing_fails_the_create(msb):
    name = unique_name("noinit")
    p = msb("create", "-n", name, "--init", "/sbin/does-not-exist", "local/busybox:latest")
    assert p.returncode != 0 and "does-not-exist" in p.stderr
    assert name not in msb.names()


def test_init_auto_uses_the_image_init(msb, sandboxes):
    """busybox's /sbin/init is what `auto` finds in the busybox image."""
    name = sandboxes.create("--init", "auto", label="auto")
    assert msb.sh(name, "readlink /proc/1/exe") == "/bin/busybox\n"
    assert msb.sh(name, "echo ok") == "ok\n"


def test_upper_limit_gives_enospc_inside(msb, sandboxes):
    name = sandboxes.create("--root-disk", "64M", label="upper")
    p = msb.exec(name, "sh", "-c", "dd if=/dev/zero of=/fill bs=1M count=200")
    assert p.returncode != 0 and "No space left on device" in p.stderr
    size = int(msb.sh(name, "wc -c < /fill"))
    assert size < 64 << 20
    image = os.path.join(msb.sandbox_dir(name), "upper.ext4")
    assert os.stat(image).st_blocks * 512 <= (64 << 20) + (1 << 20)
    # Freeing space makes the sandbox writable again, and the layer persists across restarts.
    msb.sh(name, "rm /fill && echo kept > /kept")
    msb("stop", name, check=True)
    msb("start", name, check=True)
    assert msb.sh(name, "cat /kept") == "kept\n"
    cfg = json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["config"]
    assert cfg["image"]["Oci"]["root_disk"] == {"kind": "managed", "size_mib": 64}
