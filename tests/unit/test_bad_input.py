"""Malformed and edge-case input files (``tests/data/bad/``, written by ``make_files.py``).

One parametrised test for the files that must be refused (error class, and the words of the
message: file, row/column where known, what is wrong, what is accepted), one for the files
that must load (with the notice a user should see), and the checks downstream of loading:
zero vectors and cosine, too few points for a reducer.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import viz_app
from viz_app.data.limits import ENV
from viz_app.errors import DataFormatError, ParameterError, ResourceLimitError
from viz_app.explore.neighbors import most_similar

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "tests" / "data" / "bad"
NO_PICKLE = "UNPICKLED: viz_app ran pickled code"


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    """Every test starts from the default budgets, whatever the environment says."""
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)


def read(name: str, **kw):
    return viz_app.read(BAD / name, **kw)


# ---------------------------------------------------------------------------------------------
# refused files: (file, error class, message words, environment)

REFUSED = [
    ("empty.csv", DataFormatError, ["empty"], {}),
    ("header_only.csv", DataFormatError, ["row 1", "header row but no data rows"], {}),
    ("too_few_fields.csv", DataFormatError, ["row 3", "too few fields: 2 instead of 3"], {}),
    ("too_many_fields.csv", DataFormatError, ["row 3", "too many fields: 4 instead of 3"], {}),
    ("unterminated_quote.csv", DataFormatError, ["row 3", "never closed", "lines 3-4", 'as ""'], {}),
    ("decimal_comma_in_comma_csv.csv", DataFormatError, ["row 3", "too many fields", "decimal comma", "';'"], {}),
    (
        "decimal_comma_mixed.csv",
        DataFormatError,
        ["row 3, column 'y'", "'1.8' is not a finite number", "one decimal mark"],
        {},
    ),
    ("non_number.csv", DataFormatError, ["row 3, column 'y'", "'abc' is not a finite number"], {}),
    ("nan_cell.csv", DataFormatError, ["row 4, column 'x'", "'nan'", "finite number"], {}),
    ("inf_cell.csv", DataFormatError, ["row 3, column 'y'", "inf", "finite number"], {}),
    ("empty_cell.csv", DataFormatError, ["row 2, column 'y'", "empty or NaN", "finite number"], {}),
    ("overflow_float32.csv", DataFormatError, ["row 3, column 'y'", "1e+39", "float32 range"], {}),
    ("duplicate_columns.csv", DataFormatError, ["row 1", "'x' is used twice (columns 2 and 3)"], {}),
    ("oversized_field.csv", DataFormatError, ["row 2", "longer than 131,072 characters"], {}),
    ("nul_bytes.csv", DataFormatError, ["NUL byte (line 3", "unsupported", "accepted"], {}),
    ("utf16_no_bom.csv", DataFormatError, ["UTF-16", "without a byte-order mark", "UTF-8"], {}),
    ("binary_junk.csv", DataFormatError, ["unsupported", "accepted", ".npy"], {}),
    ("ragged_lists.csv", DataFormatError, ["row 3, column 'vector'", "2 numbers, expected 3"], {}),
    ("one_number_per_line.txt", DataFormatError, ["single number", "1 dimension", "at least 2"], {}),
    ("one_dim.npy", DataFormatError, ["1 dimension", "at least 2 numbers"], {}),
    ("object_dtype.npy", DataFormatError, ["pickled", "refused for safety", "float32"], {}),
    ("raw_pickle.npy", DataFormatError, ["pickle", "refused for safety", "accepted"], {}),
    ("truncated.npy", DataFormatError, ["truncated", "(100, 8)", "3,200 bytes", "872"], {}),
    ("string_dtype.npy", DataFormatError, ["dtype <U5", "text", "float or integer"], {}),
    ("pickled_member.npz", DataFormatError, ["member 'vectors'", "pickled", "refused for safety"], {}),
    ("corrupt.parquet", DataFormatError, ["not a readable parquet file"], {}),
    (
        "huge_header.npy",
        ResourceLimitError,
        ["1,000,000 x 1,000,000", "2,048.0 MiB", "EMBEDDING_LENS_MAX_MATRIX_MB"],
        {},
    ),
    (
        "npz_bomb.npz",
        ResourceLimitError,
        ["152.6 MiB", "64.0 MiB", "before decompressing", "EMBEDDING_LENS_MAX_INFLATED_MB"],
        {"EMBEDDING_LENS_MAX_INFLATED_MB": "64"},
    ),
    (
        "npz_bomb.npz",
        ResourceLimitError,
        ["40,000 x 1,000", "152.6 MiB as float32", "EMBEDDING_LENS_MAX_MATRIX_MB"],
        {"EMBEDDING_LENS_MAX_MATRIX_MB": "64"},
    ),
    ("too_many_members.npz", ResourceLimitError, ["100 members", "limit of 64", "EMBEDDING_LENS_MAX_NPZ_MEMBERS"], {}),
    ("meta_mismatch_tensors.tsv", DataFormatError, ["meta_mismatch_metadata.tsv: ", "3 rows", "4 vectors"], {}),
]
METADATA = {"meta_mismatch_tensors.tsv": "meta_mismatch_metadata.tsv"}


@pytest.mark.parametrize(
    ("name", "error", "words", "env"),
    [pytest.param(*case, id=f"{case[0]}-{'-'.join(case[3]) or 'default'}") for case in REFUSED],
)
def test_refused_file(name, error, words, env, monkeypatch, capsys):
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    meta = {"metadata": BAD / METADATA[name]} if name in METADATA else {}
    with pytest.raises(error) as err:
        read(name, **meta)
    assert isinstance(err.value, viz_app.VizAppError)
    msg = str(err.value)
    assert msg.startswith(f"{METADATA.get(name, name)}: "), msg
    for word in words:
        assert word in msg, f"{word!r} not in {msg!r}"
    assert NO_PICKLE not in capsys.readouterr().out


def test_every_data_file_has_a_case():
    cases = {c[0] for c in REFUSED} | set(METADATA.values()) | {c[0] for c in LOADED}
    assert cases == {p.name for p in BAD.iterdir() if p.suffix != ".py"}


# ---------------------------------------------------------------------------------------------
# files that load: (file, (n, d) or None for texts, notice words, first labels)

LOADED = [
    ("utf8_bom.csv", (2, 2), [], ["café", "naïve"]),
    ("utf16_bom.csv", (2, 2), ["UTF-16"], ["café", "naïve"]),
    ("latin1.csv", (2, 2), ["decoded as Latin-1", "line 2"], ["café", "naïve"]),
    ("semicolon_decimal_comma.csv", (3, 2), ["decimal commas", "1,5 = 1.5", "semicolon"], ["king", "queen"]),
    ("duplicate_labels.csv", (3, 2), [], ["king", "king", "king"]),
    ("identical_vectors.csv", (20, 2), ["all 20 vectors are identical", "no information"], ["w0", "w1"]),
    ("zero_vectors.csv", (40, 3), ["4 of 40 vectors are all zeros", "cosine similarity"], ["w0", "w1"]),
    (
        "one_numeric_column.csv",
        None,
        ["'score' is kept as metadata", "column 'text' are embedded"],
        ["the storm closed the road"],
    ),
    ("three_points.csv", (3, 3), [], ["a", "b", "c"]),
]


@pytest.mark.parametrize(("name", "shape", "notice_words", "labels"), LOADED, ids=[c[0] for c in LOADED])
def test_edge_file_loads(name, shape, notice_words, labels):
    raw = read(name)
    assert raw.labels[: len(labels)] == labels
    if shape is None:
        assert raw.vectors is None and raw.texts
    else:
        assert raw.vectors.shape == shape and raw.vectors.dtype == np.float32
        assert np.isfinite(raw.vectors).all()
        es = viz_app.to_embedding_set(raw)
        assert es.ids.tolist() == [str(i) for i in range(shape[0])]  # ids are rows: labels may repeat
    notes = " ".join(raw.notices)
    for word in notice_words:
        assert word in notes, f"{word!r} not in {notes!r}"


def test_semicolon_decimal_comma_values():
    want = np.array([[0.5, 0.7], [0.4, 1.8], [-0.2, 0.1]], dtype=np.float32)
    np.testing.assert_array_equal(read("semicolon_decimal_comma.csv").vectors, want)


# ---------------------------------------------------------------------------------------------
# pickles are never unpickled; decompression bombs never inflate


@pytest.mark.parametrize("name", ["object_dtype.npy", "pickled_member.npz", "raw_pickle.npy"])
def test_pickle_is_never_loaded(name, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was called")

    for attr in ("load", "loads", "Unpickler"):
        monkeypatch.setattr(pickle, attr, forbidden)
    with pytest.raises(DataFormatError, match="refused for safety"):
        read(name)


@pytest.mark.parametrize("var", ["EMBEDDING_LENS_MAX_INFLATED_MB", "EMBEDDING_LENS_MAX_MATRIX_MB"])
def test_npz_bomb_refused_before_inflating(var, monkeypatch):
    """155 kB on disk, 160 MB declared: refused from the zip directory (inflated budget) or from
    the member's .npy header (matrix budget, 64 KiB inflated), without the memory."""
    monkeypatch.setenv(var, "64")
    assert (BAD / "npz_bomb.npz").stat().st_size < 200_000
    tracemalloc.start()
    try:
        with pytest.raises(ResourceLimitError):
            read("npz_bomb.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, f"peak {peak:,} bytes"


def test_huge_npy_header_refused_without_allocating():
    tracemalloc.start()
    try:
        with pytest.raises(ResourceLimitError):
            read("huge_header.npy")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"peak {peak:,} bytes"


# ---------------------------------------------------------------------------------------------
# downstream: zero vectors with cosine, too few points for a reducer


@pytest.fixture(scope="module")
def zero_set():
    return viz_app.load(BAD / "zero_vectors.csv")


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
@pytest.mark.parametrize("query", ["0", "1", "w10", 25])
def test_most_similar_with_zero_vectors_is_finite(zero_set, metric, query):
    df = most_similar(zero_set, query, k=39, metric=metric)
    score = df["distance" if metric == "euclidean" else "similarity"].to_numpy()
    assert len(df) == 39 and np.isfinite(score).all()
    if metric == "cosine":
        assert np.all(np.abs(score) <= 1 + 1e-6)
        zero_rows = df["row"].isin([0, 10, 20, 30]).to_numpy()
        np.testing.assert_array_equal(score[zero_rows], 0.0)  # a zero vector has cosine 0


def test_most_similar_zero_query_vector(zero_set):
    df = most_similar(zero_set, np.zeros(3, np.float32), k=5)
    np.testing.assert_array_equal(df["similarity"], 0.0)


def test_pca_with_zero_vectors_is_finite(zero_set):
    proj = viz_app.project(zero_set, reducer="pca")
    assert np.isfinite(proj.coords).all() and np.isfinite(proj.quality["explained_variance_ratio"])


@pytest.mark.slow
def test_umap_cosine_with_zero_vectors_is_finite(zero_set):
    proj = viz_app.project(zero_set, reducer="umap", metric="cosine", n_neighbors=5)
    assert np.isfinite(proj.coords).all()


@pytest.mark.slow
def test_tsne_cosine_with_zero_vectors_is_finite(zero_set):
    proj = viz_app.project(zero_set, reducer="tsne", metric="cosine", perplexity=5)
    assert np.isfinite(proj.coords).all()


@pytest.mark.slow
def test_tsne_on_identical_vectors_is_refused_not_a_crash():
    """Run in a child process: openTSNE segfaults on identical vectors; the project refuses first."""
    code = (
        "import sys, numpy as np, viz_app\n"
        "es = viz_app.load(sys.argv[1])\n"
        "try:\n"
        "    proj = viz_app.project(es, reducer='tsne', perplexity=5)\n"
        "    print('FINITE' if np.isfinite(proj.coords).all() else 'NAN')\n"
        "except viz_app.ParameterError as exc:\n"
        "    print('REFUSED', exc)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, str(BAD / "identical_vectors.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, f"exit {run.returncode}: {run.stderr[-500:]}"  # -11: segmentation fault
    assert "REFUSED" in run.stdout or "FINITE" in run.stdout, run.stdout


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"reducer": "umap"}, ["UMAP", "n_neighbors=15", "got 3", "lower n_neighbors"]),
        ({"reducer": "umap", "n_neighbors": 2}, ["UMAP", "more than 3 points", "got 3"]),
        ({"reducer": "tsne"}, ["t-SNE", "perplexity=30", "got 3", "lower the perplexity"]),
        ({"reducer": "tsne", "perplexity": 2}, ["t-SNE", "more than 7 points", "got 3"]),
    ],
)
def test_too_few_points_for_reducer(params, words):
    es = viz_app.load(BAD / "three_points.csv")
    with pytest.raises(ParameterError) as err:
        viz_app.project(es, **params)
    for word in words:
        assert word in str(err.value)
