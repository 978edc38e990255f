"""Opt-in links to an uploaded set, within this server: an unguessable token (``secrets``, 128
bits) names a shared copy, never the set's fingerprint, so knowing a file's content does not
give access to it. The session that shared it lists its links on the Data page and can revoke
them; a revoked or expired link says so. At most :data:`MAX_SHARED` links are held per server
(the oldest goes first); nothing is written to disk.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

from viz_app.data.model import EmbeddingSet
from viz_app.ui import safe, state

#: Shared links held by one server at once.
MAX_SHARED = 16
#: Session key: tokens this session created (newest last).
MY_SHARES = "_my_shares"


@dataclass(frozen=True)
class Shared:
    """One shared set: the set, its file name and when it was shared (epoch seconds)."""

    es: EmbeddingSet
    name: str
    created: float


class _Links:
    def __init__(self) -> None:
        self.items: OrderedDict[str, Shared] = OrderedDict()
        self.lock = threading.Lock()

    def add(self, es: EmbeddingSet, name: str) -> str:
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.items[token] = Shared(es, name, time.time())
            while len(self.items) > MAX_SHARED:
                self.items.popitem(last=False)
        return token

    def get(self, token: str) -> Shared | None:
        with self.lock:
            return self.items.get(token)

    def revoke(self, token: str) -> None:
        with self.lock:
            self.items.pop(token, None)


@st.cache_resource
def links() -> _Links:
    """The server's shared links (one object per server process)."""
    return _Links()


def shared_set(token: str) -> EmbeddingSet | None:
    """The set a link token names, or None (revoked, expired, or never shared)."""
    found = links().get(token)
    return found.es if found is not None else None


def share_panel(es: EmbeddingSet) -> None:
    """For an uploaded set: a button that makes a link to it, and this session's links with
    a "Revoke" button each."""
    ds = state.get(state.DATASET) or {}
    mine = [t for t in state.get(MY_SHARES, []) if links().get(t) is not None]
    if ds.get("kind") != "upload" and not mine:
        return
    with st.expander("Share by link", expanded=bool(mine)):
        st.caption(
            "Makes a link that opens this set in another browser on this server; it holds an "
            "unguessable token (not the file's fingerprint). Anyone with the link can see the set "
            "until you revoke it."
        )
        if ds.get("kind") == "upload" and st.button("Make a link to this upload", key="share_make"):
            token = links().add(es, es.name)
            state.put(MY_SHARES, [*mine, token])
            mine = [*mine, token]
        base = str(getattr(st.context, "url", "") or "").split("?")[0].rstrip("/")
        base = base.rsplit("/data", 1)[0] if base.endswith("/data") else base
        for token in mine:
            item = links().get(token)
            if item is None:
                continue
            c1, c2 = st.columns([5, 1], vertical_alignment="center")
            c1.code(f"{base}/?shared={token}", language=None)
            when = time.strftime("%H:%M", time.localtime(item.created))
            c1.caption(safe.md(f"{item.name} · {item.es.n_samples:,} points · shared at {when}"))
            if c2.button("Revoke", key=f"share_revoke_{token}"):
                links().revoke(token)
                state.put(MY_SHARES, [t for t in mine if t != token])
                st.rerun()
