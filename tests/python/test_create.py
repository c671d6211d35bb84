"""Sandbox.create: keyword validation (API.md §1.3), the options reaching the guest and the
stored config, and the errors create raises."""

import json
import os

import pytest

from conftest import IMAGE, cleanup, unique_name
from microsandbox import (
    ImageNotFoundError,
    InitConfig,
    InvalidConfigError,
    LogLevel,
    Network,
    PullPolicy,
    Sandbox,
    SandboxAlreadyExistsError,
    Secret,
    TlsConfig,
    UnsupportedError,
)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"image": IMAGE, "bogus": 1}, TypeError, "unexpected keyword argument 'bogus'"),
        ({}, ValueError, r"image= or from_snapshot= is required"),
        ({"image": IMAGE, "snapshot": "s"}, ValueError, "mutually exclusive"),
        ({"image": IMAGE, "env": ["A=B"]}, TypeError, "env must be a Mapping"),
        ({"image": IMAGE, "pull_policy": "sometimes"}, TypeError, "PullPolicy"),
        ({"image": IMAGE, "log_level": "verbose"}, TypeError, "LogLevel"),
        ({"image": IMAGE, "max_duration": -1.0}, ValueError, "max_duration must be non-negative"),
        ({"image": IMAGE, "idle_timeout": -1.0}, ValueError, "idle_timeout must be non-negative"),
        ({"image": IMAGE, "replace_with_timeout": -1.0}, ValueError,
         "replace_with_timeout must be non-negative"),
        ({"image": IMAGE, "thp": "auto"}, ValueError, "unknown transparent huge-page policy"),
        ({"image": IMAGE, "init": {"args": ["x"]}}, ValueError, "cmd"),
        ({"image": IMAGE, "registry_auth": {"username": "u"}}, TypeError, "RegistryAuth"),
        ({"image": IMAGE, "patches": [{"kind": "text"}]}, TypeError, "PatchConfig"),
        ({"image": IMAGE, "cpus": "2"}, TypeError, "cpus"),
        ({"image": IMAGE, "cpus": 2, "max_cpus": 1}, ValueError, "max_cpus must be at least cpus"),
        ({"image": IMAGE, "network": {"policy": None}}, TypeError, "network must be Network, got dict"),
        ({"image": IMAGE, "volumes": {"/data": {"kind": "bind"}}}, TypeError, "MountConfig, got dict"),
    ],
)
async def test_bad_kwargs_raise_before_anything_is_created(kwargs, error, message):
    name = unique_name("bad")
    with pytest.raises(error, match=message):
        await Sandbox.create(name, **kwargs)
    names = {h.name for h in await Sandbox.list()}
    assert name not in names


def test_create_with_progress_validates_synchronously():
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        Sandbox.create_with_progress("x", image=IMAGE, nope=True)
    with pytest.raises(ValueError, match="image= or from_snapshot= is required"):
        Sandbox.create_with_progress("x")


async def test_missing_snapshot_artifact_is_file_not_found():
    with pytest.raises(FileNotFoundError):
        await Sandbox.create(unique_name(), snapshot="no-such-snapshot")


async def test_invalid_name_is_invalid_config():
    with pytest.raises(InvalidConfigError):
        await Sandbox.create("a/b", image=IMAGE)
    with pytest.raises(InvalidConfigError):
        await Sandbox.create("x" * 129, image=IMAGE)


async def test_uncached_image_with_pull_never_is_image_not_found():
    with pytest.raises(ImageNotFoundError):
        await Sandbox.create(unique_name(), image="local/not-there:1", pull_policy="never")


async def test_reserved_label_is_invalid_config():
    with pytest.raises(InvalidConfigError):
        await Sandbox.create(unique_name(), image=IMAGE, labels={"sandbox.id": "x"})


async def test_unsupported_features_say_so():
    for kwargs in ({"secrets": [Secret.env("K", value="v")]}, {"network": Network(tls=TlsConfig())},
                   {"image": "./rootfs"}):
        kw = {"image": IMAGE, **kwargs}
        with pytest.raises(UnsupportedError) as e:
            await Sandbox.create(unique_name(), **kw)
        assert e.value.operation


async def test_existing_name_without_replace_then_with_replace(sandbox_factory):
    first = await sandbox_factory("dup")
    name = await first.name
    with pytest.raises(SandboxAlreadyExistsError):
        await Sandbox.create(name, image=IMAGE)
    second = await Sandbox.create(name, image=IMAGE, replace_with_timeout=0)
    try:
        assert (await second.shell("echo replaced")).stdout_text == "replaced\n"
        # The first handle's sandbox is gone: its commands fail.
        with pytest.raises(Exception):
            await first.shell("true")
    finally:
        await cleanup(name)


async def test_options_reach_the_guest(sandbox_factory):
    sb = await sandbox_factory(
        "opts", hostname="py-host", workdir="/tmp", user="nobody", env={"PY_KW": "guest-visible"},
        scripts={"hello-script": "#!/bin/sh\nprintf 'script:%s\\n' \"$PY_KW\"\n"}, cpus=1, memory=256)
    out = await sb.shell('printf "%s:%s:%s:%s\\n" "$(hostname)" "$(pwd)" "$(id -un)" "$PY_KW"')
    assert out.stdout_text == "py-host:/tmp:nobody:guest-visible\n"
    script = await sb.exec("hello-script")
    assert script.stdout_text == "script:guest-visible\n"


