"""Pull policy on create / run (always, if-missing, never) and registry mirrors from
config.json: `alpine`-style short names of the default registry served by a mirror on
127.0.0.1, mirrors tried in order, offline use of the cache."""

import json

from msb_it import EXIT_MSB_FAILED

from .conftest import write_config
from .regfix import FakeRegistry, Image, Layer, free_port, unique_repo


def marker(text):
    return Layer.of([("file", "marker", text)])


def test_pull_policy_never_with_an_uncached_image_fails_clearly(cli, registry, pusher, base,
                                                               pull_client):
    repo = unique_repo("never")
    pusher.image(repo, "v1", Image([base]))
    ref = f"{registry.host}/{repo}:v1"
    p = cli("run", "--pull", "never", ref, "--", "true")
    assert p.returncode == EXIT_MSB_FAILED
    assert f"image `{ref}` is not cached and the pull policy is `never`" in p.stderr
    events, result, _ = pull_client("create", "never1", ref, "--policy", "never")
    assert result["code"] == "image-not-found"
    assert [e["event"] for e in events] == ["resolving"]
    assert cli("ls", "-q", check=True).stdout == ""


def test_pull_policy_if_missing_works_offline_from_the_cache(cli, registry, pusher, base):
    repo = unique_repo("offline")
    pusher.image(repo, "v1", Image([base, marker("cached")]))
    fake = FakeRegistry(registry.host)
    ref = f"{fake.host}/{repo}:v1"
    cli("pull", ref, check=True)
    fake.stop()  # the registry is gone
    out = cli("run", "--pull", "if-missing", ref, "--", "cat", "/marker", check=True).stdout
    assert out == "cached"
    p = cli("run", "--pull", "always", ref, "--", "true")
    assert p.returncode == EXIT_MSB_FAILED
    assert "cannot fetch from" in p.stderr


def test_pull_policy_always_follows_the_tag(cli, registry, pusher, base):
    repo = unique_repo("always")
    ref = f"{registry.host}/{repo}:v1"
    pusher.image(repo, "v1", Image([base, marker("one")]))
    assert cli("run", ref, "--", "cat", "/marker", check=True).stdout == "one"
    pusher.image(repo, "v1", Image([base, marker("two")]))
    assert cli("run", ref, "--", "cat", "/marker", check=True).stdout == "one"  # if-missing
    assert cli("run", "--pull", "always", ref, "--", "cat", "/marker", check=True).stdout == "two"


def test_mirror_serves_short_names_of_the_default_registry(cli, home, registry, pusher, base):
    # The mirror holds library/<name>, as a pull-through cache of Docker Hub would.
    name = unique_repo("hub").split("/")[1]
    img = Image([base, marker("from the mirror")])
    pusher.image(f"library/{name}", "latest", img)
    write_config(home, {"registries": {"docker.io": {"mirrors": [registry.host]}}})
    p = cli("pull", name, check=True)
    assert f"docker.io/library/{name}:latest" in p.stdout
    listed = json.loads(cli("image", "ls", "--format", "json", check=True).stdout)
    assert [i["reference"] for i in listed] == [f"docker.io/library/{name}:latest"]
    assert listed[0]["digest"] == img.digest
    assert cli("run", name, "--", "cat", "/marker", check=True).stdout == "from the mirror"


def test_mirrors_are_tried_in_order(cli, home, registry, pusher, base):
    repo = unique_repo("order")
    pusher.image(repo, "v1", Image([base, marker("second mirror")]))
    # The "registry" itself is a dead loopback port: only the second mirror can serve.
    dead_registry, dead_mirror = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    write_config(home, {"registries": {dead_registry: {"mirrors": [dead_mirror, registry.host]}}})
    ref = f"{dead_registry}/{repo}:v1"
    cli("pull", ref, check=True)
    assert cli("run", ref, "--", "cat", "/marker", check=True).stdout == "second mirror"


def test_every_endpoint_down_fails_naming_them(cli, home):
    dead_registry, dead_mirror = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    write_config(home, {"registries": {dead_registry: {"mirrors": [dead_mirror]}}})
    p = cli("pull", f"{dead_registry}/x/y:v1")
    assert p.returncode == 1
    assert "mirrors failed first" in p.stderr
    assert dead_mirror in p.stderr and dead_registry in p.stderr


def test_a_malformed_config_json_is_reported(cli, home):
    write_config(home, {"registries": {"docker.io": {"mirrors": "not/a host"}}})
    p = cli("pull", "alpine")
    assert p.returncode == 1
    assert "config.json" in p.stderr
