"""Vector arithmetic over an embedding set: ``king - man + woman``, ``0.5 * (a + b)``, ``mean(a, b)``.

Expressions are parsed by a tokenizer and a recursive-descent parser (never ``eval``)::

    expr   := term (("+" | "-") term)*
    term   := factor (("*" | "/") factor)*
    factor := ("-" | "+") factor | atom
    atom   := NUMBER | WORD | STRING | "$" NAME | "mean" "(" expr ("," expr)* ")" | "(" expr ")"

- WORD: a run of characters other than white space and ``+ - * / ( ) , $ "`` (``u.s.``, ``n't``).
  Labels with spaces, hyphens or operators, or starting with ``'``, go in double or single
  quotes: ``"new york"``, ``'e-mail'``, ``"'s"`` (backslash escapes a quote). A WORD that reads as a number (``2``,
  ``0.5``) is a number; quote it to mean the item ``"2"``.
- A term is an item: its id, else the first row with that label; exact match first, then
  case-insensitive. When the set was embedded by a text model (``es.model_name``), a *quoted*
  term that is no item is free text, embedded on the fly with :func:`viz_app.embed.encoders.encode`
  and listed in ``Vector.embedded``.
- ``$name`` (or ``$"a name"``) is a named vector passed in ``named=`` (e.g. ``$selection``
  made by :func:`mean_vector`); its terms count as terms of the result.
- Numbers scale vectors (``0.5 * a``, ``a / 2``); two vectors cannot be multiplied.

Every item vector is L2-normalised before combining (``normalize=True``), as gensim's
``KeyedVectors.most_similar(positive, negative)`` does and as 3CosAdd assumes (Mikolov, Yih &
Zweig 2013). :func:`evaluate` ranks items by cosine with the result (3CosAdd) or by 3CosMul
(Levy & Goldberg 2014), leaving out the expression's own terms.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.cache import store
from viz_app.data.model import EmbeddingSet
from viz_app.embed.encoders import encode
from viz_app.errors import ExpressionError, ParameterError, UnknownIdError
from viz_app.explore.expression import _NAME, Node, _error, _quote, _render, parse
from viz_app.explore.neighbors import most_similar, suggest_labels

__all__ = [
    "COSMUL_EPSILON",
    "METHODS",
    "Node",
    "Operand",
    "Vector",
    "evaluate",
    "mean_vector",
    "operands",
    "parse",
    "vector",
]

METHODS = ("3cosadd", "3cosmul")
#: Levy & Goldberg (2014)'s epsilon in the 3CosMul denominator (gensim's ``most_similar_cosmul`` uses 1e-6).
COSMUL_EPSILON = 1e-3


@dataclass(frozen=True, eq=False)
class Vector:
    """A vector built from items, with how it was built.

    Attributes
    ----------
    values : ndarray of shape (n_features,), dtype float32
        Read-only, finite.
    expr : str
        Normalised expression, e.g. ``"(king - man) + woman"``.
    terms : tuple of str
        Ids of the items it used (first appearance order); left out of its neighbour list by default.
    embedded : tuple of str
        Free texts embedded on the fly with the set's text model.
    name : str or None
        Name under which an expression can reference it as ``$name``.
    """

    values: NDArray[np.float32]
    expr: str
    terms: tuple[str, ...] = ()
    embedded: tuple[str, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        v = np.array(self.values, dtype=np.float32)
        if v.ndim != 1 or not np.isfinite(v).all():
            raise ParameterError(f"a Vector needs a finite 1-D array, got shape {v.shape}")
        v.setflags(write=False)
        object.__setattr__(self, "values", v)
        object.__setattr__(self, "terms", tuple(str(t) for t in self.terms))
        object.__setattr__(self, "embedded", tuple(self.embedded))


# ------------------------------------------------------------------------- resolution
def _lookup(es: EmbeddingSet, level: int) -> dict[str, int]:
    """First row per id (level 0), label (1), lower-cased id (2), lower-cased label (3).

    Built on first use (~0.1-0.3 s for 400,000 rows) and kept in the ``lookups`` store of
    :mod:`viz_app.cache`, keyed by the set's ``content_key`` (ids and labels included)."""

    def build() -> dict[str, int]:
        col = (es.ids if level % 2 == 0 else es.labels).tolist()
        keys = [k.lower() for k in col] if level >= 2 else col
        return dict(zip(reversed(keys), range(len(keys) - 1, -1, -1)))  # the first row wins

    return store("lookups").get_or_compute((es.content_key, level), build)


def _row(es: EmbeddingSet, text: str) -> tuple[int, str] | None:
    """(row, matched id or label) of a term: id, label, then case-insensitively id, label."""
    for level in range(4):
        row = _lookup(es, level).get(text.lower() if level >= 2 else text)
        if row is not None:
            return row, str((es.ids if level % 2 == 0 else es.labels)[row])
    return None


