"""Metrics, metrics streams, all_sandbox_metrics, logs with filters and log streams
(API.md §1.10)."""

import asyncio
import time

import pytest

from microsandbox import (
    LogEntry,
    LogReadSource,
    LogSource,
    MetricsStream,
    MetricsUnavailableError,
    MicrosandboxError,
    Sandbox,
    SandboxMetrics,
    SandboxNotFoundError,
    all_sandbox_metrics,
)


async def wait_for_metrics(sb):
    for _ in range(50):
        try:
            return await sb.metrics()
        except MetricsUnavailableError as e:
            assert "no live metrics slot" in str(e)
            await asyncio.sleep(0.1)
    raise AssertionError("no metrics within 5 s")


async def test_metrics_snapshot(sandbox):
    await sandbox.shell("true")
    m = await wait_for_metrics(sandbox)
    assert isinstance(m, SandboxMetrics)
    assert isinstance(m.cpu_percent, float) and m.cpu_percent >= 0
    assert m.memory_limit_bytes > 0 and m.memory_bytes >= 0
    assert m.uptime_ms >= 0 and m.timestamp_ms > 1.6e12 and isinstance(m.timestamp_ms, float)
    for field in ("disk_read_bytes", "disk_write_bytes", "net_rx_bytes", "net_tx_bytes", "vcpu_time_ns"):
        assert isinstance(getattr(m, field), int)
    handle_m = await (await Sandbox.get(await sandbox.name)).metrics()
    assert handle_m.memory_limit_bytes == m.memory_limit_bytes


async def test_metrics_of_a_stopped_sandbox_are_unavailable(sandbox):
    await sandbox.stop()
    with pytest.raises(MetricsUnavailableError):
        await (await Sandbox.get(await sandbox.name)).metrics()


async def test_memory_limit_follows_the_config(sandbox_factory):
    sb = await sandbox_factory("mem", memory=256)
    m = await wait_for_metrics(sb)
    assert m.memory_limit_bytes == 256 * 1024 * 1024


async def test_metrics_stream_recv_and_async_for_then_end(sandbox):
    stream = await sandbox.metrics_stream(0.1)
    assert isinstance(stream, MetricsStream)
    first = await stream.recv()
    assert first.memory_limit_bytes > 0
    t0 = time.monotonic()
    samples = []
    async for m in stream:
        samples.append(m)
        if len(samples) == 3:
            break
    assert time.monotonic() - t0 >= 0.25  # paced by the interval
    assert (await stream.__anext__()).timestamp_ms >= first.timestamp_ms
    await sandbox.stop()
    assert await stream.recv() is None
    with pytest.raises(ValueError):
        await sandbox.metrics_stream(-1)


async def test_all_sandbox_metrics(sandbox_factory):
    a = await sandbox_factory("m1")
    b = await sandbox_factory("m2")
    await wait_for_metrics(a)
    await wait_for_metrics(b)
    metrics = await all_sandbox_metrics()
    assert {await a.name, await b.name} <= set(metrics)
    assert all(isinstance(m, SandboxMetrics) for m in metrics.values())
    await b.stop()
    assert await b.name not in await all_sandbox_metrics()


async def test_logs_sources_and_entries(sandbox):
    await sandbox.shell("echo old-line")
    await sandbox.shell("echo recent-line; echo err-line >&2")
    await sandbox.shell("echo pty-line", tty=True)

    entries = await sandbox.logs()
    assert all(isinstance(e, LogEntry) for e in entries)
    text = "".join(e.text() for e in entries)
    assert "old-line" in text and "recent-line" in text and "err-line" in text and "pty-line" in text
    assert {e.source for e in entries} == {LogSource.STDOUT, LogSource.STDERR, LogSource.OUTPUT}
    assert all(isinstance(e.data, bytes) and e.cursor and isinstance(e.session_id, int) for e in entries)
    assert [e.timestamp_ms for e in entries] == sorted(e.timestamp_ms for e in entries)

    stdout = await sandbox.logs(sources=[LogReadSource.STDOUT])
    assert all(e.source is LogSource.STDOUT for e in stdout)
    stderr = await sandbox.logs(sources=["stderr"])
    assert [e.text() for e in stderr] == ["err-line\n"]
    system = await sandbox.logs(sources=["system"])
    assert system and all(e.source is LogSource.SYSTEM and e.session_id is None for e in system)
    assert any("sandbox started" in e.text() for e in system)
    everything = await sandbox.logs(sources=["all"])
    assert {e.source for e in everything} == set(LogSource)
    with pytest.raises(ValueError):
        await sandbox.logs(sources=["bogus"])


async def test_logs_tail_and_time_window(sandbox):
    for i in range(5):
        await sandbox.shell(f"echo line{i}")
    tail = await sandbox.logs(tail=2)
    assert [e.text() for e in tail] == ["line3\n", "line4\n"]
    assert await sandbox.logs(tail=0) == []
    everything = await sandbox.logs()
    t3 = everything[3].timestamp_ms
    since = await sandbox.logs(since_ms=t3)
    assert all(e.timestamp_ms >= t3 for e in since) and "line3\n" in [e.text() for e in since]
    until = await sandbox.logs(until_ms=t3)
    assert all(e.timestamp_ms < t3 for e in until)
    recent = await sandbox.logs(tail=50, since_ms=(time.time() - 3600) * 1000,
                                sources=["stdout", "stderr", "output", "system"])
    assert len(recent) >= 5
    with pytest.raises(ValueError):
        await sandbox.logs(tail=-1)


async def test_logs_of_a_stopped_sandbox_through_its_handle(sandbox):
    await sandbox.shell("echo before-stop")
    await sandbox.stop()
    handle = await Sandbox.get(await sandbox.name)
    assert "before-stop\n" in [e.text() for e in await handle.logs()]


async def test_log_stream_reads_and_resumes(sandbox):
    await sandbox.shell("echo one; echo two")
    stream = await sandbox.log_stream(sources=[LogReadSource.STDOUT], follow=False)
    streamed = [e async for e in stream]
    assert "".join(e.text() for e in streamed) == "one\ntwo\n"
    resumed = await sandbox.log_stream(sources=["stdout"], from_cursor=streamed[-1].cursor, follow=False)
    assert [e async for e in resumed] == []
    with pytest.raises(ValueError):
        await sandbox.log_stream(since_ms=1.0, from_cursor=streamed[0].cursor)


async def test_log_stream_follows_new_output(sandbox):
    stream = await sandbox.log_stream(sources=["stdout"], follow=True)
    await sandbox.shell("echo first")
    assert (await asyncio.wait_for(stream.recv(), 5)).text() == "first\n"
    await sandbox.shell("echo second")
    assert (await asyncio.wait_for(stream.recv(), 5)).text() == "second\n"


async def test_logs_of_an_unknown_sandbox(sandbox):
    handle = await Sandbox.get(await sandbox.name)
    await sandbox.kill()
    await handle.remove()
    with pytest.raises(MicrosandboxError):
        await handle.logs()
    with pytest.raises(SandboxNotFoundError):
        await handle.metrics()
