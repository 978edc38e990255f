"""The Dask engine (``--engine dask``) on a real 2-worker ``LocalCluster`` (processes, 2 GiB each):
the same vectors as the single-process path, the same coordinates for ``--fit-sample``, the same
kNN graph, and partitioned parquet output that ``viz_app.load``/``load_map`` reopen without
projecting; ``map --engine dask`` read and written by partitions on the workers, the client
receiving only small summaries. Plus the partitioned-parquet reader and writer on their own (no
cluster)."""

from __future__ import annotations

import dataclasses

import distributed
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dask.sizeof import sizeof

import viz_app
from viz_app import cli
from viz_app.cli import main
from viz_app.data.model import EmbeddingSet
from viz_app.data.partitions import plan_partitions
from viz_app.data.samples import glove
from viz_app.embed.encoders import encode
from viz_app.errors import DataFormatError, ParameterError
from viz_app.explore import dask_engine
from viz_app.explore.dask_engine import DaskEngine
from viz_app.explore.engine import LocalEngine, distances
from viz_app.explore.neighbors import knn_indices
from viz_app.export import dask_map
from viz_app.export.mapfile import build_map, load_map, part_folder, write_map, write_table
from viz_app.reduce import registry
from viz_app.reduce.project import TRANSFORM_CHUNK_ROWS, transform_chunks
from viz_app.reduce.registry import make_params


@pytest.fixture(scope="module")
def engine():
    """One 2-worker LocalCluster for the module (starting one costs seconds)."""
    eng = DaskEngine(workers=2, partition_rows=500, memory_limit="2GiB")
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def words():
    return glove(1_800)


@pytest.mark.slow
def test_embed_by_partitions_gives_the_single_process_vectors(engine):
    texts = pd.read_csv("sample_data/sentences.csv")["text"].astype(str).tolist()[:64]
    assert engine.n_workers == 2
    got = engine.embed(texts)
    ref = encode(texts)
    assert got.shape == (64, 384) and got.dtype == np.float32
    np.testing.assert_allclose(got, ref, atol=2e-6, rtol=0)  # float32 rounding of other batches
    assert np.abs(got - ref).max() < 2e-6


@pytest.mark.slow
def test_map_fit_sample_umap_gives_the_single_process_map(engine, words, tmp_path, monkeypatch):
    p = make_params("umap", n_samples=words.n_samples, fit_sample=700, random_state=0)
    local = build_map(words, p, k=10, n_clusters=4)
    dist = build_map(words, p, k=10, n_clusters=4, engine=engine)
    assert dist.info["engine"] == "dask" and dist.projection.quality["placed_by_transform"] == 1_100
    np.testing.assert_allclose(dist.projection.coords, local.projection.coords, atol=1e-4)
    np.testing.assert_array_equal(dist.knn, local.knn)  # 1,800 rows: the exact graph, by blocks
    np.testing.assert_allclose(dist.knn_distance, local.knn_distance, atol=1e-6)
    np.testing.assert_array_equal(dist.clusters, local.clusters)

    out = write_map(dist, tmp_path / "words.parquet", rows_per_part=500)
    assert sorted(f.name for f in out.iterdir()) == [f"part-0000{j}.parquet" for j in range(4)]

    def boom(*a, **k):
        raise AssertionError("a reducer ran on a stored map")

    spec = registry.get_reducer("umap")
    monkeypatch.setitem(registry._REGISTRY, "umap", dataclasses.replace(spec, fit=boom, transform=boom))
    es = viz_app.load(out)
    assert es.n_samples == 1_800 and list(es.labels[:3]) == list(words.labels[:3])
    np.testing.assert_array_equal(es.vectors, words.vectors)
    np.testing.assert_array_equal(es.metadata[["map_x", "map_y"]].to_numpy(np.float32), dist.projection.coords)
    again = load_map(out)
    np.testing.assert_array_equal(again.projection.coords, dist.projection.coords)
    np.testing.assert_array_equal(again.knn, dist.knn)


