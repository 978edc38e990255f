"""pynndescent's NN-descent from numba's disk cache (issue 17 item 3): above the exact kNN limit
(viz_app.reduce.umap.EXACT_KNN_MAX_POINTS) a first UMAP fit, its transform and the live map's
graph in a fresh process compile no numba kernel once the install's warm-up ran, and the graph
is the same bits as pynndescent's own. Timed figures: benchmarks/startup.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from viz_app.reduce.nndescent import PYNNDESCENT_VERSION, _router, numba_cache_dir
from viz_app.reduce.umap import EXACT_KNN_MAX_POINTS

ROOT = Path(__file__).resolve().parents[2]
# umap-learn compiles these two with explicit signatures while it is imported (under a second),
# before anything could take them from the disk cache
AT_IMPORT = {"umap.utils.tau_rand", "umap.utils.tau_rand_int"}


def test_the_cached_wrappers_are_for_the_pinned_pynndescent():
    pin = re.search(r"^pynndescent==(\S+)$", (ROOT / "requirements.txt").read_text(), re.M)
    assert pin is not None and pin.group(1) == PYNNDESCENT_VERSION


def test_the_router_sends_only_its_distances_to_the_cached_kernels():
    calls = []
    original = lambda *a, **kw: calls.append(("original", a[4])) or "o"  # noqa: E731
    cached = lambda *a: calls.append(("cached", len(a))) or "c"  # noqa: E731
    mine, other = object(), object()
    route = _router(original, ((mine, cached),))
    leaves = np.zeros((1, 1), np.int32)
    assert route("data", 10, "rng", 60, mine, 5, 0.001, leaf_array=leaves, kernel=2) == "c"
    assert route("data", 10, "rng", 60, other, 5, 0.001, leaf_array=leaves) == "o"
    assert calls == [("cached", 12), ("original", other)]
    assert route.pynndescent_nn_descent is original


SAME = r"""
import json
import numpy as np
from viz_app.reduce.nndescent import pynndescent
from viz_app.data.samples import glove
import pynndescent.pynndescent_ as impl

pynnd = pynndescent()
routed_nn_descent = impl.nn_descent
x = glove(3000).vectors  # read-only, as an EmbeddingSet's
out = {}
for metric, data in (("cosine", np.array(x)), ("euclidean", x)):
    graphs = []
    for function in (routed_nn_descent, routed_nn_descent.pynndescent_nn_descent):
        impl.nn_descent = function
        nn = pynnd.NNDescent(data, metric=metric, n_neighbors=15, random_state=0, n_jobs=1)
        graphs.append(nn.neighbor_graph)
    (a, da), (b, db) = graphs
    out[metric] = [bool(np.array_equal(a, b)), bool(np.array_equal(da, db)), a.shape]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_cached_nn_descent_gives_pynndescents_own_graph():
    """Same seed, same bits: the routed (disk-cached) NN-descent against pynndescent's own
    function, cosine on writable and euclidean on read-only GloVe vectors (3,000 words). In a
    fresh process with the app's numba cache, so only pynndescent's own function compiles
    (twice, ~40 s each on an idle machine)."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache_dir()), "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", SAME], env=env, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out == {"cosine": [True, True, [3000, 15]], "euclidean": [True, True, [3000, 15]]}


WARM = "from viz_app.reduce import warm_up; warm_up()"
FIT = r"""
import json, sys
import numpy as np
from viz_app.reduce.nndescent import use_numba_disk_cache
use_numba_disk_cache()  # before numba is imported, as the app does
from numba.core import event
names = []

class Compiles(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        f = getattr(ev.data["dispatcher"], "py_func", None)
        names.append(getattr(f, "__module__", "?") + "." + getattr(f, "__qualname__", "?"))

event.register("numba:compile", Compiles())
from viz_app.data.samples import glove
from viz_app.explore.graph import graph_method, neighbor_graph
from viz_app.reduce import make_params, project_with, transform

n = int(sys.argv[1])
es = glove(n + 200)
train, rest = es.subset(np.arange(n)), es.vectors[n:]
out = {}
p = make_params("umap", n_samples=n, metric="cosine")
proj = project_with(train.vectors, p)
out["umap"] = list(names)
transform(proj.model, proj.params, rest)
out["transform"] = names[len(out["umap"]):]
for metric in ("cosine", "euclidean"):
    assert graph_method(train, 10, metric=metric) == "nndescent"
    before = len(names)
    neighbor_graph(train, 10, metric=metric)
    out["graph " + metric] = names[before:]
print(json.dumps(out))
"""


@pytest.mark.slow
def test_a_fresh_process_fits_a_large_umap_and_graph_without_compiling():
    """After the install's warm-up (``python -m viz_app.warmup`` runs ``warm_up()``; run again
    here in its own process: seconds when the cache is already full), a fresh process fits UMAP
    on 25,000 GloVe words (pynndescent's NN-descent graph), places 200 more with ``transform``
    and builds the live map's cosine and euclidean graphs (NN-descent above the exact limit)
    with no numba compile: every kernel comes from numba's disk cache (the app's own folder,
    :func:`numba_cache_dir`)."""
    n = EXACT_KNN_MAX_POINTS + 5_000
    env = {**os.environ, "NUMBA_CACHE_DIR": str(numba_cache_dir()), "PYTHONPATH": str(ROOT)}
    warm = subprocess.run([sys.executable, "-c", WARM], env=env, cwd=ROOT, capture_output=True, text=True)
    assert warm.returncode == 0, warm.stderr[-2000:]
    fit = subprocess.run([sys.executable, "-c", FIT, str(n)], env=env, cwd=ROOT, capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr[-2000:]
    compiled = json.loads(fit.stdout.strip().splitlines()[-1])
    assert set(compiled["umap"]) <= AT_IMPORT, compiled["umap"]
    assert compiled["transform"] == [], compiled["transform"]
    assert compiled["graph cosine"] == [] and compiled["graph euclidean"] == [], compiled
