"""Safe for many users: per-session data keys, byte-bounded caches, hostile inputs refused or
handled in linear time. Each hostile input is built here; the freezes are bounded with
pytest-timeout at a value the old code exceeded by orders of magnitude (backtracking regex:
exponential; quadratic carrier scan; 5,000-character "did you mean" edits: 1.5 GB)."""

from __future__ import annotations

import io
import os
import resource
import threading
import time

import numpy as np
import pandas as pd
import pytest

from viz_app.cache import ByteCache, nbytes, store, total_budget_bytes
from viz_app.data import io as data_io
from viz_app.data.limits import Limits
from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ExpressionError, ParameterError, ResourceLimitError
from viz_app.explore.arithmetic import evaluate
from viz_app.explore.expression import MAX_DEPTH, parse
from viz_app.explore.neighbors import suggest_labels
from viz_app.explore.search import search
from viz_app.export.settings import extract_settings, load_settings
from viz_app.reduce import make_params

MIB = 1 << 20


# ------------------------------------------------------------------ content keys (the data leak)
def test_equal_vectors_with_other_labels_or_metadata_have_other_content_keys():
    v = np.random.default_rng(0).normal(size=(20, 5))
    a = EmbeddingSet(v, labels=[f"a{i}" for i in range(20)], name="a.csv")
    b = EmbeddingSet(v, labels=[f"b{i}" for i in range(20)], name="a.csv")
    c = EmbeddingSet(
        v, labels=a.labels, name="a.csv", metadata=pd.DataFrame({"secret_col": [f"s{i}" for i in range(20)]})
    )
    d = EmbeddingSet(v, labels=a.labels, name="other.csv")
    assert a.fingerprint == b.fingerprint == c.fingerprint == d.fingerprint
    assert len({a.content_key, b.content_key, c.content_key, d.content_key}) == 4
    assert a.content_key == EmbeddingSet(v.copy(), labels=list(a.labels), name="a.csv").content_key


