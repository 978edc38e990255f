"""The Dask engine (``embedding-lens embed/map --engine dask``): the heavy steps on a
``dask.distributed`` cluster, a ``LocalCluster`` of worker processes by default or an existing
cluster's scheduler.

Same interface and results as :class:`viz_app.explore.engine.LocalEngine`: the very same
functions run on blocks of rows, one task per block, on the workers.

- **embed**: the texts are cut into partitions (at most ``partition_rows`` texts, at least four
  per worker); a task runs :func:`viz_app.embed.encoders.encode` on one partition. The
  sentence-transformers model is loaded once per worker process (``encode``'s process-level
  model cache, offline: ``HF_HUB_OFFLINE=1``) and reused by every later partition on that worker.
  Vectors equal the single-process ones within float32 rounding (batches are padded differently).
- **project** with ``fit_sample``: the reducer is fitted on the seeded sample
  (:func:`viz_app.reduce.budget.sample_fit_rows`) in one task; the fitted model is sent to every
  worker once (``Client.scatter(..., broadcast=True)``) and the other rows are placed with its
  ``transform``, one task per chunk of :func:`viz_app.reduce.project.transform_chunks` (the chunks
  the single-process path places, so the coordinates are the same: umap-learn's ``transform``
  depends on the batch it gets). Without ``fit_sample`` the whole fit is one task holding every
  point, so it is refused above :data:`FIT_ALL_MAX_POINTS` points (the message asks for
  ``--fit-sample``; never sampled silently); a UMAP map fitted on every row then lends its own kNN
  graph, as in the local engine.
- **knn**, exact, by blocks: the rows are cut into ``P`` blocks (at most ``partition_rows`` rows,
  at least four per worker), scattered over the workers (each block lives on one worker). Task
  ``(i, j)`` finds each row of block ``i``'s exact top ``k`` among the rows of block ``j``
  (:func:`viz_app.explore.neighbors.exact_block_knn`: the float32 selection and float64
  re-ranking of :func:`~viz_app.explore.neighbors.knn_indices`) and their distances
  (:func:`viz_app.explore.engine.pair_distances`); a tree of merge tasks (:data:`MERGE_FAN_IN`
  lists each) keeps the best ``k`` per row by (score descending, row ascending). ``P**2`` pair
  tasks, ``O(n**2 d)`` work in all, and the very graph and distances of the single-process exact
  search (ties included), at any size (the local engine switches to NN-descent above
  :data:`~viz_app.explore.graph.GRAPH_EXACT_MAX_POINTS` rows).

Memory per worker: an embedding task holds one partition's texts and vectors plus the model
(all-MiniLM-L6-v2: ~90 MB of weights); a transform task one chunk (at most
:data:`~viz_app.reduce.project.TRANSFORM_CHUNK_ROWS` rows) plus the fitted model (fitted on the
``fit_sample`` rows); the fit task the sample; a kNN pair task two blocks, a bounded score
matrix (2**24 float32 scores at a time) and ``block x k`` candidates; a merge task
``MERGE_FAN_IN`` candidate lists. None of these grows with the data set. Between tasks the
blocks of the kNN step are spread over the workers (``n x d / workers`` float32 each, which
Dask spills to disk above 60 % of ``memory_limit``). Workers of the ``LocalCluster`` run with
``memory_limit`` (Dask pauses a worker above 80 % and restarts it above 95 %; a step whose worker
died fails with a one-line error). Through this interface (:func:`viz_app.export.mapfile.build_map`)
the client (this process) holds the whole set and the results, as the local engine does: it
scatters the blocks and gathers the coordinates and the graph. ``embedding-lens map --engine
dask`` does not: :mod:`viz_app.export.dask_map` has the workers read the input by partitions and
write the map's part files themselves, with these same task functions.

dask and distributed are imported when a :class:`DaskEngine` is created, never by ``import
viz_app``. Workers of an existing cluster need this package installed (same version).
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.data.io import part_name
from viz_app.data.model import EmbeddingSet
from viz_app.embed.encoders import check_texts, encode
from viz_app.errors import MissingDependencyError, ParameterError, ResourceLimitError
from viz_app.explore.ann import check_metric
from viz_app.explore.engine import LocalEngine, pair_distances
from viz_app.explore.graph import graph_method
from viz_app.explore.neighbors import exact_block_knn
from viz_app.progress import Progress, heartbeat, null_progress, scaled
from viz_app.reduce import use_numba_disk_cache
from viz_app.reduce.budget import check_points, sample_fit_rows
from viz_app.reduce.project import Projection, project_with, transform, transform_chunks
from viz_app.reduce.registry import FitResult, ProjectionParams, get_reducer

__all__ = ["DEFAULT_MEMORY_LIMIT", "FIT_ALL_MAX_POINTS", "DaskEngine", "check_fit_all"]

#: Memory limit of each ``LocalCluster`` worker process (Dask's syntax).
DEFAULT_MEMORY_LIMIT = "4GiB"
#: Seconds to wait for a scheduler to answer, or for the local workers to start.
CONNECT_TIMEOUT_S = 20
#: Most worker processes of a ``LocalCluster``.
MAX_WORKERS = 64
#: Most points the Dask engine projects without ``fit_sample`` (that fit is one task holding
#: every point; above, :meth:`DaskEngine.project` asks for a fit sample instead).
FIT_ALL_MAX_POINTS = 50_000
#: Candidate lists merged by one task of the kNN step's merge tree.
MERGE_FAN_IN = 8

# ---- worker side: plain functions, sent to the workers by reference (this module) -------------


def _worker_setup() -> None:
    """Offline model loading and the numba disk cache, on the worker running a task."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    use_numba_disk_cache()


