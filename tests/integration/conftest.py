"""Fixtures of the integration suite: real sandboxes through the `msb` CLI (helpers in
msb_it.py).

One state root (MSB_HOME) per session, in a fresh temp dir, with local/busybox:latest loaded.
Everything a test creates is removed at teardown, and the session ends by killing any runtime
still serving that MSB_HOME (by pid) and deleting the directory.
"""

import os
import shutil
import tempfile

import pytest

from msb_it import (IMAGE, MSB, LeakChecker, Msb, Sandboxes, image_dir, kill_runtimes,
                    make_oci_layout)


def pytest_configure(config):
    if not os.access(MSB, os.X_OK):
        raise pytest.UsageError(f"{MSB} not found: build first or set MSB_BUILD")


@pytest.fixture(scope="session")
def msb_home():
    if os.geteuid() != 0:
        pytest.skip("the integration suite needs root (the ns backend builds namespaces)")
    home = tempfile.mkdtemp(prefix="msb-it-")
    try:
        yield home
    finally:
        m = Msb(home)
        for name in m("ls", "-q").stdout.split():
            m("rm", "-f", name)
        kill_runtimes(home)  # whatever rm could not reach
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def msb(msb_home, tmp_path_factory):
    """The CLI bound to the session's MSB_HOME, with local/busybox:latest loaded."""
    m = Msb(msb_home)
    m("image", "load", "-q", image_dir(str(tmp_path_factory.mktemp("img"))), "--tag", IMAGE,
      check=True)
    return m


@pytest.fixture
def sandboxes(msb):
    s = Sandboxes(msb)
    yield s
    s.remove_all()


@pytest.fixture(scope="module")
def module_sandboxes(msb):
    """Sandboxes shared by the tests of one module (for tests that cannot disturb each other)."""
    s = Sandboxes(msb)
    yield s
    s.remove_all()


@pytest.fixture
def sandbox(sandboxes):
    """A running sandbox with the default config, removed after the test."""
    return sandboxes.create()


@pytest.fixture(scope="module")
def shared_sandbox(module_sandboxes):
    """One running sandbox with the default config for a whole module."""
    return module_sandboxes.create(label="shared")


@pytest.fixture
def leaks(msb_home):
    return LeakChecker(msb_home)


@pytest.fixture(scope="session")
def load_image(msb, tmp_path_factory):
    """load_image(tag, entries, config=None): builds a one-layer image and loads it as `tag`."""
    def load(tag, entries, config=None):
        out = make_oci_layout(str(tmp_path_factory.mktemp("image")), entries, config)
        msb("image", "load", "-q", out, "--tag", tag, check=True)
        return tag
    return load
