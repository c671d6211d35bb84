"""What a sandbox can see: not its neighbour, not the host. Root inside is not root outside,
and no host file descriptor reaches it."""

import os
import re
import secrets
import signal
import stat

import pytest

from msb_it import EXIT_SIGNALED


@pytest.fixture(scope="module")
def pair(module_sandboxes):
    """Two sandboxes side by side."""
    return (module_sandboxes.create("-H", "left-host", label="left"),
            module_sandboxes.create("-H", "right-host", label="right"))


@pytest.fixture
def busy_right(msb, pair):
    """A recognisable command running in the right sandbox while the test runs."""
    proc = msb.popen("exec", pair[1], "--", "sh", "-c", "echo ready; exec sleep 98765",
                     stdout=-1, stderr=-1)
    assert proc.stdout.readline() == b"ready\n"
    yield "sleep 98765"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=60) == EXIT_SIGNALED


def _pids(msb, name):
    return {int(d) for d in msb.sh(name, "ls /proc").split() if d.isdigit()}


# ---- neighbours ----


def test_sandbox_cannot_see_the_processes_of_another(msb, pair, busy_right):
    left, right = pair
    assert busy_right in msb.sh(right, "ps -o args")
    assert busy_right not in msb.sh(left, "ps -o args")


def test_sandboxes_have_their_own_hostnames(msb, pair):
    left, right = pair
    assert msb.sh(left, "hostname") == "left-host\n"
    assert msb.sh(right, "hostname") == "right-host\n"


def test_default_hostname_is_derived_from_the_name(msb, sandbox):
    host = msb.sh(sandbox, "hostname").strip()
    assert host and host in sandbox


def test_sandbox_cannot_see_the_files_of_another(msb, pair):
    left, right = pair
    token = secrets.token_hex(8)
    msb.sh(left, f"echo {token} > /tmp/private; echo {token} > /root/private")
    assert msb.exec(right, "cat", "/tmp/private", "/root/private").returncode != 0
    assert token not in msb.sh(right, "grep -rs private /tmp /root || true")


def test_sandboxes_do_not_share_dev_shm(msb, pair):
    left, right = pair
    msb.sh(left, "echo x > /dev/shm/left-only")
    assert msb.exec(right, "test", "-e", "/dev/shm/left-only").returncode == 1


def test_each_sandbox_has_its_own_pid_namespace(msb, pair):
    left, right = pair
    for name in pair:
        assert msb.sh(name, "cat /proc/1/comm") == "msb-agent\n"


# ---- the host ----


def test_sandbox_sees_only_its_own_processes(msb, sandbox):
    # A fresh sandbox holds the agent (pid 1) and the command asking.
    out = msb.exec(sandbox, "ps", "-o", "pid,args", check=True).stdout
    procs = [line.split(None, 1) for line in out.strip().splitlines()[1:]]
    assert procs == [["1", "msb-agent"], [procs[1][0], "ps -o pid,args"]]
    assert len(_pids(msb, sandbox)) == 2  # the agent and ls


def test_sandbox_cannot_see_host_processes(msb, sandbox):
    # Every command line visible inside is the agent's or this command's own; nothing of the
    # host (this pytest, the runtime, init) shows.
    cmdlines = msb.sh(sandbox, "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done")
    assert "pytest" not in cmdlines and "sandbox run" not in cmdlines and "msb create" not in cmdlines
    assert msb.sh(sandbox, "cat /proc/1/cmdline") == "msb-agent\0" or \
        msb.sh(sandbox, "cat /proc/1/comm") == "msb-agent\n"


def test_sandbox_cannot_see_host_files(msb, sandbox):
    token = secrets.token_hex(8)
    canary = f"/tmp/msb-canary-{token}"
    with open(canary, "w") as f:
        f.write(token)
    try:
        assert msb.exec(sandbox, "test", "-e", canary).returncode == 1
        assert msb.exec(sandbox, "grep", "-rs", token, "/tmp", "/root", "/home").returncode == 1
    finally:
        os.unlink(canary)


def test_sandbox_root_is_the_image(msb, sandbox):
    # Nothing of the host's tree: not the repository, not the msb home.
    assert msb.exec(sandbox, "test", "-e", msb.home).returncode == 1
    assert msb.exec(sandbox, "test", "-e", os.path.dirname(os.path.abspath(__file__))).returncode == 1
    assert msb.sh(sandbox, "readlink /bin/sh") == "/bin/busybox\n"


def test_sandbox_sees_only_its_own_mounts(msb, sandbox):
    points = [line.split()[4] for line in msb.sh(sandbox, "cat /proc/self/mountinfo").splitlines()]
    # The resolver files are the runtime's, bound read-only from /.msb (networking, issue 8).
    allowed = re.compile(r"^/$|^/(proc|dev|sys|\.msb)(/|$)|^/etc/(resolv\.conf|hosts)$")
    assert [p for p in points if not allowed.match(p)] == []
    assert {"/", "/proc", "/dev", "/dev/pts", "/sys"} <= set(points)


def test_sandbox_sees_its_cgroups_as_the_root(msb, sandbox):
    lines = msb.sh(sandbox, "cat /proc/self/cgroup").splitlines()
    assert lines and all(line.endswith(":/") for line in lines), lines