@pytest.mark.slow
def test_pca_fit_sample_and_euclidean_graph_match(engine, words):
    es = words.subset(np.arange(1_200))  # 2 workers, 4 blocks each way
    p = make_params("pca", n_samples=es.n_samples, fit_sample=300, metric="euclidean")
    local = LocalEngine().project(es.vectors, p, fingerprint=es.fingerprint)
    dist = engine.project(es.vectors, p, fingerprint=es.fingerprint)
    np.testing.assert_allclose(dist.coords, local.coords, atol=1e-5)
    i1, d1 = engine.knn(es, k=7, metric="euclidean")
    i2, d2 = LocalEngine().knn(es, k=7, metric="euclidean")
    np.testing.assert_array_equal(i1, i2)
    np.testing.assert_allclose(d1, d2, atol=1e-5)


@pytest.mark.slow
def test_cli_map_on_an_existing_cluster_by_its_scheduler_address(engine, tmp_path, capsys):
    """``--scheduler ADDRESS`` of the module's running LocalCluster: the command connects to it,
    writes part files that ``figure`` and ``load_map`` read, and leaves the cluster running."""
    address = engine.client.cluster.scheduler_address
    assert address.startswith("tcp://127.0.0.1:")
    out = tmp_path / "words.parquet"
    argv = ["map", "sample_data/words.csv", "-o", str(out), "--reducer", "pca", "--fit-sample", "400"]
    assert main([*argv, "--engine", "dask", "--scheduler", address, "--partition-rows", "300", "-q"]) == 0
    assert "1,000 points" in capsys.readouterr().out and len(list(out.iterdir())) == 4
    assert engine.n_workers == 2  # the CLI closed its own client, not the cluster
    ref = viz_app.project(viz_app.load("sample_data/words.csv"), reducer="pca", fit_sample=400)
    m = load_map(out)
    np.testing.assert_allclose(m.projection.coords, ref.coords, atol=1e-5)
    es = viz_app.load("sample_data/words.csv")
    np.testing.assert_array_equal(m.knn, knn_indices(es, np.arange(es.n_samples), k=15))
    png = tmp_path / "words.png"
    assert main(["figure", str(out), "-o", str(png), "--focus", "king"]) == 0
    assert png.read_bytes().startswith(b"\x89PNG")


@pytest.mark.slow
def test_cli_embed_on_the_cluster_writes_its_parts_from_the_workers(engine, tmp_path, capsys, monkeypatch):
    """``embed --engine dask``: each worker writes its partition's part file (the vectors never come
    back: this process's encode is made to fail); the parts read back as the local output."""
    src = tmp_path / "s.csv"
    pd.read_csv("sample_data/sentences.csv").head(40).to_csv(src, index=False)
    out, local = tmp_path / "v.parquet", tmp_path / "local.parquet"
    assert main(["embed", str(src), "-o", str(local), "-q"]) == 0

    def boom(*a, **k):
        raise AssertionError("embedded in the client")

    monkeypatch.setattr(dask_engine, "encode", boom)  # this process only; the workers have their own
    address = engine.client.cluster.scheduler_address
    assert main(["embed", str(src), "-o", str(out), "--engine", "dask", "--scheduler", address, "-q"]) == 0
    assert "40 texts embedded" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [f"part-{j:05d}.parquet" for j in range(8)]  # 5 rows each
    assert not (tmp_path / "v.parquet.part").exists()
    got, ref = pq.read_table(out).to_pandas(), pq.read_table(local).to_pandas()
    assert list(got.columns) == list(ref.columns)
    pd.testing.assert_frame_equal(got.drop(columns="vector"), ref.drop(columns="vector"))
    np.testing.assert_allclose(np.stack(got["vector"]), np.stack(ref["vector"]), atol=2e-6, rtol=0)


