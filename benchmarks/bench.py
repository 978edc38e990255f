#!/usr/bin/env python
"""Embedding Lens benchmarks: embedding throughput, projection times (viz_app vs. the libraries
called directly), first-UMAP cost in a fresh process, re-showing a cached map, and peak RSS.

Run from the project root with the project's virtual environment::

    .venv/bin/python benchmarks/bench.py                 # full run (GloVe 2k and 10k)
    .venv/bin/python benchmarks/bench.py --sizes 2000    # only 2k GloVe points in section 2
    .venv/bin/python benchmarks/bench.py --quick         # smoke run, see --help

Every figure is measured by this script when it runs; see benchmarks/README.md for what each
one means. Nothing is downloaded: MiniLM, GloVe and the gensim texts come from installed packages.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CLK_TCK = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
CHILD_HWM: list[float] = []  # children's own peak RSS (MiB), from their /proc/self/status VmHWM


# --------------------------------------------------------------------------------------------
# Measuring helpers
# --------------------------------------------------------------------------------------------


def _system_busy_s() -> float:
    """CPU-seconds all processes on the machine have been busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def _own_cpu_s() -> float:
    """CPU-seconds of this process (all threads) plus its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class Timed:
    """Context manager: wall seconds and the average number of cores used by *other* processes
    meanwhile (machine-wide busy CPU time minus this process's and its children's)."""

    def __enter__(self) -> Timed:
        self._busy0, self._own0 = _system_busy_s(), _own_cpu_s()
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.s = time.perf_counter() - self._t0
        busy = _system_busy_s() - self._busy0
        own = _own_cpu_s() - self._own0
        # /proc/stat has 10 ms resolution: very short blocks give no meaningful figure.
        self.others = max(0.0, (busy - own) / self.s) if self.s >= 0.5 else float("nan")


def timed(fn: Callable[[], Any]) -> tuple[Any, Timed]:
    with Timed() as t:
        out = fn()
    return out, t


def maxrss_mib(who: int = resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # KiB on Linux


def fmt_s(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_others(t: Timed | float | None) -> str:
    v = t.others if isinstance(t, Timed) else t
    if v is None or v != v:  # nan
        return ""
    return f"others {v:.2f} cores"


def row(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<56} {value:>14}  {note}".rstrip(), flush=True)


_SECTION: list[Timed] = []


def header(n: int, title: str) -> None:
    if _SECTION:
        _SECTION[0].__exit__(None, None, None)
    _SECTION[:] = [Timed().__enter__()]
    l1, l5, l15 = os.getloadavg()
    print(f"\n== {n}. {title}", flush=True)
    print(
        f"   load average before: {l1:.2f} / {l5:.2f} / {l15:.2f} (1/5/15 min, {NCPU} cores; "
        "includes this benchmark's own previous work)",
        flush=True,
    )


def rss_line(children: bool = False) -> None:
    sec = _SECTION[0]
    sec.__exit__(None, None, None)
    row(
        "section wall time", fmt_s(sec.s), f"other processes used {sec.others:.2f} of {NCPU} cores on average meanwhile"
    )
    row("peak RSS of this process so far", f"{maxrss_mib():.0f} MiB", "ru_maxrss, RUSAGE_SELF")
    if children:
        row(
            "peak RSS of the largest subprocess so far",
            f"{maxrss_mib(resource.RUSAGE_CHILDREN):.0f} MiB",
            "ru_maxrss, RUSAGE_CHILDREN (*)",
        )
        if CHILD_HWM:
            row("  largest child's own peak (VmHWM, after exec)", f"{max(CHILD_HWM):.0f} MiB")
        print(
            "   (*) Linux keeps the pre-exec peak across exec, so a child spawned from this large process\n"
            "   reports at least this process's RSS at spawn time in ru_maxrss (and so in RUSAGE_CHILDREN);\n"
            "   each child therefore reports its own peak from /proc/self/status VmHWM ('RSS' above).",
            flush=True,
        )


def dir_size(p: Path) -> tuple[int, int]:
    if not p.exists():
        return 0, 0
    files = [f for f in p.rglob("*") if f.is_file()]
    return len(files), sum(f.stat().st_size for f in files)


# --------------------------------------------------------------------------------------------
# 1. Embedding throughput
# --------------------------------------------------------------------------------------------

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'])")


def real_sentences() -> tuple[list[str], dict[str, int]]:
    """Unique sentences of gensim's test corpora, in file order; sentences of >= 3 words."""
    from gensim.test.utils import datapath

    seen: dict[str, None] = {}
    per_file: dict[str, int] = {}
    for name in ("lee_background.cor", "lee.cor", "pang_lee_polarity.cor"):
        n = 0
        with open(datapath(name), encoding="latin-1") as f:  # lee_background is pure ASCII
            for line in f:
                line = line.strip()
                if name == "pang_lee_polarity.cor":
                    line = re.sub(r"^__label__\S+\s+", "", line)
                for s in _SENT_END.split(line):
                    s = " ".join(s.split())
                    if len(s.split()) >= 3 and s not in seen:
                        seen[s] = None
                        n += 1
        per_file[name] = n
    return list(seen), per_file


