"""Fixtures of the Python package suite: real sandboxes through `microsandbox`.

Environment:
  MSB_BUILD           meson build directory (default: <repo>/build); its python/ directory
                      must be on PYTHONPATH (the Makefile's python-test target sets both)
  MSB_TEST_IMAGE_DIR  OCI layout of the busybox image (default: built into a temp dir with
                      scripts/make-busybox-image.sh)

One state root per session: MSB_HOME is a fresh temp dir, set before the package opens it,
with local/busybox:latest loaded through the CLI. Every sandbox a test creates is killed and
removed at teardown; the session ends by killing any runtime still serving that MSB_HOME (by
pid) and deleting the directory. All tests share one event loop (pytest-asyncio, auto mode).
"""

import asyncio
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("MSB_BUILD") or os.path.join(REPO, "build"))
MSB = os.path.join(BUILD, "cli", "msb")
IMAGE = "local/busybox:latest"
PYTHON = sys.executable

_state = {}


def pytest_configure(config):
    config.option.asyncio_mode = "auto"
    if os.geteuid() != 0:
        raise pytest.UsageError("the Python suite needs root (the ns backend builds namespaces)")
    if not os.access(MSB, os.X_OK):
        raise pytest.UsageError(f"{MSB} not found: build first or set MSB_BUILD")
    home = tempfile.mkdtemp(prefix="msb-py-")
    os.environ["MSB_HOME"] = home
    # The Python suite runs on the ns backend (`auto` picks vm on a KVM host); the backend
    # suite in tests/integration/backends covers vm.
    os.environ["MSB_BACKEND"] = os.environ.get("MSB_PY_BACKEND", "ns")
    _state["home"] = home
    _state["tmp"] = tempfile.mkdtemp(prefix="msb-py-img-")
    image_dir = os.environ.get("MSB_TEST_IMAGE_DIR")
    if not image_dir:
        image_dir = os.path.join(_state["tmp"], "busybox")
        subprocess.run([os.path.join(REPO, "scripts", "make-busybox-image.sh"), image_dir], check=True,
                       stdout=subprocess.DEVNULL)
    _state["image_dir"] = image_dir
    subprocess.run([MSB, "image", "load", "-q", image_dir, "--tag", IMAGE], check=True,
                   stdout=subprocess.DEVNULL)


def pytest_unconfigure(config):
    home = _state.get("home")
    if not home:
        return
    for pid in runtime_pids(home):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    env = dict(os.environ, MSB_HOME=home)
    names = subprocess.run([MSB, "ls", "-q"], capture_output=True, text=True, env=env).stdout.split()
    for name in names:
        subprocess.run([MSB, "rm", "-f", name], capture_output=True, env=env)
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(_state.get("tmp", ""), ignore_errors=True)


def runtime_pids(home):
    """Host pids of `msb sandbox run` processes serving `home`."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                argv = f.read().rstrip(b"\0").split(b"\0")
        except OSError:
            continue
        if argv[1:3] == [b"sandbox", b"run"] and home.encode() in argv:
            pids.append(int(d))
    return pids


@pytest.fixture(scope="session")
def event_loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def msb_home():
    return _state["home"]


@pytest.fixture(scope="session")
def image_dir():
    """The OCI layout local/busybox:latest was loaded from."""
    return _state["image_dir"]


def cli(*args, check=True, **kw):
    """Runs the msb CLI against the session's MSB_HOME."""
    p = subprocess.run([MSB, *map(str, args)], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        pytest.fail(f"msb {' '.join(map(str, args))} exited {p.returncode}: {p.stderr}")
    return p


_TAG = secrets.token_hex(2)


def unique_name(label="sb"):
    return f"py{_TAG}-{label}-{secrets.token_hex(3)}"


async def cleanup(*names):
    """Kills and removes sandboxes by name, ignoring what is already gone."""
    from microsandbox import MicrosandboxError, Sandbox

    for name in names:
        try:
            handle = await Sandbox.get(name)
        except MicrosandboxError:
            continue
        try:
            await handle.kill()
        except MicrosandboxError:
            pass
        try:
            await handle.remove()
        except MicrosandboxError:
            pass


async def count_processes(sb, args, wait_for=None, timeout=5.0):
    """How many processes in `sb` run exactly `args`; with `wait_for`, polls until the count
    is that (or `timeout` passes) — teardown inside a sandbox is asynchronous."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        out = await sb.shell(f"ps -o args | grep -cx '{args}' || true")
        n = int(out.stdout_text.strip() or 0)
        if wait_for is None or n == wait_for or time.monotonic() >= deadline:
            return n
        await asyncio.sleep(0.05)


class Factory:
    """Creates sandboxes with unique names; kills and removes them all at teardown."""

    def __init__(self):
        self.names = []
        self.sandboxes = []

    def name(self, label="sb"):
        n = unique_name(label)
        self.names.append(n)
        return n

    async def __call__(self, label="sb", **kwargs):
        from microsandbox import Sandbox

        kwargs.setdefault("image", IMAGE)
        sb = await Sandbox.create(self.name(label), **kwargs)
        self.sandboxes.append(sb)
        return sb

    async def close(self):
        await cleanup(*self.names)
        self.sandboxes.clear()


@pytest.fixture
async def sandbox_factory():
    f = Factory()
    yield f
    await f.close()


@pytest.fixture
async def sandbox(sandbox_factory):
    """A running sandbox with the default config, removed after the test."""
    return await sandbox_factory()


@pytest.fixture(scope="module")
async def shared_sandbox():
    """One running sandbox for a whole module (tests that cannot disturb each other)."""
    f = Factory()
    sb = await f("shared")
    yield sb
    await f.close()


def make_variant_image(image_dir, out, files):
    """An OCI layout: the busybox image of `image_dir` plus one layer holding `files`
    ({path: text}), so it has a manifest of its own. Returns `out`."""
    import gzip
    import hashlib
    import io
    import json
    import tarfile

    def blob(digest):
        with open(os.path.join(image_dir, "blobs", "sha256", digest.split(":")[1]), "rb") as f:
            return f.read()

    os.makedirs(os.path.join(out, "blobs", "sha256"))

    def put(data):
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        with open(os.path.join(out, "blobs", "sha256", digest.split(":")[1]), "wb") as f:
            f.write(data)
        return digest

    index = json.loads(blob_index := open(os.path.join(image_dir, "index.json")).read())
    assert blob_index
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    for layer in manifest["layers"]:
        put(blob(layer["digest"]))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    raw = buf.getvalue()
    gz = gzip.compress(raw, mtime=0)
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                               "digest": put(gz), "size": len(gz)})
    config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(raw).hexdigest())
    cfg = json.dumps(config).encode()
    manifest["config"] = dict(manifest["config"], digest=put(cfg), size=len(cfg))
    man = json.dumps(manifest).encode()
    entry = {k: v for k, v in index["manifests"][0].items() if k != "annotations"}
    index["manifests"] = [dict(entry, digest=put(man), size=len(man))]
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return out
