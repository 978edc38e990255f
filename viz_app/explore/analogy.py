"""Word-analogy benchmark: ``a : b :: c : ?`` over the first rows of a frequency-ordered vocabulary.

The questions are the Google analogy set of Mikolov et al. (2013), ``questions-words.txt``
(19,544 questions in 14 sections, shipped with gensim). :func:`evaluate_analogies` has the
semantics of gensim's ``KeyedVectors.evaluate_word_analogies(path, restrict_vocab=N,
case_insensitive=True, dummy4unknown=False)`` (gensim 4.x), vectorised with numpy:

- vocabulary: the labels of the first ``N`` rows; with ``case_insensitive`` each label is folded
  with ``str.upper`` and the first (most frequent) row of a folded label stands for it;
- a question is skipped when any of its 4 words is outside that vocabulary;
- the answer is ``most_similar(positive=[b, c], negative=[a])`` within the first ``N`` rows
  (3CosAdd on unit vectors, Mikolov et al. 2013), leaving out the rows of a, b and c; of the
  5 best, the first whose folded label is none of a, b, c is the prediction (if all 5 are,
  the 5th);
- per-section accuracy is correct / (questions not skipped), 0.0 for a section with none;
  the overall figure is gensim's ``"Total accuracy"`` (all sections pooled).

Scores of a block of questions come from one float32 matrix product (``2**24`` scores at a
time). Where the float32 order of the candidates the decision depends on is closer than the
rounding error bound, the question is redone exactly as gensim computes it (``np.dot`` of the
vocabulary with the gensim-rounded query, divided by the norms, ``argpartition`` + ``argsort``),
so predictions match gensim's one for one. ``method="3cosmul"`` (Levy & Goldberg 2014) uses the
same vocabulary and exclusions with ``cos' = (cos + 1) / 2`` and epsilon 0.001; gensim's
evaluation has no 3CosMul, but with gensim's epsilon (1e-6) the answers equal those of its
``most_similar_cosmul`` (tested). It costs three matrix products per block instead of one.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ParameterError
from viz_app.explore.arithmetic import COSMUL_EPSILON, METHODS

__all__ = ["AnalogyResult", "default_analogy_path", "evaluate_analogies", "read_analogies"]

_BLOCK = 2**24
_TOP = 5  # gensim looks at the 5 best answers
_BLOCKS = 64  # columns per strided block in _candidates


def default_analogy_path() -> Path:
    """Path of gensim's copy of ``questions-words.txt`` (``gensim.test.utils.datapath``)."""
    from gensim.test.utils import datapath

    return Path(datapath("questions-words.txt"))


def read_analogies(path: str | os.PathLike[str] | None = None, *, lowercase: bool = True) -> pd.DataFrame:
    """Read an analogy file: ``: section`` lines, then one ``a b c expected`` question per line.

    Parsed as gensim does: a line starting with ``": "`` opens a section (name stripped of
    ``": "``); other lines must split into exactly 4 words, else they are skipped.

    Parameters
    ----------
    path : path-like, optional
        UTF-8 text file; default gensim's ``questions-words.txt`` (Mikolov et al. 2013).
    lowercase : bool, default=True
        Lower-case the words (GloVe's vocabulary is lower case).

    Returns
    -------
    DataFrame of shape (n_questions, 5)
        ``section`` (categorical; categories are the sections in file order, empty ones
        included), ``a``, ``b``, ``c``, ``expected`` (str): ``a : b :: c : expected``.

    Raises
    ------
    DataFormatError
        The file cannot be read or decoded, or a question comes before the first section.
    """
    path = default_analogy_path() if path is None else Path(path)
    try:
        lines = path.read_bytes().decode("utf-8").split("\n")  # as gensim: binary lines
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"cannot read the analogy file: {exc}", file=str(path)) from None
    sections: list[str] = []
    rows: list[tuple[str, ...]] = []
    for line_no, line in enumerate(lines, 1):
        if line.startswith(": "):
            sections.append(line.lstrip(": ").strip())
            continue
        if not sections:
            raise DataFormatError("question before the first ': section' line", file=str(path), row=line_no)
        words = line.split()
        if len(words) == 4:
            rows.append((sections[-1], *(w.lower() if lowercase else w for w in words)))
    df = pd.DataFrame(rows, columns=["section", "a", "b", "c", "expected"])
    df["section"] = pd.Categorical(df["section"], categories=list(dict.fromkeys(sections)))
    return df


