"""Lifecycle: create/get/list/connect/stop/start/remove, ownership, detach, consumed handles,
async with, stop_and_wait / wait / kill / drain, and the errors of each (API.md §1.2–§1.7)."""

import asyncio

import pytest

from conftest import IMAGE, cleanup, unique_name
from microsandbox import (
    MicrosandboxError,
    Sandbox,
    SandboxHandle,
    SandboxNotFoundError,
    SandboxNotRunningError,
    SandboxPage,
    SandboxStatus,
    SandboxStillRunningError,
)


async def test_create_get_list_connect_stop_start_remove(sandbox_factory):
    sb = await sandbox_factory("life")
    name = await sb.name
    assert await sb.owns_lifecycle is True
    ping = await sb.ping()
    assert ping.name == name and ping.latency_ms >= 0
    touch = await sb.touch()
    assert touch.name == name and touch.activity_seq > 0

    page = await Sandbox.list()
    assert isinstance(page, SandboxPage) and isinstance(page, list)
    assert page.next_cursor is None and page.sandboxes == list(page)
    assert any(h.name == name for h in page)

    handle = await Sandbox.get(name)
    assert isinstance(handle, SandboxHandle)
    assert handle.status is SandboxStatus.RUNNING and handle.status == "running"
    assert isinstance(handle.created_at, float) and isinstance(handle.updated_at, float)
    assert (await handle.ping()).name == name and (await handle.touch()).activity_seq > 0

    connected = await handle.connect()
    assert await connected.owns_lifecycle is False
    assert (await connected.shell("printf connected")).stdout_text == "connected"
    await connected.detach()

    with pytest.raises(SandboxStillRunningError):
        await Sandbox.remove(name)
    with pytest.raises(SandboxStillRunningError):
        await handle.remove()

    await sb.stop()
    stopped = await handle.refresh()
    assert stopped.status is SandboxStatus.STOPPED
    with pytest.raises(SandboxNotRunningError):
        await handle.ping()
    with pytest.raises(SandboxNotRunningError):
        await stopped.touch()
    with pytest.raises(SandboxNotRunningError):
        await handle.connect()

    restarted = await Sandbox.start(name)
    assert await restarted.owns_lifecycle is True
    assert (await restarted.shell("printf restarted")).stdout_text == "restarted"
    await restarted.stop()
    await Sandbox.remove(name)
    with pytest.raises(SandboxNotFoundError):
        await Sandbox.get(name)


async def test_unknown_names_are_not_found():
    name = unique_name("ghost")
    for call in (Sandbox.get(name), Sandbox.start(name), Sandbox.remove(name)):
        with pytest.raises(SandboxNotFoundError):
            await call


async def test_writes_survive_stop_and_start(sandbox_factory):
    sb = await sandbox_factory("persist")
    name = await sb.name
    await sb.shell("echo kept > /root/file")
    await sb.stop()
    again = await (await Sandbox.get(name)).start()
    assert (await again.shell("cat /root/file")).stdout_text == "kept\n"


async def test_async_with_kills_and_removes_and_never_suppresses():
    name = unique_name("ctx")
    with pytest.raises(ZeroDivisionError):
        async with await Sandbox.create(name, image=IMAGE) as sb:
            assert (await sb.shell("echo in")).stdout_text == "in\n"
            1 / 0
    with pytest.raises(SandboxNotFoundError):
        await Sandbox.get(name)
    with pytest.raises(RuntimeError, match="sandbox has been consumed"):
        await sb.shell("true")

    # Regardless of ownership: a detached sandbox too.
    name2 = unique_name("ctx2")
    async with await Sandbox.create(name2, image=IMAGE, detached=True) as sb2:
        assert await sb2.owns_lifecycle is False
    with pytest.raises(SandboxNotFoundError):
        await Sandbox.get(name2)


async def test_consumed_handles_raise_runtime_error(sandbox_factory):
    sb = await sandbox_factory("consumed")
    name = await sb.name
    await sb.detach()
    for call in (lambda: sb.shell("true"), lambda: sb.stop(), lambda: sb.metrics(), lambda: sb.detach()):
        with pytest.raises(RuntimeError, match="sandbox has been consumed"):
            await call()
    with pytest.raises(RuntimeError, match="sandbox has been consumed"):
        await sb.name
    with pytest.raises(RuntimeError, match="sandbox has been consumed"):
        sb.fs
    # Detached, it still runs: reconnect.
    again = await (await Sandbox.get(name)).connect()
    assert (await again.shell("echo still")).stdout_text == "still\n"
    await again.stop()
    await again.remove_persisted()
    with pytest.raises(RuntimeError, match="sandbox has been consumed"):
        await again.exec("true")
    with pytest.raises(SandboxNotFoundError):
        await Sandbox.get(name)


async def test_dropping_an_attached_handle_stops_its_sandbox():
    import gc

    name = unique_name("drop")
    try:
        sb = await Sandbox.create(name, image=IMAGE)
        del sb
        gc.collect()
        handle = await Sandbox.get(name)
        await asyncio.wait_for(handle.wait_until_stopped(), 15)
        assert (await handle.refresh()).status in (SandboxStatus.STOPPED, SandboxStatus.CRASHED)
    finally:
        await cleanup(name)


