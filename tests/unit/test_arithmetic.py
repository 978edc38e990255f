"""Vector arithmetic: the parser, term resolution, 3CosAdd / 3CosMul on real GloVe and MiniLM."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ExpressionError, ParameterError, UnknownIdError
from viz_app.explore.arithmetic import Vector, evaluate, mean_vector, parse, vector


@pytest.fixture(scope="module")
def glove50k():
    """The 50,000 most frequent GloVe 6B 50-d tokens (king - man + woman -> queen holds from 10k)."""
    from viz_app.data.samples import glove

    return glove(50_000)


def unit(es, word):
    v = es.vectors[es.index_of([word])[0]].astype(np.float64)
    return v / np.linalg.norm(v)


# ----------------------------------------------------------------------------- GloVe
def test_king_minus_man_plus_woman_is_queen(glove50k):
    out = evaluate(glove50k, "king - man + woman", k=5)
    assert list(out.columns) == ["rank", "id", "label", "similarity", "row"]
    assert out["label"].iloc[0] == "queen" and out["rank"].tolist() == [1, 2, 3, 4, 5]
    assert out["similarity"].iloc[0] == pytest.approx(0.852, abs=1e-3)  # cosine of queen to the result vector
    assert not {"king", "man", "woman"} & set(out["id"])  # operands left out
    assert out.attrs["expr"] == "(king - man) + woman" and out.attrs["terms"] == ("king", "man", "woman")


def test_paris_minus_france_plus_italy_has_rome_in_top_3(glove50k):
    out = evaluate(glove50k, "paris - france + italy", k=3)
    assert "rome" in out["label"].tolist()


def test_3cosmul_gives_queen_and_ranks_by_its_score(glove50k):
    out = evaluate(glove50k, "king - man + woman", k=10, method="3cosmul")
    assert out["label"].iloc[0] == "queen"
    assert (np.diff(out["score"]) <= 0).all() and out["score"].between(0, 1 / 1e-3).all()
    # the score of queen, recomputed from its definition (Levy & Goldberg 2014)
    q = unit(glove50k, "queen")
    s = [(q @ unit(glove50k, w) + 1) / 2 for w in ("king", "woman", "man")]
    assert out["score"].iloc[0] == pytest.approx(s[0] * s[1] / (s[2] + 0.001), rel=1e-5)
    assert evaluate(glove50k, "woman + king - man", method="3cosmul", k=1)["label"].iloc[0] == "queen"


@pytest.mark.parametrize(
    "expr", ["king + queen", "mean(king, man, woman)", "0.5 * king - man + woman", "king - man + woman - boy"]
)
def test_3cosmul_needs_the_a_minus_b_plus_c_form(glove50k, expr):
    with pytest.raises(ExpressionError, match="a - b \\+ c"):
        evaluate(glove50k, expr, method="3cosmul")


def test_terms_are_unit_normalised_before_combining(glove50k):
    v = vector(glove50k, "king - man + woman")
    want = unit(glove50k, "king") - unit(glove50k, "man") + unit(glove50k, "woman")
    assert v.values.dtype == np.float32 and v.values.shape == (50,) and not v.values.flags.writeable
    np.testing.assert_allclose(v.values, want, rtol=1e-6, atol=1e-6)
    raw = vector(glove50k, "king - man", normalize=False).values
    king, man = glove50k.vectors[glove50k.index_of(["king", "man"])]
    np.testing.assert_allclose(raw, king - man, atol=1e-6)


def test_numbers_scale_and_mean_averages(glove50k):
    k, q = unit(glove50k, "king"), unit(glove50k, "queen")
    for expr in ("0.5 * (king + queen)", "(king + queen) / 2", "mean(king, queen)", "king*0.5 + 0.5*queen"):
        np.testing.assert_allclose(vector(glove50k, expr).values, (k + q) / 2, atol=1e-6, err_msg=expr)
    np.testing.assert_allclose(vector(glove50k, "-2 * -king").values, 2 * k, atol=1e-6)
    np.testing.assert_allclose(vector(glove50k, "-(king - queen)").values, q - k, atol=1e-6)


def test_terms_match_case_insensitively(glove50k):
    out = evaluate(glove50k, "King - MAN + Woman", k=1)
    assert out["label"].iloc[0] == "queen" and out.attrs["expr"] == "(king - man) + woman"


def test_exclude_terms_false_keeps_the_operands(glove50k):
    out = evaluate(glove50k, "king", k=1, exclude_terms=False)
    assert out["label"].iloc[0] == "king" and out["similarity"].iloc[0] == pytest.approx(1.0)


def test_unknown_term_suggests_close_labels(glove50k):
    with pytest.raises(ExpressionError) as err:
        evaluate(glove50k, "kign - man + woman")
    msg = str(err.value)
    assert "'kign'" in msg and "did you mean" in msg and "'king'" in msg and "position 0" in msg
    with pytest.raises(ExpressionError, match="'woman'"):
        vector(glove50k, "king - man + wman")


def test_quoted_free_text_is_refused_without_a_text_model(glove50k):
    with pytest.raises(ExpressionError, match="unknown term 'new york'"):
        vector(glove50k, '"new york" - usa')


def test_named_vectors_from_a_selection(glove50k):
    caps = mean_vector(glove50k, ["paris", "rome", "berlin", "madrid"], name="capitals")
    assert caps.expr == "mean(paris, rome, berlin, madrid)" and caps.terms == ("paris", "rome", "berlin", "madrid")
    out = evaluate(glove50k, "$capitals", named={"capitals": caps}, k=5)
    assert not set(out["id"]) & set(caps.terms)  # a selection's members are its terms
    assert {"vienna", "prague", "brussels", "amsterdam", "lisbon", "munich"} & set(out["label"])
    v = vector(glove50k, "$capitals - france + japan", named={"capitals": caps})
    assert v.expr == "($capitals - france) + japan"
    assert v.terms == ("paris", "rome", "berlin", "madrid", "france", "japan")
    with pytest.raises(ExpressionError, match=r"unknown named vector \$cluster3; available: \$capitals"):
        vector(glove50k, "$cluster3 + king", named={"capitals": caps})
    alien = Vector(np.ones(50, dtype=np.float32), "mean(zz9)", ("zz9",), name="alien")
    with pytest.raises(ExpressionError, match="\\$alien uses the id 'zz9'"):
        vector(glove50k, "$alien", named={"alien": alien})


def test_mean_vector_rejects_bad_input(glove50k):
    with pytest.raises(ParameterError, match="name"):
        mean_vector(glove50k, ["king"], name="my selection")
    with pytest.raises(ParameterError, match="at least one id"):
        mean_vector(glove50k, [], name="empty")
    with pytest.raises(UnknownIdError):
        mean_vector(glove50k, ["king", "notawordzz"], name="s")


def test_bad_method_and_k(glove50k):
    with pytest.raises(ParameterError, match="method"):
        evaluate(glove50k, "king", method="pairdirection")
    with pytest.raises(ParameterError, match="k"):
        evaluate(glove50k, "king - man + woman", k=0)
    with pytest.raises(ParameterError, match="k"):
        evaluate(glove50k, "king - man + woman", k=0, method="3cosmul")


# ----------------------------------------------------------------------------- syntax
@pytest.mark.parametrize(
    ("expr", "normalised"),
    [
        ("king - man + woman", "(king - man) + woman"),
        ("0.5 * (a + b)", "0.5 * (a + b)"),
        ("mean(a, b, c)", "mean(a, b, c)"),
        ('"new york" - usa + france', '("new york" - usa) + france'),
        ("'e-mail' + u.s. + n't", '("e-mail" + u.s.) + n\'t'),
        ("-a + 2 * b / 4", "-a + ((2 * b) / 4)"),
        ("a - (b - c)", "a - (b - c)"),
        ('$sel + $"my cluster"', '$sel + $"my cluster"'),
        ('"2" * 3', '"2" * 3'),
    ],
)
def test_parse_normalises(expr, normalised):
    assert str(parse(expr)) == normalised
    assert str(parse(normalised)) == normalised  # a fixed point


@pytest.mark.parametrize(
    ("expr", "pos", "what"),
    [
        ("king - - ", 9, "expected a term"),
        ("king man", 5, "missing operator"),
        ("(king + man", 11, "expected '\\)'"),
        ('king + "man', 7, "unclosed quote"),
        ("king + 2", 5, "cannot add a number and a vector"),
        ("king * man", 5, "cannot multiply two vectors"),
        ("2 / king", 2, "cannot divide by a vector"),
        ("foo(king)", 0, "unknown function 'foo' \\(functions: mean"),
        ("mean(king, 2)", 11, "mean\\(\\) takes vectors"),
        ("king + $", 7, "'\\$' must be followed"),
        ("2 * 3", 0, "only numbers"),
        ("king + )", 7, "expected a term"),
        ('king + ""', 7, "empty quoted term"),
    ],
)
def test_syntax_errors_point_at_the_position(expr, pos, what):
    with pytest.raises(ExpressionError, match=what) as err:
        parse(expr)
    assert err.value.position == pos
    msg = str(err.value)
    assert f"(position {pos})" in msg
    lines = msg.splitlines()
    assert lines[-2] == "  " + expr and lines[-1] == "  " + " " * pos + "^"


def test_division_by_zero_and_empty_expression():
    es = EmbeddingSet(np.eye(3, dtype=np.float32), ids=["a", "b", "c"])
    with pytest.raises(ExpressionError, match="division by zero \\(position 2\\)"):
        vector(es, "a / (1 - 1)")
    with pytest.raises(ExpressionError, match="empty"):
        parse("   ")
    with pytest.raises(ExpressionError, match="not finite"):
        vector(es, "1e39 * a")


def test_terms_resolve_by_id_then_label_exact_then_case_insensitive():
    vecs = np.eye(4, dtype=np.float32)
    es = EmbeddingSet(vecs, ids=["x1", "x2", "X3", "x4"], labels=["apple", "Apple", "x1", "pear"])
    rows = {t: int(np.argmax(vector(es, t, normalize=False).values)) for t in ("x1", "Apple", "APPLE", "x3", "pear")}
    assert rows == {"x1": 0, "Apple": 1, "APPLE": 0, "x3": 2, "pear": 3}
    v = vector(es, "APPLE + x3 - pear")
    assert v.terms == ("x1", "X3", "x4") and v.expr == "(apple + X3) - pear"  # shown as matched
    assert isinstance(v, Vector) and v.embedded == ()


# ----------------------------------------------------------------------------- MiniLM
@pytest.fixture(scope="module")
def sentences(minilm):
    from viz_app.data.texts import embed_texts

    texts = [
        "a small cat",
        "a small dog",
        "a big truck",
        "the stock market fell",
        "a sleepy kitten",
        "a loyal puppy",
        "new york",
        "usa",
        "france",
        "paris",
        "london",
        "berlin",
    ]
    return embed_texts(texts, name="sentences")


def test_free_text_in_quotes_is_embedded_with_the_sets_model(sentences):
    out = evaluate(sentences, '"a small cat" - "cat" + "dog"', k=3)
    assert out["label"].iloc[0] == "a small dog"
    assert out.attrs["embedded"] == ("cat", "dog") and out.attrs["terms"] == ("0",)  # the item "a small cat"
    assert out.attrs["expr"] == '("a small cat" - "cat") + "dog"'  # free text always quoted
    v = vector(sentences, '"a cute puppy"')
    assert v.embedded == ("a cute puppy",) and v.terms == ()
    assert evaluate(sentences, '"a cute puppy"', k=1)["label"].iloc[0] == "a loyal puppy"


def test_quoted_multi_word_labels(sentences):
    out = evaluate(sentences, '"new york" - usa + france', k=1)
    assert out.attrs["embedded"] == () and out.attrs["terms"] == ("6", "7", "8")
    assert out["label"].iloc[0] == "paris"


def test_bare_unknown_word_hints_at_quotes(sentences):
    with pytest.raises(ExpressionError, match="put free text in quotes"):
        vector(sentences, "kitten + dog")


def test_results_are_plain_frames(glove50k):
    out = evaluate(glove50k, "paris - france + italy", k=2, method="3cosmul")
    assert isinstance(out, pd.DataFrame) and out["row"].dtype == np.int64
    assert list(out.columns) == ["rank", "id", "label", "similarity", "row", "score"]