@pytest.mark.slow
def test_knn_by_blocks_is_the_exact_graph_ties_included(engine, words):
    """Pair tasks of blocks i x j and the merge give knn_indices' exact answer: rows 1,500..1,599
    repeat rows 0..99 (exact ties across blocks: the lower row first), blocks smaller than k."""
    x = words.vectors[:1_600].copy()
    x[1_500:] = x[:100]
    es = EmbeddingSet(x)
    idx, dist = engine.knn(es, k=12, metric="cosine")
    ref = knn_indices(es, np.arange(1_600), k=12)
    np.testing.assert_array_equal(idx, ref)
    assert idx[1_500, 0] == 0 and idx[0, 0] == 1_500  # each copy's nearest is its twin
    np.testing.assert_array_equal(dist, distances(x, ref, "cosine"))
    with pytest.raises(ParameterError, match="unknown metric 'manhattan'"):
        engine.knn(es, k=12, metric="manhattan")
    small = EmbeddingSet(x[:40])  # 8 blocks of 5 rows for k=12
    assert engine._block_rows(40) == 5
    np.testing.assert_array_equal(
        engine.knn(small, k=12, metric="euclidean")[0], knn_indices(small, np.arange(40), k=12, metric="euclidean")
    )


def test_a_full_fit_above_the_limit_asks_for_a_fit_sample(engine, words, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dask_engine, "FIT_ALL_MAX_POINTS", 1_000)
    p = make_params("pca", n_samples=words.n_samples)
    with pytest.raises(ParameterError, match="above 1,000 points pass --fit-sample N"):
        engine.project(words.vectors, p)
    monkeypatch.setattr(cli, "FIT_ALL_MAX_POINTS", 500)
    monkeypatch.setattr(cli, "DaskEngine", lambda **kw: LocalEngine())  # no cluster needed to refuse
    argv = ["map", "sample_data/words.csv", "-o", str(tmp_path / "m.parquet"), "--engine", "dask", "-q"]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()  # notes on the input, then one error line
    assert err[-1].startswith(
        "embedding-lens: error: sample_data/words.csv: 1,000 points: with --engine dask, --fit-sample N"
    )
    assert not (tmp_path / "m.parquet").exists()


