"""The lifecycle benchmarks (bench/lifecycle/run.sh sets MSB, IMAGE and MSB_HOME): stop → start
round trip, host memory of an idle sandbox, and how many idle sandboxes fit. Standard library
only. Prints markdown on stdout, progress on stderr; exits 1 on a failed create or a leak."""

import glob
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

MSB = os.environ["MSB"]
IMAGE = os.environ["IMAGE"]
HOME = os.environ["MSB_HOME"]
ROUNDS = int(os.environ.get("BENCH_LC_ROUNDS", "20"))
IDLE = int(os.environ.get("BENCH_LC_IDLE", "10"))
DENSITY = int(os.environ.get("BENCH_LC_DENSITY", "200"))
STEP = int(os.environ.get("BENCH_LC_STEP", "10"))
MEMORY = os.environ.get("BENCH_LC_MEMORY", "32M")
MiB = 1 << 20


def note(msg):
    print(f"bench/lifecycle: {msg}", file=sys.stderr, flush=True)


def msb(*args, check=True):
    t0 = time.perf_counter()
    p = subprocess.run([MSB, *args], capture_output=True, text=True)
    dt = (time.perf_counter() - t0) * 1000
    if check and p.returncode != 0:
        raise SystemExit(f"bench/lifecycle: msb {' '.join(args)} failed ({p.returncode}): {p.stderr}")
    return dt, p


def pct(values, q):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summary(values):
    return {"median": statistics.median(values), "p90": pct(values, 0.9), "min": min(values),
            "max": max(values), "n": len(values)}


# ---- the host side of a sandbox ----

def name_hash(text, nbytes):
    return hashlib.sha256(text.encode()).hexdigest()[: 2 * nbytes]


def runtime_pid(name):
    """Holder of the sandbox's live lock (run/locks/<H16>.live)."""
    try:
        st = os.stat(os.path.join(HOME, "run", "locks", name_hash(name, 16) + ".live"))
    except FileNotFoundError:
        return None
    want = (os.major(st.st_dev), os.minor(st.st_dev), st.st_ino)
    with open("/proc/locks") as f:
        for line in f:
            fields = line.split()
            if len(fields) >= 6 and fields[1] == "FLOCK" and "->" not in fields:
                maj, mnr, ino = fields[5].split(":")
                if (int(maj, 16), int(mnr, 16), int(ino)) == want:
                    return int(fields[4])
    return None


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def rss_pss(pid):
    """(RSS, PSS) in bytes from smaps_rollup."""
    out = {"Rss": 0, "Pss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in out:
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out["Rss"], out["Pss"]


def cgroup_ids(name):
    st = os.stat(HOME)
    return {name_hash(name, 12), name_hash(f"{st.st_dev:x}:{st.st_ino:x}:{name}", 12)}


def cgroup_charge(name):
    for cid in cgroup_ids(name):
        path = f"/sys/fs/cgroup/memory/msb/{cid}/memory.usage_in_bytes"
        if os.path.exists(path):
            with open(path) as f:
                return int(f.read())
        path = f"/sys/fs/cgroup/msb/{cid}/memory.current"
        if os.path.exists(path):
            with open(path) as f:
                return int(f.read())
    return 0


def sandbox_memory(name):
    """Runtime RSS/PSS, agent RSS/PSS, cgroup charge of one running sandbox."""
    rt = runtime_pid(name)
    if rt is None:
        raise SystemExit(f"bench/lifecycle: no runtime for {name}")
    agents = children(rt)
    rt_rss, rt_pss = rss_pss(rt)
    ag_rss = ag_pss = 0
    for a in agents:
        r, p = rss_pss(a)
        ag_rss += r
        ag_pss += p
    return {"runtime_rss": rt_rss, "runtime_pss": rt_pss, "agent_rss": ag_rss,
            "agent_pss": ag_pss, "cgroup": cgroup_charge(name)}


def meminfo():
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0]) * 1024
    return values


def kernel_memory(mi):
    """Memory the kernel holds for processes and namespaces: slab, stacks, page tables."""
    return mi.get("Slab", 0) + mi.get("KernelStack", 0) + mi.get("PageTables", 0)


# ---- leaks ----

def processes_of_home():
    marker = b"MSB_HOME=" + HOME.encode()
    pids = set()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    pids.add(int(d))
        except OSError:
            pass
    return pids


