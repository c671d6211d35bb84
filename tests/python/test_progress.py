"""create_with_progress and PullSession (API.md §1.11): events for a cached image, for a pull
from a local registry (Debian's docker-registry on 127.0.0.1), result() once, failures."""

import os
import shutil
import sys
import tempfile

import pytest

from conftest import IMAGE, REPO, cleanup, unique_name
from microsandbox import (
    ImageNotFoundError,
    MicrosandboxError,
    PullEvent,
    PullEventType,
    PullSession,
    Sandbox,
)

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from registry import regfix  # noqa: E402  (the registry helpers of the integration suite)


@pytest.fixture(scope="module")
def local_registry():
    if not os.access(regfix.DOCKER_REGISTRY, os.X_OK):
        pytest.skip("docker-registry is not installed")
    d = tempfile.mkdtemp(prefix="msb-py-reg-")
    r = regfix.Registry(d)
    yield r
    r.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def pushed_image(local_registry, image_dir):
    """busybox pushed as <registry>/msbtest/py-…:v1; returns the reference."""
    repo = regfix.unique_repo("py")
    img = regfix.Image([regfix.busybox_layer(image_dir),
                        regfix.Layer.of([("file", "etc/pushed", "from-the-registry\n")])])
    regfix.Pusher(local_registry.host).image(repo, "v1", img)
    return f"{local_registry.host}/{repo}:v1"


async def collect(session):
    events = []
    async with session:
        async for event in session.progress:
            events.append(event)
        sb = await session.result()
    return events, sb


async def test_cached_image_emits_resolving_resolved_complete():
    name = unique_name("prog")
    try:
        session = Sandbox.create_with_progress(name, image=IMAGE)
        assert isinstance(session, PullSession)
        events, sb = await collect(session)
        assert all(isinstance(e, PullEvent) and isinstance(e.event_type, PullEventType) for e in events)
        types = [e.event_type for e in events]
        assert types[0] is PullEventType.RESOLVING and types[-1] is PullEventType.COMPLETE
        assert PullEventType.RESOLVED in types
        resolved = next(e for e in events if e.event_type == "resolved")
        assert resolved.reference and resolved.manifest_digest.startswith("sha256:")
        assert resolved.layer_count > 0
        assert events[-1].reference == resolved.reference and events[-1].layer_count == resolved.layer_count
        assert events[0].manifest_digest is None  # fields that do not apply are None
        assert await sb.name == name and (await sb.shell("echo ok")).stdout_text == "ok\n"
    finally:
        await cleanup(name)


async def test_pull_from_a_local_registry_reports_layer_progress(pushed_image):
    name = unique_name("pull")
    try:
        events, sb = await collect(Sandbox.create_with_progress(name, image=pushed_image, pull_policy="always"))
        types = [e.event_type for e in events]
        assert types[0] is PullEventType.RESOLVING and types[-1] is PullEventType.COMPLETE
        resolved = next(e for e in events if e.event_type is PullEventType.RESOLVED)
        assert resolved.layer_count == 2 and resolved.total_download_bytes > 0
        assert PullEventType.LAYER_DOWNLOAD_COMPLETE in types or PullEventType.LAYER_MATERIALIZE_COMPLETE in types
        for e in events:
            if e.event_type is PullEventType.LAYER_DOWNLOAD_PROGRESS:
                assert e.layer_index is not None and e.digest and e.downloaded_bytes is not None
        assert (await sb.shell("cat /etc/pushed")).stdout_text == "from-the-registry\n"
    finally:
        await cleanup(name)


async def test_plain_create_pulls_when_missing(pushed_image):
    name = unique_name("pull2")
    try:
        sb = await Sandbox.create(name, image=pushed_image)
        assert (await sb.shell("cat /etc/pushed")).stdout_text == "from-the-registry\n"
    finally:
        await cleanup(name)


async def test_result_is_single_use():
    name = unique_name("once")
    try:
        session = Sandbox.create_with_progress(name, image=IMAGE, replace=True)
        async with session:
            async for _ in session.progress:
                pass
            sb = await session.result()
            with pytest.raises(RuntimeError, match="already consumed"):
                await session.result()
        assert await sb.owns_lifecycle is True
    finally:
        await cleanup(name)


async def test_detached_create_with_progress():
    name = unique_name("progdet")
    try:
        events, sb = await collect(Sandbox.create_with_progress(name, image=IMAGE, detached=True))
        assert events[0].event_type == "resolving" and events[-1].event_type == "complete"
        assert await sb.owns_lifecycle is False
    finally:
        await cleanup(name)


async def test_failure_surfaces_from_result():
    name = unique_name("progerr")
    session = Sandbox.create_with_progress(name, image="sdk-nonexistent-image-xyz789:never", pull_policy="never")
    async with session:
        async for _ in session.progress:
            pass
        with pytest.raises(ImageNotFoundError):
            await session.result()
    with pytest.raises(MicrosandboxError):
        await Sandbox.get(name)


async def test_pull_failure_is_image_pull_failed(local_registry):
    from microsandbox import ImagePullFailedError

    name = unique_name("nopull")
    with pytest.raises((ImagePullFailedError, ImageNotFoundError)):
        await Sandbox.create(name, image=f"{local_registry.host}/msbtest/absent:v1")


async def test_session_created_outside_a_loop_starts_on_first_use():
    import asyncio

    name = unique_name("lazy")
    try:
        session = await asyncio.get_running_loop().run_in_executor(
            None, lambda: Sandbox.create_with_progress(name, image=IMAGE))
        events, sb = await collect(session)
        assert events[-1].event_type is PullEventType.COMPLETE
        assert await sb.name == name
    finally:
        await cleanup(name)
