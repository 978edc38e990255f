"""Column roles decided from content (viz_app.data.readers.roles), on a real-like file: 1,000 GloVe
words (ranks 30,001-31,000 of the installed GloVe 6B 50-d package) with their 50 dimensions and an
integer ``freq_rank`` column, written as a CSV the way a user would."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import viz_app
from viz_app.data.readers.roles import RolesError, choice_from_roles, propose_roles, roles_table
from viz_app.data.samples import glove_full
from viz_app.errors import DataFormatError
from viz_app.explore.neighbors import most_similar

DIMS = [f"d{i}" for i in range(50)]


@pytest.fixture(scope="module")
def glove_frame() -> pd.DataFrame:
    vectors, tokens = glove_full()
    rows = np.arange(30_000, 31_000)
    df = pd.DataFrame(np.asarray(vectors[rows]), columns=DIMS)
    df.insert(0, "word", tokens[rows])
    df["freq_rank"] = rows + 1
    return df


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


def _brute_force(vectors: np.ndarray, row: int, k: int) -> list[int]:
    x = vectors.astype(np.float64)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sims = x @ x[row]
    sims[row] = -np.inf
    return list(np.argsort(-sims, kind="stable")[:k])


def test_rank_column_is_metadata_and_lenovo_neighbours_are_the_real_ones(glove_frame):
    raw = viz_app.read(_csv(glove_frame), name="glove_1k.csv")
    assert raw.vectors.shape == (1000, 50)
    np.testing.assert_array_equal(raw.vectors, glove_frame[DIMS].to_numpy(np.float32))
    roles = {r.column: r for r in raw.roles}
    assert roles["freq_rank"].role == "metadata" and "strictly increasing" in roles["freq_rank"].reason
    assert roles["word"].role == "label" and all(roles[d].role == "vector" for d in DIMS)
    assert any("'freq_rank' is kept as metadata" in n for n in raw.notices)
    es = viz_app.to_embedding_set(raw)
    row = list(es.labels).index("lenovo")
    got = most_similar(es, es.ids[row], k=5)
    want = _brute_force(glove_frame[DIMS].to_numpy(), row, 5)
    assert got["label"].tolist() == glove_frame["word"].iloc[want].tolist()
    assert got["label"].tolist()[:3] == ["smartphone", "chipmaker", "olivetti"]
    assert got["similarity"].max() < 0.9  # with the rank as a 51st dimension every similarity is ~1.0


def test_overriding_the_roles_gives_51_dims_and_the_rank_dominates(glove_frame):
    raw = viz_app.read(_csv(glove_frame), name="glove_1k.csv", vector_columns=[*DIMS, "freq_rank"])
    assert raw.vectors.shape == (1000, 51)
    assert {r.column: r.role for r in raw.roles}["freq_rank"] == "vector"
    es = viz_app.to_embedding_set(raw)
    got = most_similar(es, es.ids[list(es.labels).index("lenovo")], k=5)
    assert got["similarity"].min() > 0.99  # what the issue saw: every cosine about 1.0
    back = viz_app.read(_csv(glove_frame), name="glove_1k.csv", metadata_columns=["d0"])
    assert back.vectors.shape == (1000, 49) and "d0" in back.metadata.columns


@pytest.mark.parametrize(
    ("transform", "reason"),
    [
        (lambda s: s, "every value different: looks like an id"),  # shuffled rows: not monotone
        (lambda s: s // 100, "the typical scale of the other columns"),
        (lambda s: s % 7, "integer while the other columns hold decimals"),
    ],
)
def test_content_alone_finds_metadata_whatever_the_name(glove_frame, transform, reason):
    df = glove_frame.rename(columns={"freq_rank": "popularity"}).sample(frac=1.0, random_state=0)
    df["popularity"] = transform(df["popularity"])
    raw = viz_app.read(_csv(df), name="renamed.csv")
    assert raw.vectors.shape == (1000, 50)
    role = {r.column: r for r in raw.roles}["popularity"]
    assert role.role == "metadata" and reason in role.reason


def test_integer_vectors_stay_vectors():
    from sklearn.datasets import load_digits

    digits = load_digits()
    df = pd.DataFrame(digits.data.astype(int), columns=[f"p{i}" for i in range(64)])
    df["digit"] = digits.target
    raw = viz_app.read(_csv(df), name="digits.csv")
    assert raw.vectors.shape == (1797, 64)
    assert [r.column for r in raw.roles if r.role != "vector"] == ["digit"]


def test_a_sorted_decimal_column_stays_a_dimension(glove_frame):
    df = glove_frame.sort_values("d0")
    raw = viz_app.read(_csv(df), name="sorted.csv")
    assert raw.vectors.shape == (1000, 50)


def test_label_and_one_number_is_refused_before_any_model_runs(monkeypatch):
    def no_model(*a, **k):
        raise AssertionError("the encoder must not run")

    monkeypatch.setattr(viz_app.data.io, "encode", no_model)
    data = b"label,x\nking,0.5\nqueen,0.7\nman,0.1\n"
    with pytest.raises(RolesError) as exc:
        viz_app.load(data, name="label_x.csv")
    msg = str(exc.value)
    assert msg.startswith("label_x.csv: found no vectors: only 1 numeric column ('x')")
    assert "'label' holds short labels (1.0 words per cell)" in msg and "nothing was embedded" in msg
    assert {r.column: r.role for r in exc.value.roles} == {"label": "label", "x": "metadata"}
    table = roles_table(exc.value.roles)
    table.loc[table["column"] == "label", "role"] = "text"
    raw = viz_app.read(data, name="label_x.csv", **choice_from_roles(table))
    assert raw.texts == ["king", "queen", "man"] and raw.vectors is None


def test_a_table_of_sentences_says_which_column_is_embedded_and_why():
    raw = viz_app.read("sample_data/sentences.csv")
    text = next(r for r in raw.roles if r.role == "text")
    assert text.column == "text" and "longest text column" in text.reason
    assert any("texts of column 'text' are embedded" in n for n in raw.notices)


def test_headerless_numeric_first_row_is_data_and_the_typo_is_named():
    for data, name in ((b"1\t2\t3\n4\t5\t6x\n", "t.tsv"), (b"1,2,3\n4,5,6x\n", "t.csv")):
        with pytest.raises(DataFormatError, match=r"row 2, column .*3.*'6x' is not a finite number"):
            viz_app.read(data, name=name)
    raw = viz_app.read(b"1\t2\t3\n4\t5\t6\n", name="ok.tsv")
    assert raw.vectors.tolist() == [[1, 2, 3], [4, 5, 6]]
    named = viz_app.read(b"0,1,2\n0.5,0.25,0.125\n0.1,0.2,0.3\n", name="named.csv")  # pandas' column names
    assert named.vectors.shape == (2, 3)


def test_choice_checks_names_and_conflicts(glove_frame):
    df = glove_frame.head(30)
    with pytest.raises(DataFormatError, match="both as a vector and as metadata"):
        propose_roles(df, file="x.csv", vector_columns=["d0", "d1"], metadata_columns=["d1"])
    with pytest.raises(DataFormatError, match="'nope' is not a column"):
        viz_app.read(io.BytesIO(_csv(df)), name="x.csv", metadata_columns=["nope"])
    table = roles_table(propose_roles(df, file="x.csv"))
    table.loc[table["column"] == "d49", "role"] = "metadata"
    assert viz_app.read(_csv(df), name="x.csv", **choice_from_roles(table)).vectors.shape == (30, 49)
