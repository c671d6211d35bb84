"""Fixtures of the network tests (issue 8): a fake internet made of network namespaces, and the
msb CLI running inside it.

Nothing here touches the host's own network. Two namespaces are created per session:

  <tag>h  "the host": where msb and every sandbox runtime run (nsenter --net), so the
          runtime's host sockets, its loopback and its resolver live here. It has lo (with a
          service on 127.0.0.1:8080 standing in for something on the host's loopback) and
          h0 198.18.0.1/30, default route via the world.
  <tag>w  "the world": w0 198.18.0.2/30 and, on lo, 203.0.113.10 and .11 (public servers),
          10.20.0.10 (a private-range server), 169.254.169.254 (cloud metadata) and
          198.51.100.53 (the DNS server). world.py serves TCP 80, UDP 7 and DNS there.

The runtime reads its resolver from MSB_RESOLV_CONF (a file naming 198.51.100.53), the way it
reads /etc/resolv.conf on a real host. Everything (namespaces, veth, servers) is removed at
the end of the session, also when a test fails.
"""

import json
import os
import secrets
import shutil
import signal
import subprocess
import time

import pytest

from msb_it import BUILD, CMD_TIMEOUT, IMAGE, MSB, Msb, Sandboxes, unique_name

HERE = os.path.dirname(os.path.abspath(__file__))

PUBLIC = "203.0.113.10"
PUBLIC2 = "203.0.113.11"
PRIVATE = "10.20.0.10"
METADATA = "169.254.169.254"
DNS = "198.51.100.53"
HOST_PORT = 8080  # the service on the host's (the test namespace's) loopback
BULK_PORT = 9000  # world: nettool bulk-server


def _ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True)