def _unknown(es: EmbeddingSet, src: str, node: Node) -> ExpressionError:

    close = suggest_labels(node.text, pd.unique(es.labels), 3)
    msg = f"unknown term {node.text!r}: neither an id nor a label in {es.name!r}"
    if close:
        msg += f"; did you mean {', '.join(repr(c) for c in close)}?"
    if es.model_name and not node.quoted:
        msg += f" (put free text in quotes to embed it with {es.model_name})"
    return _error(src, node.pos, msg)


def _leaves(node: Node) -> list[Node]:
    if node.op in ("term", "named"):
        return [node]
    return [leaf for a in node.args for leaf in _leaves(a)]


def _resolve(es, src, tree, named, normalize):
    """Leaf vectors (pos -> float64 (d,)), display names, item ids -> rows, embedded texts."""
    vecs: dict[int, NDArray[np.float64]] = {}
    names: dict[int, str] = {}
    terms: dict[str, int] = {}
    free: dict[str, list[int]] = {}
    for leaf in _leaves(tree):
        if leaf.op == "named":
            if named is None or leaf.text not in named:
                have = ", ".join(f"${k}" for k in (named or {})) or "none"
                raise _error(src, leaf.pos, f"unknown named vector ${leaf.text}; available: {have}")
            v = named[leaf.text]
            vecs[leaf.pos] = np.asarray(getattr(v, "values", v), dtype=np.float64).ravel()
            for t in getattr(v, "terms", ()):
                if t not in _lookup(es, 0):
                    raise _error(src, leaf.pos, f"${leaf.text} uses the id {t!r}, which is not in {es.name!r}")
                terms[t] = _lookup(es, 0)[t]
            continue
        hit = _row(es, leaf.text)
        if hit is not None:
            vecs[leaf.pos], names[leaf.pos] = es.vectors[hit[0]].astype(np.float64), _quote(hit[1], True)
            terms[str(es.ids[hit[0]])] = hit[0]
        elif leaf.quoted and es.model_name:
            free.setdefault(leaf.text, []).append(leaf.pos)
            names[leaf.pos] = _quote(leaf.text, False)  # always quoted: free text, not an item
        else:
            raise _unknown(es, src, leaf)
    if free:
        texts = list(free)
        enc = encode(texts, model=es.model_name).astype(np.float64)
        for text, v in zip(texts, enc):
            for pos in free[text]:
                vecs[pos] = v
    for pos, v in vecs.items():
        if v.shape != (es.n_features,):
            raise _error(src, pos, f"this term has {v.shape[0]} dimensions; the set has {es.n_features}")
        n = np.linalg.norm(v)
        if normalize and n > 0:
            vecs[pos] = v / n
    return vecs, names, terms, tuple(free)


def _scalar(node: Node, src: str) -> float:
    if node.op == "num":
        return node.value
    if node.op == "neg":
        return -_scalar(node.args[0], src)
    a, b = (_scalar(x, src) for x in node.args)
    if node.op == "/" and b == 0:
        raise _error(src, node.pos, "division by zero")
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b if b else 0.0}[node.op]


def _linear(node: Node, src: str) -> list[tuple[float, int]]:
    """The vector expression as (coefficient, leaf position) pairs (it is linear in its leaves)."""
    if node.op in ("term", "named"):
        return [(1.0, node.pos)]
    if node.op == "neg":
        return [(-c, p) for c, p in _linear(node.args[0], src)]
    if node.op == "mean":
        return [(c / len(node.args), p) for a in node.args for c, p in _linear(a, src)]
    a, b = node.args
    if node.op in "+-":
        sign = 1.0 if node.op == "+" else -1.0
        return _linear(a, src) + [(sign * c, p) for c, p in _linear(b, src)]
    if node.op == "*":
        vec, num = (a, b) if a.kind == "vector" else (b, a)
        s = _scalar(num, src)
    else:
        vec, s = a, _scalar(b, src)
        if s == 0:
            raise _error(src, node.pos, "division by zero")
        s = 1.0 / s
    return [(s * c, p) for c, p in _linear(vec, src)]


def _build(es, expr, named, normalize):
    tree = parse(expr)
    vecs, names, terms, free = _resolve(es, expr, tree, named, normalize)
    lin = _linear(tree, expr)
    values = np.sum([c * vecs[p] for c, p in lin], axis=0)
    if not (np.isfinite(values).all() and np.abs(values).max(initial=0) < np.finfo(np.float32).max):
        raise ExpressionError(f"the result of {expr!r} is not finite in float32 (numbers too large?)")
    vec = Vector(values.astype(np.float32), _render(tree, names), tuple(terms), free)
    return vec, lin, vecs, np.fromiter(terms.values(), dtype=np.intp, count=len(terms))


