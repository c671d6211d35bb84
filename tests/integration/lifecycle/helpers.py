"""Helpers of the lifecycle tests (issue 4): stop/start, crashes, attach/detach, drain, timers,
replace, wait, metrics, logs and the JSON shapes of ls/ps/inspect.

Self-contained (nothing from ../conftest.py). Environment:
  MSB_BUILD           meson build directory holding cli/msb and the lc_client helper
                      (tests/integration/lifecycle/c) (default: <repo>/build)
  MSB_TEST_IMAGE_DIR  OCI layout of the busybox image (default: built with
                      scripts/make-busybox-image.sh into a temp dir)

One MSB_HOME per session in a fresh temp dir with local/busybox:latest loaded. Every sandbox a
test makes is removed at teardown; the session ends by killing whatever still serves that
MSB_HOME (by pid) and deleting the directory. Waiting is always bounded (`eventually`): a test
asserts what happens, never how fast.
"""

import glob
import hashlib
import json
import os
import re
import secrets
import subprocess
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD = os.path.abspath(os.environ.get("MSB_BUILD") or os.path.join(REPO, "build"))
MSB = os.path.join(BUILD, "cli", "msb")
LC_CLIENT = os.path.join(BUILD, "tests", "integration", "lifecycle", "c", "lc_client")
IMAGE = "local/busybox:latest"
CMD_TIMEOUT = 60  # a hung msb fails its test instead of the whole run
SMALL = ("-m", "64M")  # every sandbox here is small: the tests run many at once

# lc_client exits 100 + the msb_error_kind of a failure (include/msb/error.h).
LC_EXIT_NOT_RUNNING = 100 + 5

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def eventually(predicate, timeout=20.0, what="the condition", interval=0.02):
    """Polls predicate() until it returns something truthy (returned) or fails the test after
    `timeout` seconds. The bound only keeps a broken build from hanging the suite."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"{what} did not happen within {timeout:g} s")
        time.sleep(interval)


def name_hash(name, nbytes):
    return hashlib.sha256(name.encode()).hexdigest()[: 2 * nbytes]


# ---------------------------------------------------------------------------------------------
# the CLI


class Cli:
    """Runs msb (and lc_client) against one MSB_HOME."""

    def __init__(self, home):
        self.home = home
        _HOMES.add(home)
        self.env = dict(os.environ, MSB_HOME=home)
        for var in ("MSB_PATH", "MSB_METRICS_INTERVAL_MS"):
            self.env.pop(var, None)
        # The lifecycle suite tests the ns backend: `auto` picks vm on a KVM host.
        self.env["MSB_BACKEND"] = os.environ.get("MSB_IT_BACKEND", "ns")

    def __call__(self, *args, check=False, timeout=CMD_TIMEOUT, input=None, env=None,
                 stdout=subprocess.PIPE):
        p = subprocess.run([MSB, *map(str, args)], input=input, stdout=stdout,
                           stderr=subprocess.PIPE, text=True, errors="replace",
                           env=dict(self.env, **(env or {})), timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail(f"msb {' '.join(map(str, args))} exited {p.returncode}\n"
                        f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def popen(self, *args, env=None, **kw):
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("text", True)
        return subprocess.Popen([MSB, *map(str, args)], env=dict(self.env, **(env or {})), **kw)

    def client(self, *args, timeout=CMD_TIMEOUT):
        """lc_client ARGS… (the C API from a second process) → CompletedProcess."""
        return subprocess.run([LC_CLIENT, *args], capture_output=True, text=True,
                              env=self.env, timeout=timeout)

    def client_popen(self, *args):
        return subprocess.Popen([LC_CLIENT, *args], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=self.env)

    def json(self, *args):
        return json.loads(self(*args, check=True).stdout)

    def sh(self, name, script, **kw):
        """msb exec NAME -- sh -c SCRIPT, checked; returns stdout."""
        return self("exec", name, "--", "sh", "-c", script, check=True, **kw).stdout

    def inspect(self, name):
        """The inspect JSON of `name`, or None if it does not exist."""
        p = self("inspect", name)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def status(self, name):
        info = self.inspect(name)
        return info["status"] if info else None

    def wait_status(self, name, *statuses, timeout=20.0):
        """Waits until `name` has one of `statuses`; returns its inspect JSON."""
        found = {}

        def reached():
            found["info"] = self.inspect(name)
            return found["info"] and found["info"]["status"] in statuses

        eventually(reached, timeout, f"sandbox {name} reaching {'/'.join(statuses)} "
                                     f"(last seen: {found.get('info') and found['info']['status']})")
        return found["info"]

    # ---- the host side of one sandbox ----

    def live_lock(self, name):
        return os.path.join(self.home, "run", "locks", name_hash(name, 16) + ".live")

    def runtime_pid(self, name):
        """Pid of the runtime process serving `name` (the holder of its live lock), or None."""
        try:
            st = os.stat(self.live_lock(name))
        except FileNotFoundError:
            return None
        want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
        with open("/proc/locks") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 6 or fields[1] != "FLOCK" or "->" in fields:
                    continue
                maj, mnr, ino = fields[5].split(":")
                if (int(maj, 16), int(mnr, 16), int(ino)) == want:
                    return int(fields[4])
        return None

    def sandbox_dir(self, name):
        return os.path.join(self.home, "sandboxes", name)


def cgroup_ids(name, home=None):
    """The names the sandbox's cgroup directory may have: the hash of the sandbox name, or
    (lib/home.c msb_sandbox_host_id) of "<dev>:<ino>:<name>" of the MSB_HOME directory."""
    ids = {name_hash(name, 12)}
    for h in ([home] if home else _HOMES):
        st = os.stat(h)
        ids.add(name_hash(f"{st.st_dev:x}:{st.st_ino:x}:{name}", 12))
    return ids


def cgroup_dirs(name, home=None):
    return [d for cid in cgroup_ids(name, home) for d in glob.glob(f"/sys/fs/cgroup/*/msb/{cid}")
            if os.path.isdir(d)]


def cgroup_processes(name, home=None):
    pids = set()
    for d in cgroup_dirs(name, home):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids |= {int(p) for p in f.read().split()}
        except OSError:
            pass
    return pids


def metrics_slot(home, name):
    digest = hashlib.sha256(home.encode() + b"\0" + name.encode()).hexdigest()[:32]
    return "/dev/shm/msb." + digest


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _image_dir(tmp):
    given = os.environ.get("MSB_TEST_IMAGE_DIR")
    if given:
        return given
    out = os.path.join(tmp, "busybox-image")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-image.sh"), out], check=True,
                   stdout=subprocess.DEVNULL)
    return out


# ---------------------------------------------------------------------------------------------
# names, sandboxes and the session


_TAG = secrets.token_hex(2)
_NAMES = set()  # every name this session used: what the leak checker attributes to us
_HOMES = set()  # every MSB_HOME this session made


def adopt_name(name):
    """Counts a name made elsewhere (`msb run` without -n) as this session's."""
    _NAMES.add(name)
    return name


