"""Test-only app for the live map's browser tests and measurements (not in the app's navigation).

Run from the repository root with the package importable, e.g.
``PYTHONPATH=. streamlit run tests/e2e/apps/map_app.py``. Query parameters:

- ``data``: ``glove`` (default; the ``n`` most frequent GloVe words, ``n`` default 10,000),
  ``news`` (the news & reviews sentences, MiniLM) or ``digits``;
- ``dims``: ``2`` (default) or ``3``: a PCA map (scikit-learn) of that many components;
- ``zoom``: a label to zoom to on the first run; ``auto``: number of automatic labels;
- ``knn``: neighbours per row in the shipped graph (default 20; 0 = none, ask the server);
- ``arith``: ``a,b,c``: arrows a -> a - b -> a - b + c and a star at the result (PCA transform);
- ``fault``: raise in the script (``benchmarks/load.py`` checks the other sessions carry on).

Below the map it writes what the server received: ``server-focus: <id>``, the neighbour table
of that row (``MapData.neighbors``: the map's own graph), ``server-selection-count: <n>``, and ``fragment-runs: <n>`` with a
button that reruns the map's fragment without changing the map.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from viz_app.data import samples
from viz_app.data.model import EmbeddingSet
from viz_app.ui.map import Arrow, MapView, Marker, live_map, map_data, map_event, map_routes


@st.cache_resource(show_spinner=False)
def _dataset(name: str, n: int):
    if name == "news":
        return samples.load_sample("news-reviews")
    if name == "digits":
        return samples.digits()
    if n <= 400_000:
        return samples.glove(n)
    # more than all GloVe words: the 400k words plus seeded jittered copies
    vec, words = samples.glove_full()
    reps = -(-n // len(words))
    rng = np.random.default_rng(0)
    big = np.concatenate([vec] + [vec + rng.normal(0, 0.05, vec.shape).astype(np.float32) for _ in range(reps - 1)])
    labels = np.concatenate([words] + [np.char.add(words.astype(str), f"~{i}").astype(object) for i in range(1, reps)])
    return EmbeddingSet(big[:n], ids=[str(i) for i in range(n)], labels=labels[:n], name=f"GloVe x{reps}")


@st.cache_resource(show_spinner=False)
def _pca(name: str, n: int, dims: int):
    from sklearn.decomposition import PCA

    return PCA(dims, random_state=0).fit(_dataset(name, n).vectors)


@st.cache_resource(show_spinner=False)
def _coords(name: str, n: int, dims: int):
    # cached: the same array object on every rerun, so map_data() finds its key by identity
    return _pca(name, n, dims).transform(_dataset(name, n).vectors).astype(np.float32)


def _arithmetic(es, pca, terms: list[str]) -> tuple[list[Arrow], list[Marker]]:
    """``a - b + c`` drawn as two arrows (a -> a - b -> result) and a star at the result."""
    a, b, c = (es.vectors[int(np.flatnonzero(es.labels == t)[0])] for t in terms)
    p0, p1, p2 = pca.transform(np.stack([a, a - b, a - b + c]))
    arrows = [Arrow(p0, p1, label=f"− {terms[1]}"), Arrow(p1, p2, label=f"+ {terms[2]}")]
    return arrows, [Marker(p2, label=f"{terms[0]} − {terms[1]} + {terms[2]}")]


def main() -> None:
    st.set_page_config(page_title="Live map test", layout="wide")
    qp = st.query_params
    if qp.get("fault"):  # benchmarks/load.py: one session fails, the others must not notice
        raise RuntimeError("injected fault for benchmarks/load.py")
    name, dims, n = qp.get("data", "glove"), int(qp.get("dims", "2")), int(qp.get("n", "10000"))
    es = _dataset(name, n)
    tooltip = ["category", "sentiment"] if name == "news" else []
    md = map_data(
        es,
        _coords(name, n, dims),
        tooltip=tooltip,
        k=int(qp.get("knn", "20")) if es.n_samples <= 200_000 else 0,
        image_shape=(8, 8) if name == "digits" else None,
    )
    zoom = None
    if "zoom" in qp and not st.session_state.get("zoomed"):
        st.session_state.zoomed = True
        zoom = [int(np.flatnonzero(es.labels == qp["zoom"])[0])]

    arrows, markers = _arithmetic(es, _pca(name, n, dims), qp["arith"].split(",")) if "arith" in qp else ([], [])

    @st.fragment
    def panel() -> None:
        focus = map_event(md, key="map").focus_row  # echo the click, as the Explore page will
        auto = int(qp.get("auto", "0"))
        view = MapView(focus=focus, k=10, zoom_to=zoom, auto_labels=auto, arrows=arrows, markers=markers)
        ev = live_map(md, view, key="map", height=560)
        if ev.focus_id is not None:
            st.markdown(f"server-focus: {ev.focus_id}")
            table = md.neighbors(ev.focus_row, k=10)  # the rows the map highlights (same graph)
            st.markdown("server-neighbours: " + ", ".join(table["label"].astype(str)))
        if ev.selection_rows is not None:
            st.markdown(f"server-selection-count: {len(ev.selection_rows)}")
        st.session_state.runs = st.session_state.get("runs", 0) + 1
        st.button("Rerun the fragment")
        st.markdown(f"fragment-runs: {st.session_state.runs}")

    panel()


if __name__ == "__main__":
    main()
else:  # imported by `streamlit run` (uvicorn): the ASGI app, Streamlit plus the map's routes
    app = st.App(__file__, routes=map_routes())
