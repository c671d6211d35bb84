#!/usr/bin/python3
"""Merges the raw outputs of bench/run.sh into one JSON document and prints the markdown
summary (the tables bench/README.md shows). Standard library only."""
import argparse
import json
import os
import platform
import subprocess
import sys

COLD_TARGET_RATIO = 1.0  # cold create to first result <= 1.0x bwrap (issue 2)
EXEC_TARGET_US = 1000.0  # exec round trip <= 1 ms median (issue 2)


def load(path):
    with open(path) as f:
        return json.load(f)


def tool_output(*argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return None


def hyperfine_rows(doc):
    rows = {}
    for r in doc["results"]:
        rows[r["command"]] = {
            "median_ms": r["median"] * 1e3,
            "mean_ms": r["mean"] * 1e3,
            "stddev_ms": (r["stddev"] or 0) * 1e3,
            "min_ms": r["min"] * 1e3,
            "max_ms": r["max"] * 1e3,
            "user_ms": r["user"] * 1e3,
            "system_ms": r["system"] * 1e3,
            "runs": len(r["times"]),
            "times_ms": [round(t * 1e3, 3) for t in r["times"]],
        }
    return rows


def host_info(args):
    cpu = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    os_name = None
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    def git(*a):
        r = subprocess.run(["git", "-C", args.root, *a], capture_output=True, text=True)
        return r.stdout.strip() if r.returncode == 0 else None
    status = git("status", "--porcelain", "--untracked-files=no")
    return {
        "kernel": platform.release(),
        "os": os_name,
        "cpus": os.cpu_count(),
        "cpu_model": cpu,
        "kvm": os.path.exists("/dev/kvm"),
        "cgroup_v2_unified_only": os.path.exists("/sys/fs/cgroup/cgroup.controllers"),
        "loadavg_before": args.load_before,
        "loadavg_after": args.load_after,
    }, {
        "msb": tool_output(args.msb, "--version"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "tree_dirty": bool(status) if status is not None else None,
        "hyperfine": tool_output("hyperfine", "--version"),
        "bwrap": tool_output("bwrap", "--version"),
        "crun": tool_output("crun", "--version"),
        "nsenter": tool_output("nsenter", "--version"),
    }


def ms(v):
    return f"{v:.1f} ms" if v >= 10 else f"{v:.2f} ms"


def us(v):
    return f"{v:.0f} µs"


def main():
    p = argparse.ArgumentParser()
    for opt in ("out", "work", "stamp", "msb", "root", "load-before", "load-after", "bwrap-cmd",
                "crun-cmd", "crun-wrapped"):
        p.add_argument("--" + opt, required=True)
    args = p.parse_args()
    w = args.work

    cold = hyperfine_rows(load(os.path.join(w, "cold.json")))
    cold.update(hyperfine_rows(load(os.path.join(w, "crun.json"))))
    lifecycle = hyperfine_rows(load(os.path.join(w, "lifecycle.json")))
    phases = load(os.path.join(w, "phases.json"))
    rtt = load(os.path.join(w, "exec_rtt.json"))
    host, versions = host_info(args)

    msb_med = cold["msb run"]["median_ms"]
    ratios = {
        "msb_over_bwrap": msb_med / cold["bwrap"]["median_ms"],
        "msb_over_crun": msb_med / cold["crun"]["median_ms"],
        "msb_over_crun_wrapped": msb_med / cold["crun (+ unshare wrapper)"]["median_ms"],
    }
    m = rtt["methods"]
    exec_med = m["msb_exec_run"]["median_us"]
    if "nsenter" in m:
        ratios["exec_msb_over_nsenter"] = exec_med / m["nsenter"]["median_us"]
    ratios["exec_msb_over_local_spawn"] = exec_med / m["local_spawn"]["median_us"]
    targets = {
        "cold_start_vs_bwrap": {"target_ratio": COLD_TARGET_RATIO, "measured_ratio": ratios["msb_over_bwrap"],
                                "met": ratios["msb_over_bwrap"] <= COLD_TARGET_RATIO,
                                "excess_ms": msb_med - COLD_TARGET_RATIO * cold["bwrap"]["median_ms"]},
        "exec_rtt_median": {"target_us": EXEC_TARGET_US, "measured_us": exec_med,
                            "met": exec_med <= EXEC_TARGET_US},
    }
    doc = {
        "timestamp": args.stamp,
        "host": host,
        "versions": versions,
        "commands": {"bwrap": args.bwrap_cmd, "crun": args.crun_cmd,
                     "crun (+ unshare wrapper)": args.crun_wrapped},
        "cold_start": cold,
        "lifecycle_cli": lifecycle,
        "cold_phases": phases,
        "exec_rtt": rtt,
        "ratios": ratios,
        "targets": targets,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    out = []
    say = out.append
    runs = cold["msb run"]["runs"]
    say(f"Measured {args.stamp} on {host['os']}, kernel {host['kernel']}, {host['cpus']} CPUs "
        f"({host['cpu_model']}), /dev/kvm {'present' if host['kvm'] else 'absent'}; "
        f"{versions['msb']}"
        + (f" at {versions['commit']}{' (modified tree)' if versions['tree_dirty'] else ''}" if versions['commit'] else "")
        + "; "
        f"load average {args.load_before} before; {args.load_after} after "
        f"(other work on the machine moves every number here).")
    say("")
    say(f"**Cold start** — `msb run local/busybox:latest -- true` end to end against the same rootfs "
        f"(hyperfine, {runs} runs after warm-up):")
    say("")
    say("| command | median | mean ± σ | min … max | msb ÷ this (median) |")
    say("|---|---:|---:|---:|---:|")
    labels = [("msb run", "`msb run local/busybox:latest -- true`"),
              ("bwrap", "`bwrap --unshare-all --die-with-parent --ro-bind ROOTFS / --proc /proc --dev /dev true`"),
              ("crun", "`crun run` (bundle from `crun spec`, args `/bin/true`; in a prepared mount ns)"),
              ("crun (+ unshare wrapper)", "`unshare -m sh -c 'umount …/unified && exec crun run …'`")]
    for key, label in labels:
        r = cold[key]
        say(f"| {label} | {ms(r['median_ms'])} | {r['mean_ms']:.2f} ± {r['stddev_ms']:.2f} ms | "
            f"{r['min_ms']:.1f} … {r['max_ms']:.1f} ms | {msb_med / r['median_ms']:.2f}× |")
    say("")
    t = targets["cold_start_vs_bwrap"]
    say(f"Target cold start ≤ {COLD_TARGET_RATIO:.1f}× bwrap: **{t['measured_ratio']:.2f}×** — "
        + ("met." if t["met"] else f"missed by {t['excess_ms']:.1f} ms per run.")
        + f" msb ÷ crun = {ratios['msb_over_crun']:.2f}×.")
    say("")
    say(f"**The CLI verbs on their own** (hyperfine, {lifecycle['msb create']['runs']} runs; "
        f"`create` makes a detached sandbox, `rm -f` kills and removes one):")
    say("")
    say("| command | median | mean ± σ |")
    say("|---|---:|---:|")
    for key in ("msb create", "msb exec true", "msb rm -f"):
        r = lifecycle[key]
        say(f"| `{key}` | {ms(r['median_ms'])} | {r['mean_ms']:.2f} ± {r['stddev_ms']:.2f} ms |")
    say("")
    say(f"**Where a cold run goes** — the same steps as `msb run` through the C API in one process "
        f"(no CLI start-up), {phases['iterations']} iterations; the create is split with the "
        f"runtime's debug boot log:")
    say("")
    say("| phase | median | mean |")
    say("|---|---:|---:|")
    order = ["open (msb_ctx_open)", "create (msb_sandbox_create)", "create: spawn → runtime main()",
             "rt: main → loaded", "rt: loaded → run recorded", "rt: run recorded → agent executing",
             "rt: agent executing → agent ready", "rt: agent ready → reported ready",
             "create: runtime ready → create returns", "exec true (msb_exec_run)",
             "close (msb_sandbox_close)", "stop (msb_sandbox_stop)", "remove (if anything was left)",
             "ctx close", "total (excluding log read)"]
    by_name = {ph["phase"]: ph for ph in phases["phases"]}
    for name in order + [n for n in by_name if n not in order]:
        ph = by_name.get(name)
        if ph is None:
            continue
        indent = "&nbsp;&nbsp;↳ " if name.startswith(("create:", "rt:")) else ""
        label = name.replace("rt: ", "runtime: ").replace("create: ", "")
        bold = "**" if name.startswith("total") else ""
        say(f"| {indent}{bold}{label}{bold} | {bold}{ph['median_ms']:.2f} ms{bold} | {ph['mean_ms']:.2f} ms |")
    say("")
    say(f"**Exec round trip** of `true` in a running sandbox (one process, interleaved rounds):")
    say("")
    say("| method | n | median | p90 | p99 | mean | msb ÷ this (median) |")
    say("|---|---:|---:|---:|---:|---:|---:|")
    names = {"msb_exec_run": "`msb_exec_run (sb, \"true\", …)` (C API)",
             "nsenter": "`nsenter -a -t <agent pid> true` (fork+exec+wait)",
             "local_spawn": "local `/bin/true` (fork+exec+wait; the floor)"}
    for key in ("msb_exec_run", "nsenter", "local_spawn"):
        if key not in m:
            continue
        r = m[key]
        say(f"| {names[key]} | {r['n']} | {us(r['median_us'])} | {us(r['p90_us'])} | "
            f"{us(r['p99_us'])} | {us(r['mean_us'])} | {exec_med / r['median_us']:.2f}× |")
    say("")
    t = targets["exec_rtt_median"]
    say(f"Target exec round trip ≤ 1 ms median: **{t['measured_us']:.0f} µs** — "
        + ("met." if t["met"] else f"missed by {t['measured_us'] - EXEC_TARGET_US:.0f} µs."))
    print("\n".join(out))


if __name__ == "__main__":
    sys.exit(main())
