"""Module-level API: version, error classes and their codes, backends, install checks, the
agent client stub, the console script and the non-blocking contract of the loop."""

import asyncio
import os
import subprocess
import time

import pytest

import microsandbox
from conftest import BUILD, IMAGE
from microsandbox import errors
from microsandbox._microsandbox import error_code

ERROR_CODES = {
    "MicrosandboxError": "microsandbox-error", "InvalidConfigError": "invalid-config",
    "NoDefaultCommandError": "no-default-command", "CloudHttpError": "cloud-http",
    "SandboxNotFoundError": "sandbox-not-found", "SandboxNotRunningError": "sandbox-not-running",
    "SandboxAlreadyExistsError": "sandbox-already-exists",
    "SandboxStillRunningError": "sandbox-still-running", "ExecTimeoutError": "exec-timeout",
    "ExecFailedError": "exec-failed", "FilesystemError": "filesystem-error",
    "PathNotFoundError": "path-not-found", "VolumeNotFoundError": "volume-not-found",
    "ImageNotFoundError": "image-not-found", "ImageInUseError": "image-in-use",
    "ImagePullFailedError": "image-pull-failed", "NetworkPolicyError": "network-policy-error",
    "SecretViolationError": "secret-violation", "TlsError": "tls-error", "IoError": "io-error",
    "MetricsDisabledError": "metrics-disabled", "MetricsUnavailableError": "metrics-unavailable",
    "UnsupportedOperationError": "unsupported-operation", "UnsupportedError": "unsupported",
    "SnapshotMigrationError": "snapshot-migration",
}


def test_version_is_the_package_version():
    assert microsandbox.version() == microsandbox.__version__ == "0.1.0"


def test_every_error_class_has_its_code_and_is_reexported():
    for name, code in ERROR_CODES.items():
        cls = getattr(errors, name)
        assert getattr(microsandbox, name) is cls
        assert issubclass(cls, errors.MicrosandboxError)
        assert cls.code == code
        assert str(cls("boom")) == "boom"


def test_every_libmsb_error_kind_maps_to_the_class_with_its_code():
    # msb_error_kind runs from MSB_ERR_GENERIC (1) to MSB_ERR_CLOUD_HTTP (25), one per class.
    codes = [error_code(kind) for kind in range(1, 26)]
    assert sorted(codes) == sorted(ERROR_CODES.values())
    for code in codes:
        assert errors._BY_CODE[code].code == code


def test_unsupported_error_carries_operation_and_hint():
    e = errors.UnsupportedError("nope", operation="op", hint="do x")
    assert (e.operation, e.hint, e.code) == ("op", "do x", "unsupported")


def test_backends_local_works_cloud_is_unsupported():
    assert microsandbox.default_backend_kind() is microsandbox.BackendKind.LOCAL
    microsandbox.set_default_backend(microsandbox.BackendKind.LOCAL)
    assert microsandbox.default_backend_info().kind is microsandbox.BackendKind.LOCAL
    with pytest.raises(errors.UnsupportedError):
        microsandbox.set_default_backend("cloud", url="https://example.invalid")
    with microsandbox.backend_scope("local", profile="p") as scope:
        assert microsandbox.default_backend_info().profile == "p"
        scope.restore()
    assert microsandbox.default_backend_info().profile is None
    with pytest.raises(TypeError, match="BackendKind"):
        microsandbox.set_default_backend("nowhere")


def test_runtime_binaries_are_found_next_to_libmsb():
    assert microsandbox.is_installed()
    microsandbox.install()  # present: a no-op


async def test_agent_client_is_an_unsupported_stub():
    assert microsandbox.FLAG_TERMINAL == 1 and microsandbox.FLAG_SESSION_START == 2
    assert microsandbox.FLAG_SHUTDOWN == 4
    assert microsandbox.AgentClient.socket_path("x").endswith("/agent.sock")
    with pytest.raises(errors.UnsupportedError):
        await microsandbox.AgentClient.connect_sandbox("x")


def test_console_script_runs_msb():
    script = os.path.join(BUILD, "python", "bin", "microsandbox")
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
    # The build tree's copy is not executable (meson sets the mode at install): run it with
    # the interpreter its #! line names.
    with open(script) as f:
        interpreter = f.readline()[2:].strip()
    p = subprocess.run([interpreter, script, "--version"], capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([interpreter, script, "--version"], capture_output=True, text=True,
                       env=dict(env, MSB_PATH="/nonexistent/msb"))
    assert p.returncode == 127


async def test_event_loop_keeps_running_during_native_work(sandbox):
    """A 1 s command and a boot run while a ticker keeps ticking every 10 ms."""
    ticks = []

    async def ticker():
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    t = asyncio.ensure_future(ticker())
    try:
        await asyncio.gather(sandbox.shell("sleep 1"), microsandbox.Sandbox.list())
    finally:
        t.cancel()
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 50
    assert max(gaps) < 0.5, max(gaps)  # never stalled by the 1 s command or the boot


def test_submodules_expose_their_names():
    from microsandbox import events, types

    assert events.ExecEvent is types.ExecEvent and events.PullEventType is types.PullEventType
    for name in microsandbox.__all__:
        assert hasattr(microsandbox, name), name
    assert IMAGE
