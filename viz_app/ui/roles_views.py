"""Data page: the column roles of the last uploaded table, shown and changeable before the set is
rebuilt (:mod:`viz_app.data.readers.roles` decides them and says why).

The last table upload's bytes are kept in this session's own store (``cache.session_sets``: only
tables, only the last one, within the session's byte quota), so a change of roles re-reads the
same file; they go when another file is uploaded, or with the session's data when it ends (the
closed-session sweep; in ``st.session_state`` they stayed until Streamlit dropped the session).
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pandas as pd
import streamlit as st

from viz_app.data.readers.common import ColumnRole
from viz_app.data.readers.roles import ROLES, choice_from_roles, roles_table
from viz_app.ui import cache, safe, state

#: Key (after the owner) of the last uploaded table in this session's store: dict(name, data, meta,
#: roles, key: its dataset key once loaded).
ROLE_UPLOAD = "_role_upload"
_RESHOWN = "_roles_round"


def _bytes(f) -> bytes | None:
    if f is None:
        return None
    if hasattr(f, "getvalue"):
        return bytes(f.getvalue())
    if getattr(f, "seekable", lambda: False)():
        f.seek(0)
    return bytes(f.read())


def remember(main, meta, name: str | None, roles: tuple[ColumnRole, ...]) -> None:
    """Keep an uploaded table (its bytes and roles) so its roles can be changed; a file that is
    not a table (no roles) forgets the previous one."""
    owner = cache.session_owner()
    store = cache.session_sets()
    store.pop((owner, ROLE_UPLOAD))
    if not roles:
        return
    info = {"name": name, "data": _bytes(main), "meta": _bytes(meta), "roles": tuple(roles), "key": None}
    store.put((owner, ROLE_UPLOAD), info, owner=owner)  # not kept if over the session's quota
    state.put(_RESHOWN, state.get(_RESHOWN, 0) + 1)


def _remembered() -> dict | None:
    return cache.session_sets().get((cache.session_owner(), ROLE_UPLOAD))


def loaded(key: str) -> None:
    """The remembered table loaded as the dataset with store key ``key``."""
    info = _remembered()
    if info:
        info["key"] = key  # in place: a new put could evict the session's just-loaded set


def role_editor(load: Callable[..., bool]) -> None:
    """The roles table of the last uploaded table; "Load with these roles" re-reads it with the
    edited roles through ``load(main, meta, name=..., choice=...)`` (the uploader's function)."""
    info = _remembered()
    ds = state.get(state.DATASET) or {}
    if not info or (info["key"] is not None and (ds.get("kind"), ds.get("key")) != ("upload", info["key"])):
        return  # shown after a failed load, or while this upload is the dataset
    roles = info["roles"]
    counts = pd.Series([r.role for r in roles]).value_counts()
    summary = ", ".join(f"{counts.get(r, 0)} {r}" for r in ROLES if counts.get(r, 0))
    st.markdown(f"**Column roles of {safe.md(info['name'])}** · {summary}")
    st.caption(
        "Decided from each column's content; change a role and press the button to load the file "
        "again. vector = a dimension (or a list column: the whole vector); label = the labels; "
        "text = the texts to embed (when there are no vectors) or the item text; metadata = kept "
        "for colour and tables."
    )
    table = roles_table(roles)
    edited = st.data_editor(
        table,
        key=f"roles_editor_{state.get(_RESHOWN, 0)}",
        hide_index=True,
        width="stretch",
        height=min(38 + 35 * len(table), 260),
        disabled=["column", "kind", "reason"],
        column_config={
            "column": st.column_config.TextColumn("column", width="small"),
            "kind": st.column_config.TextColumn("kind", width="small"),
            "role": st.column_config.SelectboxColumn("role", options=list(ROLES), required=True, width="small"),
            "reason": st.column_config.TextColumn("reason", width="large"),
        },
    )
    changed = [c for c, a, b in zip(table["column"], table["role"], edited["role"], strict=True) if a != b]
    label = "Load with these roles" + (f" ({len(changed)} changed)" if changed else "")
    if st.button(label, key="roles_load", disabled=not changed, type="primary" if changed else "secondary"):
        main = io.BytesIO(info["data"])
        meta = io.BytesIO(info["meta"]) if info["meta"] is not None else None
        load(main, meta, name=info["name"], choice=choice_from_roles(edited))
        st.rerun()
