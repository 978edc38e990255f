"""Placing vectors on a map (viz_app.explore.place), fit-on-a-sample projections, expression overlays."""

from __future__ import annotations

import numpy as np
import pytest

from viz_app.data import samples
from viz_app.errors import ExpressionError, ParameterError
from viz_app.explore.arithmetic import operands
from viz_app.explore.place import expression_on_map, place, placement_normalize
from viz_app.map.scene import expression_layers
from viz_app.reduce import PointBudgetError, Projection, make_params, sample_fit_rows
from viz_app.reduce.project import project, project_with, transform


@pytest.fixture(scope="module")
def glove():
    return samples.load_sample("glove")


@pytest.fixture(scope="module")
def glove2k(glove):
    return glove.subset(np.arange(2000), name="glove 2k")


@pytest.fixture(scope="module")
def glove4k(glove):
    return glove.subset(np.arange(4000), name="glove 4k")  # queen is row ~2,600; UMAP's exact-kNN path


def _bare(proj: Projection) -> Projection:
    """The same projection as read from the disk cache: no fitted reducer."""
    return Projection(proj.coords, proj.params, proj.source_fingerprint, proj.quality, proj.elapsed_s)


def test_pca_analogy_is_an_exact_parallelogram(glove):
    proj = project(glove, reducer="pca")
    drawn = expression_on_map(glove, proj, "king - man + woman")
    assert not drawn.approximate and "PCA" in drawn.method
    (b, c, kind1), (a, r, kind2) = drawn.arrows
    assert (kind1, kind2) == ("offset", "result")
    row = glove.index_of(["king", "man", "woman"])
    assert (
        np.allclose(a, proj.coords[row[0]])
        and np.allclose(b, proj.coords[row[1]])
        and np.allclose(c, proj.coords[row[2]])
    )
    assert np.allclose(c - b, r - a, atol=1e-5)  # PCA is linear: man -> woman equals king -> result
    # read back from the disk cache (no model): PCA is refitted, same placement
    again = expression_on_map(glove, _bare(proj), "king - man + woman")
    assert not again.approximate and np.allclose(again.result, drawn.result, atol=1e-5)


def test_place_a_row_vector_lands_on_its_own_point(glove2k):
    for reducer in ("pca", "tsne"):
        proj = project(glove2k, reducer=reducer, **({"perplexity": 10.0} if reducer == "tsne" else {}))
        assert proj.model is not None
        rows = np.array([3, 50, 700])
        got = place(glove2k, proj, glove2k.vectors[rows])
        assert got.coords.shape == (3, 2) and not got.approximate
        span = np.ptp(proj.coords, axis=0).max()
        err = np.linalg.norm(got.coords - proj.coords[rows], axis=1).max()
        assert err < (1e-4 if reducer == "pca" else 0.2) * span, (reducer, err / span)  # openTSNE: ~0.12


def test_umap_transform_places_queen_near_queen(glove4k):
    glove2k = glove4k
    proj = project(glove2k, reducer="umap")
    drawn = expression_on_map(glove2k, proj, "king - man + woman")
    assert not drawn.approximate and drawn.method == "UMAP transform (umap-learn)"
    span = np.ptp(proj.coords, axis=0).max()
    queen = proj.coords[glove2k.index_of(["queen"])[0]]
    assert np.linalg.norm(drawn.result - queen) < 0.15 * span
    # from the disk cache: no reducer, so placed from neighbours and flagged approximate
    approx = expression_on_map(glove2k, _bare(proj), "king - man + woman")
    assert approx.approximate and "nearest neighbours" in approx.method
    assert np.linalg.norm(approx.result - queen) < 0.15 * span


def test_approximate_placement_is_inside_its_neighbours_hull(glove2k):
    proj = _bare(project(glove2k, reducer="pca"))
    tsne_like = Projection(proj.coords, make_params("tsne", perplexity=10.0), glove2k.fingerprint)
    v = glove2k.vectors[glove2k.index_of(["paris"])[0]]
    got = place(glove2k, tsne_like, v, k=5)
    assert got.approximate
    from viz_app.explore.neighbors import most_similar

    nn = proj.coords[most_similar(glove2k, v, k=5)["row"].to_numpy()]
    assert np.all(got.coords[0] >= nn.min(axis=0) - 1e-6) and np.all(got.coords[0] <= nn.max(axis=0) + 1e-6)


