"""Fixtures of the registry tests (issue 3): a plain-HTTP docker-registry and a TLS one with
htpasswd auth for the session, a fresh MSB_HOME per test, the busybox base layer, pushers and
a fake registry per test. Helpers are in regfix.py; this directory is a package so its module
names never clash with the rest of the suite.

Everything runs against 127.0.0.1; no test touches a public registry."""

import json
import os
import shutil
import subprocess
import tempfile

import pytest

from msb_it import BUILD, MSB, Msb, image_dir, kill_runtimes

from .regfix import (DOCKER_REGISTRY, FakeRegistry, Pusher, Registry, busybox_layer, make_htpasswd,
                     make_tls)

PULL_CLIENT = os.path.join(BUILD, "tests", "integration", "registry", "c", "pull_client")
TLS_USER, TLS_PASSWORD = "msbtester", "s3cret-Pa55word-not-in-logs"


@pytest.fixture(scope="session", autouse=True)
def _requirements():
    if not os.access(DOCKER_REGISTRY, os.X_OK):
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    for tool in ("openssl", "htpasswd", "zstd"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed")


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="msb-reg-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def registry(workdir):
    """docker-registry over plain HTTP on 127.0.0.1 (loopback: msb falls back to HTTP)."""
    r = Registry(os.path.join(workdir, "plain"))
    yield r
    r.stop()


@pytest.fixture(scope="session")
def tls(workdir):
    d = os.path.join(workdir, "tls")
    os.makedirs(d)
    return make_tls(d)


@pytest.fixture(scope="session")
def tls_registry(workdir, tls):
    """docker-registry over TLS (test CA) with htpasswd basic auth."""
    d = os.path.join(workdir, "tlsreg")
    os.makedirs(d)
    r = Registry(d, tls=tls, htpasswd=make_htpasswd(d, TLS_USER, TLS_PASSWORD))
    r.user, r.password, r.ca = TLS_USER, TLS_PASSWORD, tls["ca"]
    yield r
    r.stop()


@pytest.fixture(scope="session")
def pusher(registry):
    return Pusher(registry.host)


@pytest.fixture(scope="session")
def tls_pusher(tls_registry):
    return Pusher(tls_registry.host, tls_ca=tls_registry.ca,
                  auth=(tls_registry.user, tls_registry.password))


@pytest.fixture(scope="session")
def base(tmp_path_factory):
    """The busybox layer every test image starts from."""
    return busybox_layer(image_dir(str(tmp_path_factory.mktemp("busybox"))))


@pytest.fixture
def home():
    d = tempfile.mkdtemp(prefix="msb-reg-home-")
    yield d
    kill_runtimes(d)
    m = Msb(d)
    for name in m("ls", "-q").stdout.split():
        m("rm", "-f", name)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def cli(home):
    """The msb CLI on a fresh MSB_HOME (an empty image cache)."""
    return Msb(home)


@pytest.fixture
def fake(registry):
    f = FakeRegistry(registry.host)
    yield f
    f.stop()


def write_config(home, doc):
    with open(os.path.join(home, "config.json"), "w") as f:
        json.dump(doc, f)


class PullClient:
    """tests/integration/registry/c/pull_client: libmsb pulls and creates, events as JSON."""

    def __init__(self, home):
        self.env = dict(os.environ, MSB_HOME=home)
        self.env["MSB_BACKEND"] = os.environ.get("MSB_IT_BACKEND", "ns")

    def __call__(self, *args, password=None, timeout=120):
        env = dict(self.env, MSB_TEST_PASSWORD=password) if password else self.env
        p = subprocess.run([PULL_CLIENT, *args], capture_output=True, text=True, env=env,
                           timeout=timeout)
        lines = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
        events = [l for l in lines if "event" in l]
        result = next((l for l in lines if "result" in l), None)
        return events, result, p


@pytest.fixture
def pull_client(home):
    if not os.access(PULL_CLIENT, os.X_OK):
        pytest.skip(f"{PULL_CLIENT} not built")
    return PullClient(home)