def section_embedding(n_max: int) -> None:
    header(1, "Embedding throughput: all-MiniLM-L6-v2 through viz_app.encode (CPU)")
    import viz_app.embed.encoders as embed

    sents, per_file = real_sentences()
    avail = len(sents)
    row(
        "unique real sentences available (>= 3 words)",
        f"{avail:,}",
        ", ".join(f"{k}: {v:,}" for k, v in per_file.items()),
    )
    if avail < 10_000:
        print(
            f"   Only {avail:,} unique real sentences exist in gensim's test data (< 10,000): "
            f"throughput is reported on {min(n_max, avail):,} only; no texts are generated.",
            flush=True,
        )
    texts = sents[:n_max]
    chars = [len(t) for t in texts]
    row(
        "sentences timed",
        f"{len(texts):,}",
        f"mean {statistics.mean(chars):.0f} chars, median {statistics.median(chars):.0f}",
    )

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    _, t_imp = timed(lambda: __import__("sentence_transformers"))
    row("import sentence_transformers (+ torch)", fmt_s(t_imp.s), fmt_others(t_imp))
    _, t_load = timed(lambda: embed.get_encoder())
    row("model load (viz_app.embed.encoders.get_encoder, after import)", fmt_s(t_load.s), fmt_others(t_load))

    import torch

    # One untimed batch so the first forward pass's one-off costs are not in the rate.
    embed.encode(texts[:64])
    embed._vec_cache.clear()
    vecs, t_enc = timed(lambda: embed.encode(texts, batch_size=64))
    assert vecs.shape[0] == len(texts)
    row("viz_app.encode, fresh cache, batch 64", fmt_s(t_enc.s), fmt_others(t_enc))
    row(
        "  -> throughput",
        f"{len(texts) / t_enc.s:.0f} sent/s",
        f"{sum(chars) / t_enc.s / 1000:.1f} k chars/s, torch threads {torch.get_num_threads()}",
    )
    _, t_hit = timed(lambda: embed.encode(texts, batch_size=64))
    row("second call, same texts (in-process cache hit)", fmt_s(t_hit.s), f"{len(texts) / t_hit.s:,.0f} sent/s")

    model = embed.get_encoder()
    _, t_dir = timed(
        lambda: model.encode(
            texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True, show_progress_bar=False
        )
    )
    row(
        "for reference: SentenceTransformer.encode(all, batch 64)",
        fmt_s(t_dir.s),
        f"{len(texts) / t_dir.s:.0f} sent/s; {fmt_others(t_dir)}",
    )
    embed._vec_cache.clear()
    rss_line()


# --------------------------------------------------------------------------------------------
# 2. Projections: viz_app.reduce.project vs. the library called directly
# --------------------------------------------------------------------------------------------


def _direct_pca(x):
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=0).fit_transform(x)


def _direct_tsne(x):
    import openTSNE

    # Mirrors viz_app.reduce.project._tsne for 2-D, minus its progress callback.
    return openTSNE.TSNE(
        n_components=2,
        perplexity=30.0,
        metric="cosine",
        random_state=0,
        n_jobs=max(1, min(2, os.cpu_count() or 1)),
        early_exaggeration_iter=250,
        n_iter=500,
        negative_gradient_method="fft",
    ).fit(x)


def _direct_umap(x):
    import umap

    r = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, metric="cosine", random_state=0, n_jobs=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return r.fit_transform(x)


def _maxdiff(a, b) -> str:
    import numpy as np

    d = float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64))))
    return "identical coords" if d == 0 else f"coords max |diff| {d:.2g}"


