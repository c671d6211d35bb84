"""Invalid names and options get a clear error naming what is wrong (exit 1 for create, 125 for
run), and a create that fails — early or in the middle of booting — leaves no trace: no record,
no directory, no socket or lock, no mount, cgroup or process."""

import os
import shutil
import tempfile

import pytest

from msb_it import EXIT_MSB_FAILED, IMAGE, unique_name

EXIT = {"create": 1, "run": EXIT_MSB_FAILED}

BAD_NAMES = {
    "empty": "",
    "129 bytes": "x" * 129,
    "slash": "a/b",
    "dot dot": "..",
    "dot": ".",
    "control character": "a\tb",
}

# (flags, a word the error must contain: the option it names)
BAD_OPTIONS = {
    "cpus 0": (("--cpus", "0"), "cpus"),
    "cpus not a number": (("-c", "two"), "-c"),
    "cpus above 128": (("--cpus", "129"), "cpus"),
    "memory 1K": (("-m", "1K"), "-m"),
    "memory below 16 MiB": (("--memory", "8M"), "memory"),
    "memory not a size": (("--memory", "lots"), "--memory"),
    "pids limit below 8": (("--pids-limit", "3"), "pids"),
    "pids limit not a number": (("--pids-limit", "x"), "--pids-limit"),
    "env with empty name": (("-e", "=value"), "env"),
    "env empty": (("-e", ""), "env"),
    "env name with a control character": (("-e", "A\tB=1"), "env"),
    "user with two colons": (("-u", "a:b:c"), "user"),
    "user empty": (("-u", ""), "user"),
    "relative workdir": (("-w", "relative/dir"), "workdir"),
    "hostname with a space": (("-H", "bad host"), "hostname"),
    "hostname too long": (("-H", "h" * 65), "hostname"),
    "pull policy": (("--pull", "sometimes"), "pull"),
    "backend": (("--backend", "bogus"), "backend"),
    "negative max duration": (("--max-duration", "-5s"), "--max-duration"),
    "idle timeout not a duration": (("--idle-timeout", "soon"), "--idle-timeout"),
}


def _attempt(msb, verb, flags, image=IMAGE):
    args = [verb, *flags, image]
    if verb == "run":
        args += ["--", "true"]
    return msb(*args)


def _assert_no_trace(msb, leaks, before, names_before, name=None):
    assert msb.names() == names_before
    if name:
        assert not os.path.exists(msb.sandbox_dir(name))
    leaks.assert_none_since(before)


@pytest.fixture
def clean(msb, leaks):
    """Asserts after the test that nothing was left behind."""
    names_before, before = msb.names(), leaks.snapshot()
    yield
    _assert_no_trace(msb, leaks, before, names_before)


# ---- names ----


@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize("label", list(BAD_NAMES))
def test_invalid_name_is_refused_naming_it(msb, clean, verb, label):
    p = _attempt(msb, verb, ("-n", BAD_NAMES[label]))
    assert p.returncode == EXIT[verb]
    assert "name" in p.stderr


def test_name_of_128_bytes_is_accepted(msb, sandboxes):
    name = sandboxes.adopt(unique_name("n") + "x" * (128 - len(unique_name("n"))))
    assert len(name.encode()) == 128
    assert msb("create", "-n", name, IMAGE).returncode == 0


def test_name_with_utf8_and_punctuation_is_accepted(msb, sandboxes):
    name = sandboxes.adopt(unique_name("ü,:=@ "))
    assert msb("create", "-n", name, IMAGE).returncode == 0
    assert msb.exec(name, "true").returncode == 0


# ---- options ----


@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize("label", list(BAD_OPTIONS))
def test_invalid_option_is_refused_naming_it(msb, clean, verb, label):
    flags, option = BAD_OPTIONS[label]
    p = _attempt(msb, verb, ("-n", unique_name("badopt"), *flags))
    assert p.returncode == EXIT[verb], p.stderr
    assert option.lower() in p.stderr.lower(), p.stderr


@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize("flag", ["--name", "--cpus", "--memory", "--env", "--user"])
def test_flag_without_its_value_is_refused_naming_it(msb, clean, verb, flag):
    p = msb(verb, IMAGE, flag)
    assert p.returncode == EXIT[verb]
    assert flag in p.stderr


@pytest.mark.parametrize("verb", ["create", "run"])
def test_unknown_flag_is_refused_naming_it(msb, clean, verb):
    p = _attempt(msb, verb, ("--no-such-flag",))
    assert p.returncode == EXIT[verb]
    assert p.stderr.strip() == (f"msb: {verb}: unknown flag `--no-such-flag` "
                                f"(`msb {verb} --help` lists the flags)")