async def test_config_json_round_trip(sandbox_factory):
    sb = await sandbox_factory(
        "cfg", cpus=1, max_cpus=4, memory=384, max_memory=2048, thp="always", hostname="cfg-host", workdir="/var", shell="/bin/sh", user="nobody",
        env={"K": "V"}, labels={"tier": "web"}, entrypoint=["/bin/sh", "-c", "echo ep"], cmd=["x"],
        max_duration=7200.0, idle_timeout=1800.0, pull_policy=PullPolicy.IF_MISSING, log_level=LogLevel.INFO,
        init=InitConfig("/bin/sleep", ("3600",)), network=Network.none())
    handle = await Sandbox.get(await sb.name)
    config = json.loads(handle.config_json)
    assert handle.config() == config
    assert config["name"] == await sb.name
    assert config["resources"]["cpus"] == 1 and config["resources"]["memory_mib"] == 384
    assert config["resources"]["max_cpus"] == 4 and config["resources"]["max_memory_mib"] == 2048
    assert config["resources"]["thp"] == "always"
    assert config["runtime"]["hostname"] == "cfg-host" and config["runtime"]["workdir"] == "/var"
    assert config["runtime"]["user"] == "nobody" and config["runtime"]["log_level"] == "info"
    assert config["runtime"]["entrypoint"] == ["/bin/sh", "-c", "echo ep"] and config["runtime"]["cmd"] == ["x"]
    assert {e["key"]: e["value"] for e in config["env"]}["K"] == "V"
    assert config["labels"] == {"tier": "web"}
    assert config["pull_policy"] == "IfMissing"
    assert config["init"]["cmd"] == "/bin/sleep"
    assert config["lifecycle"] == {"ephemeral": False, "max_duration_secs": 7200, "idle_timeout_secs": 1800}
    assert isinstance(handle.created_at, float) and handle.created_at > 1.6e12


async def test_detached_create_does_not_own_the_lifecycle(sandbox_factory):
    sb = await sandbox_factory("det", detached=True)
    assert await sb.owns_lifecycle is False
    assert (await sb.shell("echo up")).stdout_text == "up\n"


async def test_ephemeral_sandbox_disappears_when_it_stops(sandbox_factory):
    sb = await sandbox_factory("eph", ephemeral=True)
    name = await sb.name
    await sb.stop()
    assert name not in {h.name for h in await Sandbox.list()}


async def test_patches_are_applied_before_boot(sandbox_factory, tmp_path):
    host_file = tmp_path / "data.txt"
    host_file.write_text("from-host\n")
    (tmp_path / "tree").mkdir()
    (tmp_path / "tree" / "a").write_text("A")
    from microsandbox import Patch

    sb = await sandbox_factory("patch", patches=[
        Patch.mkdir("/app", mode=0o755),
        Patch.text("/app/hello.txt", "hello\n", mode=0o600),
        Patch.append("/etc/hostname", "appended\n"),
        Patch.copy_file(str(host_file), "/app/data.txt"),
        Patch.copy_dir(str(tmp_path / "tree"), "/app/tree"),
        Patch.symlink("/app/hello.txt", "/app/link"),
        Patch.text("/etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", replace=True),
        Patch.remove("/etc/group"),
        Patch.file("/app/bin", b"\x00\x01\x02"),
    ])
    out = await sb.shell("cat /app/hello.txt /app/data.txt /app/tree/a /app/link; stat -c %a /app/hello.txt; "
                         "tail -n1 /etc/hostname; test -e /etc/group || echo no-group; wc -c < /app/bin; "
                         "wc -l < /etc/passwd")
    assert out.stdout_text.split("\n") == ["hello", "from-host", "Ahello", "600", "appended", "no-group", "3",
                                           "1", ""]


async def test_patch_over_existing_image_path_fails_without_replace():
    from microsandbox import MicrosandboxError, Patch

    name = unique_name("patchfail")
    try:
        with pytest.raises(MicrosandboxError):
            await Sandbox.create(name, image=IMAGE, patches=[Patch.text("/etc/passwd", "x\n")])
        assert name not in {h.name for h in await Sandbox.list()}
    finally:
        await cleanup(name)


async def test_bind_and_tmpfs_volumes(sandbox_factory, tmp_path):
    from microsandbox import Volume

    (tmp_path / "in.txt").write_text("host-data")
    os.chmod(tmp_path, 0o777)
    sb = await sandbox_factory("vol", volumes={"/data": Volume.bind(str(tmp_path)),
                                               "/scratch": Volume.tmpfs(size_mib=8)})
    out = await sb.shell("cat /data/in.txt; echo guest > /data/out.txt; echo t > /scratch/t && cat /scratch/t")
    assert out.stdout_text == "host-datat\n"
    assert (tmp_path / "out.txt").read_text() == "guest\n"