async def test_stop_and_wait_returns_exit_status(sandbox_factory):
    sb = await sandbox_factory("saw")
    code, success = await sb.stop_and_wait()
    assert isinstance(code, int) and success is (code == 0)
    assert (await Sandbox.get(await sb.name)).status is SandboxStatus.STOPPED


async def test_stop_and_wait_on_a_non_owner_requests_the_stop(sandbox_factory):
    sb = await sandbox_factory("saw2", detached=True)
    assert await sb.stop_and_wait() == (0, True)
    handle = await Sandbox.get(await sb.name)
    result = await asyncio.wait_for(handle.wait_until_stopped(), 15)
    assert result.status is SandboxStatus.STOPPED and result.name == handle.name
    assert isinstance(result.observed_at, float)


async def test_wait_needs_ownership_and_returns_when_the_sandbox_ends(sandbox_factory):
    sb = await sandbox_factory("wait")
    other = await (await Sandbox.get(await sb.name)).connect()
    with pytest.raises(MicrosandboxError, match="cannot wait: not the lifecycle owner"):
        await other.wait()
    waiter = asyncio.ensure_future(sb.wait())
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await other.request_stop()
    code, success = await asyncio.wait_for(waiter, 15)
    assert success is (code == 0)


async def test_kill_stops_at_once(sandbox_factory):
    sb = await sandbox_factory("kill")
    await sb.shell("sleep 1000 &")
    await sb.kill()
    handle = await Sandbox.get(await sb.name)
    assert handle.status is SandboxStatus.STOPPED
    with pytest.raises(SandboxNotRunningError):
        await sb.shell("true")


async def test_request_kill_and_handle_kill(sandbox_factory):
    a = await sandbox_factory("rk")
    await a.request_kill()
    await asyncio.wait_for((await Sandbox.get(await a.name)).wait_until_stopped(), 15)
    b = await sandbox_factory("hk")
    handle = await Sandbox.get(await b.name)
    await handle.kill()
    assert (await handle.refresh()).status is SandboxStatus.STOPPED
    c = await sandbox_factory("hs")
    await (await Sandbox.get(await c.name)).stop_with_timeout(0)
    assert (await Sandbox.get(await c.name)).status is SandboxStatus.STOPPED


async def test_drain_lets_running_commands_finish_then_stops(sandbox_factory):
    sb = await sandbox_factory("drain")
    running = await sb.shell_stream("sleep 0.5; echo finished")
    await running.recv()
    await sb.drain()
    out = await running.collect()
    assert out.stdout_text == "finished\n"
    handle = await Sandbox.get(await sb.name)
    await asyncio.wait_for(handle.wait_until_stopped(), 15)
    with pytest.raises(SandboxNotRunningError):
        await (await handle.refresh()).ping()


async def test_drain_of_a_stopped_sandbox_is_not_running(sandbox_factory):
    sb = await sandbox_factory("drain2")
    await sb.stop()
    with pytest.raises(SandboxNotRunningError):
        await sb.drain()


async def test_list_with_labels_and_paging(sandbox_factory):
    owner = unique_name("owner")
    web = await sandbox_factory("web", labels={"owner": owner, "tier": "web"})
    job = await sandbox_factory("job", labels={"owner": owner, "tier": "job"})
    other = await sandbox_factory("other", labels={"owner": owner + "-else"})
    names = {await s.name for s in (web, job, other)}
    by_owner = {h.name for h in await Sandbox.list_with(labels={"owner": owner})}
    assert by_owner == names - {await other.name}
    web_only = {h.name for h in await Sandbox.list_with(labels={"owner": owner, "tier": "web"})}
    assert web_only == {await web.name}

    seen, cursor = [], None
    while True:
        page = await Sandbox.list_with(cursor=cursor, limit=1, labels={"owner": owner})
        assert len(page) <= 1
        seen += [h.name for h in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert set(seen) == by_owner and len(seen) == 2
    with pytest.raises(ValueError):
        await Sandbox.list_with(limit=0)


async def test_remove_persisted_of_a_stopped_sandbox(sandbox_factory):
    sb = await sandbox_factory("rp")
    name = await sb.name
    with pytest.raises(SandboxStillRunningError):
        await sb.remove_persisted()
    await sb.stop()
    await sb.remove_persisted()
    with pytest.raises(SandboxNotFoundError):
        await Sandbox.get(name)


async def test_connect_with_timeout(sandbox_factory):
    sb = await sandbox_factory("cwt")
    handle = await Sandbox.get(await sb.name)
    c = await handle.connect_with_timeout(5.0)
    assert (await c.exec("echo", ["x"])).stdout_text == "x\n"
    with pytest.raises(ValueError):
        await handle.connect_with_timeout(-1)


async def test_max_duration_stops_the_sandbox(sandbox_factory):
    sb = await sandbox_factory("maxdur", max_duration=1.0)
    code, _ = await asyncio.wait_for(sb.wait(), 15)
    assert isinstance(code, int)
    assert (await Sandbox.get(await sb.name)).status is SandboxStatus.STOPPED
