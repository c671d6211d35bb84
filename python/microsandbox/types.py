"""Enums and configuration value types of the microsandbox package (pure Python).

Every enum is a :class:`enum.StrEnum`: members compare equal to their string values and the
SDK always returns members (``entry.source is LogSource.STDOUT``). Where an argument is
documented as ``str | SomeEnum``, a plain string equal to a member value is accepted; any
other value raises ``TypeError`` naming the enum class.

Configuration types are frozen, slotted dataclasses; the factories (``Patch.text``,
``Rlimit.nofile``, ``Stdin.pipe`` …) are the usual way to make them.
"""

from __future__ import annotations

import builtins
import enum
import ipaddress
import math
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, TypedDict, TypeVar, Union

if sys.version_info >= (3, 11):
    StrEnum = enum.StrEnum
else:  # pragma: no cover - Python 3.10 backport

    class StrEnum(str, enum.Enum):
        """``str`` enum whose ``str()`` is its value (backport of Python 3.11's)."""

        def __str__(self) -> str:
            return str(self.value)


__all__ = [
    # enums
    "StrEnum", "SandboxStatus", "PullPolicy", "LogLevel", "LogSource", "LogReadSource",
    "ExecEventType", "PullEventType", "StdinMode", "RlimitResource", "PatchKind", "FsEntryKind",
    "ImageSourceKind", "RootDiskKind", "FlatClone", "DiskImageFormat", "ImageArchiveFormat",
    "MountKind", "VolumeKind", "NamedVolumeMode", "StatVirtualization", "HostPermissions",
    "Action", "Direction", "Protocol", "PortProtocol", "DestGroup", "NetworkProfile",
    "NetworkDestinationKind", "VsockSocketType", "ViolationAction", "SecurityProfile",
    "DeploymentProfile", "CpuPlacement", "BackendKind", "ModificationPolicy", "PlannedChangeKind",
    "ChangeKind", "SecretChangeKind", "ModificationDisposition", "ResourceKind",
    "ResourceConvergenceState", "SnapshotStateKind", "SnapshotFormat", "SnapshotScope",
    # sizes
    "MiB", "GiB", "Size",
    # exec
    "Rlimit", "Stdin", "ExitStatus", "ExecOptions", "ExecEvent", "PullEvent",
    # create
    "InitConfig", "InitOptions", "RegistryAuth", "PatchConfig", "Patch", "ImageSource",
    "RootDiskConfig", "RootDisk", "MountConfig",
    # network and secrets
    "Network", "NetworkPolicy", "Rule", "NetworkDestination", "Destination", "PortBinding",
    "DnsConfig", "TlsConfig", "ScopedUpstreamCACert", "ScopedVerifyUpstream",
    "NetworkRateLimiter", "RateLimiter", "TokenBucket", "VsockRoute", "SecretEntry", "Secret",
    "SecretInjection", "ViolationPolicy",
    # results
    "SandboxMetrics", "SandboxPingResult", "SandboxTouchResult", "SandboxStopResult",
    "LogEntry", "FsEntry", "FsMetadata", "BackendInfo", "SandboxModificationPlan",
]

# ----------------------------------------------------------------------------------------
# enums


class SandboxStatus(StrEnum):
    """Lifecycle status of a sandbox."""

    CREATED = "created"
    STARTING = "starting"
    RUNNING = "running"
    STOPPED = "stopped"
    CRASHED = "crashed"
    DRAINING = "draining"
    PAUSED = "paused"


class PullPolicy(StrEnum):
    """When ``create`` fetches the image from its registry."""

    ALWAYS = "always"
    IF_MISSING = "if-missing"
    NEVER = "never"


class LogLevel(StrEnum):
    """Runtime log verbosity."""

    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class LogSource(StrEnum):
    """Where a log entry came from."""

    STDOUT = "stdout"
    STDERR = "stderr"
    OUTPUT = "output"
    SYSTEM = "system"


class LogReadSource(StrEnum):
    """Sources accepted by ``logs(sources=…)``: the :class:`LogSource` values plus ``all``."""

    STDOUT = "stdout"
    STDERR = "stderr"
    OUTPUT = "output"
    SYSTEM = "system"
    ALL = "all"


class ExecEventType(StrEnum):
    """Kind of an :class:`ExecEvent`."""

    STARTED = "started"
    STDOUT = "stdout"
    STDERR = "stderr"
    EXITED = "exited"
    FAILED = "failed"
    STDIN_ERROR = "stdin_error"


class PullEventType(StrEnum):
    """Kind of a :class:`PullEvent`."""

    RESOLVING = "resolving"
    RESOLVED = "resolved"
    LAYER_DOWNLOAD_PROGRESS = "layer_download_progress"
    LAYER_DOWNLOAD_COMPLETE = "layer_download_complete"
    LAYER_DOWNLOAD_VERIFYING = "layer_download_verifying"
    LAYER_MATERIALIZE_STARTED = "layer_materialize_started"
    LAYER_MATERIALIZE_PROGRESS = "layer_materialize_progress"
    LAYER_MATERIALIZE_WRITING = "layer_materialize_writing"
    LAYER_MATERIALIZE_COMPLETE = "layer_materialize_complete"
    STITCH_MERGING_TREES = "stitch_merging_trees"
    STITCH_WRITING_FSMETA = "stitch_writing_fsmeta"
    STITCH_WRITING_VMDK = "stitch_writing_vmdk"
    STITCH_COMPLETE = "stitch_complete"
    COMPLETE = "complete"


class StdinMode(StrEnum):
    """How a command's stdin is fed."""

    NULL = "null"
    PIPE = "pipe"
    BYTES = "bytes"


class RlimitResource(StrEnum):
    """POSIX resource limits."""

    CPU = "cpu"
    FSIZE = "fsize"
    DATA = "data"
    STACK = "stack"
    CORE = "core"
    RSS = "rss"
    NPROC = "nproc"
    NOFILE = "nofile"
    MEMLOCK = "memlock"
    AS = "as"
    LOCKS = "locks"
    SIGPENDING = "sigpending"
    MSGQUEUE = "msgqueue"
    NICE = "nice"
    RTPRIO = "rtprio"
    RTTIME = "rttime"


class PatchKind(StrEnum):
    """Kind of a rootfs patch."""

    TEXT = "text"
    FILE = "file"
    MKDIR = "mkdir"
    APPEND = "append"
    COPY_FILE = "copy_file"
    COPY_DIR = "copy_dir"
    SYMLINK = "symlink"
    REMOVE = "remove"


