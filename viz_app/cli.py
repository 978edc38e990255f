"""``embedding-lens``: the command line (argparse).

::

    embedding-lens embed INPUT --text-column text -o vectors.parquet
    embedding-lens map INPUT -o map.parquet --reducer umap [--fit-sample N] [--clusters [K]]
    embedding-lens figure map.parquet -o map.png|svg|pdf [--focus king] [--zoom] [--dpi 200]
    embedding-lens serve [FILE]

Every command has ``--help``. Long steps show a progress bar (tqdm, on stderr). Exit codes:
0 done; 1 bad input or settings (one line ``embedding-lens: error: ...`` naming the file, row,
column or value, never a traceback); 2 bad command line (argparse); 130 interrupted.
``--engine dask`` runs embedding, projection and the kNN graph on a Dask cluster
(:mod:`viz_app.explore.dask_engine`): a ``LocalCluster`` of ``--workers`` processes, or the
scheduler at ``--scheduler ADDRESS``; its outputs are partitioned parquet (``-o map.parquet`` is then a
folder of part files of ``--partition-rows`` rows), which ``figure``, ``serve`` and the app read.
``map --engine dask`` never holds the set in this process: the workers read a parquet input (file
or folder of parts) or a ``.npy`` by partitions and write the part files
(:mod:`viz_app.export.dask_map`); other inputs are read here and staged as part files first
(texts embedded into them by the workers). Above ``FIT_ALL_MAX_POINTS`` points it needs
``--fit-sample N`` (a fit on every point would be one task holding them all; the error says so,
nothing is sampled silently); it computes no trust metrics and refuses ``--clusters``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from viz_app._version import __version__
from viz_app.data.io import read, to_embedding_set
from viz_app.data.model import EmbeddingSet
from viz_app.data.partitions import plan_partitions, stage_table
from viz_app.embed.encoders import DEFAULT_MODEL
from viz_app.errors import ParameterError, VizAppError
from viz_app.explore.dask_engine import FIT_ALL_MAX_POINTS, DaskEngine
from viz_app.explore.engine import LocalEngine
from viz_app.export.dask_map import map_partitions
from viz_app.export.figure import close_figure, export_figure, map_figure
from viz_app.export.mapfile import build_map, load_map, part_folder, write_map, write_table
from viz_app.reduce.registry import make_params
from viz_app.reduce.umap import use_numba_disk_cache

__all__ = ["app_script", "main"]

PROG = "embedding-lens"
#: Environment variable through which ``serve FILE`` tells the app which file to open first.
OPEN_ENV = "EMBEDDING_LENS_OPEN"


class _Bar:
    """A tqdm bar driven by ``progress(fraction, text)`` callbacks (on stderr; quiet: nothing)."""

    def __init__(self, desc: str, quiet: bool) -> None:
        from tqdm import tqdm

        self._bar = None if quiet else tqdm(total=1000, desc=desc, unit="‰", leave=True, file=sys.stderr)

    def __call__(self, fraction: float, text: str, /) -> None:
        if self._bar is not None:
            self._bar.n = min(1000, max(0, round(1000 * fraction)))
            self._bar.set_postfix_str(text[:60], refresh=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _engine(args: argparse.Namespace) -> Any:
    if args.engine == "local":
        if args.scheduler:
            raise ParameterError("--scheduler needs --engine dask")
        return LocalEngine()
    if args.engine == "dask":
        if not args.quiet:
            where = args.scheduler or f"a local cluster of {args.workers} worker processes"
            print(f"{PROG}: starting the Dask engine on {where}", file=sys.stderr, flush=True)
        return DaskEngine(scheduler=args.scheduler, workers=args.workers, partition_rows=args.partition_rows)
    raise ParameterError(f"unknown engine {args.engine!r}")


def _parts(args: argparse.Namespace) -> int | None:
    """Rows per part file: the Dask engine writes partitioned parquet (a folder of part files)."""
    return args.partition_rows if args.engine == "dask" else None


def _out(path: str, suffixes: Sequence[str]) -> Path:
    p = Path(path)
    if p.suffix.lower() not in suffixes:
        raise ParameterError(f"output {path!r} must end in {' or '.join(suffixes)}")
    if not p.parent.is_dir():
        raise ParameterError(f"output folder {str(p.parent)!r} does not exist")
    return p


def _load(args: argparse.Namespace, engine: Any, bar: _Bar, check: Any = None) -> Any:
    """The input as an EmbeddingSet; texts are embedded by the engine. ``check(n_rows)`` runs
    before any embedding."""
    raw = read(args.input, text_column=args.text_column, label_column=getattr(args, "label_column", None))
    for note in raw.notices:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    if check is not None:
        check(len(raw.vectors) if raw.vectors is not None else len(raw.texts or []))
    if raw.vectors is not None:
        return raw, to_embedding_set(raw)
    vectors = engine.embed(raw.texts or [], model=args.model, progress=bar)
    es = EmbeddingSet(
        vectors,
        labels=np.asarray(raw.labels, dtype=object),
        metadata=raw.metadata,
        name=raw.name,
        model_name=args.model or DEFAULT_MODEL,
        text_column=raw.text_column,
    )
    return raw, es


def _columns(n: int, labels: Any, metadata: Any) -> dict[str, Any]:
    """The embed output's columns before ``vector``: ``id`` (row numbers), ``label``, metadata."""
    import pyarrow as pa

    labels = [str(i) for i in range(n)] if labels is None else [str(s) for s in labels]
    cols: dict[str, Any] = {"id": pa.array([str(i) for i in range(n)]), "label": pa.array(labels)}
    for name in [] if metadata is None else metadata.columns:
        if str(name) not in ("id", "label", "vector"):
            cols[str(name)] = pa.array(metadata[name].reset_index(drop=True).to_numpy(), from_pandas=True)
    return cols


