"""Clusters of an embedding set: KMeans or HDBSCAN, with keyword labels for text data.

- KMeans (Lloyd's algorithm with k-means++ seeding, Arthur & Vassilvitskii 2007) via
  scikit-learn's ``KMeans`` with a fixed ``n_init`` (:data:`N_INIT`) and the given seed.
- HDBSCAN (Campello, Moulavi & Sander 2013) via scikit-learn's ``sklearn.cluster.HDBSCAN``
  (scikit-learn >= 1.3; no separate ``hdbscan`` package). It leaves low-density points out as
  noise (label -1) and is deterministic. Defaults scale with n (:func:`hdbscan_defaults`). In the
  original space of more than :data:`UMAP_ABOVE_DIMS` dimensions it runs on a
  :data:`UMAP_DIMS`-d UMAP of the vectors (umap-learn, ``min_dist=0``, seeded), the usual
  practice (BERTopic, Grootendorst 2022): densities in 50-384 dimensions are nearly uniform, so
  HDBSCAN there calls everything noise (news sentences, MiniLM 384-d) or one giant cluster (most
  of GloVe 10k). Measured on this machine: with min_cluster_size=15 in 384-d, every one of the
  75 news sentences of ``sample_data/sentences.csv`` was noise; on the 5-d UMAP of the 550 news &
  review texts the defaults give 12 clusters, none over 37 %. :func:`advice` says what to change
  when every point is noise or one cluster holds most of them.
- Keywords: class-based TF-IDF (each cluster's texts concatenated into one document, as in
  BERTopic, Grootendorst 2022) via scikit-learn's ``TfidfVectorizer`` with English stop words.

By default clusters are found in the original space; with ``metric="cosine"`` the vectors are
L2-normalised first, so euclidean KMeans/HDBSCAN on them follows cosine similarity (spherical
k-means). ``space="projection"`` clusters the 2-D/3-D map coordinates instead (euclidean).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.reduce import Projection
from viz_app.reduce.umap import precomputed_knn, umap_learn

__all__ = [
    "MAX_LABELLED",
    "METHODS",
    "NOISE_LABEL",
    "N_INIT",
    "SPACES",
    "UMAP_ABOVE_DIMS",
    "UMAP_DIMS",
    "Clustering",
    "advice",
    "centroids_2d",
    "cluster",
    "cluster_table",
    "hdbscan_defaults",
    "keywords",
]

METHODS = ("kmeans", "hdbscan")
SPACES = ("original", "projection")
#: KMeans restarts (best inertia kept); fixed so a seed always gives the same clustering.
N_INIT = 4
#: Label shown for HDBSCAN's noise points (cluster -1).
NOISE_LABEL = "noise"
#: Label of the clusters beyond the :data:`MAX_LABELLED` largest (colour and map labels).
OTHER_LABEL = "other"
#: Clusters labelled on the map and named in the colour legend (the largest; the rest are "other").
MAX_LABELLED = 20
#: HDBSCAN in the original space runs on a UMAP of this many dimensions ...
UMAP_DIMS = 5
#: ... when the vectors have more dimensions than this.
UMAP_ABOVE_DIMS = 10
_TOKENS = r"(?u)\b[^\W\d_][^\W\d_]+\b"  # words of 2+ letters: no numbers as keywords


@dataclass(frozen=True, eq=False)
class Clustering:
    """Cluster assignment of every row of an :class:`~viz_app.data.model.EmbeddingSet`.

    Attributes
    ----------
    labels_ : ndarray of shape (n_samples,), dtype int64
        Read-only; clusters are numbered 0..n_clusters-1 and -1 marks HDBSCAN's noise.
    method : {"kmeans", "hdbscan"}
    space : {"original", "projection"}
    metric : {"cosine", "euclidean"}
        Distance used ("euclidean" for a projection's coordinates).
    k : int or None
        KMeans only: number of clusters.
    min_cluster_size : int or None
        HDBSCAN only: smallest group of points that counts as a cluster.
    min_samples : int or None
        HDBSCAN only: neighbours that make a point a core point (smaller: less noise).
    reduced_to : int or None
        HDBSCAN only: dimensions of the UMAP it ran on (None: on the vectors or the map).
    random_state : int or None
        KMeans only: seed of the k-means++ initialisation.
    source_fingerprint : str
        ``EmbeddingSet.fingerprint`` of the clustered set.
    elapsed_s : float
        Wall time of the fit, seconds.
    """

    labels_: NDArray[np.int64]
    method: str
    space: str = "original"
    metric: str = "cosine"
    k: int | None = None
    min_cluster_size: int | None = None
    random_state: int | None = None
    source_fingerprint: str = ""
    min_samples: int | None = None
    reduced_to: int | None = None
    elapsed_s: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        lab = np.array(self.labels_, dtype=np.int64).ravel()
        lab.setflags(write=False)
        object.__setattr__(self, "labels_", lab)

    @property
    def params(self) -> dict[str, Any]:
        """The settings that apply to this method, as plain Python values."""
        d: dict[str, Any] = {"method": self.method, "space": self.space}
        if self.space == "original":
            d["metric"] = self.metric
        if self.method == "kmeans":
            d.update(k=self.k, random_state=self.random_state, n_init=N_INIT)
        else:
            d.update(min_cluster_size=self.min_cluster_size, min_samples=self.min_samples)
            if self.reduced_to:
                d.update(reduced_to=self.reduced_to, random_state=self.random_state)
        return d

    @property
    def sizes(self) -> dict[int, int]:
        """Members per cluster, ``{cluster: count}`` in cluster order (noise, -1, first if any)."""
        values, counts = np.unique(self.labels_, return_counts=True)
        return {int(v): int(c) for v, c in zip(values, counts)}

    @property
    def n_clusters(self) -> int:
        """Number of clusters, noise not counted."""
        return len(np.unique(self.labels_[self.labels_ >= 0]))

    @property
    def noise_fraction(self) -> float:
        """Share of rows labelled noise (-1), in [0, 1]."""
        return float(np.mean(self.labels_ < 0))


def _features(es: EmbeddingSet, space: str, metric: str, coords: Any) -> NDArray[np.float32]:
    if space not in SPACES:
        raise ParameterError(f"unknown space {space!r}; allowed: {', '.join(SPACES)}")
    if space == "original":
        if coords is not None:
            raise ParameterError("coords only apply to space='projection'")
        if metric not in ("cosine", "euclidean"):
            raise ParameterError(f"unknown metric {metric!r}; allowed: cosine, euclidean")
        x = np.array(es.vectors, dtype=np.float32)
        if metric == "cosine":
            norms = np.linalg.norm(x, axis=1, keepdims=True)
            np.divide(x, norms, out=x, where=norms > 0)  # zero vectors stay at the origin
        return x
    if coords is None:
        raise ParameterError("space='projection' needs coords (a Projection or an (n_samples, 2|3) array)")
    if isinstance(coords, Projection):
        if coords.source_fingerprint and coords.source_fingerprint != es.fingerprint:
            raise ParameterError("the projection was computed from another embedding set")
        coords = coords.coords
    c = np.array(coords, dtype=np.float32)
    if c.ndim != 2 or c.shape[0] != es.n_samples or c.shape[1] not in (2, 3):
        raise ParameterError(f"coords must have shape ({es.n_samples}, 2 or 3), got {c.shape}")
    if not np.isfinite(c).all():
        raise ParameterError("coords contain NaN or infinite values")
    return c


def hdbscan_defaults(n: int) -> tuple[int, int]:
    """HDBSCAN's ``(min_cluster_size, min_samples)`` for ``n`` rows: ``round(sqrt(n) / 2)``
    clipped to 5..500, and a third of it (>= 2).

    A fixed 15 is too large for 75 sentences and far too small for 100k words; the square root
    keeps the number of clusters readable (550 texts: 12; 10,000 words: 50). A smaller
    ``min_samples`` than HDBSCAN's default (= ``min_cluster_size``) leaves fewer points as noise
    (measured on the 5-d UMAP of the 550 news & review texts: 14 % noise with 12/12, 7 % with 12/4).
    """
    mcs = int(np.clip(round(np.sqrt(max(n, 1)) / 2), 5, 500))
    return min(mcs, max(n, 2)), max(2, mcs // 3)


def _umap_features(x: NDArray[np.float32], metric: str, random_state: int) -> NDArray[np.float32]:
    """``UMAP_DIMS``-d UMAP of ``x`` for density clustering (``min_dist=0``: clumps kept tight).

    umap-learn with cached kernels and, from 4,096 to 20,000 rows, an exact kNN graph
    (:func:`viz_app.reduce.umap.precomputed_knn`: no NN-descent compile in a fresh process)."""
    umap = umap_learn()
    metric = "cosine" if metric == "cosine" else "euclidean"
    k = min(15, x.shape[0] - 1)
    reducer = umap.UMAP(
        n_components=UMAP_DIMS,
        n_neighbors=k,
        min_dist=0.0,
        metric=metric,
        random_state=random_state,
        precomputed_knn=precomputed_knn(x, k, metric),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "precomputed_knn[2] is not an NNDescent object"
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def advice(c: Clustering) -> str | None:
    """What to change when a clustering says little: every point noise, or one cluster with more
    than half of the points; None otherwise.

    Returns
    -------
    str or None
        A sentence naming the parameter and the direction, e.g. "lower min_cluster_size (now 50)".
    """
    n = len(c.labels_)
    if n == 0:
        return None
    sizes = {k: v for k, v in c.sizes.items() if k >= 0}
    if not sizes:
        return (
            f"HDBSCAN marked all {n:,} points as noise: no group of {c.min_cluster_size} points is dense "
            f"enough. Lower min_cluster_size (now {c.min_cluster_size}), cluster in the map, or use KMeans."
        )
    big, share = max(sizes.values()), max(sizes.values()) / n
    if share > 0.5 and len(sizes) > 0:
        what = f"lower min_cluster_size (now {c.min_cluster_size})" if c.method == "hdbscan" else f"raise k (now {c.k})"
        return (
            f"One cluster holds {big:,} of the {n:,} points ({share:.0%}): the groups inside it are not "
            f"separated at these settings; {what}, or cluster in the map."
        )
    if c.method == "hdbscan" and c.noise_fraction > 0.5:
        return (
            f"{c.noise_fraction:.0%} of the points are noise; lower min_cluster_size (now {c.min_cluster_size}) "
            "to keep more of them in clusters."
        )
    return None


def _int_in(name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ParameterError(f"{name} must be an integer in {lo}..{hi}, got {value!r}")
    return int(value)


def cluster(
    es: EmbeddingSet,
    *,
    method: str = "kmeans",
    k: int = 8,
    min_cluster_size: int | None = None,
    min_samples: int | None = None,
    space: str = "original",
    coords: Projection | NDArray[np.floating] | None = None,
    metric: str = "cosine",
    random_state: int = 0,
) -> Clustering:
    """Group the rows of ``es`` into clusters (KMeans or HDBSCAN, via scikit-learn).

    Parameters
    ----------
    es : EmbeddingSet
    method : {"kmeans", "hdbscan"}, default="kmeans"
        KMeans: exactly ``k`` clusters, every row assigned. HDBSCAN: as many clusters as the
        density shows, sparse rows labelled -1 (noise).
    k : int, default=8
        KMeans only: 2 <= k <= n_samples.
    min_cluster_size, min_samples : int, optional
        HDBSCAN only: 2 <= each <= n_samples; default :func:`hdbscan_defaults` (scaled to n).
        In the original space with more than :data:`UMAP_ABOVE_DIMS` dimensions HDBSCAN runs
        on a seeded :data:`UMAP_DIMS`-d UMAP of the vectors (``Clustering.reduced_to``).
    space : {"original", "projection"}, default="original"
        Cluster the embedding vectors, or the map coordinates given in ``coords``.
    coords : Projection or ndarray of shape (n_samples, 2 or 3), optional
        Required with (and only with) ``space="projection"``.
    metric : {"cosine", "euclidean"}, default="cosine"
        Original space only: with "cosine" rows are L2-normalised first.
    random_state : int, default=0
        KMeans seed, and the seed of HDBSCAN's UMAP (>= 0); the same seed gives the same labels.

    Returns
    -------
    Clustering
        ``labels_`` of shape (n_samples,) int64, clusters numbered by decreasing size.

    Raises
    ------
    ParameterError
        Unknown ``method``/``space``/``metric``, ``k``/``min_cluster_size``/``random_state``
        out of range, ``coords`` missing, superfluous, of the wrong shape or from another set.
    """
    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    x = _features(es, space, metric, coords)
    n, t0 = es.n_samples, time.perf_counter()
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = _int_in("k", k, 2, n)
        random_state = _int_in("random_state", random_state, 0, 2**32 - 1)
        raw = KMeans(n_clusters=k, n_init=N_INIT, random_state=random_state).fit_predict(x)
        kw: dict[str, Any] = {"k": k, "random_state": random_state}
    else:
        from sklearn.cluster import HDBSCAN

        auto_mcs, auto_ms = hdbscan_defaults(n)
        mcs = _int_in("min_cluster_size", auto_mcs if min_cluster_size is None else min_cluster_size, 2, max(n, 2))
        ms = _int_in("min_samples", auto_ms if min_samples is None else min_samples, 1, max(n, 2))
        random_state = _int_in("random_state", random_state, 0, 2**32 - 1)
        reduced = space == "original" and x.shape[1] > UMAP_ABOVE_DIMS and n > UMAP_DIMS + 2
        if reduced:
            x = _umap_features(x, metric, random_state)
        raw = HDBSCAN(min_cluster_size=mcs, min_samples=min(ms, n), copy=True).fit_predict(x)
        kw = {
            "min_cluster_size": mcs,
            "min_samples": ms,
            "reduced_to": UMAP_DIMS if reduced else None,
            "random_state": random_state if reduced else None,
        }
    used = metric if space == "original" else "euclidean"
    return Clustering(
        _by_size(raw), method, space, used, source_fingerprint=es.fingerprint, elapsed_s=time.perf_counter() - t0, **kw
    )


def _by_size(raw: NDArray[np.integer]) -> NDArray[np.int64]:
    """Renumber clusters 0, 1, ... by decreasing size (ties: first appearance); -1 stays."""
    raw = np.asarray(raw, dtype=np.int64)
    ids, first, counts = np.unique(raw[raw >= 0], return_index=True, return_counts=True)
    order = ids[np.lexsort((first, -counts))]
    lut = np.full(int(raw.max(initial=-1)) + 2, -1, dtype=np.int64)  # lut[-1] = -1 for noise
    lut[order] = np.arange(len(order))
    return lut[raw]


def keywords(texts: Sequence[str], labels: Sequence[int] | NDArray[np.integer], *, top_n: int = 3) -> dict[int, str]:
    """A short keyword label per cluster: its ``top_n`` highest class-based TF-IDF terms.

    Each cluster's texts are joined into one document; scikit-learn's ``TfidfVectorizer``
    (English stop words, words of 2+ letters, sublinear tf) scores the terms across those
    documents, so a term that every cluster uses ranks low (c-TF-IDF, Grootendorst 2022).

    Parameters
    ----------
    texts : sequence of str, length n_samples
    labels : array-like of int, shape (n_samples,)
        Cluster of each text; -1 is noise.
    top_n : int, default=3
        1 <= top_n <= 20 terms per label.

    Returns
    -------
    dict of int to str
        ``{cluster: "term1, term2, term3"}`` for every cluster in ``labels``; -1 maps to
        ``"noise"``, and a cluster without any usable word to ``"cluster <n>"``.

    Raises
    ------
    ParameterError
        Lengths differ, or ``top_n`` out of range.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    top_n = _int_in("top_n", top_n, 1, 20)
    lab = np.asarray(labels).ravel()
    if len(lab) != len(texts):
        raise ParameterError(f"{len(texts)} texts but {len(lab)} labels")
    clusters = [int(c) for c in np.unique(lab[lab >= 0])]
    out = {c: f"cluster {c}" for c in clusters}
    joined = pd.Series([str(t) for t in texts])[lab >= 0].groupby(lab[lab >= 0]).agg(" ".join)
    docs = [joined[c] for c in clusters]
    if docs:
        vec = TfidfVectorizer(stop_words="english", token_pattern=_TOKENS, sublinear_tf=True)
        try:
            tfidf = vec.fit_transform(docs).toarray()
        except ValueError:  # no word left after stop words in any cluster
            tfidf = np.zeros((len(docs), 0))
        terms = vec.get_feature_names_out() if tfidf.shape[1] else np.array([])
        for i, c in enumerate(clusters):
            best = [j for j in np.argsort(-tfidf[i], kind="stable")[:top_n] if tfidf[i, j] > 0]
            if best:
                out[c] = ", ".join(terms[best])
    if (lab < 0).any():
        out = {-1: NOISE_LABEL, **out}
    return out


def cluster_table(
    es: EmbeddingSet, clustering: Clustering, *, text_column: str | None = None, examples: int = 3
) -> pd.DataFrame:
    """One row per cluster: size, a label, and its most central members.

    Parameters
    ----------
    es : EmbeddingSet
        The set that was clustered.
    clustering : Clustering
    text_column : str, optional
        Metadata column of texts to draw keywords from (:func:`keywords`); default
        ``es.text_column``.
    examples : int, default=3
        0 <= examples <= 20 members shown per cluster: those with the highest cosine similarity
        to the cluster's mean direction in the original space (noise: its first rows).

    Returns
    -------
    DataFrame of shape (n_clusters (+1 with noise), 5)
        ``cluster`` (int; -1 = noise, listed last), ``size`` (int), ``share`` (fraction of
        rows, in [0, 1]), ``label`` (str: keywords with texts; else the most common item label
        and its share, e.g. ``"7 (96%)"``, when labels repeat; else the examples; "noise"),
        ``examples`` (str: labels of the example members, joined by " | ").

    Raises
    ------
    ParameterError
        ``clustering`` comes from another set, ``text_column`` is not a metadata column, or
        ``examples`` out of range.
    """
    if clustering.source_fingerprint and clustering.source_fingerprint != es.fingerprint:
        raise ParameterError("the clustering was computed from another embedding set")
    if len(clustering.labels_) != es.n_samples:
        raise ParameterError(f"{len(clustering.labels_)} cluster labels for {es.n_samples} rows")
    examples = _int_in("examples", examples, 0, 20)
    col = text_column if text_column is not None else es.text_column
    if col is not None and col not in es.metadata.columns:
        raise ParameterError(f"{col!r} is not a metadata column; columns: {list(es.metadata.columns)}")
    lab = clustering.labels_
    names = keywords(es.metadata[col].astype(str).tolist(), lab) if col is not None else {}
    rows = []
    for c, size in sorted(clustering.sizes.items(), key=lambda t: (t[0] < 0, t[0])):
        members = np.flatnonzero(lab == c)
        ex = members[:examples] if c < 0 else _central(es.vectors, members, examples)
        shown = " | ".join(str(s) for s in es.labels[ex])
        label = names.get(c) or _majority(es.labels[members]) or ", ".join(map(str, es.labels[ex]))
        label = NOISE_LABEL if c < 0 else label
        rows.append((c, size, size / es.n_samples, label, shown))
    return pd.DataFrame(rows, columns=["cluster", "size", "share", "label", "examples"])


def _majority(labels: NDArray[np.object_]) -> str | None:
    """``"<most common label> (<share>%)"`` if some label repeats, else None (e.g. unique words)."""
    values, counts = np.unique(labels.astype(str), return_counts=True)
    i = int(np.argmax(counts))
    return f"{values[i]} ({counts[i] / len(labels):.0%})" if counts[i] > 1 else None


def _central(x: NDArray[np.float32], members: NDArray[np.intp], n: int) -> NDArray[np.intp]:
    """The ``n`` members most cosine-similar to the members' mean unit vector (stable ties)."""
    v = x[members].astype(np.float64)
    norms = np.linalg.norm(v, axis=1)
    u = np.divide(v, norms[:, None], out=np.zeros_like(v), where=norms[:, None] > 0)
    sim = u @ u.mean(axis=0)
    return members[np.argsort(-sim, kind="stable")[:n]]


def centroids_2d(
    coords: Projection | NDArray[np.floating],
    labels: Sequence[int] | NDArray[np.integer],
    max_clusters: int | None = MAX_LABELLED,
) -> pd.DataFrame:
    """Where to draw each cluster's label on the map: the median of its members' coordinates.

    The median (per axis) stays inside a cluster's dense part even when a few members lie far
    away. Noise (-1) gets no position, and only clusters numbered below ``max_clusters`` (the
    largest: :func:`cluster` numbers them by size) get one, so the map carries at most
    :data:`MAX_LABELLED` labels (None: every cluster).

    Parameters
    ----------
    coords : Projection or ndarray of shape (n_samples, 2 or 3)
    labels : array-like of int, shape (n_samples,)

    Returns
    -------
    DataFrame of shape (n_clusters, 4 or 5)
        ``cluster`` (int, ascending), ``size`` (int), ``x``, ``y`` [, ``z``] (float, map units).

    Raises
    ------
    ParameterError
        ``coords`` not (n, 2|3) or lengths differ.
    """
    c = np.asarray(coords.coords if isinstance(coords, Projection) else coords, dtype=np.float64)
    lab = np.asarray(labels).ravel()
    if c.ndim != 2 or c.shape[1] not in (2, 3) or len(c) != len(lab):
        raise ParameterError(f"coords of shape {c.shape} do not match {len(lab)} labels with 2 or 3 columns")
    axes = ["x", "y", "z"][: c.shape[1]]
    df = pd.DataFrame(c, columns=axes)
    df["cluster"] = lab.astype(np.int64)
    df = df[(df["cluster"] >= 0) & ((df["cluster"] < max_clusters) if max_clusters is not None else True)]
    out = df.groupby("cluster", sort=True)[axes].median()
    out.insert(0, "size", df.groupby("cluster", sort=True).size())
    return out.reset_index()
