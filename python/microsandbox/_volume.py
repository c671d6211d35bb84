"""Named volumes and mount factories (API.md §1.13)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Optional, Union

from microsandbox import _runtime
from microsandbox.errors import unsupported
from microsandbox.types import (
    DiskImageFormat,
    FsEntry,
    FsEntryKind,
    FsMetadata,
    MountConfig,
    MountKind,
    NamedVolumeMode,
    VolumeKind,
    _enum,
    _int,
    _str,
    _str_mapping,
)

__all__ = ["Volume", "VolumeHandle", "VolumeFs"]


def _rel(path: Any) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    return _str(path, "path")  # type: ignore[return-value]


def _ms(v: Optional[int]) -> Optional[float]:
    return None if v is None or v < 0 else float(v)


class VolumeFs:
    """Host-side files of a directory volume (paths relative to its root; escapes are
    refused)."""

    __slots__ = ("_ctx", "_name")

    def __init__(self, ctx: Any, name: str) -> None:
        self._ctx = ctx
        self._name = name

    async def _op(self, op: str, path: Any, arg: Any = None) -> Any:
        return await _runtime.run(self._ctx.volume_fs, op, self._name, _rel(path), arg)

    async def read(self, path: str) -> bytes:
        return await self._op("read", path)

    async def read_text(self, path: str) -> str:
        return (await self.read(path)).decode("utf-8")

    async def write(self, path: str, data: Union[bytes, str]) -> None:
        if isinstance(data, str):
            data = data.encode("utf-8")
        await self._op("write", path, bytes(data))

    async def list(self, path: str = "") -> list[FsEntry]:
        rows = await self._op("list", path)
        return [FsEntry(p, FsEntryKind(k), s, m, _ms(t)) for p, k, s, m, t in rows]

    async def mkdir(self, path: str) -> None:
        await self._op("mkdir", path)

    async def remove_file(self, path: str) -> None:
        await self._op("remove_file", path)

    async def remove_dir(self, path: str) -> None:
        await self._op("remove_dir", path)

    async def copy(self, from_: str, to: str) -> None:
        await self._op("copy", from_, _rel(to))

    async def rename(self, from_: str, to: str) -> None:
        await self._op("rename", from_, _rel(to))

    async def stat(self, path: str) -> FsMetadata:
        kind, size, mode, ro, mtime, _atime, ctime = await self._op("stat", path)
        return FsMetadata(FsEntryKind(kind), size, mode, bool(ro), _ms(mtime), _ms(ctime))

    async def exists(self, path: str) -> bool:
        return await self._op("exists", path)


class VolumeHandle:
    """A named volume."""

    __slots__ = ("_ctx", "name", "is_default", "kind", "quota_mib", "used_bytes", "capacity_bytes",
                 "disk_format", "disk_fstype", "labels", "created_at", "path")

    def __init__(self, ctx: Any, d: Mapping[str, Any]) -> None:
        self._ctx = ctx
        self.name: str = d["name"]
        self.is_default = False
        self.kind = VolumeKind(d["kind"])
        self.quota_mib: Optional[int] = d["quota_mib"]
        self.used_bytes: int = d["used_bytes"]
        self.capacity_bytes: Optional[int] = d["capacity_bytes"]
        self.disk_format = DiskImageFormat(d["disk_format"]) if d["disk_format"] else None
        self.disk_fstype: Optional[str] = d["disk_fstype"]
        self.labels: dict[str, str] = json.loads(d["labels_json"] or "{}")
        self.created_at: Optional[float] = d["created_at"]
        self.path: str = d["path"]

    def __repr__(self) -> str:
        return f"<VolumeHandle {self.name!r} {self.kind.value}>"

    @property
    def fs(self) -> VolumeFs:
        return VolumeFs(self._ctx, self.name)

    async def remove(self) -> None:
        await Volume.remove(self.name)


class Volume(VolumeHandle):
    """A volume just created (``name``, ``path``), plus the mount factories and the volume
    management calls."""

    @staticmethod
    async def create(name: str, *, kind: Union[VolumeKind, str] = VolumeKind.DIRECTORY, size_mib: Optional[int] = None,
                     quota_mib: Optional[int] = None, labels: Optional[Mapping[str, str]] = None) -> "Volume":
        _str(name, "name")
        k = _enum(VolumeKind, kind, "kind")
        _int(size_mib, "size_mib", optional=True, minimum=1)
        _int(quota_mib, "quota_mib", optional=True, minimum=1)
        if k is VolumeKind.DISK and size_mib is None:
            raise ValueError("a disk volume needs size_mib")
        label_list = [f"{a}={b}" for a, b in _str_mapping(labels or {}, "labels").items()]
        ctx = await _runtime.context()
        d = await _runtime.run(ctx.volume_create, name, k.value, size_mib or 0, quota_mib or 0, label_list)
        v = object.__new__(Volume)
        VolumeHandle.__init__(v, ctx, d)
        return v

    @staticmethod
    async def get(name: str) -> VolumeHandle:
        ctx = await _runtime.context()
        return VolumeHandle(ctx, await _runtime.run(ctx.volume_get, _str(name, "name")))

    @staticmethod
    async def list() -> list[VolumeHandle]:
        ctx = await _runtime.context()
        return [VolumeHandle(ctx, d) for d in await _runtime.run(ctx.volume_list)]

    @staticmethod
    async def remove(name: str) -> None:  # type: ignore[override]
        ctx = await _runtime.context()
        await _runtime.run(ctx.volume_remove, _str(name, "name"))

    @staticmethod
    async def get_default() -> VolumeHandle:
        raise unsupported("Volume.get_default()", "the local backend has no default volume")

    @staticmethod
    def bind(path: Union[str, os.PathLike[str]], *, readonly: bool = False, noexec: bool = False,
             nosuid: bool = False, nodev: bool = False) -> MountConfig:
        """A host directory."""
        return MountConfig(MountKind.BIND, bind=os.path.abspath(os.fspath(path)), readonly=readonly,
                           noexec=noexec, nosuid=nosuid, nodev=nodev)

    @staticmethod
    def named(name: str, *, mode: Union[NamedVolumeMode, str, None] = None, kind: Union[VolumeKind, str, None] = None,
              size_mib: Optional[int] = None, quota_mib: Optional[int] = None, readonly: bool = False,
              noexec: bool = False, nosuid: bool = False, nodev: bool = False) -> MountConfig:
        """A named volume (default mode ``existing``)."""
        _str(name, "name")
        return MountConfig(MountKind.NAMED, named=name,
                           named_mode=_enum(NamedVolumeMode, mode, "mode") if mode is not None else NamedVolumeMode.EXISTING,
                           named_kind=_enum(VolumeKind, kind, "kind") if kind is not None else None,
                           size_mib=size_mib, quota_mib=quota_mib, readonly=readonly, noexec=noexec,
                           nosuid=nosuid, nodev=nodev)

    @staticmethod
    def tmpfs(*, size_mib: Optional[int] = None, readonly: bool = False, noexec: bool = False,
              nosuid: bool = False, nodev: bool = False) -> MountConfig:
        """A RAM filesystem (writes beyond ``size_mib`` fail with ENOSPC)."""
        return MountConfig(MountKind.TMPFS, size_mib=size_mib, readonly=readonly, noexec=noexec, nosuid=nosuid,
                           nodev=nodev)

    @staticmethod
    def disk(path: Union[str, os.PathLike[str]], *, format: Union[DiskImageFormat, str, None] = None,
             fstype: Optional[str] = None, readonly: bool = False, noexec: bool = False, nosuid: bool = False,
             nodev: bool = False) -> MountConfig:
        """A host disk image (vm backend)."""
        return MountConfig(MountKind.DISK, disk=os.fspath(path),
                           format=_enum(DiskImageFormat, format, "format") if format is not None else None,
                           fstype=fstype, readonly=readonly, noexec=noexec, nosuid=nosuid, nodev=nodev)