def vector(es: EmbeddingSet, expr: str, *, named: Mapping[str, Vector] | None = None, normalize: bool = True) -> Vector:
    """The vector of an expression over the items of ``es``.

    Parameters
    ----------
    es : EmbeddingSet
    expr : str
        See the module docstring, e.g. ``"king - man + woman"`` or ``"0.5 * ($selection + paris)"``.
    named : mapping of str to Vector, optional
        Vectors an expression can reference as ``$name`` (e.g. from :func:`mean_vector`).
    normalize : bool, default=True
        L2-normalise every term (item, free text, named vector) before combining (3CosAdd;
        gensim's ``most_similar``). False combines the raw vectors.

    Returns
    -------
    Vector
        ``values`` (n_features,) float32; ``expr`` normalised (terms shown as the id or label
        they matched); ``terms`` the ids used; ``embedded`` the free texts embedded.

    Raises
    ------
    ExpressionError
        Syntax error (with position), unknown term (with up to 3 close labels), unknown
        ``$name``, division by zero, or a term of the wrong dimension.
    """
    return _build(es, expr, named, normalize)[0]


@dataclass(frozen=True)
class Operand:
    """One term of an expression, as the expression uses it (see :func:`operands`).

    Attributes
    ----------
    coefficient : float
        Its weight in the (linear) expression: ``king - man + woman`` gives 1, -1, 1.
    label : str
        The id or label it matched, ``$name`` or the quoted free text.
    row : int or None
        Its row in the set; None for a ``$name`` vector or free text.
    values : ndarray of shape (n_features,), dtype float32
        Its vector (L2-normalised when ``normalize=True``).
    """

    coefficient: float
    label: str
    row: int | None
    values: NDArray[np.float32]


def operands(
    es: EmbeddingSet, expr: str, *, named: Mapping[str, Vector] | None = None, normalize: bool = True
) -> list[Operand]:
    """The terms of an expression with their coefficients, in order of appearance.

    Every expression is linear in its terms, so ``vector(es, expr).values`` equals
    ``sum(o.coefficient * o.values for o in operands(es, expr))``. A term used twice appears
    twice. Used to draw the expression on a map (arrows from its operands).

    Returns
    -------
    list of Operand

    Raises
    ------
    ExpressionError
        As :func:`vector`.
    """
    tree = parse(expr)
    vecs, _names, _, _ = _resolve(es, expr, tree, named, normalize)
    leaves = {leaf.pos: leaf for leaf in _leaves(tree)}
    out = []
    for c, pos in _linear(tree, expr):
        leaf = leaves[pos]
        hit = _row(es, leaf.text) if leaf.op == "term" else None
        label = f"${leaf.text}" if leaf.op == "named" else (hit[1] if hit else leaf.text)
        out.append(Operand(float(c), label, hit[0] if hit else None, vecs[pos].astype(np.float32)))
    return out


