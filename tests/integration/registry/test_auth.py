"""Authentication and TLS: a TLS registry with a test CA and htpasswd basic auth, the Bearer
token flow of a (fake) token service, `msb registry login/logout/ls`, credentials stored 0600
and never printed or logged, blob redirects that must not carry our credentials."""

import json
import os
import stat

from .conftest import write_config
from .regfix import Image, Layer, unique_repo


def trust(home, registry, **extra):
    write_config(home, {"registries": {registry.host: dict({"ca_file": registry.ca}, **extra)}})


def tls_image(tls_pusher, label, base=None):
    repo = unique_repo(label)
    img = Image(([base] if base else []) + [Layer.of([("file", "hello", label)])])
    tls_pusher.image(repo, "v1", img)
    return repo, img


def secrets_dir(home):
    return os.path.join(home, "secrets", "registries")


def test_credentials_required(cli, home, tls_registry, tls_pusher):
    repo, _ = tls_image(tls_pusher, "noauth")
    trust(home, tls_registry)
    p = cli("pull", f"{tls_registry.host}/{repo}:v1")
    assert p.returncode == 1
    assert "requires authentication" in p.stderr
    assert f"msb registry login {tls_registry.host}" in p.stderr


def test_wrong_password_is_refused_clearly_and_nothing_is_stored(cli, home, tls_registry):
    trust(home, tls_registry)
    p = cli("registry", "login", tls_registry.host, "--username", tls_registry.user,
            "--password-stdin", input="wrong-password\n")
    assert p.returncode == 1
    assert f"rejected the credentials of user `{tls_registry.user}`" in p.stderr
    assert "wrong-password" not in p.stderr + p.stdout
    assert cli("registry", "ls", "-q", check=True).stdout == ""
    assert not os.path.exists(os.path.join(secrets_dir(home), tls_registry.host + ".json"))


def test_wrong_password_for_a_pull_is_refused_clearly(home, tls_registry, tls_pusher, pull_client):
    repo, _ = tls_image(tls_pusher, "wrongpull")
    trust(home, tls_registry)
    _, result, _ = pull_client("pull", f"{tls_registry.host}/{repo}:v1", "--user",
                               tls_registry.user, password="nope")
    assert result["code"] == "image-pull-failed"
    assert "rejected the credentials" in result["message"]
    assert "nope" not in result["message"]


