"""Page building blocks: the current dataset, the projection with progress, the map."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.errors import VizAppError
from viz_app.explore.clusters import (
    MAX_LABELLED,
    NOISE_LABEL,
    OTHER_LABEL,
    advice,
    centroids_2d,
    cluster,
    cluster_table,
)
from viz_app.map.scene import cluster_labels
from viz_app.map.view import Label
from viz_app.reduce import PointBudgetError, Projection, ProjectionParams, check_points
from viz_app.ui import cache, mapfiles, safe, sharing, state
from viz_app.ui.progress import bar_progress

DEFAULT_COLOR = {
    "glove": "frequency_band",
    "news-reviews": "category",
    "digits": "digit",
    "glove-minilm": "frequency_band",
    "news-reviews-lsa": "category",
    "movielens": "main_genre",
}
#: What the progress bar of a sample's first load says, given (done, total).
LOAD_STEP = {"movielens": "Learning movie vectors from MovieLens ratings: epoch {d:,} / {t:,}"}


def current_dataset() -> tuple[EmbeddingSet, str | None] | None:
    """The session's dataset (default sample on first open) and its default colour column.

    Loading a sample that needs the text encoder shows a progress bar. Returns None (and shows
    a message) if an uploaded dataset was evicted from the server's store.
    """
    ds = state.get(state.DATASET) or mapfiles.startup_dataset() or {"kind": "sample", "key": samples.DEFAULT_SAMPLE}
    state.put(state.DATASET, ds)
    es = load_dataset(ds)
    if es is None:
        return None
    state.remember_set({"kind": ds["kind"], "key": ds["key"], "name": ds.get("name") or es.name})
    default = DEFAULT_COLOR.get(ds["key"]) if ds["kind"] == "sample" else None
    if state.get(state.COLOR_FOR) != (ds["kind"], ds["key"]):  # a newly opened set: its own default colour
        state.put(state.COLOR_FOR, (ds["kind"], ds["key"]))
        state.put(state.COLOR_BY, default or state.NO_COLOR)
        st.session_state.pop(f"_w_{state.COLOR_BY}", None)
    return es, default


def load_dataset(ds: dict) -> EmbeddingSet | None:
    """The set a dataset dict names (a sample is loaded, with a progress bar, if needed); None
    (with a message) when an uploaded set is no longer held by the server."""
    if ds["kind"] == "shared":  # an opt-in link (viz_app.ui.sharing)
        es = sharing.shared_set(ds["key"])
        if es is None:
            st.warning(
                "This shared link was revoked by the person who shared it, or the server no longer "
                "holds it. Ask for a new link, or upload the file on the Data page."
            )
        return es
    if ds["kind"] == "missing":  # a link to an upload this session does not hold
        st.warning(
            f"This link is for an uploaded file, {ds.get('name') or 'unnamed'} (fingerprint {ds['key']}…), which "
            "this session does not hold: an upload is not shared by its link. Upload the file on the Data page "
            "(or load a sample) to see a map."
        )
        return None
    if ds["kind"] == "sample":
        es = cache.datasets().get(("sample", ds["key"]))
        if es is None:
            slot = st.empty()
            with slot.container():
                bar = st.progress(0.0, text=f"Loading sample: {samples.SAMPLES[ds['key']].title}")
                es = cache.sample(
                    ds["key"],
                    progress=lambda d, t: bar.progress(
                        d / max(t, 1),
                        text=LOAD_STEP.get(ds["key"], "Embedding texts with all-MiniLM-L6-v2: {d:,} / {t:,}").format(
                            d=d, t=t
                        ),
                    ),
                )
            slot.empty()
        return es
    es = cache.session_set(ds["key"])  # uploads and subsets: this session's own, never another's
    if es is None:
        st.warning("This dataset is no longer held by the server; load or upload it again on the Data page.")
    return es


def reset_button() -> None:
    """For an isolated subset: a button back to the whole dataset it came from."""
    ds = state.get(state.DATASET) or {}
    if ds.get("kind") == "subset" and st.button("Reset: back to the whole dataset", key="reset_subset"):
        state.put(state.DATASET, ds.get("parent") or {"kind": "sample", "key": samples.DEFAULT_SAMPLE})
        st.rerun()


def compute_projection(es: EmbeddingSet, params: ProjectionParams) -> Projection | None:
    """The projection, from cache or computed with a visible progress bar; None on error.

    The reducer's point budget is checked first, even for a cached map, so the same settings
    always behave the same; over it, the error offers fitting on a seeded sample."""
    slot = st.empty()
    try:
        check_points(params.reducer, params.fit_sample or es.n_samples)
        hit = cache.projections().get((es.fingerprint, params))
        if hit is not None:
            return hit
        with slot.container():
            st.caption(f"Projecting {es.n_samples:,} points: {params.describe()}")
            bar = st.progress(0.0, text="starting (another session may be computing the same map)")
            proj = cache.projection(es, params, progress=bar_progress(bar))
        slot.empty()
        return proj
    except PointBudgetError as exc:
        slot.empty()
        _offer_sample(es, params, exc)
    except VizAppError as exc:
        slot.empty()
        safe.error(exc)
    return None


def _offer_sample(es: EmbeddingSet, params: ProjectionParams, exc: PointBudgetError) -> None:
    safe.error(exc)
    name = params.spec.display
    if st.button(
        f"Fit {name} on a seeded sample of {exc.budget:,} points and place the other "
        f"{exc.n_samples - exc.budget:,} with its transform",
        key="fit_sample_offer",
        type="primary",
    ):
        state.put(state.FIT_SAMPLE, (es.fingerprint, params.reducer, exc.budget))
        st.rerun()


def refit_button(es: EmbeddingSet, proj: Projection) -> None:
    """For a t-SNE/UMAP map read from the disk cache (no fitted reducer in memory): a button that
    fits it again (same seed: the same map) and keeps the reducer, so new vectors are placed with
    its own transform."""
    if proj.model is not None or proj.params.spec.transform_is_exact:
        return
    took = f" (about {proj.elapsed_s:.0f} s last time)" if proj.elapsed_s >= 1 else ""
    if not st.button(f"Re-fit the reducer to place exactly{took}", key="refit_model"):
        return
    bar = st.progress(0.0, text="re-fitting")
    try:
        cache.refit(es, proj.params, progress=bar_progress(bar))
    except VizAppError as exc:
        safe.error(exc)
        return
    st.rerun()


def describe(es: EmbeddingSet, proj: Projection) -> str:
    """Caption: dataset, n points, dims, reducer and its parameters, quality figure."""
    own = proj.params.spec.quality_text(proj.quality)
    q = f" · {own}" if own else ""
    model = f" · model {safe.md(es.model_name)}" if es.model_name else ""
    took = f" · fit took {proj.elapsed_s:.1f} s" if proj.elapsed_s >= 0.1 else ""

    return (
        f"**{safe.md(es.name)}** · {es.n_samples:,} points · {es.n_features} dims{model} · "
        f"{proj.params.describe()}{q}{took}"
    )


def compute_clusters(es: EmbeddingSet, proj: Projection, settings: dict):
    """Clustering, its table and one label per cluster (cached per dataset and settings)."""

    key = (
        "clusters",
        es.content_key,
        tuple(sorted(settings.items())),
        proj.params if settings.get("space") == "projection" else None,
    )

    def compute():
        c = cluster(
            es, coords=proj if settings.get("space") == "projection" else None, **{k: v for k, v in settings.items()}
        )
        return c, cluster_table(es, c)

    try:
        with st.spinner("Clustering (scikit-learn)"):
            found = cache.derived().get_or_compute(key, compute)
    except VizAppError as exc:
        safe.error(exc)
        return None
    tip = advice(found[0])
    if tip:
        safe.info(tip)
    return found


def cluster_colors(clustering, table) -> pd.Series:
    """Categorical colour column: "<id>: <label>" per cluster for the :data:`MAX_LABELLED` largest,
    in cluster order, then "other" (the smaller clusters), then "noise"."""

    names = {
        int(r.cluster): (
            NOISE_LABEL
            if r.cluster == -1
            else OTHER_LABEL
            if r.cluster >= MAX_LABELLED
            else f"{r.cluster}: {r.label}"[:48]
        )
        for r in table.itertuples()
    }
    order = list(dict.fromkeys(names[c] for c in sorted(names) if c != -1)) + ([NOISE_LABEL] if -1 in names else [])
    return pd.Series(pd.Categorical([names[int(c)] for c in clustering.labels_], categories=order, ordered=True))


def cluster_annotations(proj: Projection, clustering, table) -> list[Label]:
    """Keyword labels drawn at each cluster's centre (median of its members' coordinates)."""
    names = {int(r.cluster): str(r.label) for r in table.itertuples()}
    return cluster_labels(centroids_2d(proj, clustering.labels_), names)
