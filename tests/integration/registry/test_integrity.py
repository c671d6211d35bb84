"""Integrity and robustness of pulls: tampered blobs, manifests and configs are rejected with
nothing cached; an interrupted download resumes (or restarts) cleanly; a download that keeps
failing leaves nothing; two processes pulling one image at once fetch each layer once."""

import json
import os
import secrets
import signal
import sqlite3
import time

from .regfix import Image, Layer, unique_repo


def random_layer(size, path="blob.bin"):
    """An incompressible layer of about `size` bytes, unique to the test."""
    return Layer.of([("file", path, secrets.token_bytes(size))])


def assert_nothing_cached(home, layers):
    names = set(os.listdir(os.path.join(home, "cache", "layers")))
    for l in layers:
        assert l.diff_id.split(":")[1] not in names, l.diff_id
    assert os.listdir(os.path.join(home, "cache", "tmp")) == []
    db = sqlite3.connect(os.path.join(home, "db", "msb.db"))
    try:
        assert db.execute("SELECT COUNT(*) FROM images").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM manifests").fetchone()[0] == 0
        for l in layers:
            assert db.execute("SELECT COUNT(*) FROM layers WHERE diff_id = ?",
                              (l.diff_id,)).fetchone()[0] == 0
    finally:
        db.close()


def test_tampered_blob_is_rejected_and_nothing_is_cached(cli, home, base, pusher, fake):
    victim = random_layer(300_000)
    img = Image([base, victim])
    repo = unique_repo("tamper")
    pusher.image(repo, "v1", img)
    fake.corrupt.add(victim.digest)
    p = cli("pull", f"{fake.host}/{repo}:v1")
    assert p.returncode == 1
    assert "mismatch" in p.stderr and victim.digest in p.stderr
    assert_nothing_cached(home, [victim])
    assert json.loads(cli("image", "ls", "--format", "json", check=True).stdout) == []


def test_corrupted_blob_in_registry_storage_is_rejected(cli, home, registry, pusher, base):
    victim = random_layer(100_000)
    repo = unique_repo("storage")
    pusher.image(repo, "v1", Image([base, victim]))
    path = registry.blob_path(victim.digest)
    with open(path, "r+b") as f:
        f.seek(len(victim.blob) // 3)
        f.write(b"\0" * 64)
    p = cli("pull", f"{registry.host}/{repo}:v1")
    assert p.returncode == 1
    assert "layer blob digest mismatch" in p.stderr or "does not match" in p.stderr, p.stderr
    assert_nothing_cached(home, [victim])


def test_config_naming_the_wrong_diff_id_is_rejected(cli, home, registry, pusher, base):
    layer = random_layer(20_000)
    img = Image([base, layer], diff_ids=[base.diff_id, "sha256:" + "ab" * 32])
    repo = unique_repo("diffid")
    pusher.image(repo, "v1", img)
    p = cli("pull", f"{registry.host}/{repo}:v1")
    assert p.returncode == 1
    assert "diff_id mismatch" in p.stderr
    assert not os.path.exists(os.path.join(home, "cache", "layers", "ab" * 32))
    assert os.listdir(os.path.join(home, "cache", "tmp")) == []


def test_tampered_manifest_is_rejected(cli, home, registry, pusher, base, fake):
    img = Image([base])
    repo = unique_repo("manifest")
    digest = pusher.image(repo, "v1", img)
    fake.tamper_manifest = True
    p = cli("pull", f"{fake.host}/{repo}@{digest}")
    assert p.returncode == 1
    assert "does not match its digest" in p.stderr
    p = cli("pull", f"{fake.host}/{repo}:v1")  # by tag: Docker-Content-Digest disagrees
    assert p.returncode == 1
    assert "does not match the digest the registry announced" in p.stderr


def test_interrupted_download_resumes_with_a_range_request(cli, home, registry, pusher, base, fake):
    big = random_layer(3_000_000)
    repo = unique_repo("resume")
    pusher.image(repo, "v1", Image([base, big]))
    fake.drop_once.add(big.digest)
    p = cli("pull", f"{fake.host}/{repo}:v1")
    assert p.returncode == 0, p.stderr
    gets = fake.blob_gets(big.digest)
    assert len(gets) == 2
    assert "Range" not in gets[0][2]
    assert gets[1][2]["Range"].startswith("bytes=") and gets[1][2]["Range"] != "bytes=0-"
    assert cli("run", f"{fake.host}/{repo}:v1", "--", "sh", "-c", "wc -c < /blob.bin",
               check=True).stdout.strip() == "3000000"


def test_interrupted_download_restarts_when_ranges_are_ignored(cli, base, pusher, fake):
    big = random_layer(1_500_000)
    repo = unique_repo("restart")
    pusher.image(repo, "v1", Image([base, big]))
    fake.drop_once.add(big.digest)
    fake.ignore_range = True
    p = cli("pull", f"{fake.host}/{repo}:v1")
    assert p.returncode == 0, p.stderr
    assert len(fake.blob_gets(big.digest)) == 2


def test_download_that_keeps_failing_leaves_nothing(cli, home, base, pusher, fake):
    big = random_layer(1_000_000)
    repo = unique_repo("fail")
    pusher.image(repo, "v1", Image([base, big]))
    fake.drop_always.add(big.digest)
    p = cli("pull", f"{fake.host}/{repo}:v1")
    assert p.returncode == 1
    assert "attempts" in p.stderr
    assert_nothing_cached(home, [big])


def test_two_processes_pulling_one_image_fetch_each_layer_once(cli, home, base, pusher, fake):
    layers = [random_layer(400_000, f"f{i}") for i in range(3)]
    repo = unique_repo("concurrent")
    pusher.image(repo, "v1", Image([base, *layers]))
    fake.slow = 0.01  # a few seconds per pull: the two overlap
    ref = f"{fake.host}/{repo}:v1"
    # The state database exists before the race (two first opens of a fresh MSB_HOME at once
    # is lib/db.c's concern, not the pull's).
    cli("image", "ls", check=True)
    procs = [cli.popen("pull", "-q", ref, stdout=-1, stderr=-1, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (out, errout) in zip(procs, outs):
        assert p.returncode == 0, errout
        assert out.strip() == ref
    for l in [base, *layers]:
        assert len(fake.blob_gets(l.digest)) == 1, l.digest
    assert cli("run", ref, "--", "sh", "-c", "cat /f0 /f1 /f2 | wc -c",
               check=True).stdout.strip() == "1200000"


def test_a_killed_pull_leaves_nothing_partial_and_the_next_pull_completes(cli, home, base, pusher,
                                                                          fake):
    big = random_layer(2_000_000)
    repo = unique_repo("killed")
    pusher.image(repo, "v1", Image([base, big]))
    fake.slow = 0.05  # ~1.5 s for the big layer: time to kill the pull in the middle of it
    ref = f"{fake.host}/{repo}:v1"
    proc = cli.popen("pull", ref, stdout=-1, stderr=-1)
    deadline = time.monotonic() + 30
    while not fake.blob_gets(big.digest) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    hexd = big.diff_id.split(":")[1]
    assert hexd not in os.listdir(os.path.join(home, "cache", "layers"))
    fake.slow = 0
    p = cli("pull", ref)
    assert p.returncode == 0, p.stderr
    assert hexd in os.listdir(os.path.join(home, "cache", "layers"))
    # The dead pull's temp dir was cleared under the layer lock by the next unpack.
    assert os.listdir(os.path.join(home, "cache", "tmp")) == []
