"""Disk snapshots through the CLI (API.md §1.17, §2 `snapshot …`, §4): an artifact made from a
stopped sandbox, its descriptor and digest, new sandboxes booted from it by name and by path,
and the index (ls, rm, reindex, verify)."""

import hashlib
import json
import os
import re
import shutil

from msb_it import IMAGE, image_dir, unique_name

from .conftest import descriptor, wait_no_loop_devices

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _stopped_with_writes(msb, sandboxes, *flags):
    """A sandbox whose layer holds a new file, a hard link, a deleted image file (a whiteout)
    and a directory that replaced the image's (opaque), then stopped."""
    name = sandboxes.create(*flags, label="src")
    msb.sh(name, "echo kept > /root/kept; ln /root/kept /root/link; rm /bin/ls;"
                 " rm -rf /usr; mkdir /usr; echo only > /usr/only; chown 1000:1000 /root/kept")
    msb("stop", name, check=True)
    return name


def _image_digest(msb):
    for row in json.loads(msb("image", "ls", "--format", "json", check=True).stdout):
        if row["reference"].endswith("local/busybox:latest"):
            return row["digest"]
    return None


def _canonical_digest(desc):
    text = json.dumps(desc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def test_snapshot_of_a_stopped_sandbox_writes_the_artifact(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("snap")
    snapshots.append(snap)
    p = msb("snapshot", "create", snap, "--from", src, "--label", "team=a", "--label", "k=v", check=True)
    assert p.stdout.strip() == snap
    art = os.path.join(msb.home, "snapshots", snap)
    assert sorted(os.listdir(art)) == ["snapshot.json", "upper.ext4"]
    d = descriptor(msb, snap)
    assert set(d) == {"schema", "artifact", "scope", "created_at", "parent", "image", "source_sandbox",
                      "state", "labels", "extensions", "requires"}
    assert (d["schema"], d["artifact"], d["scope"], d["parent"]) == (1, "snapshot", "disk", None)
    assert RFC3339.match(d["created_at"])
    assert d["image"] == {"ref": IMAGE, "manifest_digest": _image_digest(msb)}
    assert d["source_sandbox"] == src
    assert d["state"]["kind"] == "file" and d["state"]["format"] == "raw" and d["state"]["fstype"] == "ext4"
    upper = d["state"]["upper"]
    st = os.stat(os.path.join(art, "upper.ext4"))
    assert upper["file"] == "upper.ext4" and upper["size_bytes"] == st.st_size > 0
    assert "integrity" not in upper
    assert st.st_blocks * 512 < st.st_size // 8  # sparse: the host holds what was written
    assert d["labels"] == {"team": "a", "k": "v"}
    assert d["extensions"] == {} and d["requires"] == []
    assert not [e for e in os.listdir(os.path.join(msb.home, "snapshots")) if e.startswith(".")]
    assert wait_no_loop_devices(msb.home) == []


def test_snapshot_is_refused_while_the_sandbox_runs(msb, sandbox, snapshots):
    snap = unique_name("busy")
    snapshots.append(snap)
    p = msb("snapshot", "create", snap, "--from", sandbox)
    assert p.returncode == 1
    assert "running" in p.stderr
    assert not os.path.exists(os.path.join(msb.home, "snapshots", snap))
    assert msb.status(sandbox) == "Running"


def test_snapshot_of_an_unknown_sandbox_fails(msb, snapshots):
    p = msb("snapshot", "create", unique_name("x"), "--from", "no-such-sandbox")
    assert p.returncode == 1 and "not found" in p.stderr


def test_digest_is_the_sha256_of_the_canonical_descriptor_and_stable(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("dg")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, "--label", "naïve=ü", check=True)
    want = _canonical_digest(descriptor(msb, snap))
    first = json.loads(msb("snapshot", "inspect", snap, check=True).stdout)
    again = json.loads(msb("snapshot", "inspect", snap, check=True).stdout)
    assert first["digest"] == again["digest"] == want
    msb("snapshot", "reindex", check=True)
    listed = {r["name"]: r for r in json.loads(msb("snapshot", "ls", "--format", "json", check=True).stdout)}
    assert listed[snap]["digest"] == want
    # Another snapshot of the same sandbox is another artifact (its own created_at).
    other = unique_name("dg2")
    snapshots.append(other)
    msb("snapshot", "create", other, "--from", src, check=True)
    assert json.loads(msb("snapshot", "inspect", other, check=True).stdout)["digest"] != want


def test_create_from_snapshot_by_name_sees_the_writes(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("boot")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, check=True)
    name = sandboxes.adopt(unique_name("from"))
    msb("create", "-n", name, "--from-snapshot", snap, check=True)
    out = msb.sh(name, "cat /root/kept; stat -c '%u %h' /root/kept; test -e /bin/ls || echo ls-gone;"
                       " ls /usr; test -e /bin/sh && echo sh-there")
    assert out == "kept\n1000 2\nls-gone\nonly\nsh-there\n"
    # The new sandbox is pinned to the snapshot's image manifest.
    info = json.loads(msb("inspect", name, "--format", "json", check=True).stdout)
    assert _image_digest(msb).split(":")[1] in info["config"]["image"]["Oci"]["reference"]
    # Its layer is its own: writing there leaves the source and the artifact alone.
    msb.sh(name, "echo changed > /root/kept")
    again = sandboxes.adopt(unique_name("again"))
    msb("create", "-n", again, "--from-snapshot", snap, check=True)
    assert msb.sh(again, "cat /root/kept") == "kept\n"
    assert wait_no_loop_devices(msb.home) == []


def test_run_from_snapshot_by_path(msb, sandboxes, snapshots, tmp_path):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("path")
    dest = tmp_path / "artifacts"
    msb("snapshot", "create", snap, "--from", src, "--dest-dir", str(dest), check=True)
    art = dest / snap
    snapshots.append(str(art))
    assert (art / "snapshot.json").is_file() and (art / "upper.ext4").is_file()
    name = sandboxes.adopt(unique_name("run"))
    p = msb("run", "-n", name, "--from-snapshot", str(art), "--", "cat", "/usr/only", check=True)
    assert p.stdout == "only\n"
    # A name finds the artifact through the index too.
    other = sandboxes.adopt(unique_name("byname"))
    msb("create", "-n", other, "--from-snapshot", snap, check=True)
    assert msb.sh(other, "cat /root/kept") == "kept\n"


def test_missing_snapshot_is_an_error(msb, sandboxes):
    name = sandboxes.adopt(unique_name("missing"))
    p = msb("create", "-n", name, "--from-snapshot", "no-such-snapshot")
    assert p.returncode == 1 and "no-such-snapshot" in p.stderr
    p = msb("create", "-n", name, "--from-snapshot", "./no/such/dir")
    assert p.returncode == 1
    assert msb.status(name) is None
    p = msb("create", "-n", name, "--from-snapshot", "x", IMAGE)
    assert p.returncode == 1 and "mutually exclusive" in p.stderr


def test_size_limited_layer_keeps_its_limit(msb, sandboxes, snapshots):
    src = sandboxes.create("--root-disk", "64M", label="disk")
    msb.sh(src, "echo on-disk > /root/d; rm /bin/ls")
    msb("stop", src, check=True)
    snap = unique_name("disk")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, check=True)
    d = descriptor(msb, snap)
    assert d["state"]["upper"]["size_bytes"] == 64 << 20
    assert d["extensions"] == {"msb": {"upper_limit_mib": 64}}
    name = sandboxes.adopt(unique_name("disk2"))
    msb("create", "-n", name, "--from-snapshot", snap, check=True)
    assert msb.sh(name, "cat /root/d; test -e /bin/ls || echo gone") == "on-disk\ngone\n"
    cfg = json.loads(msb("inspect", name, "--format", "json", check=True).stdout)["config"]
    assert cfg["image"]["Oci"]["root_disk"]["size_mib"] == 64
    # The limit holds in the new sandbox.
    p = msb.exec(name, "dd", "if=/dev/zero", "of=/root/big", "bs=1M", "count=100")
    assert p.returncode != 0


def test_root_disk_of_the_new_sandbox_decides_how_the_layer_arrives(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)  # a directory layer: a 512 MiB snapshot image
    snap = unique_name("rd")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, check=True)
    check = ("cat /root/kept; stat -c '%u %h' /root/kept; test -e /bin/ls || echo ls-gone; ls /usr;"
             " df -k / | tail -1")
    for size, kib_range in (("1G", (900 << 10, 1100 << 10)), ("256M", (200 << 10, 260 << 10))):
        # 1G: the image is cloned and grown; 256M: smaller than the image, unpacked into a new one.
        name = sandboxes.adopt(unique_name("rd" + size))
        msb("create", "-n", name, "--root-disk", size, "--from-snapshot", snap, check=True)
        lines = msb.sh(name, check).splitlines()
        assert lines[:4] == ["kept", "1000 2", "ls-gone", "only"]
        assert kib_range[0] < int(lines[4].split()[1]) < kib_range[1]
    assert wait_no_loop_devices(msb.home) == []