def cmd_embed(args: argparse.Namespace) -> int:
    """Embed the texts of INPUT and write a parquet table (``id``, ``label``, metadata, ``vector``).
    With ``--engine dask`` the workers write the part files: the vectors never reach this process."""
    import pyarrow as pa

    out = _out(args.output, (".parquet",))
    engine, bar = _engine(args), _Bar("embed", args.quiet)
    try:
        t0 = time.perf_counter()
        if args.engine == "dask":
            raw = read(args.input, text_column=args.text_column, label_column=args.label_column)
            for note in raw.notices:
                print(f"{PROG}: note: {note}", file=sys.stderr)
            if raw.vectors is not None:
                raise ParameterError(f"{raw.name} already holds vectors (nothing to embed); use `{PROG} map` on it")
            texts = raw.texts or []
            table = pa.table(_columns(len(texts), raw.labels, raw.metadata))
            with part_folder(out) as folder:
                n, dim = engine.embed_to_parts(texts, table, folder, model=args.model, progress=bar)
        else:
            raw, es = _load(args, engine, bar)
            if raw.vectors is not None:
                raise ParameterError(f"{raw.name} already holds vectors (nothing to embed); use `{PROG} map` on it")
            cols = _columns(es.n_samples, es.labels, es.metadata)
            cols["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(es.vectors.reshape(-1)), es.n_features)
            write_table(pa.table(cols), out)
            n, dim = es.n_samples, es.n_features
    finally:
        bar.close()
        engine.close()
    took = time.perf_counter() - t0
    print(f"{out}: {n:,} texts embedded with {args.model or DEFAULT_MODEL} ({dim}-d) in {took:.1f} s")
    return 0


def _params(args: argparse.Namespace, n: int) -> Any:
    options = {
        name: getattr(args, name)
        for name in ("perplexity", "n_neighbors", "min_dist")
        if getattr(args, name) is not None
    }
    return make_params(
        args.reducer,
        n_samples=n,
        n_components=args.dims,
        random_state=args.seed,
        metric=args.metric,
        fit_sample=args.fit_sample,
        **options,
    )


def _check_fit_sample(args: argparse.Namespace, n: int) -> None:
    """The Dask engine's full fit is one task holding every point: above FIT_ALL_MAX_POINTS it
    needs --fit-sample (said before any text is embedded)."""
    if args.engine == "dask" and args.fit_sample is None and n > FIT_ALL_MAX_POINTS:
        raise ParameterError(
            f"{args.input}: {n:,} points: with --engine dask, --fit-sample N is needed above {FIT_ALL_MAX_POINTS:,} "
            f"points (e.g. --fit-sample {FIT_ALL_MAX_POINTS}: fit on a seeded sample, place the rest on the "
            "workers); a fit on every point is one task holding them all: use --engine local for that"
        )


def _layout(args: argparse.Namespace, engine: Any, bar: _Bar, staged: Path) -> Any:
    """The input's partitions for the Dask engine (:mod:`viz_app.export.dask_map`). A parquet file
    or folder, or a .npy, is read by the workers; any other input is read here and staged as part
    files in ``staged`` (texts embedded there by the workers), then read by the workers."""
    layout = plan_partitions(
        args.input, partition_rows=args.partition_rows, text_column=args.text_column, label_column=args.label_column
    )
    if layout is not None:
        _check_fit_sample(args, layout.n_samples)
        return layout
    raw = read(args.input, text_column=args.text_column, label_column=args.label_column)
    for note in raw.notices:
        print(f"{PROG}: note: {note}", file=sys.stderr)
    _check_fit_sample(args, len(raw.vectors) if raw.vectors is not None else len(raw.texts or []))
    model_name = None
    if raw.vectors is None:  # the workers embed the texts into part files
        with part_folder(staged) as folder:
            engine.embed_to_parts(
                raw.texts or [], stage_table(raw.labels, raw.metadata, None), folder, model=args.model, progress=bar
            )
        model_name = args.model or DEFAULT_MODEL
    else:
        write_table(stage_table(raw.labels, raw.metadata, raw.vectors), staged, rows_per_part=args.partition_rows)
    layout = plan_partitions(
        staged, partition_rows=args.partition_rows, label_column="label", vector_column="vector", name=raw.name
    )
    assert layout is not None  # the staged part files hold a vector column
    return dataclasses.replace(layout, model_name=model_name, text_column=raw.text_column)


def _map_dask(args: argparse.Namespace, engine: Any, bar: _Bar, out: Path) -> str:
    """``map --engine dask``: the workers read the input by partitions and write the map's part
    files (:func:`viz_app.export.dask_map.map_partitions`); returns the summary line."""
    staged = out.with_name(out.name + ".input")
    try:
        layout = _layout(args, engine, bar, staged)
        params = _params(args, layout.n_samples)
        done = map_partitions(engine, layout, out, params, k=args.k, dataset_ref=layout.name, progress=bar)
    finally:
        if staged.is_dir():
            shutil.rmtree(staged, ignore_errors=True)
    return (
        f"{out}: {done['n_samples']:,} points, {params.describe()}, kNN k={args.k}; {done['seconds']:.1f} s "
        f"(dask engine, {done['parts']} part files written by the workers; no trust metrics)"
    )


def cmd_map(args: argparse.Namespace) -> int:
    """Project INPUT, build its kNN graph (and clusters), write a map file the app opens directly."""
    use_numba_disk_cache()  # numba keeps umap-learn's compiled kernels: the next run skips compiling
    out = _out(args.output, (".parquet",))
    if args.engine == "dask" and args.clusters is not None:
        raise ParameterError(
            "--clusters is not available with --engine dask (KMeans and the cluster labels need every point in "
            "one process); map without --clusters, or use --engine local"
        )
    engine, bar = _engine(args), _Bar("map", args.quiet)
    if args.engine == "dask":
        try:
            line = _map_dask(args, engine, bar, out)
        finally:
            bar.close()
            engine.close()
        print(line)
        return 0
    try:
        t0 = time.perf_counter()
        _, es = _load(args, engine, bar, check=lambda n: _check_fit_sample(args, n))
        params = _params(args, es.n_samples)
        m = build_map(es, params, k=args.k, n_clusters=args.clusters, engine=engine, progress=bar, dataset_ref=es.name)
        write_map(m, out, rows_per_part=_parts(args))
    finally:
        bar.close()
        engine.close()
    t = m.info["trust"]
    extra = (
        f", trustworthiness {t['trustworthiness']:.3f}, continuity {t['continuity']:.3f}, "
        f"preserved@{t['k']} {t['preservation']:.1%}"
        if t
        else ""
    )
    groups = f", {len(m.cluster_labels)} clusters" if m.cluster_labels else ""
    print(
        f"{out}: {es.n_samples:,} points, {params.describe()}, kNN k={args.k}{groups}{extra}; "
        f"{time.perf_counter() - t0:.1f} s ({m.info['engine']} engine)"
    )
    return 0


def cmd_figure(args: argparse.Namespace) -> int:
    """Draw a map file as a report figure (datamapplot, matplotlib): PNG, SVG or PDF."""
    out = _out(args.output, (".png", ".svg", ".pdf"))
    m = load_map(args.input)
    fig = map_figure(
        m, focus=args.focus, n_neighbors=args.neighbors, color_by=args.color_by, title=args.title, zoom=args.zoom
    )
    try:
        export_figure(fig, out, dpi=args.dpi, settings=m.settings)
    finally:
        close_figure(fig)
    print(f"{out}: {m.es.n_samples:,} points" + (f", focus {args.focus!r}" if args.focus else ""))
    return 0


def app_script() -> Path:
    """The app's entry script: the repository's ``streamlit_app.py`` when running from a checkout,
    else the copy installed inside the package (``viz_app/_app``)."""
    here = Path(__file__).resolve().parent
    repo = here.parent / "streamlit_app.py"
    if repo.is_file() and (here.parent / "pages").is_dir():
        return repo
    return here / "_app" / "streamlit_app.py"


def cmd_serve(args: argparse.Namespace) -> int:
    """Start the app (Streamlit) on ADDRESS:PORT; with FILE, the app opens it first."""
    env = dict(os.environ)
    if args.file:
        path = Path(args.file)
        if not (path.is_file() or path.is_dir()):  # a folder: partitioned parquet
            raise ParameterError(f"{args.file}: no such file")
        env[OPEN_ENV] = str(path.resolve())
    script = app_script()
    cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.port", str(args.port)]
    cmd += ["--server.address", args.address, "--server.headless", "true"]
    print(f"{PROG}: serving {script} on http://{args.address}:{args.port}", file=sys.stderr, flush=True)
    return subprocess.call(cmd, env=env, cwd=script.parent)


def _engine_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        choices=("local", "dask"),
        default="local",
        help="where to compute (default: local); dask writes partitioned parquet (a folder of part files)",
    )
    g.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="Dask scheduler of an existing cluster (tcp://host:8786; its workers need this package); "
        "default: a LocalCluster of --workers processes",
    )
    g.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default: 2)")
    g.add_argument(
        "--partition-rows",
        type=int,
        default=20_000,
        help="rows per Dask partition, kNN block and part file (default: 20000); a worker's memory follows it",
    )


