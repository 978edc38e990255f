"""Data page blocks: sample picker, upload with progress, column choices, preview."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from viz_app.data import io, samples
from viz_app.data.model import EmbeddingSet
from viz_app.data.readers.roles import RolesError
from viz_app.embed.encoders import encode_reporting
from viz_app.errors import VizAppError
from viz_app.ui import cache, mapfiles, roles_views, safe, state, viewstate
from viz_app.ui.progress import bar_progress


def sample_picker() -> None:
    """Choose a bundled sample; it becomes the session's dataset."""
    keys = list(samples.SAMPLES)
    cur = state.get(state.DATASET) or {}
    idx = keys.index(cur["key"]) if cur.get("kind") == "sample" and cur.get("key") in keys else 0
    key = st.radio("Bundled sample", keys, index=idx, format_func=lambda k: samples.SAMPLES[k].title)
    st.caption(samples.SAMPLES[key].description)
    if st.button("Load sample", type="primary"):
        state.put(state.DATASET, {"kind": "sample", "key": key, "name": samples.SAMPLES[key].title})
        state.put(state.UPLOAD_MSG, ("success", f"Loaded sample: {samples.SAMPLES[key].title}"))


def embed_with_progress(raw: io.RawData) -> EmbeddingSet:
    """The set of a parsed file; texts are embedded in an ``st.status`` with a progress bar."""
    if raw.vectors is not None:
        return io.to_embedding_set(raw)
    what = f"the {raw.n_samples:,} texts of column {raw.text_column!r}" if raw.roles else f"{raw.n_samples:,} texts"
    why = next((r.reason for r in raw.roles if r.role == "text"), "")
    with st.status(f"Embedding {what} from {raw.name} with all-MiniLM-L6-v2", expanded=True) as s:
        if why:
            st.caption(safe.md(f"Column {raw.text_column!r}: {why}."))
        bar = st.progress(0.0, text="starting")
        encode_reporting(raw.texts or [], progress=bar_progress(bar))  # fills the encoder's cache
        es = io.to_embedding_set(raw)
        s.update(label=f"Embedded {es.n_samples:,} texts from {raw.name}", state="complete", expanded=False)
    return es


def uploader() -> None:
    """File inputs; each upload is parsed once, embedded if it holds texts, and made current.

    Both inputs are emptied once a file has been processed (their keys carry a round number),
    so every upload is one event: a metadata file is joined only to the embeddings file
    uploaded with or after it, never to a file that sat in the input from an earlier load.
    A bad file shows one error naming the file and the problem; the session keeps its data.
    """
    rnd = state.get(UPLOAD_ROUND, 0)
    main = st.file_uploader(
        "Upload embeddings",
        key=f"upload_main_{rnd}",
        help="CSV, TSV, Embedding Projector TSV, word2vec/GloVe text, plain text, .npy, .npz, .parquet",
    )
    meta = st.file_uploader(
        "Optional metadata TSV (Embedding Projector pair)",
        key=f"upload_meta_{rnd}",
        type=["tsv", "txt", "csv"],
        help="One row per vector, in the same order. Upload it before (or with) the "
        "tensors file it belongs to; it is joined to the next embeddings file.",
    )
    if main is None:
        if meta is not None:
            st.caption(
                f"Metadata ready: {safe.md(meta.name)}. It will be joined to the next embeddings file you upload."
            )
        return
    sig = (rnd, main.file_id, getattr(meta, "file_id", None))
    if state.get(state.UPLOAD_SIG) == sig:
        return
    state.put(state.UPLOAD_SIG, sig)
    accept_upload(main, meta, name=main.name)
    state.put(UPLOAD_ROUND, rnd + 1)
    st.rerun()


#: Session key of the upload inputs' round number (a new round = new, empty inputs).
UPLOAD_ROUND = "_upload_round"


