"""The command line: every command's --help, a map of real data, exit codes and one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import viz_app
from viz_app.cli import main
from viz_app.export.mapfile import load_map


@pytest.mark.parametrize("command", [[], ["embed"], ["map"], ["figure"], ["serve"]])
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        main([*command, "--help"])
    assert e.value.code == 0
    assert "usage: embedding-lens" in capsys.readouterr().out


def test_map_writes_a_file_the_app_reopens_without_projecting(tmp_path, capsys):
    out = tmp_path / "words.parquet"
    code = main(["map", "sample_data/words.csv", "-o", str(out), "--reducer", "pca", "--clusters", "5", "-q"])
    assert code == 0
    line = capsys.readouterr().out
    assert "1,000 points, PCA 2D, seed 0" in line and "5 clusters" in line and "trustworthiness" in line
    m = load_map(out)
    ref = viz_app.project(viz_app.load("sample_data/words.csv"), reducer="pca")
    np.testing.assert_allclose(m.projection.coords, ref.coords, atol=1e-5)
    assert m.knn.shape == (1000, 15) and len(m.cluster_labels) == 5
    assert m.es.labels[0] == viz_app.load("sample_data/words.csv").labels[0]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["map", "missing.csv", "-o", "{tmp}/m.parquet"], "missing.csv: cannot be opened"),
        (["map", "sample_data/words.csv", "-o", "{tmp}/m.csv"], "must end in .parquet"),
        (["map", "sample_data/words.csv", "-o", "{tmp}/no/m.parquet"], "does not exist"),
        (["map", "sample_data/words.csv", "-o", "{tmp}/m.parquet", "--n-neighbors", "1"], "n_neighbors"),
        (["map", "tests/data/bad/binary_junk.csv", "-o", "{tmp}/m.parquet"], "binary_junk.csv"),
        (["embed", "sample_data/words.csv", "-o", "{tmp}/v.parquet"], "already holds vectors"),
        (["serve", "missing.parquet"], "no such file"),
        (
            ["map", "sample_data/words.csv", "-o", "{tmp}/m.parquet", "--engine", "dask", "--clusters", "4"],
            "--clusters is not available with --engine dask",
        ),
    ],
)
def test_bad_input_exits_1_with_one_line_naming_it(argv, message, tmp_path, capsys):
    code = main([a.format(tmp=tmp_path) for a in argv] + (["-q"] if argv[0] != "serve" else []))
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("embedding-lens: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_bad_command_line_exits_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["map", "x.csv", "-o", "m.parquet", "--reducer", "mds"])
    assert e.value.code == 2
    assert "invalid choice: 'mds'" in capsys.readouterr().err


@pytest.mark.slow
def test_embed_writes_vectors_that_load_as_a_set(tmp_path, capsys):
    out = tmp_path / "v.parquet"
    assert main(["embed", "sample_data/sentences.csv", "--text-column", "text", "-o", str(out), "-q"]) == 0
    es = viz_app.load(out)
    assert es.vectors.shape == (len(pd.read_csv("sample_data/sentences.csv")), 384)
    assert list(es.metadata["category"][:2]) == list(pd.read_csv("sample_data/sentences.csv")["category"][:2])
    np.testing.assert_allclose(np.linalg.norm(es.vectors, axis=1), 1.0, atol=1e-4)
    direct = viz_app.embed_texts(list(es.metadata["text"][:3])).vectors
    np.testing.assert_allclose(es.vectors[:3], direct, atol=1e-5)


def test_figure_draws_a_map_file_with_its_focus(tmp_path, capsys):
    out = tmp_path / "words.parquet"
    assert main(["map", "sample_data/words.csv", "-o", str(out), "--reducer", "pca", "--clusters", "4", "-q"]) == 0
    svg = tmp_path / "words.svg"
    assert main(["figure", str(out), "-o", str(svg), "--focus", "king", "--neighbors", "5"]) == 0
    text = svg.read_text()
    m = load_map(out)
    row = list(m.es.labels).index("king")
    for r in m.knn[row, :5]:
        assert f">{m.es.labels[r]}<" in text  # every neighbour labelled, as SVG text
    assert (tmp_path / "words.svg.settings.json").is_file()
    capsys.readouterr()
    assert main(["figure", str(out), "-o", str(tmp_path / "x.png"), "--focus", "no-such-word"]) == 1
    assert "no-such-word" in capsys.readouterr().err.strip().splitlines()[-1]