def host_state(names):
    with open("/proc/self/mountinfo") as f:
        mounts = {line for line in f if HOME in line}
    cgroups = {d for n in names for cid in cgroup_ids(n) for d in glob.glob(f"/sys/fs/cgroup/*/msb/{cid}")}
    slots = {"/dev/shm/msb." + hashlib.sha256(HOME.encode() + b"\0" + n.encode()).hexdigest()[:32]
             for n in names}
    slots = {s for s in slots if os.path.exists(s)}
    run = set(glob.glob(os.path.join(HOME, "run", "sandboxes", "*")))
    dirs = set(glob.glob(os.path.join(HOME, "sandboxes", "*")))
    return {"mounts": mounts, "cgroups": cgroups, "metrics slots": slots,
            "processes": processes_of_home(), "run dirs": run, "sandbox dirs": dirs}


# ---- 1. stop → start ----

def bench_stop_start():
    note(f"stop → start round trip ({ROUNDS} rounds)")
    name = "bench-lc-stopstart"
    msb("create", "-n", name, "-m", "64M", IMAGE)
    msb("exec", name, "--", "true")
    stops, starts, pairs = [], [], []
    for _ in range(ROUNDS):
        s, _ = msb("stop", name)
        t, _ = msb("start", name)
        stops.append(s)
        starts.append(t)
        pairs.append(s + t)
    # A round trip is only done when a command runs again.
    first_exec = []
    for _ in range(max(3, ROUNDS // 4)):
        t0 = time.perf_counter()
        msb("stop", name)
        msb("start", name)
        msb("exec", name, "--", "true")
        first_exec.append((time.perf_counter() - t0) * 1000)
    msb("rm", "-f", name)
    return {"stop_ms": summary(stops), "start_ms": summary(starts), "stop_start_ms": summary(pairs),
            "stop_start_exec_ms": summary(first_exec)}


# ---- 2. idle memory ----

def bench_idle_memory():
    note(f"idle sandbox memory ({IDLE} sandboxes)")
    names = [f"bench-lc-idle-{i}" for i in range(IDLE)]
    for n in names:
        msb("create", "-n", n, "-m", "64M", IMAGE)
        msb("exec", n, "--", "true")
    time.sleep(1.0)  # one metrics tick, so the runtime has done everything an idle one does
    samples = [sandbox_memory(n) for n in names]
    for n in names:
        msb("rm", "-f", n)
    keys = samples[0].keys()
    return {k: statistics.median(s[k] for s in samples) for k in keys}


# ---- 3. density ----

def bench_density():
    note(f"density: {DENSITY} idle sandboxes of {MEMORY} each")
    names = [f"bench-lc-d{i:04d}" for i in range(DENSITY)]
    before = host_state(names)
    mem0 = meminfo()
    curve, creates = [], []
    failed = None
    for i, n in enumerate(names, 1):
        dt, p = msb("create", "-n", n, "-m", MEMORY, IMAGE, check=False)
        if p.returncode != 0:
            failed = f"create #{i} failed: {p.stderr.strip()}"
            note(failed)
            break
        creates.append(dt)
        if i % STEP == 0 or i == DENSITY:
            mi = meminfo()
            per = [sandbox_memory(x) for x in names[:i]]
            curve.append({
                "sandboxes": i,
                "create_ms_median_last_step": statistics.median(creates[-STEP:]),
                "create_ms_max_last_step": max(creates[-STEP:]),
                "host_used_delta": (mem0["MemAvailable"] - mi["MemAvailable"]),
                "kernel_delta": kernel_memory(mi) - kernel_memory(mem0),
                "pss_total": sum(m["runtime_pss"] + m["agent_pss"] for m in per),
                "cgroup_total": sum(m["cgroup"] for m in per),
            })
            note(f"  {i} sandboxes, last create {dt:.1f} ms")
    created = len(creates)
    # Nothing may be lost on the way: every sandbox still answers.
    unresponsive = [n for n in names[:created] if msb("exec", n, "--", "true", check=False)[1].returncode]
    note(f"removing {created} sandboxes")
    t0 = time.perf_counter()
    for n in names[:created]:
        msb("rm", "-f", n)
    remove_s = time.perf_counter() - t0
    time.sleep(0.5)
    after = host_state(names)
    leaked = {k: sorted(map(str, after[k] - before[k])) for k in after if after[k] - before[k]}
    last = curve[-1] if curve else None
    per_sandbox = (last["host_used_delta"] / last["sandboxes"]) if last else 0
    pss_per = ((last["pss_total"] + last["cgroup_total"] + last["kernel_delta"]) / last["sandboxes"]
               if last else 0)
    return {"curve": curve, "created": created, "failed": failed, "unresponsive": unresponsive,
            "remove_all_s": remove_s, "leaked": leaked, "host_bytes_per_sandbox": per_sandbox,
            "pss_cgroup_bytes_per_sandbox": pss_per, "mem_available_at_start": mem0["MemAvailable"],
            "mem_total": mem0["MemTotal"]}


def ceilings():
    """Limits other than memory on the number of idle sandboxes (each is two host processes,
    a user, mount, pid, net, uts and ipc namespace, and a 65536-id uid range from 2^30 up)."""
    def read(path):
        try:
            with open(path) as f:
                return int(f.read())
        except OSError:
            return 0
    pid_max = read("/proc/sys/kernel/pid_max")
    userns = read("/proc/sys/user/max_user_namespaces")
    uid_slots = (2 ** 32 - 2 ** 30) // 65536
    return (f"pid_max {pid_max} → ~{pid_max // 2} (2 processes each), max_user_namespaces "
            f"{userns}, uid ranges {uid_slots}")


def mb(b):
    return f"{b / MiB:.1f}"


def main():
    stop_start = bench_stop_start()
    idle = bench_idle_memory()
    density = bench_density()
    results = {"stop_start": stop_start, "idle_memory": idle, "density": density,
               "host": {"nproc": os.cpu_count(), "kernel": os.uname().release,
                        "loadavg": open("/proc/loadavg").read().split()[:3]}}
    if os.environ.get("BENCH_LC_JSON"):
        with open(os.environ["BENCH_LC_JSON"], "w") as f:
            json.dump(results, f, indent=2)

    out = []
    out.append("### Lifecycle: stop → start (ms, CLI wall time)\n")
    out.append("| step | median | p90 | min | max | n |")
    out.append("|---|---:|---:|---:|---:|---:|")
    for label, key in (("msb stop (graceful)", "stop_ms"), ("msb start", "start_ms"),
                       ("stop + start", "stop_start_ms"),
                       ("stop + start + first exec", "stop_start_exec_ms")):
        s = stop_start[key]
        out.append(f"| {label} | {s['median']:.1f} | {s['p90']:.1f} | {s['min']:.1f} | "
                   f"{s['max']:.1f} | {s['n']} |")
    out.append("\n### Host memory of one idle sandbox (median of %d, MiB)\n" % IDLE)
    out.append("| runtime RSS | runtime PSS | agent RSS | agent PSS | sandbox cgroup charge | "
               "RSS total | PSS + cgroup |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    out.append(f"| {mb(idle['runtime_rss'])} | {mb(idle['runtime_pss'])} | {mb(idle['agent_rss'])} | "
               f"{mb(idle['agent_pss'])} | {mb(idle['cgroup'])} | "
               f"{mb(idle['runtime_rss'] + idle['agent_rss'])} | "
               f"{mb(idle['runtime_pss'] + idle['agent_pss'] + idle['cgroup'])} |")
    d = density
    out.append(f"\n### Density: idle sandboxes of {MEMORY} created one after another\n")
    out.append("| sandboxes | create ms (median of last %d) | create ms (max of last %d) | "
               "host MemAvailable drop (MiB) | kernel slab+stacks+page tables (MiB) | "
               "Σ PSS runtimes+agents (MiB) | Σ cgroup charge (MiB) |" % (STEP, STEP))
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    for row in d["curve"]:
        out.append(f"| {row['sandboxes']} | {row['create_ms_median_last_step']:.1f} | "
                   f"{row['create_ms_max_last_step']:.1f} | {mb(row['host_used_delta'])} | "
                   f"{mb(row['kernel_delta'])} | "
                   f"{mb(row['pss_total'])} | {mb(row['cgroup_total'])} |")
    fit_host = d["mem_available_at_start"] / d["host_bytes_per_sandbox"] if d["host_bytes_per_sandbox"] > 0 else 0
    fit_pss = d["mem_available_at_start"] / d["pss_cgroup_bytes_per_sandbox"] if d["pss_cgroup_bytes_per_sandbox"] > 0 else 0
    out.append("")
    out.append(f"- created {d['created']} of {DENSITY}" + (f" ({d['failed']})" if d["failed"] else "")
               + f"; all answered an exec afterwards: {'yes' if not d['unresponsive'] else 'NO: ' + ', '.join(d['unresponsive'])}")
    out.append(f"- per sandbox: {mb(d['host_bytes_per_sandbox'])} MiB of host MemAvailable, "
               f"{mb(d['pss_cgroup_bytes_per_sandbox'])} MiB PSS + cgroup charge + kernel")
    out.append(f"- idle sandboxes that would fit in the {mb(d['mem_available_at_start'])} MiB available "
               f"at start (memory only; limits are not reservations): ~{int(fit_host)} by MemAvailable, "
               f"~{int(fit_pss)} by PSS + cgroup charge + kernel")
    out.append(f"- other ceilings: {ceilings()}")
    out.append(f"- removing all {d['created']}: {d['remove_all_s']:.1f} s; leaked afterwards: "
               + ("nothing" if not d["leaked"] else json.dumps(d["leaked"])))
    print("\n".join(out))
    if d["failed"] or d["leaked"] or d["unresponsive"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
