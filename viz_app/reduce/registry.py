"""The reducer registry: everything the app knows about a reducer, in one spec per reducer.

A :class:`ReducerSpec` holds a reducer's name and display name, the library and paper behind
it, its parameters (:class:`Param`: type, default, bounds, the bound that depends on the number
of points, UI label and help), whether it uses the original-space metric, its point budget, its
``fit`` and ``transform``, and its progress stages. Validation (:func:`make_params`), captions
(:meth:`ProjectionParams.describe`), budgets (:mod:`viz_app.reduce.budget`), the sidebar
controls, the URL and the settings file all read it; adding a reducer means writing one module
that calls :func:`register` (see ``viz_app/reduce/pca.py`` for the smallest example) and
importing it in ``viz_app/reduce/__init__.py``.

The core never changes a parameter silently: a value of the wrong type (``n_neighbors=15.7``)
or out of bounds raises :class:`~viz_app.errors.ParameterError`; the UI bounds its widgets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.progress import Progress

__all__ = [
    "MAX_SEED",
    "METRICS",
    "FitResult",
    "Metric",
    "Param",
    "ProjectionParams",
    "ReducerName",
    "ReducerSpec",
    "get_reducer",
    "make_params",
    "reducer_names",
    "register",
]

#: Original-space metrics a reducer may use (also the neighbour lists' first two).
METRICS: tuple[str, ...] = ("cosine", "euclidean")
Metric = Literal["cosine", "euclidean"]
#: The built-in reducers' names (the registry may hold more).
ReducerName = Literal["pca", "tsne", "umap"]
#: Largest seed: numpy's legacy ``RandomState`` (used by scikit-learn and umap-learn) takes
#: seeds in [0, 2**32 - 1].
MAX_SEED = 2**32 - 1

ParamValue = int | float


@dataclass(frozen=True)
class Param:
    """One parameter of a reducer.

    Attributes
    ----------
    name : str
        The library's spelling (``"n_neighbors"``).
    kind : {int, float}
        ``int`` parameters refuse fractional values (15.7 is an error, never 15).
    default, low, high : int or float
        Default and inclusive bounds.
    step : int or float
        The UI slider's step.
    label, help : str
        UI label and one-sentence help in the field's terms.
    upper_for_n : callable (n_points) -> int or float, optional
        The largest value ``n_points`` points allow (UMAP: ``n_neighbors < n``), for the UI.
    """

    name: str
    kind: type
    default: ParamValue
    low: ParamValue
    high: ParamValue
    step: ParamValue
    label: str
    help: str
    upper_for_n: Callable[[int], ParamValue] | None = None

    def check(self, value: Any) -> ParamValue:
        """``value`` as this parameter's type, or :class:`ParameterError` naming the problem."""
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ParameterError(f"{self.name} must be a number, got {value!r}")
        if not math.isfinite(float(value)):
            raise ParameterError(f"{self.name} must be finite, got {value!r}")
        if self.kind is int:
            if float(value) != int(value):
                raise ParameterError(f"{self.name} must be a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if not self.low <= value <= self.high:
            raise ParameterError(f"{self.name} must be in [{self.low:g}, {self.high:g}], got {value!r}")
        return value

    def upper(self, n_points: int | None) -> ParamValue:
        """The largest value allowed for ``n_points`` points (``high`` when unknown)."""
        if n_points is None or self.upper_for_n is None:
            return self.high
        return min(self.high, self.kind(self.upper_for_n(int(n_points))))


@dataclass(frozen=True)
class FitResult:
    """What a reducer's ``fit`` returns.

    Attributes
    ----------
    coords : ndarray of shape (n_samples, n_components), dtype float32
    quality : dict of str to float
        The reducer's own figures (e.g. ``explained_variance_ratio``, ``kl_divergence``).
    model : object
        The fitted reducer, for ``transform``.
    """

    coords: NDArray[np.float32]
    quality: dict[str, float]
    model: Any


@dataclass(frozen=True)
class ReducerSpec:
    """Everything about one reducer; see the module docstring.

    Attributes
    ----------
    name : str
        Registry key, lower case (``"umap"``).
    display : str
        Name shown to users (``"UMAP"``).
    library, reference : str
        The library that does the work and the method's paper.
    summary : str
        One sentence for the reducer picker's help.
    params : tuple of Param
        In display order.
    uses_metric : bool
        Whether the original-space metric (:data:`METRICS`) matters.
    max_points : int
        Default point budget; ``EMBEDDING_LENS_MAX_POINTS_<NAME>`` overrides it.
    check_n_samples : callable (n, values) -> None
        Raises :class:`ParameterError` when ``n`` points are too few for these values.
    fit : callable (vectors, params, progress) -> FitResult
    transform : callable (model, params, vectors) -> ndarray (m, n_components) float32
        Places new vectors on a fitted map (out-of-sample).
    transform_is_exact : bool
        True when ``transform`` of a training vector gives its own map position (PCA).
    stages : tuple of str
        The progress stages ``fit`` reports, in order.
    quality_text : callable (quality) -> str or None
        Caption text for the reducer's own quality figure.
    revision : int
        Raised when the same parameters start giving other coordinates (a changed algorithm
        step); part of the on-disk projection cache key, so older maps are computed again.
    """

    name: str
    display: str
    library: str
    reference: str
    summary: str
    params: tuple[Param, ...]
    uses_metric: bool
    max_points: int
    check_n_samples: Callable[[int, Mapping[str, ParamValue]], None]
    fit: Callable[[NDArray[np.float32], ProjectionParams, Progress], FitResult]
    transform: Callable[[Any, ProjectionParams, NDArray[np.float32]], NDArray[np.float32]]
    transform_is_exact: bool
    stages: tuple[str, ...]
    quality_text: Callable[[Mapping[str, float]], str | None] = field(default=lambda q: None)
    revision: int = 0

    @property
    def budget_env(self) -> str:
        """The environment variable overriding :attr:`max_points`."""
        return f"EMBEDDING_LENS_MAX_POINTS_{self.name.upper()}"

    def param(self, name: str) -> Param:
        """The parameter called ``name``; :class:`ParameterError` if it does not apply."""
        for p in self.params:
            if p.name == name:
                return p
        raise ParameterError(f"{name} does not apply to reducer {self.name!r}")


_REGISTRY: dict[str, ReducerSpec] = {}


def register(spec: ReducerSpec) -> ReducerSpec:
    """Add ``spec`` to the registry (a second registration of a name replaces the first)."""
    if not spec.name.isidentifier() or spec.name != spec.name.lower():
        raise ParameterError(f"reducer names are lower-case identifiers, got {spec.name!r}")
    _REGISTRY[spec.name] = spec
    return spec


def reducer_names() -> tuple[str, ...]:
    """Names of the registered reducers, in registration order."""
    return tuple(_REGISTRY)


def get_reducer(name: str) -> ReducerSpec:
    """The spec of reducer ``name``.

    Raises
    ------
    ParameterError
        No reducer of that name is registered.
    """
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ParameterError(f"unknown reducer {name!r}; use one of {reducer_names()}") from None


@dataclass(frozen=True)
class ProjectionParams:
    """Validated settings of one projection (hashable; keys the projection caches).

    Build it with :func:`make_params`. The reducer's own parameters are read as attributes
    (``params.n_neighbors``); one that does not apply raises ``AttributeError``.

    Parameters
    ----------
    reducer : str
        A registered reducer (:func:`reducer_names`).
    n_components : {2, 3}
    random_state : int in [0, 2**32 - 1]
        Seed of every stochastic step; the same seed gives identical coordinates.
    metric : {"cosine", "euclidean"}
        Distance in the original space; reducers that do not use it (PCA) ignore it.
    options : tuple of (name, value)
        The reducer's parameters, every one of them, in the spec's order.
    fit_sample : int or None
        Fit on a seeded sample of this many points (:func:`viz_app.reduce.budget.sample_fit_rows`)
        and place the other points with the fitted reducer's ``transform``; None: fit on all.
    """

    reducer: str = "pca"
    n_components: int = 2
    random_state: int = 0
    metric: str = "cosine"
    options: tuple[tuple[str, ParamValue], ...] = ()
    fit_sample: int | None = None

    def __getattr__(self, name: str) -> ParamValue:
        if not name.startswith("__"):
            for key, value in object.__getattribute__(self, "options"):
                if key == name:
                    return value
        raise AttributeError(f"{name!r} is not a parameter of this projection")

    @property
    def spec(self) -> ReducerSpec:
        """The reducer's :class:`ReducerSpec`."""
        return get_reducer(self.reducer)

    def as_dict(self) -> dict[str, Any]:
        """The settings that apply to this reducer, as plain values (keys the disk cache)."""
        d: dict[str, Any] = {"reducer": self.reducer, "n_components": self.n_components}
        if self.spec.uses_metric:
            d["metric"] = self.metric
        d.update(self.options)
        d["random_state"] = self.random_state
        if self.fit_sample is not None:  # absent otherwise: keys of maps cached before it existed hold
            d["fit_sample"] = self.fit_sample
        return d

    def describe(self) -> str:
        """One line for captions, e.g. ``"UMAP 2D, n_neighbors=15, min_dist=0.1, cosine, seed 0"``."""
        spec = self.spec
        parts = [f"{spec.display} {self.n_components}D"]
        parts += [f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in self.options]
        if spec.uses_metric:
            parts.append(self.metric)
        parts.append(f"seed {self.random_state}")
        if self.fit_sample is not None:
            parts.append(f"fitted on a seeded sample of {self.fit_sample:,} points, the rest placed by transform")
        return ", ".join(parts)


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ParameterError(f"{name} must be an integer >= {low}, got {value!r}")
    if high is not None and value > high:
        raise ParameterError(f"{name} must be an integer in [{low}, {high}], got {value!r}")
    return int(value)


def make_params(
    reducer: str = "pca",
    *,
    n_samples: int | None = None,
    n_components: int = 2,
    random_state: int = 0,
    metric: str = "cosine",
    fit_sample: int | None = None,
    **options: Any,
) -> ProjectionParams:
    """Validate projection settings and fill the reducer's defaults.

    Parameters
    ----------
    reducer : str
        A registered reducer: ``"pca"``, ``"tsne"``, ``"umap"``.
    n_samples : int, optional
        Number of points to project; enables the checks that depend on it (t-SNE needs
        ``n_samples > 3 * perplexity + 1``; UMAP needs ``n_neighbors < n_samples``).
    n_components : {2, 3}
    random_state : int in [0, 2**32 - 1]
    metric : {"cosine", "euclidean"}
    fit_sample : int, optional
        Fit on a seeded sample of this many points and place the rest with the reducer's
        ``transform`` (the path offered over a point budget); less than ``n_samples``; the
        too-few-points checks then apply to the sample.
    **options
        The reducer's parameters (``perplexity``; ``n_neighbors``, ``min_dist``); missing ones
        take the spec's defaults.

    Returns
    -------
    ProjectionParams

    Raises
    ------
    ParameterError
        Unknown reducer or metric, a parameter that does not apply to the reducer, a value of
        the wrong type (``n_neighbors=15.7``) or outside its bounds, a seed outside
        [0, 2**32 - 1], or too few samples for the reducer.
    """
    spec = get_reducer(reducer)
    if isinstance(n_components, bool) or n_components not in (2, 3):
        raise ParameterError(f"n_components must be 2 or 3, got {n_components!r}")
    if metric not in METRICS:
        raise ParameterError(f"unknown metric {metric!r}; use one of {METRICS}")
    seed = _check_int("random_state", random_state, 0, MAX_SEED)
    for name in options:
        spec.param(name)  # raises for a parameter of another reducer
    values = {p.name: p.check(options[p.name] if options.get(p.name) is not None else p.default) for p in spec.params}
    if fit_sample is not None:
        fit_sample = _check_int("fit_sample", fit_sample, 1)
        if n_samples is not None and fit_sample >= n_samples:
            raise ParameterError(f"fit_sample={fit_sample:,} must be less than the {n_samples:,} points")
    if n_samples is not None:
        spec.check_n_samples(fit_sample if fit_sample is not None else int(n_samples), values)
    return ProjectionParams(
        reducer=spec.name,
        n_components=int(n_components),
        random_state=seed,
        metric=metric,
        options=tuple(values.items()),
        fit_sample=fit_sample,
    )
