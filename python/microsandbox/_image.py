"""Images in the local cache (API.md §1.12): ``Image`` factories of image sources and the
cache management calls, each one libmsb call on a worker thread."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from microsandbox import _runtime
from microsandbox.types import (
    DiskImageFormat,
    ImageArchiveFormat,
    ImageSource,
    ImageSourceKind,
    RootDisk,
    RootDiskConfig,
    _enum,
    _int,
    _str,
)

__all__ = ["Image", "ImageHandle", "ImageDetail", "ImageConfigDetail", "ImageLayerDetail", "ImagePruneReport"]


@dataclass(frozen=True, slots=True)
class ImageConfigDetail:
    """The image config (OCI ``config`` section)."""

    digest: Optional[str]
    env: list[str]
    cmd: Optional[list[str]]
    entrypoint: Optional[list[str]]
    working_dir: Optional[str]
    user: Optional[str]
    labels: dict[str, str]
    stop_signal: Optional[str]


@dataclass(frozen=True, slots=True)
class ImageLayerDetail:
    """One layer, bottom to top."""

    diff_id: str
    blob_digest: str
    media_type: Optional[str]
    compressed_size_bytes: Optional[int]
    erofs_size_bytes: Optional[int]
    position: int


@dataclass(frozen=True, slots=True)
class ImagePruneReport:
    image_refs_removed: int
    manifests_removed: int
    layers_removed: int
    fsmeta_removed: int
    vmdk_removed: int
    bytes_reclaimed: Optional[int]


def familiar(reference: str) -> str:
    """The short form of a canonical reference, as `docker images` shows it:
    docker.io/library/alpine:3 → alpine:3, docker.io/local/busybox:latest → local/busybox:latest."""
    for prefix in ("docker.io/library/", "docker.io/"):
        if reference.startswith(prefix):
            return reference[len(prefix):]
    return reference


class ImageHandle:
    """A cached image."""

    __slots__ = ("_ctx", "_d", "reference", "size_bytes", "manifest_digest", "architecture", "os",
                 "layer_count", "last_used_at", "created_at")

    def __init__(self, ctx: Any, d: dict[str, Any], reference: Optional[str] = None) -> None:
        self._ctx = ctx
        self._d = d
        self.reference: str = reference or familiar(d["reference"])
        self.size_bytes: Optional[int] = d.get("size_bytes") or None
        self.manifest_digest: Optional[str] = d.get("manifest_digest")
        self.architecture: Optional[str] = d.get("architecture")
        self.os: Optional[str] = d.get("os")
        self.layer_count: int = int(d.get("layer_count") or 0)
        self.last_used_at: Optional[float] = d.get("last_used_at")
        self.created_at: Optional[float] = d.get("created_at")

    def __repr__(self) -> str:
        return f"<ImageHandle {self.reference!r} {self.manifest_digest}>"

    async def inspect(self) -> "ImageDetail":
        return await Image.inspect(self.reference)

    async def remove(self, *, force: bool = False) -> None:
        await Image.remove(self.reference, force=force)


@dataclass(frozen=True, slots=True)
class ImageDetail:
    handle: ImageHandle
    config: Optional[ImageConfigDetail]
    layers: list[ImageLayerDetail]


def _asked(reference: str) -> Optional[str]:
    """The reference a lookup by `reference` reports: as written, unless it is a digest."""
    return None if reference.startswith("sha256:") else reference


def _detail(ctx: Any, d: dict[str, Any], reference: Optional[str] = None) -> ImageDetail:
    labels = {}
    for kv in d.get("labels") or []:
        k, _, v = kv.partition("=")
        labels[k] = v
    config = ImageConfigDetail(d.get("config_digest"), list(d.get("env") or []), d.get("cmd"), d.get("entrypoint"),
                               d.get("working_dir"), d.get("user"), labels, d.get("stop_signal"))
    layers = [ImageLayerDetail(diff_id, blob, media, comp or None, unpacked or None, pos)
              for diff_id, blob, media, comp, unpacked, pos in d.get("layers") or []]
    return ImageDetail(ImageHandle(ctx, d, reference), config, layers)


class Image:
    """Image sources (``Image.oci`` …) and the local image cache."""

    @staticmethod
    def oci(reference: str, *, root_disk: Union[RootDiskConfig, int, None] = None,
            upper_size_mib: Optional[int] = None) -> ImageSource:
        """An OCI image. ``upper_size_mib`` (legacy) = ``RootDisk.managed(n)``; an int
        ``root_disk`` is a managed size in MiB."""
        _str(reference, "reference")
        if root_disk is not None and upper_size_mib is not None:
            raise ValueError("pass root_disk= or upper_size_mib=, not both")
        if upper_size_mib is not None:
            root_disk = RootDisk.managed(_int(upper_size_mib, "upper_size_mib", minimum=1))
        elif isinstance(root_disk, int) and not isinstance(root_disk, bool):
            root_disk = RootDisk.managed(root_disk)
        return ImageSource(ImageSourceKind.OCI, reference=reference, root_disk=root_disk)

    @staticmethod
    def bind(path: Union[str, os.PathLike[str]]) -> ImageSource:
        """A host directory as the root."""
        return ImageSource(ImageSourceKind.BIND, path=os.fspath(path))

    @staticmethod
    def disk(path: Union[str, os.PathLike[str]], *, fstype: Optional[str] = None) -> ImageSource:
        """A disk image as the root (format from the extension)."""
        p = os.fspath(path)
        ext = os.path.splitext(p)[1].lstrip(".").lower()
        fmt = _enum(DiskImageFormat, ext, "disk image format") if ext else None
        return ImageSource(ImageSourceKind.DISK, path=p, format=fmt, fstype=fstype)

    @staticmethod
    async def get(reference: str) -> ImageHandle:
        """A cached image (ImageNotFoundError if absent)."""
        ctx = await _runtime.context()
        d = await _runtime.run(ctx.image_get, _str(reference, "reference"))
        return ImageHandle(ctx, d, _asked(reference))

    @staticmethod
    async def list() -> list[ImageHandle]:
        """All cached images."""
        ctx = await _runtime.context()
        return [ImageHandle(ctx, d) for d in await _runtime.run(ctx.image_list)]

    @staticmethod
    async def inspect(reference: str) -> ImageDetail:
        """Config and layers of a cached image."""
        ctx = await _runtime.context()
        return _detail(ctx, await _runtime.run(ctx.image_get, _str(reference, "reference")), _asked(reference))

    @staticmethod
    async def remove(reference: str, *, force: bool = False) -> None:
        """Removes a cached image (ImageInUseError while a sandbox uses it, unless forced)."""
        ctx = await _runtime.context()
        await _runtime.run(ctx.image_remove, _str(reference, "reference"), bool(force))

    @staticmethod
    async def prune() -> ImagePruneReport:
        """Removes images no sandbox uses and dangling artifacts."""
        ctx = await _runtime.context()
        d = await _runtime.run(ctx.image_prune)
        return ImagePruneReport(d["image_refs_removed"], d["manifests_removed"], d["layers_removed"],
                                d["fsmeta_removed"], d["vmdk_removed"],
                                None if d["bytes_reclaimed"] < 0 else d["bytes_reclaimed"])

    @staticmethod
    async def load(input_path: Union[str, os.PathLike[str]], *, tag: Optional[str] = None) -> list[ImageHandle]:
        """Imports a docker-save or OCI archive (or OCI layout directory)."""
        ctx = await _runtime.context()
        refs = await _runtime.run(ctx.image_load, os.fspath(input_path), tag)
        return [ImageHandle(ctx, await _runtime.run(ctx.image_get, r), familiar(r)) for r in refs or []]

    @staticmethod
    async def save(reference: Union[str, Sequence[str]], *, output_path: Union[str, os.PathLike[str]],
                   format: Union[ImageArchiveFormat, str] = ImageArchiveFormat.DOCKER) -> None:
        """Exports images into one archive."""
        refs = [reference] if isinstance(reference, str) else list(reference)
        fmt = _enum(ImageArchiveFormat, format, "format")
        ctx = await _runtime.context()
        await _runtime.run(ctx.image_save, refs, os.fspath(output_path), fmt.value)
