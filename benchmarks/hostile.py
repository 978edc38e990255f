"""Time and peak memory of the core on the hostile inputs of the many-users safety issue.

Each input runs in its own subprocess (wall-clock timeout, address-space cap), so a freeze or a
memory blow-up of the code under test cannot take the machine with it::

    python benchmarks/hostile.py                 # this checkout
    python benchmarks/hostile.py --repo /path    # another checkout (e.g. before a change)
    python benchmarks/hostile.py --timeout 60 --max-gb 6

Prints one row per input: outcome (the error class or "ok"), seconds of the hostile call (the
imports and the building of the input, above ``#--`` in each case, are not timed), peak RSS
of the process in MiB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CASES: dict[str, str] = {
    "svg_546kb_carrier": """
from viz_app.export.settings import load_settings
svg = b"<svg>" + b'<metadata id="embedding-lens-settings">' * 14_000 + b"</svg>"
#--
load_settings(svg)
""",
    "regex_backtracking_24a": """
import numpy as np
from viz_app.data.model import EmbeddingSet
from viz_app.explore.search import search
es = EmbeddingSet(np.ones((2, 2)), labels=["a" * 24 + "!", "king"])
#--
search(es, r"^(\\w+\\s?)*$", regex=True)
""",
    "regex_backtracking_5000a": """
import numpy as np
from viz_app.data.model import EmbeddingSet
from viz_app.explore.search import search
es = EmbeddingSet(np.ones((2, 2)), labels=["a" * 5000 + "!", "king"])
#--
search(es, r"^(\\w+\\s?)*$", regex=True)
""",
    "unknown_term_5000": """
from viz_app.data.samples import glove
from viz_app.explore.arithmetic import evaluate
es = glove()
#--
evaluate(es, "x" * 5000)
""",
    "first_line_50mb": """
from viz_app.data import io
data = b"a" * (50 << 20) + b"\\nsecond\\n"
#--
io.read(data, name="long.txt")
""",
    "csv_100k_columns": """
from viz_app.data import io
head = ",".join(f"c{i}" for i in range(100_000))
data = (head + "\\n" + ",".join(["0.1"] * 100_000) + "\\n").encode()
#--
io.read(data, name="wide.csv")
""",
    "npz_inflating_to_1gib": """
import io as _io, numpy as np
from viz_app.data import io
buf = _io.BytesIO()
np.savez_compressed(buf, vectors=np.zeros((1 << 18, 1024), dtype=np.float32))
print("compressed bytes", len(buf.getvalue()))
#--
io.load(buf.getvalue(), name="bomb.npz")
""",
    "nested_parentheses_300": """
import numpy as np
from viz_app.data.model import EmbeddingSet
from viz_app.explore.arithmetic import evaluate
es = EmbeddingSet(np.ones((2, 2)) + np.eye(2), labels=["a", "b"])
#--
evaluate(es, "(" * 300 + "a" + ")" * 300)
""",
}

_RUNNER = """
import resource, sys, time, json
resource.setrlimit(resource.RLIMIT_AS, ({cap}, {cap}))
exec(compile({setup!r}, "setup", "exec"))
t = time.perf_counter()
outcome = "ok"
try:
    exec(compile({code!r}, "case", "exec"))
except BaseException as exc:
    outcome = type(exc).__name__ + ": " + str(exc).splitlines()[0][:90]
print(json.dumps({{"s": time.perf_counter() - t, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}}))
"""


def run(repo: Path, name: str, timeout: float, cap: int) -> dict:
    setup, _, call = CASES[name].partition("#--")
    code = _RUNNER.format(cap=cap, setup=setup, code=call)
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"s": timeout, "rss": float("nan"), "outcome": f"still running after {timeout:.0f} s (killed)"}
    last = out.stdout.strip().splitlines()[-1:] or ["{}"]
    try:
        return json.loads(last[0])
    except json.JSONDecodeError:
        return {"s": float("nan"), "rss": float("nan"), "outcome": f"crashed: {out.stderr.strip()[-120:]}"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repo", type=Path, default=ROOT)
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--max-gb", type=float, default=6, help="address-space cap of each case")
    ap.add_argument("cases", nargs="*", default=list(CASES))
    a = ap.parse_args()
    print(f"{'case':26} {'seconds':>8} {'peak MiB':>9}  outcome")
    for name in a.cases:
        r = run(a.repo, name, a.timeout, int(a.max_gb * 2**30))
        print(f"{name:26} {r['s']:8.2f} {r['rss']:9.0f}  {r['outcome']}", flush=True)


if __name__ == "__main__":
    main()