def test_no_host_environment_reaches_the_sandbox(msb, sandbox):
    env = msb.exec(sandbox, "env", env={"HOST_SECRET": "leak"}).stdout
    assert "HOST_SECRET" not in env and "MSB_HOME" not in env
    agent_env = msb.sh(sandbox, "tr '\\0' '\\n' < /proc/1/environ").split()
    assert {e.split("=", 1)[0] for e in agent_env} <= {"MSB_AGENT_FD", "PATH"}


def test_sandbox_proc_masks_sensitive_paths(msb, sandbox):
    # Masked files read as empty, masked directories are empty, /proc/sys is read-only.
    assert msb.sh(sandbox, "cat /proc/keys 2>/dev/null; ls /proc/acpi 2>/dev/null; true") == ""
    assert msb.exec(sandbox, "sh", "-c", "echo 1 > /proc/sys/kernel/sysrq").returncode != 0


def test_sandbox_dev_is_minimal(msb, sandbox):
    names = set(msb.sh(sandbox, "ls /dev").split())
    assert {"null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "shm"} <= names
    assert not names & {"sda", "vda", "mem", "kmsg", "kvm", "port"}


def test_sandbox_cannot_create_devices_that_reach_the_host(msb, sandbox):
    # mknod is allowed, but the device cgroup / userns make the node useless.
    p = msb.exec(sandbox, "sh", "-c", "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem")
    assert p.returncode != 0


def test_sandbox_network_is_loopback_and_the_engines_eth0(msb, sandbox):
    # eth0 is the TAP of the runtime's network engine (tests/integration/net); nothing else.
    links = msb.sh(sandbox, "ls /sys/class/net").split()
    assert links == ["eth0", "lo"]


# ---- root inside is not root outside ----


def _uid_map(msb, name):
    inside, outside, count = map(int, msb.sh(name, "cat /proc/self/uid_map").split())
    return inside, outside, count


def test_sandbox_root_maps_to_an_unprivileged_host_uid(msb, sandbox):
    inside, outside, count = _uid_map(msb, sandbox)
    assert inside == 0
    assert outside >= 65536  # above every uid a host account would have
    assert count >= 65536


def test_two_sandboxes_get_disjoint_uid_ranges(msb, pair):
    (_, a, na), (_, b, nb) = _uid_map(msb, pair[0]), _uid_map(msb, pair[1])
    assert a + na <= b or b + nb <= a


def test_file_written_by_sandbox_root_is_owned_by_the_mapped_uid_on_the_host(msb, sandbox):
    _, outside, _ = _uid_map(msb, sandbox)
    msb.sh(sandbox, "echo x > /root/owned; mkdir /tmp/dir; chown 1000:1000 /tmp/dir")
    upper = os.path.join(msb.sandbox_dir(sandbox), "upper")
    st = os.stat(os.path.join(upper, "root", "owned"))
    assert (st.st_uid, st.st_gid) == (outside, outside)
    st = os.stat(os.path.join(upper, "tmp", "dir"))
    assert (st.st_uid, st.st_gid) == (outside + 1000, outside + 1000)


def test_setuid_bit_from_the_sandbox_grants_nothing_on_the_host(msb, sandbox):
    msb.sh(sandbox, "cp /bin/busybox /root/suid; chmod 4755 /root/suid")
    st = os.stat(os.path.join(msb.sandbox_dir(sandbox), "upper", "root", "suid"))
    assert st.st_uid != 0  # a setuid file, but of an unprivileged host uid
    assert not (st.st_mode & stat.S_ISUID and st.st_uid == 0)


# ---- file descriptors ----


def _fds(listing):
    """`ls -l /proc/X/fd` → {fd: target}."""
    out = {}
    for line in listing.splitlines():
        m = re.search(r"\s(\d+) -> (.*)$", line)
        if m:
            out[int(m.group(1))] = m.group(2)
    return out


def test_fresh_command_has_only_stdio_open(msb, sandbox):
    fds = _fds(msb.exec(sandbox, "ls", "-l", "/proc/self/fd/").stdout)
    # 0-2 are the session's pipes; ls itself holds one more for the directory it reads.
    assert set(fds) - {0, 1, 2} <= {3}
    assert all(t.startswith("pipe:") for fd, t in fds.items() if fd <= 2)


def test_agent_holds_only_its_channel_and_its_own_fds(msb, sandbox):
    fds = _fds(msb.sh(sandbox, "ls -l /proc/1/fd/"))
    sockets = [t for t in fds.values() if t.startswith("socket:")]
    assert len(sockets) == 1, fds  # the agent channel
    # Besides: stdio on /dev/null, its event fds, session pipes and terminals, and "/" (the
    # sandbox root, for file operations). Nothing that names a host file.
    for fd, target in fds.items():
        assert (target in ("/", "/dev/null", "/dev/ptmx")
                or target.startswith(("pipe:", "anon_inode:", "socket:", "/dev/pts/"))), (fd, target)


def test_shell_of_a_pty_session_has_only_the_terminal_open(msb, sandbox):
    fds = _fds(msb.exec(sandbox, "ls", "-l", "/proc/self/fd/", flags=("-t",)).stdout)
    assert set(fds) - {0, 1, 2} <= {3}
    assert all(fds[fd].startswith("/dev/pts/") for fd in (0, 1, 2)), fds
