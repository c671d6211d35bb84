"""Fixtures of the files, volumes, patches, scripts and init tests (issue 5). The session
fixtures (msb, sandboxes, load_image) come from tests/integration/conftest.py; this directory
is a package so its module names never clash with the rest of the suite."""

import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="session")
def tiny_init(tmp_path_factory):
    """A static init: writes "<pid> <argv[1]> <$INIT_MARK>" to /tmp/init-pid, reaps children,
    and on SIGTERM writes /tmp/init-stopped and exits 0."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build the test init")
    out = str(tmp_path_factory.mktemp("init") / "tiny-init")
    p = subprocess.run([cc, "-static", "-O2", "-o", out, os.path.join(HERE, "tiny_init.c")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot build a static init: {p.stderr.strip()}")
    return out


@pytest.fixture
def host_dir(tmp_path):
    """A scratch host directory (root-owned, like everything a root test makes)."""
    d = tmp_path / "host"
    d.mkdir()
    return d


@pytest.fixture
def volumes(msb):
    """Names of volumes to remove at teardown."""
    made = []
    yield made
    for name in made:
        msb("volume", "rm", name)