class FsEntryKind(StrEnum):
    """Kind of a guest filesystem entry."""

    FILE = "file"
    DIRECTORY = "directory"
    SYMLINK = "symlink"
    OTHER = "other"


class ImageSourceKind(StrEnum):
    OCI = "oci"
    BIND = "bind"
    DISK = "disk"


class RootDiskKind(StrEnum):
    MANAGED = "managed"
    TMPFS = "tmpfs"
    DISK_IMAGE = "disk-image"
    FLAT = "flat"


class FlatClone(StrEnum):
    AUTO = "auto"
    COPY = "copy"
    REFLINK = "reflink"


class DiskImageFormat(StrEnum):
    QCOW2 = "qcow2"
    RAW = "raw"
    VMDK = "vmdk"


class ImageArchiveFormat(StrEnum):
    DOCKER = "docker"
    OCI = "oci"


class MountKind(StrEnum):
    BIND = "bind"
    NAMED = "named"
    TMPFS = "tmpfs"
    DISK = "disk"


class VolumeKind(StrEnum):
    DIRECTORY = "dir"
    DISK = "disk"


class NamedVolumeMode(StrEnum):
    EXISTING = "existing"
    CREATE = "create"
    ENSURE_EXISTS = "ensure-exists"


class StatVirtualization(StrEnum):
    STRICT = "strict"
    RELAXED = "relaxed"
    OFF = "off"


class HostPermissions(StrEnum):
    PRIVATE = "private"
    MIRROR = "mirror"


class Action(StrEnum):
    ALLOW = "allow"
    DENY = "deny"


class Direction(StrEnum):
    EGRESS = "egress"
    INGRESS = "ingress"
    ANY = "any"


class Protocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"
    ICMPV4 = "icmpv4"
    ICMPV6 = "icmpv6"


