"""`msb cp`: docker-cp syntax between the host and sandboxes, and between sandboxes. The
hostile cases: symlinks a sandbox plants (in the copied tree, at the host destination) are
never followed on the host, and sandbox paths never reach host files."""

import os
import stat

import pytest


def payload(n, seed=1):
    return bytes((i * 131 + seed) & 0xFF for i in range(n))


@pytest.mark.parametrize("size", [0, 1, 3 * 1024 * 1024 + 1])
def test_cp_round_trips_a_file(msb, shared_sandbox, tmp_path, size):
    src = tmp_path / "src.bin"
    src.write_bytes(payload(size, size))
    msb("cp", src, f"{shared_sandbox}:/tmp/f-{size}", check=True)
    assert msb.sh(shared_sandbox, f"wc -c < /tmp/f-{size}").strip() == str(size)
    back = tmp_path / "back.bin"
    msb("cp", f"{shared_sandbox}:/tmp/f-{size}", back, check=True)
    assert back.read_bytes() == src.read_bytes()


def test_cp_into_an_existing_directory_keeps_the_name(msb, shared_sandbox, tmp_path):
    (tmp_path / "named.txt").write_text("hello\n")
    msb("cp", tmp_path / "named.txt", f"{shared_sandbox}:/tmp", check=True)
    assert msb.sh(shared_sandbox, "cat /tmp/named.txt") == "hello\n"
    out = tmp_path / "out"
    out.mkdir()
    msb("cp", f"{shared_sandbox}:/tmp/named.txt", out, check=True)
    assert (out / "named.txt").read_text() == "hello\n"


def test_cp_copies_trees_both_ways(msb, shared_sandbox, tmp_path):
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f").write_text("deep\n")
    (tree / "top").write_text("top\n")
    (tree / "run.sh").write_text("#!/bin/sh\necho ran\n")
    (tree / "run.sh").chmod(0o755)
    os.symlink("a/b/f", tree / "rel-link")
    msb("cp", tree, f"{shared_sandbox}:/opt/tree", check=True)
    assert msb.sh(shared_sandbox, "cat /opt/tree/a/b/f /opt/tree/rel-link; /opt/tree/run.sh;"
                                  " readlink /opt/tree/rel-link") == "deep\ndeep\nran\na/b/f\n"
    back = tmp_path / "back"
    msb("cp", f"{shared_sandbox}:/opt/tree", back, check=True)
    assert (back / "a" / "b" / "f").read_text() == "deep\n"
    assert os.readlink(back / "rel-link") == "a/b/f"
    assert os.stat(back / "run.sh").st_mode & 0o111


def test_cp_between_sandboxes(msb, sandboxes, shared_sandbox):
    other = sandboxes.create(label="cp2")
    msb.sh(shared_sandbox, "mkdir -p /srv/d && echo one > /srv/d/1 && head -c 5000000 /dev/urandom > /srv/d/big")
    msb("cp", f"{shared_sandbox}:/srv/d", f"{other}:/srv/d", check=True)
    a = msb.sh(shared_sandbox, "md5sum /srv/d/big /srv/d/1").split()
    b = msb.sh(other, "md5sum /srv/d/big /srv/d/1").split()
    assert a[0::2] == b[0::2]


def test_cp_starts_a_stopped_sandbox_and_stops_it_again(msb, sandboxes, tmp_path):
    name = sandboxes.create(label="cpstop")
    msb("stop", name, check=True)
    (tmp_path / "f").write_text("while stopped\n")
    msb("cp", tmp_path / "f", f"{name}:/root/f", check=True)
    assert msb.status(name) in ("Stopped", "stopped")
    msb("cp", f"{name}:/root/f", tmp_path / "g", check=True)
    assert (tmp_path / "g").read_text() == "while stopped\n"
    assert msb.status(name) in ("Stopped", "stopped")


def test_cp_reports_missing_paths(msb, shared_sandbox, tmp_path):
    p = msb("cp", f"{shared_sandbox}:/no/such/file", tmp_path / "x")
    assert p.returncode != 0 and "No such file" in p.stderr
    assert not (tmp_path / "x").exists()
    p = msb("cp", tmp_path / "missing", f"{shared_sandbox}:/tmp/x")
    assert p.returncode != 0
    p = msb("cp", "no-such-sandbox:/x", tmp_path / "x")
    assert p.returncode != 0 and "not found" in p.stderr


def test_cp_out_never_follows_sandbox_symlinks_on_the_host(msb, shared_sandbox, tmp_path):
    """A tree copied out holds the sandbox's symlinks as symlinks: an absolute link to
    /etc/passwd is created, not followed, and nothing is written through it."""
    host_passwd = open("/etc/passwd").read()
    msb.sh(shared_sandbox, "mkdir -p /evil && ln -sfn /etc /evil/etc && ln -sfn /etc/passwd /evil/pw"
                           " && echo data > /evil/file")
    out = tmp_path / "out"
    msb("cp", f"{shared_sandbox}:/evil", out, check=True)
    assert os.readlink(out / "etc") == "/etc" and os.readlink(out / "pw") == "/etc/passwd"
    assert (out / "file").read_text() == "data\n"
    assert open("/etc/passwd").read() == host_passwd
    # Copying a sandbox symlink as a single file copies what it points to in the sandbox.
    msb("cp", f"{shared_sandbox}:/evil/pw", tmp_path / "pw", check=True)
    got = (tmp_path / "pw").read_text()
    assert "user:x:1000" in got and got != host_passwd


def test_cp_refuses_a_symlink_at_the_host_destination(msb, shared_sandbox, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    os.symlink(victim, tmp_path / "planted")
    msb.sh(shared_sandbox, "echo evil > /tmp/payload")
    p = msb("cp", f"{shared_sandbox}:/tmp/payload", tmp_path / "planted")
    assert p.returncode != 0 and "symbolic link" in p.stderr
    assert victim.read_text() == "precious\n"
    assert stat.S_ISLNK(os.lstat(tmp_path / "planted").st_mode)


def test_cp_sandbox_paths_stay_in_the_sandbox(msb, shared_sandbox, tmp_path):
    host_passwd = open("/etc/passwd").read()
    msb("cp", f"{shared_sandbox}:/../../../etc/passwd", tmp_path / "p", check=True)
    got = (tmp_path / "p").read_text()
    assert "user:x:1000" in got and got != host_passwd
    p = msb("cp", f"{shared_sandbox}:../../etc/shadow", tmp_path / "s")
    assert p.returncode != 0  # relative sandbox paths are refused; the image has no shadow anyway
    msb.sh(shared_sandbox, "ln -sfn /etc/shadow /tmp/shadow-link")
    p = msb("cp", f"{shared_sandbox}:/tmp/shadow-link", tmp_path / "s")
    assert p.returncode != 0 and not (tmp_path / "s").exists()
