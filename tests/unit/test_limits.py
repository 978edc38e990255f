"""Budgets of viz_app.data.limits: the config, the environment variables, the checks in the readers
(before allocating) and the point budget of the reducers with its seeded-sample offer."""

from __future__ import annotations

import dataclasses
import io
import zipfile

import numpy as np
import pandas as pd
import pytest

import viz_app
from viz_app.data.limits import ENV, Limits, PointBudgetError, check_points, get_limits, sample_fit_rows
from viz_app.errors import DataFormatError, ParameterError, ResourceLimitError

MIB = 1 << 20


@pytest.fixture(autouse=True)
def default_limits(monkeypatch):
    for var in ENV.values():
        monkeypatch.delenv(var, raising=False)


def test_defaults_and_environment_names():
    lim = Limits()
    assert set(ENV) == {f.name for f in dataclasses.fields(Limits)}
    assert all(v.startswith("EMBEDDING_LENS_MAX_") for v in ENV.values())
    assert (lim.max_upload_bytes, lim.max_matrix_bytes, lim.max_inflated_bytes) == (1024 * MIB, 2048 * MIB, 4096 * MIB)
    assert (lim.max_points_pca, lim.max_points_tsne, lim.max_points_umap) == (2_000_000, 50_000, 200_000)
    assert (lim.max_texts, lim.max_npz_members) == (50_000, 64)
    assert get_limits() == lim
    assert lim.max_upload_bytes == viz_app.data.io.MAX_FILE_BYTES


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_UPLOAD_MB", "0.5")
    monkeypatch.setenv("EMBEDDING_LENS_MAX_POINTS_TSNE", "1000")
    monkeypatch.setenv("EMBEDDING_LENS_MAX_TEXTS", " 7 ")
    lim = get_limits()
    assert (lim.max_upload_bytes, lim.max_points_tsne, lim.max_texts) == (MIB // 2, 1000, 7)
    assert lim.max_points_umap == Limits().max_points_umap
    assert Limits.from_env({"EMBEDDING_LENS_MAX_MATRIX_MB": "3"}).max_matrix_bytes == 3 * MIB


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("EMBEDDING_LENS_MAX_UPLOAD_MB", "lots"),
        ("EMBEDDING_LENS_MAX_UPLOAD_MB", "0"),
        ("EMBEDDING_LENS_MAX_MATRIX_MB", "-5"),
        ("EMBEDDING_LENS_MAX_POINTS_UMAP", "1.5"),
        ("EMBEDDING_LENS_MAX_TEXTS", "inf"),
    ],
)
def test_bad_environment_value_names_the_variable(var, value):
    with pytest.raises(ParameterError, match=f"{var}={value!r} must be a positive"):
        Limits.from_env({var: value})


def test_bad_field_value():
    with pytest.raises(ParameterError, match="max_texts must be an integer >= 1"):
        Limits(max_texts=0)


# ---------------------------------------------------------------------------------------------
# point budget of the reducers, and the seeded sample it offers


def test_check_points_within_budget():
    lim = Limits(max_points_tsne=100)
    for n in (1, 99, 100):
        lim.check_points("tsne", n)
    check_points("umap", 200_000)


def test_check_points_over_budget_says_limit_variable_and_sample():
    with pytest.raises(PointBudgetError) as err:
        check_points("tsne", 80_000)
    e = err.value
    assert isinstance(e, ResourceLimitError) and isinstance(e, viz_app.VizAppError)
    assert (e.reducer, e.n_samples, e.budget) == ("tsne", 80_000, 50_000)
    msg = str(e)
    for word in (
        "t-SNE on 80,000 points",
        "limit of 50,000",
        "EMBEDDING_LENS_MAX_POINTS_TSNE",
        "seeded sample of 50,000 points",
        "transform",
    ):
        assert word in msg, msg


