"""UMAP in a fresh process pays no numba compile (issue 17 item 3, issue 14's second map run).

From 4,096 to 20,000 points umap-learn gets an exact kNN graph (scikit-learn) instead of running
pynndescent's NN-descent, whose kernels numba cannot keep on disk; umap-learn's own uncached
kernels are declared again with ``cache=True``. The timed figures are in benchmarks/startup.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.neighbors import NearestNeighbors

from viz_app.reduce import project
from viz_app.reduce.project import transform
from viz_app.reduce.umap import EXACT_KNN_MAX_POINTS, UMAP_EXACT_BELOW, ExactKnnIndex, precomputed_knn

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def glove_4500(glove_10k):
    return glove_10k.subset(np.arange(4500))


def test_only_the_middle_sizes_get_the_exact_graph():
    x = np.random.default_rng(0).normal(size=(UMAP_EXACT_BELOW - 1, 4)).astype(np.float32)
    assert precomputed_knn(x, 15, "cosine") == (None, None, None)  # umap-learn's own exact path
    assert EXACT_KNN_MAX_POINTS == 20_000


@pytest.mark.slow
def test_umap_of_4500_glove_words_uses_the_exact_graph_and_stays_deterministic(glove_4500):
    es = glove_4500
    a = project(es, reducer="umap", random_state=0)
    b = project(es, reducer="umap", random_state=0)
    assert np.array_equal(a.coords, b.coords)
    index = a.model._knn_search_index
    assert isinstance(index, ExactKnnIndex)
    # umap-learn's graph is the exact one (cosine), each row listing itself
    _, ref = NearestNeighbors(metric="cosine", algorithm="brute").fit(es.vectors).kneighbors(es.vectors, 15)
    own = np.asarray(a.model._knn_indices)
    assert own.shape == (es.n_samples, 15)
    assert np.mean([len(set(r) & set(s)) / 15 for r, s in zip(own, ref)]) > 0.999
    king = int(np.flatnonzero(es.labels == "king")[0])
    assert king in own[king]
    # transform (umap-learn's own, through the exact index) places king's vector beside king
    placed = transform(a.model, a.params, es.vectors[[king]])
    spread = np.ptp(a.coords, axis=0).max()
    assert np.linalg.norm(placed[0] - a.coords[king]) < 0.05 * spread


CHILD = r"""
import json, sys
from numba.core import event
names = []

class Compiles(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        f = getattr(ev.data["dispatcher"], "py_func", None)
        names.append(getattr(f, "__module__", "?") + "." + getattr(f, "__qualname__", "?"))

import numpy as np
from viz_app.reduce import project, transform
from viz_app.data.model import EmbeddingSet

x = np.random.default_rng(0).normal(size=(4200, 8)).astype(np.float32)
event.register("numba:compile", Compiles())
p = project(EmbeddingSet(x), reducer="umap", random_state=0)
transform(p.model, p.params, x[:2])
print(json.dumps({"compiled": names, "coords": p.coords[:3].tolist()}))
"""


@pytest.mark.slow
def test_a_second_process_compiles_no_kernel(tmp_path):
    """Two fresh processes share numba's disk cache: the second fits and transforms with no
    kernel compiled beyond the two umap-learn compiles at import, and gets the same coordinates
    (the cached kernels are the same code)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "PYTHONPATH": str(ROOT)}
    runs = []
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, cwd=ROOT, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr[-2000:]
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    assert runs[0]["compiled"], "the first process should have compiled (an empty cache)"
    # umap-learn compiles two tiny kernels with explicit signatures while it is imported
    # (umap.utils.tau_rand, tau_rand_int: under a second), before anything can cache them
    assert set(runs[1]["compiled"]) <= {"umap.utils.tau_rand", "umap.utils.tau_rand_int"}, runs[1]["compiled"]
    assert len(runs[0]["compiled"]) > 10
    assert runs[0]["coords"] == runs[1]["coords"]
