"""exec / shell: outputs, exit codes, options and their validation (API.md §1.5, §1.6)."""

import signal

import pytest

from conftest import count_processes

from microsandbox import (
    ExecFailedError,
    ExecOutput,
    ExecTimeoutError,
    Rlimit,
    Sandbox,
    SandboxNotRunningError,
    Stdin,
)


async def test_exec_collects_stdout_stderr_and_exit_code(shared_sandbox):
    out = await shared_sandbox.exec("echo", ["hello"])
    assert isinstance(out, ExecOutput)
    assert (out.exit_code, out.success, out.stdout_text, out.stderr_text) == (0, True, "hello\n", "")
    assert out.stdout_bytes == b"hello\n" and out.stderr_bytes == b""
    bad = await shared_sandbox.exec("sh", ["-c", "echo nope >&2; exit 42"])
    assert (bad.exit_code, bad.success, bad.stderr_text) == (42, False, "nope\n")


async def test_shell_runs_the_configured_shell(shared_sandbox):
    out = await shared_sandbox.shell("echo a | tr a b && echo c")
    assert out.stdout_text == "b\nc\n"


async def test_exit_code_is_minus_one_when_killed_by_a_signal(shared_sandbox):
    out = await shared_sandbox.shell("kill -9 $$")
    assert out.exit_code == -1 and out.success is False


async def test_stdout_text_is_strict_utf8(shared_sandbox):
    out = await shared_sandbox.shell(r"printf '\377\376'")
    assert out.stdout_bytes == b"\xff\xfe"
    with pytest.raises(UnicodeDecodeError):
        out.stdout_text


async def test_large_output_is_collected_whole(shared_sandbox):
    out = await shared_sandbox.shell("head -c 5000000 /dev/zero | tr '\\0' x")
    assert out.stdout_bytes == b"x" * 5000000


async def test_cwd_env_user_options(shared_sandbox):
    out = await shared_sandbox.exec("sh", ["-c", 'printf "%s:%s:%s\\n" "$(pwd)" "$V" "$(id -un)"'],
                                    cwd="/tmp", env={"V": "kw"}, user="nobody")
    assert out.stdout_text == "/tmp:kw:nobody\n"


async def test_legacy_options_dict_overrides_kwargs(shared_sandbox):
    out = await shared_sandbox.exec("sh", {"args": ["-c", 'printf "%s:%s\\n" "$(pwd)" "$V"'], "cwd": "/tmp",
                                           "env": {"V": "dict"}, "timeout": 30.0}, cwd="/")
    assert out.stdout_text == "/tmp:dict\n"
    out = await shared_sandbox.exec("cat", {"stdin_data": b"from-dict"})
    assert out.stdout_text == "from-dict"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda sb: sb.exec("true", "not-a-list"), TypeError, "args must be a list of strings, not a string"),
        (lambda sb: sb.exec("true", b"bytes"), TypeError, "args must be a list of strings, not a string"),
        (lambda sb: sb.exec("true", ("a",)), TypeError, "args must be a list of strings"),
        (lambda sb: sb.exec("true", [1]), TypeError, "args must be a list of strings"),
        (lambda sb: sb.exec("true", {"args": [], "typo": True}), TypeError, "unknown exec option: typo"),
        (lambda sb: sb.exec("true", env=[("A", "B")]), TypeError, "env must be a Mapping"),
        (lambda sb: sb.exec("true", timeout=-1), ValueError, "timeout must be non-negative"),
        (lambda sb: sb.exec("true", stdin="null"), TypeError, "stdin must be Stdin"),
        (lambda sb: sb.exec("true", rlimits=[{"resource": "cpu", "soft": 1, "hard": 1}]), TypeError,
         "rlimit must be Rlimit, got dict"),
        (lambda sb: sb.shell("true", timeout=-0.5), ValueError, "timeout must be non-negative"),
        (lambda sb: sb.exec_stream("true", "x"), TypeError, "args must be a list of strings, not a string"),
    ],
)
async def test_exec_option_validation(shared_sandbox, call, error, message):
    with pytest.raises(error, match=message):
        await call(shared_sandbox)


async def test_exec_options_object_without_dict_shape_is_rejected(shared_sandbox):
    class FakeExecOptions:
        def _to_dict(self):
            return {"args": []}

    with pytest.raises(TypeError, match="args must be a list of strings"):
        await shared_sandbox.exec("true", FakeExecOptions())


async def test_stdin_modes(shared_sandbox):
    assert (await shared_sandbox.exec("cat")).stdout_text == ""  # null: EOF at once
    assert (await shared_sandbox.exec("cat", stdin=Stdin.null())).stdout_text == ""
    assert (await shared_sandbox.exec("cat", stdin=Stdin.bytes(b"bytes-in\n"))).stdout_text == "bytes-in\n"
    assert (await shared_sandbox.exec("cat", stdin=b"raw-bytes")).stdout_text == "raw-bytes"
    big = bytes(range(256)) * 40000
    assert (await shared_sandbox.exec("cat", stdin=big)).stdout_bytes == big


async def test_tty_merges_stderr_into_stdout(shared_sandbox):
    out = await shared_sandbox.shell("echo out; echo err >&2; test -t 1 && echo tty", tty=True)
    assert out.stderr_bytes == b""
    assert out.stdout_bytes.replace(b"\r\n", b"\n") == b"out\nerr\ntty\n"


async def test_rlimits_apply(shared_sandbox):
    out = await shared_sandbox.shell("ulimit -n; ulimit -Hn", rlimits=[Rlimit.nofile(123)])
    assert out.stdout_text == "123\n123\n"
    with pytest.raises(ValueError):
        Rlimit("nofile-ish", 1, 1)


async def test_timeout_kills_and_raises_exec_timeout(shared_sandbox):
    with pytest.raises(ExecTimeoutError):
        await shared_sandbox.shell("sleep 31", timeout=0.3)
    assert await count_processes(shared_sandbox, "sleep 31") == 0  # killed, and reaped already
    ok = await shared_sandbox.shell("echo fast", timeout=30)
    assert ok.stdout_text == "fast\n"


async def test_command_that_cannot_start_raises_exec_failed(shared_sandbox):
    with pytest.raises(ExecFailedError, match="not_found"):
        await shared_sandbox.exec("/no/such/binary")
    with pytest.raises(ExecFailedError, match="bad_cwd"):
        await shared_sandbox.exec("true", cwd="/no/such/dir")


async def test_exec_on_a_stopped_sandbox_is_not_running(sandbox):
    await sandbox.stop()
    with pytest.raises(SandboxNotRunningError):
        await sandbox.exec("true")


async def test_exec_is_cancellable(shared_sandbox):
    import asyncio

    task = asyncio.ensure_future(shared_sandbox.exec("sleep", ["32"]))
    assert await count_processes(shared_sandbox, "sleep 32", wait_for=1) == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await count_processes(shared_sandbox, "sleep 32", wait_for=0) == 0


async def test_concurrent_execs_on_one_sandbox(shared_sandbox):
    import asyncio

    outs = await asyncio.gather(*(shared_sandbox.shell(f"sleep 0.2; echo {i}") for i in range(30)))
    assert [o.stdout_text for o in outs] == [f"{i}\n" for i in range(30)]
    assert signal.SIGTERM  # (signal module used by the stream tests too)
    assert isinstance(Sandbox, type)