def mean_vector(es: EmbeddingSet, ids: Collection[str], *, name: str, normalize: bool = True) -> Vector:
    """Mean of some items (a selection, a cluster), usable in expressions as ``$name``.

    Parameters
    ----------
    ids : collection of str, length >= 1
    name : str
        A name for ``$name``: letters, digits and ``_``, not starting with a digit.
    normalize : bool, default=True
        Average the L2-normalised rows (the direction of the centroid on the unit sphere, as
        gensim's ``get_mean_vector(pre_normalize=True)``); False averages the raw rows.

    Returns
    -------
    Vector
        ``values`` (n_features,) float32, ``expr`` like ``"mean(a, b, c)"`` (``"mean(a, b, c, … 120
        items)"`` for more than 5), ``terms`` the ids, ``name``.

    Raises
    ------
    ParameterError
        No ids, or an invalid name.
    UnknownIdError
        An id is not in the set.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ParameterError(f"name must be letters, digits and _ (not starting with a digit), got {name!r}")
    ids = [str(i) for i in ([ids] if isinstance(ids, str) else ids)]
    if not ids:
        raise ParameterError("mean_vector needs at least one id")
    table = _lookup(es, 0)
    missing = [i for i in ids if i not in table]
    if missing:
        raise UnknownIdError(f"id {missing[0]!r} is not in {es.name!r} ({len(missing)} unknown ids)")
    x = es.vectors[[table[i] for i in ids]].astype(np.float64)
    if normalize:
        n = np.linalg.norm(x, axis=1, keepdims=True)
        x = np.divide(x, n, out=np.zeros_like(x), where=n > 0)
    shown = ", ".join(_quote(i, True) for i in ids[:5]) + (f", … {len(ids)} items" if len(ids) > 5 else "")
    return Vector(x.mean(axis=0).astype(np.float32), f"mean({shown})", tuple(dict.fromkeys(ids)), name=name)


def evaluate(
    es: EmbeddingSet,
    expr: str,
    *,
    k: int = 10,
    method: str = "3cosadd",
    exclude_terms: bool = True,
    named: Mapping[str, Vector] | None = None,
) -> pd.DataFrame:
    """Items nearest to an expression: ``evaluate(es, "king - man + woman")`` → queen first.

    Parameters
    ----------
    expr : str
        See the module docstring. Terms are L2-normalised before combining.
    k : int, default=10
        1 <= k <= n_samples - (terms left out).
    method : {"3cosadd", "3cosmul"}, default="3cosadd"
        3CosAdd (Mikolov et al. 2013): cosine with the combined vector, via
        :func:`viz_app.explore.neighbors.most_similar` (asked for ``k + len(terms)`` rows, then the
        terms are dropped: its ``exclude=`` goes through ``index_of``, slow on big sets). 3CosMul (Levy & Goldberg
        2014), only for ``a - b + c`` (two positive, one negative term, unit weights, in any order):
        ``cos'(x, a) * cos'(x, c) / (cos'(x, b) + 0.001)`` with ``cos' = (cos + 1) / 2`` in [0, 1],
        from a scan of all rows (ties keep row order).
    exclude_terms : bool, default=True
        Leave the expression's items out of the list, as the analogy literature does.
    named : mapping of str to Vector, optional
        ``$name`` vectors (see :func:`vector`).

    Returns
    -------
    DataFrame of shape (k, 5) or (k, 6)
        ``rank`` (1-based), ``id``, ``label``, ``similarity`` (cosine with the expression's
        vector, in [-1, 1]), ``row``; with 3CosMul also ``score`` (the 3CosMul objective, >= 0,
        descending, the ranking key). ``attrs``: ``expr``, ``method``, ``terms``, ``embedded``
        (free texts embedded with the set's model).

    Raises
    ------
    ExpressionError
        As :func:`vector`; 3CosMul on an expression not of the form ``a - b + c``.
    ParameterError
        Unknown ``method`` or ``k`` out of range.
    """

    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    v, lin, vecs, term_rows = _build(es, expr, named, True)
    blocked = term_rows if exclude_terms else term_rows[:0]
    available = es.n_samples - len(blocked)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
        raise ParameterError(f"k must be an integer in 1..{available} (rows that can be returned), got {k!r}")
    if method == "3cosadd":  # k + len(blocked) best, then drop the terms (cheaper than exclude= on big sets)
        out = most_similar(es, v.values, k=min(es.n_samples, int(k) + len(blocked)))
        out = out[~out["row"].isin(blocked)].head(int(k)).reset_index(drop=True)
        out["rank"] = np.arange(1, len(out) + 1)
    else:
        out = _cosmul(es, v, lin, vecs, int(k), blocked)
    out.attrs.update(expr=v.expr, method=method, terms=v.terms, embedded=v.embedded)
    return out


def _cosmul(es, v, lin, vecs, k, blocked) -> pd.DataFrame:
    """Top-k items by 3CosMul over all rows (float64 scores; ties keep row order)."""
    if len(lin) != 3 or sorted(c for c, _ in lin) != [-1.0, 1.0, 1.0]:
        raise ExpressionError(f"3cosmul needs an expression of the form a - b + c; got {v.expr!r} (use 3cosadd)")
    x = es.vectors
    norms = np.linalg.norm(x, axis=1).astype(np.float64)
    inv = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    unit = [vecs[p] / (np.linalg.norm(vecs[p]) or 1.0) for _, p in lin]
    cos = (x @ np.stack(unit).T.astype(np.float32)).astype(np.float64) * inv[:, None]  # (n, 3)
    shifted = (cos + 1.0) / 2.0
    pos = [i for i, (c, _) in enumerate(lin) if c > 0]
    neg = next(i for i, (c, _) in enumerate(lin) if c < 0)
    score = shifted[:, pos[0]] * shifted[:, pos[1]] / (shifted[:, neg] + COSMUL_EPSILON)
    score[blocked] = -np.inf
    kth = np.partition(score, len(score) - k)[len(score) - k]
    cand = np.flatnonzero(score >= kth)
    top = cand[np.lexsort((cand, -score[cand]))][:k]
    q = v.values.astype(np.float64)
    sim = (x[top].astype(np.float64) @ q) * inv[top] / (np.linalg.norm(q) or 1.0)
    return pd.DataFrame(
        {
            "rank": np.arange(1, k + 1),
            "id": es.ids[top],
            "label": es.labels[top],
            "similarity": sim,
            "row": top.astype(np.int64),
            "score": score[top],
        }
    )