#: Imported on every worker before any task (:func:`_preload`).
PRELOAD = ("scipy.sparse", "sklearn.metrics", "sklearn.neighbors")


def _preload() -> int:
    """Import the libraries the tasks share, on the worker's main thread before any task runs.

    A task imports sentence-transformers or umap-learn (and through them scikit-learn) on the
    worker's task thread while the worker's main thread may be importing too (dask's lazy
    ``sizeof`` registrations, deserialising arguments): Python's import locks then raised
    ``_DeadlockError`` on ``sklearn.metrics._dist_metrics`` (seen once in the test suite).
    Importing the shared part first leaves nothing to race on."""
    import importlib

    _worker_setup()
    for name in PRELOAD:
        importlib.import_module(name)
    return len(PRELOAD)


def _embed_part(texts: list[str], model: str | None) -> NDArray[np.float32]:
    """One partition's vectors, ``(len(texts), dim) float32`` (the model loads once per worker)."""
    _worker_setup()
    return encode(texts, model=model)


def _embed_write_part(texts: list[str], columns: Any, model: str | None, path: str) -> tuple[int, int]:
    """Embed one partition and write it as a parquet part file: ``columns`` (a pyarrow Table, one
    row per text) plus a ``vector`` column (fixed-size lists of float32), zstd; returns the
    vectors' shape. The vectors stay on the worker."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _worker_setup()
    vectors = encode(texts, model=model)
    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    table = columns.append_column("vector", pa.FixedSizeListArray.from_arrays(flat, vectors.shape[1]))
    pq.write_table(table, path, compression="zstd")
    return int(vectors.shape[0]), int(vectors.shape[1])


def _fit_part(x: NDArray[np.float32], p: ProjectionParams) -> FitResult:
    """The reducer fitted on the sample ``x`` (coordinates, quality and the fitted model)."""
    _worker_setup()
    return get_reducer(p.reducer).fit(x, p, null_progress)


def _project_all(x: NDArray[np.float32], p: ProjectionParams, fingerprint: str) -> Projection:
    _worker_setup()
    return project_with(x, p, fingerprint=fingerprint)


def _transform_part(model: Any, p: ProjectionParams, x: NDArray[np.float32]) -> NDArray[np.float32]:
    _worker_setup()
    return transform(model, p, x)


def _knn_pair(
    xi: NDArray[np.float32], xj: NDArray[np.float32], start_j: int, same: bool, k: int, metric: str
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float32]]:
    """Candidates of row block ``i`` in row block ``j`` (rows ``start_j ..`` of the set): each row's
    exact top ``k`` in block ``j`` (itself excluded when ``same``), as global row numbers, their
    float64 scores (for the merge) and float32 distances, shapes ``(len(xi), <= k)``."""
    _worker_setup()
    kk = min(k, len(xj) - int(same))
    if kk < 1:
        return np.empty((len(xi), 0), np.int64), np.empty((len(xi), 0)), np.empty((len(xi), 0), np.float32)
    local, score = exact_block_knn(xj, xi, kk, metric, self_rows=np.arange(len(xi)) if same else None)
    return local.astype(np.int64) + start_j, score, pair_distances(xi, xj, local, metric)


def _knn_merge(
    k: int, *parts: tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float32]]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float32]]:
    """The best ``k`` of several candidate lists of the same rows, by (score descending, row
    ascending): the order of :func:`~viz_app.explore.neighbors.knn_indices`."""
    idx = np.concatenate([q[0] for q in parts], axis=1)
    score = np.concatenate([q[1] for q in parts], axis=1)
    dist = np.concatenate([q[2] for q in parts], axis=1)
    order = np.lexsort((idx, -score), axis=-1)[:, :k]
    return (
        np.take_along_axis(idx, order, 1),
        np.take_along_axis(score, order, 1),
        np.take_along_axis(dist, order, 1),
    )


# ---- client side -----------------------------------------------------------------------------


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


def check_fit_all(display: str, reducer: str, n: int) -> None:
    """Refuse a fit on all ``n`` points in one Dask task (one worker holds them all) above
    :data:`FIT_ALL_MAX_POINTS`, and anything the reducer cannot take
    (:func:`viz_app.reduce.budget.check_points`).

    Raises
    ------
    ParameterError
        Naming ``--fit-sample N``, the way past it (nothing is ever sampled silently)."""
    check_points(reducer, n)
    if n > FIT_ALL_MAX_POINTS:
        raise ParameterError(
            f"the Dask engine fits {display} on all {n:,} points in one task on one worker; above "
            f"{FIT_ALL_MAX_POINTS:,} points pass --fit-sample N (e.g. --fit-sample {FIT_ALL_MAX_POINTS}) to "
            "fit on a seeded sample and place the rest on the workers, or use --engine local"
        )


class DaskEngine:
    """Embedding, projection and the kNN graph on a Dask cluster (see the module docstring).

    Parameters
    ----------
    scheduler : str, optional
        Address of an existing cluster's scheduler (``tcp://host:8786``); default: start a
        ``LocalCluster`` of ``workers`` processes (no dashboard), closed by :meth:`close`.
    workers : int, default=2
        Worker processes of the ``LocalCluster``, 1..64, one thread each.
    partition_rows : int, default=20000
        Most rows per embedding partition and per kNN block, 100..1,000,000.
    memory_limit : str or int, default=DEFAULT_MEMORY_LIMIT
        Per ``LocalCluster`` worker (Dask's syntax: ``"4GiB"``, bytes).

    Raises
    ------
    ParameterError
        Bad ``workers``/``partition_rows``, or the scheduler cannot be reached (one line).
    MissingDependencyError
        dask.distributed is not installed.
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int = 2,
        partition_rows: int = 20_000,
        memory_limit: str | int = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= MAX_WORKERS:
            raise ParameterError(f"--workers must be in 1..{MAX_WORKERS}, got {workers!r}")
        if (
            isinstance(partition_rows, bool)
            or not isinstance(partition_rows, int)
            or not 100 <= partition_rows <= 10**6
        ):
            raise ParameterError(f"--partition-rows must be in 100..1000000, got {partition_rows!r}")
        try:
            import distributed
        except ImportError:  # pragma: no cover - pinned in requirements.txt
            raise MissingDependencyError(
                "--engine dask needs dask.distributed: pip install -r requirements.txt"
            ) from None
        _worker_setup()  # LocalCluster workers inherit this environment
        self.partition_rows = partition_rows
        self.scheduler = scheduler
        self._cluster: Any = None
        self._client: Any = None
        if scheduler:
            try:
                self._client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
            except (OSError, ValueError, TypeError) as exc:  # unreachable, timed out, bad address: one line
                raise ParameterError(
                    f"cannot connect to the Dask scheduler at {scheduler!r}: {_one_line(exc)}"
                ) from None
        else:
            self._start_local(distributed, workers, memory_limit)
        try:
            self._client.run(_preload)
        except (ImportError, OSError, RuntimeError, ValueError) as exc:  # e.g. viz_app missing on a worker
            self.close()
            raise ParameterError(f"the Dask workers could not import this package: {_one_line(exc)}") from None

    def _start_local(self, distributed: Any, workers: int, memory_limit: str | int) -> None:
        try:
            self._cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=memory_limit,
                dashboard_address=None,  # no dashboard; the scheduler's health routes on a free local port:
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                silence_logs=logging.ERROR,
            )
            self._client = distributed.Client(self._cluster, set_as_default=False)
            self._client.wait_for_workers(workers, timeout=CONNECT_TIMEOUT_S * 6)
        except (OSError, RuntimeError, ValueError) as exc:  # ports, process start-up, time-out
            self.close()
            raise ParameterError(
                f"could not start a local Dask cluster of {workers} workers: {_one_line(exc)}"
            ) from None

    # -- helpers --------------------------------------------------------------------------------

    @property
    def n_workers(self) -> int:
        """Workers the scheduler knows now."""
        return len(self._client.scheduler_info(n_workers=-1)["workers"])

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` (e.g. for ``client.run`` diagnostics)."""
        return self._client

    def _block_rows(self, n: int) -> int:
        """Rows per block: at most ``partition_rows``, small enough for 4 blocks per worker."""
        return max(1, min(self.partition_rows, math.ceil(n / (4 * max(1, self.n_workers)))))

    def _run(self, futures: list[Any], what: str, progress: Progress, on_done: Callable[[int], str]) -> list[Any]:
        """Results of ``futures`` in order, reporting each finished one; one-line errors."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker

        where = {f.key: i for i, f in enumerate(futures)}
        out: list[Any] = [None] * len(futures)
        done = 0
        try:
            for fut in as_completed(futures, loop=self._client.loop):
                out[where[fut.key]] = fut.result()
                done += 1
                progress(done / len(futures), on_done(done))
        except KilledWorker:
            raise ResourceLimitError(
                f"a Dask worker died while {what} (out of memory?); use a smaller --partition-rows or more "
                "memory per worker"
            ) from None
        except OSError as exc:  # the scheduler or a worker went away (CommClosedError is an OSError)
            raise ParameterError(f"the Dask cluster failed while {what}: {_one_line(exc)}") from None
        finally:
            for fut in futures:
                fut.release()
        return out

    def _one(self, fut: Any, what: str, progress: Progress, start: float, stop: float) -> Any:
        with heartbeat(progress, f"{what} (on a Dask worker)", start=start, stop=stop):
            return self._run([fut], what, null_progress, lambda d: "")[0]

    def merge_tree(self, level: list[Any], k: int) -> Any:
        """One future holding the best ``k`` candidates per row of the candidate-list futures
        ``level`` (each ``(idx int64, score float64, distance float32)`` of the same rows, shapes
        ``(rows, <= k)``), merged by a tree of :func:`_knn_merge` tasks of :data:`MERGE_FAN_IN`
        lists; the merges run first (higher priority), so candidates are dropped early."""
        depth = 0
        while len(level) > 1:
            depth += 1
            level = [
                self._client.submit(_knn_merge, k, *level[g : g + MERGE_FAN_IN], pure=False, priority=depth)
                for g in range(0, len(level), MERGE_FAN_IN)
            ]
        return level[0]

    def run(self, futures: list[Any], what: str, progress: Progress, on_done: Callable[[int], str]) -> list[Any]:
        """The results of ``futures`` in order (:meth:`_run`: progress, one-line errors)."""
        return self._run(futures, what, progress, on_done)

    # -- the engine interface -------------------------------------------------------------------

    def embed(
        self, texts: Sequence[str], *, model: str | None = None, progress: Progress | None = None
    ) -> NDArray[np.float32]:
        """Embed ``texts`` by partitions on the workers (module docstring).

        Returns
        -------
        ndarray of shape (len(texts), dim), dtype float32
            Unit rows, in input order.

        Raises
        ------
        ParameterError
            No texts, a non-string item (checked before anything is sent), or a cluster failure.
        ResourceLimitError
            A worker died (memory).
        """
        texts = check_texts(texts)
        report = progress or null_progress
        step = self._block_rows(len(texts))
        starts = list(range(0, len(texts), step))
        report(0.0, f"embedding {len(texts):,} texts in {len(starts)} partitions on {self.n_workers} Dask workers")
        futs = [self._client.submit(_embed_part, texts[a : a + step], model, pure=False) for a in starts]

        def note(done: int) -> str:
            return f"embedded {min(done * step, len(texts)):,} / {len(texts):,} texts ({done}/{len(starts)} partitions)"

        parts = self._run(futs, "embedding", report, note)
        return np.concatenate(parts).astype(np.float32, copy=False)

    def embed_to_parts(
        self,
        texts: Sequence[str],
        columns: Any,
        folder: str | os.PathLike[str],
        *,
        model: str | None = None,
        progress: Progress | None = None,
    ) -> tuple[int, int]:
        """Embed ``texts`` by partitions and let each worker write its partition as a part file
        ``folder/part-00000.parquet``, ... (the partitions of :meth:`embed`, in order): the rows of
        ``columns`` plus a ``vector`` column. The vectors never come back to this process, which
        holds only the texts and ``columns``.

        Parameters
        ----------
        texts : sequence of str, length n
        columns : pyarrow.Table
            n rows (e.g. ``id``, ``label``, metadata), written beside the vectors.
        folder : path
            An existing, empty folder the workers can write to (this machine for a
            ``LocalCluster``; shared storage for a remote cluster), e.g. from
            :func:`viz_app.export.mapfile.part_folder`.

        Returns
        -------
        (int, int)
            Rows written and the vectors' dimension.

        Raises
        ------
        ParameterError
            No texts, a non-string item, ``columns`` of another length, or a cluster failure.
        ResourceLimitError
            A worker died (memory).
        """
        texts = check_texts(texts)
        if columns.num_rows != len(texts):
            raise ParameterError(f"{columns.num_rows:,} rows of columns for {len(texts):,} texts")
        report = progress or null_progress
        step = self._block_rows(len(texts))
        starts = list(range(0, len(texts), step))
        report(0.0, f"embedding {len(texts):,} texts in {len(starts)} partitions on {self.n_workers} Dask workers")
        futs = [
            self._client.submit(
                _embed_write_part,
                texts[a : a + step],
                columns.take(np.arange(a, min(a + step, len(texts)))),  # a compact copy (a slice pickles it all)
                model,
                str(Path(folder) / part_name(j)),
                pure=False,
            )
            for j, a in enumerate(starts)
        ]

        def note(done: int) -> str:
            return f"embedded and wrote {done}/{len(starts)} partitions"

        shapes = self._run(futs, "embedding", report, note)
        return sum(r for r, _ in shapes), shapes[0][1]

    def project(
        self,
        x: NDArray[np.float32],
        params: ProjectionParams,
        *,
        fingerprint: str = "",
        progress: Progress | None = None,
    ) -> Projection:
        """:func:`viz_app.reduce.project.project_with` on the workers: with ``params.fit_sample``,
        one fit task on the seeded sample and one ``transform`` task per chunk; else one task.

        Raises
        ------
        PointBudgetError, ParameterError
            As :func:`~viz_app.reduce.project.project_with`; ParameterError also without
            ``fit_sample`` above :data:`FIT_ALL_MAX_POINTS` points (checked before anything is sent).
        """
        report = progress or null_progress
        x = np.ascontiguousarray(x, dtype=np.float32)
        n = len(x)
        spec = get_reducer(params.reducer)
        if params.fit_sample is None or params.fit_sample >= n:
            check_fit_all(spec.display, params.reducer, n)
            data = self._client.scatter(x)
            fut = self._client.submit(_project_all, data, params, fingerprint, pure=False)
            return self._one(fut, f"{spec.display} on {n:,} points", report, 0.0, 1.0)
        t0 = time.perf_counter()
        rows = sample_fit_rows(n, params.fit_sample, params.random_state)
        check_points(params.reducer, len(rows))
        sample = self._client.scatter(x[rows])
        fut = self._client.submit(_fit_part, sample, params, pure=False)
        fit: FitResult = self._one(fut, f"fitting {spec.display} on {len(rows):,} sampled points", report, 0.0, 0.6)
        rest = np.setdiff1d(np.arange(n), rows)
        chunks = transform_chunks(rest)
        report(0.6, f"sending the fitted model to {self.n_workers} workers")
        model = self._client.scatter(fit.model, broadcast=True, hash=False)
        futs = [
            self._client.submit(_transform_part, model, params, self._client.scatter(x[c]), pure=False) for c in chunks
        ]

        def note(done: int) -> str:
            return f"placed {sum(len(c) for c in chunks[:done]):,} / {len(rest):,} points with transform"

        placed = self._run(futs, "placing points with transform", scaled(report, 0.6, 1.0), note)
        model.release()
        coords = np.empty((n, params.n_components), np.float32)
        coords[rows] = fit.coords
        for c, xy in zip(chunks, placed):
            coords[c] = xy
        quality = {**fit.quality, "fit_sample": len(rows), "placed_by_transform": len(rest)}
        report(1.0, "done")
        return Projection(coords, params, fingerprint, quality, time.perf_counter() - t0, model=fit.model)

    def knn(
        self,
        es: EmbeddingSet,
        *,
        k: int,
        metric: str,
        projection: Projection | None = None,
        random_state: int = 0,
        progress: Progress | None = None,
    ) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
        """The kNN graph by blocks of rows (module docstring) and the distances along it.

        Returns
        -------
        (ndarray of shape (n, k), dtype int32; ndarray of shape (n, k), dtype float32)
            Row ``i`` lists ``i``'s nearest other rows, nearest first, and their distances
            (:func:`viz_app.explore.engine.distances`).

        Raises
        ------
        ParameterError
            ``k`` out of range or an unknown metric.
        """
        n = es.n_samples
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n - 1:
            raise ParameterError(f"k={k!r} not in 1..{n - 1}")
        check_metric(metric)  # before anything is sent
        if graph_method(es, int(k), metric=metric, projection=projection) == "umap":
            # the UMAP map's own graph (fitted on every row, in this process): nothing to search
            return LocalEngine().knn(es, k=int(k), metric=metric, projection=projection, random_state=random_state)
        step = self._block_rows(n)
        starts = list(range(0, n, step))
        x = np.ascontiguousarray(es.vectors, dtype=np.float32)
        blocks = self._client.scatter([x[a : a + step] for a in starts], hash=False)  # spread over the workers
        report = progress or null_progress
        report(0.0, f"kNN graph: {len(starts)} x {len(starts)} blocks of {step:,} rows on {self.n_workers} workers")
        merged = []
        for i, xi in enumerate(blocks):  # row block i: its candidates in every block j, merged by a tree
            level = [
                self._client.submit(_knn_pair, xi, xj, starts[j], i == j, int(k), metric, pure=False)
                for j, xj in enumerate(blocks)
            ]
            merged.append(self.merge_tree(level, int(k)))
        del level, xi
        blocks.clear()  # the scheduler drops each block once no task needs it

        def note(done: int) -> str:
            return f"kNN graph: {min(done * step, n):,} / {n:,} rows"

        found = self._run(merged, "building the kNN graph", report, note)
        idx = np.concatenate([f[0] for f in found]).astype(np.int32)
        return idx, np.concatenate([f[2] for f in found]).astype(np.float32, copy=False)

    def close(self) -> None:
        """Disconnect; stop the ``LocalCluster`` (its worker processes) if this engine started one."""
        client, cluster = self._client, self._cluster
        self._client = self._cluster = None
        for thing in (client, cluster):
            if thing is not None:
                try:
                    thing.close()
                except (OSError, RuntimeError, ValueError) as exc:  # closing must not hide the real error
                    logging.getLogger(__name__).warning("closing %s: %s", type(thing).__name__, exc)

    def __enter__(self) -> DaskEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
