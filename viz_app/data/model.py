"""Data model: :class:`EmbeddingSet`, :class:`ProjectionParams` and :class:`Projection`.

Column-based and frozen (no Python object per point): operations return new objects. Every
array is made read-only so a cached object can be shared safely between sessions.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from viz_app.errors import DataFormatError, ParameterError, UnknownIdError

__all__ = ["EmbeddingSet", "fingerprint_blocks", "fingerprint_vectors", "readonly"]


def fingerprint_vectors(vectors: NDArray[np.float32]) -> str:
    """SHA-256 hex digest of a vector array's shape, dtype and bytes (C order).

    Parameters
    ----------
    vectors : ndarray of shape (n_samples, n_features), dtype float32

    Returns
    -------
    str
        64 hex characters; equal arrays give equal digests on any machine.
    """
    arr = np.ascontiguousarray(vectors)
    return fingerprint_blocks(arr.shape, arr.dtype, [arr])


def fingerprint_blocks(shape: tuple[int, ...], dtype: np.dtype[Any], blocks: Iterable[np.ndarray]) -> str:
    """:func:`fingerprint_vectors` of an array given as consecutive blocks of rows (e.g. the
    partitions of a set too large for one process), one block in memory at a time.

    Parameters
    ----------
    shape : tuple of int
        The whole array's shape, ``(n_samples, n_features)``.
    dtype : numpy dtype
        The whole array's dtype (float32 for an EmbeddingSet).
    blocks : iterable of ndarray of shape (m_i, n_features)
        The rows in order (``sum(m_i) == n_samples``), each of ``dtype``.

    Returns
    -------
    str
        The SHA-256 hex digest :func:`fingerprint_vectors` gives the whole array.

    Raises
    ------
    ParameterError
        A block of another dtype or width, or rows that do not add up to ``shape[0]``.
    """
    shape = tuple(int(s) for s in shape)
    h = hashlib.sha256()
    h.update(f"{shape}|{np.dtype(dtype).str}|".encode())
    rows = 0
    for block in blocks:
        arr = np.ascontiguousarray(block)
        if arr.dtype != dtype or arr.shape[1:] != shape[1:]:
            raise ParameterError(f"block of shape {arr.shape} and dtype {arr.dtype} in an array of {shape}, {dtype}")
        h.update(memoryview(arr).cast("B"))  # type: ignore[arg-type]
        rows += arr.shape[0]
    if rows != shape[0]:
        raise ParameterError(f"blocks hold {rows:,} rows, not {shape[0]:,}")
    return h.hexdigest()


def readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class EmbeddingSet:
    """A set of embedding vectors with their ids, labels and metadata.

    Parameters
    ----------
    vectors : array-like of shape (n_samples, n_features)
        Converted to a read-only C-contiguous ``float32`` array. Must be finite.
    ids : sequence of str of length n_samples, optional
        Unique row identifiers; default ``"0" .. "n-1"``. Plot selections map back through
        these, never through trace point indices.
    labels : sequence of str of length n_samples, optional
        What a person reads on hover and in tables; duplicates are allowed. Default: ``ids``.
    metadata : DataFrame with n_samples rows, optional
        Extra columns (category, text, counts, ...); index reset to ``0..n-1``.
    name : str, default="embeddings"
        Display name of the dataset (file name or sample title).
    model_name : str or None
        Encoder that produced the vectors (e.g. ``"all-MiniLM-L6-v2"``), if known. Sets made
        by a text model can embed free text on the fly later.
    text_column : str or None
        Metadata column holding the source text of each item, if any.

    Attributes
    ----------
    fingerprint : str
        SHA-256 of the vectors (:func:`fingerprint_vectors`); keys caches of results that depend on
        the vectors only (projections, neighbour indexes).
    content_key : str
        SHA-256 of vectors, ids, labels, metadata and names; keys everything else.

    Raises
    ------
    DataFormatError
        Vectors not 2-D, with fewer than 1 row or column, not finite; ids not unique; lengths of
        ids/labels/metadata not equal to n_samples.
    """

    vectors: NDArray[np.float32]
    ids: NDArray[np.object_] = None  # type: ignore[assignment]
    labels: NDArray[np.object_] = None  # type: ignore[assignment]
    metadata: pd.DataFrame = None
    name: str = "embeddings"
    model_name: str | None = None
    text_column: str | None = None
    fingerprint: str = field(init=False)

    def __post_init__(self) -> None:
        try:
            vec = np.ascontiguousarray(np.asarray(self.vectors, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise DataFormatError(f"vectors are not numeric: {exc}", file=self.name) from None
        if vec.ndim != 2 or vec.shape[0] < 1 or vec.shape[1] < 1:
            raise DataFormatError(
                f"vectors must be a 2-D array (n_samples, n_features) with at least one row "
                f"and one column; got shape {vec.shape}",
                file=self.name,
            )
        n = vec.shape[0]
        if not np.isfinite(vec).all():
            bad = int(np.argwhere(~np.isfinite(vec))[0][0])
            raise DataFormatError(
                f"vectors contain NaN or infinite values (or values beyond float32 range); first at row index {bad}",
                file=self.name,
            )
        ids = np.asarray([str(i) for i in range(n)] if self.ids is None else self.ids, dtype=object)
        ids = np.array([str(i) for i in ids], dtype=object)
        if ids.shape != (n,):
            raise DataFormatError(f"{ids.shape[0]} ids for {n} vectors", file=self.name)
        if len(pd.unique(ids)) != n:
            dup = pd.Series(ids)[pd.Series(ids).duplicated()].iloc[0]
            raise DataFormatError(f"ids must be unique; {dup!r} occurs more than once", file=self.name)
        labels = ids.copy() if self.labels is None else np.array([str(s) for s in self.labels], dtype=object)
        if labels.shape != (n,):
            raise DataFormatError(f"{labels.shape[0]} labels for {n} vectors", file=self.name)
        meta = pd.DataFrame(index=range(n)) if self.metadata is None else self.metadata.reset_index(drop=True)
        if len(meta) != n:
            raise DataFormatError(f"metadata has {len(meta)} rows but there are {n} vectors", file=self.name)
        object.__setattr__(self, "vectors", readonly(vec))
        object.__setattr__(self, "ids", readonly(ids))
        object.__setattr__(self, "labels", readonly(labels))
        object.__setattr__(self, "metadata", meta)
        object.__setattr__(self, "fingerprint", fingerprint_vectors(vec))

    @functools.cached_property
    def content_key(self) -> str:
        """SHA-256 hex digest of everything that defines the set as a person sees it: the vectors
        (``fingerprint``), ids, labels, metadata (column names, dtypes and values), name, model
        name and text column. Caches of anything that shows labels or metadata are keyed by it, so
        two sets with equal vectors and other labels never share a result; computed once."""
        h = hashlib.sha256(self.fingerprint.encode())
        for col in (self.ids, self.labels):
            h.update(b"\x02" + "\x00".join(col).encode("utf-8", "surrogatepass"))
        meta = self.metadata
        h.update(b"\x03" + repr([(str(c), str(meta[c].dtype)) for c in meta.columns]).encode("utf-8", "surrogatepass"))
        for c in meta.columns:
            try:
                hashed = pd.util.hash_pandas_object(meta[c], index=False).to_numpy()
            except TypeError:  # unhashable cells (lists, dicts): hash their text
                hashed = pd.util.hash_pandas_object(meta[c].astype(str), index=False).to_numpy()
            h.update(b"\x04" + hashed.tobytes())
        h.update(b"\x05" + repr((self.name, self.model_name, self.text_column)).encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    @functools.cached_property
    def _id_index(self) -> pd.Index:
        """pandas Index of the ids, built once (lookups by id are hashed)."""
        return pd.Index(self.ids)

    @property
    def n_samples(self) -> int:
        """Number of vectors (rows)."""
        return int(self.vectors.shape[0])

    @property
    def n_features(self) -> int:
        """Dimension of each vector."""
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        return (
            f"EmbeddingSet(name={self.name!r}, n_samples={self.n_samples}, "
            f"n_features={self.n_features}, metadata={list(self.metadata.columns)}, "
            f"model_name={self.model_name!r})"
        )

    def table(self) -> pd.DataFrame:
        """Rows as a table: ``id``, ``label`` and the metadata columns (no vectors).

        Returns
        -------
        DataFrame of shape (n_samples, 2 + n_metadata_columns)
        """
        df = pd.DataFrame({"id": self.ids, "label": self.labels})
        for c in self.metadata.columns:
            if c not in ("id", "label"):
                df[c] = self.metadata[c].to_numpy()
        return df

    def index_of(self, ids: Any) -> NDArray[np.intp]:
        """Row indices of the given ids (order kept).

        Raises
        ------
        UnknownIdError
            An id is not in the set.
        """

        wanted = np.atleast_1d(np.asarray(ids, dtype=object))
        pos = self._id_index.get_indexer(wanted)
        if (pos < 0).any():
            missing = str(wanted[np.flatnonzero(pos < 0)[0]])
            raise UnknownIdError(f"id {missing!r} is not in {self.name!r}")
        return pos.astype(np.intp)

    def with_labels(self, column: str) -> EmbeddingSet:
        """A copy whose labels are the values (as str) of metadata column ``column``.

        Raises
        ------
        ParameterError
            ``column`` is not a metadata column.
        """
        if column not in self.metadata.columns:
            raise ParameterError(f"{column!r} is not a metadata column; columns: {list(self.metadata.columns)}")
        labels = self.metadata[column].astype("string").fillna("").to_numpy(dtype=object)
        return EmbeddingSet(
            self.vectors,
            ids=self.ids,
            labels=labels,
            metadata=self.metadata,
            name=self.name,
            model_name=self.model_name,
            text_column=self.text_column,
        )

    def subset(self, rows: Any, *, name: str | None = None) -> EmbeddingSet:
        """A new set with only the given rows (integer positions or boolean mask), order kept."""
        idx = np.asarray(rows)
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        if idx.size == 0:
            raise ParameterError("a subset needs at least one row")
        return EmbeddingSet(
            self.vectors[idx],
            ids=self.ids[idx],
            labels=self.labels[idx],
            metadata=self.metadata.iloc[idx].reset_index(drop=True),
            name=name or self.name,
            model_name=self.model_name,
            text_column=self.text_column,
        )