@dataclass(frozen=True, eq=False)
class AnalogyResult:
    """Outcome of :func:`evaluate_analogies`.

    Attributes
    ----------
    sections : DataFrame of shape (n_sections, 4)
        ``section``, ``correct`` (int), ``total`` (int, questions not skipped), ``accuracy``
        (correct / total in [0, 1]; 0.0 when total is 0, as gensim).
    correct, total : int
        Pooled over all sections.
    accuracy : float
        correct / total in [0, 1] (gensim's "Total accuracy").
    skipped : int
        Questions with a word outside the restricted vocabulary (not evaluated).
    failures : DataFrame
        ``section``, ``question`` (``"a : b :: c : ?"``), ``a``, ``b``, ``c``, ``expected``,
        ``got`` (the predicted label, as in the set).
    restrict_vocab : int
        Rows used as the vocabulary (``min(restrict_vocab, n_samples)``).
    method : str
    elapsed_s : float
        Wall time, seconds.
    """

    sections: pd.DataFrame
    correct: int
    total: int
    accuracy: float
    skipped: int
    failures: pd.DataFrame
    restrict_vocab: int
    method: str
    elapsed_s: float


def evaluate_analogies(
    es: EmbeddingSet,
    questions: pd.DataFrame | str | os.PathLike[str] | None = None,
    *,
    restrict_vocab: int | None = 30_000,
    method: str = "3cosadd",
    case_insensitive: bool = True,
) -> AnalogyResult:
    """Accuracy of ``a : b :: c : ?`` analogies, with gensim's ``evaluate_word_analogies`` semantics.

    Parameters
    ----------
    es : EmbeddingSet
        Rows ordered by frequency (as GloVe); the words are the labels.
    questions : DataFrame, path-like or None
        A frame from :func:`read_analogies`, a file to read with it, or None for the Google set.
    restrict_vocab : int or None, default=30000
        The vocabulary is the first ``restrict_vocab`` rows (all rows if larger or None), >= 1.
    method : {"3cosadd", "3cosmul"}, default="3cosadd"
        3CosAdd is gensim's (and Mikolov et al.'s); 3CosMul is Levy & Goldberg (2014).
    case_insensitive : bool, default=True
        Compare words folded with ``str.upper`` (first row of a folded label wins), as gensim.

    Returns
    -------
    AnalogyResult

    Raises
    ------
    ParameterError
        Unknown ``method``, ``restrict_vocab`` < 1, or ``questions`` without the columns
        section, a, b, c, expected.
    DataFormatError
        The question file cannot be read.
    """
    t0 = time.perf_counter()
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    if restrict_vocab is not None and (
        isinstance(restrict_vocab, bool) or not isinstance(restrict_vocab, (int, np.integer)) or restrict_vocab < 1
    ):
        raise ParameterError(f"restrict_vocab must be an integer >= 1 or None, got {restrict_vocab!r}")
    q = questions if isinstance(questions, pd.DataFrame) else read_analogies(questions)
    missing = {"section", "a", "b", "c", "expected"} - set(q.columns)
    if missing:
        raise ParameterError(f"questions lack the columns {sorted(missing)}; use read_analogies()")
    n = es.n_samples if restrict_vocab is None else min(int(restrict_vocab), es.n_samples)
    fold = str.upper if case_insensitive else str
    keys = [fold(str(w)) for w in es.labels[:n]]
    vocab = {k: i for i, k in reversed(list(enumerate(keys)))}  # first row of each key
    words = q[["a", "b", "c", "expected"]].astype(str).map(fold).to_numpy(dtype=object)
    rows = np.vectorize(lambda w: vocab.get(w, -1), otypes=[np.intp])(words) if len(q) else np.empty((0, 4), np.intp)
    ok = (rows >= 0).all(axis=1)
    key_row = np.array([vocab[k] for k in keys], dtype=np.intp)  # row standing for each row's word
    pred = np.full(len(q), -1, dtype=np.intp)
    pred[ok] = _predict(es.vectors[:n], rows[ok], key_row, method)
    good = (pred >= 0) & (key_row[pred] == rows[:, 3])
    return _result(es, q, ok, good, pred, n, method, time.perf_counter() - t0)


