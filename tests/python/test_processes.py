"""Across processes: detach + Sandbox.get(...).connect() from a second Python process, the
attached-mode watchdog, attach on a PTY driven through pty.fork, and 20 sandboxes at once
from one event loop."""

import asyncio
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import textwrap
import time

import pytest

from conftest import BUILD, IMAGE, cleanup, unique_name
from microsandbox import Sandbox, SandboxStatus


def run_python(code, timeout=60):
    """Runs `code` in a fresh interpreter with this suite's environment."""
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          env=env, timeout=timeout)


async def test_detach_then_connect_from_another_process():
    name = unique_name("detach")
    try:
        sb = await Sandbox.create(name, image=IMAGE)
        await sb.shell("echo written-before-detach > /root/marker")
        await sb.detach()
        p = run_python(f"""
            import asyncio
            from microsandbox import Sandbox

            async def main():
                handle = await Sandbox.get({name!r})
                sb = await handle.connect()
                assert await sb.owns_lifecycle is False
                print((await sb.shell("cat /root/marker")).stdout_text, end="")
                await sb.detach()

            asyncio.run(main())
        """)
        assert p.returncode == 0, p.stderr
        assert p.stdout == "written-before-detach\n"
        assert (await Sandbox.get(name)).status is SandboxStatus.RUNNING
    finally:
        await cleanup(name)


async def test_a_detached_sandbox_outlives_the_process_that_created_it():
    name = unique_name("outlive")
    try:
        p = run_python(f"""
            import asyncio
            from microsandbox import Sandbox

            async def main():
                sb = await Sandbox.create({name!r}, image={IMAGE!r})
                await sb.shell("echo from-child > /root/f")
                await sb.detach()

            asyncio.run(main())
        """)
        assert p.returncode == 0, p.stderr
        sb = await (await Sandbox.get(name)).connect()
        assert (await sb.shell("cat /root/f")).stdout_text == "from-child\n"
    finally:
        await cleanup(name)


async def test_an_attached_sandbox_stops_when_its_creator_exits():
    name = unique_name("attached")
    try:
        p = run_python(f"""
            import asyncio
            from microsandbox import Sandbox

            async def main():
                global keep
                keep = await Sandbox.create({name!r}, image={IMAGE!r})

            asyncio.run(main())
            import os
            os._exit(0)  # no cleanup at all: the runtime notices its creator is gone
        """)
        assert p.returncode == 0, p.stderr
        handle = await Sandbox.get(name)
        result = await asyncio.wait_for(handle.wait_until_stopped(), 20)
        assert result.status in (SandboxStatus.STOPPED, SandboxStatus.CRASHED)
    finally:
        await cleanup(name)


def _pty_session(code, inputs, timeout=30.0, rows=33, cols=111):
    """Runs `code` in a fresh interpreter on a new PTY. `inputs` is a list of (wait_for,
    send): once `wait_for` (bytes) has appeared in the output, `send` is written. Returns
    (exit status, all output)."""
    env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"), TERM="xterm")
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execve(sys.executable, [sys.executable, "-c", textwrap.dedent(code)], env)
        finally:
            os._exit(127)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    out = bytearray()
    pending = list(inputs)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if pending and pending[0][0] in out:
                os.write(master, pending.pop(0)[1])
            r, _, _ = select.select([master], [], [], 0.1)
            if not r:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not chunk:
                break
            out += chunk
        else:
            os.kill(pid, 9)
            raise AssertionError(f"PTY session timed out; output so far: {bytes(out)!r}")
    finally:
        os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), bytes(out)


async def test_attach_shell_on_a_pty():
    name = unique_name("attach")
    code = f"""
        import asyncio
        from microsandbox import Sandbox

        async def main():
            async with await Sandbox.create({name!r}, image={IMAGE!r}) as sb:
                rc = await sb.attach_shell()
            print("attach-returned", rc)
            return rc

        raise SystemExit(asyncio.run(main()))
    """
    status, out = await asyncio.get_running_loop().run_in_executor(None, lambda: _pty_session(
        code, [(b"# ", b"echo hi-$((6*7)); stty size; exit 5\r")]))
    text = out.decode(errors="replace")
    assert "hi-42" in text, text
    assert "33 111" in text, text  # the caller's window size reached the sandbox's PTY
    assert "attach-returned 5" in text, text
    assert status == 5
    await cleanup(name)


@pytest.mark.parametrize(("keys_arg", "keys"), [("", b"\x1d"), (', detach_keys="ctrl-p,ctrl-q"', b"\x10\x11")])
async def test_attach_detach_keys_leave_the_process_running(keys_arg, keys):
    """The default detach key is ctrl-]; a custom sequence replaces it."""
    name = unique_name("attachdet")
    code = f"""
        import asyncio
        from microsandbox import Sandbox

        async def main():
            async with await Sandbox.create({name!r}, image={IMAGE!r}) as sb:
                rc = await sb.attach("sh", ["-c", "echo attached-ok; sleep 300"]{keys_arg})
                for _ in range(100):  # the shell may not have started sleep yet
                    ps = await sb.shell("ps -o args | grep -c '^sleep 300' || true")
                    if ps.stdout_text.strip() == "1":
                        break
                    await asyncio.sleep(0.02)
                print("detached", rc, "sleepers", ps.stdout_text.strip())

        asyncio.run(main())
    """
    status, out = await asyncio.get_running_loop().run_in_executor(None, lambda: _pty_session(
        code, [(b"attached-ok", keys)]))
    text = out.decode(errors="replace")
    assert "detached 0 sleepers 1" in text, text
    assert status == 0
    await cleanup(name)


async def test_twenty_sandboxes_concurrently_from_one_loop():
    names = [unique_name(f"c{i}") for i in range(20)]
    try:
        sandboxes = await asyncio.gather(*(Sandbox.create(n, image=IMAGE) for n in names))
        outs = await asyncio.gather(*(sb.shell(f"echo {i}; hostname") for i, sb in enumerate(sandboxes)))
        assert [o.stdout_text.split()[0] for o in outs] == [str(i) for i in range(20)]
        assert len({o.stdout_text.split()[1] for o in outs}) == 20
        streams = await asyncio.gather(*(sb.shell_stream("sleep 0.2; echo s") for sb in sandboxes))
        assert all(o.stdout_text == "s\n" for o in await asyncio.gather(*(h.collect() for h in streams)))
        await asyncio.gather(*(sb.stop() for sb in sandboxes))
        statuses = {(await Sandbox.get(n)).status for n in names}
        assert statuses == {SandboxStatus.STOPPED}
        await asyncio.gather(*(sb.remove_persisted() for sb in sandboxes))
    finally:
        await cleanup(*names)
    with pytest.raises(Exception):
        await Sandbox.get(names[0])