def test_rm_reindex_and_ls(msb, sandboxes, snapshots, tmp_path):
    src = _stopped_with_writes(msb, sandboxes)
    a, b = unique_name("a"), unique_name("b")
    snapshots.extend([a, b])
    msb("snapshot", "create", a, "--from", src, check=True)
    msb("snapshot", "create", b, "--from", src, check=True)
    names = msb("snapshot", "ls", "-q", check=True).stdout.split()
    assert a in names and b in names
    assert msb("snapshot", "rm", a, check=True).stdout.strip() == a
    assert a not in msb("snapshot", "ls", "-q", check=True).stdout.split()
    assert not os.path.exists(os.path.join(msb.home, "snapshots", a))
    assert msb("snapshot", "rm", a).returncode == 1  # already gone
    # Moved away by hand: reindex drops it; reindexing its new home brings it back.
    moved = tmp_path / "moved"
    moved.mkdir()
    shutil.move(os.path.join(msb.home, "snapshots", b), moved / b)
    snapshots.append(str(moved / b))
    rows = {r["name"]: r for r in json.loads(msb("snapshot", "ls", "--format", "json", check=True).stdout)}
    assert rows[b]["available"] is False
    msb("snapshot", "reindex", check=True)
    assert b not in msb("snapshot", "ls", "-q", check=True).stdout.split()
    p = msb("snapshot", "reindex", str(moved), check=True)
    assert p.stdout.strip() == "1 snapshot indexed"
    rows = {r["name"]: r for r in json.loads(msb("snapshot", "ls", "--format", "json", check=True).stdout)}
    assert rows[b]["path"] == str(moved / b) and rows[b]["available"] is True
    # A directory that is not an artifact is never removed.
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "keep").write_text("x")
    assert msb("snapshot", "rm", "-f", str(plain)).returncode == 1
    assert (plain / "keep").exists()


