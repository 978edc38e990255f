"""What the Recommendations map shows, as plain data: the user on the movie map and their films.

The map is a projection of the learned item vectors (the bundled sample: movies with at least 20
ratings), coloured by main genre. For one user (or a profile of liked films) this module computes
everything drawn on top of it, without drawing:

- the user's vector placed on the map with the reducer's own transform
  (:func:`viz_app.explore.place.place`: PCA exactly, UMAP/openTSNE with the fitted reducer kept
  in memory, otherwise approximately from its nearest neighbours, flagged);
- the top-k recommendations (rank, title, score, row on the map) to highlight and label;
- the films the user rated (row on the map, stars) to mark.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.errors import ParameterError
from viz_app.explore.place import place
from viz_app.explore.recommend import Recommender
from viz_app.reduce import Projection

__all__ = ["RecommendationMap", "recommendation_map"]


@dataclass(frozen=True, eq=False)
class RecommendationMap:
    """Overlay of one user's recommendations on a map of the items (plain data, no drawing).

    Attributes
    ----------
    who : str
        "user <id>" or "your profile (<n> films)": the label of the user's marker.
    method : str
        ``"learned"`` or ``"average"``: which vector was scored and placed.
    user_position : ndarray of shape (n_components,), dtype float32
        Where the user's vector lands on the map.
    placement : str
        How it was placed (:attr:`viz_app.explore.place.Placement.method`).
    approximate : bool
        True when placed from neighbours, not by the reducer's transform (say so on the map).
    recommended : DataFrame
        One row per recommendation, best first: ``rank`` (1-based), ``id``, ``title``,
        ``score`` (dot product), ``row`` (row in the map's set; -1 when the film is not on the
        map), ``label`` (``"<rank>. <title>"``, text to draw beside the point).
    rated : DataFrame
        The films the user rated that are on the map: ``id``, ``title``, ``rating`` (stars; NaN
        for a profile's liked films), ``row``.
    color_column : str
        Metadata column the map is coloured by (``"main_genre"``).
    """

    who: str
    method: str
    user_position: NDArray[np.float32]
    placement: str
    approximate: bool
    recommended: pd.DataFrame
    rated: pd.DataFrame
    color_column: str = "main_genre"

    @property
    def highlight_rows(self) -> NDArray[np.intp]:
        """Rows of the map's set to highlight (the recommendations on the map), rank order."""
        rows = self.recommended["row"].to_numpy()
        return rows[rows >= 0].astype(np.intp)


def _check_same_space(rec: Recommender, es: EmbeddingSet) -> NDArray[np.intp]:
    """Rows of ``es`` in ``rec.items``; refuses a map of other vectors."""
    rows = rec.items._id_index.get_indexer(es.ids)
    if (rows < 0).any() or not np.array_equal(rec.items.vectors[rows], es.vectors):
        raise ParameterError(f"the map's set {es.name!r} is not made of this recommender's item vectors")
    return rows


def recommendation_map(
    rec: Recommender,
    es: EmbeddingSet,
    projection: Projection,
    *,
    user_id: Any = None,
    liked_ids: Collection[Any] | None = None,
    k: int = 10,
    method: str = "learned",
) -> RecommendationMap:
    """Everything the Recommendations map draws for a user or a profile of liked films.

    Parameters
    ----------
    rec : Recommender
    es : EmbeddingSet
        The set the map was projected from: rows of ``rec.items`` (e.g. the bundled sample).
    projection : Projection of ``es``
    user_id : str or int, optional
        A user of ``rec``; or give ``liked_ids`` instead (exactly one of the two).
    liked_ids : collection of item ids, optional
        A profile: the mean of these films' vectors (method ``"average"``).
    k : int, default=10
    method : {"learned", "average"}, default="learned"
        For ``user_id`` (a profile always uses ``"average"``).

    Returns
    -------
    RecommendationMap

    Raises
    ------
    ParameterError
        Neither or both of ``user_id`` / ``liked_ids``, a map of other vectors, ``k`` or
        ``method`` out of range (as :meth:`Recommender.recommend`).
    UnknownIdError
        Unknown user or film.
    """
    if (user_id is None) == (liked_ids is None):
        raise ParameterError("give exactly one of user_id or liked_ids")
    _check_same_space(rec, es)
    if user_id is not None:
        vector = rec.user_vector(user_id, method=method)
        recs = rec.recommend(user_id, k=k, method=method)
        rated = rec.rated(user_id)[["id", "title", "rating"]]
        who = f"user {user_id}"
    elif liked_ids is not None:
        method = "average"
        recs = rec.recommend_for_items(liked_ids, k=k)
        rows = rec._item_rows(liked_ids)
        vector = rec.items.vectors[rows].mean(axis=0)
        rated = pd.DataFrame({"id": rec.items.ids[rows], "title": rec.items.labels[rows], "rating": np.nan})
        who = f"your profile ({len(rows)} film{'s' if len(rows) != 1 else ''})"
    placed = place(es, projection, vector)
    recs = recs.assign(rank=np.arange(1, len(recs) + 1), row=es._id_index.get_indexer(recs["id"]))
    recs["label"] = [f"{r}. {t}" for r, t in zip(recs["rank"], recs["title"])]
    rated = rated.assign(row=es._id_index.get_indexer(rated["id"]))
    return RecommendationMap(
        who=who,
        method=method,
        user_position=placed.coords[0],
        placement=placed.method,
        approximate=placed.approximate,
        recommended=recs[["rank", "id", "title", "score", "row", "label"]].reset_index(drop=True),
        rated=rated[rated["row"] >= 0].reset_index(drop=True),
    )