def test_login_stores_private_credentials_then_pull_and_logout(cli, home, tls_registry, tls_pusher,
                                                              base):
    repo, _ = tls_image(tls_pusher, "login", base)
    trust(home, tls_registry)
    p = cli("registry", "login", tls_registry.host, "--username", tls_registry.user,
            "--password-stdin", input=tls_registry.password + "\n")
    assert p.returncode == 0, p.stderr
    path = os.path.join(secrets_dir(home), tls_registry.host + ".json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(secrets_dir(home)).st_mode) == 0o700
    with open(path) as f:
        assert json.load(f) == {"username": tls_registry.user, "password": tls_registry.password}
    listed = json.loads(cli("registry", "ls", "--format", "json", check=True).stdout)
    assert listed == [{"registry": tls_registry.host, "username": tls_registry.user}]
    pulled = cli("pull", f"{tls_registry.host}/{repo}:v1")
    assert pulled.returncode == 0, pulled.stderr
    assert cli("run", f"{tls_registry.host}/{repo}:v1", "--", "cat", "/hello",
               check=True).stdout == "login"
    # The password is nowhere but in its file.
    for root, _, files in os.walk(home):
        for name in files:
            full = os.path.join(root, name)
            if full == path or not os.path.isfile(full):
                continue
            with open(full, "rb") as f:
                assert tls_registry.password.encode() not in f.read(), full
    for out in (p, pulled):
        assert tls_registry.password not in out.stdout + out.stderr
    cli("registry", "logout", tls_registry.host, check=True)
    assert not os.path.exists(path)
    cli("image", "rm", f"{tls_registry.host}/{repo}:v1", check=True)
    again = cli("pull", f"{tls_registry.host}/{repo}:v1")
    assert again.returncode == 1 and "requires authentication" in again.stderr
    assert cli("registry", "logout", tls_registry.host).returncode == 1


def test_untrusted_certificate_is_a_tls_error_never_a_fallback_to_http(home, tls_registry,
                                                                        tls_pusher, pull_client):
    repo, _ = tls_image(tls_pusher, "untrusted")
    _, result, _ = pull_client("pull", f"{tls_registry.host}/{repo}:v1", "--user",
                               tls_registry.user, password=tls_registry.password)
    assert result["code"] == "tls-error"
    assert "--ca-certs" in result["message"]


def test_ca_certs_option_and_explicit_credentials(cli, tls_registry, tls_pusher):
    repo, _ = tls_image(tls_pusher, "caflag")
    p = cli("pull", "--ca-certs", tls_registry.ca, "--username", tls_registry.user,
            "--password-stdin", f"{tls_registry.host}/{repo}:v1",
            input=tls_registry.password + "\n")
    assert p.returncode == 0, p.stderr
    assert tls_registry.password not in p.stdout + p.stderr


def test_create_uses_registry_auth_from_the_config(home, tls_registry, tls_pusher, pull_client):
    repo, _ = tls_image(tls_pusher, "cfgauth")
    trust(home, tls_registry)
    _, result, p = pull_client("create", "withauth", f"{tls_registry.host}/{repo}:v1", "--user",
                               tls_registry.user, password=tls_registry.password)
    assert result["result"] == "ok", p.stdout + p.stderr


def test_bearer_token_flow(registry, pusher, fake, pull_client, cli):
    repo = unique_repo("bearer")
    pusher.image(repo, "v1", Image([Layer.of([("file", "t", "token")])]))
    fake.bearer = ("tokenuser", "tokenpass")
    ref = f"{fake.host}/{repo}:v1"
    _, result, _ = pull_client("pull", ref)
    assert result["code"] == "image-pull-failed"
    assert "requires authentication" in result["message"]
    _, result, _ = pull_client("pull", ref, "--user", "tokenuser", password="bad")
    assert "rejected the credentials of user `tokenuser`" in result["message"]
    _, result, p = pull_client("pull", ref, "--user", "tokenuser", password="tokenpass")
    assert result["result"] == "ok", p.stdout + p.stderr
    token_reqs = [r for r in fake.requests if r[1].startswith("/token")]
    assert token_reqs and "scope=repository%3A" in token_reqs[-1][1]
    assert "service=fake" in token_reqs[-1][1]
    # One token served the whole pull.
    assert fake.tokens_issued == 1


def test_blob_redirects_do_not_carry_credentials(registry, pusher, fake, pull_client):
    repo = unique_repo("redirect")
    img = Image([Layer.of([("file", "r", "redirected")])])
    pusher.image(repo, "v1", img)
    fake.bearer = ("u", "p")
    fake.redirect_blobs = True
    _, result, p = pull_client("pull", f"{fake.host}/{repo}:v1", "--user", "u", password="p")
    assert result["result"] == "ok", p.stdout + p.stderr
    redirected = [r for r in fake.requests if r[1].startswith("/_redirected/")]
    assert redirected, fake.requests
    for _, path, headers in redirected:
        assert "Authorization" not in headers, path
    assert any(h.get("Authorization", "").startswith("Bearer ") for _, path, h in fake.requests
               if "/manifests/" in path)


def test_insecure_skips_certificate_verification(cli, tls_registry, tls_pusher):
    repo, _ = tls_image(tls_pusher, "insecure")
    ref = f"{tls_registry.host}/{repo}:v1"
    p = cli("pull", "--username", tls_registry.user, "--password-stdin", ref,
            input=tls_registry.password + "\n")
    assert p.returncode == 1 and "TLS" in p.stderr
    p = cli("pull", "--insecure", "--username", tls_registry.user, "--password-stdin", ref,
            input=tls_registry.password + "\n")
    assert p.returncode == 0, p.stderr


def test_insecure_registry_in_config_json(cli, home, tls_registry, tls_pusher):
    repo, _ = tls_image(tls_pusher, "insecurecfg")
    write_config(home, {"registries": {tls_registry.host: {"insecure": True}}})
    p = cli("pull", "--username", tls_registry.user, "--password-stdin",
            f"{tls_registry.host}/{repo}:v1", input=tls_registry.password + "\n")
    assert p.returncode == 0, p.stderr
