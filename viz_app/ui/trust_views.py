"""How faithful the map is, on every map: the trust caption, computed in the background.

The figures (:func:`viz_app.map.trust.trust`: trustworthiness, continuity, neighbourhood
preserved@10) are computed in a server-wide background thread, one job per map content (the
set's fingerprint, the projection's parameters, a hash of its coordinates and where its kNN graph
comes from), so a map is drawn at once and every session showing the same map shares one
computation. While it runs, a small fragment polls the job every second and shows its progress;
when it finishes, the page reruns once to show the caption (and offers "neighbourhood preserved"
as a colour).
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from cachetools import LRUCache

from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore.trust import DEFAULT_K, TrustReport
from viz_app.map.encode import MAX_KNN_POINTS
from viz_app.map.sweep import SweepResult, run_sweep, sweep_grid, sweep_table, thumbnail
from viz_app.map.trust import focus_layers, graph_source, inspect_focus, trust
from viz_app.map.view import Arrow, Highlight
from viz_app.reduce import Projection, ProjectionParams
from viz_app.ui import cache, viewstate

log = logging.getLogger(__name__)

#: The colour-by option that paints each point by its neighbourhood preservation@10.
PRESERVED = "neighbourhood preserved"
HELP = (
    "How much of the original space this map keeps, from the same kNN graph the neighbour list uses "
    "(cosine). **Neighbourhood preserved@10**: the share of each point's 10 true neighbours that are "
    "also among its 10 nearest on the map (a random map scores the chance level). **Trustworthiness**: "
    "are the points drawn near really similar? **Continuity**: are the similar points drawn near? "
    "Both rank-based, 1 = perfect, about 0.5 = random (Venna & Kaski 2006)."
)


class LRUStore:
    """A small thread-safe LRU map of jobs (cachetools' ``LRUCache`` under a lock)."""

    def __init__(self, max_entries: int) -> None:
        self._data: LRUCache = LRUCache(maxsize=max_entries)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._data.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._data[key] = value


#: A trust job nobody has asked about for this long (the page was left or its settings changed)
#: stops at its next progress report, so abandoned maps do not queue up on a busy server.
ABANDON_S = 20.0


class _Abandoned(Exception):
    """Raised inside a job's computation when nobody waits for it any more."""


class Job:
    """One background computation with its progress, result or error message.

    ``abandon_after`` (seconds, or None): the job stops (``abandoned``) when :meth:`touch` was not
    called for that long; a later request starts it again.
    """

    def __init__(
        self, compute: Callable[[Callable[[float, str], None]], Any], abandon_after: float | None = None
    ) -> None:
        self.compute = compute
        self.abandon_after = abandon_after
        self.fraction, self.message = 0.0, "queued"
        self.result: Any = None
        self.error: str | None = None
        self.abandoned = False
        self.done = threading.Event()
        self.seen = time.monotonic()

    def touch(self) -> None:
        """Someone still waits for this job."""
        self.seen = time.monotonic()

    def _stale(self) -> bool:
        return self.abandon_after is not None and time.monotonic() - self.seen > self.abandon_after

    def report(self, fraction: float, message: str, /) -> None:
        if self._stale():
            raise _Abandoned
        self.fraction, self.message = min(max(float(fraction), 0.0), 1.0), message

    def run(self) -> None:
        try:
            if self._stale():
                raise _Abandoned
            self.result = self.compute(self.report)
        except _Abandoned:
            self.abandoned = True
        except VizAppError as exc:
            self.error = str(exc)
        except Exception as exc:  # a bug must not kill the worker thread; the page says so
            log.exception("background job failed")
            self.error = f"failed ({type(exc).__name__})"
        finally:
            self.done.set()


@st.cache_resource
def _jobs() -> LRUStore:
    """Trust reports by map content, at most 32 (finished or running)."""
    return LRUStore(32)


def _lower_priority() -> None:
    """Run this worker thread at a lower scheduling priority (Linux: per thread), so the metrics
    never slow down a page or a projection someone is waiting for."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 2)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


@st.cache_resource
def _executor() -> ThreadPoolExecutor:
    """One worker: the metrics of one map at a time (the machine's cores serve the sessions)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="trust", initializer=_lower_priority)


def map_content_key(es: EmbeddingSet, proj: Projection) -> Hashable:
    """What defines a map's trust figures: set, parameters, coordinates and graph source."""
    coords = hashlib.sha256(np.ascontiguousarray(proj.coords).tobytes()).hexdigest()
    return (es.fingerprint, proj.params, coords, graph_source(es, proj))


def submit(
    store: LRUStore,
    key: Hashable,
    compute: Callable[[Callable[[float, str], None]], Any],
    executor: ThreadPoolExecutor | None = None,
    abandon_after: float | None = None,
) -> Job:
    """The job under ``key`` in ``store``, started on ``executor`` (default: the trust worker)
    if it is new or was abandoned; marks it as still wanted."""
    job = store.get(key)
    if job is None or job.abandoned:
        pool = executor or _executor()
        with _lock:
            job = store.get(key)
            if job is None or job.abandoned:
                job = Job(compute, abandon_after)
                store.put(key, job)
                pool.submit(job.run)
    job.touch()
    return job


_lock = threading.Lock()


def trust_job(es: EmbeddingSet, proj: Projection, k: int = DEFAULT_K) -> Job | None:
    """The (possibly running) trust job of this map; None when the map is too large for it."""
    if es.n_samples > MAX_KNN_POINTS or es.n_samples < 2 * k + 1:
        return None
    return submit(
        _jobs(), (map_content_key(es, proj), k), lambda report: trust(es, proj, k=k, progress=report), None, ABANDON_S
    )


def finished_report(es: EmbeddingSet, proj: Projection) -> TrustReport | None:
    """The map's trust report if it is ready (never waits)."""
    job = trust_job(es, proj)
    return job.result if job is not None and job.done.is_set() else None


def trust_caption(es: EmbeddingSet, proj: Projection) -> TrustReport | None:
    """The map's trust caption: the figures when ready, else a progress line that polls.

    Returns the report when it is ready (for the colour option), else None.
    """
    job = trust_job(es, proj)
    if job is None:
        st.caption(
            f"Trust figures are computed for maps of {2 * DEFAULT_K + 1} to {MAX_KNN_POINTS:,} points; "
            f"this one has {es.n_samples:,}."
        )
        return None
    if job.done.is_set():
        _show(job)
        return job.result
    _waiting(job)
    return None


def color_options(es: EmbeddingSet) -> list[str]:
    """The colour-by options this module adds: "neighbourhood preserved" when the set's maps get
    trust figures."""
    return [PRESERVED] if 2 * DEFAULT_K + 1 <= es.n_samples <= MAX_KNN_POINTS else []


def preserved_colors(es: EmbeddingSet, proj: Projection) -> pd.Series | None:
    """Each point's neighbourhood preservation@10 (0.0 .. 1.0), a continuous colour with a colour
    bar (low: the point's surroundings on the map are not its real neighbours); None (and a
    caption) while the figures are still being computed."""
    report = finished_report(es, proj)
    if report is None:
        st.caption("The map is coloured by neighbourhood preserved as soon as the figures are ready.")
        return None
    return report.per_point["preservation"].rename(PRESERVED)


def _show(job: Job) -> None:
    if job.error is not None:
        st.caption(f"Trust figures could not be computed: {job.error}")
        return
    r: TrustReport = job.result
    st.caption(f"{r.caption()} · from the {r.graph}", help=HELP)


@st.fragment(run_every=1.0)
def _waiting(job: Job) -> None:
    job.touch()
    if job.done.is_set():
        st.rerun()  # the whole page: the caption and the colour option appear together
    st.caption(f"Measuring how faithful this map is (in the background): {job.message}, {job.fraction:.0%}")


@st.cache_resource
def _sweeps() -> LRUStore:
    """Parameter sweeps by data and grid, at most 4 (finished or running)."""
    return LRUStore(4)


@st.cache_resource
def _sweep_executor() -> ThreadPoolExecutor:
    """One worker for sweeps (long: a dozen projections), apart from the trust captions."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sweep", initializer=_lower_priority)


def _sweep_key(es: EmbeddingSet, grid: Sequence[ProjectionParams]) -> Hashable:
    return ("sweep", es.fingerprint, tuple(grid))


def sweep_panel(es: EmbeddingSet, params: ProjectionParams) -> None:
    """Small multiples of the current data through every reducer and a grid of settings, each
    with its scores; "Show this map" makes one the map; a table compares them.

    Runs in the background (low priority, one sweep at a time) once asked; the maps go to the
    app's projection cache (memory and disk), so the one picked opens at once.
    """
    grid, skipped = sweep_grid(es, params)
    with st.expander(f"Parameter sweep: which reducer and settings keep the neighbourhoods? ({len(grid)} maps)"):
        st.caption(
            f"{', '.join(_grid_text(grid))}; {params.n_components}D, seed {params.random_state}"
            f"{', ' + params.metric if any(p.spec.uses_metric for p in grid) else ''}. Each thumbnail is coloured "
            "by neighbourhood preserved@10 (viridis: dark = its neighbours on the map are not its real ones)."
        )
        for why in skipped[:6]:
            st.caption(f"Left out: {why}")
        if not grid:
            return
        key = _sweep_key(es, grid)
        job = _sweeps().get(key)
        if job is None:
            if st.button(f"Run the sweep ({len(grid)} projections, in the background)", key="sweep_run"):
                store, disk = cache.projections(), cache.disk_cache()

                def compute(report: Callable[[float, str], None]) -> list[SweepResult]:
                    return run_sweep(
                        es, grid, project=lambda e, p, r: cache._projection_in(store, disk, e, p, r), progress=report
                    )

                submit(_sweeps(), key, compute, _sweep_executor())
                st.rerun()
            return
        if not job.done.is_set():
            _sweep_waiting(job)
            return
        if job.error is not None:
            st.caption(f"The sweep failed: {job.error}")
            return
        _sweep_results(job.result, params)


def _grid_text(grid: Sequence[ProjectionParams]) -> list[str]:
    out = []
    for name in dict.fromkeys(p.reducer for p in grid):
        ps = [p for p in grid if p.reducer == name]
        values = {n: sorted({v for p in ps for m, v in p.options if m == n}) for n, _ in ps[0].options}
        text = " × ".join(f"{n} {', '.join(f'{v:g}' for v in vs)}" for n, vs in values.items())
        out.append(f"{ps[0].spec.display}" + (f" ({text})" if text else ""))
    return out


@st.fragment(run_every=1.0)
def _sweep_waiting(job: Job) -> None:
    if job.done.is_set():
        st.rerun()
    st.progress(job.fraction, text=f"Sweep: {job.message}")


def _sweep_results(results: Sequence[SweepResult], current: ProjectionParams) -> None:
    per_row = 4
    for start in range(0, len(results), per_row):
        cols = st.columns(per_row)
        for col, (i, r) in zip(cols, enumerate(results[start : start + per_row], start), strict=False):
            with col:
                img = thumbnail(r.coords, r.report.per_point["preservation"].to_numpy(), size=200)
                same = r.params == current
                st.image(img, width="stretch")
                st.caption(
                    f"**{r.params.spec.display}** {', '.join(f'{n}={v:g}' for n, v in r.params.options)}"
                    f"{' (this map)' if same else ''}  \nT {r.report.trustworthiness:.3f} · "
                    f"C {r.report.continuity:.3f} · P@10 {r.report.preservation:.1%}"
                )
                if not same and st.button("Show this map", key=f"sweep_pick_{i}"):
                    viewstate._apply_params(r.params, None)
                    st.rerun()
    table = sweep_table(results)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "trustworthiness": st.column_config.NumberColumn(format="%.3f"),
            "continuity": st.column_config.NumberColumn(format="%.3f"),
            "preservation": st.column_config.NumberColumn("preservation@10", format="%.3f"),
            "chance": st.column_config.NumberColumn(format="%.4f"),
            "fit_s": st.column_config.NumberColumn("fit (s)", format="%.1f"),
        },
    )


def inspector(es: EmbeddingSet, proj: Projection, focus: int | None) -> tuple[list[Arrow], list[Highlight]]:
    """The focus inspector: for the focused point, its missing neighbours (true neighbours the map
    puts far away: red, with lines to where they landed) and false neighbours (drawn near, not true
    neighbours: cyan rings), with both counts in a caption. Returns the map overlays."""
    if focus is None or not color_options(es):
        return [], []
    try:
        f = inspect_focus(es, proj, int(focus), k=DEFAULT_K)
    except VizAppError as exc:
        st.caption(f"Focus inspector: {exc}")
        return [], []
    st.caption(
        f"**Map vs. reality** for this point: {len(f.kept)} of its {f.k} true neighbours are among its {f.k} nearest "
        f"on the map; **{len(f.missing)} missing** (red, lines to where the map put them) and "
        f"**{len(f.false)} false** neighbours (cyan rings: drawn near, not among its {f.k} most similar).",
        help="True neighbours: the 10 most similar items by cosine in the original space (the map's kNN graph). "
        "Map neighbours: the 10 nearest points on the map.",
    )
    return focus_layers(proj.coords, f)
