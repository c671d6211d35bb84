"""Helpers of the integration suite (imported by conftest.py and the tests; a module of its
own because `conftest` is not a unique module name once subdirectories add theirs): the msb
CLI bound to one MSB_HOME, sandbox bookkeeping, the leak checker and hand-made OCI images.

Environment:
  MSB_BUILD           meson build directory holding cli/msb (default: <repo>/build)
  MSB_TEST_IMAGE_DIR  OCI layout of the busybox image (default: built into a temp dir with
                      scripts/make-busybox-image.sh)
"""

import glob
import gzip
import hashlib
import io
import json
import os
import secrets
import signal
import subprocess
import tarfile
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.abspath(os.environ.get("MSB_BUILD") or os.path.join(REPO, "build"))
MSB = os.path.join(BUILD, "cli", "msb")
IMAGE = "local/busybox:latest"
CMD_TIMEOUT = 120  # seconds; a hung msb fails the test instead of the whole CI job

# Exit statuses of run/exec (API.md §2).
EXIT_TIMEOUT = 124
EXIT_MSB_FAILED = 125
EXIT_NOT_EXECUTABLE = 126
EXIT_NOT_FOUND = 127
EXIT_SIGNALED = 255


# ---------------------------------------------------------------------------------------------
# the CLI


class Msb:
    """Runs the msb CLI against one MSB_HOME."""

    def __init__(self, home):
        self.home = home
        self.env = dict(os.environ, MSB_HOME=home)
        # The core suites test the ns backend: `auto` would pick the vm backend on a KVM host.
        # The backend suite (tests/integration/backends) parametrises this.
        self.env["MSB_BACKEND"] = os.environ.get("MSB_IT_BACKEND", "ns")

    def __call__(self, *args, input=None, check=False, timeout=CMD_TIMEOUT, text=True, env=None):
        """msb ARGS… → CompletedProcess (stdout/stderr as text unless text=False).

        check=True fails the test (with msb's stderr) on a non-zero exit status."""
        if text and isinstance(input, bytes):
            input = input.decode()
        run_env = dict(self.env, **(env or {}))
        p = subprocess.run([MSB, *map(str, args)], input=input, capture_output=True, text=text,
                           errors="replace" if text else None, env=run_env, timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail(f"msb {' '.join(map(str, args))} exited {p.returncode}\n"
                        f"stdout: {p.stdout}\nstderr: {p.stderr}")
        return p

    def popen(self, *args, **kw):
        kw.setdefault("env", self.env)
        return subprocess.Popen([MSB, *map(str, args)], **kw)

    def exec(self, name, *cmd, **kw):
        """msb exec NAME -- CMD…"""
        return self(*exec_args(name, cmd, kw.pop("flags", ())), **kw)

    def sh(self, name, script, **kw):
        """msb exec NAME -- sh -c SCRIPT, checked; returns stdout."""
        kw.setdefault("check", True)
        return self.exec(name, "sh", "-c", script, **kw).stdout

    def names(self):
        return set(self("ls", "-q", check=True).stdout.split())

    def status(self, name):
        for row in json.loads(self("ls", "--format", "json", check=True).stdout):
            if row["name"] == name:
                return row["status"]
        return None

    def sandbox_dir(self, name):
        return os.path.join(self.home, "sandboxes", name)


def exec_args(name, cmd, flags=()):
    return ["exec", *flags, name, "--", *cmd]


def runtime_pid(msb, name):
    """Host pid of the runtime process of a running sandbox (`msb inspect`), else 0."""
    p = msb("inspect", name, "--format", "json", check=True)
    return json.loads(p.stdout).get("pid") or 0


def runtime_pids(home):
    """Host pids of the runtime processes serving `home`: processes of that MSB_HOME (by
    `--home` or by environment: the CLI forks runtimes in-process) that are not commands this
    test run started itself."""
    me = os.getpid()
    return [pid for pid, argv in _processes() if _belongs_to(pid, argv, home) and _ppid(pid) != me
            and pid != me]


def _belongs_to(pid, argv, home):
    if "--home" in argv and argv[argv.index("--home") + 1:][:1] == [home]:
        return True
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f"MSB_HOME={home}".encode() in f.read().split(b"\0")
    except OSError:
        return False


def _processes():
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                raw = f.read()
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # Zombies are being reaped by whoever inherited them; they hold nothing.
        if stat.rsplit(")", 1)[1].split()[0] == "Z" or not raw:
            continue
        yield int(d), [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")]


def _ppid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except OSError:
        return None


def kill_runtimes(home):
    for pid in runtime_pids(home):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def image_dir(tmp):
    given = os.environ.get("MSB_TEST_IMAGE_DIR")
    if given:
        return given
    out = os.path.join(tmp, "busybox-image")
    subprocess.run([os.path.join(REPO, "scripts", "make-busybox-image.sh"), out], check=True,
                   stdout=subprocess.DEVNULL)
    return out


# ---------------------------------------------------------------------------------------------
# sandboxes


_SESSION_TAG = secrets.token_hex(2)


def unique_name(label="sb"):
    return f"it{_SESSION_TAG}-{label}-{secrets.token_hex(2)}"


class Sandboxes:
    """Creates named sandboxes and removes every one of them (rm -f) at teardown."""

    def __init__(self, msb):
        self.msb = msb
        self.created = []

    def create(self, *flags, label="sb", image=IMAGE):
        name = unique_name(label)
        self.created.append(name)
        p = self.msb("create", "-n", name, *flags, image)
        if p.returncode != 0:
            pytest.fail(f"msb create {name} failed ({p.returncode}): {p.stderr}")
        return name

    def adopt(self, name):
        """Removes `name` at teardown too (a sandbox made by `msb run -n`, say)."""
        self.created.append(name)
        return name

    def remove_all(self):
        for name in self.created:
            self.msb("rm", "-f", name)
        self.created.clear()


# ---------------------------------------------------------------------------------------------
# leaks


class LeakChecker:
    """What a sandbox leaves on the host: mounts mentioning MSB_HOME, cgroup directories under
    the hierarchies' msb/ parent, runtime processes of this MSB_HOME, msb-agent processes, its
    files, sockets and locks in MSB_HOME, and its host-wide uid-range claim.

        before = leaks.snapshot()
        … create, fail, kill, remove …
        leaks.assert_none_since(before)
    """

    def __init__(self, home):
        self.home = home

    def mounts(self):
        with open("/proc/self/mountinfo") as f:
            return {line.split(" - ")[0].split(" ", 4)[4] for line in f if self.home in line}

    @staticmethod
    def cgroups():
        return {d for d in glob.glob("/sys/fs/cgroup/*/msb/*") if os.path.isdir(d)}

    def processes(self):
        out = set()
        runtimes = set(runtime_pids(self.home))
        for pid, argv in _processes():
            if pid in runtimes:
                out.add((pid, "runtime " + " ".join(argv)))
            elif os.path.basename(argv[0]) == "msb-agent":
                # Another MSB_HOME's agents belong to its runtimes; ours and orphans count.
                ppid = _ppid(pid)
                if ppid in runtimes or ppid == 1:
                    out.add((pid, "msb-agent"))
        return out

    def files(self):
        """Per-sandbox entries of the state root: sandboxes/<name>, run/sandboxes/<H12>,
        run/agent/<H16>.*, run/locks/<H16>.*."""
        out = set()
        for d in ("sandboxes", "run/sandboxes", "run/agent", "run/locks"):
            try:
                out |= {f"{d}/{e}" for e in os.listdir(os.path.join(self.home, d))}
            except FileNotFoundError:
                pass
        return out

    def uid_claims(self):
        """Host-wide uid-range claims (lib/uid_ranges.c) held by this state root's sandboxes."""
        out = set()
        claims = os.environ.get("MSB_UID_RANGES_DIR") or "/var/lib/msb/uid-ranges"
        try:
            entries = os.listdir(claims)
        except FileNotFoundError:
            return out
        for e in entries:
            try:
                with open(os.path.join(claims, e)) as f:
                    lines = f.read().split("\n")
            except FileNotFoundError:
                continue
            if len(lines) > 2 and lines[1] == self.home:
                out.add(f"slot {e}: {lines[2]}")
        return out

    def snapshot(self):
        return {"mounts": self.mounts(), "cgroups": self.cgroups(), "processes": self.processes(),
                "files": self.files(), "uid claims": self.uid_claims()}

    def new_since(self, before):
        now = self.snapshot()
        new = {k: now[k] - before[k] for k in now}
        # A cgroup some other MSB_HOME created meanwhile is not ours to judge: keep only the
        # ones with no live process, or whose processes are ours.
        new["cgroups"] = {c for c in new["cgroups"] if not _cgroup_has_foreign_process(c, self.home)}
        return {k: v for k, v in new.items() if v}

    def assert_none_since(self, before, wait_s=5.0):
        """Fails if something appeared since `before` and did not go away within wait_s
        (teardown of a killed process is asynchronous: its zombie is reaped by init)."""
        deadline = time.monotonic() + wait_s
        while True:
            new = self.new_since(before)
            if not new or time.monotonic() >= deadline:
                break
            time.sleep(0.02)
        assert not new, f"leaked: {new}"


def _cgroup_has_foreign_process(cgroup, home):
    """Whether a process of another MSB_HOME's sandbox lives in `cgroup` (the agent is the
    child of its runtime)."""
    try:
        with open(os.path.join(cgroup, "cgroup.procs")) as f:
            pids = [int(p) for p in f.read().split()]
    except OSError:
        return False
    ours = set(runtime_pids(home))
    return any(_ppid(pid) not in ours and _ppid(pid) != 1 for pid in pids
               if _comm(pid) == "msb-agent")


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------
# hand-made images


def _tar_layer(entries):
    """entries: (path, kind, data) with kind 'dir' | 'file' | 'symlink' (data = target)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for path, kind, data in entries:
            info = tarfile.TarInfo(path)
            info.mtime = 0
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                tar.addfile(info)
            else:
                payload = data if isinstance(data, bytes) else data.encode()
                info.size, info.mode = len(payload), 0o755
                tar.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def make_oci_layout(out, entries, config=None):
    """Writes a one-layer OCI image layout to `out`."""
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, digest), "wb") as f:
            f.write(data)
        return "sha256:" + digest, len(data)

    layer = _tar_layer(entries)
    layer_digest, layer_size = blob(gzip.compress(layer, mtime=0))
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)
    cfg = {
        "architecture": arch, "os": "linux",
        "config": dict({"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]}, **(config or {})),
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(layer).hexdigest()]},
    }
    cfg_digest, cfg_size = blob(json.dumps(cfg).encode())
    manifest = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest,
                   "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer_digest, "size": layer_size}],
    }
    man_digest, man_size = blob(json.dumps(manifest).encode())
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest,
             "size": man_size}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return out
