"""Every code example of the Sandbox reference page (seed/sandbox-python-reference.txt), run
as written. Only image names differ: "alpine" and "ubuntu:latest" become the loaded busybox
image or an image pushed to a local registry, "jrei/systemd-debian:12" an image (pushed to
the local registry) that has the init binaries the example names.

Snippets that are bodies of an async function run inside one (compiled verbatim);
snippets that call asyncio.run() themselves run in a fresh interpreter."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

import pytest

import microsandbox
from conftest import BUILD, IMAGE, REPO, cleanup

sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from registry import regfix  # noqa: E402


@pytest.fixture(scope="module")
def registry_images(image_dir):
    """(pulled image, init image) pushed to a local docker-registry."""
    if not os.access(regfix.DOCKER_REGISTRY, os.X_OK):
        pytest.skip("docker-registry is not installed")
    d = tempfile.mkdtemp(prefix="msb-py-ref-")
    reg = regfix.Registry(d)
    pusher = regfix.Pusher(reg.host)
    base = regfix.busybox_layer(image_dir)
    ubuntu = f"{reg.host}/library/ubuntu:latest"
    # A layer of its own, so the pull downloads something (the busybox layer is cached).
    own = regfix.Layer.of([("file", "etc/os-release", f"ID=ubuntu-stand-in-{os.getpid()}\n")])
    pusher.image("library/ubuntu", "latest", regfix.Image([base, own]))
    # An init that runs until asked to stop (PID 1 ignores signals it has no handler for).
    init = "#!/bin/sh\ntrap 'exit 0' TERM INT\necho \"init $0 $*\" > /run/init.txt\nenv > /run/init.env\n" \
           "while :; do sleep 1; done\n"
    systemd = regfix.Layer.of([
        ("dir", "lib/systemd"),
        ("file", "lib/systemd/systemd", init, 0o755),
        ("file", "sbin/init", init, 0o755),
    ])
    debian = f"{reg.host}/jrei/systemd-debian:12"
    pusher.image("jrei/systemd-debian", "12", regfix.Image([base, systemd]))
    yield ubuntu, debian
    reg.stop()
    shutil.rmtree(d, ignore_errors=True)


async def init_output(sb, path="/run/init.txt"):
    """What the init wrote (it starts after the agent is ready: give it a moment)."""
    for _ in range(100):
        out = await sb.shell(f"cat {path} 2>/dev/null")
        if out.stdout_text:
            return out.stdout_text
        await asyncio.sleep(0.05)
    raise AssertionError(f"the init never wrote {path}")


async def run_snippet(code, **names):
    """Compiles `code` as the body of an async function and awaits it; returns its locals."""
    src = "async def __example__():\n" + textwrap.indent(textwrap.dedent(code), "    ") + \
          "\n    return locals()\n"
    scope = {"microsandbox": microsandbox, **vars(microsandbox), "asyncio": asyncio, **names}
    exec(compile(src, "<reference example>", "exec"), scope)
    return await scope["__example__"]()


async def test_create_async_with_example(capsys):
    await run_snippet(f"""
        async with await Sandbox.create("my-sandbox", image="{IMAGE}") as sb:
            output = await sb.shell("echo hello")
            print(output.stdout_text)
        # sandbox is automatically killed and removed on exit
    """)
    assert capsys.readouterr().out == "hello\n\n"
    with pytest.raises(microsandbox.SandboxNotFoundError):
        await microsandbox.Sandbox.get("my-sandbox")


async def test_exec_example():
    # compute.py and a `python` on PATH exist before the example runs (busybox has no Python).
    sb = await microsandbox.Sandbox.create(
        "exec-example", image=IMAGE,
        scripts={"python": "#!/bin/sh\nexec sh \"$@\"\n"},
        patches=[microsandbox.Patch.mkdir("/app/lib"),
                 microsandbox.Patch.text("/app/compute.py", 'echo "computed in $(pwd) with $PYTHONPATH"\n')])
    try:
        scope = await run_snippet("""
            output = await sb.exec(
            "python",
            ["compute.py"],
            cwd="/app",
            env={"PYTHONPATH": "/app/lib"},
            timeout=30.0,
            )
        """, sb=sb)
        assert scope["output"].stdout_text == "computed in /app with /app/lib\n"
    finally:
        await cleanup("exec-example")


LOGS_EXAMPLE = """
import asyncio
import microsandbox
async def main():
    handle = await microsandbox.Sandbox.get("web")
    # Default — all user-program output, regardless of pipe/pty mode
    entries = await handle.logs()
    for e in entries:
        source = {
            "stdout": "OUT",
            "stderr": "ERR",
            "output": "PTY",
            "system": "SYS",
        }[e.source]
        print(
            f"[{e.timestamp_ms / 1000:.3f}] "
            f"{source} {e.session_id}: {e.text().rstrip()}"
        )
    # Filtered: last 50 entries from the past hour, including system lines
    import time
    recent = await handle.logs(
        tail=50,
        since_ms=(time.time() - 3600) * 1000,
        sources=["stdout", "stderr", "output", "system"],
    )
    print("recent", len(recent), sum(e.source == "system" for e in recent))
    from datetime import datetime, timezone
    dt = datetime.fromtimestamp(e.timestamp_ms / 1000, timezone.utc)
    print("year", dt.year)
