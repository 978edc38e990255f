"""Error classes of Embedding Lens.

Every error the core raises on purpose is a :class:`VizAppError`. Each subclass also inherits
the matching builtin (``ValueError``, ``KeyError``, ``ImportError``) so callers that already
catch those keep working. Messages name the file, row, column or value received and what is
allowed; the Streamlit layer shows them verbatim with ``st.error`` and never a traceback.
"""

from __future__ import annotations

__all__ = [
    "DataFormatError",
    "ExpressionError",
    "JobTimeoutError",
    "MissingDependencyError",
    "ParameterError",
    "ResourceLimitError",
    "UnknownIdError",
    "VizAppError",
]


class VizAppError(Exception):
    """Base class of every error raised on purpose by ``viz_app``."""


class DataFormatError(VizAppError, ValueError):
    """A file or array cannot be read as embeddings.

    Parameters
    ----------
    message : str
        What is wrong and what is accepted.
    file : str or None
        Name of the offending file, prefixed to the message when given.
    row, column : int, str or None
        1-based row (as a text editor counts lines) and column name/number, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.file = file
        self.row = row
        self.column = column
        where = []
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
        prefix = f"{file}: " if file else ""
        loc = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{loc}{message}")


class ParameterError(VizAppError, ValueError):
    """A parameter is out of its allowed range or of the wrong kind."""


class ExpressionError(VizAppError, ValueError):
    """A vector-arithmetic expression cannot be parsed or names an unknown term."""


class UnknownIdError(VizAppError, KeyError):
    """An id or label that is not in the embedding set."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(VizAppError, ImportError):
    """An optional library or external program (e.g. Chromium for image export) is missing."""


class ResourceLimitError(VizAppError, ValueError):
    """Input exceeds a configured budget (upload size, rows x dims, texts per job, ...)."""


class JobTimeoutError(ResourceLimitError):
    """A computation ran longer than its time limit and was cancelled
    (``EMBEDDING_LENS_JOB_TIMEOUT_S``, see :mod:`viz_app.reduce.worker`)."""
