"""Enums, configuration dataclasses and their validation (no sandbox needed)."""

import dataclasses
import enum

import pytest

import microsandbox
from microsandbox import types
from microsandbox.types import (
    Destination,
    ExecEventType,
    InitConfig,
    LogLevel,
    LogReadSource,
    LogSource,
    MountKind,
    Network,
    NetworkPolicy,
    Patch,
    PatchKind,
    PortBinding,
    PullPolicy,
    RegistryAuth,
    Rlimit,
    RlimitResource,
    Rule,
    SandboxStatus,
    Secret,
    Size,
    Stdin,
    StdinMode,
)


def test_every_enum_is_a_str_enum_in_types():
    enums = [v for v in vars(types).values()
             if isinstance(v, type) and issubclass(v, enum.Enum) and v is not types.StrEnum]
    assert len(enums) > 30
    for e in enums:
        assert issubclass(e, types.StrEnum), e
        for member in e:
            assert isinstance(member, str)
            assert str(member) == member.value


def test_enum_values_match_the_spec():
    assert [s.value for s in SandboxStatus] == ["created", "starting", "running", "stopped", "crashed",
                                                "draining", "paused"]
    assert [p.value for p in PullPolicy] == ["always", "if-missing", "never"]
    assert {l.value for l in LogLevel} == {"trace", "debug", "info", "warn", "error"}
    assert [s.value for s in LogSource] == ["stdout", "stderr", "output", "system"]
    assert LogReadSource.ALL == "all"
    assert [e.value for e in ExecEventType] == ["started", "stdout", "stderr", "exited", "failed", "stdin_error"]
    assert {r.value for r in RlimitResource} == set(
        "cpu fsize data stack core rss nproc nofile memlock as locks sigpending msgqueue nice rtprio rttime".split())
    assert {k.value for k in PatchKind} == set("text file mkdir append copy_file copy_dir symlink remove".split())


def test_config_types_are_frozen_slotted_dataclasses():
    for cls in (Rlimit, Stdin, types.MountConfig, types.PatchConfig, Network, NetworkPolicy, Rule, PortBinding,
                types.SecretEntry, InitConfig, types.ImageSource, types.RootDiskConfig, RegistryAuth):
        assert dataclasses.is_dataclass(cls), cls
        assert cls.__dataclass_params__.frozen, cls
        assert "__slots__" in vars(cls), cls
    r = Rlimit.nofile(10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.soft = 5  # type: ignore[misc]


def test_rlimit_factories_and_validation():
    assert Rlimit.nofile(64) == Rlimit(RlimitResource.NOFILE, 64, 64)
    assert Rlimit.cpu(2).resource is RlimitResource.CPU
    assert Rlimit.as_(soft=1 << 20, hard=1 << 21) == Rlimit(RlimitResource.AS, 1 << 20, 1 << 21)
    for f in (Rlimit.nproc, Rlimit.fsize, Rlimit.memlock, Rlimit.stack):
        assert f(7).soft == f(7).hard == 7
    assert Rlimit("nofile", 1, 2).resource is RlimitResource.NOFILE
    with pytest.raises(ValueError):
        Rlimit("bogus", 1, 1)
    with pytest.raises(ValueError):
        Rlimit.as_(soft=3, hard=2)


def test_stdin_factories():
    assert Stdin.null()._mode is StdinMode.NULL
    assert Stdin.pipe()._mode is StdinMode.PIPE
    s = Stdin.bytes(b"abc")
    assert s._mode is StdinMode.BYTES and s._data == b"abc"
    with pytest.raises(TypeError):
        Stdin.bytes("text")  # type: ignore[arg-type]


def test_patch_factories_build_patch_configs():
    p = Patch.text("/etc/motd", "hi", mode=0o644, replace=True)
    assert (p.kind, p.path, p.content, p.mode, p.replace) == (PatchKind.TEXT, "/etc/motd", "hi", 0o644, True)
    assert Patch.append("/a", "x").kind is PatchKind.APPEND
    assert Patch.mkdir("/d", mode=0o700).mode == 0o700
    assert Patch.remove("/r").kind is PatchKind.REMOVE
    c = Patch.copy_file("/host/f", "/guest/f", mode=0o600)
    assert (c.src, c.dst, c.mode, c.replace) == ("/host/f", "/guest/f", 0o600, False)
    d = Patch.copy_dir("/host/d", "/guest/d", replace=True)
    assert (d.kind, d.src, d.dst, d.replace) == (PatchKind.COPY_DIR, "/host/d", "/guest/d", True)
    s = Patch.symlink("target", "/link")
    assert (s.target, s.link) == ("target", "/link")
    assert Patch.file("/bin/x", b"\x00\x01").content == b"\x00\x01"
    with pytest.raises(ValueError):
        Patch.text("relative", "x")


def test_init_config_shapes():
    assert InitConfig("auto") == InitConfig(cmd="auto", args=(), env={})
    i = InitConfig(cmd="/lib/systemd/systemd", args=("--unit=multi-user.target",), env={"container": "microsandbox"})
    assert i.args == ("--unit=multi-user.target",)
    with pytest.raises(ValueError):
        InitConfig("relative/init")


def test_registry_auth_hides_password():
    a = RegistryAuth.basic("user", "s3cret")
    assert "s3cret" not in repr(a)
    assert a.password == "s3cret"


def test_network_types():
    assert Network().policy is None
    assert Network.none().policy == NetworkPolicy.none()
    udp, tcp = Rule.allow_dns()
    assert udp.port == tcp.port == 53
    assert Rule.deny(destination="10.0.0.0/8").destination == Destination.cidr("10.0.0.0/8")
    assert Rule.allow(destination="private").destination == Destination.group("private")
    assert Rule.allow(port="80-90").port == "80-90"
    with pytest.raises(ValueError):
        Rule.allow(port="90-80")
    with pytest.raises(ValueError):
        PortBinding.tcp(8080, 80, bind="not-an-ip")
    with pytest.raises(ValueError):
        Network(max_connections=5000)
    with pytest.raises(TypeError, match="Action"):
        NetworkPolicy(default_egress="sometimes")  # type: ignore[arg-type]
    assert Secret.env("API_KEY", value="v", allow_hosts=["api.example.com"]).placeholder == "$MSB_API_KEY"


def test_sizes_and_mounts():
    assert microsandbox.MiB == 1048576 and microsandbox.GiB == 1073741824
    assert Size.gib(1).bytes == microsandbox.GiB and Size.mib(3).mib_count == 3
    assert microsandbox.Volume.tmpfs(size_mib=8).kind is MountKind.TMPFS
    with pytest.raises(ValueError):
        types.MountConfig(MountKind.TMPFS, stat_virtualization="strict")


def test_image_sources():
    src = microsandbox.Image.oci("python:3.12", upper_size_mib=8192)
    assert src.reference == "python:3.12" and src.root_disk.size_mib == 8192
    with pytest.raises(ValueError):
        microsandbox.Image.oci("x", root_disk=1, upper_size_mib=2)
    assert microsandbox.Image.disk("/tmp/root.qcow2").format is types.DiskImageFormat.QCOW2


def test_log_entry_text_is_lossy_and_data_is_bytes():
    e = types.LogEntry(1.5, LogSource.STDOUT, 3, "c", b"ok\xff")
    assert e.data == b"ok\xff" and e.text() == "ok\ufffd"
    assert e.source is LogSource.STDOUT and e.timestamp_ms == 1.5