def test_integrity_is_recorded_and_verified(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("int")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, "--integrity", check=True)
    upper = os.path.join(msb.home, "snapshots", snap, "upper.ext4")
    h = hashlib.sha256()
    with open(upper, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    integrity = descriptor(msb, snap)["state"]["upper"]["integrity"]
    assert integrity == {"algorithm": "sha256", "digest": "sha256:" + h.hexdigest()}
    p = msb("snapshot", "verify", snap, "--format", "json", check=True)
    report = json.loads(p.stdout)
    assert report["ok"] is True and {c["check"] for c in report["checks"]} >= {"descriptor", "upper_size", "integrity"}
    with open(upper, "r+b") as f:  # one flipped byte
        f.seek(1 << 20)
        byte = f.read(1)
        f.seek(1 << 20)
        f.write(bytes([byte[0] ^ 0xFF]))
    p = msb("snapshot", "verify", snap)
    assert p.returncode == 1 and "FAIL" in p.stdout
    p = msb("snapshot", "inspect", snap, "--verify")
    assert p.returncode == 1 and json.loads(p.stdout)["verify"]["ok"] is False


def test_force_replaces_an_artifact(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("force")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, check=True)
    before = json.loads(msb("snapshot", "inspect", snap, check=True).stdout)["digest"]
    p = msb("snapshot", "create", snap, "--from", src)
    assert p.returncode == 1 and "already exists" in p.stderr
    msb("snapshot", "create", snap, "--from", src, "-f", check=True)
    after = json.loads(msb("snapshot", "inspect", snap, check=True).stdout)["digest"]
    assert after != before
    assert [r for r in msb("snapshot", "ls", "-q", check=True).stdout.split() if r == snap] == [snap]


def test_snapshots_survive_their_sandbox(msb, sandboxes, snapshots):
    src = _stopped_with_writes(msb, sandboxes)
    snap = unique_name("orphan")
    snapshots.append(snap)
    msb("snapshot", "create", snap, "--from", src, check=True)
    msb("rm", src, check=True)
    name = sandboxes.adopt(unique_name("after"))
    msb("create", "-n", name, "--from-snapshot", snap, check=True)
    assert msb.sh(name, "cat /root/kept") == "kept\n"


def test_image_prune_keeps_the_image_a_snapshot_pins(msb, sandboxes, snapshots, load_image, tmp_path,
                                                    request):
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    tag = load_image(f"local/pinned-{unique_name('img')}:1",
                     [("bin", "dir", None), ("bin/busybox", "file", busybox)], {"Env": ["PATH=/bin"]})
    src = sandboxes.create(image=tag, label="pin")
    msb.exec(src, "/bin/busybox", "sh", "-c", "echo pinned > /kept", check=True)
    msb("stop", src, check=True)
    snap = unique_name("pin")
    dest = tmp_path / "elsewhere"
    msb("snapshot", "create", snap, "--from", src, "--dest-dir", str(dest), check=True)
    snapshots.append(str(dest / snap))
    msb("rm", src, check=True)
    with open(dest / snap / "snapshot.json") as f:
        digest = json.load(f)["image"]["manifest_digest"]
    # No sandbox uses the image any more, and the artifact is outside $MSB_HOME/snapshots:
    # only the index pins it. The prune also takes the session's default image when no
    # sandbox holds it: load it again for the tests that come after, whatever happens here.
    request.addfinalizer(lambda: msb("image", "load", "-q", image_dir(str(tmp_path)), "--tag", IMAGE,
                                     check=True))
    msb("image", "prune", "-y", check=True)
    digests = {r["digest"] for r in json.loads(msb("image", "ls", "--format", "json", check=True).stdout)}
    assert digest in digests
    name = sandboxes.adopt(unique_name("pinned"))
    msb("create", "-n", name, "--from-snapshot", str(dest / snap), check=True)
    assert msb.exec(name, "/bin/busybox", "cat", "/kept", check=True).stdout == "pinned\n"
