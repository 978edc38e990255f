"""Parameter sweep (viz_app.map.sweep) on real data: grid, scores, table, thumbnails."""

from __future__ import annotations

import numpy as np
import pytest

import viz_app
from viz_app import ParameterError, make_params
from viz_app.map.sweep import run_sweep, sweep_grid, sweep_table, thumbnail


def test_the_grid_follows_the_registry_and_the_data(digits_small):
    base = make_params("umap", n_components=3, random_state=7, metric="euclidean")
    grid, skipped = sweep_grid(digits_small, base)
    assert [p.reducer for p in grid] == ["pca"] + ["tsne"] * 3 + ["umap"] * 9
    assert skipped == []
    assert {(p.n_components, p.random_state) for p in grid} == {(3, 7)}
    umap = [p for p in grid if p.reducer == "umap"]
    assert {(p.n_neighbors, p.min_dist) for p in umap} == {(a, b) for a in (5, 15, 50) for b in (0.0, 0.1, 0.5)}
    assert all(p.metric == "euclidean" for p in umap)
    tiny, why = sweep_grid(digits_small.subset(np.arange(40)), make_params("pca"))
    assert [p.perplexity for p in tiny if p.reducer == "tsne"] == [10.0]  # 40 points: perplexity < 13
    assert len(why) == 2 + 3 and all("needs more than" in w for w in why)  # t-SNE 30, 50; UMAP n_neighbors=50


def test_a_sweep_scores_each_map_like_trust_does(digits_small):
    grid = [make_params("pca"), make_params("tsne", perplexity=30.0)]
    seen = []
    results = run_sweep(digits_small, grid, progress=lambda f, m: seen.append((f, m)))
    assert [r.params for r in results] == grid
    pca = viz_app.project(digits_small, reducer="pca")
    assert np.array_equal(results[0].coords, pca.coords)  # seeded: the same map as the Explore page's
    assert results[0].report.trustworthiness == viz_app.trust(digits_small, pca).trustworthiness
    table = sweep_table(results)
    assert list(table["reducer"]) == ["t-SNE", "PCA"]  # t-SNE keeps more neighbours on digits
    assert table["preservation"].iloc[0] > 2 * table["preservation"].iloc[1]  # measured 0.71 vs 0.25
    assert table.loc[table["reducer"] == "PCA", "parameters"].item() == "—"
    assert "perplexity=30" in table["parameters"].iloc[0]
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(m.startswith("map 2 / 2: t-SNE") for _, m in seen)


def test_thumbnail_draws_the_weakest_points_on_top():
    coords = np.array([[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]])
    img = thumbnail(coords, np.array([0.0, 1.0, np.nan]), size=32)
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    corner = img[32 - 1 - 4, 4]  # (0, 0) maps near the bottom-left, 4 px margin
    assert tuple(corner) == (68, 1, 84)  # viridis(0): the low point drawn over the high one
    assert tuple(img[32 - 1 - 28, 28]) == (170, 170, 170)  # NaN: grey, at (1, 1)
    assert (img == 255).all(axis=2).sum() == 32 * 32 - 2
    with pytest.raises(ParameterError):
        thumbnail(coords, np.zeros(2))
