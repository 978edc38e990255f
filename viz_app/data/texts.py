"""Texts -> an :class:`~viz_app.data.model.EmbeddingSet`, embedded with sentence-transformers
(the encoders of :mod:`viz_app.embed`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from viz_app.data.model import EmbeddingSet
from viz_app.embed import DEFAULT_MODEL, encode

__all__ = ["embed_texts"]


def embed_texts(
    texts: Sequence[str],
    *,
    model: str | None = None,
    labels: Sequence[str] | None = None,
    metadata: Any = None,
    name: str = "texts",
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
) -> EmbeddingSet:
    """Embed texts into an :class:`~viz_app.data.model.EmbeddingSet` (see :func:`encode`).

    Parameters
    ----------
    texts : sequence of str, length n
    labels : sequence of str, optional
        Display labels; default the texts themselves, shortened to 80 characters.
    metadata : DataFrame with n rows, optional
        Extra columns; a ``text`` column with the full texts is added when missing.

    Returns
    -------
    EmbeddingSet
        ``vectors`` (n, 384) float32 unit-norm for the default model; ``model_name`` set.
    """
    texts = list(texts)
    vecs = encode(texts, model=model, batch_size=batch_size, progress=progress)
    meta = pd.DataFrame(index=range(len(texts))) if metadata is None else metadata.reset_index(drop=True).copy()
    if "text" not in meta.columns:
        meta["text"] = texts
    labs = list(labels) if labels is not None else [t if len(t) <= 80 else t[:79] + "…" for t in texts]
    return EmbeddingSet(
        vecs,
        labels=np.asarray(labs, dtype=object),
        metadata=meta,
        name=name,
        model_name=model or DEFAULT_MODEL,
        text_column="text",
    )