def _result(es, q, ok, good, pred, n, method, elapsed) -> AnalogyResult:
    by = pd.DataFrame({"section": q["section"], "ok": ok, "good": good}).groupby("section", observed=False, sort=False)
    sec = pd.DataFrame({"correct": by["good"].sum().astype(int), "total": by["ok"].sum().astype(int)})
    if isinstance(q["section"].dtype, pd.CategoricalDtype):
        sec = sec.reindex(q["section"].cat.categories, fill_value=0)
    sec["accuracy"] = np.where(sec["total"] > 0, sec["correct"] / sec["total"].clip(lower=1), 0.0)
    sec = sec.rename_axis("section").reset_index()
    sec["section"] = sec["section"].astype(str)
    bad = ok & ~good
    f = q.loc[bad, ["section", "a", "b", "c", "expected"]].reset_index(drop=True)
    f["section"] = f["section"].astype(str)
    f.insert(1, "question", f["a"] + " : " + f["b"] + " :: " + f["c"] + " : ?")
    f["got"] = [str(es.labels[p]) if p >= 0 else None for p in pred[bad]]
    correct, total = int(sec["correct"].sum()), int(sec["total"].sum())
    accuracy = correct / total if total else 0.0
    return AnalogyResult(sec, correct, total, accuracy, int((~ok).sum()), f, n, method, elapsed)


def _gensim_queries(u: NDArray[np.float32], rows: NDArray[np.intp]) -> NDArray[np.float32]:
    """gensim's ``get_mean_vector([b, c, a], [1, 1, -1], pre_normalize=True, post_normalize=True)``,
    rounded step by step as gensim does (float32 sums, float64 mean, BLAS dnrm2/dscal)."""
    from scipy.linalg.blas import dnrm2, dscal

    m = (u[rows[:, 1]].astype(np.float64) + u[rows[:, 2]]).astype(np.float32)
    m64 = ((m.astype(np.float64) - u[rows[:, 0]]).astype(np.float32)).astype(np.float64) / 3.0
    out = np.empty(m64.shape, dtype=np.float32)
    for i, v in enumerate(m64):
        length = dnrm2(v)
        out[i] = dscal(1.0 / length, v.copy()) if length > 0 else v
    return out


def _gensim_top(x: NDArray[np.float32], norms, query, exclude) -> list[int]:
    """Up to 5 best rows exactly as gensim's ``most_similar`` computes and sorts them."""
    neg = -(np.dot(x, query) / norms)
    topn = _TOP + len(exclude)
    if topn >= neg.size:
        best = np.argsort(neg)[:topn]
    else:
        part = np.argpartition(neg, topn)[:topn]
        best = part.take(np.argsort(neg.take(part)))
    return [int(r) for r in best if r not in exclude][:_TOP]


def _walk(top, question, key_row) -> int:
    """gensim's choice among the best rows ``top``: the first whose word is none of a, b, c
    (``question`` holds their rows), else the last one looked at; -1 if ``top`` is empty."""
    for r in top:
        if key_row[r] not in question:
            return int(r)
    return int(top[-1]) if len(top) else -1


