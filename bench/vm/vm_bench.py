"""The vm backend against the ns backend, measured the same way in the same run (bench/vm/run.sh
is the entry point; see there for the knobs).

For each backend (ns, vm under TCG, vm under KVM when /dev/kvm is usable):
  boot     `msb create` wall time, BOOTS times, plus the agent's own timings from core.ready as
           runtime.log records them (guest CLOCK_BOOTTIME: on the vm backend "agent start" is
           the guest kernel's boot)
  memory   MEM_N sandboxes running at once, IDLE seconds after their creation: per sandbox,
           PSS, USS (private pages) and RSS summed over the processes of its cgroup (QEMU and
           virtiofsd, or the sandbox's own), and the cgroup's memory usage; averaged
  exec     bench/exec_rtt: msb_exec_run of `true` in a running sandbox, EXEC_N samples

Prints a markdown table on stdout and the raw numbers as JSON on stderr's last line.
"""

import glob
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
import time

MSB = os.environ["MSB"]
EXEC_RTT = os.environ["EXEC_RTT"]
BOOTS = int(os.environ.get("BENCH_VM_BOOTS", "10"))
IDLE = float(os.environ.get("BENCH_VM_IDLE", "5"))
EXEC_N = int(os.environ.get("BENCH_VM_EXEC_N", "300"))
MEMORY = os.environ.get("BENCH_VM_MEMORY", "512M")
MEM_N = int(os.environ.get("BENCH_VM_MEM_N", "3"))
IMAGE = "local/busybox:latest"


def msb(*args, env=None, check=True):
    p = subprocess.run([MSB, *args], capture_output=True, text=True, env=env, timeout=120)
    if check and p.returncode != 0:
        raise SystemExit(f"msb {' '.join(args)}: {p.stderr.strip()}")
    return p


def host_id(home, name):
    st = os.stat(home)
    return hashlib.sha256(f"{st.st_dev:x}:{st.st_ino:x}:{name}".encode()).hexdigest()[:24]


def cgroup_pids(home, name):
    hid = host_id(home, name)
    for d in glob.glob(f"/sys/fs/cgroup/*/msb/{hid}") + glob.glob(f"/sys/fs/cgroup/msb/{hid}"):
        try:
            with open(os.path.join(d, "cgroup.procs")) as f:
                pids = [int(p) for p in f.read().split()]
            if pids:
                return pids, d
        except OSError:
            pass
    return [], None


def rollup(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                    out[k] = int(v.split()[0]) * 1024
    except OSError:
        pass
    return out


def memory(home, name):
    pids, cg = cgroup_pids(home, name)
    r = [rollup(p) for p in pids]
    pss = sum(x.get("Pss", 0) for x in r)
    rss = sum(x.get("Rss", 0) for x in r)
    uss = sum(x.get("Private_Clean", 0) + x.get("Private_Dirty", 0) for x in r)
    usage = None
    for d in glob.glob(f"/sys/fs/cgroup/memory/msb/{host_id(home, name)}"):
        with open(os.path.join(d, "memory.usage_in_bytes")) as f:
            usage = int(f.read())
    if usage is None and cg and os.path.exists(os.path.join(cg, "memory.current")):
        with open(os.path.join(cg, "memory.current")) as f:
            usage = int(f.read())
    return {"pss": pss, "uss": uss, "rss": rss, "cgroup": usage or 0, "processes": len(pids)}


READY = re.compile(r"agent ready: started at ([\d.]+) ms, bootstrapped at ([\d.]+) ms, ready at ([\d.]+) ms")


def ready_times(home, name):
    try:
        with open(os.path.join(home, "sandboxes", name, "logs", "runtime.log")) as f:
            m = READY.findall(f.read())
        return [float(x) for x in m[-1]] if m else None
    except OSError:
        return None


def bench_backend(label, env):
    home = env["MSB_HOME"]
    boots, guest = [], []
    for i in range(BOOTS):
        name = f"boot{i}"
        t0 = time.monotonic()
        msb("create", "-n", name, "-m", MEMORY, "--no-net", IMAGE, env=env)
        boots.append((time.monotonic() - t0) * 1000)
        rt = ready_times(home, name)
        if rt:
            guest.append(rt)
        msb("rm", "-f", name, env=env)
    names = [f"mem{i}" for i in range(MEM_N)]
    for name in names:
        msb("create", "-n", name, "-m", MEMORY, "--no-net", IMAGE, env=env)
    time.sleep(IDLE)
    each = [memory(home, name) for name in names]
    mem = {k: sum(m[k] for m in each) / len(each) for k in each[0]}
    for name in names:
        msb("rm", "-f", name, env=env)
    p = subprocess.run([EXEC_RTT, "-n", str(EXEC_N), "-w", "20", "--no-nsenter", "-i", IMAGE],
                       capture_output=True, text=True, env=env, timeout=900)
    if p.returncode != 0:
        raise SystemExit(f"exec_rtt ({label}): {p.stderr.strip()}")
    rtt = json.loads(p.stdout)
    return {"boot_ms": boots, "guest_ready_ms": guest, "memory": mem, "exec_rtt": rtt}


def summary(values):
    return statistics.median(values), min(values), max(values)


def fmt_boot(r):
    med, lo, hi = summary(r["boot_ms"])
    return f"{med:.0f} ms ({lo:.0f}–{hi:.0f})"


def fmt_guest(r, which):
    g = r["guest_ready_ms"]
    if not g:
        return "–"
    if which == "start":
        return f"{statistics.median(x[0] for x in g):.0f} ms"
    return f"{statistics.median(x[2] - x[0] for x in g):.0f} ms"


def fmt_mem(r, key):
    v = r["memory"].get(key)
    return f"{v / 1048576:.1f} MiB" if v else "–"


def fmt_rtt(r):
    s = r["exec_rtt"]["methods"]["msb_exec_run"]
    return f"{s['median_us'] / 1000:.2f} ms (p90 {s['p90_us'] / 1000:.2f})"


def main():
    backends = json.loads(os.environ["BACKENDS"])
    results = {}
    for label, env_extra in backends:
        env = dict(os.environ, **env_extra)
        print(f"bench/vm: {label} …", file=sys.stderr)
        results[label] = bench_backend(label, env)
    labels = list(results)
    rows = [
        ("boot to ready (`msb create`), median (min–max)", lambda r: fmt_boot(r)),
        ("  agent started (guest clock: kernel boot on vm)", lambda r: fmt_guest(r, "start")),
        ("  agent start → ready", lambda r: fmt_guest(r, "ready")),
        (f"idle host memory per sandbox ({MEM_N} running): PSS", lambda r: fmt_mem(r, "pss")),
        ("  USS (pages no other process shares)", lambda r: fmt_mem(r, "uss")),
        ("  RSS", lambda r: fmt_mem(r, "rss")),
        ("  cgroup memory usage (incl. page cache)", lambda r: fmt_mem(r, "cgroup")),
        ("exec round trip of `true`, median", lambda r: fmt_rtt(r)),
    ]
    print("| | " + " | ".join(labels) + " |")
    print("|---|" + "---|" * len(labels))
    for title, f in rows:
        cells = []
        for label in labels:
            r = results[label]
            if label == "ns" and "agent started" in title:
                cells.append("(host uptime)")
            else:
                cells.append(f(r))
        print(f"| {title} | " + " | ".join(cells) + " |")
    print(f"\n{BOOTS} boots per backend, {EXEC_N} exec samples, guest memory {MEMORY}, "
          f"host: {os.uname().release}, {os.cpu_count()} CPUs.")
    print(json.dumps(results), file=sys.stderr)


if __name__ == "__main__":
    main()
