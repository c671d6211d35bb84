"""Disk snapshots (API.md §1.17): :class:`Snapshot` (an artifact directory and its
descriptor) and :class:`SnapshotHandle` (a row of the snapshot index).

A snapshot freezes the writable layer of a stopped sandbox into ``snapshots/<name>/``
(``snapshot.json`` + ``upper.ext4``); ``Sandbox.create(name, snapshot=...)`` boots new
sandboxes from it. Where a method takes ``path_or_name``, anything containing ``/`` or
starting with ``.`` or ``~`` is an artifact directory, anything else a name in
``$MSB_HOME/snapshots``. A missing artifact raises ``FileNotFoundError``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any, Optional

from microsandbox import _runtime
from microsandbox.errors import unsupported
from microsandbox.types import (
    SnapshotFormat,
    SnapshotScope,
    SnapshotStateKind,
    _bool,
    _str,
    _str_mapping,
)

__all__ = ["Snapshot", "SnapshotHandle"]


def _path_arg(value: Any, label: str) -> str:
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if not isinstance(value, str):
        raise TypeError(f"{label} must be a str or os.PathLike, got {type(value).__name__}")
    if not value:
        raise ValueError(f"{label} must not be empty")
    return value


def _enum_or_none(cls: Any, value: Any) -> Any:
    try:
        return None if value is None else cls(value)
    except ValueError:
        return None


def _get(d: Mapping[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(d, Mapping):
            return None
        d = d.get(key)  # type: ignore[assignment]
    return d


class Snapshot:
    """A snapshot artifact: its directory and what its descriptor says."""

    __slots__ = ("_path", "_name", "_digest", "_desc")

    def __init__(self) -> None:
        raise TypeError("use Snapshot.create(), Snapshot.open() or SandboxHandle.snapshot()")

    @classmethod
    def _wrap(cls, d: Mapping[str, Any]) -> "Snapshot":
        s = object.__new__(cls)
        s._path = d["path"]
        s._name = d["name"]
        s._digest = d["digest"]
        s._desc = json.loads(d["descriptor_json"] or "{}")
        return s

    def __repr__(self) -> str:
        return f"<Snapshot {self._name!r} {self._digest[:19]} at {self._path!r}>"

    # ------------------------------------------------------------------ properties

    @property
    def path(self) -> str:
        """Absolute path of the artifact directory."""
        return self._path

    @property
    def name(self) -> str:
        """The artifact's name (its directory name)."""
        return self._name

    @property
    def digest(self) -> str:
        """``sha256:<hex>`` of the canonical descriptor."""
        return self._digest

    @property
    def size_bytes(self) -> Optional[int]:
        """Size of the upper image (apparent; the host stores only what was written)."""
        v = _get(self._desc, "state", "upper", "size_bytes")
        return v if isinstance(v, int) and v > 0 else None

    @property
    def image_ref(self) -> Optional[str]:
        return _get(self._desc, "image", "ref")

    @property
    def image_manifest_digest(self) -> Optional[str]:
        return _get(self._desc, "image", "manifest_digest")

    @property
    def state_kind(self) -> SnapshotStateKind:
        return _enum_or_none(SnapshotStateKind, _get(self._desc, "state", "kind")) or SnapshotStateKind.FILE

    @property
    def format(self) -> Optional[SnapshotFormat]:
        return _enum_or_none(SnapshotFormat, _get(self._desc, "state", "format"))

    @property
    def fstype(self) -> Optional[str]:
        return _get(self._desc, "state", "fstype")

    @property
    def checkpoint_id(self) -> Optional[str]:
        """Memory checkpoints do not exist in this build: always None."""
        return _get(self._desc, "state", "checkpoint", "id")

    @property
    def checkpoint_manifest_digest(self) -> Optional[str]:
        return _get(self._desc, "state", "checkpoint", "manifest_digest")

    @property
    def parent(self) -> Optional[str]:
        return self._desc.get("parent")

    @property
    def scope(self) -> SnapshotScope:
        return _enum_or_none(SnapshotScope, self._desc.get("scope")) or SnapshotScope.DISK

    @property
    def created_at(self) -> str:
        """RFC 3339 creation time."""
        return self._desc.get("created_at", "")

    @property
    def labels(self) -> dict[str, str]:
        return dict(self._desc.get("labels") or {})

    @property
    def source_sandbox(self) -> Optional[str]:
        return self._desc.get("source_sandbox")

    async def verify(self) -> dict[str, Any]:
        """Checks the artifact: descriptor, upper file size, recorded integrity digest,
        pinned image. ``{"ok", "digest", "path", "checks": [{"check", "ok", "message"}]}``."""
        ctx = await _runtime.context()
        return json.loads(await _runtime.run(ctx.snapshot_verify, self._path))

    # ------------------------------------------------------------------ static methods

    @staticmethod
    async def create(name: str, *, from_sandbox: str, dest_dir: Any = None, labels: Optional[Mapping[str, str]] = None,
                     force: bool = False, record_integrity: bool = False, resumable: bool = False) -> "Snapshot":
        """Snapshot the writable layer of ``from_sandbox`` (stopped or crashed; a running one
        raises ``SandboxStillRunningError``) into ``<dest_dir or $MSB_HOME/snapshots>/<name>``."""
        _str(name, "name")
        _str(from_sandbox, "from_sandbox")
        if _bool(resumable, "resumable"):
            raise unsupported("Snapshot.create(resumable=True)",
                              "memory (resumable) snapshots are not supported; take a disk snapshot "
                              "of the stopped sandbox")
        dest = None if dest_dir is None else _path_arg(dest_dir, "dest_dir")
        pairs = None
        if labels is not None:
            pairs = [f"{k}={v}" for k, v in _str_mapping(labels, "labels").items()]
        ctx = await _runtime.context()
        d = await _runtime.run(ctx.snapshot_create, name, from_sandbox, dest, pairs,
                               _bool(force, "force"), _bool(record_integrity, "record_integrity"), False)
        return Snapshot._wrap(d)

    @staticmethod
    async def open(path_or_name: Any) -> "Snapshot":
        """The artifact at a path, or of a name (FileNotFoundError if missing)."""
        ctx = await _runtime.context()
        return Snapshot._wrap(await _runtime.run(ctx.snapshot_open, _path_arg(path_or_name, "path_or_name")))

    @staticmethod
    async def get(name_or_digest: str) -> "SnapshotHandle":
        """The indexed snapshot of that name or ``sha256:`` digest."""
        _str(name_or_digest, "name_or_digest")
        ctx = await _runtime.context()
        return SnapshotHandle(await _runtime.run(ctx.snapshot_get, name_or_digest))

    @staticmethod
    async def list() -> list["SnapshotHandle"]:
        """Every indexed snapshot, newest first."""
        ctx = await _runtime.context()
        return [SnapshotHandle(d) for d in await _runtime.run(ctx.snapshot_list)]

    @staticmethod
    async def list_dir(dir: Any) -> list["Snapshot"]:
        """The artifacts directly inside directory ``dir`` (by name; not indexed)."""
        ctx = await _runtime.context()
        rows = await _runtime.run(ctx.snapshot_list_dir, _path_arg(dir, "dir"))
        return [Snapshot._wrap(d) for d in rows]

    @staticmethod
    async def remove(path_or_name: Any, *, force: bool = False) -> None:
        """Delete an artifact and its index rows (``force`` also removes one whose
        descriptor cannot be read)."""
        ctx = await _runtime.context()
        await _runtime.run(ctx.snapshot_remove, _path_arg(path_or_name, "path_or_name"), _bool(force, "force"))

    @staticmethod
    async def reindex(dir: Any = None) -> int:
        """Rebuild the index from the artifacts of ``dir`` (default ``$MSB_HOME/snapshots``);
        returns how many were indexed."""
        ctx = await _runtime.context()
        return await _runtime.run(ctx.snapshot_reindex, None if dir is None else _path_arg(dir, "dir"))

    @staticmethod
    async def save(name_or_path: Any, out: Any, *, with_parents: bool = False, with_image: bool = False,
                   plain_tar: bool = False) -> None:
        """Archives are not supported by this build: copy the artifact directory instead."""
        raise unsupported("Snapshot.save()", "snapshot archives (.tar.zst) are not supported by this build; "
                                             "copy the artifact directory instead")

    @staticmethod
    async def load(archive: Any, *, dest: Any = None) -> "SnapshotHandle":
        """Archives are not supported by this build: copy the artifact directory and
        ``Snapshot.reindex()`` it instead."""
        raise unsupported("Snapshot.load()", "snapshot archives (.tar.zst) are not supported by this build; "
                                             "copy the artifact directory and reindex it instead")


