"""Disk snapshots (API.md §1.17) — not available in this build: every call raises
:class:`~microsandbox.errors.UnsupportedError` (``Snapshot.remove`` / ``open`` of a missing
artifact raise ``FileNotFoundError`` first)."""

from __future__ import annotations

import os
from typing import Any, NoReturn

from microsandbox.errors import unsupported

__all__ = ["Snapshot", "SnapshotHandle"]

_HINT = "disk snapshots are not implemented by this msb build"


def _no(op: str) -> NoReturn:
    raise unsupported(op, _HINT)


def _resolve(path_or_name: Any) -> str:
    p = os.fspath(path_or_name)
    if "/" in p or p.startswith((".", "~")):
        return os.path.expanduser(p)
    home = os.environ.get("MSB_HOME") or os.path.join(os.path.expanduser("~"), ".microsandbox")
    return os.path.join(home, "snapshots", p)


class SnapshotHandle:
    """An indexed snapshot (never constructed in this build)."""

    async def open(self) -> "Snapshot":
        _no("SnapshotHandle.open()")

    async def remove(self, *, force: bool = False) -> None:
        _no("SnapshotHandle.remove()")


class Snapshot:
    """A snapshot artifact."""

    @staticmethod
    async def create(name: str, *, from_sandbox: str, dest_dir: Any = None, labels: Any = None, force: bool = False,
                     record_integrity: bool = False, resumable: bool = False) -> "Snapshot":
        _no("Snapshot.create()")

    @staticmethod
    async def open(path_or_name: Any) -> "Snapshot":
        if not os.path.exists(_resolve(path_or_name)):
            raise FileNotFoundError(f"snapshot artifact not found: {_resolve(path_or_name)}")
        _no("Snapshot.open()")

    @staticmethod
    async def get(name_or_digest: str) -> SnapshotHandle:
        _no("Snapshot.get()")

    @staticmethod
    async def list() -> list[SnapshotHandle]:
        _no("Snapshot.list()")

    @staticmethod
    async def list_dir(dir: Any) -> list["Snapshot"]:
        _no("Snapshot.list_dir()")

    @staticmethod
    async def remove(path_or_name: Any, *, force: bool = False) -> None:
        if not os.path.exists(_resolve(path_or_name)):
            raise FileNotFoundError(f"snapshot artifact not found: {_resolve(path_or_name)}")
        _no("Snapshot.remove()")

    @staticmethod
    async def reindex(dir: Any = None) -> int:
        _no("Snapshot.reindex()")

    @staticmethod
    async def save(name_or_path: Any, out: Any, *, with_parents: bool = False, with_image: bool = False,
                   plain_tar: bool = False) -> None:
        _no("Snapshot.save()")

    @staticmethod
    async def load(archive: Any, *, dest: Any = None) -> SnapshotHandle:
        _no("Snapshot.load()")

    async def verify(self) -> dict[str, Any]:
        _no("Snapshot.verify()")
