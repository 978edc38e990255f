"""Held-out evaluation of recommenders, and how well item neighbours agree on genre.

- **Splits** (reproducible): :func:`temporal_split` holds out each user's latest 20% of ratings
  by timestamp (what a recommender is asked to do: predict the future from the past);
  :func:`random_split` holds out a seeded random 10% of all ratings (the usual split for rating
  error).
- **RMSE** of the rating model fitted on the other 90%, on the random 10%, predictions clipped to
  the data's rating range (stars).
- **recall@k and NDCG@k** on the temporal split: for every user with at least one held-out
  rating >= 4 (the *relevant* films), the top k of all films the user did not rate in the
  training part, by each method's score. recall@k = hits / min(k, relevant) (so a perfect list
  scores 1 when there are more than k relevant films); NDCG@k with binary gains and the
  log2(rank + 1) discount of Järvelin & Kekäläinen (2002), normalised by the ideal list. Averaged
  over users. Methods: ``learned`` (the user's learned vector · item vectors), ``average`` (the
  mean of the vectors of the films the user rated >= 4 in the training part, all their films if
  none, · item vectors), ``popularity`` (number of training ratings; the usual strong baseline,
  Cremonesi, Koren & Turrin 2010).
- **Genre agreement** (:func:`genre_agreement`): the share of each item's k cosine-nearest items
  (exact search) that have its
  main genre. One-hot item vectors are all at cosine 0 from each other, so their "nearest"
  items are ties, broken at random: they agree by chance only (:func:`chance_agreement`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import scipy.sparse as sp
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import LIKED, RatingIndex, fit_model
from viz_app.embed.rating_store import RatingModelStore
from viz_app.embed.ratings import RatingParams
from viz_app.errors import ParameterError

__all__ = [
    "EVAL_METHODS",
    "chance_agreement",
    "evaluate_methods",
    "genre_agreement",
    "one_hot_vs_learned",
    "profiles",
    "random_split",
    "ranking_metrics",
    "temporal_split",
]

EVAL_METHODS = ("learned", "average", "popularity")
_BLOCK = 256  # users scored at once: a (256, n_items) float64 block


def temporal_split(index: RatingIndex, *, holdout: float = 0.2) -> NDArray[np.bool_]:
    """Mask of the held-out ratings: each user's latest ``floor(holdout * n)`` by timestamp.

    Ties in time are ordered by item row, so the split is the same on every run.

    Parameters
    ----------
    holdout : float, default=0.2
        Share held out per user, in (0, 1).

    Returns
    -------
    ndarray of shape (n_ratings,), dtype bool
        True = held out (a MovieLens user has >= 20 ratings, so >= 4 are held out).
    """
    if not 0 < holdout < 1:
        raise ParameterError(f"holdout must be in (0, 1), got {holdout!r}")
    order = np.lexsort((index.items, index.timestamps, index.users))
    counts = np.bincount(index.users, minlength=index.shape[0])
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    u = index.users[order]
    position = np.arange(len(order)) - starts[u]
    held = np.zeros(len(order), dtype=bool)
    held[order] = position >= counts[u] - np.floor(holdout * counts[u]).astype(np.int64)
    return held


def random_split(index: RatingIndex, *, test_size: float = 0.1, random_state: int = 0) -> NDArray[np.bool_]:
    """Mask of a seeded random ``test_size`` share of all ratings (numpy ``default_rng``).

    Returns
    -------
    ndarray of shape (n_ratings,), dtype bool
        True = held out; ``round(test_size * n_ratings)`` of them.
    """
    if not 0 < test_size < 1:
        raise ParameterError(f"test_size must be in (0, 1), got {test_size!r}")
    n = len(index)
    held = np.zeros(n, dtype=bool)
    held[np.random.default_rng(random_state).permutation(n)[: round(test_size * n)]] = True
    return held


def _matrix(index: RatingIndex, mask: NDArray[np.bool_], values: NDArray | None = None) -> sp.csr_matrix:
    data = np.ones(int(mask.sum())) if values is None else values[mask]
    return sp.csr_matrix((data, (index.users[mask], index.items[mask])), shape=index.shape)


def ranking_metrics(
    scores: Callable[[NDArray[np.intp]], NDArray[np.floating]],
    index: RatingIndex,
    train: NDArray[np.bool_],
    test: NDArray[np.bool_],
    *,
    k: int = 10,
) -> tuple[float, float, int]:
    """recall@k and NDCG@k of a scoring function (see the module docstring).

    Parameters
    ----------
    scores : callable (user rows (b,)) -> ndarray (b, n_items)
        Higher is better; items rated in ``train`` are excluded here; ties keep item order.
    train, test : ndarray of shape (n_ratings,), dtype bool

    Returns
    -------
    (recall, ndcg, n_users) : float in [0, 1], float in [0, 1], int
    """
    seen = _matrix(index, train)
    relevant = _matrix(index, test & (index.ratings >= LIKED))
    n_rel = np.asarray(relevant.sum(axis=1)).ravel().astype(np.int64)
    users = np.flatnonzero(n_rel > 0)
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)
    recall = ndcg = 0.0
    for start in range(0, len(users), _BLOCK):
        rows = users[start : start + _BLOCK]
        s = np.array(scores(rows), dtype=np.float64)
        s[seen[rows].nonzero()] = -np.inf
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        hits = np.take_along_axis(relevant[rows].toarray() > 0, top, axis=1)
        best = np.minimum(n_rel[rows], k)
        recall += float((hits.sum(axis=1) / best).sum())
        ndcg += float(((hits * discount).sum(axis=1) / ideal[best - 1]).sum())
    n = max(len(users), 1)
    return recall / n, ndcg / n, len(users)


def profiles(index: RatingIndex, mask: NDArray[np.bool_], item_vectors: NDArray[np.float32]) -> NDArray[np.float32]:
    """Mean item vector of each user's films rated >= 4 among ``mask`` (all their films if none).

    Returns
    -------
    ndarray of shape (n_users, dim), dtype float32 (zeros for a user without ratings in ``mask``)
    """
    liked = _matrix(index, mask & (index.ratings >= LIKED))
    anyrated = _matrix(index, mask)
    counts = np.asarray(liked.sum(axis=1)).ravel()
    pick = sp.diags((counts == 0).astype(float)) @ anyrated + sp.diags((counts > 0).astype(float)) @ liked
    n = np.maximum(np.asarray(pick.sum(axis=1)).ravel(), 1)
    return (sp.diags(1.0 / n) @ pick @ item_vectors.astype(np.float64)).astype(np.float32)


def evaluate_methods(
    index: RatingIndex,
    params: RatingParams,
    *,
    k: int = 10,
    random_state: int = 0,
    store: RatingModelStore | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> pd.DataFrame:
    """RMSE on the random 10% split and recall@k / NDCG@k on the temporal split for each method.

    Fits two models with ``params`` (read from ``store`` when fitted before): one on the random
    90%, one on each user's earliest 80%.

    Returns
    -------
    DataFrame of shape (3, 5)
        ``method`` (learned, average, popularity), ``rmse`` (stars; NaN for the methods that do
        not predict ratings), ``recall@k``, ``ndcg@k`` (in [0, 1]), ``users`` (users evaluated).
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= index.shape[1]:
        raise ParameterError(f"k must be an integer in 1..{index.shape[1]}, got {k!r}")

    def part(lo: float) -> Callable[[float, str], None] | None:
        return None if progress is None else (lambda f, m: progress(lo + f / 2, m))

    rand = random_split(index, random_state=random_state)
    rmse_model = fit_model(index, ~rand, params=params, store=store, progress=part(0.0))
    temporal = temporal_split(index)
    m = fit_model(index, ~temporal, params=params, store=store, progress=part(0.5))
    lo, hi = float(index.ratings.min()), float(index.ratings.max())
    pred = np.clip(rmse_model.predict(index.users[rand], index.items[rand]), lo, hi)
    rmse = float(np.sqrt(np.mean((pred - index.ratings[rand]) ** 2)))
    avg = profiles(index, ~temporal, m.item_vectors)
    popularity = np.bincount(index.items[~temporal], minlength=index.shape[1]).astype(np.float64)
    scorers = {
        "learned": lambda rows: m.user_vectors[rows] @ m.item_vectors.T,
        "average": lambda rows: avg[rows] @ m.item_vectors.T,
        "popularity": lambda rows: np.broadcast_to(popularity, (len(rows), len(popularity))),
    }
    out = []
    for method, fn in scorers.items():
        recall, ndcg, users = ranking_metrics(fn, index, ~temporal, temporal, k=k)
        out.append((method, rmse if method == "learned" else np.nan, recall, ndcg, users))
    return pd.DataFrame(out, columns=["method", "rmse", f"recall@{k}", f"ndcg@{k}", "users"])