def _input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "input", metavar="INPUT", help="vectors or texts: CSV, TSV, parquet, .npy, .npz, GloVe/word2vec, .txt"
    )
    p.add_argument("--text-column", help="column of texts to embed (default: the longest text column)")
    p.add_argument("--label-column", help="column of labels (default: label/word/name/title/text)")
    p.add_argument("--model", help="encoder for texts (default: all-MiniLM-L6-v2)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    top = argparse.ArgumentParser(
        prog=PROG, description="Embedding Lens: embed, map and draw embedding spaces; serve the app."
    )
    top.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    e = sub.add_parser("embed", help="embed texts into vectors (parquet)", description=cmd_embed.__doc__)
    _input_options(e)
    e.add_argument("-o", "--output", required=True, help="output .parquet")
    _engine_options(e)
    e.set_defaults(run=cmd_embed)

    m = sub.add_parser("map", help="compute a map file (coordinates, kNN graph, clusters)", description=cmd_map.__doc__)
    _input_options(m)
    m.add_argument("-o", "--output", required=True, help="output .parquet (a map file)")
    m.add_argument("--reducer", choices=("pca", "tsne", "umap"), default="umap", help="default: umap")
    m.add_argument("--dims", type=int, choices=(2, 3), default=2, help="map dimensions (default: 2)")
    m.add_argument("--metric", choices=("cosine", "euclidean"), default="cosine", help="default: cosine")
    m.add_argument("--seed", type=int, default=0, help="random_state of every seeded step (default: 0)")
    m.add_argument("--n-neighbors", type=int, help="UMAP n_neighbors (default 15)")
    m.add_argument("--min-dist", type=float, help="UMAP min_dist (default 0.1)")
    m.add_argument("--perplexity", type=float, help="t-SNE perplexity (default 30)")
    m.add_argument(
        "--fit-sample",
        type=int,
        metavar="N",
        help="fit on a seeded sample of N points, place the rest with the reducer's transform; with --engine dask "
        f"required above {FIT_ALL_MAX_POINTS:,} points (a fit on every point is one task holding them all)",
    )
    m.add_argument("--clusters", type=int, nargs="?", const=12, metavar="K", help="KMeans clusters (default K: 12)")
    m.add_argument("--k", type=int, default=15, help="neighbours per point in the kNN graph (default: 15)")
    _engine_options(m)
    m.set_defaults(run=cmd_map)

    f = sub.add_parser("figure", help="draw a map file as PNG/SVG/PDF (datamapplot)", description=cmd_figure.__doc__)
    f.add_argument("input", metavar="MAP", help="a map file from `embedding-lens map`")
    f.add_argument("-o", "--output", required=True, help="output .png, .svg or .pdf")
    f.add_argument("--focus", help="label or id of the item to mark, with its neighbours")
    f.add_argument("--neighbors", type=int, default=10, help="neighbours of the focus to label (default: 10)")
    f.add_argument("--zoom", action="store_true", help="zoom to the focus and its neighbours")
    f.add_argument("--color-by", help="categorical metadata column for the regions (default: the clusters)")
    f.add_argument("--title", help="title (default: the data set's name)")
    f.add_argument("--dpi", type=int, default=150, help="PNG resolution, 50..600 (default: 150)")
    f.set_defaults(run=cmd_figure)

    s = sub.add_parser("serve", help="start the app", description=cmd_serve.__doc__)
    s.add_argument("file", metavar="FILE", nargs="?", help="a file to open first (a map file opens without projecting)")
    s.add_argument("--port", type=int, default=8501, help="default: 8501")
    s.add_argument("--address", default="127.0.0.1", help="default: 127.0.0.1 (this machine only)")
    s.set_defaults(run=cmd_serve)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (see the module docstring)."""
    args = parser().parse_args(argv)
    try:
        return int(args.run(args))
    except VizAppError as exc:
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
        print(f"{PROG}: error: {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