def section_projections(sizes: list[int], repeats: int, tsne_max: int) -> dict[int, Any]:
    import numpy as np

    import viz_app
    from viz_app.data.samples import glove

    header(2, "Projections, 2-D, defaults (cosine, seed 0): viz_app.reduce.project vs. direct library call")
    print(
        "   direct: sklearn PCA(2, random_state=0); openTSNE.TSNE(perplexity=30, cosine, n_jobs=2,\n"
        "   early_exaggeration_iter=250, n_iter=500, fft, random_state=0) (viz_app adds a progress\n"
        "   callback every 25 iterations); umap.UMAP(15, 0.1, cosine, random_state=0, n_jobs=1).",
        flush=True,
    )
    import openTSNE
    import sklearn.decomposition  # noqa: F401

    _, t = timed(viz_app.warm_up)
    row(
        "viz_app.warm_up() in this process (numba JIT / disk cache)",
        fmt_s(t.s),
        f"NUMBA_CACHE_DIR={os.environ.get('NUMBA_CACHE_DIR')}",
    )
    rng = np.random.default_rng(0)
    openTSNE.TSNE(n_iter=10, early_exaggeration_iter=10, n_jobs=2, metric="cosine", negative_gradient_method="fft").fit(
        rng.normal(size=(300, 8)).astype(np.float32)
    )

    umap_proj: dict[int, Any] = {}
    for n in sizes:
        es, t = timed(lambda: glove(n))
        print(f"\n   GloVe {n:,} x {es.n_features} (glove({n}) took {fmt_s(t.s)})", flush=True)
        row("reducer: time viz_app | direct", "ratio", "notes")

        # PCA: fast, so the best of 7 runs after one warm-up each (min resists interference).
        viz_app.project(es, reducer="pca"), _direct_pca(es.vectors)
        tv = [timed(lambda: viz_app.project(es, reducer="pca"))[1].s for _ in range(7)]
        td = [timed(lambda: _direct_pca(es.vectors))[1].s for _ in range(7)]
        a, b = min(tv), min(td)
        pv, pd_ = viz_app.project(es, reducer="pca"), _direct_pca(es.vectors)
        row(
            f"PCA    {fmt_s(a)} | {fmt_s(b)}",
            f"{a / b:.2f}x",
            f"best of 7 (medians {fmt_s(statistics.median(tv))} | {fmt_s(statistics.median(td))}); "
            f"{_maxdiff(pv.coords, pd_)}",
        )

        # t-SNE: one run each (20-100 s per run), viz_app first.
        if n <= tsne_max:
            pv, t1 = timed(lambda: viz_app.project(es, reducer="tsne"))
            pd_, t2 = timed(lambda: _direct_tsne(es.vectors))
            row(
                f"t-SNE  {fmt_s(t1.s)} | {fmt_s(t2.s)}",
                f"{t1.s / t2.s:.2f}x",
                f"1 run each; {_maxdiff(pv.coords, pd_)}; others {t1.others:.2f} | {t2.others:.2f} cores",
            )
        else:
            row("t-SNE", "skipped", f"--quick: only up to {tsne_max:,} points")

        # UMAP: a first call at this size (compiles whatever this size needs, e.g. NN-descent
        # above 4,096 points), then alternating direct / viz_app runs, all warm.
        pv, t0 = timed(lambda: viz_app.project(es, reducer="umap"))
        row(f"UMAP first call at this size (viz_app) {fmt_s(t0.s)}", "", fmt_others(t0))
        tv, td, ov, od = [], [], [], []
        for _ in range(repeats):
            pd_, t2 = timed(lambda: _direct_umap(es.vectors))
            pv, t1 = timed(lambda: viz_app.project(es, reducer="umap"))
            td.append(t2.s), tv.append(t1.s), od.append(t2.others), ov.append(t1.others)
        a, b = min(tv), min(td)
        row(
            f"UMAP   {fmt_s(a)} | {fmt_s(b)}",
            f"{a / b:.2f}x",
            f"best of {repeats} warm runs each; {_maxdiff(pv.coords, pd_)}; "
            f"others {max(ov):.2f} | {max(od):.2f} cores (max)",
        )
        umap_proj[n] = (es, pv)
    print(flush=True)
    rss_line()
    return umap_proj


