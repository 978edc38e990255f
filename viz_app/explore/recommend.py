"""Recommendations from user and item embeddings learned by predicting ratings.

A recommender system is where embeddings began for many: users and items become vectors learned
by predicting ratings (each ``torch.nn.Embedding`` is a lookup table trained with the model; see
:mod:`viz_app.embed.ratings` for the model, its objective and why its hyperparameters), similar
items land close together, and recommending is a nearest-neighbour search.

- :func:`train_recommender` fits the model on every rating and returns a :class:`Recommender`
  whose ``items`` and ``users`` are ordinary :class:`~viz_app.data.model.EmbeddingSet` objects
  (every view of the app works on them).
- :meth:`Recommender.recommend`: the top-k films a user has not rated, by the dot product of a
  user vector with the item vectors. ``method="learned"`` uses the user's learned vector;
  ``method="average"`` the mean of the vectors of the films the user rated >= 4 (all of their
  films if none), scored the same way. :meth:`Recommender.recommend_for_items` does the same for
  a profile built from any liked films (a visitor who types some titles).
- :meth:`Recommender.similar_items` ("more like this"): nearest items by cosine similarity.
- :meth:`Recommender.because`: for each recommended film, the films the user liked that are most
  cosine-similar to it (why it was recommended).
- :meth:`Recommender.evaluate`: held-out RMSE, recall@10 and NDCG@10 of the learned vectors,
  the averaged profiles and a popularity baseline
  (:func:`viz_app.explore.recommend_eval.evaluate_methods`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.data.ratings import LIKED, RatingIndex, fit_model, index_ratings, item_set, user_table
from viz_app.embed.rating_store import RatingModelStore
from viz_app.embed.ratings import RatingModel, RatingParams
from viz_app.errors import ParameterError, UnknownIdError
from viz_app.explore.neighbors import most_similar
from viz_app.explore.recommend_eval import evaluate_methods

__all__ = ["METHODS", "Recommender", "train_recommender"]

METHODS = ("learned", "average")


@dataclass(frozen=True, eq=False)
class Recommender:
    """User and item embeddings learned from ratings, and what can be done with them.

    Attributes
    ----------
    items : EmbeddingSet
        Item vectors ``(n_items, dim)`` float32; ids are the movie ids as strings, labels
        "Title (year)"; metadata ``title``, ``year``, ``genres``, ``main_genre``,
        ``n_ratings``, ``mean_rating``.
    users : EmbeddingSet
        User vectors ``(n_users, dim)`` float32 in the same space (a rating's dot-product term
        is ``users[u] · items[i]``); ids the user ids as strings, labels "user <id>"; metadata
        ``n_ratings``, ``mean_rating``, ``n_liked`` (ratings >= 4).
    index : RatingIndex
        The ratings as integer arrays (rows of ``users`` and ``items``).
    model : RatingModel
        The fitted model (vectors, biases, global mean, parameters, fit time).
    store : RatingModelStore
        Where fitted models are kept on disk (a no-op store when caching is off).
    """

    items: EmbeddingSet
    users: EmbeddingSet
    index: RatingIndex
    model: RatingModel
    store: RatingModelStore = field(default_factory=lambda: RatingModelStore(None), repr=False)
    _evaluations: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def params(self) -> RatingParams:
        """Hyperparameters of the fit."""
        return self.model.params

    def _user_row(self, user_id: Any) -> int:
        try:
            return int(self.users.index_of([str(user_id)])[0])
        except UnknownIdError:
            raise UnknownIdError(
                f"user {user_id!r} is not in the ratings; user ids run from {self.users.ids[0]} to {self.users.ids[-1]}"
            ) from None

    def rated_rows(self, user_id: Any) -> NDArray[np.intp]:
        """Item rows the user rated (any rating), ascending."""
        return np.sort(self.index.items[self.index.users == self._user_row(user_id)]).astype(np.intp)

    def liked_rows(self, user_id: Any) -> NDArray[np.intp]:
        """Item rows the user rated >= 4 (all rated rows if none)."""
        mine = self.index.users == self._user_row(user_id)
        liked = mine & (self.index.ratings >= LIKED)
        return np.sort(self.index.items[liked if liked.any() else mine]).astype(np.intp)

    def user_vector(self, user_id: Any, *, method: str = "learned") -> NDArray[np.float32]:
        """The vector a user's recommendations are scored with: shape (dim,) float32.

        ``"learned"``: the user's row of ``users``; ``"average"``: the mean item vector of
        :meth:`liked_rows`.

        Raises
        ------
        UnknownIdError
            Unknown user.
        ParameterError
            Unknown method.
        """
        if method not in METHODS:
            raise ParameterError(f"method must be one of {METHODS}, got {method!r}")
        if method == "learned":
            return self.users.vectors[self._user_row(user_id)].copy()
        return self.items.vectors[self.liked_rows(user_id)].mean(axis=0)

    def recommend(self, user_id: Any, *, k: int = 10, method: str = "learned") -> pd.DataFrame:
        """The ``k`` films the user has not rated with the highest dot product with their vector.

        Parameters
        ----------
        user_id : str or int
        k : int, default=10
            1 <= k <= number of films the user has not rated.
        method : {"learned", "average"}, default="learned"
            See :meth:`user_vector`.

        Returns
        -------
        DataFrame of shape (k, 3)
            ``id`` (movie id, str), ``title`` ("Title (year)"), ``score`` (dot product, float,
            descending; equal scores keep item order). Never a film the user rated.

        Raises
        ------
        UnknownIdError
            Unknown user.
        ParameterError
            ``k`` out of range or unknown method.
        """
        return self._top(self.user_vector(user_id, method=method), self.rated_rows(user_id), k)

    def recommend_for_items(self, item_ids: Collection[Any], *, k: int = 10) -> pd.DataFrame:
        """Recommendations for a profile made of liked films: the mean of their vectors, scored
        like :meth:`recommend` (``"average"``); the liked films themselves are left out.

        Raises
        ------
        UnknownIdError
            An id is not an item.
        ParameterError
            No ids, or ``k`` out of range.
        """
        rows = self._item_rows(item_ids)
        return self._top(self.items.vectors[rows].mean(axis=0), rows, k)

    def _item_rows(self, item_ids: Collection[Any]) -> NDArray[np.intp]:
        ids = [str(i) for i in item_ids]
        if not ids:
            raise ParameterError("a profile needs at least one liked film")
        return np.unique(self.items.index_of(ids))

    def _top(self, vector: NDArray[np.float32], exclude: NDArray[np.intp], k: int) -> pd.DataFrame:
        allowed = self.items.n_samples - len(np.unique(exclude))
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= allowed:
            raise ParameterError(f"k must be an integer in 1..{allowed} (films not rated), got {k!r}")
        scores = self.items.vectors.astype(np.float64) @ vector.astype(np.float64)
        scores[exclude] = -np.inf
        top = np.argsort(-scores, kind="stable")[:k]
        return pd.DataFrame({"id": self.items.ids[top], "title": self.items.labels[top], "score": scores[top]})

    def similar_items(self, item_id: Any, *, k: int = 10) -> pd.DataFrame:
        """ "More like this": the ``k`` films most cosine-similar to ``item_id`` (itself left out).

        Returns
        -------
        DataFrame of shape (k, 3)
            ``id``, ``title``, ``similarity`` (cosine in [-1, 1], descending); exact search by
            :func:`viz_app.explore.neighbors.most_similar`.

        Raises
        ------
        UnknownIdError
            Unknown item id. ``ParameterError``: ``k`` out of range.
        """
        nn = most_similar(self.items, int(self._item_rows([item_id])[0]), k=k, metric="cosine")
        return pd.DataFrame({"id": nn["id"], "title": nn["label"], "similarity": nn["similarity"]})

    def because(self, liked: Collection[Any], item_ids: Collection[Any], *, n: int = 3) -> pd.DataFrame:
        """Why each of ``item_ids`` was recommended: the ``n`` films of ``liked`` (ids) most
        cosine-similar to it.

        Returns
        -------
        DataFrame of shape (len(item_ids), 3)
            ``id``, ``because`` (tuple of up to ``n`` titles, most similar first) and
            ``similarity`` (tuple of their cosine similarities).
        """
        src = self._item_rows(liked)
        dst = self.items.index_of([str(i) for i in item_ids])
        unit = self.items.vectors.astype(np.float64)
        unit = unit / np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        sims = unit[dst] @ unit[src].T
        order = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        return pd.DataFrame(
            {
                "id": self.items.ids[dst],
                "because": [tuple(self.items.labels[src[o]]) for o in order],
                "similarity": [tuple(float(x) for x in s[o]) for s, o in zip(sims, order)],
            }
        )

    def rated(self, user_id: Any) -> pd.DataFrame:
        """The films a user rated: ``id``, ``title``, ``rating`` (stars), ``date`` (UTC), best first."""
        mine = np.flatnonzero(self.index.users == self._user_row(user_id))
        rows = self.index.items[mine]
        df = pd.DataFrame(
            {
                "id": self.items.ids[rows],
                "title": self.items.labels[rows],
                "rating": self.index.ratings[mine],
                "date": pd.to_datetime(self.index.timestamps[mine], unit="s", utc=True),
            }
        )
        return df.sort_values(["rating", "date"], ascending=False, kind="stable").reset_index(drop=True)

    def evaluate(self, *, k: int = 10, progress: Callable[[float, str], None] | None = None) -> pd.DataFrame:
        """Held-out quality of the three methods (computed once per ``k``, two extra fits).

        Returns
        -------
        DataFrame of shape (3, 5)
            One row per method (``learned``, ``average``, ``popularity``): ``rmse`` (stars, on
            the random 10% split; NaN where a method predicts no ratings), ``recall@k``,
            ``ndcg@k`` (temporal split), ``users``. See
            :func:`viz_app.explore.recommend_eval.evaluate_methods`.
        """
        if k not in self._evaluations:
            self._evaluations[k] = evaluate_methods(
                self.index, self.params, k=k, random_state=self.params.random_state, store=self.store, progress=progress
            )
        return self._evaluations[k].copy()


def train_recommender(
    ratings: pd.DataFrame,
    *,
    dim: int = 32,
    random_state: int = 0,
    params: RatingParams | None = None,
    progress: Callable[[float, str], None] | None = None,
    cache: bool = True,
) -> Recommender:
    """Learn user and item embeddings from a ratings table (e.g. :func:`viz_app.load_movielens`).

    Parameters
    ----------
    ratings : DataFrame
        Columns ``userId``, ``movieId``, ``rating``, ``timestamp``; optional ``title``,
        ``year``, ``genres`` (see :func:`viz_app.data.ratings.check_ratings`).
    dim : int, default=32
        Length of the vectors.
    random_state : int, default=0
        Seed of the fit and of the random evaluation split; same seed, same vectors.
    params : RatingParams, optional
        Other hyperparameters (default ``RatingParams()``); ``dim`` and ``random_state`` win.
    progress : callable (fraction in [0, 1], message) -> None, optional
    cache : bool, default=True
        Keep fitted models on disk (:class:`~viz_app.embed.rating_store.RatingModelStore`) and read
        them back for the same data and parameters.

    Returns
    -------
    Recommender

    Raises
    ------
    DataFormatError, ResourceLimitError
        As :func:`viz_app.data.ratings.check_ratings`.
    ParameterError
        A hyperparameter out of range.
    """
    params = dataclasses.replace(params or RatingParams(), dim=dim, random_state=random_state)
    index = index_ratings(ratings)
    store = RatingModelStore() if cache else RatingModelStore(None)
    model = fit_model(index, params=params, store=store, progress=progress)
    items = item_set(ratings, index, model, name="MovieLens movies (learned item embeddings)")
    table = user_table(index)
    users = EmbeddingSet(
        model.user_vectors,
        ids=table["id"].to_numpy(),
        labels=table["label"].to_numpy(),
        metadata=table.drop(columns=["id", "label"]),
        name="MovieLens users (learned user embeddings)",
    )
    return Recommender(items, users, index, model, store)
