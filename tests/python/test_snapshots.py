"""Disk snapshots from Python (API.md §1.17): SandboxHandle.snapshot, the Snapshot and
SnapshotHandle types, create(snapshot=...) by name and by path, and the index."""

import hashlib
import json
import os

import pytest

from conftest import IMAGE, cleanup, unique_name
from microsandbox import (
    Sandbox,
    SandboxStillRunningError,
    Snapshot,
    SnapshotFormat,
    SnapshotHandle,
    SnapshotScope,
    SnapshotStateKind,
    UnsupportedError,
)


@pytest.fixture
async def snaps():
    made = []
    yield made
    for s in made:
        try:
            await Snapshot.remove(s, force=True)
        except FileNotFoundError:
            pass


async def _stopped_source(sandbox_factory):
    sb = await sandbox_factory("src")
    out = await sb.shell("echo kept > /root/kept; rm /bin/ls; mkdir -p /srv/app; echo v1 > /srv/app/v")
    assert out.success
    name = await sb.name
    await sb.stop()
    return name


async def test_handle_snapshot_of_a_stopped_sandbox(sandbox_factory, snaps, msb_home):
    src = await _stopped_source(sandbox_factory)
    name = unique_name("snap")
    snaps.append(name)
    snap = await (await Sandbox.get(src)).snapshot(name)
    assert isinstance(snap, Snapshot)
    assert snap.path == os.path.join(msb_home, "snapshots", name) and snap.name == name
    assert snap.digest.startswith("sha256:") and len(snap.digest) == 71
    assert snap.size_bytes > 0
    assert snap.image_ref == IMAGE and snap.image_manifest_digest.startswith("sha256:")
    assert snap.state_kind is SnapshotStateKind.FILE
    assert snap.format is SnapshotFormat.RAW and snap.fstype == "ext4"
    assert snap.scope is SnapshotScope.DISK
    assert snap.parent is None and snap.checkpoint_id is None and snap.checkpoint_manifest_digest is None
    assert snap.source_sandbox == src and snap.labels == {}
    assert snap.created_at.endswith("Z")
    with open(os.path.join(snap.path, "snapshot.json")) as f:
        desc = json.load(f)
    canonical = json.dumps(desc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert snap.digest == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert (await Snapshot.open(name)).digest == snap.digest
    assert (await Snapshot.open(snap.path)).digest == snap.digest
    report = await snap.verify()
    assert report["ok"] is True and report["digest"] == snap.digest


async def test_snapshot_of_a_running_sandbox_is_refused(sandbox, snaps):
    name = unique_name("busy")
    snaps.append(name)
    handle = await Sandbox.get(await sandbox.name)
    with pytest.raises(SandboxStillRunningError):
        await handle.snapshot(name)
    with pytest.raises(FileNotFoundError):
        await Snapshot.open(name)


async def test_create_options_labels_integrity_dest_dir(sandbox_factory, snaps, tmp_path):
    src = await _stopped_source(sandbox_factory)
    name = unique_name("opts")
    snap = await Snapshot.create(name, from_sandbox=src, dest_dir=tmp_path, labels={"team": "a"},
                                 record_integrity=True)
    snaps.append(snap.path)
    assert snap.path == str(tmp_path / name)
    assert snap.labels == {"team": "a"}
    with open(os.path.join(snap.path, "snapshot.json")) as f:
        assert json.load(f)["state"]["upper"]["integrity"]["digest"].startswith("sha256:")
    assert [s.digest for s in await Snapshot.list_dir(tmp_path)] == [snap.digest]
    with pytest.raises(UnsupportedError):
        await Snapshot.create(unique_name("r"), from_sandbox=src, resumable=True)
    with pytest.raises(Exception):
        await Snapshot.create(name, from_sandbox=src, dest_dir=tmp_path)  # exists, no force
    again = await Snapshot.create(name, from_sandbox=src, dest_dir=tmp_path, force=True)
    assert again.digest != snap.digest


async def test_create_from_snapshot_by_name_and_by_path(sandbox_factory, snaps):
    src = await _stopped_source(sandbox_factory)
    name = unique_name("boot")
    snaps.append(name)
    snap = await Snapshot.create(name, from_sandbox=src)
    by_name = await sandbox_factory("byname", image=None, snapshot=name)
    out = await by_name.shell("cat /root/kept /srv/app/v; test -e /bin/ls || echo ls-gone")
    assert out.stdout_text == "kept\nv1\nls-gone\n"
    by_path = await sandbox_factory("bypath", image=None, from_snapshot=snap.path)
    assert (await by_path.fs.read_text("/root/kept")) == "kept\n"
    assert not await by_path.fs.exists("/bin/ls")


async def test_create_from_a_missing_or_bad_snapshot(tmp_path):
    with pytest.raises(FileNotFoundError):
        await Sandbox.create(unique_name(), snapshot="no-such-snapshot")
    with pytest.raises(FileNotFoundError):
        await Sandbox.create(unique_name(), snapshot=str(tmp_path / "nothing"))
    art = tmp_path / "mem"
    art.mkdir()
    (art / "snapshot.json").write_text(json.dumps({
        "schema": 1, "artifact": "snapshot", "scope": "resumable", "created_at": "2025-01-01T00:00:00Z",
        "parent": None, "image": {"ref": IMAGE}, "state": {"kind": "checkpoint"}, "labels": {},
        "extensions": {}, "requires": []}))
    with pytest.raises(ValueError, match="only disk snapshots"):
        await Sandbox.create(unique_name(), snapshot=str(art))
    with pytest.raises(ValueError, match="mutually exclusive"):
        await Sandbox.create(unique_name(), image=IMAGE, snapshot="x")


async def test_index_get_list_remove_reindex(sandbox_factory, snaps):
    src = await _stopped_source(sandbox_factory)
    a = await Snapshot.create(unique_name("a"), from_sandbox=src, labels={"k": "v"})
    b = await Snapshot.create(unique_name("b"), from_sandbox=src)
    snaps.extend([a.path, b.path])
    handles = {h.name: h for h in await Snapshot.list()}
    assert a.name in handles and b.name in handles
    h = await Snapshot.get(a.name)
    assert isinstance(h, SnapshotHandle)
    assert h.digest == a.digest and h.path == a.path and h.labels == {"k": "v"}
    assert h.scope is SnapshotScope.DISK and h.state_kind is SnapshotStateKind.FILE
    assert h.format is SnapshotFormat.RAW and h.fstype == "ext4" and h.size_bytes == a.size_bytes
    assert h.availability == "available" and h.locality == "local"
    assert isinstance(h.created_at, float) and h.created_at > 0
    assert (await Snapshot.get(a.digest)).name == a.name
    assert (await h.open()).digest == a.digest
    await h.remove()
    assert a.name not in {x.name for x in await Snapshot.list()}
    with pytest.raises(FileNotFoundError):
        await Snapshot.get(a.name)
    with pytest.raises(FileNotFoundError):
        await Snapshot.remove(a.name)
    os.rename(b.path, b.path + "-moved")
    snaps.append(b.path + "-moved")
    assert (await Snapshot.get(b.name)).availability == "missing"
    assert await Snapshot.reindex() >= 0
    with pytest.raises(FileNotFoundError):
        await Snapshot.get(b.name)


async def test_archives_are_unsupported():
    with pytest.raises(UnsupportedError):
        await Snapshot.save("x", "/tmp/x.tar.zst")
    with pytest.raises(UnsupportedError):
        await Snapshot.load("/tmp/x.tar.zst")


async def test_snapshot_outlives_its_sandbox(sandbox_factory, snaps):
    src = await _stopped_source(sandbox_factory)
    name = unique_name("orphan")
    snaps.append(name)
    await Snapshot.create(name, from_sandbox=src)
    await cleanup(src)
    sb = await sandbox_factory("after", image=None, snapshot=name)
    assert (await sb.fs.read_text("/root/kept")) == "kept\n"


async def test_create_with_progress_from_a_snapshot(sandbox_factory, snaps):
    src = await _stopped_source(sandbox_factory)
    name = unique_name("prog")
    snaps.append(name)
    snap = await Snapshot.create(name, from_sandbox=src)
    target = sandbox_factory.name("prog")
    async with Sandbox.create_with_progress(target, snapshot=name) as session:
        events = [e.event_type.value async for e in session.progress]
        sb = await session.result()
    assert events[0] == "resolving" and events[-1] == "complete"
    assert (await sb.fs.read_text("/srv/app/v")) == "v1\n"
    info = await Sandbox.get(target)
    assert snap.image_manifest_digest.split(":")[1] in info.config()["image"]["Oci"]["reference"]
