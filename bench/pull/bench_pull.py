"""The body of bench/pull/run.sh (see there). Prints a markdown table on stdout; progress on
stderr."""

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

BUILD, ROOT = sys.argv[1], sys.argv[2]
MSB = os.path.join(BUILD, "cli", "msb")
PULL_RUNS = int(os.environ.get("BENCH_PULL_RUNS", "3"))
CREATE_RUNS = int(os.environ.get("BENCH_CREATE_RUNS", "10"))
IMAGE_MB = int(os.environ.get("BENCH_PULL_MB", "100"))
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def layer_from_files(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for path in files:
            t.add(path, arcname=path.lstrip("/"), recursive=False)
    return buf.getvalue()


def host_files(limit_bytes, start_dir="/usr/lib/x86_64-linux-gnu"):
    """Real files (binaries, data) from the host, sorted, until `limit_bytes`."""
    out, total = [], 0
    for dirpath, dirnames, filenames in os.walk(start_dir):
        dirnames.sort()
        for n in sorted(filenames):
            p = os.path.join(dirpath, n)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            size = os.path.getsize(p)
            if size > 8 << 20:
                continue
            out.append(p)
            total += size
            if total >= limit_bytes:
                return out
    return out


def write_layout(out, tars, arch=ARCH, cmd=("/bin/sh",)):
    """An OCI layout (gzip layers) holding one image tagged `bench`."""
    blobs = os.path.join(out, "blobs", "sha256")
    os.makedirs(blobs)

    def blob(data):
        d = hashlib.sha256(data).hexdigest()
        with open(os.path.join(blobs, d), "wb") as f:
            f.write(data)
        return "sha256:" + d, len(data)

    layers, diff_ids = [], []
    for tar in tars:
        gz = gzip.compress(tar, compresslevel=6, mtime=0)
        d, n = blob(gz)
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": d,
                       "size": n})
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    cfg = json.dumps({"architecture": arch, "os": "linux",
                      "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": list(cmd)},
                      "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    cd, cn = blob(cfg)
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cd, "size": cn}, "layers": layers}).encode()
    md, mn = blob(man)
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": mn,
             "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}, f)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    return sum(l["size"] for l in layers), sum(len(t) for t in tars)


def busybox_tar(scratch):
    layout = os.path.join(scratch, "busybox-layout")
    subprocess.run([os.path.join(ROOT, "scripts", "make-busybox-image.sh"), layout], check=True,
                   stdout=subprocess.DEVNULL)
    index = json.load(open(os.path.join(layout, "index.json")))
    rd = lambda d: open(os.path.join(layout, "blobs", "sha256", d.split(":")[1]), "rb").read()
    man = json.loads(rd(index["manifests"][0]["digest"]))
    return gzip.decompress(rd(man["layers"][0]["digest"]))


def small_layer(i):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for k in range(40):
            data = (f"layer {i} file {k}\n" * 64).encode()
            info = tarfile.TarInfo(f"layers/{i:02d}/f{k:02d}")
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def timed(cmd, env=None, **kw):
    os.sync()  # each run pays for its own writes only (msb publishes layers after a syncfs)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kw)
    if p.returncode != 0:
        raise SystemExit(f"bench/pull: {' '.join(cmd)} failed: {p.stderr.decode()}")
    return time.perf_counter() - t0


def du(path):
    out = subprocess.run(["du", "-sb", path], capture_output=True, text=True).stdout
    return int(out.split()[0]) if out else 0


def msb_env(home):
    env = dict(os.environ, MSB_HOME=home)
    env["MSB_BACKEND"] = "ns"
    return env


