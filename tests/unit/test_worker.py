"""Projection fits in a worker process (viz_app.reduce.worker): the same result as in this
process for the same seed, progress relayed, and a job over its time limit (or whose caller
stopped waiting) cancelled (worker killed and replaced) with a clear error, after which the next
job still works; no worker outlives its pool or its process."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from viz_app.errors import JobTimeoutError, ParameterError
from viz_app.reduce import make_params
from viz_app.reduce.project import project_with, transform
from viz_app.reduce.worker import ENV_TIMEOUT, FitPool, PoolClosedError, job_timeout_s, project_in_worker

ROOT = Path(__file__).resolve().parents[2]


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
    # 3-D: openTSNE's Barnes-Hut, a second on 200 points (2-D's FFT grid costs ~30 s on 2 busy cores)
    p = make_params("tsne", n_samples=len(x), n_components=3, perplexity=10, random_state=1)
    np.testing.assert_array_equal(pool.project(x, p).coords, project_with(x, p).coords)


def _gone(pid: int) -> bool:
    """The process ended (a zombie nobody reaped counts as ended)."""
    try:
        return Path(f"/proc/{pid}/status").read_text().split("State:")[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _wait_gone(pids: list[int], within_s: float) -> bool:
    end = time.monotonic() + within_s
    while time.monotonic() < end:
        if all(_gone(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return all(_gone(pid) for pid in pids)


def test_a_job_over_the_time_limit_is_cancelled_and_the_next_job_works(pool):
    pool.project(_blobs(60), make_params("umap", n_samples=60, n_neighbors=5))  # the worker is up
    before, old = pool.cancelled, pool.worker_pids()
    big = _blobs(3_000, d=10, seed=2)  # a t-SNE of 3,000 points runs for many seconds
    p = make_params("tsne", n_samples=len(big), random_state=0)
    t0 = time.monotonic()
    with pytest.raises(JobTimeoutError, match=r"did not finish within the time limit of 1 s and was cancelled"):
        pool.project(big, p, timeout_s=1.0)
    assert time.monotonic() - t0 < 30  # cancelled at the limit, not run to its end
    assert pool.cancelled == before + 1
    assert len(old) == 1 and _wait_gone(old, 10)  # the worker running it was killed
    # the next job gets a new worker and works
    x = _blobs(300)
    q = make_params("umap", n_samples=len(x), n_neighbors=10, random_state=0)
    np.testing.assert_array_equal(pool.project(x, q).coords, project_with(x, q).coords)
    assert pool.worker_pids() and pool.worker_pids() != old


def test_a_caller_that_stops_waiting_cancels_its_job(pool):
    """A stopped Streamlit script run raises from its next progress update: the job is killed."""
    pool.project(_blobs(60), make_params("umap", n_samples=60, n_neighbors=5))
    before, old = pool.cancelled, pool.worker_pids()

    class Stopped(Exception):
        pass

    def stopped(fraction: float, message: str) -> None:
        raise Stopped(message)

    big = _blobs(3_000, d=10, seed=4)
    t0 = time.monotonic()
    with pytest.raises(Stopped):
        pool.project(big, make_params("tsne", n_samples=len(big), random_state=0), progress=stopped)
    assert time.monotonic() - t0 < 30
    assert pool.cancelled == before + 1 and _wait_gone(old, 10)
    assert pool.project(_blobs(60), make_params("umap", n_samples=60, n_neighbors=5)).coords.shape == (60, 2)


def test_errors_of_the_job_reach_the_caller_and_keep_the_worker(pool):
    same = np.ones((50, 4), np.float32)
    p = make_params("tsne", n_samples=len(same), n_components=3, perplexity=5)
    before, pids = pool.cancelled, pool.worker_pids()
    with pytest.raises(ParameterError, match="identical vectors"):
        pool.project(same, p)  # refused by the t-SNE fit, in the worker
    x = _blobs(50)
    assert pool.project(x, make_params("umap", n_samples=50, n_neighbors=5)).coords.shape == (50, 2)
    assert pool.cancelled == before and pool.worker_pids() == pids  # the same worker


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


def test_shutdown_kills_the_workers_and_a_running_job_and_refuses_new_jobs():
    pool = FitPool(workers=1, warm_replacements=False)
    x = _blobs(60)
    p = make_params("umap", n_samples=len(x), n_neighbors=5)
    pool.project(x, p)
    pids = pool.worker_pids()
    assert len(pids) == 1 and not _gone(pids[0])
    running, outcome = threading.Event(), []

    def fit() -> None:  # a long job, under way when the pool shuts down
        big = _blobs(3_000, d=10, seed=5)
        try:
            pool.project(big, make_params("tsne", n_samples=len(big)), progress=lambda f, m: running.set())
        except PoolClosedError as exc:
            outcome.append(exc)

    t = threading.Thread(target=fit, daemon=True)
    t.start()
    assert running.wait(120)
    pool.shutdown()
    t.join(15)
    assert not t.is_alive() and len(outcome) == 1  # its caller got PoolClosedError at once
    assert _wait_gone(pids, 10) and pool.worker_pids() == []
    with pytest.raises(PoolClosedError):
        pool.project(x, p)


_EXITING = """
import os, signal, sys, threading
import numpy as np
from viz_app.reduce import make_params
from viz_app.reduce.worker import FitPool, PoolClosedError

pool = FitPool(workers=1, warm_replacements=False)
x = np.random.default_rng(0).normal(size=(3000, 10)).astype(np.float32)
p = make_params("tsne", n_samples=len(x), random_state=0)
running = threading.Event()

def fit():  # like the server's warm-up thread: a daemon thread with a fit under way at exit
    try:
        pool.project(x, p, progress=lambda f, m: running.set())
    except PoolClosedError:
        pass

threading.Thread(target=fit, daemon=True).start()
assert running.wait(600)
print("worker", *pool.worker_pids(), flush=True)
if sys.argv[1] == "kill":
    os.kill(os.getpid(), signal.SIGKILL)
"""


@pytest.mark.parametrize("how", ["exit", "kill"])
def test_no_worker_outlives_its_process(how):
    """At a normal exit the workers are killed at once (loky alone would wait for the running
    fit), with no error printed; a killed parent's worker ends itself."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _EXITING, how], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("worker "), (line, proc.stderr.read() if proc.stderr else "")
    t0 = time.monotonic()
    pids = [int(pid) for pid in line.split()[1:]]
    _, err = proc.communicate(timeout=120)
    exited = time.monotonic() - t0
    assert len(pids) == 1 and _wait_gone(pids, 15), f"worker {pids} still running after its parent ended"
    if how == "exit":
        assert proc.returncode == 0 and exited < 30, (proc.returncode, exited, err)
        assert "Traceback" not in err and "cannot schedule" not in err, err
