"""Fresh-process start-up cost of UMAP maps: does a new process pay a numba compile?

Prints, each with the load average (``os.getloadavg``) before and after:

1. ``embedding-lens map`` of the 5,000 most frequent GloVe words (a GloVe text file written to a
   temporary folder) with UMAP, run twice as two processes: wall and CPU time of each (CPU from
   ``getrusage(RUSAGE_CHILDREN)``). Issue 14's goal: the second run under 15 s wall.
2. For each ``--sizes`` (default 5,000, 20,000 and 30,000 GloVe words; above 20,000 UMAP's
   kNN graph is pynndescent's NN-descent): a fresh interpreter that runs
   ``viz_app.project(glove(n), reducer="umap")`` twice (the app's API): wall and CPU of the
   first and of the second call, and the numba kernels compiled during the first call (from
   numba's ``numba:compile`` events: count and summed seconds, nested compiles included).

By default the processes use numba's default disk cache of the app (``~/.cache/embedding-lens/
numba``, filled by ``python -m viz_app.warmup`` at install). ``--cold`` points ``NUMBA_CACHE_DIR``
at a new empty folder and first runs ``viz_app.warm_up()`` in a fresh process (the numba part of
the install warm-up), timed, so the figures show the state right after an install.

Usage (from the project root)::

    .venv/bin/python benchmarks/startup.py
    .venv/bin/python benchmarks/startup.py --cold --sizes 5000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from viz_app.reduce.nndescent import numba_cache_dir  # noqa: E402 - this checkout's

CHILD = r"""
import json, sys, time
from collections import Counter
from numba.core import event

compiled, starts = Counter(), {}

class Compiles(event.Listener):
    def on_start(self, ev):
        starts[id(ev.data["dispatcher"]), str(ev.data["args"])] = time.perf_counter()

    def on_end(self, ev):
        t0 = starts.pop((id(ev.data["dispatcher"]), str(ev.data["args"])), None)
        if t0 is not None:
            compiled["n"] += 1
            compiled["s"] += time.perf_counter() - t0

event.register("numba:compile", Compiles())
import viz_app
from viz_app.data.samples import glove

es = glove(int(sys.argv[1]))
out = {}
for run in ("first", "second"):
    before = dict(compiled)
    w, c = time.perf_counter(), time.process_time()
    viz_app.project(es, reducer="umap")
    out[run] = {"wall": time.perf_counter() - w, "cpu": time.process_time() - c,
                "compiles": compiled["n"] - before.get("n", 0), "compile_s": compiled["s"] - before.get("s", 0.0)}
print(json.dumps(out))
"""

WRITE_GLOVE = r"""
import sys
from viz_app.data.samples import glove

es = glove(5000)
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for word, v in zip(es.labels, es.vectors):
        f.write(word + " " + " ".join(repr(float(x)) for x in v) + "\n")
"""


def load() -> str:
    """The 1, 5 and 15 minute load averages."""
    return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system, the child and its children) and stdout of ``cmd``."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode:
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[5000, 20000, 30000], help="GloVe sizes for section 2")
    ap.add_argument("--cold", action="store_true", help="empty numba cache, then viz_app.warm_up() first")
    ap.add_argument("--skip-cli", action="store_true", help="skip section 1")
    args = ap.parse_args()
    py = sys.executable
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="el-startup-") as tmp:
        # set for the children either way: CHILD imports numba before viz_app (to count its
        # compiles), and numba reads NUMBA_CACHE_DIR once, when imported
        env["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba") if args.cold else str(numba_cache_dir())
        print(f"numba cache: {env['NUMBA_CACHE_DIR']}")
        print(f"cpus {os.cpu_count()}, python {sys.version.split()[0]}", flush=True)
        if args.cold:
            print(f"viz_app.warm_up() in a fresh process ({load()}) ...", flush=True)
            wall, cpu, out = run([py, "-c", "import viz_app; print(viz_app.warm_up())"], env)
            print(f"  warm_up: {float(out.strip()):.1f} s inside, process {wall:.1f} s wall, {cpu:.1f} s CPU; {load()}")
        if not args.skip_cli:
            src = Path(tmp) / "glove5k.txt"
            run([py, "-c", WRITE_GLOVE, str(src)], env)
            print(f"1. embedding-lens map of 5,000 GloVe vectors (UMAP), two fresh processes ({load()})", flush=True)
            for i in (1, 2):
                cmd = [py, "-m", "viz_app.cli", "map", str(src), "-o", str(Path(tmp) / f"map{i}.parquet"), "-q"]
                wall, cpu, _ = run(cmd, env)
                print(f"  run {i}: {wall:.1f} s wall, {cpu:.1f} s CPU; {load()}", flush=True)
        print("2. first and second viz_app.project(glove(n), reducer='umap') in a fresh process", flush=True)
        for n in args.sizes:
            before = load()
            wall, cpu, out = run([py, "-c", CHILD, str(n)], env)
            r = json.loads(out.strip().splitlines()[-1])
            for k in ("first", "second"):
                x = r[k]
                print(
                    f"  {n:,} points, {k}: {x['wall']:.1f} s wall, {x['cpu']:.1f} s CPU, "
                    f"{x['compiles']} numba compiles ({x['compile_s']:.1f} s)"
                )
            print(f"  (whole process {wall:.1f} s wall, {cpu:.1f} s CPU; {before} -> {load()})", flush=True)


if __name__ == "__main__":
    main()
