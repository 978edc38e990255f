"""Semantic axes on real GloVe: man -> woman and poor -> rich order words as a reader expects."""

from __future__ import annotations

import numpy as np
import pytest

from viz_app.errors import ExpressionError, ParameterError
from viz_app.explore.arithmetic import mean_vector
from viz_app.explore.axes import AxesProjection, axis_projection, axis_scores


def at(es, proj, word, axis):
    return float(proj.coords[es.index_of([word])[0], axis])


def test_gender_and_wealth_axes_order_words(glove_10k):
    p = axis_projection(glove_10k, x=("man", "woman"), y=("poor", "rich"))
    assert isinstance(p, AxesProjection) and p.coords.shape == (10_000, 2) and p.coords.dtype == np.float32
    for female, male in [("queen", "king"), ("actress", "actor"), ("she", "he"), ("mother", "father")]:
        assert at(glove_10k, p, female, 0) > at(glove_10k, p, male, 0), (female, male)
    assert at(glove_10k, p, "wealthy", 1) > at(glove_10k, p, "poverty", 1)
    assert at(glove_10k, p, "rich", 1) > at(glove_10k, p, "poor", 1)
    assert (p.x_label, p.y_label, p.mode) == ("man → woman", "poor → rich", "cosine")
    assert p.x_terms == ("man", "woman") and p.y_terms == ("poor", "rich")
    assert p.source_fingerprint == glove_10k.fingerprint and not p.coords.flags.writeable


def test_cosine_and_scalar_modes_follow_their_definitions(glove_10k):
    x = glove_10k.vectors.astype(np.float64)
    man, woman = (x[glove_10k.index_of([w])[0]] for w in ("man", "woman"))
    d = woman / np.linalg.norm(woman) - man / np.linalg.norm(man)  # ends are unit-normalised
    cos, _, _, _ = axis_scores(glove_10k, ("man", "woman"))
    sca, _, _, _ = axis_scores(glove_10k, ("man", "woman"), mode="scalar")
    np.testing.assert_allclose(cos, x @ d / np.linalg.norm(x, axis=1) / np.linalg.norm(d), atol=1e-5)
    np.testing.assert_allclose(sca, x @ d / np.linalg.norm(d), atol=1e-4)
    assert cos.min() >= -1 and cos.max() <= 1


def test_ends_are_expressions_and_named_vectors(glove_10k):
    sel = mean_vector(glove_10k, ["rich", "wealthy", "wealth"], name="sel")
    p = axis_projection(
        glove_10k,
        x=("mean(he, him, himself)", "mean(she, her, herself)"),
        y=("poverty", "$sel"),
        mode="scalar",
        named={"sel": sel},
    )
    assert p.x_label == "mean(he, him, himself) → mean(she, her, herself)" and p.y_label == "poverty → $sel"
    assert p.y_terms == ("poverty", "rich", "wealthy", "wealth") and p.mode == "scalar"
    assert at(glove_10k, p, "queen", 0) > at(glove_10k, p, "king", 0)
    assert at(glove_10k, p, "luxury", 1) > at(glove_10k, p, "hunger", 1)


def test_bad_axes(glove_10k):
    with pytest.raises(ParameterError, match="mode"):
        axis_projection(glove_10k, mode="angle")
    with pytest.raises(ParameterError, match="x must be a pair"):
        axis_projection(glove_10k, x="man - woman")
    with pytest.raises(ParameterError, match="y must be a pair"):
        axis_projection(glove_10k, y=("poor", "rich", "richer"))
    with pytest.raises(ExpressionError, match="no direction"):
        axis_projection(glove_10k, x=("king", "KING"))
    with pytest.raises(ExpressionError, match="did you mean"):
        axis_projection(glove_10k, y=("pooor", "rich"))