class SnapshotHandle:
    """A row of the snapshot index (from :meth:`Snapshot.get` / :meth:`Snapshot.list`)."""

    __slots__ = ("digest", "name", "parent_digest", "scope", "image_ref", "state_kind", "format", "fstype",
                 "checkpoint_manifest_digest", "size_bytes", "locality", "availability", "migration_state",
                 "migration_error_code", "created_at", "path", "labels", "source_sandbox",
                 "image_manifest_digest")

    def __init__(self, d: Mapping[str, Any]) -> None:
        self.digest: str = d["digest"]
        self.name: Optional[str] = d["name"]
        self.parent_digest: Optional[str] = d["parent_digest"]
        self.scope: SnapshotScope = _enum_or_none(SnapshotScope, d["scope"]) or SnapshotScope.DISK
        self.image_ref: Optional[str] = d["image_ref"]
        self.image_manifest_digest: Optional[str] = d["image_manifest_digest"]
        self.state_kind: SnapshotStateKind = _enum_or_none(SnapshotStateKind, d["state_kind"]) or SnapshotStateKind.FILE
        self.format: Optional[SnapshotFormat] = _enum_or_none(SnapshotFormat, d["format"])
        self.fstype: Optional[str] = d["fstype"]
        self.checkpoint_manifest_digest: Optional[str] = None
        self.size_bytes: Optional[int] = d["size_bytes"] or None
        self.locality: str = "local"
        self.availability: str = "available" if d["available"] else "missing"
        self.migration_state: Optional[str] = None
        self.migration_error_code: Optional[str] = None
        self.created_at: float = float(d["created_at"])
        self.path: str = d["path"]
        self.labels: dict[str, str] = json.loads(d["labels_json"] or "{}")
        self.source_sandbox: Optional[str] = d["source_sandbox"]

    def __repr__(self) -> str:
        return f"<SnapshotHandle {self.name!r} {self.digest[:19]} ({self.availability})>"

    async def open(self) -> Snapshot:
        """The artifact this row describes."""
        return await Snapshot.open(self.path)

    async def remove(self, *, force: bool = False) -> None:
        """Delete the artifact and its index rows."""
        await Snapshot.remove(self.path, force=force)
