"""The reducer registry: a contract every registered reducer passes (fit, transform,
determinism, bounds, budget, progress), the validation rules, and the point budgets."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import viz_app
from viz_app.errors import ParameterError, ResourceLimitError
from viz_app.reduce import (
    PointBudgetError,
    check_points,
    get_reducer,
    make_params,
    max_points,
    project_with,
    reducer_names,
    sample_fit_rows,
    transform,
)
from viz_app.reduce.registry import MAX_SEED


@pytest.fixture(scope="module")
def digits300(digits_set):
    """300 digits: clustered enough for quality bounds, small enough for t-SNE and UMAP."""
    return digits_set.subset(np.arange(300))


def test_the_built_in_reducers_are_registered():
    assert reducer_names()[:3] == ("pca", "tsne", "umap")
    assert viz_app.REDUCERS == ("pca", "tsne", "umap")
    assert [get_reducer(r).display for r in ("pca", "tsne", "umap")] == ["PCA", "t-SNE", "UMAP"]


@pytest.mark.slow
@pytest.mark.parametrize("name", reducer_names())
def test_contract_fit_transform_determinism_progress(name, digits300):
    spec = get_reducer(name)
    x = digits300.vectors
    p = make_params(name, n_samples=len(x), random_state=3)
    reports: list[tuple[float, str]] = []
    first = project_with(x, p, progress=lambda f, m: reports.append((f, m)))
    # fit: every point placed, finite, in the spec's n_components
    assert first.coords.shape == (len(x), 2) and np.isfinite(first.coords).all()
    assert first.model is not None and first.params == p
    # determinism: the same seed gives identical coordinates; another seed (stochastic reducers) differs
    again = project_with(x, p)
    np.testing.assert_array_equal(first.coords, again.coords)
    # progress: fractions in [0, 1], never going back, ending at 1; every stage is named
    fractions = [f for f, _ in reports]
    assert all(0.0 <= f <= 1.0 for f in fractions) and fractions[-1] == 1.0
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(fractions))
    text = " | ".join(m for _, m in reports)
    for stage in spec.stages[-1:]:  # the last stage is always reached (earlier ones may be instant)
        assert stage.split()[0].lower() in text.lower(), (stage, text[:500])
    # transform: the training points land near their own map positions
    placed = transform(first.model, p, x[:20])
    assert placed.shape == (20, 2)
    scale = float(np.ptp(first.coords, axis=0).max())
    err = float(np.median(np.linalg.norm(placed - first.coords[:20], axis=1)))
    assert err < (1e-4 if spec.transform_is_exact else 0.1) * scale, (name, err, scale)
    # caption and settings record name the reducer and every parameter
    described = p.describe()
    assert described.startswith(f"{spec.display} 2D")
    for param in spec.params:
        assert f"{param.name}=" in described and param.name in p.as_dict()


@pytest.mark.parametrize("name", reducer_names())
def test_contract_bounds_and_types(name):
    spec = get_reducer(name)
    for param in spec.params:
        assert param.low <= param.default <= param.high
        assert getattr(make_params(name), param.name) == param.default
        below = param.low - (1 if param.kind is int else 0.5)
        above = param.high + (1 if param.kind is int else 0.5)
        for bad in (below, above, float("nan"), "10", True):
            with pytest.raises(ParameterError, match=param.name):
                make_params(name, **{param.name: bad})
        if param.kind is int:
            with pytest.raises(ParameterError, match="whole number"):
                make_params(name, **{param.name: param.default + 0.7})
    with pytest.raises(ParameterError, match="does not apply"):
        make_params(name, not_a_parameter=1)


@pytest.mark.parametrize("name", reducer_names())
def test_contract_budget_and_too_few_points(name, monkeypatch):
    spec = get_reducer(name)
    assert max_points(name) == spec.max_points
    monkeypatch.setenv(spec.budget_env, "50")
    check_points(name, 50)
    with pytest.raises(PointBudgetError, match=spec.budget_env) as info:
        project_with(np.zeros((51, 4), np.float32), make_params(name))
    assert (info.value.reducer, info.value.n_samples, info.value.budget) == (name, 51, 50)
    with pytest.raises(ParameterError, match="points"):
        make_params(name, n_samples=2)


def test_seed_bounds_and_parameter_types():
    assert make_params("umap", random_state=MAX_SEED).random_state == 2**32 - 1
    for bad in (2**32, -1, 1.5, True, "0"):
        with pytest.raises(ParameterError, match="random_state"):
            make_params("umap", random_state=bad)
    with pytest.raises(ParameterError, match="n_neighbors must be a whole number, got 15.7"):
        make_params("umap", n_neighbors=15.7)
    assert make_params("umap", n_neighbors=15.0).n_neighbors == 15  # a whole float is the same value
    with pytest.raises(ParameterError, match="unknown reducer 'mds'"):
        make_params("mds")
    with pytest.raises(AttributeError):
        make_params("pca").n_neighbors  # noqa: B018 - a parameter of another reducer


def test_a_fourth_reducer_is_one_registration(monkeypatch):
    """Adding a reducer touches one module: here a random projection, registered in the test."""
    from viz_app.reduce import registry

    def fit(x, p, report):
        rng = np.random.default_rng(p.random_state)
        w = rng.normal(size=(x.shape[1], p.n_components)).astype(np.float32) * p.scale
        report(1.0, "random projection")
        return registry.FitResult(x @ w, {}, w)

    spec = registry.ReducerSpec(
        name="randproj", display="Random projection", library="numpy", reference="Johnson & Lindenstrauss 1984",
        summary="A seeded Gaussian random projection.",
        params=(registry.Param("scale", float, 1.0, 0.1, 10.0, 0.1, "Scale", "Multiplies the projection."),),
        uses_metric=False, max_points=1000, check_n_samples=lambda n, v: None, fit=fit,
        transform=lambda w, p, x: x @ w, transform_is_exact=True, stages=("random projection",),
    )  # fmt: skip
    monkeypatch.setitem(registry._REGISTRY, "randproj", spec)
    p = make_params("randproj", scale=2.0, n_samples=10)
    assert p.describe() == "Random projection 2D, scale=2, seed 0"
    assert p.as_dict() == {"reducer": "randproj", "n_components": 2, "scale": 2.0, "random_state": 0}
    proj = project_with(np.eye(10, dtype=np.float32), p)
    assert proj.coords.shape == (10, 2)
    settings = viz_app.export.settings
    assert "scale" in settings._schema()["projection"][0]


def test_check_points_over_budget_says_limit_variable_and_sample():
    with pytest.raises(PointBudgetError) as err:
        check_points("tsne", 80_000)
    e = err.value
    assert isinstance(e, ResourceLimitError) and isinstance(e, viz_app.VizAppError)
    assert (e.reducer, e.n_samples, e.budget) == ("tsne", 80_000, 50_000)
    for word in ("t-SNE on 80,000 points", "limit of 50,000", "EMBEDDING_LENS_MAX_POINTS_TSNE",
                 "seeded sample of 50,000 points", "transform"):  # fmt: skip
        assert word in str(e), str(e)


@pytest.mark.parametrize("value", ["lots", "0", "-5", "1.5", "inf"])
def test_bad_budget_variable_names_it(value, monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_POINTS_UMAP", value)
    with pytest.raises(ParameterError, match=f"EMBEDDING_LENS_MAX_POINTS_UMAP={value!r} must be a positive integer"):
        max_points("umap")
    with pytest.raises(ParameterError, match="unknown reducer"):
        check_points("mds", 5)


def test_sample_fit_rows_is_seeded_sorted_and_distinct():
    rows = sample_fit_rows(1_000_000, 50_000, random_state=3)
    assert rows.shape == (50_000,) and rows.dtype == np.intp
    assert np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < 1_000_000
    np.testing.assert_array_equal(rows, sample_fit_rows(1_000_000, 50_000, random_state=3))
    assert not np.array_equal(rows, sample_fit_rows(1_000_000, 50_000, random_state=4))
    assert np.histogram(rows, bins=10, range=(0, 1_000_000))[0].min() > 4_000  # spread over the whole range
    np.testing.assert_array_equal(sample_fit_rows(7, 7, random_state=0), np.arange(7))


@pytest.mark.parametrize(("n", "budget", "seed"), [(0, 5, 0), (5, 0, 0), (5, 2, -1), (5.0, 2, 0), (5, 2, None)])
def test_sample_fit_rows_bad_arguments(n, budget, seed):
    with pytest.raises(ParameterError):
        sample_fit_rows(n, budget, seed)


@pytest.mark.slow
def test_umap_progress_moves_through_its_stages_on_10k_points(glove_10k):
    """Honest progress: on a 10,000-point UMAP the bar changes at least 10 times, names the
    kNN-graph stage and counts layout epochs up to N."""
    reports: list[tuple[float, str]] = []
    project_with(glove_10k.vectors, make_params("umap"), progress=lambda f, m: reports.append((f, m)))
    values = [f for f, _ in reports]
    assert len(set(values)) >= 10, reports
    text = [m for _, m in reports]
    assert any("kNN graph" in m for m in text)
    epochs = [m for m in text if m.startswith("UMAP layout: epoch ")]
    assert epochs and epochs[-1].startswith("UMAP layout: epoch 500 / 500"), epochs[-3:]
    assert any("left" in m for m in epochs[1:])
