"""Fitted rating models on disk, so the MovieLens recommender is trained once per machine.

One ``<key>.npz`` (the four tables and the global mean, written with ``np.savez``, read with
``np.load(..., allow_pickle=False)``) and a ``<key>.json`` sidecar (parameters, fit time) per
model; nothing is ever unpickled. The key is a SHA-256 of the rating pairs, the ratings, the table
sizes, the :class:`~viz_app.embed.ratings.RatingParams` and torch's version (another torch may
give other bits). Folder: ``$XDG_CACHE_HOME/embedding-lens/recommender`` (``~/.cache/...``);
``EMBEDDING_LENS_RECOMMENDER_CACHE`` overrides it and an empty value turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from viz_app.embed.ratings import RatingModel, RatingParams, check_pairs, fit_ratings

__all__ = ["RatingModelStore", "default_cache_dir", "fit_ratings_cached"]

#: Bump when the training code changes what a given key produces.
_FORMAT = 1


def default_cache_dir() -> Path | None:
    """Folder of fitted rating models: ``EMBEDDING_LENS_RECOMMENDER_CACHE`` if set (an empty value
    turns the disk cache off), else ``$XDG_CACHE_HOME/embedding-lens/recommender`` (``~/.cache/...``)."""
    env = os.environ.get("EMBEDDING_LENS_RECOMMENDER_CACHE")
    if env is not None:
        return Path(env) if env else None
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "embedding-lens" / "recommender"


class RatingModelStore:
    """Fitted :class:`RatingModel` arrays on disk, keyed by data and parameters.

    One ``<key>.npz`` (the four tables and μ, written with ``np.savez``, read with
    ``allow_pickle=False``) and a ``<key>.json`` sidecar (parameters, fit time) per model.
    Nothing is unpickled. A missing, unreadable or mismatched file is a miss.

    Parameters
    ----------
    folder : path-like, None or "default"
        Default :func:`default_cache_dir`; None (or an unwritable folder) makes it a no-op.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = "default") -> None:
        self.folder = default_cache_dir() if folder == "default" else (Path(folder) if folder else None)

    @staticmethod
    def key(
        u: NDArray[np.int64], i: NDArray[np.int64], r: NDArray[np.float32], shape: tuple[int, int], params: RatingParams
    ) -> str:
        """SHA-256 hex of the pairs, the ratings, the table sizes, the parameters and torch's version."""
        try:
            torch_version = metadata.version("torch")
        except metadata.PackageNotFoundError:  # pragma: no cover
            torch_version = "none"
        h = hashlib.sha256(json.dumps([_FORMAT, torch_version, shape, params.as_dict()]).encode())
        for a in (u, i, r):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()

    def get(self, key: str, shape: tuple[int, int], params: RatingParams) -> RatingModel | None:
        """The stored model, or None."""
        if self.folder is None:
            return None
        stem = self.folder / key
        try:
            with np.load(stem.with_suffix(".npz"), allow_pickle=False) as z:
                arrays = {k: z[k] for k in ("user_vectors", "item_vectors", "user_bias", "item_bias", "global_mean")}
            meta = json.loads(stem.with_suffix(".json").read_text())
        except (OSError, ValueError, KeyError):
            return None
        n_users, n_items = shape
        if arrays["user_vectors"].shape != (n_users, params.dim) or arrays["item_vectors"].shape != (
            n_items,
            params.dim,
        ):
            return None
        mean = float(arrays.pop("global_mean"))
        return RatingModel(**arrays, global_mean=mean, params=params, elapsed_s=float(meta.get("elapsed_s", 0.0)))

    def put(self, key: str, model: RatingModel) -> None:
        """Write ``model`` atomically; a no-op when the folder is not writable."""
        if self.folder is None:
            return
        stem = self.folder / key
        arrays = {k: getattr(model, k) for k in ("user_vectors", "item_vectors", "user_bias", "item_bias")}
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.folder, suffix=".npz", delete=False) as f:
                np.savez(f, **arrays, global_mean=np.float64(model.global_mean))
            stem.with_suffix(".json").write_text(
                json.dumps({"params": model.params.as_dict(), "elapsed_s": model.elapsed_s})
            )
            os.replace(f.name, stem.with_suffix(".npz"))
        except OSError:
            return


def fit_ratings_cached(
    users: NDArray[np.integer],
    items: NDArray[np.integer],
    ratings: NDArray[np.floating],
    *,
    n_users: int,
    n_items: int,
    params: RatingParams | None = None,
    progress: Callable[[float, str], None] | None = None,
    store: RatingModelStore | None = None,
) -> RatingModel:
    """:func:`fit_ratings`, read from the disk store when the same data and parameters were fitted
    before (same arguments and errors; ``store`` defaults to :class:`RatingModelStore` ())."""
    params = params or RatingParams()
    u, i, r = check_pairs(users, items, ratings, n_users, n_items)
    store = store if store is not None else RatingModelStore()
    key = store.key(u, i, r, (n_users, n_items), params)
    hit = store.get(key, (n_users, n_items), params)
    if hit is not None:
        if progress is not None:
            progress(1.0, "read from the disk cache")
        return hit
    model = fit_ratings(u, i, r, n_users=n_users, n_items=n_items, params=params, progress=progress)
    store.put(key, model)
    return model
