"""Property tests (hypothesis): any bytes under any file name either load or raise a
``VizAppError``; ``most_similar`` is finite and does not depend on the order of the rows."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import viz_app
from viz_app.data.limits import ENV, Limits
from viz_app.data.model import EmbeddingSet
from viz_app.explore.neighbors import most_similar

EXTENSIONS = (".csv", ".tsv", ".txt", ".npy", ".npz", ".parquet", ".vec")
# Small budgets: whatever a random file declares, the test never allocates much.
LIMITS = Limits(max_upload_bytes=1 << 20, max_matrix_bytes=16 << 20, max_inflated_bytes=16 << 20)
BYTES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OTHER = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)


def _seeds() -> dict[str, bytes]:
    """Small valid files of every binary and text format, to mutate."""
    x = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    npy, npz, pq = io.BytesIO(), io.BytesIO(), io.BytesIO()
    np.save(npy, x)
    np.savez_compressed(npz, vectors=x, labels=np.array(["a", "b", "c", "d"]))
    pd.DataFrame({"label": list("abcd"), "vector": list(x)}).to_parquet(pq)
    return {
        ".npy": npy.getvalue(),
        ".npz": npz.getvalue(),
        ".parquet": pq.getvalue(),
        ".csv": b'label,x,y\nking,0.5,0.7\n"qu,een",1e3,-2\n',
        ".tsv": b"0.5\t0.7\n0.4\t1.8\n",
        ".vec": b"2 2\nking 0.5 0.7\nqueen 0.4 1.8\n",
        ".txt": b"The storm closed the road.\nA gripping film.\n",
    }


SEEDS = _seeds()
MAGIC = (
    b"\x93NUMPY\x01\x00",
    b"\x93NUMPY\x02\x00",
    b"PK\x03\x04",
    b"PK\x05\x06",
    b"PAR1",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"",
)
TEXTISH = st.text(alphabet="0123456789.,;\t\n\r \"'eE-+[]abNnIifé\x00\x85", max_size=300)


def check_read(data: bytes, name: str) -> None:
    """Loads (and then is well-formed) or raises a VizAppError; anything else fails the test."""
    try:
        raw = viz_app.read(data, name=name, limits=LIMITS)
    except viz_app.VizAppError as exc:
        assert str(exc).startswith(name) or type(exc).__name__ != "DataFormatError", str(exc)
        return
    assert raw.n_samples >= 1 and len(raw.metadata) == raw.n_samples
    if raw.vectors is not None:
        assert raw.vectors.dtype == np.float32 and raw.vectors.ndim == 2 and raw.vectors.shape[1] >= 2
        assert np.isfinite(raw.vectors).all()
        viz_app.to_embedding_set(raw)
    else:
        assert len(raw.texts) == raw.n_samples and all(t.strip() for t in raw.texts)


@pytest.mark.parametrize("ext", EXTENSIONS)
@BYTES
@given(data=st.binary(max_size=1024))
def test_arbitrary_bytes(ext, data):
    check_read(data, "f" + ext)


@BYTES
@given(ext=st.sampled_from(EXTENSIONS), magic=st.sampled_from(MAGIC), tail=st.binary(max_size=512))
def test_magic_prefix_then_arbitrary_bytes(ext, magic, tail):
    check_read(magic + tail, "f" + ext)


@BYTES
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    ext=st.sampled_from(EXTENSIONS),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=6),
    cut=st.none() | st.integers(0, 1 << 16),
)
def test_mutated_valid_files(seed, ext, edits, cut):
    data = bytearray(SEEDS[seed])
    for pos, value in edits:
        data[pos % len(data)] = value
    check_read(bytes(data[:cut] if cut is not None else data), "f" + ext)


@BYTES
@given(text=TEXTISH, ext=st.sampled_from((".csv", ".tsv", ".txt", ".vec")))
def test_table_like_text(text, ext):
    check_read(text.encode("utf-8"), "f" + ext)


# ---------------------------------------------------------------------------------------------
# most_similar: finite, and the same answer whatever the order of the rows


@st.composite
def vector_sets(draw):
    n = draw(st.integers(3, 25))
    d = draw(st.integers(2, 6))
    values = st.floats(-100, 100, allow_nan=False, width=32) | st.sampled_from([0.0, 1.0, -1.0])
    x = np.array(draw(st.lists(st.lists(values, min_size=d, max_size=d), min_size=n, max_size=n)), dtype=np.float32)
    for r in draw(st.lists(st.integers(0, n - 1), max_size=3)):
        x[r] = 0.0  # zero vectors: cosine must stay finite
    perm = np.array(draw(st.permutations(range(n))))
    return x, perm


def _neighbours(es: EmbeddingSet, query, k: int, metric: str) -> tuple[list[str], np.ndarray]:
    df = most_similar(es, query, k=k, metric=metric)
    score = df["distance" if metric == "euclidean" else "similarity"].to_numpy()
    assert np.isfinite(score).all(), df
    if metric == "cosine":
        assert np.all(np.abs(score) <= 1 + 1e-9)
    return df["id"].tolist(), score


@OTHER
@given(
    data=vector_sets(),
    metric=st.sampled_from(["cosine", "euclidean", "dot"]),
    k_frac=st.floats(0, 1),
    query_row=st.integers(0, 1 << 10),
)
def test_most_similar_is_finite_and_row_order_invariant(data, metric, k_frac, query_row):
    x, perm = data
    n = len(x)
    ids = [f"i{r}" for r in range(n)]
    es = EmbeddingSet(x, ids=ids)
    shuffled = EmbeddingSet(x[perm], ids=[ids[p] for p in perm])
    qid = ids[query_row % n]
    k = 1 + int(k_frac * (n - 2))
    a_ids, a = _neighbours(es, qid, k, metric)
    b_ids, b = _neighbours(shuffled, qid, k, metric)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-9)
    # ids agree wherever the score is not tied with another item's (ties may order differently)
    everything = _neighbours(es, qid, n - 1, metric)[1]
    for rank, s in enumerate(a):
        if np.sum(np.abs(everything - s) <= 1e-9) == 1:
            assert a_ids[rank] == b_ids[rank]
    # the full list is the same set of ids with the same score each
    full_a = dict(zip(*_neighbours(es, qid, n - 1, metric)))
    full_b = dict(zip(*_neighbours(shuffled, qid, n - 1, metric)))
    assert full_a.keys() == full_b.keys()
    np.testing.assert_allclose([full_a[i] for i in full_a], [full_b[i] for i in full_a], rtol=0, atol=1e-9)


@OTHER
@given(data=vector_sets(), metric=st.sampled_from(["cosine", "euclidean", "dot"]))
def test_most_similar_vector_query_is_finite(data, metric):
    x, perm = data
    es = EmbeddingSet(x)
    for q in (x[perm[0]], np.zeros(x.shape[1], np.float32)):
        _neighbours(es, q, len(x), metric)