# --------------------------------------------------------------------------------------------
# 3. Fresh processes: first UMAP, warm_up, default map from the disk cache
# --------------------------------------------------------------------------------------------

_CHILD_FIRST_UMAP = """
import json, time
t0 = time.perf_counter()
import viz_app
from viz_app.data.samples import glove
t1 = time.perf_counter()
es = glove(2000)
t2 = time.perf_counter()
viz_app.project(es, reducer="umap")
t3 = time.perf_counter()
viz_app.project(es, reducer="umap")
t4 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "first": t3 - t2, "second": t4 - t3,
                  "rss": int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM"))) / 1024}))
"""

_CHILD_WARM_UP = """
import json, time
t0 = time.perf_counter()
import viz_app
t1 = time.perf_counter()
w = viz_app.warm_up()
print(json.dumps({"import": t1 - t0, "warm_up": w,
                  "rss": int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM"))) / 1024}))
"""

_CHILD_DEFAULT_MAP = """
import json, time
t0 = time.perf_counter()
import viz_app
from viz_app.data.samples import DEFAULT_SAMPLE, load_sample
from viz_app.reduce.store import ProjectionDiskCache
from viz_app.reduce.project import DEFAULT_VIEW
t1 = time.perf_counter()
es = load_sample(DEFAULT_SAMPLE)
t2 = time.perf_counter()
proj = ProjectionDiskCache().get(es.fingerprint, DEFAULT_VIEW)
t3 = time.perf_counter()
assert proj is not None, "default map not found in the disk cache"
fig = viz_app.scatter_map(proj.coords, ids=es.ids, labels=es.labels, color=es.metadata["frequency_band"],
                          color_name="frequency_band")
t4 = time.perf_counter()
import streamlit
t5 = time.perf_counter()
print(json.dumps({"import": t1 - t0, "load": t2 - t1, "get": t3 - t2, "fig": t4 - t3, "st": t5 - t4,
                  "n": es.n_samples, "rss": int(next(l.split()[1] for l in open("/proc/self/status") if l.startswith("VmHWM"))) / 1024}))
"""


def run_child(code: str, env_update: dict[str, str | None]) -> tuple[dict[str, Any], Timed]:
    env = dict(os.environ)
    for k, v in env_update.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with Timed() as t:
        r = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
    if r.returncode != 0:
        raise RuntimeError(f"child failed ({r.returncode}):\n{r.stderr[-3000:]}")
    out = json.loads(r.stdout.strip().splitlines()[-1])
    CHILD_HWM.append(out["rss"])
    return out, t


def _default_numba_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "numba"


