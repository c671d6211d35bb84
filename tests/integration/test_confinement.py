"""The default seccomp filter and the reduced capability set (runtime/ns/seccomp.c, caps.c):
root inside cannot create namespaces, mount, or change the hostname, and holds exactly the
documented capabilities."""

import pytest

# runtime/ns/caps.c: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP
# SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE.
DOCUMENTED_CAPS = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6,
    "SETUID": 7, "SETPCAP": 8, "NET_BIND_SERVICE": 10, "NET_RAW": 13, "SYS_CHROOT": 18,
    "MKNOD": 27, "AUDIT_WRITE": 29, "SETFCAP": 31,
}
DOCUMENTED_MASK = sum(1 << bit for bit in DOCUMENTED_CAPS.values())


@pytest.fixture(scope="module")
def sb(module_sandboxes):
    return module_sandboxes.create(label="confine")


def _status(msb, sb, *flags):
    out = msb.exec(sb, "cat", "/proc/self/status", flags=flags, check=True).stdout
    return dict(line.split(":\t", 1) for line in out.splitlines() if ":\t" in line)


@pytest.mark.parametrize("flag", ["-U", "-m", "-n", "-p", "-u", "-i"])
def test_unshare_of_any_namespace_is_refused(msb, sb, flag):
    p = msb.exec(sb, "unshare", flag, "true")
    assert p.returncode != 0
    assert "Operation not permitted" in p.stderr


def test_mount_is_refused(msb, sb):
    p = msb.exec(sb, "mount", "-t", "tmpfs", "none", "/mnt")
    assert p.returncode != 0
    assert msb.exec(sb, "grep", "-c", " /mnt ", "/proc/self/mountinfo").stdout.strip() == "0"


def test_umount_is_refused(msb, sb):
    assert msb.exec(sb, "umount", "/proc").returncode != 0
    assert msb.exec(sb, "test", "-e", "/proc/self/status").returncode == 0


def test_remount_of_the_root_read_write_options_is_refused(msb, sb):
    assert msb.exec(sb, "mount", "-o", "remount,ro", "/").returncode != 0


def test_hostname_cannot_be_changed(msb, sb):
    before = msb.sh(sb, "hostname")
    p = msb.exec(sb, "hostname", "changed")
    assert p.returncode != 0
    assert msb.sh(sb, "hostname") == before


def test_pivot_root_and_chroot_escape_are_refused(msb, sb):
    assert msb.exec(sb, "pivot_root", "/tmp", "/tmp").returncode != 0


def test_network_configuration_cannot_be_changed(msb, sb):
    assert msb.exec(sb, "ip", "link", "set", "lo", "down").returncode != 0
    assert msb.exec(sb, "ip", "link", "add", "dummy0", "type", "dummy").returncode != 0


def test_nsenter_into_the_host_is_refused(msb, sb):
    # No host pid is visible, and setns is refused even for the sandbox's own namespaces.
    assert msb.exec(sb, "nsenter", "-t", "1", "-m", "true").returncode != 0


def test_kernel_log_and_modules_are_out_of_reach(msb, sb):
    assert msb.exec(sb, "dmesg").returncode != 0
    assert msb.exec(sb, "insmod", "/nonexistent.ko").returncode != 0


def test_root_has_exactly_the_documented_capabilities(msb, sb):
    st = _status(msb, sb)
    for field in ("CapEff", "CapPrm", "CapBnd"):
        assert int(st[field], 16) == DOCUMENTED_MASK, (field, st[field])
    assert int(st["CapAmb"], 16) == 0


def test_unprivileged_user_has_no_capabilities(msb, sb):
    st = _status(msb, sb, "-u", "nobody")
    assert int(st["CapEff"], 16) == 0
    assert int(st["CapPrm"], 16) == 0
    assert int(st["CapBnd"], 16) == DOCUMENTED_MASK  # the bound holds for every exec


def test_commands_run_with_no_new_privs_and_a_seccomp_filter(msb, sb):
    st = _status(msb, sb)
    assert st["NoNewPrivs"].strip() == "1"
    assert st["Seccomp"].strip() == "2"  # filter mode


def test_root_can_still_do_ordinary_root_things(msb, sb):
    # The reduced set keeps what package managers and services need.
    msb.sh(sb, "touch /tmp/owned && chown 2000:2000 /tmp/owned && chmod 600 /tmp/owned")  # CHOWN
    assert msb.exec(sb, "cat", "/tmp/owned").returncode == 0  # DAC_OVERRIDE
    assert msb.exec(sb, "chroot", "/", "true").returncode == 0  # SYS_CHROOT
