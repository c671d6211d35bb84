"""Fixtures of the backend suite: the same tests on every isolation backend.

`bk` is the msb CLI bound to one MSB_HOME per backend, with local/busybox:latest loaded, and
the backend pinned: MSB_BACKEND=ns, or MSB_BACKEND=vm with MSB_VM_ACCEL=tcg or kvm. Tests that
take `bk` run once per backend in MSB_TEST_BACKENDS (default "ns,vm-tcg,vm-kvm"); a backend
this host cannot run (vm-kvm without a usable /dev/kvm, as `msb doctor` reports it) is
skipped with the reason. Helpers are in msb_it.py (the core suite's) and bk_helpers.py.

Environment: MSB_BUILD (build directory), MSB_TEST_IMAGE_DIR (busybox OCI layout), and
MSB_TEST_BACKENDS.
"""

import os
import shutil
import tempfile

import pytest

from msb_it import IMAGE, MSB, Msb, Sandboxes, image_dir, kill_runtimes

from .bk_helpers import doctor, vm_leftovers

BACKENDS = [b for b in os.environ.get("MSB_TEST_BACKENDS", "ns,vm-tcg,vm-kvm").split(",") if b]


def pytest_configure(config):
    if not os.access(MSB, os.X_OK):
        raise pytest.UsageError(f"{MSB} not found: build first or set MSB_BUILD")


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request):
    kind = request.param
    if os.geteuid() != 0:
        pytest.skip("the backend suite needs root")
    if kind not in ("ns", "vm-tcg", "vm-kvm"):
        raise pytest.UsageError(f"MSB_TEST_BACKENDS: unknown backend {kind}")
    report = doctor()
    if kind.startswith("vm") and not report["backends"]["vm"]["ok"]:
        pytest.skip(f"the vm backend cannot run here: {report['backends']['vm']['detail']}")
    if kind == "vm-kvm" and not report["kvm"]["ok"]:
        pytest.skip(f"KVM is not usable here: {report['kvm']['detail']}")
    return kind


@pytest.fixture(scope="session")
def bk(backend, tmp_path_factory):
    """msb bound to this backend's MSB_HOME (see the module docstring)."""
    home = tempfile.mkdtemp(prefix=f"msb-bk-{backend}-")
    m = Msb(home)
    m.backend = backend
    m.is_vm = backend.startswith("vm")
    m.env["MSB_BACKEND"] = "vm" if m.is_vm else "ns"
    if m.is_vm:
        m.env["MSB_VM_ACCEL"] = backend[3:]
    m.names_used = set()
    try:
        m("image", "load", "-q", image_dir(str(tmp_path_factory.mktemp("img"))), "--tag", IMAGE,
          check=True)
        yield m
    finally:
        for name in m("ls", "-q").stdout.split():
            m("rm", "-f", name)
        kill_runtimes(home)
        leftovers = vm_leftovers(home, m.names_used) if m.is_vm else []
        shutil.rmtree(home, ignore_errors=True)
        assert not leftovers, f"VM processes or cgroups left behind: {leftovers}"


class _Tracked(Sandboxes):
    """Sandboxes that also remembers every name (for the end-of-session leak check)."""

    def create(self, *flags, label="sb", image=IMAGE):
        name = super().create(*flags, label=label, image=image)
        self.msb.names_used.add(name)
        return name


@pytest.fixture
def sandboxes(bk):
    s = _Tracked(bk)
    yield s
    s.remove_all()


@pytest.fixture
def sandbox(sandboxes):
    """A running sandbox with the default config (64 MiB for ns, 256 MiB for vm)."""
    return sandboxes.create(*small(sandboxes.msb))


def small(bk):
    """Resource flags of the suite's sandboxes: small, the suite runs many."""
    return ("-m", "256M" if bk.is_vm else "64M", "--no-net")