def chance_agreement(labels: NDArray[np.object_]) -> float:
    """Expected share of random other items with an item's label: Σ n_g (n_g - 1) / (n (n - 1))."""
    counts = pd.Series(labels).value_counts().to_numpy(dtype=np.float64)
    n = counts.sum()
    return float((counts * (counts - 1)).sum() / (n * (n - 1))) if n > 1 else 0.0


def genre_agreement(es: EmbeddingSet, labels: NDArray[np.object_], *, k: int = 10, random_state: int = 0) -> float:
    """Share of the ``k`` cosine-nearest items of every item that carry its label.

    Exact search (numpy, float64, blocks of 256 queries); equal similarities are ordered by a
    seeded random key drawn per query and item, so ties (all of them, for one-hot vectors) are
    broken at random for each query independently.

    Parameters
    ----------
    es : EmbeddingSet with n_samples > k
    labels : ndarray of shape (n_samples,)
        E.g. the main genre of each item.
    random_state : int, default=0
        Seed of the tie-breaking keys.

    Returns
    -------
    float in [0, 1]
    """
    labels = np.asarray(labels, dtype=object)
    n = es.n_samples
    if labels.shape != (n,):
        raise ParameterError(f"{labels.shape[0]} labels for {n} items")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
        raise ParameterError(f"k must be an integer in 1..{n - 1}, got {k!r}")
    x = es.vectors.astype(np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
    rng = np.random.default_rng(random_state)
    same = 0
    for start in range(0, n, _BLOCK):
        rows = np.arange(start, min(start + _BLOCK, n))
        sim = x[rows] @ x.T
        sim[np.arange(len(rows)), rows] = -np.inf
        nn = np.lexsort((rng.random(sim.shape), -sim), axis=-1)[:, :k]
        same += int((labels[nn] == labels[rows, None]).sum())
    return same / (n * k)


#: Most items the one-hot comparison builds an identity matrix for (n x n float32).
MAX_ONE_HOT = 5_000


def one_hot_vs_learned(
    items: EmbeddingSet, *, min_ratings: int = 20, k: int = 10, random_state: int = 0
) -> pd.DataFrame:
    """Genre agreement of the ``k`` nearest items with one-hot vs learned item vectors.

    Parameters
    ----------
    items : EmbeddingSet
        Learned item vectors with metadata ``n_ratings`` and ``main_genre``.
    min_ratings : int, default=20
        Only items rated at least this often (vectors learned from a handful of ratings are
        mostly the prior); both kinds of vectors are compared on the same items.

    Returns
    -------
    DataFrame of shape (2, 5)
        ``vectors`` ("one-hot", "learned"), ``dims``, ``agreement`` (in [0, 1]), ``chance``
        (the same for both rows), ``items``.

    Raises
    ------
    ParameterError
        Fewer than ``k + 1`` or more than :data:`MAX_ONE_HOT` items qualify.
    """
    rows = np.flatnonzero(items.metadata["n_ratings"].to_numpy() >= min_ratings)
    if not k < len(rows) <= MAX_ONE_HOT:
        raise ParameterError(f"{len(rows):,} items have >= {min_ratings} ratings; need {k + 1}..{MAX_ONE_HOT:,}")
    learned = items.subset(rows)
    genres = learned.metadata["main_genre"].to_numpy(dtype=object)
    one_hot = EmbeddingSet(np.eye(len(rows), dtype=np.float32), ids=learned.ids, name="one-hot items")
    chance = chance_agreement(genres)
    return pd.DataFrame(
        [
            ("one-hot", len(rows), genre_agreement(one_hot, genres, k=k, random_state=random_state), chance, len(rows)),
            (
                "learned",
                items.n_features,
                genre_agreement(learned, genres, k=k, random_state=random_state),
                chance,
                len(rows),
            ),
        ],
        columns=["vectors", "dims", "agreement", "chance", "items"],
    )