asyncio.run(main())
"""


async def test_logs_example():
    web = await microsandbox.Sandbox.create("web", image=IMAGE)
    try:
        await web.shell("echo served; echo oops >&2")
        await web.shell("echo on-a-tty", tty=True)
        env = dict(os.environ, PYTHONPATH=os.path.join(BUILD, "python"))
        p = await asyncio.get_running_loop().run_in_executor(None, lambda: subprocess.run(
            [sys.executable, "-c", LOGS_EXAMPLE], capture_output=True, text=True, env=env, timeout=60))
        assert p.returncode == 0, p.stderr
        lines = p.stdout.splitlines()
        assert any(l.endswith("OUT 1: served") for l in lines), lines
        assert any(l.endswith("ERR 1: oops") for l in lines), lines
        assert any(l.endswith("PTY 2: on-a-tty") for l in lines), lines
        recent = next(l for l in lines if l.startswith("recent"))
        assert int(recent.split()[1]) >= 4 and int(recent.split()[2]) >= 1
        assert any(l.startswith("year 20") for l in lines)
    finally:
        await cleanup("web")


async def test_create_with_progress_example(registry_images, capsys):
    ubuntu, _ = registry_images
    try:
        scope = await run_snippet(f"""
            from microsandbox import Sandbox
            session = Sandbox.create_with_progress("my-sandbox", image="{ubuntu}")
            async with session:
                async for event in session.progress:
                    if event.event_type == "resolved":
                        print(f"{{event.layer_count}} layers, {{event.total_download_bytes}} bytes")
                    elif event.event_type == "layer_download_progress":
                        print(f"layer {{event.layer_index}}: {{event.downloaded_bytes}}/{{event.total_bytes}}")
                sb = await session.result()
        """)
        out = capsys.readouterr().out
        assert out.startswith("2 layers, ") and int(out.split()[2]) > 0, out
        assert "layer 1: " in out, out
        assert (await scope["sb"].shell("echo pulled")).stdout_text == "pulled\n"
    finally:
        await cleanup("my-sandbox")


async def test_pull_session_example(capsys):
    try:
        scope = await run_snippet(f"""
            session = Sandbox.create_with_progress("my-sandbox", image="{IMAGE}")
            async with session:
                async for event in session.progress:
                    print(event)
                sb = await session.result()
        """)
        out = capsys.readouterr().out.splitlines()
        assert out[0].startswith("PullEvent(event_type=<PullEventType.RESOLVING")
        assert out[-1].startswith("PullEvent(event_type=<PullEventType.COMPLETE")
        assert await scope["sb"].name == "my-sandbox"
    finally:
        await cleanup("my-sandbox")


async def test_init_config_examples(registry_images):
    _, debian = registry_images
    try:
        scope = await run_snippet(f"""
            from microsandbox import InitConfig, Sandbox
            # Common case: bare string.
            sb = await Sandbox.create("worker", image="{debian}", init="auto")
        """)
        assert (await init_output(scope["sb"])).startswith("init /sbin/init")
    finally:
        await cleanup("worker")
    try:
        scope = await run_snippet(f"""
            # Argv / env: dataclass.
            sb = await Sandbox.create(
            "worker",
            image="{debian}",
            init=InitConfig(
            cmd="/lib/systemd/systemd",
            args=("--unit=multi-user.target",),
            env={{"container": "microsandbox"}},
            ),
            )
        """)
        sb = scope["sb"]
        assert await init_output(sb) == "init /lib/systemd/systemd --unit=multi-user.target\n"
        assert "container=microsandbox" in await init_output(sb, "/run/init.env")
    finally:
        await cleanup("worker")


async def test_init_dict_form(registry_images):
    _, debian = registry_images
    try:
        sb = await microsandbox.Sandbox.create(
            "worker-dict", image=debian,
            init={"cmd": "/lib/systemd/systemd", "args": ["--dict"], "env": {"K": "V"}})
        assert await init_output(sb) == "init /lib/systemd/systemd --dict\n"
    finally:
        await cleanup("worker-dict")