def section_fresh_processes(tmp: Path, quick: bool, umap_proj: dict[int, Any]) -> None:
    header(3, "Fresh processes (python -c ...): first UMAP, warm_up(), default map from the disk cache")
    print(
        "   Each child is a new interpreter; its time includes `import viz_app` (shown separately).\n"
        "   Python bytecode (.pyc) and the OS page cache are warm in every case.",
        flush=True,
    )
    if not quick:
        cold = tmp / "numba-cold-a"
        d, t = run_child(_CHILD_FIRST_UMAP, {"NUMBA_CACHE_DIR": str(cold)})
        row(
            "(a) cold numba cache: first project(glove(2000), umap)",
            fmt_s(d["first"]),
            f"import viz_app {fmt_s(d['import'])}, glove {fmt_s(d['load'])}",
        )
        row(
            "    second call in the same process",
            fmt_s(d["second"]),
            f"child wall {fmt_s(t.s)}, child RSS {d['rss']:.0f} MiB, {fmt_others(t)}",
        )
        nf, sz = dir_size(cold)
        row("    numba cache written by that run", f"{sz / 2**20:.1f} MiB", f"{nf} files")
        d, t = run_child(_CHILD_WARM_UP, {"NUMBA_CACHE_DIR": str(tmp / "numba-cold-c")})
        row(
            "(c) viz_app.warm_up(), cold numba cache",
            fmt_s(d["warm_up"]),
            f"child wall {fmt_s(t.s)}, RSS {d['rss']:.0f} MiB, {fmt_others(t)}",
        )
    else:
        row("(a) cold numba cache", "skipped", "--quick")

    ddir = _default_numba_dir()
    nf, sz = dir_size(ddir)
    row("default numba cache before (c)", f"{sz / 2**20:.1f} MiB", f"{nf} files in {ddir}")
    d, t = run_child(_CHILD_WARM_UP, {"NUMBA_CACHE_DIR": None})
    row(
        "(c) viz_app.warm_up(), default numba cache",
        fmt_s(d["warm_up"]),
        f"child wall {fmt_s(t.s)}, RSS {d['rss']:.0f} MiB, {fmt_others(t)}",
    )
    nf, sz = dir_size(ddir)
    row("default numba cache after (c)", f"{sz / 2**20:.1f} MiB", f"{nf} files")
    d, t = run_child(_CHILD_FIRST_UMAP, {"NUMBA_CACHE_DIR": None})
    row(
        "(b) warm numba disk cache: first project(glove(2000), umap)",
        fmt_s(d["first"]),
        f"import viz_app {fmt_s(d['import'])}, glove {fmt_s(d['load'])}",
    )
    row(
        "    second call in the same process",
        fmt_s(d["second"]),
        f"child wall {fmt_s(t.s)}, RSS {d['rss']:.0f} MiB, {fmt_others(t)}",
    )

    # (d) default map (GloVe 10k, UMAP 2-D, seed 0) from a disk cache that holds it.
    import viz_app
    from viz_app.data.samples import DEFAULT_SAMPLE, load_sample
    from viz_app.reduce.project import DEFAULT_VIEW
    from viz_app.reduce.store import ProjectionDiskCache

    es = load_sample(DEFAULT_SAMPLE)
    if es.n_samples in umap_proj and umap_proj[es.n_samples][0].fingerprint == es.fingerprint:
        proj = umap_proj[es.n_samples][1]
        how = "from section 2"
    else:
        proj, t = timed(lambda: viz_app.project(es, reducer="umap"))
        how = f"computed here in {fmt_s(t.s)}"
    assert proj.params == DEFAULT_VIEW, (proj.params, DEFAULT_VIEW)
    pdir = tmp / "projections"
    ProjectionDiskCache(pdir).put(proj)
    d, t = run_child(_CHILD_DEFAULT_MAP, {"EMBEDDING_LENS_CACHE": str(pdir)})
    total = d["import"] + d["load"] + d["get"]
    row(
        f"(d) default map ({d['n']:,} pts) from disk cache, in-child",
        fmt_s(total),
        f"map {how}; EMBEDDING_LENS_CACHE=<temp dir>",
    )
    row("    import viz_app (+ samples, store, warmup)", fmt_s(d["import"]))
    row("    load_sample('glove') (10k rows, fingerprint)", fmt_s(d["load"]))
    row("    ProjectionDiskCache().get(fingerprint, DEFAULT_VIEW)", fmt_s(d["get"]))
    row("    + scatter_map figure (colour: frequency_band)", fmt_s(d["fig"]))
    row("    (import streamlit, not included above)", fmt_s(d["st"]))
    row("    child wall (interpreter start to exit, all of the above)", fmt_s(t.s), f"RSS {d['rss']:.0f} MiB")
    rss_line(children=True)


# --------------------------------------------------------------------------------------------
# 4. Re-showing a cached projection
# --------------------------------------------------------------------------------------------


