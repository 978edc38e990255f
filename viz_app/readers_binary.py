"""NumPy files for :mod:`viz_app.io`: ``.npy`` (one array) and ``.npz`` (several named arrays).

Loaded with ``numpy.load(..., allow_pickle=False)``: pickled Python objects are never
unpickled, since unpickling an uploaded file can run arbitrary code.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import numpy as np
import pandas as pd

from viz_app.errors import DataFormatError
from viz_app.readers_common import RawData, checked_float32, empty_frame, row_labels, to_labels

__all__ = ["NPZ_LABEL_NAMES", "NPZ_VECTOR_NAMES", "read_npy", "read_npz"]

#: ``.npz`` member holding the vectors, by name (case-insensitive, first match in this order).
NPZ_VECTOR_NAMES = ("vectors", "embeddings", "x", "data", "arr_0")
#: ``.npz`` member holding the labels, by name (case-insensitive, first match in this order).
NPZ_LABEL_NAMES = ("labels", "label", "y", "words", "ids", "targets")
_PICKLE_MSG = (
    "holds Python objects (pickled data), which are refused for safety; "
    "save a numeric array, e.g. np.save(f, np.asarray(x, dtype=np.float32))"
)


def _vectors(arr: np.ndarray, *, file: str, what: str) -> np.ndarray:
    """Check a loaded array is 2-D numeric and return it as finite ``float32``."""
    if arr.dtype.kind == "O":
        raise DataFormatError(f"{what} {_PICKLE_MSG}", file=file)
    if arr.dtype.kind not in "fiu" or arr.dtype.names:
        raise DataFormatError(f"{what} has dtype {arr.dtype}; expected a float or integer array", file=file)
    if arr.ndim == 1:
        raise DataFormatError(
            f"{what} is a 1-D array of length {arr.shape[0]}, expected 2-D (n_samples, n_features)",
            file=file,
        )
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise DataFormatError(
            f"{what} has shape {arr.shape}, expected 2-D (n_samples, n_features) with n >= 1",
            file=file,
        )
    return checked_float32(arr, file=file, row_of=lambda r: r + 1, column_of=lambda c: c + 1)


def read_npy(data: bytes, *, file: str) -> RawData:
    """A ``.npy`` array of shape (n_samples, n_features), float or integer dtype.

    Returns
    -------
    RawData
        ``format="npy"``; labels are row numbers; metadata has no columns.

    Raises
    ------
    DataFormatError
        Object dtype (pickle), 1-D or >2-D array, non-numeric dtype, NaN/inf, damaged file.
    """
    try:
        arr = np.load(io.BytesIO(data), allow_pickle=False)
    except ValueError as exc:
        msg = _PICKLE_MSG if "allow_pickle" in str(exc) else f"is not a readable .npy file ({exc})"
        raise DataFormatError(f"the array {msg}", file=file) from None
    except (OSError, EOFError) as exc:
        raise DataFormatError(f"is not a readable .npy file ({exc})", file=file) from None
    vectors = _vectors(arr, file=file, what="the array")
    n = vectors.shape[0]
    return RawData(file, "npy", vectors, None, row_labels(n), empty_frame(n), None)


def _members(data: bytes, file: str) -> dict[str, np.ndarray | str]:
    """Every member of an ``.npz``: its array, or a string saying why it cannot be used."""
    try:
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFormatError(f"is not a readable .npz archive ({exc})", file=file) from None
    with npz:
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise DataFormatError("is not an .npz archive", file=file)
        out: dict[str, np.ndarray | str] = {}
        for key in npz.files:
            try:
                value = npz[key]
            except ValueError:
                out[key] = _PICKLE_MSG
                continue
            except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise DataFormatError(f"member {key!r} is damaged ({exc})", file=file) from None
            if not isinstance(value, np.ndarray):
                raise DataFormatError(
                    f"is a zip archive but not an .npz (member {key!r} is not a NumPy array); "
                    "accepted: .npz written by numpy.savez / savez_compressed",
                    file=file,
                )
            out[key] = value
    if not out:
        raise DataFormatError("the .npz archive has no arrays", file=file)
    return out


def _pick_member(members: dict, names: tuple[str, ...]) -> str | None:
    lower = {k.lower(): k for k in members}
    return next((lower[n] for n in names if n in lower), None)


def read_npz(data: bytes, *, file: str) -> RawData:
    """An ``.npz`` archive (``numpy.savez``) of vectors and, optionally, labels and metadata.

    Vectors: the member named vectors/embeddings/X/data/arr_0 (case-insensitive), else the only
    2-D numeric member. Labels: the 1-D member of length n named labels/label/y/words/ids/targets
    (str, bytes, int or bool dtype), else row numbers. Every 1-D member of length n becomes a
    metadata column.

    Returns
    -------
    RawData
        ``format="npz"``.
    """
    members = _members(data, file)
    key = _pick_member(members, NPZ_VECTOR_NAMES)
    if key is None:
        two_d = [k for k, v in members.items() if isinstance(v, np.ndarray) and v.ndim == 2 and v.dtype.kind in "fiu"]
        if len(two_d) != 1:
            shapes = {k: (v.shape if isinstance(v, np.ndarray) else "object") for k, v in members.items()}
            raise DataFormatError(
                f"cannot tell which member holds the vectors (members: {shapes}); name it "
                f"'vectors' or keep a single 2-D numeric array",
                file=file,
            )
        key = two_d[0]
    if isinstance(members[key], str):
        raise DataFormatError(f"member {key!r} {members[key]}", file=file)
    vectors = _vectors(members[key], file=file, what=f"member {key!r}")
    n = vectors.shape[0]
    cols = {k: v for k, v in members.items() if k != key and isinstance(v, np.ndarray) and v.shape == (n,)}
    meta = pd.DataFrame({k: _column(v) for k, v in cols.items()}, index=pd.RangeIndex(n)) if cols else empty_frame(n)
    label = _pick_member(cols, NPZ_LABEL_NAMES)
    labels = to_labels(meta[label]) if label else row_labels(n)
    skipped = [k for k in members if k != key and k not in cols]
    notices = (
        (f"members not used (not numeric/text 1-D arrays of length {n}): {', '.join(skipped)}",) if skipped else ()
    )
    return RawData(file, "npz", vectors, None, labels, meta, None, notices)


def _column(v: np.ndarray) -> np.ndarray:
    if v.dtype.kind == "S":
        return np.char.decode(v, "utf-8", errors="replace").astype(object)
    return v.astype(object) if v.dtype.kind == "U" else v