def test_check_points_reads_the_environment(monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_MAX_POINTS_PCA", "10")
    with pytest.raises(PointBudgetError, match="PCA on 11 points is over the limit of 10"):
        check_points("pca", 11)
    with pytest.raises(ParameterError, match="unknown reducer"):
        check_points("mds", 5)


def test_sample_fit_rows_is_seeded_sorted_and_distinct():
    rows = sample_fit_rows(1_000_000, 50_000, random_state=3)
    assert rows.shape == (50_000,) and rows.dtype == np.intp
    assert np.all(np.diff(rows) > 0) and rows[0] >= 0 and rows[-1] < 1_000_000
    np.testing.assert_array_equal(rows, sample_fit_rows(1_000_000, 50_000, random_state=3))
    assert not np.array_equal(rows, sample_fit_rows(1_000_000, 50_000, random_state=4))
    # spread over the whole range, not the first rows
    assert np.histogram(rows, bins=10, range=(0, 1_000_000))[0].min() > 4_000


def test_sample_fit_rows_within_budget_is_every_row():
    np.testing.assert_array_equal(sample_fit_rows(7, 7, random_state=0), np.arange(7))
    np.testing.assert_array_equal(sample_fit_rows(3, 10, random_state=0), np.arange(3))


@pytest.mark.parametrize(("n", "budget", "seed"), [(0, 5, 0), (5, 0, 0), (5, 2, -1), (5.0, 2, 0), (5, 2, None)])
def test_sample_fit_rows_bad_arguments(n, budget, seed):
    with pytest.raises(ParameterError):
        sample_fit_rows(n, budget, seed)


# ---------------------------------------------------------------------------------------------
# the readers check before they allocate


def test_upload_size(tmp_path):
    lim = Limits(max_upload_bytes=100)
    data = b"label,x,y\n" + b"king,0.5,0.7\n" * 10
    msg = r"big.csv: the file is 140 bytes, over the 100 bytes upload.*EMBEDDING_LENS_MAX_UPLOAD_MB"
    with pytest.raises(ResourceLimitError, match=msg):
        viz_app.read(data, name="big.csv", limits=lim)
    path = tmp_path / "big.csv"
    path.write_bytes(data)
    with pytest.raises(ResourceLimitError):
        viz_app.read(path, limits=lim)
    with pytest.raises(ResourceLimitError):
        viz_app.read(io.BytesIO(data), limits=lim)
    assert viz_app.read(data, name="ok.csv", limits=Limits(max_upload_bytes=len(data))).n_samples == 10


def test_table_matrix_budget_checked_before_pandas(monkeypatch):
    def no_pandas(*args, **kwargs):
        raise AssertionError("pandas.read_csv was called")

    monkeypatch.setattr(pd, "read_csv", no_pandas)
    data = b"label,x,y\n" + b"king,0.5,0.7\n" * 1000  # 1000 x 3 cells -> 12,000 bytes as float32
    with pytest.raises(ResourceLimitError, match=r"the table \(1,000 x 3\) would need"):
        viz_app.read(data, name="t.csv", limits=Limits(max_matrix_bytes=10_000))


def test_word2vec_and_npy_matrix_budgets():
    lim = Limits(max_matrix_bytes=1000)
    w2v = b"".join(b"w%d 0.1 0.2 0.3\n" % i for i in range(100))  # 100 x 3 x 4 = 1200 bytes
    with pytest.raises(ResourceLimitError, match=r"100 x 3"):
        viz_app.read(w2v, name="g.txt", limits=lim)
    buf = io.BytesIO()
    np.save(buf, np.zeros((100, 3), np.float64))
    with pytest.raises(ResourceLimitError, match=r"the array \(100 x 3\)"):
        viz_app.read(buf.getvalue(), name="x.npy", limits=lim)
    assert viz_app.read(buf.getvalue(), name="x.npy", limits=Limits(max_matrix_bytes=1200)).vectors.shape == (100, 3)


def test_parquet_budgets_from_footer_before_reading(monkeypatch):
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    pd.DataFrame({"label": ["w"] * 10_000, "x": np.zeros(10_000), "y": np.ones(10_000)}).to_parquet(buf)

    def no_read(*args, **kwargs):
        raise AssertionError("data pages were read")

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", no_read)
    with pytest.raises(ResourceLimitError, match=r"the numeric columns \(10,000 x 2\) would need 80,000 bytes"):
        viz_app.read(buf.getvalue(), name="w.parquet", limits=Limits(max_matrix_bytes=50_000))
    with pytest.raises(ResourceLimitError, match="the parquet file declares"):
        viz_app.read(buf.getvalue(), name="w.parquet", limits=Limits(max_inflated_bytes=100))


def test_parquet_list_column_counted_while_reading():
    buf = io.BytesIO()
    pd.DataFrame({"label": ["a", "b", "c"], "vector": [[0.1] * 50] * 3}).to_parquet(buf)
    with pytest.raises(ResourceLimitError, match=r"the numeric values \(3 x 50\)"):
        viz_app.read(buf.getvalue(), name="w.parquet", limits=Limits(max_matrix_bytes=500))
    assert viz_app.read(buf.getvalue(), name="w.parquet", limits=Limits(max_matrix_bytes=600)).vectors.shape == (3, 50)


def test_parquet_duplicate_column_names():
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table([pa.array(["a", "b"]), pa.array([0.1, 0.2]), pa.array([0.3, 0.4])], names=["label", "x", "x"])
    buf = io.BytesIO()
    pq.write_table(table, buf)
    with pytest.raises(DataFormatError, match="'x' is used twice"):
        viz_app.read(buf.getvalue(), name="d.parquet")


def test_texts_per_job():
    msg = r"t.txt: 3 texts to embed, over the limit of 2.*EMBEDDING_LENS_MAX_TEXTS"
    with pytest.raises(ResourceLimitError, match=msg):
        viz_app.read(b"one\ntwo\nthree\n", name="t.txt", limits=Limits(max_texts=2))
    with pytest.raises(ResourceLimitError, match="3 texts"):
        viz_app.read(b"text,c\none,a\ntwo,b\nthree,c\n", name="t.csv", limits=Limits(max_texts=2))


def test_npz_directory_that_understates_a_member():
    """The zip directory says 200 bytes; the member's .npy header says 8 MB: refused as damaged
    without inflating anything but the header."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (1000, 1000)})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("vectors.npy", header.getvalue() + bytes(72))
    with pytest.raises(DataFormatError, match=r"member 'vectors' is damaged.*\(1000, 1000\)"):
        viz_app.read(buf.getvalue(), name="x.npz")


def test_npz_good_with_labels_and_fortran_order():
    x = np.asfortranarray(np.arange(12, dtype=np.float64).reshape(4, 3))
    buf = io.BytesIO()
    np.savez_compressed(buf, vectors=x, labels=np.array(["a", "b", "c", "d"]), extra=np.ones((2, 2)))
    raw = viz_app.read(buf.getvalue(), name="x.npz")
    np.testing.assert_array_equal(raw.vectors, x.astype(np.float32))
    assert raw.labels == ["a", "b", "c", "d"] and "extra" in raw.notices[0]