@pytest.mark.parametrize("verb", ["create", "run"])
def test_help_goes_to_stdout_and_succeeds(msb, verb):
    p = msb(verb, "--help")
    assert p.returncode == 0 and p.stdout.startswith(f"usage: msb {verb} [flags] IMAGE")
    assert "--net-rule" in p.stdout and "--mount-dir" in p.stdout


# API.md §2 flags this build does not implement: refused with why, never ignored.
@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize(("flags", "why"), [
    (("--secret", "API_KEY@api.example"), "TLS interception"),
    (("--security", "restricted"), "default security profile"),
    (("--thp",), "huge pages"),
    (("--mount-file", "/etc/hostname:/h"), "--copy-file"),
    (("--mount-disk", "/tmp/x.img:/d"), "disk volume"),
    (("--conf=/tmp/c.yaml",), "config files"),
])
def test_unimplemented_api_flags_are_refused_with_the_reason(msb, clean, verb, flags, why):
    p = _attempt(msb, verb, ("-n", unique_name("unimpl"), *flags))
    assert p.returncode == EXIT[verb], p.stderr
    assert f"msb: {flags[0].split('=')[0]} is not supported by this build: " in p.stderr
    assert why in p.stderr


def test_security_default_is_the_profile_every_sandbox_has(msb, sandboxes):
    name = sandboxes.create("--security", "default", label="secdef")
    assert msb.sh(name, "echo ok").strip() == "ok"


def test_mount_dir_and_mount_named_are_spellings_of_volume(msb, sandboxes):
    host_dir = tempfile.mkdtemp(prefix="msb-mountdir-")  # world-readable: root inside is not root
    os.chmod(host_dir, 0o755)
    with open(os.path.join(host_dir, "f"), "w") as f:
        f.write("from the host\n")
    os.chmod(os.path.join(host_dir, "f"), 0o644)
    vol = unique_name("mnamed")
    name = sandboxes.create("--mount-dir", f"{host_dir}:/mnt/d:ro", "--mount-named", f"{vol}:/data",
                            label="mounts")
    try:
        assert msb.sh(name, "cat /mnt/d/f") == "from the host\n"
        assert msb.exec(name, "sh", "-c", "echo x > /mnt/d/g").returncode != 0  # ro
        msb.sh(name, "echo kept > /data/k")
        assert vol in msb("volume", "ls", check=True).stdout
    finally:
        msb("rm", "-f", name)
        msb("volume", "rm", vol)
        shutil.rmtree(host_dir)
    p = msb("create", "--mount-dir", "relative:/x", IMAGE)
    assert p.returncode == 1 and "--mount-dir" in p.stderr


@pytest.mark.parametrize("verb", ["create", "run"])
def test_missing_image_argument_is_refused(msb, clean, verb):
    assert msb(verb).returncode == EXIT[verb]


# ---- failures after validation: the image and the boot ----


@pytest.mark.parametrize("verb", ["create", "run"])
def test_unknown_image_fails_naming_it_and_leaves_no_trace(msb, leaks, verb):
    name = unique_name("noimage")
    names_before, before = msb.names(), leaks.snapshot()
    # --pull never: a cache miss, with no registry involved (hermetic).
    p = _attempt(msb, verb, ("-n", name, "--pull", "never"), image="local/no-such-image:1.0")
    assert p.returncode == EXIT[verb]
    assert "no-such-image" in p.stderr
    _assert_no_trace(msb, leaks, before, names_before, name)


@pytest.mark.parametrize("verb", ["create", "run"])
def test_unknown_default_user_fails_the_create_and_leaves_no_trace(msb, leaks, verb):
    name = unique_name("nouser")
    names_before, before = msb.names(), leaks.snapshot()
    p = _attempt(msb, verb, ("-n", name, "-u", "no-such-user"))
    assert p.returncode == EXIT[verb]
    assert "no-such-user" in p.stderr
    _assert_no_trace(msb, leaks, before, names_before, name)


def test_unknown_default_group_fails_the_create(msb, clean):
    p = _attempt(msb, "create", ("-n", unique_name("nogroup"), "-u", "user:no-such-group"))
    assert p.returncode == 1
    assert "no-such-group" in p.stderr


@pytest.fixture(scope="module")
def symlinked_mountpoint_image(load_image):
    """An image whose /<dir> is a symbolic link to /etc: mounting over it would mount on the
    link's target, so the boot refuses it."""
    def make(mountpoint):
        tag = f"local/symlinked-{mountpoint.strip('.')}:latest"
        return load_image(tag, [("bin", "dir", None), ("etc", "dir", None),
                                (mountpoint, "symlink", "etc"), ("bin/true", "file", "#!/bin/sh\n")])
    return make