def accept_upload(main, meta=None, *, name: str | None = None, choice: dict | None = None) -> bool:
    """Parse (and embed) an uploaded file; on success it becomes the session's dataset.

    ``choice``: column roles for a table (keyword arguments of :func:`viz_app.data.io.read`,
    from the roles table). On a :class:`~viz_app.errors.VizAppError` the message is kept for
    display and the session's dataset is unchanged. The bytes of the last uploaded table are
    kept in this session (:mod:`viz_app.ui.roles_views`) so its roles can be changed; no other
    upload's bytes are kept. Returns True on success.
    """
    try:
        raw = io.read(main, metadata=meta, name=name, **(choice or {}))
        roles_views.remember(main, meta, name, raw.roles)
        es = embed_with_progress(raw)
        stored = mapfiles.adopt(es, raw) if raw.stored_map is not None else ""
        key = cache.put_session_set(es)
    except RolesError as exc:
        roles_views.remember(main, meta, name, exc.roles)
        state.put(state.UPLOAD_MSG, ("error", f"Could not load this file. {exc}"))
        return False
    except VizAppError as exc:
        state.put(state.UPLOAD_MSG, ("error", f"Could not load this file. {exc}"))
        return False
    state.put(state.DATASET, {"kind": "upload", "key": key, "name": es.name, "fingerprint": es.fingerprint})
    roles_views.loaded(key)
    embedded = f"Embedded {es.n_samples:,} texts from {raw.name} with {es.model_name}." if raw.vectors is None else ""
    note = " ".join(_sentence(n) for n in raw.notices + tuple(t for t in (embedded, stored) if t))
    state.put(
        state.UPLOAD_MSG,
        (
            "success",
            f"Loaded {es.name}: {es.n_samples:,} point{'s' if es.n_samples != 1 else ''} × {es.n_features} dims "
            f"({raw.format}). {note}".strip(),
        ),
    )
    return True


def _sentence(text: str) -> str:
    """``text`` as a sentence: first letter capitalised, ending with a full stop."""
    text = text.strip()
    return (text[:1].upper() + text[1:]) + ("" if text.endswith((".", "!", "?")) else ".")


def show_message() -> None:
    """The result of the last load (success or error), as plain text."""
    msg = state.get(state.UPLOAD_MSG)
    if msg:
        (safe.error if msg[0] == "error" else safe.success)(msg[1])


def column_choices(es: EmbeddingSet) -> None:
    """Pick the label column of an uploaded dataset (labels show on hover and in tables)."""
    ds = state.get(state.DATASET) or {}
    cols = [c for c in es.metadata.columns]
    if ds.get("kind") != "upload" or not cols:
        return

    def apply() -> None:  # only when the choice changes: with_labels re-hashes the vectors
        choice = st.session_state["label_column"]
        if choice != "(keep current labels)":
            try:
                key = cache.put_session_set(es.with_labels(choice))
            except VizAppError as exc:
                state.put(state.UPLOAD_MSG, ("error", str(exc)))
                return
            state.put(state.DATASET, {**ds, "key": key})

    st.selectbox("Label column", ["(keep current labels)"] + cols, key="label_column", on_change=apply)


def preview(es: EmbeddingSet, rows: int = 500) -> None:
    """Summary line and the first rows of the table (ids, labels, metadata; no vectors)."""
    model = f" · embedded with {es.model_name}" if es.model_name else ""
    st.markdown(f"**Current dataset:** {safe.md(es.name)} · {es.n_samples:,} points · {es.n_features} dims{model}")
    st.dataframe(es.table().head(rows), width="stretch", height=320, hide_index=True)


def settings_loader(current: Callable[[], EmbeddingSet | None]) -> None:
    """Upload a settings JSON (or an exported PNG/SVG/HTML that embeds it) to re-create a map."""

    f = st.file_uploader(
        "Load settings (.settings.json, or an exported PNG/SVG/HTML)",
        key="upload_settings",
        type=["json", "png", "svg", "html"],
    )
    if f is None or state.get("_settings_sig") == f.file_id:
        return
    state.put("_settings_sig", f.file_id)
    try:
        state.put(state.UPLOAD_MSG, ("success", viewstate.load_settings_file(f.getvalue(), current())))
    except VizAppError as exc:
        state.put(state.UPLOAD_MSG, ("error", f"Could not load these settings. {exc}"))