def test_placement_errors(glove2k):
    proj = project(glove2k, reducer="pca")
    with pytest.raises(ParameterError, match="dimensions"):
        place(glove2k, proj, np.zeros(7))
    with pytest.raises(ParameterError, match="finite"):
        place(glove2k, proj, np.full(50, np.nan))
    with pytest.raises(ParameterError, match="another embedding set"):
        place(glove2k.subset(np.arange(10)), proj, np.zeros(50))
    with pytest.raises(ExpressionError, match="unknown term"):
        expression_on_map(glove2k, proj, "king - mxn")
    with pytest.raises(ParameterError, match="no fitted reducer"):
        transform(None, proj.params, np.zeros((1, 50)))


def test_placement_normalize_follows_the_map():
    assert not placement_normalize(make_params("pca"))
    assert placement_normalize(make_params("umap"))
    assert not placement_normalize(make_params("tsne", metric="euclidean"))


def test_operands_reconstruct_the_vector(glove):
    ops = operands(glove, "0.5 * (king + queen) - man")
    assert [(o.label, o.coefficient) for o in ops] == [("king", 0.5), ("queen", 0.5), ("man", -1.0)]
    from viz_app.explore.arithmetic import vector

    v = vector(glove, "0.5 * (king + queen) - man")
    assert np.allclose(sum(o.coefficient * o.values for o in ops), v.values, atol=1e-6)


def test_general_expression_arrows_point_at_the_result(glove2k):
    proj = project(glove2k, reducer="pca")
    drawn = expression_on_map(glove2k, proj, "mean(king, woman, prince)")
    assert len(drawn.arrows) == 3 and all(kind == "result" for *_, kind in drawn.arrows)
    assert all(np.allclose(b, drawn.result) for _, b, _ in drawn.arrows)


def test_fit_on_a_seeded_sample_then_transform(glove2k, monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_POINTS_PCA", "1500")
    p = make_params("pca", n_samples=glove2k.n_samples)
    with pytest.raises(PointBudgetError) as info:
        project_with(glove2k.vectors, p)
    assert info.value.budget == 1500 and "seeded sample" in str(info.value)
    ps = make_params("pca", n_samples=glove2k.n_samples, fit_sample=1500)
    assert "fit_sample" in ps.as_dict() and "seeded sample of 1,500" in ps.describe()
    proj = project_with(glove2k.vectors, ps, fingerprint=glove2k.fingerprint)
    rows = sample_fit_rows(2000, 1500, 0)
    alone = project_with(glove2k.vectors[rows], make_params("pca"))
    assert np.allclose(proj.coords[rows], alone.coords, atol=1e-5)
    rest = np.setdiff1d(np.arange(2000), rows)
    assert np.allclose(proj.coords[rest], transform(alone.model, alone.params, glove2k.vectors[rest]), atol=1e-5)
    assert proj.quality["fit_sample"] == 1500 and proj.quality["placed_by_transform"] == 500
    again = project_with(glove2k.vectors, ps)
    assert np.array_equal(again.coords, proj.coords)  # seeded: the same sample and map


def test_fit_sample_validation():
    with pytest.raises(ParameterError, match="less than"):
        make_params("umap", n_samples=100, fit_sample=100)
    with pytest.raises(ParameterError, match="fit_sample"):
        make_params("pca", fit_sample=0)
    with pytest.raises(ParameterError, match="needs more than"):
        make_params("umap", n_samples=1000, fit_sample=10)  # n_neighbors=15 on 10 fitted points


def test_expression_layers_marker_operands_arrows_and_nearest(glove2k):
    proj = project(glove2k, reducer="pca")
    drawn = expression_on_map(glove2k, proj, "king - man + woman")
    arrows, markers, highlights = expression_layers(drawn, nearest=[3, 1])
    assert [m.shape for m in markers] == ["circle", "circle", "circle", "diamond"]
    assert sorted(m.label for m in markers[:3]) == ["+ king", "+ woman", "− man"]
    assert markers[-1].label == drawn.expr and np.allclose(markers[-1].position, drawn.result)
    assert len(arrows) == 2 and {a.color for a in arrows} == {"#7b3294", "#111111"}
    to_result = next(a for a in arrows if a.color == "#111111")
    assert np.allclose(to_result.end, drawn.result)  # king -> the result
    assert [(h.name, list(h.rows), h.label) for h in highlights] == [("nearest to the result", [3, 1], True)]
    assert expression_layers(drawn)[2] == []  # no nearest rows: no highlight
