"""A parameter sweep: the same data through several reducers and settings, each map with its scores.

:func:`sweep_grid` lists the maps (from the reducer registry: UMAP ``n_neighbors`` x
``min_dist``, t-SNE ``perplexity``, PCA, each with the current map's dimensions, seed and
metric; values the data does not allow, or reducers over their point budget, are left out and
named); :func:`run_sweep` projects each (through a caller-given ``project`` function, so the app
can use its caches) and measures it with :func:`viz_app.map.trust.trust`;
:func:`sweep_table` compares the scores; :func:`thumbnail` draws a small image of a map coloured
by each point's neighbourhood preservation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError, VizAppError
from viz_app.explore.trust import TrustReport
from viz_app.map.colors import _viridis
from viz_app.map.trust import trust
from viz_app.progress import Progress, null_progress, scaled
from viz_app.reduce import Projection, ProjectionParams, check_points, get_reducer, make_params, reducer_names
from viz_app.reduce.project import project_with

__all__ = ["SWEEP_VALUES", "SweepResult", "run_sweep", "sweep_grid", "sweep_table", "thumbnail"]

#: The values swept per reducer parameter; reducers and parameters not named keep their defaults.
SWEEP_VALUES: Mapping[str, Mapping[str, Sequence[float]]] = {
    "umap": {"n_neighbors": (5, 15, 50), "min_dist": (0.0, 0.1, 0.5)},
    "tsne": {"perplexity": (10.0, 30.0, 50.0)},
}
_ORDER = ("pca", "tsne", "umap")


@dataclass(frozen=True, eq=False)
class SweepResult:
    """One map of a sweep: its parameters, coordinates and trust report.

    Attributes
    ----------
    params : ProjectionParams
    coords : ndarray of shape (n, 2|3), float32
    report : TrustReport
    fit_s : float
        The projection's fit time, seconds (0 when it came from a cache).
    """

    params: ProjectionParams
    coords: NDArray[np.float32]
    report: TrustReport
    fit_s: float


def sweep_grid(es: EmbeddingSet, base: ProjectionParams) -> tuple[list[ProjectionParams], list[str]]:
    """The maps of a sweep for ``es``, and why any were left out.

    Every registered reducer, PCA first, then t-SNE, UMAP (then any other); for each, the
    product of its :data:`SWEEP_VALUES` (UMAP 3 x 3, t-SNE 3), with ``base``'s dimensions, seed
    and metric. A combination :func:`~viz_app.reduce.make_params` refuses for this many points,
    or a reducer over its point budget, is left out with a one-line reason.

    Returns
    -------
    grid : list of ProjectionParams
    skipped : list of str
    """
    names = sorted(reducer_names(), key=lambda r: (_ORDER.index(r) if r in _ORDER else len(_ORDER), r))
    grid: list[ProjectionParams] = []
    skipped: list[str] = []
    for name in names:
        spec = get_reducer(name)
        try:
            check_points(name, es.n_samples)
        except VizAppError as exc:
            skipped.append(f"{spec.display}: {exc}")
            continue
        values = SWEEP_VALUES.get(name, {})
        combos: list[dict[str, Any]] = [{}]
        for pname, vals in values.items():
            combos = [{**c, pname: spec.param(pname).kind(v)} for c in combos for v in vals]
        for combo in combos:
            try:
                grid.append(
                    make_params(
                        name,
                        n_samples=es.n_samples,
                        n_components=base.n_components,
                        random_state=base.random_state,
                        metric=base.metric,
                        **combo,
                    )
                )
            except ParameterError as exc:
                skipped.append(f"{spec.display} {combo}: {exc}")
    return grid, skipped


def run_sweep(
    es: EmbeddingSet,
    grid: Sequence[ProjectionParams],
    *,
    k: int = 10,
    project: Callable[[EmbeddingSet, ProjectionParams, Progress], Projection] | None = None,
    progress: Progress | None = None,
) -> list[SweepResult]:
    """Project ``es`` with every parameter set of ``grid`` and measure each map.

    Parameters
    ----------
    es : EmbeddingSet
    grid : sequence of ProjectionParams
        E.g. from :func:`sweep_grid`; each seeded, so the sweep is reproducible.
    k : int, default=10
        Neighbourhood size of the scores.
    project : callable (es, params, progress) -> Projection, optional
        How to get a map; default :func:`viz_app.reduce.project.project_with` (the app passes
        its cached one, so a map already computed is reused and a swept map is ready to show).
    progress : Progress, optional
        Reports "map i / m: <parameters>: <the reducer's own message>".

    Returns
    -------
    list of SweepResult, in ``grid`` order

    Raises
    ------
    ParameterError, PointBudgetError
        From the reducers (use :func:`sweep_grid` to avoid them).
    """
    report = progress or null_progress
    run = project or (lambda e, p, r: project_with(e.vectors, p, fingerprint=e.fingerprint, progress=r))
    out = []
    m = len(grid)
    for i, p in enumerate(grid):
        step = scaled(report, i / m, (i + 1) / m, f"map {i + 1} / {m}: {p.describe()}: ")
        t0 = time.perf_counter()
        proj = run(es, p, scaled(step, 0.0, 0.85))
        fit_s = proj.elapsed_s if time.perf_counter() - t0 >= 0.5 * proj.elapsed_s else 0.0
        r = trust(es, proj, k=k, progress=scaled(step, 0.85, 1.0, "scores: "))
        out.append(SweepResult(p, proj.coords, r, fit_s))
    report(1.0, "done")
    return out


def sweep_table(results: Sequence[SweepResult]) -> pd.DataFrame:
    """One row per map: ``reducer``, ``parameters``, ``trustworthiness``, ``continuity``,
    ``preservation`` (mean preservation@k), ``chance``, ``fit_s``; best preservation first."""
    rows = [
        {
            "reducer": r.params.spec.display,
            "parameters": ", ".join(f"{n}={v:g}" for n, v in r.params.options) or "—",
            "trustworthiness": r.report.trustworthiness,
            "continuity": r.report.continuity,
            "preservation": r.report.preservation,
            "chance": r.report.chance,
            "fit_s": r.fit_s,
        }
        for r in results
    ]
    cols = ["reducer", "parameters", "trustworthiness", "continuity", "preservation", "chance", "fit_s"]
    return pd.DataFrame(rows, columns=cols).sort_values("preservation", ascending=False, kind="stable")


def thumbnail(coords: NDArray[np.floating], values: NDArray[np.floating], *, size: int = 160) -> NDArray[np.uint8]:
    """A small picture of a map: each point one pixel coloured by ``values`` (viridis over [0, 1]).

    The first two coordinates (a 3-D map is seen from above), scaled to fit with a margin;
    points with the lowest values are drawn last (on top), so the map's weak spots show.

    Parameters
    ----------
    coords : ndarray of shape (n, 2|3)
    values : ndarray of shape (n,), in [0, 1] (NaN: grey)
    size : int, default=160
        Width and height in pixels, 16..1024.

    Returns
    -------
    ndarray of shape (size, size, 3), dtype uint8
        White background.

    Raises
    ------
    ParameterError
        Shapes that disagree, or ``size`` out of range.
    """
    c = np.asarray(coords, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] < 2 or len(v) != len(c):
        raise ParameterError(f"coordinates {c.shape} and values {v.shape} do not match")
    if not 16 <= size <= 1024:
        raise ParameterError(f"size must be in 16..1024, got {size}")
    img = np.full((size, size, 3), 255, dtype=np.uint8)
    if len(c) == 0:
        return img
    xy = c[:, :2]
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = float((hi - lo).max()) or 1.0
    margin = 4
    px = ((xy - (lo + hi) / 2) / span * (size - 2 * margin) + size / 2).round().astype(int)
    px = np.clip(px, 0, size - 1)
    colours = _viridis(np.clip(np.nan_to_num(v, nan=0.0), 0, 1))
    colours[np.isnan(v)] = 170
    order = np.argsort(-np.nan_to_num(v, nan=1.0), kind="stable")  # lowest last: on top
    img[size - 1 - px[order, 1], px[order, 0]] = colours[order]
    return img
