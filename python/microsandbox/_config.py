"""``Sandbox.create`` keyword arguments (API.md §1.3): validation into the plain dict the
native extension turns into an ``msb_config``.

Validation happens before anything is created, so bad arguments raise ``TypeError`` /
``ValueError`` with the messages API.md fixes; what only the core can judge (name rules,
limits, reserved labels) comes back from libmsb as ``InvalidConfigError``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from microsandbox import _microsandbox as _native
from microsandbox import _network
from microsandbox._runtime import ms
from microsandbox.errors import unsupported
from microsandbox.types import (
    CpuPlacement,
    DeploymentProfile,
    ImageSource,
    ImageSourceKind,
    InitConfig,
    LogLevel,
    MountConfig,
    MountKind,
    Network,
    PatchConfig,
    PullPolicy,
    RegistryAuth,
    RootDiskKind,
    SecretEntry,
    SecurityProfile,
    ViolationAction,
    ViolationPolicy,
    VsockRoute,
    _bool,
    _duration,
    _enum,
    _int,
    _str,
    _str_mapping,
)

KWARGS = frozenset({
    "image", "snapshot", "from_snapshot", "cpus", "memory", "max_cpus", "max_memory", "thp",
    "workdir", "shell", "hostname", "user", "entrypoint", "cmd", "init", "replace",
    "replace_with_timeout", "max_duration", "idle_timeout", "ephemeral", "env", "labels",
    "scripts", "pull_policy", "log_level", "registry_auth", "registry_insecure",
    "registry_ca_certs", "volumes", "patches", "ports", "network", "secrets",
    "on_secret_violation", "vsock", "security", "deployment_profile", "cpu_placement",
    "placement_profile", "detached",
})

_THP = ("always", "madvise", "never")
_DISK_SUFFIXES = (".qcow2", ".raw", ".vmdk")


class CreateSpec:
    """A validated create: the native config dict, lifecycle flags and ownership."""

    __slots__ = ("name", "config", "flags", "grace_ms", "detached", "image_ref", "snapshot")

    def __init__(self, name: str, config: dict[str, Any], flags: int, grace_ms: int, detached: bool,
                 image_ref: Optional[str], snapshot: Optional[str] = None) -> None:
        self.name = name
        self.config = config
        self.flags = flags
        self.grace_ms = grace_ms
        self.detached = detached
        self.image_ref = image_ref
        self.snapshot = snapshot  # artifact path or name: the core resolves it


def _is_local_path(image: str) -> bool:
    return image.startswith(("/", "./", "../")) or image in (".", "..")


def _image(value: Any, config: dict[str, Any]) -> Optional[str]:
    """The OCI reference of ``image=`` (into ``config``); local roots are not supported."""
    if isinstance(value, ImageSource):
        if value.kind is not ImageSourceKind.OCI:
            raise unsupported(f"image=Image.{value.kind.value}(...)",
                              "this build boots OCI images only; use an image reference")
        disk = value.root_disk
        if disk is not None:
            if disk.kind is not RootDiskKind.MANAGED:
                raise unsupported(f"root_disk={disk.kind.value}",
                                  "only managed writable layers (RootDisk.managed / upper_size_mib) exist here")
            # A managed upper is a sparse ext4 image of that many MiB (default 4096).
            config["upper_size_mib"] = disk.size_mib or 4096
        config["image"] = value.reference
        return value.reference
    if isinstance(value, os.PathLike) or (isinstance(value, str) and _is_local_path(value)):
        path = os.fspath(value)
        kind = "disk image" if str(path).endswith(_DISK_SUFFIXES) else "directory"
        raise unsupported(f"image={path!r} ({kind} root)",
                          "this build boots OCI images only; load the root with `msb image load`")
    if not isinstance(value, str):
        raise TypeError(f"image must be a str, os.PathLike or ImageSource, got {type(value).__name__}")
    if not value:
        raise ValueError("image must not be empty")
    config["image"] = value
    return value


def _snapshot(value: Any) -> str:
    """``snapshot=``: a name in $MSB_HOME/snapshots or an artifact path. The core resolves it
    (missing → FileNotFoundError, not a disk snapshot → ValueError)."""
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    if not isinstance(path, str):
        raise TypeError(f"snapshot must be a str or os.PathLike, got {type(value).__name__}")
    if not path:
        raise ValueError("snapshot must not be empty")
    return path


def _init(value: Any) -> InitConfig:
    if isinstance(value, InitConfig):
        return value
    if isinstance(value, str):
        return InitConfig(value)
    if isinstance(value, Mapping):
        if "cmd" not in value:
            raise ValueError("init dict requires 'cmd'")
        unknown = set(value) - {"cmd", "args", "env"}
        if unknown:
            raise ValueError(f"unknown init key: {sorted(unknown)[0]}")
        return InitConfig(value["cmd"], tuple(value.get("args", ())), dict(value.get("env", {})))
    raise TypeError(f"init must be a str, dict or InitConfig, got {type(value).__name__}")


def _pairs(mapping: dict[str, str]) -> list[tuple[str, str]]:
    return list(mapping.items())


def parse(name: Any, kwargs: Mapping[str, Any]) -> CreateSpec:
    """Validates ``Sandbox.create(name, **kwargs)``."""
    for key in kwargs:
        if key not in KWARGS:
            raise TypeError(f"unexpected keyword argument '{key}'")
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    kw = dict(kwargs)
    image = kw.pop("image", None)
    snapshot = kw.pop("snapshot", None)
    from_snapshot = kw.pop("from_snapshot", None)
    if snapshot is not None and from_snapshot is not None:
        raise ValueError("snapshot= and from_snapshot= are aliases: pass one")
    snapshot = snapshot if snapshot is not None else from_snapshot
    if image is None and snapshot is None:
        raise ValueError("image= or from_snapshot= is required")
    if image is not None and snapshot is not None:
        raise ValueError("image= and from_snapshot= are mutually exclusive")

    config: dict[str, Any] = {}
    image_ref: Optional[str] = None

    # Scalar validation first (cheap, and the same errors whatever the image).
    cpus = _int(kw.pop("cpus", None), "cpus", optional=True, minimum=0)
    memory = _int(kw.pop("memory", None), "memory", optional=True, minimum=0)
    max_cpus = _int(kw.pop("max_cpus", None), "max_cpus", optional=True, minimum=1)
    max_memory = _int(kw.pop("max_memory", None), "max_memory", optional=True, minimum=1)
    thp = kw.pop("thp", None)
    if thp is not None:
        _str(thp, "thp")
        if thp not in _THP:
            raise ValueError(f"unknown transparent huge-page policy {thp!r} (always, madvise or never)")
    max_duration = _duration(kw.pop("max_duration", None), "max_duration")
    idle_timeout = _duration(kw.pop("idle_timeout", None), "idle_timeout")
    replace = _bool(kw.pop("replace", False), "replace")
    replace_with_timeout = _duration(kw.pop("replace_with_timeout", None), "replace_with_timeout")
    detached = _bool(kw.pop("detached", False), "detached")
    ephemeral = _bool(kw.pop("ephemeral", False), "ephemeral")
    pull_policy = kw.pop("pull_policy", None)
    pull_policy = _enum(PullPolicy, pull_policy, "pull_policy") if pull_policy is not None else None
    log_level = kw.pop("log_level", None)
    log_level = _enum(LogLevel, log_level, "log_level") if log_level is not None else None
    env = kw.pop("env", None)
    env = _str_mapping(env, "env") if env is not None else {}
    labels = kw.pop("labels", None)
    labels = _str_mapping(labels, "labels") if labels is not None else {}
    scripts = kw.pop("scripts", None)
    scripts = _str_mapping(scripts, "scripts") if scripts is not None else {}
    init = kw.pop("init", None)
    init = _init(init) if init is not None else None
    strings = {k: _str(kw.pop(k, None), k, optional=True) for k in ("workdir", "shell", "hostname", "user")}
    argvs = {}
    for k in ("entrypoint", "cmd"):
        v = kw.pop(k, None)
        if v is not None:
            if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or not all(isinstance(a, str) for a in v):
                raise TypeError(f"{k} must be a list of strings")
            argvs[k] = list(v)

    auth = kw.pop("registry_auth", None)
    if auth is not None and not isinstance(auth, RegistryAuth):
        raise TypeError(f"registry_auth must be RegistryAuth, got {type(auth).__name__}")
    insecure = _bool(kw.pop("registry_insecure", False), "registry_insecure")
    ca_files: list[str] = []
    ca_pem: list[str] = []
    ca_certs = kw.pop("registry_ca_certs", None)
    if ca_certs is not None:
        if isinstance(ca_certs, (str, bytes)) or not isinstance(ca_certs, Sequence):
            raise TypeError("registry_ca_certs must be a list of bytes, str or paths")
        for c in ca_certs:
            if isinstance(c, bytes):
                ca_pem.append(c.decode("ascii"))
            elif isinstance(c, (str, os.PathLike)):
                ca_files.append(os.fspath(c))
            else:
                raise TypeError(f"registry_ca_certs item must be bytes, str or a path, got {type(c).__name__}")

    volumes = kw.pop("volumes", None)
    if volumes is not None:
        if not isinstance(volumes, Mapping):
            raise TypeError("volumes must be a Mapping[str, MountConfig]")
        for guest, mount in volumes.items():
            _str(guest, "volume guest path")
            if not guest.startswith("/"):
                raise ValueError(f"volume guest path must be absolute: {guest!r}")
            if not isinstance(mount, MountConfig):
                raise TypeError(f"volume must be MountConfig, got {type(mount).__name__}")
    patches = kw.pop("patches", None)
    if patches is not None:
        if isinstance(patches, (str, bytes)) or not isinstance(patches, Sequence):
            raise TypeError("patches must be a list of PatchConfig")
        for p in patches:
            if not isinstance(p, PatchConfig):
                raise TypeError(f"patch must be PatchConfig, got {type(p).__name__}")
    ports = _network.port_bindings(kw.pop("ports", None))
    network = kw.pop("network", None)
    if network is not None and not isinstance(network, Network):
        raise TypeError(f"network must be Network, got {type(network).__name__}")
    secrets = kw.pop("secrets", None)
    if secrets is not None:
        if isinstance(secrets, (str, bytes)) or not isinstance(secrets, Sequence):
            raise TypeError("secrets must be a list of SecretEntry")
        for s in secrets:
            if not isinstance(s, SecretEntry):
                raise TypeError(f"secret must be SecretEntry, got {type(s).__name__}")
    violation = kw.pop("on_secret_violation", None)
    if violation is not None and not isinstance(violation, ViolationPolicy):
        _enum(ViolationAction, violation, "on_secret_violation")
    vsock = kw.pop("vsock", None)
    if vsock is not None:
        if isinstance(vsock, Mapping):
            for k, v in vsock.items():
                _str(k, "vsock host socket")
                _int(v, "vsock port")
        elif isinstance(vsock, Sequence) and not isinstance(vsock, (str, bytes)):
            for r in vsock:
                if not isinstance(r, VsockRoute):
                    raise TypeError(f"vsock route must be VsockRoute, got {type(r).__name__}")
        else:
            raise TypeError("vsock must be a Mapping[str, int] or a list of VsockRoute")
    security = kw.pop("security", None)
    security = _enum(SecurityProfile, security, "security") if security is not None else None
    dp = kw.pop("deployment_profile", None)
    if dp is not None:
        _enum(DeploymentProfile, dp, "deployment_profile")
    cp = kw.pop("cpu_placement", None)
    if cp is not None:
        _enum(CpuPlacement, cp, "cpu_placement")
    pp = kw.pop("placement_profile", None)
    if pp is not None:
        _str(pp, "placement_profile")
    assert not kw, kw

    # The root: an image, or a snapshot (which boots its own pinned image).
    snapshot_path = _snapshot(snapshot) if snapshot is not None else None
    if image is not None:
        image_ref = _image(image, config)

    # Features the core does not have yet: refuse rather than run without them.
    if secrets:
        raise unsupported("secrets=", "secret substitution needs TLS interception, which the "
                          "network engine does not have yet")
    if vsock:
        raise unsupported("vsock=", "vsock routes are not implemented by either backend yet")
    # ports= and network= as the stored config's network section, judged by the core now
    # (ValueError naming the key) rather than after the image is pulled.
    network_json = _network.section(network, ports)
    if network_json is not None:
        config["network"] = _network.normalize(network_json)

    if cpus is not None:
        config["cpus"] = cpus
    if memory is not None:
        config["memory"] = memory
    if max_cpus is not None:
        if max_cpus < (cpus or 1):
            raise ValueError("max_cpus must be at least cpus")
        config["max_cpus"] = max_cpus
    if max_memory is not None:
        if max_memory < (memory or 512):
            raise ValueError("max_memory must be at least memory")
        config["max_memory"] = max_memory
    if thp is not None and thp != "madvise":
        config["thp"] = thp
    for k, v in strings.items():
        if v is not None:
            config[k] = v
    config.update(argvs)
    if env:
        config["env"] = _pairs(env)
    if labels:
        config["labels"] = _pairs(labels)
    if scripts:
        config["scripts"] = _pairs(scripts)
    if init is not None:
        config["init"] = (init.cmd, list(init.args), _pairs(dict(init.env)))
    if patches:
        config["patches"] = [_patch_tuple(p) for p in patches]
    if volumes:
        config["volumes"] = [_mount_tuple(g, m) for g, m in volumes.items()]
    if pull_policy is not None:
        config["pull_policy"] = pull_policy.value
    if log_level is not None:
        config["log_level"] = log_level.value
    if max_duration:
        config["max_duration"] = max_duration
    if idle_timeout:
        config["idle_timeout"] = idle_timeout
    if ephemeral:
        config["ephemeral"] = True
    if security is SecurityProfile.RESTRICTED:
        config["security"] = security.value
    if auth is not None:
        config["registry_auth"] = (auth.username, auth.password)
    if insecure:
        config["registry_insecure"] = True
    if ca_files:
        config["registry_ca_files"] = ca_files
    if ca_pem:
        config["registry_ca_pem"] = "\n".join(ca_pem)

    flags = 0
    if detached:
        flags |= _native.SANDBOX_DETACHED
    if replace or replace_with_timeout is not None:
        flags |= _native.SANDBOX_REPLACE
    grace_ms = ms(replace_with_timeout, -1)
    return CreateSpec(name, config, flags, grace_ms, detached, image_ref, snapshot_path)


def _patch_tuple(p: PatchConfig) -> tuple[Any, ...]:
    content = p.content
    if isinstance(content, str):
        content = content.encode("utf-8")
    return (p.kind.value, p.path or p.dst or p.link, p.src or p.target, content,
            -1 if p.mode is None else p.mode, p.replace)


def _mount_tuple(guest: str, m: MountConfig) -> tuple[Any, ...]:
    if m.kind is MountKind.DISK:
        raise unsupported("Volume.disk()", "disk-image mounts need the vm backend")
    flags = (m.readonly, m.noexec, m.nosuid, m.nodev)
    source = m.bind if m.kind is MountKind.BIND else m.named
    return (m.kind.value, source, guest, flags,
            m.named_mode.value if m.named_mode else None,
            m.named_kind.value if m.named_kind else None,
            m.size_mib or 0, m.quota_mib or 0)
