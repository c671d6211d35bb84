"""The Python side of the binding benchmark (bench/python/run.sh): the operations capi_ops
times, through the microsandbox package, timed the same way.

    py_ops.py lifecycle|exec N [IMAGE]

lifecycle = Sandbox.create + shell("true") + stop (remove untimed); exec = shell("true") in
one running sandbox. Prints one JSON object like capi_ops."""

import asyncio
import json
import os
import statistics
import sys
import time

from microsandbox import Sandbox


def summary(op: str, us: list[float]) -> dict:
    us = sorted(us)
    n = len(us)
    return {"op": op, "n": n, "median_us": round(statistics.median(us), 1),
            "mean_us": round(statistics.fmean(us), 1), "p90_us": round(us[max(int(0.9 * n + 0.999999), 1) - 1], 1),
            "min_us": round(us[0], 1)}


async def main(op: str, n: int, image: str) -> dict:
    name = f"bench-py-{os.getpid()}"
    us = []
    if op == "exec":
        sb = await Sandbox.create(name, image=image, replace=True)
        for _ in range(20):
            await sb.shell("true")
        for _ in range(n):
            t0 = time.perf_counter()
            out = await sb.shell("true")
            us.append((time.perf_counter() - t0) * 1e6)
            assert out.exit_code == 0
        await sb.kill()
        await sb.remove_persisted()
    else:
        for _ in range(n):
            t0 = time.perf_counter()
            sb = await Sandbox.create(name, image=image, replace=True)
            await sb.shell("true")
            await sb.stop()
            us.append((time.perf_counter() - t0) * 1e6)
            await sb.remove_persisted()
    return summary(op, us)


if __name__ == "__main__":
    op, n = sys.argv[1], int(sys.argv[2])
    image = sys.argv[3] if len(sys.argv) > 3 else "local/busybox:latest"
    print(json.dumps(asyncio.run(main(op, n, image))))