def _candidates(s: NDArray[np.float32], kk: int) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """The ``kk`` best columns of each row of ``s`` (c, width), sorted by (-score, column).

    ``width`` is a multiple of ``_BLOCKS``. Columns are dealt into ``nb = width / _BLOCKS``
    strided blocks (column ``j`` in block ``j % nb``). The ``kk`` blocks with the largest maxima
    hold every element >= the kk-th block maximum ``t``, and at least ``kk`` elements are >=
    ``t``, so they hold the ``kk`` best, ties included. Rows where more than ``kk`` blocks reach
    ``t`` (ties) are sorted in full. About 3x cheaper than ``argpartition`` over whole rows.
    """
    c, width = s.shape
    nb, pad = width // _BLOCKS, s
    blockmax = pad.reshape(c, _BLOCKS, nb).max(axis=1)  # (c, nb): max over columns b, b + nb, ...
    top_blocks = np.argpartition(blockmax, nb - kk, axis=1)[:, nb - kk :]
    t = np.take_along_axis(blockmax, top_blocks, 1).min(axis=1)
    cols = (top_blocks[:, :, None] + nb * np.arange(_BLOCKS)).reshape(c, -1)  # (c, kk * size)
    vals = np.take_along_axis(pad, cols, 1)
    tied = np.flatnonzero((blockmax >= t[:, None]).sum(axis=1) > kk)
    order = np.lexsort((cols, -vals), axis=1)[:, :kk]
    cand, sc = np.take_along_axis(cols, order, 1), np.take_along_axis(vals, order, 1)
    for i in tied:
        o = np.lexsort((np.arange(width), -pad[i]))[:kk]
        cand[i], sc[i] = o, pad[i, o]
    return cand, sc


def _predict(x, rows, key_row, method) -> NDArray[np.intp]:
    """Predicted row per question (m,): batched float32 scores, gensim's exact path near ties."""
    m, (n, d) = len(rows), x.shape
    out = np.full(m, -1, dtype=np.intp)
    if m == 0:
        return out
    norms = np.linalg.norm(x, axis=1)  # float32, as gensim's fill_norms
    u = np.divide(x, norms[:, None], out=np.zeros_like(x), where=norms[:, None] > 0)
    width = -(-n // _BLOCKS) * _BLOCKS
    u_pad = np.zeros((width, d), dtype=np.float32)
    u_pad[:n] = u
    tol = 4.0 * (d + 4) * float(np.finfo(np.float32).eps)  # > 2x the float32 error of a cosine
    queries = _gensim_queries(u, rows) if method == "3cosadd" else None
    kk = _TOP + 1
    step = max(1, _BLOCK // (width * (1 if method == "3cosadd" else 3)))
    for a in range(0, m if n > 3 + kk else 0, step):
        r = rows[a : a + step]
        if queries is not None:  # 3CosAdd
            s = queries[a : a + step] @ u_pad.T
        else:
            s, pc, pa = (u[r[:, j]] @ u_pad.T for j in (1, 2, 0))  # cosines with b, c, a
            s += 1.0
            s *= pc + 1.0
            s *= 0.25  # (cos_b + 1) / 2 * (cos_c + 1) / 2, in place
            pa += 1.0
            pa *= 0.5
            pa += COSMUL_EPSILON
            s /= pa
        s[:, n:] = -np.inf
        s[np.arange(len(r))[:, None], r[:, :3]] = -np.inf
        cand, sc = _candidates(s, kk)
        ignored = (key_row[cand[:, :_TOP], None] == r[:, None, :3]).any(axis=2)  # (c, 5)
        j = np.where(ignored.all(axis=1), _TOP - 1, np.argmax(~ignored, axis=1))
        out[a : a + len(r)] = cand[np.arange(len(r)), j]
        sure = np.cumprod(sc[:, :-1] - sc[:, 1:] > tol, axis=1)[np.arange(len(r)), j].astype(bool)
        if queries is not None:
            for i in np.flatnonzero(~sure):
                exclude = [int(v) for v in r[i, :3]]
                out[a + i] = _walk(_gensim_top(x, norms, queries[a + i], exclude), set(r[i, :3]), key_row)
    if n <= 3 + kk:  # a tiny vocabulary: gensim's path (3cosadd) or a full sort (3cosmul) per question
        for q in range(m):
            exclude = [int(v) for v in rows[q, :3]]
            if method == "3cosadd":
                top = _gensim_top(x, norms, _gensim_queries(u, rows[q : i + 1])[0], exclude)
            else:
                s = np.prod([(u @ u[rows[q, j]] + 1.0) / 2.0 for j in (1, 2)], axis=0)
                s = s / ((u @ u[rows[q, 0]] + 1.0) / 2.0 + COSMUL_EPSILON)
                top = [int(c) for c in np.lexsort((np.arange(n), -s)) if c not in exclude][:_TOP]
            out[q] = _walk(top, set(rows[q, :3]), key_row)
    return out
