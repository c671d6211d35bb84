"""Cache management: image inspect, rm (refused while a sandbox uses the image, unless forced;
shared layers survive), prune (unused images, unreferenced layers, debris), save / load round
trips in docker and OCI formats, and `run` of an uncached image without a command."""

import json
import os
import tarfile

from .regfix import Image, Layer, unique_repo
from .test_layers import CHECK_SCRIPT, expected_listing, whiteout_image


def refs(cli):
    return [i["reference"] for i in json.loads(cli("image", "ls", "--format", "json",
                                                     check=True).stdout)]


def layers_on_disk(home):
    return set(os.listdir(os.path.join(home, "cache", "layers")))


def push(pusher, registry, img, label):
    repo = unique_repo(label)
    pusher.image(repo, "v1", img)
    return f"{registry.host}/{repo}:v1"


def test_run_without_a_command_pulls_and_runs_the_image_cmd(cli, registry, pusher, base):
    ref = push(pusher, registry, Image([base], config={"Cmd": ["echo", "from CMD"]}), "cmd")
    assert cli("run", ref, check=True).stdout == "from CMD\n"


def test_image_inspect_json(cli, registry, pusher, base):
    top = Layer.of([("file", "x", "x")], "zstd")
    img = Image([base, top], config={"Entrypoint": ["/bin/sh", "-c"], "Cmd": ["echo hi"],
                                     "User": "1000", "Labels": {"k": "v"},
                                     "StopSignal": "SIGINT", "WorkingDir": "/tmp"})
    ref = push(pusher, registry, img, "inspect")
    cli("pull", ref, check=True)
    d = json.loads(cli("image", "inspect", ref, "--format", "json", check=True).stdout)
    assert d["reference"] == ref and d["digest"] == img.digest and d["layer_count"] == 2
    assert d["config"]["digest"] == img.config_digest
    assert d["config"]["entrypoint"] == ["/bin/sh", "-c"] and d["config"]["cmd"] == ["echo hi"]
    assert d["config"]["user"] == "1000" and d["config"]["working_dir"] == "/tmp"
    assert d["config"]["labels"] == {"k": "v"} and d["config"]["stop_signal"] == "SIGINT"
    assert [l["position"] for l in d["layers"]] == [0, 1]
    assert d["layers"][1] == {"diff_id": top.diff_id, "blob_digest": top.digest,
                              "media_type": top.media_type,
                              "compressed_size_bytes": len(top.blob), "erofs_size_bytes": None,
                              "position": 1}
    p = cli("image", "inspect", f"{registry.host}/nope:v1")
    assert p.returncode == 1 and "not in the local store" in p.stderr


def test_image_rm_refuses_an_image_in_use_unless_forced(cli, home, registry, pusher, base):
    ref = push(pusher, registry, Image([base, Layer.of([("file", "m", "used")])]), "inuse")
    cli("create", "-n", "user1", ref, check=True)
    p = cli("image", "rm", ref)
    assert p.returncode == 1
    assert "used by sandbox `user1`" in p.stderr
    assert ref in refs(cli)
    cli("image", "rm", "-f", ref, check=True)
    assert ref not in refs(cli)
    # The sandbox still has its image: it restarts from its pinned manifest.
    cli("stop", "user1", check=True)
    cli("start", "user1", check=True)
    assert cli.exec("user1", "cat", "/m", check=True).stdout == "used"
    before = layers_on_disk(home)
    prune = json.loads(cli("image", "prune", "-y", "--format", "json", check=True).stdout)
    assert prune["layers_removed"] == 0 and layers_on_disk(home) == before  # still pinned
    cli("rm", "-f", "user1", check=True)
    prune = json.loads(cli("image", "prune", "-y", "--format", "json", check=True).stdout)
    assert prune["manifests_removed"] == 1 and prune["layers_removed"] == 2
    assert prune["bytes_reclaimed"] > 1_000_000
    assert layers_on_disk(home) == set()


def test_image_rm_keeps_layers_another_image_shares(cli, home, registry, pusher, base):
    a = push(pusher, registry, Image([base, Layer.of([("file", "a", "a")])]), "sharea")
    b = push(pusher, registry, Image([base, Layer.of([("file", "b", "b")])]), "shareb")
    cli("pull", a, check=True)
    cli("pull", b, check=True)
    assert len(layers_on_disk(home)) == 3
    cli("rmi", a, check=True)
    assert base.diff_id.split(":")[1] in layers_on_disk(home)
    assert len(layers_on_disk(home)) == 2
    assert cli("run", b, "--", "cat", "/b", check=True).stdout == "b"
    p = cli("image", "rm", a)
    assert p.returncode == 1 and "not in the local store" in p.stderr


def test_prune_removes_unused_images_and_debris(cli, home, registry, pusher, base):
    ref = push(pusher, registry, Image([base]), "prune")
    cli("pull", ref, check=True)
    os.makedirs(os.path.join(home, "cache", "tmp", "layer-deadbeef.12345", "x"))
    os.makedirs(os.path.join(home, "cache", "layers", "ab" * 32))
    rep = json.loads(cli("image", "prune", "-y", "--format", "json", check=True).stdout)
    assert rep["image_refs_removed"] == 1 and rep["manifests_removed"] == 1
    assert rep["layers_removed"] == 2  # the image's layer and the dangling directory
    assert refs(cli) == [] and layers_on_disk(home) == set()
    assert os.listdir(os.path.join(home, "cache", "tmp")) == []


def test_save_and_load_round_trip_in_both_formats(cli, home, registry, pusher, base, tmp_path):
    ref = push(pusher, registry, whiteout_image(base), "save")
    cli("pull", ref, check=True)
    docker_tar, oci_tar = str(tmp_path / "img-docker.tar"), str(tmp_path / "img-oci.tar")
    cli("image", "save", ref, "-o", docker_tar, check=True)
    with open(oci_tar, "wb") as f:
        p = cli("save", "--format", "oci", ref, text=False)
        assert p.returncode == 0
        f.write(p.stdout)
    with tarfile.open(docker_tar) as t:
        manifest = json.load(t.extractfile("manifest.json"))
        assert manifest[0]["RepoTags"] == [ref] and len(manifest[0]["Layers"]) == 3
    with tarfile.open(oci_tar) as t:
        assert "oci-layout" in t.getnames()
        index = json.load(t.extractfile("index.json"))
        assert index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == ref
    for archive in (docker_tar, oci_tar):
        cli("image", "rm", ref, check=True)
        cli("image", "prune", "-y", check=True)
        assert layers_on_disk(home) == set()
        out = cli("image", "load", "-i", archive, check=True).stdout
        assert f"Loaded image: {ref}" in out
        assert cli("run", ref, "--", "sh", "-c", CHECK_SCRIPT, check=True).stdout == \
            expected_listing()
    p = cli("image", "save", f"{registry.host}/not/there:v1", "-o", str(tmp_path / "x.tar"))
    assert p.returncode == 1 and "not in the local store" in p.stderr
    assert not os.path.exists(tmp_path / "x.tar")
