"""sb.fs (API.md §1.9): round trips, streams, listing, metadata, host copies, errors; and
named volumes with their host-side files (§1.13)."""

import asyncio
import os
import stat

import pytest

from conftest import unique_name
from microsandbox import (
    FilesystemError,
    FsEntryKind,
    FsMetadata,
    IoError,
    SandboxFs,
    SandboxFsOps,
    SandboxNotRunningError,
    Volume,
    VolumeKind,
    VolumeNotFoundError,
)


async def test_fs_is_a_synchronous_property(shared_sandbox):
    fs = shared_sandbox.fs
    assert isinstance(fs, SandboxFsOps) and SandboxFs is SandboxFsOps


async def test_write_read_round_trip(shared_sandbox):
    fs = shared_sandbox.fs
    data = bytes(range(256)) * 1000
    await fs.write("/tmp/rt.bin", data)
    assert await fs.read("/tmp/rt.bin") == data
    await fs.write("/tmp/rt.txt", "héllo\n".encode())
    assert await fs.read_text("/tmp/rt.txt") == "héllo\n"
    assert (await shared_sandbox.shell("cat /tmp/rt.txt")).stdout_text == "héllo\n"
    await fs.write("/tmp/rt.txt", b"short")  # truncates
    assert await fs.read("/tmp/rt.txt") == b"short"
    with pytest.raises(TypeError):
        await fs.write("/tmp/x", "text")  # type: ignore[arg-type]


async def test_streams_of_a_large_file(shared_sandbox):
    fs = shared_sandbox.fs
    chunk = os.urandom(1 << 20)
    async with await fs.write_stream("/tmp/big.bin") as sink:
        for _ in range(8):
            await sink.write(chunk)
    with pytest.raises(RuntimeError, match="write stream closed"):
        await sink.write(b"late")
    stream = await fs.read_stream("/tmp/big.bin")
    sizes = []
    got = bytearray()
    async for part in stream:
        sizes.append(len(part))
        got += part
    assert bytes(got) == chunk * 8 and max(sizes) <= 3 * 1024 * 1024
    assert await (await fs.read_stream("/tmp/big.bin")).collect() == chunk * 8


async def test_list_mkdir_stat_exists_copy_rename_remove(shared_sandbox):
    fs = shared_sandbox.fs
    await fs.mkdir("/tmp/tree/a/b")
    await fs.write("/tmp/tree/a/file", b"12345")
    entries = await fs.list("/tmp/tree/a")
    assert sorted((e.path, e.kind) for e in entries) == [("/tmp/tree/a/b", FsEntryKind.DIRECTORY),
                                                         ("/tmp/tree/a/file", FsEntryKind.FILE)]
    f = next(e for e in entries if e.kind is FsEntryKind.FILE)
    assert f.size == 5 and stat.S_ISREG(f.mode) and isinstance(f.modified, float)
    meta = await fs.stat("/tmp/tree/a/file")
    assert isinstance(meta, FsMetadata) and meta.kind is FsEntryKind.FILE and meta.size == 5
    assert meta.readonly is False
    assert await fs.exists("/tmp/tree/a/file") and not await fs.exists("/tmp/tree/nope")
    await fs.copy("/tmp/tree/a", "/tmp/tree/c")
    assert await fs.read("/tmp/tree/c/file") == b"12345"
    await fs.rename("/tmp/tree/c/file", "/tmp/tree/c/moved")
    assert await fs.exists("/tmp/tree/c/moved") and not await fs.exists("/tmp/tree/c/file")
    await fs.remove("/tmp/tree/c/moved")
    assert not await fs.exists("/tmp/tree/c/moved")
    await fs.remove_dir("/tmp/tree")
    assert not await fs.exists("/tmp/tree")


async def test_guest_failures_are_filesystem_errors(shared_sandbox):
    fs = shared_sandbox.fs
    for call in (fs.read("/no/such/file"), fs.list("/no/such/dir"), fs.stat("/no/such"),
                 fs.write("/no/such/dir/f", b"x"), fs.remove("/etc")):
        with pytest.raises(FilesystemError):
            await call


async def test_copy_between_host_and_guest(shared_sandbox, tmp_path):
    fs = shared_sandbox.fs
    src = tmp_path / "in.bin"
    src.write_bytes(b"host-bytes" * 1000)
    await fs.copy_from_host(str(src), "/tmp/from-host.bin")
    assert await fs.read("/tmp/from-host.bin") == b"host-bytes" * 1000
    dst = tmp_path / "out.bin"
    await fs.copy_to_host("/tmp/from-host.bin", str(dst))
    assert dst.read_bytes() == b"host-bytes" * 1000
    with pytest.raises(IoError):
        await fs.copy_from_host(str(tmp_path / "missing"), "/tmp/x")


async def test_fs_works_concurrently_with_exec(shared_sandbox):
    fs = shared_sandbox.fs
    results = await asyncio.gather(shared_sandbox.shell("sleep 0.3; echo done"),
                                   *(fs.write(f"/tmp/c{i}", str(i).encode()) for i in range(10)))
    assert results[0].stdout_text == "done\n"
    assert [await fs.read(f"/tmp/c{i}") for i in range(10)] == [str(i).encode() for i in range(10)]


async def test_fs_on_a_stopped_sandbox_is_not_running(sandbox):
    await sandbox.stop()
    with pytest.raises(SandboxNotRunningError):
        await sandbox.fs.read("/etc/passwd")


async def test_named_volume_round_trip(sandbox_factory):
    name = unique_name("vol")
    vol = await Volume.create(name, quota_mib=64, labels={"team": "py"})
    try:
        assert vol.name == name and os.path.isdir(vol.path)
        await vol.fs.write("seed.txt", b"from-host")
        sb = await sandbox_factory("withvol", volumes={"/data": Volume.named(name)})
        assert (await sb.shell("cat /data/seed.txt; echo guest > /data/g.txt")).stdout_text == "from-host"
        assert await vol.fs.read_text("g.txt") == "guest\n"
        assert {e.path for e in await vol.fs.list("")} >= {"seed.txt", "g.txt"} or len(await vol.fs.list("")) >= 2
        handle = await Volume.get(name)
        assert handle.kind is VolumeKind.DIRECTORY and handle.labels == {"team": "py"} and handle.quota_mib == 64
        assert name in {v.name for v in await Volume.list()}
        await sb.kill()
    finally:
        await Volume.remove(name)
    with pytest.raises(VolumeNotFoundError):
        await Volume.get(name)


async def test_missing_named_volume_fails_the_create(sandbox_factory):
    with pytest.raises(VolumeNotFoundError):
        await sandbox_factory("novol", volumes={"/data": Volume.named(unique_name("absent"))})
