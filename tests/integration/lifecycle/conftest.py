"""Fixtures of the lifecycle tests (issue 4). The helpers they use are in helpers.py; this
directory is a package so its module names never clash with the rest of the suite."""

import os
import shutil
import signal
import tempfile

import pytest

from .helpers import BUILD, IMAGE, LC_CLIENT, MSB, Cli, Held, Leaks, Sandboxes, _image_dir, _processes_of


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    if os.geteuid() != 0:
        pytest.skip("the lifecycle tests need root (the ns backend builds namespaces)")
    for path in (MSB, LC_CLIENT):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} not found: build first (ninja -C {BUILD}) or set MSB_BUILD")


@pytest.fixture(scope="session")
def home():
    root = tempfile.mkdtemp(prefix="msb-lc-")
    try:
        yield root
    finally:
        for pid in _processes_of(root):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cli = Cli(root)
        for name in cli("ls", "-q").stdout.split():
            cli("rm", "-f", name)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cli(home, tmp_path_factory):
    """msb bound to the session's MSB_HOME, with local/busybox:latest loaded."""
    c = Cli(home)
    c("image", "load", "-q", _image_dir(str(tmp_path_factory.mktemp("img"))), "--tag", IMAGE,
      check=True)
    return c


@pytest.fixture
def sandboxes(cli):
    s = Sandboxes(cli)
    yield s
    s.remove_all()


@pytest.fixture(scope="module")
def module_sandboxes(cli):
    s = Sandboxes(cli)
    yield s
    s.remove_all()


@pytest.fixture
def sandbox(sandboxes):
    """A running sandbox, removed after the test."""
    return sandboxes.create()


@pytest.fixture
def leaks(home):
    return Leaks(home)


@pytest.fixture
def held(cli):
    """held(name, …) → Held; every held command is killed at teardown."""
    made = []

    def make(name, **kw):
        h = Held(cli, name, **kw)
        made.append(h)
        return h

    yield make
    for h in made:
        h.kill()
