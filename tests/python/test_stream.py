"""exec_stream / shell_stream: ExecHandle events, stdin, signals, resize, collect and wait."""

import asyncio
import signal

import pytest

from conftest import count_processes
from microsandbox import ExecEvent, ExecEventType, ExecFailedError, MicrosandboxError, Stdin


async def test_events_arrive_in_order(shared_sandbox):
    handle = await shared_sandbox.exec_stream("sh", ["-c", "echo stream; echo err >&2; exit 7"])
    assert isinstance(handle.id, str) and handle.id
    events = [ev async for ev in handle]
    assert all(isinstance(ev, ExecEvent) and isinstance(ev.event_type, ExecEventType) for ev in events)
    assert events[0].event_type is ExecEventType.STARTED and events[0].pid > 0
    assert events[-1].event_type is ExecEventType.EXITED and events[-1].code == 7
    assert b"".join(e.data for e in events if e.event_type is ExecEventType.STDOUT) == b"stream\n"
    assert b"".join(e.data for e in events if e.event_type is ExecEventType.STDERR) == b"err\n"
    assert await handle.recv() is None


async def test_collect_and_wait(shared_sandbox):
    h = await shared_sandbox.exec_stream("sh", ["-c", "echo out; echo e >&2"], timeout=30.0)
    out = await h.collect()
    assert (out.success, out.stdout_text, out.stderr_text) == (True, "out\n", "e\n")
    h = await shared_sandbox.shell_stream("exit 3")
    assert await h.wait() == (3, False)


async def test_stdin_pipe_and_take_stdin_contract(shared_sandbox):
    no_pipe = await shared_sandbox.exec_stream("echo", ["hi"])
    assert no_pipe.take_stdin() is None
    assert (await no_pipe.collect()).stdout_text == "hi\n"

    piped = await shared_sandbox.exec_stream("cat", stdin=Stdin.pipe())
    sink = piped.take_stdin()
    assert sink is not None and piped.take_stdin() is None
    for i in range(5):
        await sink.write(f"line{i}\n".encode())
    await sink.write(b"x" * 1_000_000)
    await sink.close()
    with pytest.raises(RuntimeError):
        await sink.write(b"late")
    out = await piped.collect()
    assert out.stdout_bytes == b"".join(f"line{i}\n".encode() for i in range(5)) + b"x" * 1_000_000


async def test_signal_reaches_the_process_group(shared_sandbox):
    handle = await shared_sandbox.shell_stream("trap 'echo got-term; exit 9' TERM; sleep 30 & wait")
    first = await handle.recv()
    assert first.event_type is ExecEventType.STARTED
    await asyncio.sleep(0.2)
    await handle.signal(signal.SIGTERM)
    out = await handle.collect()
    assert out.exit_code == 9 and "got-term" in out.stdout_text


async def test_kill(shared_sandbox):
    handle = await shared_sandbox.shell_stream("sleep 30")
    await handle.recv()
    await handle.kill()
    assert await handle.wait() == (-1, False)
    await handle.kill()  # after the end: a no-op


async def test_resize_while_a_recv_is_pending(shared_sandbox):
    handle = await shared_sandbox.shell_stream("printf 'ready\\n'; read value; stty size", stdin=Stdin.pipe(),
                                               tty=True)
    stdin = handle.take_stdin()
    while True:
        ev = await handle.recv()
        assert ev is not None
        if ev.event_type is ExecEventType.STDOUT and b"ready" in ev.data:
            break
    pending = asyncio.ensure_future(handle.recv())
    await asyncio.wait_for(handle.resize(40, 100), timeout=5)
    await stdin.write(b"continue\n")
    events = [await pending] + [ev async for ev in handle]
    output = b"".join(ev.data or b"" for ev in events if ev and ev.event_type is ExecEventType.STDOUT)
    assert b"40 100" in output
    with pytest.raises(ValueError):
        await handle.resize(0, 10)


async def test_missing_binary_surfaces_as_failure(shared_sandbox):
    try:
        handle = await shared_sandbox.exec_stream("/no/such/binary")
    except MicrosandboxError:
        return
    events = [ev async for ev in handle]
    assert events[-1].event_type is ExecEventType.FAILED
    assert b"not_found" in events[-1].data
    h2 = await shared_sandbox.exec_stream("/no/such/binary")
    with pytest.raises(ExecFailedError):
        await h2.collect()


async def test_many_streams_concurrently(shared_sandbox):
    handles = [await shared_sandbox.shell_stream(f"for i in 1 2 3; do echo {n}-$i; sleep 0.05; done")
               for n in range(20)]
    outs = await asyncio.gather(*(h.collect() for h in handles))
    assert [o.stdout_text for o in outs] == [f"{n}-1\n{n}-2\n{n}-3\n" for n in range(20)]


async def test_fast_producer_with_slow_consumer(shared_sandbox):
    handle = await shared_sandbox.shell_stream("i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done")
    await asyncio.sleep(0.5)  # let thousands of events queue up
    out = await handle.collect()
    lines = out.stdout_text.split("\n")
    assert lines[0] == "line0" and lines[2999] == "line2999"


async def test_dropping_a_handle_kills_its_process(shared_sandbox):
    import gc

    handle = await shared_sandbox.exec_stream("sleep", ["303"])
    await handle.recv()
    assert await count_processes(shared_sandbox, "sleep 303", wait_for=1) == 1
    del handle
    gc.collect()
    assert await count_processes(shared_sandbox, "sleep 303", wait_for=0) == 0
