"""Projection fits in a worker process (viz_app.reduce.worker): the same result as in this
process for the same seed, progress relayed, and a job over its time limit cancelled (worker
killed and replaced) with a clear error, after which the next job still works."""

from __future__ import annotations

import itertools
import os
import time

import numpy as np
import pytest

from viz_app.errors import JobTimeoutError, ParameterError
from viz_app.reduce import make_params
from viz_app.reduce.project import project_with, transform
from viz_app.reduce.worker import ENV_TIMEOUT, FitPool, job_timeout_s, project_in_worker


@pytest.fixture(scope="module")
def pool():
    p = FitPool(workers=1, warm_replacements=False)  # a replacement compiles what its next job needs
    yield p
    p.shutdown()


def _blobs(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 5, size=(4, d))
    return (centres[np.arange(n) % 4] + rng.normal(size=(n, d))).astype(np.float32)


def test_umap_in_the_worker_equals_umap_here_and_its_model_places_points(pool):
    x = _blobs(300)
    p = make_params("umap", n_samples=len(x), n_neighbors=10, random_state=3)
    reports: list[tuple[float, str]] = []
    away = pool.project(x, p, fingerprint="fp", progress=lambda f, m: reports.append((f, m)))
    here = project_with(x, p, fingerprint="fp")
    np.testing.assert_array_equal(away.coords, here.coords)
    assert away.source_fingerprint == "fp" and away.params == p
    # progress came from the worker's real stages, in order, ending at 1.0
    assert any("UMAP layout: epoch" in m for _, m in reports), reports[:5]
    assert reports[-1] == (1.0, "done")
    assert all(a[0] <= b[0] + 1e-9 for a, b in itertools.pairwise(reports))
    # the fitted reducer came back and places new points here as it does in the worker
    np.testing.assert_allclose(transform(away.model, p, x[:3]), transform(here.model, p, x[:3]), atol=1e-4)


def test_tsne_in_the_worker_equals_tsne_here(pool):
    x = _blobs(200, seed=1)
    p = make_params("tsne", n_samples=len(x), perplexity=10, random_state=1)
    np.testing.assert_array_equal(pool.project(x, p).coords, project_with(x, p).coords)


def test_a_job_over_the_time_limit_is_cancelled_and_the_next_job_works(pool):
    big = _blobs(20_000, d=50, seed=2)
    p = make_params("tsne", n_samples=len(big), random_state=0)
    t0 = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"did not finish within the time limit of 2 s and was cancelled"):
        pool.project(big, p, timeout_s=2.0)
    assert time.monotonic() - t0 < 60  # cancelled at the limit, not run to its end (minutes)
    assert pool.cancelled == 1
    # the next job gets a new worker and works
    x = _blobs(300)
    q = make_params("umap", n_samples=len(x), n_neighbors=10, random_state=0)
    np.testing.assert_array_equal(pool.project(x, q).coords, project_with(x, q).coords)


def test_errors_of_the_job_reach_the_caller_and_keep_the_worker(pool):
    same = np.ones((50, 4), np.float32)
    p = make_params("tsne", n_samples=len(same), perplexity=5)
    before = pool.cancelled
    with pytest.raises(ParameterError, match="identical vectors"):
        pool.project(same, p)  # refused by the t-SNE fit, in the worker
    x = _blobs(50)
    assert pool.project(x, p).coords.shape == (50, 2)
    assert pool.cancelled == before


def test_pca_stays_in_this_process_and_the_limit_is_read_from_the_environment(monkeypatch):
    x = _blobs(100)
    p = make_params("pca", n_samples=len(x))
    np.testing.assert_array_equal(project_in_worker(x, p).coords, project_with(x, p).coords)
    monkeypatch.setenv(ENV_TIMEOUT, "42")
    assert job_timeout_s() == 42.0
    for bad in ("0", "-1", "soon", "inf"):
        monkeypatch.setenv(ENV_TIMEOUT, bad)
        with pytest.raises(ParameterError, match=ENV_TIMEOUT):
            job_timeout_s()
    monkeypatch.delenv(ENV_TIMEOUT)
    assert job_timeout_s() > 0 and os.environ.get(ENV_TIMEOUT) is None
