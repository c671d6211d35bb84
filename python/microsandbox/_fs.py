"""Files inside a running sandbox: ``sb.fs`` (API.md §1.9).

Each operation is one libmsb call (``msb_fs_*``) on a worker thread; the sandbox resolves
paths inside its own root. Any failure the sandbox reports raises
:class:`~microsandbox.errors.FilesystemError`; host-side failures of the host copies raise
:class:`~microsandbox.errors.IoError`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from typing import Any, Optional

from microsandbox import _runtime
from microsandbox.types import FsEntry, FsEntryKind, FsMetadata

__all__ = ["SandboxFsOps", "SandboxFs", "FsReadStream", "FsWriteSink"]


def _path(p: Any, label: str = "path") -> str:
    if isinstance(p, os.PathLike):
        p = os.fspath(p)
    if not isinstance(p, str):
        raise TypeError(f"{label} must be a str, got {type(p).__name__}")
    return p


def _ms(v: int) -> Optional[float]:
    return None if v is None or v < 0 else float(v)


def _entry(t: tuple[str, str, int, int, int]) -> FsEntry:
    path, kind, size, mode, modified = t
    return FsEntry(path, FsEntryKind(kind), size, mode, _ms(modified))


def _metadata(t: tuple[str, int, int, bool, int, int, int]) -> FsMetadata:
    kind, size, mode, readonly, modified, _accessed, created = t
    return FsMetadata(FsEntryKind(kind), size, mode, bool(readonly), _ms(modified), _ms(created))


class SandboxFsOps:
    """Filesystem operations in a running sandbox (``sb.fs``). Paths are absolute guest
    paths. Operations may run concurrently with each other and with exec."""

    __slots__ = ("_conn", "_name")

    def __init__(self, conn: Any, name: str) -> None:
        self._conn = conn
        self._name = name

    def __repr__(self) -> str:
        return f"<SandboxFsOps of {self._name!r}>"

    async def read(self, path: str) -> bytes:
        """The whole file."""
        return await _runtime.run(self._conn.fs_read, _path(path))

    async def read_text(self, path: str) -> str:
        """The whole file, decoded as UTF-8."""
        return (await self.read(path)).decode("utf-8")

    async def read_stream(self, path: str) -> "FsReadStream":
        """The file in chunks (≤ 3 MiB each): ``async for chunk in stream``."""
        reader = await _runtime.run(self._conn.fs_read_open, _path(path))
        return FsReadStream(reader)

    async def write(self, path: str, data: bytes) -> None:
        """Creates or truncates ``path`` (its parent must exist) and writes ``data``."""
        if isinstance(data, str):
            raise TypeError("data must be bytes (encode text first)")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        await _runtime.run(self._conn.fs_write, _path(path), bytes(data))

    async def write_stream(self, path: str) -> "FsWriteSink":
        """A sink that creates/truncates ``path`` and streams writes into it."""
        writer = await _runtime.run(self._conn.fs_write_open, _path(path))
        return FsWriteSink(writer)

    async def list(self, path: str) -> list[FsEntry]:
        """Entries of a directory (no ``.``/``..``), with full paths."""
        rows = await _runtime.run(self._conn.fs_list, _path(path))
        return [_entry(t) for t in rows]

    async def mkdir(self, path: str) -> None:
        """Creates a directory and its missing parents (``mkdir -p``)."""
        await _runtime.run(self._conn.fs_mkdir, _path(path))

    async def remove(self, path: str) -> None:
        """Removes a file or symlink."""
        await _runtime.run(self._conn.fs_remove, _path(path))

    async def remove_dir(self, path: str) -> None:
        """Removes a directory recursively."""
        await _runtime.run(self._conn.fs_remove_dir, _path(path))

    async def copy(self, src: str, dst: str) -> None:
        """Copies a file or directory tree inside the sandbox."""
        await _runtime.run(self._conn.fs_copy, _path(src, "src"), _path(dst, "dst"))

    async def rename(self, src: str, dst: str) -> None:
        """Renames inside the sandbox."""
        await _runtime.run(self._conn.fs_rename, _path(src, "src"), _path(dst, "dst"))

    async def stat(self, path: str) -> FsMetadata:
        """Metadata of ``path`` (following symlinks)."""
        return _metadata(await _runtime.run(self._conn.fs_stat, _path(path)))

    async def exists(self, path: str) -> bool:
        """Whether ``stat`` succeeds (any sandbox-reported failure is False)."""
        return await _runtime.run(self._conn.fs_exists, _path(path))

    async def copy_from_host(self, host_path: str, guest_path: str) -> None:
        """Streams one host file into the sandbox."""
        await _runtime.run(self._conn.fs_copy_from_host, _path(host_path, "host_path"),
                           _path(guest_path, "guest_path"))

    async def copy_to_host(self, guest_path: str, host_path: str) -> None:
        """Streams one sandbox file to the host."""
        await _runtime.run(self._conn.fs_copy_to_host, _path(guest_path, "guest_path"),
                           _path(host_path, "host_path"))


SandboxFs = SandboxFsOps


class FsReadStream:
    """Chunks of a sandbox file: ``async for chunk in stream`` or ``await collect()``."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._done = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self.recv()
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    async def recv(self) -> Optional[bytes]:
        """The next chunk, or None at the end of the file."""
        if self._done:
            return None
        chunk = await _runtime.run(self._reader.next)
        if chunk is None:
            self._done = True
            self._reader.close()
        return chunk

    async def collect(self) -> bytes:
        """The rest of the file."""
        parts = []
        while (chunk := await self.recv()) is not None:
            parts.append(chunk)
        return b"".join(parts)

    async def close(self) -> None:
        self._done = True
        self._reader.close()


class FsWriteSink:
    """Streamed write of a sandbox file; ``async with`` closes (flushes) it."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer
        self._closed = False
        self._lock = asyncio.Lock()

    async def write(self, data: bytes) -> None:
        """Sends ``data``."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        if self._closed:
            raise RuntimeError("write stream closed")
        async with self._lock:
            await _runtime.run(self._writer.write, bytes(data))

    async def close(self) -> None:
        """Finishes the file; reports a failure the sandbox saw (e.g. ENOSPC)."""
        if self._closed:
            return
        self._closed = True
        async with self._lock:
            await _runtime.run(self._writer.close)

    async def __aenter__(self) -> "FsWriteSink":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()
