"""Bounded in-memory store for what the live map serves by URL, under unguessable tokens.

The map's files are served by a route of the app's own server, outside any Streamlit
session (``viz_app.ui.map.server``), so a URL is the only key to its data. Each token is an
HMAC-SHA256 of the content's digest under a random per-process secret (RFC 2104, Python's
:mod:`hmac`), 128 bits: a session learns the tokens of its own maps only, and cannot derive
another's without the secret (identical content gives the same token, which reveals nothing the
session does not hold already). Tokens die with the process.

Memory is bounded: entries are evicted least recently used first once their bytes exceed
``max_bytes``. A session whose map was evicted puts it back on its next rerun
(``viz_app.ui.map.live_map`` always does), and a page that already fetched a file keeps it.
All storage sits behind this one class, so it can move onto the app's shared byte-bounded cache
layer without touching its callers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from typing import Any

__all__ = ["DEFAULT_MAX_BYTES", "BlobStore"]

#: Default budget of a store, bytes (1M 2-D points with labels are ~20 MB).
DEFAULT_MAX_BYTES = 512 * 2**20


class BlobStore:
    """Files (``bytes``) and objects under HMAC tokens, least recently used evicted first.

    Parameters
    ----------
    max_bytes : int, default=DEFAULT_MAX_BYTES
        Budget for the stored bytes plus each object's declared size. A single entry larger
        than the budget is still stored (everything else is evicted).
    secret : bytes, optional
        HMAC key; default 32 random bytes (:func:`secrets.token_bytes`).

    Notes
    -----
    Thread-safe: script threads put, the server's event loop gets.
    """

    def __init__(self, *, max_bytes: int = DEFAULT_MAX_BYTES, secret: bytes | None = None) -> None:
        self.max_bytes = int(max_bytes)
        self._secret = secret if secret is not None else secrets.token_bytes(32)
        self._items: OrderedDict[str, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self._lock = threading.Lock()

    def token(self, digest: str, kind: str = "blob") -> str:
        """The token of content with SHA-256 ``digest`` (hex): 32 hex characters."""
        return hmac.new(self._secret, f"{kind}:{digest}".encode(), hashlib.sha256).hexdigest()[:32]

    def _put(self, token: str, value: Any, nbytes: int) -> None:
        with self._lock:
            if token in self._items:
                self._items.move_to_end(token)
                return
            self._items[token] = (value, nbytes)
            self._nbytes += nbytes
            while self._nbytes > self.max_bytes and len(self._items) > 1:
                _, (_, size) = self._items.popitem(last=False)
                self._nbytes -= size

    def put(self, data: bytes, *, digest: str | None = None) -> str:
        """Store ``data`` (no copy); return its token. ``digest``: its SHA-256 if known."""
        token = self.token(digest or hashlib.sha256(data).hexdigest())
        self._put(token, bytes(data), len(data))
        return token

    def get(self, token: str) -> bytes | None:
        """The bytes under ``token``, or None (unknown, evicted, or an object's token)."""
        value = self._get(token)
        return value if isinstance(value, bytes) else None

    def put_object(self, key: str, obj: Any, *, nbytes: int) -> str:
        """Store ``obj`` under the token of ``key`` (a content key); ``nbytes``: its memory."""
        token = self.token(key, "object")
        self._put(token, obj, int(nbytes))
        return token

    def get_object(self, token: str) -> Any:
        """The object under ``token``, or None."""
        value = self._get(token)
        return None if isinstance(value, bytes) else value

    def _get(self, token: str) -> Any:
        with self._lock:
            item = self._items.get(token)
            if item is None:
                return None
            self._items.move_to_end(token)
            return item[0]

    def __contains__(self, token: str) -> bool:
        with self._lock:
            return token in self._items

    @property
    def nbytes(self) -> int:
        """Bytes currently accounted for."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)