def main():
    scratch = tempfile.mkdtemp(prefix="msb-bench-pull-")
    reg = None
    try:
        port = free_port()
        host = f"127.0.0.1:{port}"
        with open(os.path.join(scratch, "config.yml"), "w") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {scratch}/registry\n"
                    f"http:\n  addr: {host}\n")
        reg = subprocess.Popen(["docker-registry", "serve", os.path.join(scratch, "config.yml")],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)

        # ---- the big image ----
        log(f"building a {IMAGE_MB} MiB, 5-layer image from host files …")
        files = host_files(IMAGE_MB << 20)
        per = (len(files) + 4) // 5
        tars = [layer_from_files(files[i * per:(i + 1) * per]) for i in range(5)]
        big = os.path.join(scratch, "big-layout")
        compressed, unpacked = write_layout(big, tars)
        ref = f"{host}/bench/big:v1"
        subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", f"oci:{big}:bench",
                        f"docker://{ref}"], check=True)

        log("msb pull (cold) …")
        msb_cold = []
        for i in range(PULL_RUNS):
            home = os.path.join(scratch, f"home-pull-{i}")
            msb_cold.append(timed([MSB, "pull", "-q", ref], env=msb_env(home)))
        log("msb pull (all layers cached) …")
        warm_home = os.path.join(scratch, "home-pull-0")
        msb_warm = [timed([MSB, "pull", "-q", ref], env=msb_env(warm_home)) for _ in range(5)]
        log("skopeo copy + umoci unpack …")
        sk_copy, sk_unpack = [], []
        for i in range(PULL_RUNS):
            d = os.path.join(scratch, f"skopeo-{i}")
            os.makedirs(d)
            sk_copy.append(timed(["skopeo", "copy", "-q", "--src-tls-verify=false",
                                  f"docker://{ref}", f"oci:{d}/layout:v1"]))
            sk_unpack.append(timed(["umoci", "unpack", "--image", f"{d}/layout:v1",
                                    f"{d}/bundle"]))
        log("msb image save (re-tar from the cache) and load …")
        saved = os.path.join(scratch, "saved.tar")
        msb_save = [timed([MSB, "image", "save", ref, "-o", saved], env=msb_env(warm_home))
                    for _ in range(PULL_RUNS)]
        saved_bytes = os.path.getsize(saved)
        msb_load = []
        for i in range(PULL_RUNS):
            h = os.path.join(scratch, f"home-load-{i}")
            msb_load.append(timed([MSB, "image", "load", "-q", "-i", saved], env=msb_env(h)))
            shutil.rmtree(h, ignore_errors=True)
        os.unlink(saved)
        cache_bytes = du(os.path.join(warm_home, "cache"))
        for i in range(1, PULL_RUNS):
            shutil.rmtree(os.path.join(scratch, f"home-pull-{i}"), ignore_errors=True)
        for i in range(PULL_RUNS):
            shutil.rmtree(os.path.join(scratch, f"skopeo-{i}"), ignore_errors=True)

        # ---- creates from cached 5- and 20-layer images ----
        log("create from cached 5- and 20-layer images …")
        bb = busybox_tar(scratch)
        home = os.path.join(scratch, "home-create")
        env = msb_env(home)
        creates = {}
        for n in (5, 20):
            layout = os.path.join(scratch, f"layers-{n}")
            write_layout(layout, [bb] + [small_layer(i) for i in range(1, n)])
            r = f"{host}/bench/layers{n}:v1"
            subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false",
                            f"oci:{layout}:bench", f"docker://{r}"], check=True)
            subprocess.run([MSB, "pull", "-q", r], check=True, env=env, stdout=subprocess.DEVNULL)
            cache_before = du(os.path.join(home, "cache"))
            times, sandbox_bytes = [], []
            for i in range(CREATE_RUNS):
                name = f"b{n}-{i}"
                times.append(timed([MSB, "create", "-n", name, r], env=env))
                sandbox_bytes.append(du(os.path.join(home, "sandboxes", name)))
            cache_after = du(os.path.join(home, "cache"))
            for i in range(CREATE_RUNS):
                subprocess.run([MSB, "rm", "-f", f"b{n}-{i}"], env=env, stdout=subprocess.DEVNULL)
            creates[n] = (times, cache_before, cache_after, sandbox_bytes)

        # ---- report ----
        med = lambda xs: statistics.median(xs)
        mib = lambda b: b / 1048576
        print(f"### Image pull (local docker-registry, {os.cpu_count()} CPUs)\n")
        print(f"Image: 5 layers, {mib(unpacked):.0f} MiB unpacked, {mib(compressed):.0f} MiB "
              f"gzip'd (host binaries and libraries). Median of {PULL_RUNS} runs.\n")
        print("| what | time (s) | MiB/s (compressed) |")
        print("|---|---:|---:|")
        rate = lambda t: f"{mib(compressed) / t:.0f}"
        print(f"| `msb pull` (download + verify + unpack, one pass) | {med(msb_cold):.2f} | "
              f"{rate(med(msb_cold))} |")
        tot = [a + b for a, b in zip(sk_copy, sk_unpack)]
        print(f"| `skopeo copy` + `umoci unpack` | {med(tot):.2f} | {rate(med(tot))} |")
        print(f"| — `skopeo copy docker:// oci:` | {med(sk_copy):.2f} | |")
        print(f"| — `umoci unpack` | {med(sk_unpack):.2f} | |")
        print(f"| `msb pull` again (every layer cached: manifest + config only) | "
              f"{med(msb_warm):.3f} | |")
        print(f"| `msb image save` (docker archive, layers re-tarred from the cache) | "
              f"{med(msb_save):.2f} | |")
        print(f"| `msb image load` of that archive (empty cache) | {med(msb_load):.2f} | |")
        print(f"\nmsb image cache after the pull: {mib(cache_bytes):.0f} MiB (unpacked layers only; "
              f"keeping the compressed blobs too would add {mib(compressed):.0f} MiB, "
              f"{100 * compressed / unpacked:.0f} %). Saved archive: {mib(saved_bytes):.0f} MiB.\n")
        print(f"### Create from a cached image (median of {CREATE_RUNS})\n")
        print("| image | `msb create` (s) | image cache before → after | per-sandbox dir |")
        print("|---|---:|---:|---:|")
        for n, (times, before, after, sb) in creates.items():
            print(f"| {n} layers | {med(times):.3f} | {mib(before):.2f} → {mib(after):.2f} MiB | "
                  f"{med(sb) / 1024:.0f} KiB |")
    finally:
        if reg:
            reg.terminate()
            reg.wait()
        if os.environ.get("BENCH_KEEP") != "1":
            for d in os.listdir(scratch):
                if d.startswith("home"):
                    h = os.path.join(scratch, d)
                    names = subprocess.run([MSB, "ls", "-q"], env=msb_env(h), capture_output=True,
                                           text=True).stdout.split()
                    for n in names:
                        subprocess.run([MSB, "rm", "-f", n], env=msb_env(h),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            log(f"kept {scratch}")


main()