# ------------------------------------------------------------------------------ the cache layer
def test_store_is_bounded_by_bytes_and_evicts_least_recently_used():
    s = ByteCache("t", 3 * MIB + 1000)
    for i in range(3):
        assert s.put(i, np.zeros(MIB // 8))  # 1 MiB each
    s.get(0)  # 0 is now the most recent
    s.put(3, np.zeros(MIB // 8))
    assert 1 not in s and {0, 2, 3} <= set(s.keys())
    assert s.info().bytes <= s.max_bytes
    assert not s.put("huge", np.zeros(4 * MIB // 8))  # larger than the store: returned, not kept
    assert "huge" not in s and s.info().refused == 1


def test_nbytes_counts_arrays_frames_and_sets():
    es = EmbeddingSet(np.zeros((1000, 64)), labels=[f"label {i}" for i in range(1000)])
    assert nbytes(np.zeros(1000)) == 8000
    assert nbytes(es) >= 1000 * 64 * 4 + 1000 * 50
    assert nbytes(pd.DataFrame({"x": np.zeros(1000)})) >= 8000
    assert nbytes((np.zeros(10), np.zeros(10))) >= 160


def test_one_owner_cannot_evict_another_owners_data():
    s = ByteCache("sessions-test", 10 * MIB, owner_max_bytes=3 * MIB)
    assert s.put(("alice", "k"), np.zeros(MIB // 8), owner="alice")
    for i in range(24):  # 24 uploads of 1 MiB from one session
        assert s.put(("mallory", i), np.zeros(MIB // 8), owner="mallory")
    assert ("alice", "k") in s
    assert s.owner_bytes("mallory") <= 3 * MIB and ("mallory", 23) in s and ("mallory", 0) not in s
    assert s.drop_owner("mallory") >= 1 and s.owner_bytes("mallory") == 0
    assert ("alice", "k") in s


def test_compute_locks_are_freed_and_concurrent_callers_compute_once():
    s = ByteCache("locks", 10 * MIB)
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return np.ones(10)

    ts = [threading.Thread(target=lambda: s.get_or_compute("k", slow)) for _ in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert len(calls) == 1
    for i in range(100):
        s.get_or_compute(("other", i), lambda: np.ones(1))
    assert s._key_locks == {}  # no lock kept per key ever seen


def test_budget_from_the_environment(monkeypatch):
    monkeypatch.setenv("EMBEDDING_LENS_CACHE_MB", "64")
    assert total_budget_bytes() == 64 * MIB
    monkeypatch.setenv("EMBEDDING_LENS_CACHE_MB", "lots")
    assert total_budget_bytes() == 8192 * MIB  # a warning is logged, the default used
    assert store("samples") is store("samples")


# ------------------------------------------------------------------------------ hostile inputs
@pytest.mark.timeout(60)
def test_svg_with_thousands_of_unclosed_settings_tags_is_read_linearly():
    svg = b"<svg>" + b'<metadata id="embedding-lens-settings">' * 14_000 + b"</svg>"
    assert len(svg) > 540_000
    with pytest.raises(DataFormatError, match="not closed"):
        extract_settings(svg + b"x" * (2 * MIB))
    t = time.perf_counter()
    with pytest.raises(DataFormatError):
        load_settings(svg * 20)  # 11 MB: with the old non-greedy regexes this took hours
    assert time.perf_counter() - t < 30


@pytest.mark.timeout(60)
def test_catastrophic_regex_runs_in_linear_time():
    labels = ["a" * 5000 + "!", "king", "kingdom"] + ["a" * 40 + "!"] * 1000
    es = EmbeddingSet(np.ones((len(labels), 2)), ids=[str(i) for i in range(len(labels))], labels=labels)
    assert search(es, r"^(\w+\s?)*$", regex=True).tolist() == [1, 2]  # Python re: 2**40 steps per label
    assert search(es, "^king", regex=True).tolist() == [1, 2]
    with pytest.raises(ParameterError, match="RE2"):
        search(es, r"(a)\1", regex=True)
    with pytest.raises(ParameterError, match="at most 200"):
        search(es, "a" * 201, regex=True)


def _rss_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@pytest.mark.timeout(60)
def test_long_unknown_terms_get_no_edit_explosion():
    es = EmbeddingSet(np.random.default_rng(1).normal(size=(2000, 8)), labels=[f"w{i}" for i in range(2000)])
    before = _rss_peak_mb()
    assert suggest_labels("x" * 5000, es.labels) == []
    assert "w10" in suggest_labels("w1O", es.labels)  # short ones still get suggestions
    with pytest.raises(ExpressionError, match="at most 500"):
        evaluate(es, "x" * 5000)
    with pytest.raises(ExpressionError, match="neither an id nor a label"):
        evaluate(es, "w1 + " + "y" * 400)
    assert _rss_peak_mb() - before < 200  # the old edit set of 5,000 characters took ~1.5 GB


def test_deep_nesting_is_an_expression_error_not_a_recursion_error():
    for expr in ["(" * 200 + "a" + ")" * 200, "-" * 300 + "a", "mean(" * 60 + "a" + ")" * 60]:
        with pytest.raises(ExpressionError, match=f"at most {MAX_DEPTH}"):
            parse(expr)
    with pytest.raises(ExpressionError, match="too many operands"):
        parse("+".join(["a"] * 150))


@pytest.mark.timeout(60)
def test_a_50_mb_line_is_refused_before_decoding():
    data = b"a" * (50 * MIB) + b"\nsecond line\n"
    with pytest.raises(ResourceLimitError, match="line 1 is 50.0 MiB"):
        data_io.read(data, name="long.txt")
    with pytest.raises(ResourceLimitError, match="line 3 is"):
        data_io.read(b"a\nb\n" + b"c" * (2 * MIB), name="tail.txt")
    assert data_io.read(b"one text\nanother\n", name="ok.txt").n_samples == 2


def test_line_limit_counts_lines_across_blocks():
    lim = Limits(max_line_bytes=10)
    lim.check_line_lengths(b"123456789\n" * 1000, file="f")
    with pytest.raises(ResourceLimitError, match="line 501 "):
        lim.check_line_lengths(b"123456789\n" * 500 + b"x" * 11 + b"\n", file="f")


@pytest.mark.timeout(60)
def test_a_csv_of_100k_columns_is_refused_early():
    head = ",".join(f"c{i}" for i in range(100_000))
    data = (head + "\n" + ",".join(["0.1"] * 100_000) + "\n").encode()
    with pytest.raises(ResourceLimitError, match="100,000 columns"):
        data_io.read(data, name="wide.csv")


def test_an_npz_that_inflates_beyond_the_limit_is_refused_before_decompressing():
    buf = io.BytesIO()
    np.savez_compressed(buf, vectors=np.zeros((4096, 1024), dtype=np.float32))  # 16 MiB -> ~16 KB
    with pytest.raises(ResourceLimitError, match="once decompressed"):
        data_io.read(buf.getvalue(), name="bomb.npz", limits=Limits(max_inflated_bytes=MIB))


def test_only_regular_files_are_read(tmp_path):
    with pytest.raises(DataFormatError, match="not a regular file"):
        data_io.load("/dev/zero")
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    with pytest.raises(DataFormatError, match="not a regular file"):
        data_io.load(fifo)  # opening a FIFO would block until a writer comes


# ------------------------------------------------------------------------------------- exports
def test_csv_cells_with_cr_are_quoted_and_every_cell_and_header_neutralised():
    import csv

    from viz_app.export.projector import csv_bytes

    df = pd.DataFrame(
        {
            "label": ["x\r@SUM(1+1)", "two\nlines", "=1+1", "plain", "-"],
            '=HYPERLINK("http://e.x","a")': ["+a", "\tb", "c", "@d", "e"],
            "n": [-1.5, 2.0, 3.0, -4.0, 5.0],
        }
    )
    data = csv_bytes(df)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    assert len(rows) == 6  # header + 5: the CR and LF inside labels never split a row
    assert rows[0][1].startswith("'=HYPERLINK")
    assert [r[0] for r in rows[1:]] == ["x\r@SUM(1+1)", "two\nlines", "'=1+1", "plain", "'-"]
    assert [r[1] for r in rows[1:]] == ["'+a", "'\tb", "c", "'@d", "e"]
    assert [float(r[2]) for r in rows[1:]] == [-1.5, 2.0, 3.0, -4.0, 5.0]  # numbers stay numbers
    # a spreadsheet splitting physical lines would meet "@SUM" only inside a quoted cell
    for line in data.decode().replace("\r\n", "\n").split("\n"):
        assert not line.startswith(("=", "+", "@")) or line.startswith("'")


def test_projector_round_trip_keeps_text_labels_and_a_label_column(tmp_path):
    from viz_app.export.projector import export_projector, load_projector

    es = EmbeddingSet(
        np.random.default_rng(0).normal(size=(4, 3)),
        ids=["i0", "i1", "i2", "i3"],
        labels=["007", "1", "2", ""],
        metadata=pd.DataFrame({"label": ["L0", "L1", "L2", "L3"], "id": list("abcd"), "k": list("wxyz")}),
    )
    back = load_projector(export_projector(es, tmp_path))
    assert list(back.labels) == ["007", "1", "2", ""] and list(back.ids) == list(es.ids)
    assert list(back.metadata.columns) == ["label", "id", "k"]
    assert list(back.metadata["label"]) == ["L0", "L1", "L2", "L3"]
    np.testing.assert_array_equal(back.vectors, es.vectors)


def test_deeply_nested_settings_json_is_a_clear_error():
    with pytest.raises(DataFormatError, match="nested too deeply"):
        load_settings(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}")


def test_nbytes_never_raises_on_odd_objects():
    class Raising:
        def __getattr__(self, name):
            raise KeyError(name)

    class Holder:
        def __init__(self):
            self.odd = Raising()
            self.arr = np.zeros(1000)
            self.fn = np.sum
            self.lock = threading.Lock()

    assert nbytes(Holder()) >= 8000
    assert nbytes(Raising()) > 0


# ------------------------------------------------------------------ wrong or silent results
def test_word2vec_with_a_duplicated_word_has_no_phantom_rows(tmp_path):
    f = tmp_path / "dup.txt"
    f.write_text("3 3\nking 1 2 3\nqueen 2 3 4\nking 4 5 6\n")
    raw = data_io.read(str(f))
    assert list(raw.labels) == ["king", "queen"]  # gensim left a third slot: no word, zero vector
    np.testing.assert_array_equal(raw.vectors, [[1, 2, 3], [2, 3, 4]])
    assert any("duplicated" in n for n in raw.notices)


def test_values_near_the_float32_limit_are_a_clear_error_not_a_linalg_error(tmp_path):
    f = tmp_path / "big.csv"
    f.write_text("label,a,b\nx,3e38,1\ny,-3e38,2\nz,1,1\n")
    with pytest.raises(DataFormatError, match=r"row 2, column 'a'.*too large"):
        data_io.load(str(f))


def test_seed_and_integer_parameters_are_validated_not_truncated():
    with pytest.raises(ParameterError, match="random_state"):
        make_params("umap", random_state=2**32)
    with pytest.raises(ParameterError, match="whole number"):
        make_params("umap", n_neighbors=15.7)