def section_reshow(tmp: Path, umap_proj: dict[int, Any]) -> None:
    import numpy as np
    import plotly.io as pio

    import viz_app
    from viz_app.reduce.store import ProjectionDiskCache

    header(4, "Re-showing a cached projection (in this process)")
    n = max(umap_proj)
    es, proj = umap_proj[n]
    logging_quiet()
    from viz_app.cache import ByteCache

    store = ByteCache("bench", 2**30)
    key = (es.fingerprint, proj.params)
    store.put(key, proj)
    reps = 100_000
    t0 = time.perf_counter()
    for _ in range(reps):
        store.get(key)
    row(
        f"ByteCache.get hit ({n:,}-point projection)",
        fmt_s((time.perf_counter() - t0) / reps),
        f"mean of {reps:,} calls",
    )

    disk = ProjectionDiskCache(tmp / "reshow")
    disk.put(proj)
    ts = []
    for _ in range(21):
        t0 = time.perf_counter()
        got = disk.get(es.fingerprint, proj.params)
        ts.append(time.perf_counter() - t0)
    assert got is not None and np.array_equal(got.coords, proj.coords)
    row(
        f"ProjectionDiskCache.get ({n:,} x 2 float32)",
        fmt_s(statistics.median(ts)),
        "median of 21; file in the OS page cache",
    )

    color = es.metadata["frequency_band"]

    def build():
        return viz_app.scatter_map(
            proj.coords, ids=es.ids, labels=es.labels, color=color, color_name="frequency_band", revision="bench"
        )

    ts = [timed(build)[1].s for _ in range(5)]
    fig = build()
    row(
        f"scatter_map, {n:,} points, coloured by frequency_band",
        fmt_s(statistics.median(ts)),
        f"median of 5; {len(fig.data)} Scattergl traces",
    )
    ts, js = [], ""
    for _ in range(5):
        t0 = time.perf_counter()
        js = fig.to_json()
        ts.append(time.perf_counter() - t0)
    row("fig.to_json()", fmt_s(statistics.median(ts)), f"median of 5; {len(js.encode()) / 2**20:.2f} MiB")
    ts = []
    for _ in range(5):
        t0 = time.perf_counter()
        js = pio.to_json(fig, validate=False)
        ts.append(time.perf_counter() - t0)
    row(
        "plotly.io.to_json(fig, validate=False) (st.plotly_chart)",
        fmt_s(statistics.median(ts)),
        f"median of 5; {len(js.encode()) / 2**20:.2f} MiB",
    )
    fig0 = viz_app.scatter_map(proj.coords, ids=es.ids, labels=es.labels)
    js0 = fig0.to_json()
    row("  same without colour (1 trace): to_json size", f"{len(js0.encode()) / 2**20:.2f} MiB")
    rss_line(children=True)


def logging_quiet() -> None:
    import logging

    for name in ("streamlit", "streamlit.runtime", "streamlit.runtime.caching"):
        logging.getLogger(name).setLevel(logging.ERROR)


# --------------------------------------------------------------------------------------------


def versions() -> str:
    names = [
        "numpy",
        "scikit-learn",
        "openTSNE",
        "umap-learn",
        "pynndescent",
        "numba",
        "torch",
        "sentence-transformers",
        "gensim",
        "plotly",
        "streamlit",
    ]
    out = []
    for n in names:
        try:
            out.append(f"{n} {metadata.version(n)}")
        except metadata.PackageNotFoundError:
            out.append(f"{n} (not installed)")
    return ", ".join(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--sizes",
        type=int,
        nargs="+",
        default=None,
        help="GloVe sizes for section 2 (default 2000 10000; --quick: 2000)",
    )
    ap.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 500 sentences, sizes 2000, 1 warm UMAP repeat, t-SNE only up to 2,000 "
        "points, no cold-numba subprocesses",
    )
    ap.add_argument("--sentences", type=int, default=None, help="sentences to embed (default 2000; --quick 500)")
    args = ap.parse_args()
    sizes = sorted(set(args.sizes or ([2000] if args.quick else [2000, 10_000])))
    n_sent = args.sentences or (500 if args.quick else 2000)
    repeats = 1 if args.quick else 2
    tsne_max = 2000 if args.quick else max(sizes)

    wall0 = time.perf_counter()
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print("Embedding Lens benchmark", time.strftime("%Y-%m-%d %H:%M:%S"), "(quick)" if args.quick else "")
    print(
        f"machine: {platform.machine()}, {NCPU} cores (os.cpu_count), "
        f"{len(os.sched_getaffinity(0))} usable, {mem:.1f} GiB RAM, {platform.platform()}"
    )
    print(f"python {platform.python_version()}; {versions()}")
    print(
        "Other work may be running on this machine: each section prints the load average before it,\n"
        "and timings show 'others X cores' = average CPU used by other processes during that timing\n"
        f"(machine-wide busy time from /proc/stat minus this benchmark's own; {NCPU} cores in total).",
        flush=True,
    )

    with tempfile.TemporaryDirectory(prefix="embedding-lens-bench-") as d:
        tmp = Path(d)
        section_embedding(n_sent)
        umap_proj = section_projections(sizes, repeats, tsne_max)
        section_fresh_processes(tmp, args.quick, umap_proj)
        section_reshow(tmp, umap_proj)
        shutil.rmtree(tmp, ignore_errors=True)
    l1, l5, l15 = os.getloadavg()
    print(f"\nload average at the end: {l1:.2f} / {l5:.2f} / {l15:.2f}")
    print(f"total wall time: {time.perf_counter() - wall0:.0f} s", flush=True)


if __name__ == "__main__":
    main()