@pytest.mark.parametrize("verb", ["create", "run"])
@pytest.mark.parametrize("mountpoint", ["proc", "dev", "sys", ".msb"])
def test_boot_failure_is_reported_and_leaves_no_trace(msb, leaks, symlinked_mountpoint_image,
                                                      verb, mountpoint):
    image = symlinked_mountpoint_image(mountpoint)
    name = unique_name("badroot")
    names_before, before = msb.names(), leaks.snapshot()
    p = _attempt(msb, verb, ("-n", name), image=image)
    assert p.returncode == EXIT[verb]
    assert f"/{mountpoint}" in p.stderr and "symbolic link" in p.stderr
    _assert_no_trace(msb, leaks, before, names_before, name)


def test_image_without_etc_passwd_runs_as_root_and_numeric_users(msb, load_image):
    with open("/bin/busybox", "rb") as f:
        busybox = f.read()
    image = load_image("local/no-etc:latest", [("bin", "dir", None), ("bin/busybox", "file", busybox)],
                       {"Env": ["PATH=/bin"]})
    assert msb("run", image, "--", "/bin/busybox", "id", "-u").stdout == "0\n"
    assert msb("run", "-u", "1000:1000", image, "--", "/bin/busybox", "id").stdout == \
        "uid=1000 gid=1000 groups=1000\n"
    p = msb("run", "-u", "nobody", image, "--", "/bin/busybox", "true")
    assert p.returncode == EXIT_MSB_FAILED and "nobody" in p.stderr


def test_replace_of_a_running_sandbox_with_a_bad_image_leaves_the_old_one_gone(msb, sandboxes, leaks):
    name = sandboxes.create()
    p = msb("create", "--replace", "--pull", "never", "-n", name, "local/no-such-image:1.0")
    assert p.returncode == 1
    # The image is checked before anything is replaced: the sandbox is untouched.
    assert msb.status(name) == "Running"


# ---- exec ----


@pytest.fixture(scope="module")
def sb(module_sandboxes):
    return module_sandboxes.create(label="badexec")


@pytest.mark.parametrize("flags,option", [
    (("-e", "=x"), "env"),
    (("-e", ""), "env"),
    (("-w", "relative"), "cwd"),
    (("-u", "a:b:c"), "user"),
    (("--rlimit", "bogus=1"), "bogus"),
    (("--rlimit", "nofile"), "--rlimit"),
    (("--timeout", "-1s"), "--timeout"),
])
def test_exec_with_an_invalid_option_exits_125_naming_it(msb, sb, flags, option):
    p = msb.exec(sb, "true", flags=flags)
    assert p.returncode == EXIT_MSB_FAILED
    assert option in p.stderr


def test_exec_env_without_a_value_takes_the_callers_value(msb, sb):
    p = msb.exec(sb, "sh", "-c", 'echo "[$FROM_HOST][$UNSET_HERE]"', flags=("-e", "FROM_HOST", "-e", "UNSET_HERE"),
                 env={"FROM_HOST": "host value"})
    assert p.stdout == "[host value][]\n"


def test_exec_rlimit_above_the_hard_limit_fails_naming_it(msb, sb):
    p = msb.exec(sb, "true", flags=("--rlimit", "nofile=99999999"))
    assert p.returncode == EXIT_MSB_FAILED
    assert "nofile" in p.stderr


def test_exec_rlimit_within_bounds_applies(msb, sb):
    assert msb.exec(sb, "sh", "-c", "ulimit -n", flags=("--rlimit", "nofile=100")).stdout == "100\n"


def test_exec_of_an_empty_command_is_refused(msb, sb):
    assert msb.exec(sb, "").returncode == EXIT_MSB_FAILED


# ---- every verb: --help, and flags it does not know ----

VERBS_WITH_NAMES = ["start", "stop", "kill", "rm", "restart", "drain", "wait", "inspect", "ping",
                    "touch", "metrics", "ps", "logs", "exec", "shell", "cp"]


@pytest.mark.parametrize("verb", VERBS_WITH_NAMES + ["ls", "image", "registry", "volume", "snapshot",
                                                     "pull", "modify", "doctor"])
def test_every_verb_has_help(msb, verb):
    p = msb(verb, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(f"usage: msb {verb}"), p.stdout


@pytest.mark.parametrize("verb", ["start", "stop", "kill", "rm", "restart", "drain", "inspect", "ping",
                                  "touch", "metrics", "ps", "ls"])
def test_unknown_flag_of_a_verb_is_refused_not_ignored(msb, clean, verb):
    p = msb(verb, "--no-such-flag", "some-sandbox")
    assert p.returncode == 1
    assert f"unknown flag `--no-such-flag`" in p.stderr, p.stderr
