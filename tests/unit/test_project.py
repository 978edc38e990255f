from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

import viz_app
from viz_app import ParameterError, make_params, project, trustworthiness


def test_pca_matches_scikit_learn_and_reports_variance(digits_set):
    proj = project(digits_set, reducer="pca", n_components=3)
    ref = PCA(n_components=3, random_state=0).fit(digits_set.vectors)
    assert proj.coords.shape == (1797, 3) and proj.coords.dtype == np.float32
    np.testing.assert_allclose(proj.coords, ref.transform(digits_set.vectors), rtol=1e-4, atol=1e-3)
    assert proj.quality["explained_variance_ratio"] == pytest.approx(ref.explained_variance_ratio_.sum(), rel=1e-5)
    assert proj.source_fingerprint == digits_set.fingerprint


@pytest.mark.slow
@pytest.mark.parametrize("reducer, n_components", [("tsne", 2), ("umap", 2), ("umap", 3), ("tsne", 3)])
def test_nonlinear_reducers_keep_neighbourhoods_and_are_deterministic(digits_small, reducer, n_components):
    a = project(digits_small, reducer=reducer, n_components=n_components, random_state=7)
    b = project(digits_small, reducer=reducer, n_components=n_components, random_state=7)
    assert a.coords.shape == (600, n_components) and a.coords.dtype == np.float32
    np.testing.assert_array_equal(a.coords, b.coords)  # same seed -> identical map
    tw = trustworthiness(digits_small, a)
    pca_tw = trustworthiness(digits_small, project(digits_small, reducer="pca", n_components=n_components))
    assert tw >= 0.95 and tw > pca_tw, (tw, pca_tw)


@pytest.mark.slow
def test_different_seed_gives_a_different_umap(digits_small):
    a = project(digits_small, reducer="umap", random_state=1)
    b = project(digits_small, reducer="umap", random_state=2)
    assert not np.allclose(a.coords, b.coords)


def test_progress_is_reported_for_tsne(digits_small):
    seen = []
    project(
        digits_small.subset(np.arange(200)), reducer="tsne", perplexity=10, progress=lambda f, m: seen.append((f, m))
    )
    fracs = [f for f, _ in seen]
    assert len(seen) >= 10 and fracs == sorted(fracs) and fracs[-1] == 1.0
    assert any("iteration" in m for _, m in seen)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"reducer": "isomap"}, "unknown reducer"),
        ({"n_components": 4}, "2 or 3"),
        ({"reducer": "umap", "metric": "manhattan"}, "unknown metric"),
        ({"reducer": "tsne", "perplexity": 500}, r"perplexity must be in \[2, 100\]"),
        ({"reducer": "umap", "n_neighbors": 1}, "n_neighbors must be in"),
        ({"reducer": "umap", "min_dist": 1.5}, "min_dist must be in"),
        ({"reducer": "pca", "perplexity": 30}, "does not apply"),
        ({"reducer": "pca", "random_state": -1}, "random_state"),
        ({"reducer": "umap", "n_epochs": 10}, "n_epochs does not apply to reducer 'umap'"),
    ],
)
def test_bad_parameters_raise(digits_small, kw, words):
    with pytest.raises(ParameterError, match=words):
        project(digits_small, **kw)


@pytest.mark.parametrize(
    "reducer, kw, words",
    [
        ("umap", {}, "UMAP with n_neighbors=15 needs more than 15 points, got 3"),
        ("tsne", {}, "t-SNE with perplexity=30 needs more than 91 points, got 3"),
        ("tsne", {"perplexity": 2}, "needs more than 7 points"),
    ],
)
def test_too_few_points_is_a_message_not_a_crash(digits_small, reducer, kw, words):
    with pytest.raises(ParameterError, match=words):
        project(digits_small.subset([0, 1, 2]), reducer=reducer, **kw)


def test_make_params_fills_defaults_per_reducer():
    assert make_params("umap").n_neighbors == 15 and make_params("umap").min_dist == 0.1
    assert make_params("tsne").perplexity == 30.0
    with pytest.raises(AttributeError):
        make_params("tsne").n_neighbors  # noqa: B018 - a UMAP parameter
    assert make_params("pca").as_dict() == {"reducer": "pca", "n_components": 2, "random_state": 0}


def test_trustworthiness_refuses_a_foreign_projection(digits_small, digits_set):
    proj = project(digits_small, reducer="pca")
    with pytest.raises(ParameterError, match="another embedding set"):
        trustworthiness(digits_set, proj)


def test_public_api_exports():
    for name in ("load", "embed_texts", "project", "EmbeddingSet", "Projection", "VizAppError"):
        assert name in viz_app.__all__ and hasattr(viz_app, name)