def unique_name(label="sb"):
    name = f"lc{_TAG}-{label}-{secrets.token_hex(3)}"
    _NAMES.add(name)
    return name


def _processes_of(home):
    """Pids of processes started for `home`: runtimes (and CLIs) carry MSB_HOME=home in their
    environment; sandbox processes sit in a cgroup of one of our sandboxes."""
    ours = set()
    marker = b"MSB_HOME=" + home.encode()
    ids = {cid for n in _NAMES for cid in cgroup_ids(n, home)}
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        if not pid_alive(pid):
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    ours.add(pid)
                    continue
            with open(f"/proc/{pid}/cgroup") as f:
                text = f.read()
        except OSError:
            continue
        if any(f"/msb/{cid}" in text for cid in ids):
            ours.add(pid)
    return ours


class Leaks:
    """What sandboxes of this session leave on the host: mounts mentioning MSB_HOME, cgroup
    directories and metrics slots of our sandbox names, processes of this MSB_HOME.

        before = leaks.snapshot()
        … create, kill, remove …
        leaks.assert_none_since(before)
    """

    def __init__(self, home):
        self.home = home

    def snapshot(self):
        with open("/proc/self/mountinfo") as f:
            mounts = {line.split(" - ")[0].split(" ", 4)[4] for line in f if self.home in line}
        return {
            "mounts": mounts,
            "cgroups": {d for n in _NAMES for d in cgroup_dirs(n, self.home)},
            "metrics slots": {metrics_slot(self.home, n) for n in _NAMES
                              if os.path.exists(metrics_slot(self.home, n))},
            "processes": {(pid, _cmdline(pid)) for pid in _processes_of(self.home)},
        }

    def new_since(self, before):
        now = self.snapshot()
        return {k: now[k] - before[k] for k in now if now[k] - before[k]}

    def assert_none_since(self, before, wait_s=5.0):
        """Fails if something appeared since `before` and did not go away within wait_s (a
        killed process is reaped asynchronously)."""
        deadline = time.monotonic() + wait_s
        while True:
            new = self.new_since(before)
            if not new or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        assert not new, f"leaked: {new}"


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return "?"




class Sandboxes:
    """Creates sandboxes (small, detached) and removes every one of them at teardown."""

    def __init__(self, cli):
        self.cli = cli
        self.names = []

    def name(self, label="sb"):
        """A fresh name that is removed at teardown (for sandboxes made some other way)."""
        n = unique_name(label)
        self.names.append(n)
        return n

    def create(self, *flags, label="sb", env=None):
        name = self.name(label)
        p = self.cli("create", "-n", name, *SMALL, *flags, IMAGE, env=env)
        if p.returncode != 0:
            pytest.fail(f"msb create {name} failed ({p.returncode}): {p.stderr}")
        return name

    def remove_all(self):
        for name in self.names:
            self.cli("rm", "-f", name)
        self.names.clear()


class Held:
    """A command held open inside a sandbox through `msb exec NAME -- sh -c SCRIPT`. SCRIPT
    must print "started" first; by default it then waits for a line on stdin. The command is
    running once the constructor returns; release() lets the default script finish."""

    DEFAULT = 'echo started; read line; echo "finished $line"'

    def __init__(self, cli, name, script=DEFAULT, flags=()):
        self.p = cli.popen("exec", *flags, name, "--", "sh", "-c", script, stdin=subprocess.PIPE)
        first = self.p.stdout.readline()
        if first != "started\n":
            self.p.kill()
            pytest.fail(f"held command did not start: {first!r} {self.p.stderr.read()}")

    def running(self):
        return self.p.poll() is None

    def release(self, line="ok", timeout=CMD_TIMEOUT):
        """Sends `line`; returns (exit status, remaining stdout, stderr)."""
        out, err = self.p.communicate(line + "\n", timeout=timeout)
        return self.p.returncode, out, err

    def finish(self, timeout=CMD_TIMEOUT):
        """Waits for the command's end without sending anything."""
        out, err = self.p.communicate(timeout=timeout)
        return self.p.returncode, out, err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.communicate()