def test_bad_scheduler_address_is_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT_S", 2)
    argv = ["map", "sample_data/words.csv", "-o", str(tmp_path / "m.parquet"), "--engine", "dask", "-q"]
    assert main([*argv, "--scheduler", "tcp://127.0.0.1:9"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("embedding-lens: error: cannot connect to the Dask scheduler at 'tcp://127.0.0.1:9'")
    with pytest.raises(ParameterError, match="--workers must be in 1..64"):
        DaskEngine(workers=0)
    with pytest.raises(ParameterError, match="--partition-rows"):
        DaskEngine(partition_rows=5)


def test_transform_chunks_are_those_of_the_single_process_path_and_bounded():
    rest = np.arange(50_000)
    assert [len(c) for c in transform_chunks(rest)] == [2_500] * 20  # a twentieth, as before
    assert [len(c) for c in transform_chunks(np.arange(1_500))] == [1_000, 500]
    big = transform_chunks(np.arange(1_000_001))
    assert max(len(c) for c in big) == TRANSFORM_CHUNK_ROWS and np.array_equal(
        np.concatenate(big), np.arange(1_000_001)
    )


def _parts(folder, tables):
    folder.mkdir()
    for name, t in tables:
        pq.write_table(t, folder / name)
    return folder


def test_a_folder_of_parts_reads_as_one_table_in_natural_order(tmp_path):
    rows = [pa.table({"label": [f"w{i}"], "vector": [[float(i), 1.0, 2.0]]}) for i in range(11)]
    folder = _parts(tmp_path / "set.parquet", [(f"part.{i}.parquet", t) for i, t in enumerate(rows)])
    (folder / "_SUCCESS").write_text("")
    es = viz_app.load(folder)
    assert es.name == "set.parquet" and list(es.labels) == [f"w{i}" for i in range(11)]  # part.10 last
    assert es.vectors[:, 0].tolist() == list(range(11))


def test_parts_with_other_columns_or_none_are_refused_by_name(tmp_path):
    a = pa.table({"label": ["a", "b"], "vector": [[1.0, 2.0], [3.0, 4.0]]})
    b = pa.table({"name": ["c"], "vector": [[1.0, 2.0]]})
    folder = _parts(tmp_path / "mixed", [("part-00000.parquet", a), ("part-00001.parquet", b)])
    with pytest.raises(DataFormatError, match="part-00001.parquet has other columns"):
        viz_app.load(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="without .parquet part files"):
        viz_app.load(tmp_path / "empty")


def test_part_folder_is_renamed_into_place_or_removed_on_error(tmp_path):
    t = pa.table({"label": ["a", "b"], "vector": [[1.0, 2.0], [3.0, 4.0]]})
    out = write_table(t, tmp_path / "v.parquet", rows_per_part=1)
    with pytest.raises(RuntimeError, match="worker failed"), part_folder(out) as tmp:
        pq.write_table(t, tmp / "part-00000.parquet")
        raise RuntimeError("worker failed")
    assert not tmp.exists() and viz_app.load(out).n_samples == 2  # the old parts stay
    with part_folder(out) as tmp:
        pq.write_table(t.slice(0, 1), tmp / "part-00000.parquet")
    assert not tmp.exists() and [f.name for f in out.iterdir()] == ["part-00000.parquet"]


def test_write_table_replaces_its_own_parts_but_never_a_foreign_folder(tmp_path):
    t = pa.table({"label": [str(i) for i in range(10)], "vector": [[float(i), 0.5] for i in range(10)]})
    out = write_table(t, tmp_path / "v.parquet", rows_per_part=4)
    assert [pq.read_table(f).num_rows for f in sorted(out.iterdir())] == [4, 4, 2]
    write_table(t, out, rows_per_part=5)
    assert len(list(out.iterdir())) == 2 and viz_app.load(out).n_samples == 10
    write_table(t, out)  # one file again
    assert out.is_file() and viz_app.load(out).n_samples == 10
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    with pytest.raises(ParameterError, match="holding other files"):
        write_table(t, foreign, rows_per_part=4)
    assert (foreign / "notes.txt").read_text() == "keep me"


def _map_table(path):
    """A map folder's rows (sorted columns) and its settings record, without the run's timing."""
    m = load_map(path)
    return m, {key: v for key, v in m.settings["dataset"].items() if key != "ref"}


@pytest.mark.slow
def test_map_by_partitions_reads_and_writes_on_the_workers_and_equals_the_local_map(
    engine, words, tmp_path, capsys, monkeypatch
):
    """``map --engine dask`` on parquet with row groups of 500 rows (partitions of at most 400):
    the workers read the partitions and write the part files; the map equals the single-process
    one (UMAP on a 700-point sample, the other 1,100 placed by transform; exact kNN graph), and
    this process never receives more than a few hundred bytes per result nor reads more than
    one partition at a time (the fingerprint), while the vectors are 360 kB."""
    src = tmp_path / "words.parquet"
    flat = pa.array(words.vectors.reshape(-1))
    table = pa.table({"label": words.labels.astype(str), "vector": pa.FixedSizeListArray.from_arrays(flat, 50)})
    pq.write_table(table, src, row_group_size=500)
    local, dist = tmp_path / "local.parquet", tmp_path / "dist.parquet"
    argv = ["map", str(src), "--reducer", "umap", "--fit-sample", "700", "--k", "10", "-q"]
    assert main([*argv, "-o", str(local)]) == 0

    got, rows_read = [], []
    result = distributed.Future.result

    read_part = dask_map.read_part

    def spy_read(part, options, *, file):
        rows_read.append(part.n)
        return read_part(part, options, file=file)

    def spy_result_sized(self, *a, **kw):
        value = result(self, *a, **kw)
        got.append(sizeof(value))
        return value

    monkeypatch.setattr(distributed.Future, "result", spy_result_sized)
    monkeypatch.setattr(dask_map, "read_part", spy_read)
    address = engine.client.cluster.scheduler_address
    extra = ["--engine", "dask", "--scheduler", address, "--partition-rows", "400"]
    assert main([*argv, "-o", str(dist), *extra]) == 0
    monkeypatch.undo()
    assert "1,800 points" in capsys.readouterr().out.splitlines()[-1]
    assert sorted(f.name for f in dist.iterdir()) == [f"part-{j:05d}.parquet" for j in range(7)]  # 400+100 x 3, 300
    assert rows_read and max(rows_read) <= 400 and sum(rows_read) == 1_800  # the fingerprint pass only
    assert got and max(got) < 2_000 and sum(got) < 20_000, got  # quality figures, row counts

    a, sa = _map_table(local)
    b, sb = _map_table(dist)
    assert sa == sb  # same fingerprint, name, sizes
    np.testing.assert_array_equal(b.projection.coords, a.projection.coords)
    np.testing.assert_array_equal(b.knn, a.knn)
    np.testing.assert_array_equal(b.knn_distance, a.knn_distance)
    np.testing.assert_array_equal(b.es.labels, a.es.labels)
    np.testing.assert_array_equal(b.es.ids, a.es.ids)
    assert list(b.es.metadata.columns) == list(a.es.metadata.columns)
    assert b.projection.quality["placed_by_transform"] == 1_100 and b.info["engine"] == "dask"
    assert b.settings["projection"] == a.settings["projection"]


@pytest.mark.slow
def test_map_by_partitions_of_a_memory_mapped_npy_with_a_full_umap_fit_keeps_its_graph(engine, words, tmp_path):
    """A .npy read through numpy's memory map, 1,000 rows in partitions of 300; UMAP fitted on every
    row in one task, whose own graph (n_neighbors 15 > k 10) is the kNN graph, as locally."""
    es = words.subset(np.arange(1_000))
    np.save(tmp_path / "v.npy", es.vectors)
    layout = plan_partitions(tmp_path / "v.npy", partition_rows=300)
    assert [q.n for q in layout.parts] == [300, 300, 300, 100] and layout.n_features == 50
    p = make_params("umap", n_samples=1_000, random_state=0)
    done = dask_map.map_partitions(engine, layout, tmp_path / "m.parquet", p, k=10)
    assert done["parts"] == 4 and done["fingerprint"] == es.fingerprint
    ref = build_map(EmbeddingSet(es.vectors, name="v.npy"), p, k=10)
    m = load_map(tmp_path / "m.parquet")
    np.testing.assert_array_equal(m.projection.coords, ref.projection.coords)
    np.testing.assert_array_equal(m.knn, ref.knn)
    np.testing.assert_allclose(m.knn_distance, ref.knn_distance, atol=1e-6)
    assert list(m.es.labels[:3]) == ["0", "1", "2"]


@pytest.mark.slow
def test_cli_map_of_texts_embeds_them_into_parts_on_the_workers(engine, tmp_path, capsys):
    """Texts: the workers embed them into staged part files (removed afterwards), then map them."""
    src = tmp_path / "s.csv"
    pd.read_csv("sample_data/sentences.csv").head(60).to_csv(src, index=False)
    out, local = tmp_path / "dist.parquet", tmp_path / "local.parquet"
    argv = ["map", str(src), "--reducer", "pca", "--k", "5", "-q"]
    assert main([*argv, "-o", str(local)]) == 0
    address = engine.client.cluster.scheduler_address
    assert main([*argv, "-o", str(out), "--engine", "dask", "--scheduler", address, "--partition-rows", "100"]) == 0
    assert not (tmp_path / "dist.parquet.input").exists()
    assert len(list(out.iterdir())) == 8  # the embedding partitions: 4 per worker
    a, b = load_map(local), load_map(out)
    np.testing.assert_allclose(b.es.vectors, a.es.vectors, atol=2e-6, rtol=0)
    np.testing.assert_allclose(b.projection.coords, a.projection.coords, atol=1e-4)
    np.testing.assert_array_equal(b.es.labels, a.es.labels)
    assert list(b.es.metadata.columns) == list(a.es.metadata.columns)
    assert b.es.model_name == a.es.model_name and b.info["text_column"] == a.info["text_column"]