class FakeInternet:
    def __init__(self, tmp, nettool):
        tag = secrets.token_hex(3)
        self.host_ns = f"msbt{tag}h"
        self.world_ns = f"msbt{tag}w"
        self.procs = []
        self.created = []
        try:
            self._build(tmp, nettool)
        except BaseException:
            self.close()
            raise

    def _build(self, tmp, nettool):
        for ns in (self.host_ns, self.world_ns):
            _ip("netns", "add", ns)
            self.created.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip("link", "add", "h0", "netns", self.host_ns, "type", "veth", "peer", "name", "w0",
            "netns", self.world_ns)
        _ip("-n", self.host_ns, "addr", "add", "198.18.0.1/30", "dev", "h0")
        _ip("-n", self.host_ns, "link", "set", "h0", "up")
        _ip("-n", self.host_ns, "route", "add", "default", "via", "198.18.0.2")
        _ip("-n", self.world_ns, "addr", "add", "198.18.0.2/30", "dev", "w0")
        _ip("-n", self.world_ns, "link", "set", "w0", "up")
        for a in (PUBLIC, PUBLIC2, PRIVATE, METADATA, DNS):
            _ip("-n", self.world_ns, "addr", "add", f"{a}/32", "dev", "lo")
        self._start(self.world_ns, ["python3", os.path.join(HERE, "world.py"), "--dns", DNS])
        self._start(self.host_ns, ["python3", os.path.join(HERE, "world.py"), "--bind",
                                   "127.0.0.1", "--tcp-port", str(HOST_PORT), "--udp-port", "0"])
        self._start(self.world_ns, [nettool, "bulk-server", str(BULK_PORT)], wait=False)
        self.resolv_conf = os.path.join(tmp, "resolv.conf")
        with open(self.resolv_conf, "w") as f:
            f.write(f"nameserver {DNS}\n")

    def _start(self, ns, argv, wait=True):
        p = subprocess.Popen(["nsenter", f"--net=/run/netns/{ns}", "--", *argv],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.procs.append(p)
        if wait:
            line = p.stdout.readline().strip()
            if line != "ready":
                raise RuntimeError(f"{argv} in {ns} did not start: {line!r}")

    def run(self, *argv, timeout=30):
        """Runs a command in the host namespace (where the runtimes are)."""
        return subprocess.run(["nsenter", f"--net=/run/netns/{self.host_ns}", "--", *argv],
                              capture_output=True, text=True, timeout=timeout)

    def close(self):
        for p in self.procs:
            try:
                p.stdin.close()
            except OSError:
                pass
            try:
                p.send_signal(signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.procs.clear()
        # The veth pair goes with the namespaces.
        for ns in self.created:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.created.clear()


class NetMsb(Msb):
    """The msb CLI run inside the fake internet's host namespace."""

    def __init__(self, home, internet):
        super().__init__(home)
        self.internet = internet
        self.env["MSB_RESOLV_CONF"] = internet.resolv_conf

    def __call__(self, *args, input=None, check=False, timeout=CMD_TIMEOUT, text=True, env=None):
        if text and isinstance(input, bytes):
            input = input.decode()
        run_env = dict(self.env, **(env or {}))
        argv = ["nsenter", f"--net=/run/netns/{self.internet.host_ns}", "--", MSB, *map(str, args)]
        p = subprocess.run(argv, input=input, capture_output=True, text=text,
                           errors="replace" if text else None, env=run_env, timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail(f"msb {' '.join(map(str, args))} exited {p.returncode}\n"
                        f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def create_json(self, netcfg, name, network_json, nettool=None, env=None):
        """A sandbox made through the C API with `network_json` (see netcfg.c)."""
        run_env = dict(self.env, MSB_PATH=MSB, **(env or {}))
        argv = ["nsenter", f"--net=/run/netns/{self.internet.host_ns}", "--", netcfg, name, IMAGE,
                network_json]
        if nettool:
            argv += [nettool, "/usr/bin/nettool"]
        return subprocess.run(argv, capture_output=True, text=True, env=run_env, timeout=CMD_TIMEOUT)

    def probe(self, name, *args, timeout=CMD_TIMEOUT):
        """nettool ARGS… in the sandbox → its one line of output."""
        return self.exec(name, "nettool", *map(str, args), timeout=timeout).stdout.strip()

    def runtime_log(self, name):
        with open(os.path.join(self.sandbox_dir(name), "logs", "runtime.log")) as f:
            return f.read()


class NetSandboxes(Sandboxes):
    """Sandboxes with nettool at /usr/bin/nettool."""

    def __init__(self, msb, nettool):
        super().__init__(msb)
        self.nettool = nettool

    def create(self, *flags, label="net", image=IMAGE):
        return super().create("--copy", f"{self.nettool}:/usr/bin/nettool", *flags, label=label,
                              image=image)


@pytest.fixture(scope="session")
def nettool(tmp_path_factory):
    """nettool.c built static: it runs in busybox sandboxes and on the host alike."""
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if cc is None:
        pytest.skip("no C compiler to build nettool")
    out = str(tmp_path_factory.mktemp("nettool") / "nettool")
    p = subprocess.run([cc, "-static", "-O2", "-o", out, os.path.join(HERE, "nettool.c")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot build nettool statically: {p.stderr.strip()}")
    return out


@pytest.fixture(scope="session")
def netcfg(tmp_path_factory):
    """netcfg.c against the build's libmsb: sandboxes from a network JSON (the C API)."""
    cc = shutil.which("cc") or shutil.which("gcc")
    libdir = os.path.join(BUILD, "runtime")
    out = str(tmp_path_factory.mktemp("netcfg") / "netcfg")
    repo = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
    # A sanitizer build of libmsb needs its runtime linked into the program first.
    ldd = subprocess.run(["ldd", os.path.join(libdir, "libmsb.so")], capture_output=True, text=True).stdout
    sanitize = ["-fsanitize=address,undefined"] if "libasan" in ldd else []
    p = subprocess.run([cc, "-O2", *sanitize, "-o", out, os.path.join(HERE, "netcfg.c"),
                        f"-I{os.path.join(repo, 'include')}", f"-L{libdir}", "-lmsb",
                        f"-Wl,-rpath,{libdir}"], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot build netcfg: {p.stderr.strip()}")
    return out


def _vm_unavailable():
    """Why the vm backend cannot run here (`msb doctor`), or None."""
    p = subprocess.run([MSB, "doctor", "--format", "json"], capture_output=True, text=True, timeout=60)
    vm = json.loads(p.stdout)["backends"]["vm"]
    return None if vm["ok"] else vm["detail"]


@pytest.fixture(scope="session")
def internet(msb, nettool, tmp_path_factory):
    if shutil.which("ip") is None or shutil.which("nsenter") is None:
        pytest.skip("the network tests need iproute2 and nsenter")
    if os.environ.get("MSB_IT_BACKEND") == "vm" and (why := _vm_unavailable()):
        pytest.skip(f"the vm backend cannot run here: {why}")
    world = FakeInternet(str(tmp_path_factory.mktemp("internet")), nettool)
    yield world
    world.close()


@pytest.fixture(scope="session")
def netmsb(msb, internet):
    return NetMsb(msb.home, internet)


@pytest.fixture
def boxes(netmsb, nettool):
    s = NetSandboxes(netmsb, nettool)
    yield s
    s.remove_all()


@pytest.fixture(scope="module")
def module_boxes(netmsb, nettool):
    s = NetSandboxes(netmsb, nettool)
    yield s
    s.remove_all()


@pytest.fixture(scope="module")
def default_box(module_boxes):
    """One sandbox with the default (public-only) policy, shared by a module's tests."""
    return module_boxes.create(label="dflt")


def timed(fn, *args, **kw):
    t0 = time.monotonic()
    out = fn(*args, **kw)
    return out, time.monotonic() - t0


__all__ = ["unique_name"]
