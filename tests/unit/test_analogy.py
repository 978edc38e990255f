"""Analogy benchmark: same per-section counts as gensim's ``evaluate_word_analogies`` on real GloVe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ParameterError
from viz_app.explore.analogy import evaluate_analogies, read_analogies


@pytest.fixture(scope="module")
def glove30k():
    from viz_app.data.samples import glove

    return glove(30_000)


@pytest.fixture(scope="module")
def questions():
    return read_analogies()


def gensim_counts(es, path, restrict_vocab, case_insensitive=True):
    """[(section, correct, total), ..., ("Total accuracy", correct, total)] from gensim itself."""
    from gensim.models import KeyedVectors

    kv = KeyedVectors(es.n_features)
    kv.add_vectors(list(es.ids), es.vectors)
    _, sections = kv.evaluate_word_analogies(
        str(path), restrict_vocab=restrict_vocab, case_insensitive=case_insensitive, dummy4unknown=False
    )
    return [(s["section"], len(s["correct"]), len(s["correct"]) + len(s["incorrect"])) for s in sections]


def our_counts(result):
    s = result.sections
    return list(zip(s["section"], s["correct"], s["total"])) + [("Total accuracy", result.correct, result.total)]


def write_questions(path, q):
    lines = []
    for section, rows in q.groupby("section", observed=False, sort=False):
        lines.append(f": {section}")
        lines += [" ".join(r) for r in rows[["a", "b", "c", "expected"]].itertuples(index=False)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_the_google_analogy_set(questions):
    assert questions.shape == (19_544, 5) and list(questions.columns) == ["section", "a", "b", "c", "expected"]
    assert len(questions["section"].cat.categories) == 14
    assert questions["section"].cat.categories[0] == "capital-common-countries"
    assert questions.iloc[0, 1:].tolist() == ["athens", "greece", "baghdad", "iraq"]  # lower-cased
    assert questions.groupby("section", observed=False).size()["gram9-plural-verbs"] == 870


def test_reader_skips_bad_lines_keeps_empty_sections_and_rejects_orphans(tmp_path):
    p = tmp_path / "q.txt"
    p.write_text(": one\nA b c d\nnot four words\n\n: empty\n: two\ne f g h\n", encoding="utf-8")
    q = read_analogies(p)
    assert q["section"].cat.categories.tolist() == ["one", "empty", "two"]
    assert q[["a", "b", "c", "expected"]].values.tolist() == [["a", "b", "c", "d"], ["e", "f", "g", "h"]]
    assert read_analogies(p, lowercase=False)["a"].iloc[0] == "A"
    p.write_text("a b c d\n: s\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="row 1: question before"):
        read_analogies(p)
    with pytest.raises(DataFormatError, match="cannot read"):
        read_analogies(tmp_path / "missing.txt")


def test_matches_gensim_on_a_sample_at_30k(glove30k, questions, tmp_path):
    """Every 20th question of each section, vocabulary = the 30,000 most frequent words."""
    sample = questions.groupby("section", observed=False, sort=False).nth(slice(None, None, 20))
    path = write_questions(tmp_path / "sample.txt", sample)
    ours = evaluate_analogies(glove30k, path, restrict_vocab=30_000)
    assert our_counts(ours) == gensim_counts(glove30k, path, 30_000)
    assert ours.total > 650 and 0.4 < ours.accuracy < 0.6


@pytest.mark.slow
def test_matches_gensim_on_the_full_set_at_10k(glove30k, questions):
    """All 19,544 questions at restrict_vocab=10,000 (gensim takes ~80 s here; we take a few)."""
    from gensim.test.utils import datapath

    ours = evaluate_analogies(glove30k, questions, restrict_vocab=10_000)
    assert our_counts(ours) == gensim_counts(glove30k, datapath("questions-words.txt"), 10_000)
    assert (ours.correct, ours.total, ours.skipped) == (3958, 6762, 19_544 - 6762)


@pytest.mark.parametrize("case_insensitive", [True, False])
def test_matches_gensim_with_case_variants_and_exact_ties(glove30k, tmp_path, case_insensitive):
    """Extra rows "Queen" (an exact copy of queen: a tie), "KING", "Rome" and "Woman" test the
    folding (first row of a folded word wins), which words are ignored, and the tie order."""
    base = glove30k.subset(np.arange(3000))
    extra = {"Queen": "queen", "KING": "king", "Rome": "rome", "Woman": "woman"}
    noise = np.random.default_rng(0).normal(0, 1e-3, (len(extra), 50)).astype(np.float32)
    scale = np.array([[1.0], [1.01], [1.01], [1.01]], dtype=np.float32)
    noise[0] = 0  # "Queen" is an exact copy of "queen"
    vecs = np.vstack([base.vectors, base.vectors[base.index_of(list(extra.values()))] * scale + noise])
    es = EmbeddingSet(vecs, ids=list(base.ids) + list(extra), name="cased")
    path = tmp_path / "cased.txt"
    path.write_text(
        ": family\nman woman king queen\nMan Woman KING Queen\nboy girl prince princess\nKING Queen man woman\n"
        "he she his her\n: capitals\nfrance paris italy rome\nFrance Paris Italy Rome\nparis france Rome italy\n"
        "germany berlin Woman man\n: empty\n",
        encoding="utf-8",
    )
    q = read_analogies(path, lowercase=case_insensitive)  # as gensim: it folds only when asked
    for vocab in (3004, 3000):
        ours = evaluate_analogies(es, q, restrict_vocab=vocab, case_insensitive=case_insensitive)
        assert our_counts(ours) == gensim_counts(es, path, vocab, case_insensitive), vocab


def test_results_name_the_failures(glove30k, questions):
    r = evaluate_analogies(glove30k, questions.iloc[:506], restrict_vocab=30_000)  # capital-common-countries
    assert r.sections["total"].iloc[0] == 506 and r.sections["total"].iloc[1:].sum() == 0
    assert r.sections["accuracy"].iloc[1:].eq(0.0).all()  # sections with no question: 0.0, as gensim
    f = r.failures
    assert list(f.columns) == ["section", "question", "a", "b", "c", "expected", "got"]
    assert len(f) == r.total - r.correct and (f["got"] != f["expected"]).all()
    assert f["question"].iloc[0] == f"{f['a'].iloc[0]} : {f['b'].iloc[0]} :: {f['c'].iloc[0]} : ?"
    assert r.restrict_vocab == 30_000 and r.method == "3cosadd" and r.elapsed_s > 0


def test_3cosmul_uses_the_same_vocabulary(glove30k, questions):
    sample = questions.iloc[::10]
    add = evaluate_analogies(glove30k, sample, restrict_vocab=10_000)
    mul = evaluate_analogies(glove30k, sample, restrict_vocab=10_000, method="3cosmul")
    assert mul.total == add.total and mul.skipped == add.skipped
    assert 0.4 < mul.accuracy < 0.7 and abs(mul.accuracy - add.accuracy) < 0.1


def test_3cosmul_agrees_with_gensims_most_similar_cosmul(glove30k, questions, monkeypatch):
    """With gensim's epsilon (1e-6 instead of Levy & Goldberg's 1e-3), same answers as
    ``KeyedVectors.most_similar_cosmul(positive=[b, c], negative=[a])``."""
    from gensim.models import KeyedVectors

    import viz_app.explore.analogy as analogy

    monkeypatch.setattr(analogy, "COSMUL_EPSILON", 1e-6)
    es = glove30k.subset(np.arange(10_000))
    q = questions.iloc[::100]
    ours = evaluate_analogies(es, q, restrict_vocab=10_000, method="3cosmul")
    kv = KeyedVectors(50)
    kv.add_vectors(list(es.ids), es.vectors)
    correct = total = 0
    for a, b, c, want in q[["a", "b", "c", "expected"]].itertuples(index=False):
        if {a, b, c, want} <= set(kv.key_to_index):
            sims = kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=5)
            total += 1
            correct += next((w for w, _ in sims if w not in (a, b, c)), sims[-1][0]) == want
    assert (ours.correct, ours.total) == (correct, total) and total > 60


def test_bad_parameters(glove30k, questions):
    with pytest.raises(ParameterError, match="method"):
        evaluate_analogies(glove30k, questions, method="pairdirection")
    with pytest.raises(ParameterError, match="restrict_vocab"):
        evaluate_analogies(glove30k, questions, restrict_vocab=0)
    with pytest.raises(ParameterError, match="columns"):
        evaluate_analogies(glove30k, pd.DataFrame({"a": ["x"]}))