class PortProtocol(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class DestGroup(StrEnum):
    PUBLIC = "public"
    LOOPBACK = "loopback"
    PRIVATE = "private"
    LINK_LOCAL = "link-local"
    METADATA = "metadata"
    MULTICAST = "multicast"
    HOST = "host"


class NetworkProfile(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    HOST = "host"


class NetworkDestinationKind(StrEnum):
    ANY = "any"
    IP = "ip"
    CIDR = "cidr"
    DOMAIN = "domain"
    DOMAIN_SUFFIX = "domain_suffix"
    GROUP = "group"


class VsockSocketType(StrEnum):
    STREAM = "stream"
    DGRAM = "dgram"


class ViolationAction(StrEnum):
    BLOCK = "block"
    BLOCK_AND_LOG = "block-and-log"
    BLOCK_AND_TERMINATE = "block-and-terminate"
    PASSTHROUGH = "passthrough"


class SecurityProfile(StrEnum):
    DEFAULT = "default"
    RESTRICTED = "restricted"


class DeploymentProfile(StrEnum):
    SINGLE_TENANT = "single-tenant"
    MULTI_TENANT = "multi-tenant"


class CpuPlacement(StrEnum):
    INHERIT = "inherit"
    AUTO = "auto"
    SPREAD = "spread"
    COMPACT = "compact"


class BackendKind(StrEnum):
    LOCAL = "local"
    CLOUD = "cloud"


class ModificationPolicy(StrEnum):
    NO_RESTART = "no_restart"
    NEXT_START = "next_start"
    RESTART = "restart"


class PlannedChangeKind(StrEnum):
    CONFIG = "config"
    SECRET = "secret"


class ChangeKind(StrEnum):
    ADDED = "added"
    UPDATED = "updated"
    REMOVED = "removed"


class SecretChangeKind(StrEnum):
    ADDED = "added"
    ROTATED = "rotated"
    REMOVED = "removed"
    RENAMED = "renamed"
    HOSTS_UPDATED = "hosts updated"
    PLACEHOLDER_UPDATED = "placeholder updated"


class ModificationDisposition(StrEnum):
    LIVE = "live"
    NEXT_START = "next start"
    REQUIRES_RESTART = "requires restart"
    UNSUPPORTED = "unsupported"


class ResourceKind(StrEnum):
    CPUS = "cpus"
    MEMORY = "memory"


class ResourceConvergenceState(StrEnum):
    ACCEPTED = "accepted"
    CONVERGING = "converging"
    APPLIED = "applied"
    GUEST_REFUSED = "guest-refused"
    FAILED = "failed"


class SnapshotStateKind(StrEnum):
    FILE = "file"
    CHECKPOINT = "checkpoint"


class SnapshotFormat(StrEnum):
    RAW = "raw"
    QCOW2 = "qcow2"


class SnapshotScope(StrEnum):
    DISK = "disk"
    RESUMABLE = "resumable"


# ----------------------------------------------------------------------------------------
# validation helpers (shared with the rest of the package)

E = TypeVar("E", bound=enum.Enum)


def _enum(cls: type[E], value: Any, label: str) -> E:
    """A member of ``cls`` from a member or its value; anything else → TypeError naming
    ``cls``."""
    if isinstance(value, cls):
        return value
    if isinstance(value, str):
        try:
            return cls(value)
        except ValueError:
            pass
        # Spelling variants other SDK versions accept: "if_missing", "IF_MISSING".
        for candidate in (value.replace("_", "-"), value.replace("-", "_"), value.lower()):
            if candidate in cls._value2member_map_:
                return cls._value2member_map_[candidate]  # type: ignore[return-value]
        member = cls.__members__.get(value.upper().replace("-", "_"))
        if member is not None:
            return member
    choices = ", ".join(repr(m.value) for m in cls)  # type: ignore[attr-defined]
    raise TypeError(f"{label} must be a {cls.__name__} (one of {choices}), got {value!r}")


def _str(value: Any, label: str, *, optional: bool = False) -> Optional[str]:
    if value is None and optional:
        return None
    if not isinstance(value, str):
        raise TypeError(f"{label} must be a str, got {type(value).__name__}")
    return value


def _int(value: Any, label: str, *, optional: bool = False, minimum: int | None = None) -> Optional[int]:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label} must be an int, got {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{label} must be at least {minimum}")
    return value


def _bool(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{label} must be a bool, got {type(value).__name__}")
    return value


def _duration(value: Any, label: str, *, optional: bool = True) -> Optional[float]:
    """Seconds: a finite, non-negative number (API.md §0)."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{label} must be a number of seconds, got {type(value).__name__}")
    if math.isnan(value) or value < 0:
        raise ValueError(f"{label} must be non-negative")
    if math.isinf(value):
        raise ValueError(f"{label} must be finite")
    return float(value)


def _str_mapping(value: Any, label: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{label} must be a Mapping")
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str) or not isinstance(v, str):
            raise TypeError(f"{label} keys and values must be str")
        out[k] = v
    return out


def _str_tuple(value: Any, label: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{label} must be a sequence of str")
    if not all(isinstance(v, str) for v in value):
        raise TypeError(f"{label} must be a sequence of str")
    return tuple(value)


def _set(obj: Any, name: str, value: Any) -> None:
    object.__setattr__(obj, name, value)


# ----------------------------------------------------------------------------------------
# sizes

MiB: int = 1048576
GiB: int = 1073741824


@dataclass(frozen=True, slots=True)
class Size:
    """A size in bytes, with MiB/GiB helpers."""

    bytes: int

    @staticmethod
    def mib(n: int) -> "Size":
        return Size(int(n) * MiB)

    @staticmethod
    def gib(n: int) -> "Size":
        return Size(int(n) * GiB)

    @property
    def mib_count(self) -> int:
        """The size in whole MiB (rounded up)."""
        return -(-self.bytes // MiB)


# ----------------------------------------------------------------------------------------
# exec


@dataclass(frozen=True, slots=True)
class Rlimit:
    """A per-process POSIX resource limit for ``exec(rlimits=[…])``."""

    resource: RlimitResource
    soft: int
    hard: int

    def __post_init__(self) -> None:
        if isinstance(self.resource, RlimitResource):
            res = self.resource
        elif isinstance(self.resource, str):
            try:
                res = RlimitResource(self.resource)
            except ValueError:
                raise ValueError(f"unknown rlimit resource: {self.resource!r}") from None
        else:
            raise TypeError(f"rlimit resource must be an RlimitResource, got {type(self.resource).__name__}")
        _set(self, "resource", res)
        _int(self.soft, "rlimit soft", minimum=0)
        _int(self.hard, "rlimit hard", minimum=0)
        if self.soft > self.hard:
            raise ValueError("rlimit soft limit must not exceed the hard limit")

    @staticmethod
    def nofile(n: int) -> "Rlimit":
        """Open files (soft = hard = n)."""
        return Rlimit(RlimitResource.NOFILE, n, n)

    @staticmethod
    def cpu(secs: int) -> "Rlimit":
        """CPU seconds (soft = hard = secs)."""
        return Rlimit(RlimitResource.CPU, secs, secs)

    @staticmethod
    def as_(*, soft: int, hard: int) -> "Rlimit":
        """Address-space bytes."""
        return Rlimit(RlimitResource.AS, soft, hard)

    @staticmethod
    def nproc(n: int) -> "Rlimit":
        """Processes of the user (soft = hard = n)."""
        return Rlimit(RlimitResource.NPROC, n, n)

    @staticmethod
    def fsize(n: int) -> "Rlimit":
        """Largest file size in bytes (soft = hard = n)."""
        return Rlimit(RlimitResource.FSIZE, n, n)

    @staticmethod
    def memlock(n: int) -> "Rlimit":
        """Locked-memory bytes (soft = hard = n)."""
        return Rlimit(RlimitResource.MEMLOCK, n, n)

    @staticmethod
    def stack(n: int) -> "Rlimit":
        """Stack bytes (soft = hard = n)."""
        return Rlimit(RlimitResource.STACK, n, n)


@dataclass(frozen=True, slots=True)
class Stdin:
    """Where a command's stdin comes from: :meth:`null` (EOF at once, the default),
    :meth:`pipe` (write it through ``ExecHandle.take_stdin()``) or :meth:`bytes` (this data,
    then EOF)."""

    _mode: StdinMode = StdinMode.NULL
    _data: Optional[builtins.bytes] = None

    def __post_init__(self) -> None:
        _set(self, "_mode", _enum(StdinMode, self._mode, "stdin mode"))
        if self._data is not None:
            if not isinstance(self._data, (builtins.bytes, bytearray, memoryview)):
                raise TypeError(f"stdin data must be bytes, got {type(self._data).__name__}")
            _set(self, "_data", builtins.bytes(self._data))

    @staticmethod
    def null() -> "Stdin":
        """Stdin at EOF from the start."""
        return Stdin(StdinMode.NULL)

    @staticmethod
    def pipe() -> "Stdin":
        """Stdin written by the caller through :meth:`ExecHandle.take_stdin`."""
        return Stdin(StdinMode.PIPE)

    @staticmethod
    def bytes(data: builtins.bytes) -> "Stdin":
        """``data`` on stdin, then EOF."""
        if not isinstance(data, (builtins.bytes, bytearray, memoryview)):
            raise TypeError(f"Stdin.bytes() takes bytes, got {type(data).__name__}")
        return Stdin(StdinMode.BYTES, builtins.bytes(data))

    @property
    def mode(self) -> StdinMode:
        return self._mode

    @property
    def data(self) -> Optional[builtins.bytes]:
        return self._data


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """Exit status of a process."""

    code: int
    success: bool


class ExecOptions(TypedDict, total=False):
    """The legacy options dict (second positional argument of ``exec``)."""

    args: list[str]
    cwd: str
    user: str
    env: Mapping[str, str]
    timeout: float
    stdin: Union[Stdin, builtins.bytes, None]
    stdin_data: builtins.bytes
    tty: bool
    rlimits: list[Rlimit]


@dataclass(frozen=True, slots=True)
class ExecEvent:
    """One event of an exec stream: STARTED (``pid``), STDOUT/STDERR (``data``), then exactly
    one EXITED (``code``) or FAILED (``data`` = UTF-8 message, ``code`` = errno if known);
    STDIN_ERROR may appear in between."""

    event_type: ExecEventType
    pid: Optional[int] = None
    data: Optional[builtins.bytes] = None
    code: Optional[int] = None

    @property
    def text(self) -> str:
        """``data`` decoded as UTF-8 (lossy), "" when there is none."""
        return (self.data or b"").decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class PullEvent:
    """One image pull progress event; fields that do not apply to ``event_type`` are None."""

    event_type: PullEventType
    reference: Optional[str] = None
    manifest_digest: Optional[str] = None
    layer_count: Optional[int] = None
    total_download_bytes: Optional[int] = None
    layer_index: Optional[int] = None
    digest: Optional[str] = None
    diff_id: Optional[str] = None
    downloaded_bytes: Optional[int] = None
    total_bytes: Optional[int] = None
    bytes_read: Optional[int] = None


# ----------------------------------------------------------------------------------------
# create options


@dataclass(frozen=True, slots=True)
class InitConfig:
    """A guest init binary that takes over PID 1 after the agent's setup.

    ``cmd`` is an absolute guest path or ``"auto"``; ``args`` is argv after argv[0] (which is
    ``cmd``); ``env`` is merged over the inherited environment."""

    cmd: str
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _str(self.cmd, "init cmd")
        if not self.cmd:
            raise ValueError("init cmd must not be empty")
        if self.cmd != "auto" and not self.cmd.startswith("/"):
            raise ValueError("init cmd must be an absolute path or 'auto'")
        _set(self, "args", _str_tuple(self.args, "init args"))
        _set(self, "env", _str_mapping(self.env, "init env"))


class InitOptions(TypedDict, total=False):
    """Dict form of :class:`InitConfig` (``cmd`` required)."""

    cmd: str
    args: Sequence[str]
    env: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class RegistryAuth:
    """Credentials for a private registry (never stored with the sandbox config)."""

    username: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        _str(self.username, "registry username")
        _str(self.password, "registry password")

    @classmethod
    def basic(cls, username: str, password: str) -> "RegistryAuth":
        return cls(username, password)


@dataclass(frozen=True, slots=True)
class PatchConfig:
    """One rootfs edit applied before boot (made by the :class:`Patch` factories)."""

    kind: PatchKind
    path: Optional[str] = None
    content: Union[str, builtins.bytes, None] = None
    src: Optional[str] = None
    dst: Optional[str] = None
    target: Optional[str] = None
    link: Optional[str] = None
    mode: Optional[int] = None
    replace: bool = False

    def __post_init__(self) -> None:
        _set(self, "kind", _enum(PatchKind, self.kind, "patch kind"))
        for name in ("path", "dst", "link"):
            v = getattr(self, name)
            if v is not None:
                _str(v, f"patch {name}")
                if not v.startswith("/"):
                    raise ValueError(f"patch {name} must be an absolute guest path: {v!r}")
        _int(self.mode, "patch mode", optional=True, minimum=0)
        _bool(self.replace, "patch replace")


def _host_path(p: Any, label: str) -> str:
    if isinstance(p, os.PathLike):
        p = os.fspath(p)
    if not isinstance(p, str):
        raise TypeError(f"{label} must be a str or path, got {type(p).__name__}")
    return p


class Patch:
    """Factories of :class:`PatchConfig` for ``Sandbox.create(patches=[…])``.

    Patches apply in order to the writable root before boot. Writing to a path the image
    already has fails at boot unless ``replace=True``; ``mkdir`` and ``remove`` are
    idempotent."""

    @staticmethod
    def text(path: str, content: str, *, mode: int | None = None, replace: bool = False) -> PatchConfig:
        """Write UTF-8 ``content`` at ``path``."""
        _str(content, "patch content")
        return PatchConfig(PatchKind.TEXT, path=path, content=content, mode=mode, replace=replace)

    @staticmethod
    def file(path: str, content: builtins.bytes, *, mode: int | None = None, replace: bool = False) -> PatchConfig:
        """Write raw bytes at ``path``."""
        if not isinstance(content, (builtins.bytes, bytearray)):
            raise TypeError("patch content must be bytes")
        return PatchConfig(PatchKind.FILE, path=path, content=builtins.bytes(content), mode=mode, replace=replace)

    @staticmethod
    def append(path: str, content: str) -> PatchConfig:
        """Append ``content`` to the file at ``path`` (copied up from a lower layer first)."""
        _str(content, "patch content")
        return PatchConfig(PatchKind.APPEND, path=path, content=content)

    @staticmethod
    def mkdir(path: str, *, mode: int | None = None) -> PatchConfig:
        """Create a directory (no-op if it exists)."""
        return PatchConfig(PatchKind.MKDIR, path=path, mode=mode)

    @staticmethod
    def remove(path: str) -> PatchConfig:
        """Delete a file or directory (no-op if absent)."""
        return PatchConfig(PatchKind.REMOVE, path=path)

    @staticmethod
    def copy_file(src: str, dst: str, *, mode: int | None = None, replace: bool = False) -> PatchConfig:
        """Copy the host file ``src`` to guest path ``dst``."""
        return PatchConfig(PatchKind.COPY_FILE, src=_host_path(src, "patch src"), dst=dst, mode=mode, replace=replace)

    @staticmethod
    def copy_dir(src: str, dst: str, *, replace: bool = False) -> PatchConfig:
        """Copy the host directory ``src`` recursively to guest path ``dst``."""
        return PatchConfig(PatchKind.COPY_DIR, src=_host_path(src, "patch src"), dst=dst, replace=replace)

    @staticmethod
    def symlink(target: str, link: str, *, replace: bool = False) -> PatchConfig:
        """Create the symlink ``link`` → ``target`` (literal target text)."""
        _str(target, "patch target")
        return PatchConfig(PatchKind.SYMLINK, target=target, link=link, replace=replace)


@dataclass(frozen=True, slots=True)
class RootDiskConfig:
    """The writable upper layer of an OCI root."""

    kind: RootDiskKind = RootDiskKind.MANAGED
    size_mib: Optional[int] = None
    path: Optional[str] = None
    format: Optional[DiskImageFormat] = None
    fstype: Optional[str] = None
    clone: Optional[FlatClone] = None

    def __post_init__(self) -> None:
        _set(self, "kind", _enum(RootDiskKind, self.kind, "root disk kind"))
        _int(self.size_mib, "root disk size_mib", optional=True, minimum=1)
        if self.format is not None:
            _set(self, "format", _enum(DiskImageFormat, self.format, "root disk format"))
        if self.clone is not None:
            _set(self, "clone", _enum(FlatClone, self.clone, "root disk clone"))


class RootDisk:
    """Factories of :class:`RootDiskConfig`."""

    @staticmethod
    def managed(size_mib: int | None = None) -> RootDiskConfig:
        """Sparse ext4 upper (default 4096 MiB)."""
        return RootDiskConfig(RootDiskKind.MANAGED, size_mib=size_mib)

    @staticmethod
    def tmpfs(size_mib: int | None = None) -> RootDiskConfig:
        """RAM upper, pristine at every boot (default half the memory)."""
        return RootDiskConfig(RootDiskKind.TMPFS, size_mib=size_mib)

    @staticmethod
    def disk(path: str, *, format: DiskImageFormat | str | None = None, fstype: str | None = None) -> RootDiskConfig:
        """A host disk image as the upper."""
        return RootDiskConfig(RootDiskKind.DISK_IMAGE, path=_host_path(path, "root disk path"), format=format, fstype=fstype)

    @staticmethod
    def flat(size_mib: int | None = None, *, fstype: str | None = None, clone: FlatClone | str = FlatClone.AUTO) -> RootDiskConfig:
        """A flattened single-disk root."""
        return RootDiskConfig(RootDiskKind.FLAT, size_mib=size_mib, fstype=fstype, clone=clone)


@dataclass(frozen=True, slots=True)
class ImageSource:
    """Where a sandbox's root comes from (see ``Image.oci`` / ``Image.bind`` / ``Image.disk``)."""

    kind: ImageSourceKind
    reference: Optional[str] = None
    path: Optional[str] = None
    root_disk: Optional[RootDiskConfig] = None
    format: Optional[DiskImageFormat] = None
    fstype: Optional[str] = None

    def __post_init__(self) -> None:
        _set(self, "kind", _enum(ImageSourceKind, self.kind, "image source kind"))
        if self.kind is ImageSourceKind.OCI:
            _str(self.reference, "image reference")
            if not self.reference:
                raise ValueError("image reference must not be empty")
        elif self.path is None:
            raise ValueError(f"a {self.kind.value} image source needs a path")
        if self.root_disk is not None:
            if self.kind is not ImageSourceKind.OCI:
                raise ValueError("root_disk is only valid for OCI images")
            if not isinstance(self.root_disk, RootDiskConfig):
                raise TypeError(f"root_disk must be RootDiskConfig, got {type(self.root_disk).__name__}")
        if self.format is not None:
            _set(self, "format", _enum(DiskImageFormat, self.format, "disk image format"))


@dataclass(frozen=True, slots=True)
class MountConfig:
    """A volume mount (made by ``Volume.bind`` / ``named`` / ``tmpfs`` / ``disk``)."""

    kind: MountKind
    bind: Optional[str] = None
    named: Optional[str] = None
    named_mode: Optional[NamedVolumeMode] = None
    named_kind: Optional[VolumeKind] = None
    quota_mib: Optional[int] = None
    size_mib: Optional[int] = None
    readonly: bool = False
    noexec: bool = False
    nosuid: bool = False
    nodev: bool = False
    disk: Optional[str] = None
    format: Optional[DiskImageFormat] = None
    fstype: Optional[str] = None
    stat_virtualization: Optional[StatVirtualization] = None
    host_permissions: Optional[HostPermissions] = None

    def __post_init__(self) -> None:
        _set(self, "kind", _enum(MountKind, self.kind, "mount kind"))
        for flag in ("readonly", "noexec", "nosuid", "nodev"):
            _bool(getattr(self, flag), flag)
        if self.named_mode is not None:
            _set(self, "named_mode", _enum(NamedVolumeMode, self.named_mode, "named_mode"))
        if self.named_kind is not None:
            _set(self, "named_kind", _enum(VolumeKind, self.named_kind, "named volume kind"))
        if self.format is not None:
            _set(self, "format", _enum(DiskImageFormat, self.format, "disk format"))
        _int(self.quota_mib, "quota_mib", optional=True, minimum=1)
        _int(self.size_mib, "size_mib", optional=True, minimum=1)
        for name, cls in (("stat_virtualization", StatVirtualization), ("host_permissions", HostPermissions)):
            v = getattr(self, name)
            if v is None:
                continue
            if self.kind not in (MountKind.BIND, MountKind.NAMED):
                raise ValueError(f"{name} is only valid for bind and named mounts")
            _set(self, name, _enum(cls, v, name))


# ----------------------------------------------------------------------------------------
# network

_DOMAIN = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$")


@dataclass(frozen=True, slots=True)
class NetworkDestination:
    """Where a rule applies (made by :class:`Destination`)."""

    kind: NetworkDestinationKind
    value: Optional[str] = None

    def __post_init__(self) -> None:
        kind = _enum(NetworkDestinationKind, self.kind, "destination kind")
        _set(self, "kind", kind)
        v = self.value
        if kind is NetworkDestinationKind.ANY:
            return
        if kind is NetworkDestinationKind.GROUP:
            _set(self, "value", _dest_group(v).value)
            return
        _str(v, "destination")
        try:
            if kind is NetworkDestinationKind.IP:
                ipaddress.ip_address(_unbracket(v))
            elif kind is NetworkDestinationKind.CIDR:
                _cidr(v)
            elif not _DOMAIN.match(v.lstrip("*.") if kind is NetworkDestinationKind.DOMAIN_SUFFIX else v):
                raise ValueError(v)
        except ValueError:
            raise ValueError(f"invalid {kind.value} destination: {v!r}") from None


def _unbracket(v: str) -> str:
    """``[fd00::1]`` → ``fd00::1`` (the bracketed IPv6 spelling the CLI grammar accepts)."""
    return v[1:-1] if v.startswith("[") and v.endswith("]") else v


def _cidr(v: str) -> Union[ipaddress.IPv4Network, ipaddress.IPv6Network]:
    """A CIDR in prefix form (``10.0.0.0/8``, ``[fd00::]/8``); host bits may be set. Netmask
    spellings (``/255.0.0.0``) are refused: the stored config has prefix lengths only."""
    addr, slash, bits = v.partition("/")
    if slash and not bits.isdigit():
        raise ValueError(v)
    return ipaddress.ip_network(_unbracket(addr) + slash + bits, strict=False)


def _dest_group(value: Any) -> DestGroup:
    """A destination group from a member or its name (``link-local`` or ``link_local``);
    an unknown name is an invalid destination → ValueError (API.md §1.15)."""
    if isinstance(value, DestGroup):
        return value
    if not isinstance(value, str):
        raise TypeError(f"destination group must be a DestGroup or str, got {type(value).__name__}")
    try:
        return _enum(DestGroup, value, "destination group")
    except TypeError as e:
        raise ValueError(str(e)) from None


class Destination:
    """Factories of :class:`NetworkDestination`."""

    @staticmethod
    def any() -> NetworkDestination:
        return NetworkDestination(NetworkDestinationKind.ANY)

    @staticmethod
    def ip(ip: str) -> NetworkDestination:
        return NetworkDestination(NetworkDestinationKind.IP, ip)

    @staticmethod
    def cidr(cidr: str) -> NetworkDestination:
        return NetworkDestination(NetworkDestinationKind.CIDR, cidr)

    @staticmethod
    def domain(name: str) -> NetworkDestination:
        return NetworkDestination(NetworkDestinationKind.DOMAIN, name)

    @staticmethod
    def domain_suffix(suffix: str) -> NetworkDestination:
        return NetworkDestination(NetworkDestinationKind.DOMAIN_SUFFIX, suffix)

    @staticmethod
    def group(group: DestGroup | str) -> NetworkDestination:
        """Unknown group names raise ``ValueError`` naming :class:`DestGroup`."""
        return NetworkDestination(NetworkDestinationKind.GROUP, _dest_group(group).value)


def _destination(value: Any) -> Optional[NetworkDestination]:
    """A rule destination from None, a NetworkDestination or a string (IP, CIDR, group name,
    ``*.suffix`` or domain)."""
    if value is None or isinstance(value, NetworkDestination):
        return value
    if not isinstance(value, str):
        raise TypeError(f"destination must be a str or NetworkDestination, got {type(value).__name__}")
    if value in ("any", "*"):
        return Destination.any()
    if value.lower().replace("_", "-") in DestGroup._value2member_map_:
        return Destination.group(value)
    try:
        ipaddress.ip_address(_unbracket(value))
        return Destination.ip(value)
    except ValueError:
        pass
    if "/" in value:
        return Destination.cidr(value)
    if value.startswith("*.") or value.startswith("."):
        return Destination.domain_suffix(value.lstrip("*").lstrip("."))
    return Destination.domain(value)


def _port_spec(value: Any) -> Union[int, str, None]:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        if not 1 <= value <= 65535:
            raise ValueError(f"port must be between 1 and 65535, got {value}")
        return value
    if isinstance(value, str):
        m = re.fullmatch(r"(\d+)-(\d+)", value)
        if m and 1 <= int(m.group(1)) <= int(m.group(2)) <= 65535:
            return value
        if value.isdigit() and 1 <= int(value) <= 65535:
            return int(value)
    raise ValueError(f"invalid rule port: {value!r} (a port 1-65535 or a range 'lo-hi' with lo <= hi)")


@dataclass(frozen=True, slots=True)
class Rule:
    """One network policy rule; the first matching rule per direction wins."""

    action: Action
    direction: Direction = Direction.EGRESS
    destination: Union[NetworkDestination, str, None] = None
    protocol: Optional[Protocol] = None
    port: Union[int, str, None] = None

    def __post_init__(self) -> None:
        _set(self, "action", _enum(Action, self.action, "rule action"))
        _set(self, "direction", _enum(Direction, self.direction, "rule direction"))
        _set(self, "destination", _destination(self.destination))
        if self.protocol is not None:
            _set(self, "protocol", _enum(Protocol, self.protocol, "rule protocol"))
        _set(self, "port", _port_spec(self.port))

    @staticmethod
    def allow(*, direction: Direction | str = Direction.EGRESS, protocol: Protocol | str | None = None,
              port: int | str | None = None, destination: NetworkDestination | str | None = None) -> "Rule":
        return Rule(Action.ALLOW, direction, destination, protocol, port)

    @staticmethod
    def deny(*, direction: Direction | str = Direction.EGRESS, protocol: Protocol | str | None = None,
             port: int | str | None = None, destination: NetworkDestination | str | None = None) -> "Rule":
        return Rule(Action.DENY, direction, destination, protocol, port)

    @staticmethod
    def allow_dns() -> tuple["Rule", "Rule"]:
        """DNS (UDP and TCP 53) to the sandbox gateway."""
        host = Destination.group(DestGroup.HOST)
        return (Rule(Action.ALLOW, Direction.EGRESS, host, Protocol.UDP, 53),
                Rule(Action.ALLOW, Direction.EGRESS, host, Protocol.TCP, 53))

    @staticmethod
    def deny_dns() -> tuple["Rule", "Rule"]:
        host = Destination.group(DestGroup.HOST)
        return (Rule(Action.DENY, Direction.EGRESS, host, Protocol.UDP, 53),
                Rule(Action.DENY, Direction.EGRESS, host, Protocol.TCP, 53))


@dataclass(frozen=True, slots=True)
class NetworkPolicy:
    """Default actions per direction plus ordered rules."""

    default_egress: Action = Action.DENY
    default_ingress: Action = Action.ALLOW
    rules: tuple[Rule, ...] = ()

    def __post_init__(self) -> None:
        _set(self, "default_egress", _enum(Action, self.default_egress, "default_egress"))
        _set(self, "default_ingress", _enum(Action, self.default_ingress, "default_ingress"))
        rules = tuple(self.rules)
        for r in rules:
            if not isinstance(r, Rule):
                raise TypeError(f"rule must be Rule, got {type(r).__name__}")
        _set(self, "rules", rules)

    @staticmethod
    def none() -> "NetworkPolicy":
        """Deny everything in both directions."""
        return NetworkPolicy(Action.DENY, Action.DENY, ())

    @staticmethod
    def allow_all() -> "NetworkPolicy":
        return NetworkPolicy(Action.ALLOW, Action.ALLOW, ())

    @staticmethod
    def from_profiles(profiles: Sequence[NetworkProfile | str]) -> "NetworkPolicy":
        """DNS to the gateway plus one allow rule per profile group."""
        if isinstance(profiles, str):  # one profile, not its characters
            profiles = (profiles,)
        rules = list(Rule.allow_dns())
        for p in profiles:
            group = _enum(NetworkProfile, p, "network profile").value
            rules.append(Rule.allow(destination=Destination.group(group)))
        return NetworkPolicy(Action.DENY, Action.ALLOW, tuple(rules))


@dataclass(frozen=True, slots=True)
class PortBinding:
    """A published port: host listener → guest port."""

    host_port: int
    guest_port: int
    bind: str = "127.0.0.1"
    protocol: PortProtocol = PortProtocol.TCP

    def __post_init__(self) -> None:
        for name in ("host_port", "guest_port"):
            v = _int(getattr(self, name), name)
            if not 1 <= v <= 65535:
                raise ValueError(f"{name} must be between 1 and 65535, got {v}")
        _str(self.bind, "bind")
        try:
            ipaddress.ip_address(self.bind)
        except ValueError:
            raise ValueError(f"invalid bind address: {self.bind!r}") from None
        _set(self, "protocol", _enum(PortProtocol, self.protocol, "port protocol"))

    @staticmethod
    def tcp(host_port: int, guest_port: int, *, bind: str = "127.0.0.1") -> "PortBinding":
        return PortBinding(host_port, guest_port, bind, PortProtocol.TCP)

    @staticmethod
    def udp(host_port: int, guest_port: int, *, bind: str = "127.0.0.1") -> "PortBinding":
        return PortBinding(host_port, guest_port, bind, PortProtocol.UDP)


@dataclass(frozen=True, slots=True)
class DnsConfig:
    """The sandbox's resolver: rebind protection, upstream nameservers (``"IP"`` or
    ``"IP:PORT"``; none = the host's), per-query timeout (None = 5000 ms)."""

    rebind_protection: bool = True
    nameservers: tuple[str, ...] = ()
    query_timeout_ms: Optional[int] = None

    def __post_init__(self) -> None:
        _bool(self.rebind_protection, "dns rebind_protection")
        _set(self, "nameservers", _str_tuple(self.nameservers, "dns nameservers"))
        _int(self.query_timeout_ms, "dns query_timeout_ms", optional=True, minimum=0)


@dataclass(frozen=True, slots=True)
class ScopedUpstreamCACert:
    pattern: str
    path: str


@dataclass(frozen=True, slots=True)
class ScopedVerifyUpstream:
    pattern: str
    verify: bool


@dataclass(frozen=True, slots=True)
class TlsConfig:
    bypass: tuple[str, ...] = ()
    verify_upstream: bool = True
    intercepted_ports: tuple[int, ...] = (443,)
    block_quic: bool = False
    upstream_ca_certs: tuple[str, ...] = ()
    scoped_upstream_ca_certs: tuple[ScopedUpstreamCACert, ...] = ()
    scoped_verify_upstream: tuple[ScopedVerifyUpstream, ...] = ()
    ca_cert: Optional[str] = None
    ca_key: Optional[str] = None
    ca_cn: Optional[str] = None


@dataclass(frozen=True, slots=True)
class TokenBucket:
    size: int
    refill_time_ms: int
    one_time_burst: int = 0


@dataclass(frozen=True, slots=True)
class RateLimiter:
    bandwidth: Optional[TokenBucket] = None
    ops: Optional[TokenBucket] = None


@dataclass(frozen=True, slots=True)
class NetworkRateLimiter:
    egress: Optional[RateLimiter] = None
    ingress: Optional[RateLimiter] = None


@dataclass(frozen=True, slots=True)
class VsockRoute:
    host_socket: str
    port: int
    socket_type: VsockSocketType = VsockSocketType.STREAM

    def __post_init__(self) -> None:
        _set(self, "socket_type", _enum(VsockSocketType, self.socket_type, "socket_type"))

    @staticmethod
    def stream(host_socket: str, port: int) -> "VsockRoute":
        return VsockRoute(host_socket, port, VsockSocketType.STREAM)

    @staticmethod
    def dgram(host_socket: str, port: int) -> "VsockRoute":
        return VsockRoute(host_socket, port, VsockSocketType.DGRAM)


@dataclass(frozen=True, slots=True)
class Network:
    """Network policy and configuration of a sandbox (``policy=None`` = public-only)."""

    policy: Optional[NetworkPolicy] = None
    ports: Mapping[int, int] = field(default_factory=dict)
    deny_domains: tuple[str, ...] = ()
    deny_domain_suffixes: tuple[str, ...] = ()
    dns: Optional[DnsConfig] = None
    tls: Optional[TlsConfig] = None
    ipv4_pool: Optional[str] = None
    ipv6_pool: Optional[str] = None
    max_connections: Optional[int] = None
    rate_limiter: Optional[NetworkRateLimiter] = None
    on_secret_violation: ViolationAction = ViolationAction.BLOCK_AND_LOG

    def __post_init__(self) -> None:
        if self.policy is not None and not isinstance(self.policy, NetworkPolicy):
            raise TypeError(f"network policy must be NetworkPolicy, got {type(self.policy).__name__}")
        if not isinstance(self.ports, Mapping):
            raise TypeError("network ports must be a Mapping[int, int]")
        for h, g in self.ports.items():
            PortBinding(h, g)  # validates both ports
        if self.dns is not None and not isinstance(self.dns, DnsConfig):
            raise TypeError(f"network dns must be DnsConfig, got {type(self.dns).__name__}")
        if self.tls is not None and not isinstance(self.tls, TlsConfig):
            raise TypeError(f"network tls must be TlsConfig, got {type(self.tls).__name__}")
        if self.rate_limiter is not None and not isinstance(self.rate_limiter, NetworkRateLimiter):
            raise TypeError(f"network rate_limiter must be NetworkRateLimiter, got {type(self.rate_limiter).__name__}")
        _set(self, "deny_domains", _str_tuple(self.deny_domains, "deny_domains"))
        _set(self, "deny_domain_suffixes", _str_tuple(self.deny_domain_suffixes, "deny_domain_suffixes"))
        if self.max_connections is not None:
            _int(self.max_connections, "max_connections", minimum=1)
            if self.max_connections > 4096:
                raise ValueError("max_connections must be at most 4096")
        for name in ("ipv4_pool", "ipv6_pool"):
            v = getattr(self, name)
            if v is not None:
                try:
                    ipaddress.ip_network(v)
                except ValueError:
                    raise ValueError(f"invalid {name}: {v!r}") from None
        _set(self, "on_secret_violation", _enum(ViolationAction, self.on_secret_violation, "on_secret_violation"))

    @staticmethod
    def none() -> "Network":
        """Nothing in or out: every connection is denied in both directions, DNS included
        (the sandbox keeps its loopback)."""
        return Network(policy=NetworkPolicy.none())

    @staticmethod
    def allow_all() -> "Network":
        return Network(policy=NetworkPolicy.allow_all())

    @staticmethod
    def from_profiles(*profiles: NetworkProfile | str) -> "Network":
        return Network(policy=NetworkPolicy.from_profiles(profiles))

    @staticmethod
    def public_only() -> "Network":
        """The default policy (extension): ``from_profiles(PUBLIC)``."""
        return Network.from_profiles(NetworkProfile.PUBLIC)


@dataclass(frozen=True, slots=True)
class SecretInjection:
    headers: bool = True
    basic_auth: bool = True
    query_params: bool = False
    body: bool = False


@dataclass(frozen=True, slots=True)
class SecretEntry:
    """A secret the host substitutes into outgoing requests toward allowed hosts."""

    env_var: str
    value: str = field(repr=False)
    allow_hosts: tuple[str, ...] = ()
    allow_host_patterns: tuple[str, ...] = ()
    placeholder: Optional[str] = None
    require_tls: bool = True
    on_violation: ViolationAction = ViolationAction.BLOCK_AND_LOG
    injection: Optional[SecretInjection] = None

    def __post_init__(self) -> None:
        _str(self.env_var, "secret env_var")
        _str(self.value, "secret value")
        _set(self, "allow_hosts", _str_tuple(self.allow_hosts, "allow_hosts"))
        _set(self, "allow_host_patterns", _str_tuple(self.allow_host_patterns, "allow_host_patterns"))
        _set(self, "on_violation", _enum(ViolationAction, self.on_violation, "on_violation"))
        if self.placeholder is None:
            _set(self, "placeholder", f"$MSB_{self.env_var}")


class Secret:
    """Factories of :class:`SecretEntry`."""

    @staticmethod
    def env(env_var: str, *, value: str, allow_hosts: Sequence[str] = (), allow_host_patterns: Sequence[str] = (),
            placeholder: str | None = None, require_tls: bool = True,
            on_violation: ViolationAction | str = ViolationAction.BLOCK_AND_LOG,
            injection: SecretInjection | None = None) -> SecretEntry:
        return SecretEntry(env_var, value, tuple(allow_hosts), tuple(allow_host_patterns), placeholder,
                           require_tls, on_violation, injection)


@dataclass(frozen=True, slots=True)
class ViolationPolicy:
    fallback: ViolationAction = ViolationAction.BLOCK_AND_LOG
    passthrough_hosts: tuple[str, ...] = ()
    passthrough_host_patterns: tuple[str, ...] = ()
    passthrough_all_hosts: bool = False

    def __post_init__(self) -> None:
        _set(self, "fallback", _enum(ViolationAction, self.fallback, "fallback"))

    @classmethod
    def block(cls) -> "ViolationPolicy":
        return cls(ViolationAction.BLOCK)

    @classmethod
    def block_and_log(cls) -> "ViolationPolicy":
        return cls(ViolationAction.BLOCK_AND_LOG)

    @classmethod
    def block_and_terminate(cls) -> "ViolationPolicy":
        return cls(ViolationAction.BLOCK_AND_TERMINATE)

    @classmethod
    def passthrough(cls, *, hosts: Sequence[str] = (), host_patterns: Sequence[str] = (),
                    all_hosts: bool = False) -> "ViolationPolicy":
        return cls(ViolationAction.PASSTHROUGH, tuple(hosts), tuple(host_patterns), all_hosts)


# ----------------------------------------------------------------------------------------
# results


@dataclass(frozen=True, slots=True)
class SandboxMetrics:
    """A point-in-time resource sample (published by the runtime every second)."""

    cpu_percent: float
    vcpu_time_ns: int
    memory_bytes: int
    memory_available_bytes: Optional[int]
    memory_host_resident_bytes: Optional[int]
    memory_limit_bytes: int
    disk_read_bytes: int
    disk_write_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    upper_used_bytes: int
    upper_free_bytes: Optional[int]
    upper_host_allocated_bytes: Optional[int]
    uptime_ms: int
    timestamp_ms: float

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> "SandboxMetrics":
        limit = int(d["memory_limit_bytes"])
        used = int(d["memory_bytes"])
        return cls(
            cpu_percent=float(d["cpu_percent"]),
            vcpu_time_ns=int(d["cpu_time_ns"]),
            memory_bytes=used,
            memory_available_bytes=max(limit - used, 0) if limit else None,
            memory_host_resident_bytes=None,
            memory_limit_bytes=limit,
            disk_read_bytes=int(d["disk_read_bytes"]),
            disk_write_bytes=int(d["disk_write_bytes"]),
            net_rx_bytes=int(d["net_rx_bytes"]),
            net_tx_bytes=int(d["net_tx_bytes"]),
            upper_used_bytes=int(d["upper_used_bytes"]),
            upper_free_bytes=None,
            upper_host_allocated_bytes=None,
            uptime_ms=int(d["uptime_ms"]),
            timestamp_ms=float(d["timestamp_ms"]),
        )


@dataclass(frozen=True, slots=True)
class SandboxPingResult:
    name: str
    latency_ms: float


@dataclass(frozen=True, slots=True)
class SandboxTouchResult:
    name: str
    activity_seq: int


@dataclass(frozen=True, slots=True)
class SandboxStopResult:
    name: str
    status: SandboxStatus
    exit_code: Optional[int]
    signal: Optional[int]
    observed_at: float
    source: Optional[str]


@dataclass(frozen=True, slots=True)
class BackendInfo:
    kind: BackendKind
    api_url: Optional[str] = None
    source: Optional[str] = None
    profile: Optional[str] = None


@dataclass(frozen=True, slots=True)
class FsEntry:
    """A directory entry of the guest filesystem."""

    path: str
    kind: FsEntryKind
    size: int
    mode: int
    modified: Optional[float] = None


@dataclass(frozen=True, slots=True)
class FsMetadata:
    """``stat`` of a guest path."""

    kind: FsEntryKind
    size: int
    mode: int
    readonly: bool
    modified: Optional[float] = None
    created: Optional[float] = None


class LogEntry:
    """One captured chunk of a sandbox's ``exec.log``."""

    __slots__ = ("timestamp_ms", "source", "session_id", "cursor", "_data")

    timestamp_ms: float
    source: LogSource
    session_id: Optional[int]
    cursor: str

    def __init__(self, timestamp_ms: float, source: LogSource, session_id: Optional[int],
                 cursor: str, data: builtins.bytes) -> None:
        self.timestamp_ms = timestamp_ms
        self.source = source
        self.session_id = session_id
        self.cursor = cursor
        self._data = data

    @property
    def data(self) -> builtins.bytes:
        """The chunk's bytes."""
        return self._data

    def text(self) -> str:
        """``data`` decoded as UTF-8 (invalid bytes replaced)."""
        return self._data.decode("utf-8", "replace")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LogEntry):
            return NotImplemented
        return (self.timestamp_ms, self.source, self.session_id, self.cursor, self._data) == (
            other.timestamp_ms, other.source, other.session_id, other.cursor, other._data)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"LogEntry(timestamp_ms={self.timestamp_ms!r}, source={self.source.value!r}, "
                f"session_id={self.session_id!r}, data={self._data!r})")


class SandboxModificationPlan(TypedDict, total=False):
    """Result of ``modify()`` (API.md §1.8)."""

    sandbox: str
    status: SandboxStatus
    applied: bool
    policy: ModificationPolicy
    changes: list[dict[str, Any]]
    conflicts: list[dict[str, str]]
    warnings: list[dict[str, str]]
    resize_status: list[dict[str, Any]]
