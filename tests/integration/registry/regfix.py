"""Machinery of the registry tests (issue 3): Debian's docker-registry on 127.0.0.1 (plain
HTTP, or TLS with a test CA and htpasswd basic auth), images built here and pushed over the
Registry HTTP API, and a fake registry that fronts a real one and misbehaves on request
(corrupt blobs, dropped connections, Bearer tokens, blob redirects, slow transfers).

Nothing here talks to a public registry.
"""

import base64
import gzip
import hashlib
import http.client
import http.server
import io
import json
import os
import secrets
import socket
import ssl
import subprocess
import tarfile
import threading
import time

DOCKER_REGISTRY = "/usr/bin/docker-registry"
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)

MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MT_DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_LAYER = {
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
    "none": "application/vnd.oci.image.layer.v1.tar",
    "docker": "application/vnd.docker.image.rootfs.diff.tar.gzip",
}


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# docker-registry


class Registry:
    """One docker-registry process serving 127.0.0.1:<port> from `workdir`/data."""

    def __init__(self, workdir, tls=None, htpasswd=None):
        self.workdir = workdir
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.tls = tls
        self.data = os.path.join(workdir, "data")
        os.makedirs(self.data, exist_ok=True)
        lines = ["version: 0.1", "log:", "  level: error", "  accesslog:", "    disabled: true",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.data}",
                 "  delete:", "    enabled: true", "http:", f"  addr: {self.host}"]
        if tls:
            lines += ["  tls:", f"    certificate: {tls['cert']}", f"    key: {tls['key']}"]
        if htpasswd:
            lines += ["auth:", "  htpasswd:", "    realm: msb-test", f"    path: {htpasswd}"]
        self.config = os.path.join(workdir, "config.yml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.log = open(os.path.join(workdir, "registry.log"), "wb")
        self.proc = subprocess.Popen([DOCKER_REGISTRY, "serve", self.config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited: see {self.log.name}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("docker-registry did not start")

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return os.path.join(self.data, "docker", "registry", "v2", "blobs", "sha256", hexd[:2],
                            hexd, "data")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def make_tls(workdir):
    """A test CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    ca_key, ca = os.path.join(workdir, "ca.key"), os.path.join(workdir, "ca.pem")
    key, csr, cert = (os.path.join(workdir, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(workdir, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda *a: subprocess.run(a, check=True, capture_output=True)
    run("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "3",
        "-subj", "/CN=msb test CA")
    run("openssl", "req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
        "-out", cert, "-days", "3", "-extfile", ext)
    return {"ca": ca, "cert": cert, "key": key}


def make_htpasswd(workdir, user, password):
    path = os.path.join(workdir, "htpasswd")
    out = subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                         capture_output=True, text=True).stdout
    with open(path, "w") as f:
        f.write(out)
    return path


# ---------------------------------------------------------------------------------------------
# images


def tar_bytes(entries):
    """A layer tar from entries (tuples):
      ("dir", path[, mode])           ("file", path, data[, mode[, uid, gid]])
      ("symlink", path, target)       ("hardlink", path, target)
      ("char", path, major, minor)    ("fifo", path)
      ("whiteout", path)  → .wh.<name>        ("opaque", dir) → <dir>/.wh..wh..opq
      ("raw", TarInfo, data or None)  → written as is (hostile cases)
    """
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for e in entries:
            kind, path = e[0], e[1]
            if kind == "raw":
                tar.addfile(path, io.BytesIO(e[2]) if e[2] is not None else None)  # a TarInfo
                continue
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid = 0, 0, 0
            if kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, e[2] if len(e) > 2 else 0o755
                tar.addfile(info)
            elif kind == "file":
                data = e[2] if isinstance(e[2], bytes) else e[2].encode()
                info.size, info.mode = len(data), e[3] if len(e) > 3 else 0o644
                if len(e) > 5:
                    info.uid, info.gid = e[4], e[5]
                tar.addfile(info, io.BytesIO(data))
            elif kind == "symlink":
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, e[2], 0o777
                tar.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, e[2]
                tar.addfile(info)
            elif kind == "char":
                info.type, info.devmajor, info.devminor, info.mode = tarfile.CHRTYPE, e[2], e[3], 0o666
                tar.addfile(info)
            elif kind == "fifo":
                info.type, info.mode = tarfile.FIFOTYPE, 0o644
                tar.addfile(info)
            elif kind == "whiteout":
                d, name = os.path.split(path)
                info.name = os.path.join(d, ".wh." + name)
                tar.addfile(info, io.BytesIO(b""))
            elif kind == "opaque":
                info.name = path.rstrip("/") + "/.wh..wh..opq"
                tar.addfile(info, io.BytesIO(b""))
            else:
                raise ValueError(kind)
    return buf.getvalue()


class Layer:
    def __init__(self, tar, compression="gzip", blob=None, diff_id=None, media_type=None):
        self.tar = tar
        self.diff_id = diff_id or sha256(tar)
        if blob is None:
            if compression in ("gzip", "docker"):
                blob = gzip.compress(tar, mtime=0)
            elif compression == "zstd":
                blob = subprocess.run(["zstd", "-q", "-c"], input=tar, check=True,
                                      capture_output=True).stdout
            else:
                blob = tar
        self.blob = blob
        self.digest = sha256(blob)
        self.media_type = media_type or MT_LAYER[compression]

    @classmethod
    def of(cls, entries, compression="gzip"):
        return cls(tar_bytes(entries), compression)


class Image:
    """An image manifest with its config; `docker=True` uses the Docker schema 2 types."""

    def __init__(self, layers, config=None, arch=ARCH, docker=False, diff_ids=None):
        self.layers = layers
        cfg = {
            "architecture": arch, "os": "linux", "created": "1970-01-01T00:00:00Z",
            "config": dict({"Env": ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["/bin/sh"],
                            "WorkingDir": "/"}, **(config or {})),
            "rootfs": {"type": "layers", "diff_ids": diff_ids or [l.diff_id for l in layers]},
        }
        self.config = json.dumps(cfg, sort_keys=True).encode()
        self.config_digest = sha256(self.config)
        self.media_type = MT_DOCKER_MANIFEST if docker else MT_OCI_MANIFEST
        manifest = {
            "schemaVersion": 2, "mediaType": self.media_type,
            "config": {"mediaType": MT_DOCKER_CONFIG if docker else MT_OCI_CONFIG,
                       "digest": self.config_digest, "size": len(self.config)},
            "layers": [{"mediaType": l.media_type, "digest": l.digest, "size": len(l.blob)}
                       for l in layers],
        }
        self.manifest = json.dumps(manifest).encode()
        self.digest = sha256(self.manifest)
        self.arch = arch


def busybox_layer(layout_dir):
    """The layer of scripts/make-busybox-image.sh's OCI layout (busybox-static + applets)."""
    with open(os.path.join(layout_dir, "index.json")) as f:
        index = json.load(f)
    blob = lambda d: open(os.path.join(layout_dir, "blobs", "sha256", d.split(":")[1]), "rb").read()
    manifest = json.loads(blob(index["manifests"][0]["digest"]))
    config = json.loads(blob(manifest["config"]["digest"]))
    gz = blob(manifest["layers"][0]["digest"])
    return Layer(gzip.decompress(gz), blob=gz, diff_id=config["rootfs"]["diff_ids"][0],
                 media_type=manifest["layers"][0]["mediaType"])


# ---------------------------------------------------------------------------------------------
# pushing over the Registry HTTP API


class Pusher:
    def __init__(self, host, tls_ca=None, auth=None):
        self.host = host
        self.tls_ca = tls_ca
        self.headers = {}
        if auth:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self.headers["Authorization"] = "Basic " + token

    def _conn(self):
        h, p = self.host.rsplit(":", 1)
        if self.tls_ca:
            ctx = ssl.create_default_context(cafile=self.tls_ca)
            return http.client.HTTPSConnection(h, int(p), context=ctx, timeout=30)
        return http.client.HTTPConnection(h, int(p), timeout=30)

    def request(self, method, path, body=None, headers=None):
        c = self._conn()
        try:
            c.request(method, path, body=body, headers=dict(self.headers, **(headers or {})))
            r = c.getresponse()
            return r.status, dict(r.getheaders()), r.read()
        finally:
            c.close()

    def blob(self, repo, data):
        digest = sha256(data)
        status, _, _ = self.request("HEAD", f"/v2/{repo}/blobs/{digest}")
        if status == 200:
            return digest
        status, hdrs, body = self.request("POST", f"/v2/{repo}/blobs/uploads/")
        assert status == 202, (status, body)
        loc = hdrs["Location"]
        if loc.startswith("http"):
            loc = "/" + loc.split("/", 3)[3]
        sep = "&" if "?" in loc else "?"
        status, _, body = self.request("PUT", f"{loc}{sep}digest={digest}", body=data,
                                       headers={"Content-Type": "application/octet-stream"})
        assert status == 201, (status, body)
        return digest

    def manifest(self, repo, ref, data, media_type):
        status, _, body = self.request("PUT", f"/v2/{repo}/manifests/{ref}", body=data,
                                       headers={"Content-Type": media_type})
        assert status == 201, (status, body)
        return sha256(data)

    def image(self, repo, tag, img):
        for l in img.layers:
            self.blob(repo, l.blob)
        self.blob(repo, img.config)
        return self.manifest(repo, tag, img.manifest, img.media_type)

    def index(self, repo, tag, images, platforms=None):
        """An OCI index over `images` (their own architectures unless `platforms` names
        (os, arch, variant) for each)."""
        entries = []
        for i, img in enumerate(images):
            self.image(repo, img.digest, img)
            os_, arch, variant = platforms[i] if platforms else ("linux", img.arch, None)
            p = {"os": os_, "architecture": arch}
            if variant:
                p["variant"] = variant
            entries.append({"mediaType": img.media_type, "digest": img.digest,
                            "size": len(img.manifest), "platform": p})
        data = json.dumps({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                           "manifests": entries}).encode()
        return self.manifest(repo, tag, data, MT_OCI_INDEX)


def unique_repo(label):
    return f"msbtest/{label}-{secrets.token_hex(3)}"


# ---------------------------------------------------------------------------------------------
# the fake registry


class FakeRegistry:
    """An HTTP registry on 127.0.0.1 that forwards to a real one and misbehaves on request:

      corrupt: set of blob digests whose bytes are altered on the way
      drop_once: set of blob digests whose first transfer breaks half-way
      drop_always: set of blob digests whose every transfer breaks half-way
      ignore_range: answer Range requests with the whole blob (200)
      slow: seconds to sleep per 64 KiB of blob
      bearer: (user, password) → every /v2/ request needs a token from /token
      redirect_blobs: blob GETs answer 307 to http://localhost:<port>/_redirected/…
      tamper_manifest: manifests get a space appended (their digest changes)

    `requests` records (method, path, headers) of every request."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.corrupt, self.drop_once, self.drop_always = set(), set(), set()
        self.ignore_range = False
        self.slow = 0.0
        self.bearer = None
        self.redirect_blobs = False
        self.tamper_manifest = False
        self.requests = []
        self.tokens_issued = 0
        self._dropped = set()
        self._lock = threading.Lock()
        self._token_value = secrets.token_hex(16)
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                fake._handle(self)

            def do_HEAD(self):
                fake._handle(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.host = f"127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    def blob_gets(self, digest):
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith("/blobs/" + digest)]

    # -- request handling --

    def _send(self, h, status, body=b"", headers=None):
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _challenge(self, h, path):
        parts = path.split("/")
        repo = "/".join(parts[2:-2]) if len(parts) > 4 else ""
        realm = f"http://127.0.0.1:{self.port}/token"
        self._send(h, 401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token required"}]}',
                   {"WWW-Authenticate": f'Bearer realm="{realm}",service="fake",'
                                        f'scope="repository:{repo}:pull"',
                    "Content-Type": "application/json"})

    def _token(self, h):
        auth = h.headers.get("Authorization", "")
        want = "Basic " + base64.b64encode(f"{self.bearer[0]}:{self.bearer[1]}".encode()).decode()
        if auth != want:
            return self._send(h, 401, b'{"details":"bad credentials"}')
        self.tokens_issued += 1
        self._send(h, 200, json.dumps({"token": self._token_value, "expires_in": 300}).encode(),
                   {"Content-Type": "application/json"})

    def _handle(self, h):
        path = h.path.split("?", 1)[0]
        with self._lock:
            self.requests.append((h.command, h.path, dict(h.headers)))
        if path == "/token" and self.bearer:
            return self._token(h)
        redirected = path.startswith("/_redirected/")
        if redirected:
            path = path[len("/_redirected"):]
        elif self.bearer and path.startswith("/v2/"):
            if h.headers.get("Authorization") != "Bearer " + self._token_value:
                return self._challenge(h, path)
        if self.redirect_blobs and not redirected and "/blobs/" in path:
            return self._send(h, 307, b"", {"Location": f"http://localhost:{self.port}/_redirected{path}"})
        self._forward(h, path)

    def _forward(self, h, path):
        fwd = {k: v for k, v in h.headers.items() if k.lower() in ("accept", "range")}
        is_blob = "/blobs/" in path
        digest = path.rsplit("/", 1)[-1] if is_blob else None
        if self.ignore_range:
            fwd.pop("Range", None)
        conn = http.client.HTTPConnection("127.0.0.1", int(self.upstream.rsplit(":", 1)[1]),
                                          timeout=30)
        try:
            conn.request(h.command, path, headers=fwd)
            r = conn.getresponse()
            body = r.read()
            headers = {k: v for k, v in r.getheaders()
                       if k.lower() in ("content-type", "docker-content-digest", "content-range",
                                        "www-authenticate", "location")}
        finally:
            conn.close()
        if "/manifests/" in path and self.tamper_manifest and r.status == 200:
            body += b" "
        if is_blob and r.status in (200, 206) and digest in self.corrupt and len(body) > 0:
            mid = len(body) // 2
            body = body[:mid] + bytes([body[mid] ^ 0xFF]) + body[mid + 1:]
        drop = is_blob and r.status in (200, 206) and h.command == "GET" and (
            digest in self.drop_always or (digest in self.drop_once and digest not in self._dropped))
        if drop:
            self._dropped.add(digest)
            h.send_response(r.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body[: len(body) // 2])
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if is_blob and self.slow and h.command == "GET" and r.status in (200, 206):
            h.send_response(r.status)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            for i in range(0, len(body), 65536):
                h.wfile.write(body[i:i + 65536])
                h.wfile.flush()
                time.sleep(self.slow)
            return
        self._send(h, r.status, body, headers)
