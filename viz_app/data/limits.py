"""Resource budgets of Embedding Lens: one frozen config, checked before memory is allocated.

Every budget has a default sized for the reference machine (2 CPU cores, 24 GB RAM, a few
sessions at once) and an environment variable that overrides it. :func:`get_limits` reads the
variables on every call, so a change takes effect without a restart; pass a :class:`Limits`
explicitly (``viz_app.read(..., limits=Limits(max_texts=10))``) to override one call.

=================  =================================  =============  ====================================
field              environment variable               default        why
=================  =================================  =============  ====================================
max_upload_bytes   ``EMBEDDING_LENS_MAX_UPLOAD_MB``   1024 MiB       parsing a text table peaks at ~4-6x
                                                                     the file (text, pandas float64,
                                                                     float32); 1 GiB stays < 8 GB. The
                                                                     web app is also capped by
                                                                     Streamlit's ``server.maxUploadSize``.
max_matrix_bytes   ``EMBEDDING_LENS_MAX_MATRIX_MB``   2048 MiB       the float32 vector matrix
                                                                     n_samples x n_features x 4 bytes:
                                                                     e.g. 1.4M x 384 or 400k x 1300;
                                                                     projections and kNN copy it 1-3x.
max_inflated_bytes ``EMBEDDING_LENS_MAX_INFLATED_MB`` 4096 MiB       what an ``.npz`` (zip) or parquet
                                                                     file declares it holds once
                                                                     decompressed (float64 vectors of
                                                                     the largest allowed matrix).
max_npz_members    ``EMBEDDING_LENS_MAX_NPZ_MEMBERS`` 64             an ``.npz`` holds vectors, labels
                                                                     and a few metadata arrays.
max_texts          ``EMBEDDING_LENS_MAX_TEXTS``       50,000         texts per embedding job: MiniLM on
                                                                     2 CPU cores embeds a few hundred
                                                                     sentences/s, so 50k is minutes.
max_line_bytes     ``EMBEDDING_LENS_MAX_LINE_MB``     1 MiB          one line of a text file (a CSV row
                                                                     of 8,192 dims is ~100 KB; the text
                                                                     model reads 256 tokens of a text);
                                                                     checked before decoding.
max_columns        ``EMBEDDING_LENS_MAX_COLUMNS``     20,000         columns of a table (dims plus
                                                                     metadata), checked before pandas
                                                                     parses anything.
=================  =================================  =============  ====================================

The ``_MB`` variables are in MiB (2**20 bytes) and may be fractional (``0.5``); the others are
integers. A value that is not a positive number raises :class:`~viz_app.errors.ParameterError`
naming the variable.

The reducers' point budgets are in their specs (:mod:`viz_app.reduce.budget`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

import numpy as np

from viz_app.errors import ParameterError, ResourceLimitError

__all__ = ["ENV", "Limits", "get_limits"]

_MIB = 1 << 20
#: Environment variable of each :class:`Limits` field.
ENV: dict[str, str] = {
    "max_upload_bytes": "EMBEDDING_LENS_MAX_UPLOAD_MB",
    "max_matrix_bytes": "EMBEDDING_LENS_MAX_MATRIX_MB",
    "max_inflated_bytes": "EMBEDDING_LENS_MAX_INFLATED_MB",
    "max_npz_members": "EMBEDDING_LENS_MAX_NPZ_MEMBERS",
    "max_texts": "EMBEDDING_LENS_MAX_TEXTS",
    "max_line_bytes": "EMBEDDING_LENS_MAX_LINE_MB",
    "max_columns": "EMBEDDING_LENS_MAX_COLUMNS",
}


@dataclass(frozen=True)
class Limits:
    """Resource budgets; see the module docstring for the environment variables and defaults.

    Attributes
    ----------
    max_upload_bytes : int
        Largest file :func:`viz_app.read` accepts, bytes.
    max_matrix_bytes : int
        Largest vector matrix, as float32 (n_samples * n_features * 4), bytes.
    max_inflated_bytes : int
        Largest decompressed content an ``.npz`` or parquet file may declare, bytes.
    max_npz_members : int
        Largest number of members (arrays) in an ``.npz``.
    max_texts : int
        Largest number of texts embedded in one job.
    max_line_bytes : int
        Longest line of a text file, bytes.
    max_columns : int
        Most columns of a delimited table.
    """

    max_upload_bytes: int = 1024 * _MIB
    max_matrix_bytes: int = 2048 * _MIB
    max_inflated_bytes: int = 4096 * _MIB
    max_npz_members: int = 64
    max_texts: int = 50_000
    max_line_bytes: int = 1 * _MIB
    max_columns: int = 20_000

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ParameterError(f"Limits.{f.name} must be an integer >= 1, got {v!r}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Limits:
        """Defaults overridden by the ``EMBEDDING_LENS_*`` variables of ``environ`` (default
        ``os.environ``).

        Raises
        ------
        ParameterError
            A variable is set to something other than a positive number.
        """
        env = os.environ if environ is None else environ
        values = {}
        for name, var in ENV.items():
            raw = env.get(var, "").strip()
            if not raw:
                continue
            try:
                number = float(raw)
            except ValueError:
                number = float("nan")
            scale = _MIB if var.endswith("_MB") else 1
            if not (np.isfinite(number) and number > 0 and (scale > 1 or number == int(number))):
                kind = "a positive number of MiB" if scale > 1 else "a positive integer"
                raise ParameterError(f"environment variable {var}={raw!r} must be {kind}")
            values[name] = max(1, int(number * scale))
        return cls(**values)

    # -- checks; each raises ResourceLimitError saying the limit and how to change it ----------

    def check_upload(self, n_bytes: int, *, file: str) -> None:
        """Refuse a file larger than :attr:`max_upload_bytes`."""
        if n_bytes > self.max_upload_bytes:
            raise ResourceLimitError(
                f"{file}: the file is {_mib(n_bytes)}, over the {_mib(self.max_upload_bytes)} upload "
                f"limit; {_how('max_upload_bytes')}"
            )

    def check_matrix(self, n_samples: int, n_features: int, *, file: str, what: str = "the vectors") -> None:
        """Refuse vectors whose float32 matrix (``n_samples * n_features * 4`` bytes) is larger
        than :attr:`max_matrix_bytes`; called with declared/counted shapes, before parsing."""
        need = int(n_samples) * int(n_features) * 4
        if need > self.max_matrix_bytes:
            raise ResourceLimitError(
                f"{file}: {what} ({n_samples:,} x {n_features:,}) would need {_mib(need)} as float32, over the "
                f"{_mib(self.max_matrix_bytes)} limit; {_how('max_matrix_bytes')}"
            )

    def check_inflated(self, n_bytes: int, *, file: str, what: str = "the archive") -> None:
        """Refuse compressed content that declares more than :attr:`max_inflated_bytes`."""
        if n_bytes > self.max_inflated_bytes:
            raise ResourceLimitError(
                f"{file}: {what} declares {_mib(n_bytes)} once decompressed, over the "
                f"{_mib(self.max_inflated_bytes)} limit (checked before decompressing); "
                f"{_how('max_inflated_bytes')}"
            )

    def check_npz_members(self, n_members: int, *, file: str) -> None:
        """Refuse an ``.npz`` with more than :attr:`max_npz_members` members."""
        if n_members > self.max_npz_members:
            raise ResourceLimitError(
                f"{file}: the .npz archive has {n_members:,} members, over the limit of "
                f"{self.max_npz_members}; {_how('max_npz_members')}"
            )

    def check_texts(self, n_texts: int, *, file: str) -> None:
        """Refuse an embedding job of more than :attr:`max_texts` texts."""
        if n_texts > self.max_texts:
            raise ResourceLimitError(
                f"{file}: {n_texts:,} texts to embed, over the limit of {self.max_texts:,} per job; "
                f"{_how('max_texts')}, or embed a part of the file"
            )

    def check_line_lengths(self, data: bytes, *, file: str) -> None:
        """Refuse a text file with a line longer than :attr:`max_line_bytes` (the 1-based line
        is named). Linear: newline positions found by numpy in 64 MiB blocks, before decoding."""
        limit = self.max_line_bytes
        if len(data) <= limit:
            return
        arr = np.frombuffer(data, dtype=np.uint8)
        block, prev, line = 64 * _MIB, -1, 1  # prev: position of the last newline seen
        for lo in range(0, len(arr), block):
            nl = np.flatnonzero(arr[lo : lo + block] == 10) + lo
            gaps = np.diff(np.concatenate(([prev], nl)))  # line length + 1 for each line ending here
            over = np.flatnonzero(gaps - 1 > limit)
            if len(over):
                self._long_line(line + int(over[0]), int(gaps[over[0]] - 1), file)
            line += len(nl)
            prev = int(nl[-1]) if len(nl) else prev
        if len(arr) - 1 - prev > limit:
            self._long_line(line, len(arr) - 1 - prev, file)

    def _long_line(self, line: int, n: int, file: str) -> None:
        raise ResourceLimitError(
            f"{file}: line {line:,} is {_mib(n)} long, over the {_mib(self.max_line_bytes)} limit for one "
            f"line (is this a text file?); {_how('max_line_bytes')}"
        )

    def check_columns(self, n_columns: int, *, file: str) -> None:
        """Refuse a table of more than :attr:`max_columns` columns."""
        if n_columns > self.max_columns:
            raise ResourceLimitError(
                f"{file}: the table has {n_columns:,} columns, over the limit of {self.max_columns:,}; "
                f"{_how('max_columns')}"
            )


def _mib(n_bytes: int) -> str:
    return f"{n_bytes:,} bytes" if n_bytes < _MIB else f"{n_bytes / _MIB:,.1f} MiB"


def _how(field: str) -> str:
    unit = " (MiB)" if ENV[field].endswith("_MB") else ""
    return f"set the environment variable {ENV[field]}{unit} to raise the limit"


def get_limits() -> Limits:
    """The budgets in force: :class:`Limits` defaults overridden by the environment."""
    return Limits.from_env()
