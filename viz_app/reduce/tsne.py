"""t-SNE (van der Maaten & Hinton 2008) via **openTSNE** (Poličar, Stražar & Zupan 2024).

Chosen over scikit-learn's because it has FFT-accelerated interpolation (Linderman et al. 2019)
that scales linearly in 2-D, reports progress through callbacks, and places new points in an
existing map (``TSNEEmbedding.transform``), which vector arithmetic needs. openTSNE's FFT method
is 1-D/2-D only, so 3-D uses its Barnes-Hut method.

Progress: while openTSNE computes the affinities (kNN and perplexity calibration) the bar shows
the elapsed time every second; then every 10 of the 750 iterations (250 early exaggeration, 500
main) with the KL divergence and the time left (openTSNE's gradient yields the divergence).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import ParameterError
from viz_app.progress import Eta, Progress, heartbeat
from viz_app.reduce.registry import FitResult, Param, ProjectionParams, ReducerSpec, register

__all__ = ["EARLY_EXAGGERATION_ITER", "N_ITER", "SPEC"]

EARLY_EXAGGERATION_ITER, N_ITER = 250, 500
_EVERY = 10  # iterations between progress reports
_AFFINITIES = 0.15  # share of the bar for the affinities


def _fit(x: NDArray[np.float32], p: ProjectionParams, report: Progress) -> FitResult:
    import openTSNE

    if np.all(x.min(axis=0) == x.max(axis=0)):  # openTSNE segfaults on all-identical vectors
        raise ParameterError(f"t-SNE cannot lay out {len(x)} identical vectors (every distance is 0); use PCA")
    # openTSNE's exact kNN divides by row norms: with cosine and an all-zero row use Annoy
    zero_rows = p.metric == "cosine" and float(np.linalg.norm(x, axis=1).min()) == 0.0
    total = EARLY_EXAGGERATION_ITER + N_ITER
    state: dict[str, Any] = {"done": 0, "eta": None}

    with heartbeat(report, "t-SNE: nearest neighbours and affinities (openTSNE)", start=0.0, stop=_AFFINITIES) as stop:

        def callback(iteration: int, error: float, embedding: Any) -> bool:
            if state["eta"] is None:  # the first report of the optimisation ends the heartbeat
                stop()
                state["eta"] = Eta(total)
            state["done"] = min(state["done"] + _EVERY, total)
            phase = "early exaggeration" if state["done"] <= EARLY_EXAGGERATION_ITER else "optimisation"
            done, eta = state["done"], state["eta"].text(state["done"])
            report(
                _AFFINITIES + (1 - _AFFINITIES) * done / total,
                f"t-SNE {phase}: iteration {done} / {total}, KL {error:.3f}, {eta}",
            )
            return False

        emb = openTSNE.TSNE(
            n_components=p.n_components,
            perplexity=p.perplexity,
            metric=p.metric,
            random_state=p.random_state,
            n_jobs=max(1, min(2, os.cpu_count() or 1)),
            early_exaggeration_iter=EARLY_EXAGGERATION_ITER,
            n_iter=N_ITER,
            negative_gradient_method="fft" if p.n_components <= 2 else "bh",
            neighbors="annoy" if zero_rows else "auto",
            callbacks=callback,
            callbacks_every_iters=_EVERY,
        ).fit(x)
    # a later transform must not report to this fit's bar; and the model must pickle (fits run in
    # a worker process, viz_app.reduce.worker), which this fit's callback closure does not
    emb.gradient_descent_params["callbacks"] = None
    return FitResult(np.asarray(emb, dtype=np.float32), {"kl_divergence": float(emb.kl_divergence)}, emb)


def _transform(model: Any, p: ProjectionParams, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """openTSNE ``TSNEEmbedding.transform``: each new point starts at the median of its
    neighbours in the map and is optimised against the fixed map."""
    return np.asarray(model.transform(x), dtype=np.float32)


def _check_n(n: int, values: Mapping[str, Any]) -> None:
    perplexity = values["perplexity"]
    if n <= 3 * perplexity + 1:
        raise ParameterError(
            f"t-SNE with perplexity={perplexity:g} needs more than {int(3 * perplexity + 1)} points, got {n}; "
            "lower the perplexity"
        )


def _quality(q: Mapping[str, float]) -> str | None:
    kl = q.get("kl_divergence")
    return None if kl is None else f"KL divergence {kl:.3f}"


SPEC = register(
    ReducerSpec(
        name="tsne",
        display="t-SNE",
        library="openTSNE",
        reference="van der Maaten & Hinton 2008; Linderman et al. 2019 (FFT); Poličar et al. 2024 (openTSNE)",
        summary="t-SNE (openTSNE): tight local clusters; distances between clusters mean little.",
        params=(
            Param(
                "perplexity",
                float,
                30.0,
                2.0,
                100.0,
                1.0,
                "Perplexity",
                "Effective number of neighbours each point attends to (5-50 is usual).",
                upper_for_n=lambda n: (n - 2) // 3,  # t-SNE needs n > 3 * perplexity + 1
            ),
        ),
        uses_metric=True,
        max_points=50_000,
        check_n_samples=_check_n,
        fit=_fit,
        transform=_transform,
        transform_is_exact=False,
        stages=("nearest neighbours and affinities", "early exaggeration", "optimisation"),
        quality_text=_quality,
    )
)
