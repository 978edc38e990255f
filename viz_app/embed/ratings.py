"""Ratings -> vectors: user and item embeddings learned by predicting ratings (PyTorch).

The model is biased matrix factorisation (Koren, Bell & Volinsky 2009, "Matrix factorization
techniques for recommender systems"): a rating is predicted as

    r̂(u, i) = μ + b_u + b_i + p_u · q_i

with ``p_u`` and ``q_i`` rows of two ``torch.nn.Embedding`` lookup tables (the user and item
vectors) and ``b_u``, ``b_i`` rows of two one-column tables (the biases). Training minimises,
with Adam (Kingma & Ba 2015) on shuffled mini-batches,

    mean over rated pairs (r - r̂)²  +  w_m · mean over random pairs (r_m - r̂)²
    +  (λ_v / N) (‖P‖² + ‖Q‖²)  +  (λ_b / N) (‖b_u‖² + ‖b_i‖²)

- The first term fits the N known ratings.
- The second is Steck's (2010, "Training and testing of recommender systems on data missing not
  at random", KDD) *AllRank* imputation: a user does not pick films at random, so a pair
  without a rating is, weakly, evidence of a low rating ``r_m``. It is estimated on pairs drawn
  uniformly from all user x item pairs (one per rated pair in the batch; the ~1.6% that are
  rated on MovieLens are treated as missing too). The biases are held fixed in this term
  (learned from real ratings only), so it shapes the vectors alone: their dot product learns
  which films a user tends to rate at all, which is what ranking a top-10 list needs.
- The ridge terms are a weight decay over the whole tables (Adam's ``weight_decay`` of
  ``2 λ / N``): a film rated by few users keeps a short vector, so dot products favour films
  whose vectors are backed by many ratings.

Why these defaults (:class:`RatingParams`): measured on MovieLens latest-small (100,004 ratings;
RMSE on a random 10% held out; recall@10 of the films each user rated >= 4 among their latest 20%,
where the popularity baseline scores 0.067) by ``benchmarks/recommend.py --sweep``, one change
from the defaults per line. Defaults: RMSE 0.881, recall@10 0.077 (average profiles 0.074).

==================  ========  ===============================================================
parameter           default   change -> RMSE, recall@10 of the learned user vectors
==================  ========  ===============================================================
``l2_vectors``      15        5 -> 0.969, 0.064 (overfits); 10 -> 0.896, 0.067;
                              30 -> 0.920, 0.057 (most vectors shrink to nothing).
``l2_biases``       100       1 -> 0.874, 0.058 (the biases of films with 1-3 ratings take
                              over); 30 -> 0.873, 0.073; 300 -> 0.892, 0.076.
``missing_weight``  0.3       0 (ratings only) -> 0.888, 0.070; 1.0 -> 0.960, 0.077;
                              1.0 with ``missing_rating`` 1.0 -> 1.122, 0.085.
``missing_rating``  2.0       1.5 -> 0.892, 0.069.
``epochs``          40        20 -> 0.883, 0.074; 80 -> 0.882, 0.075 (converged).
``batch_size``      8192      1024 (30 epochs) -> 0.886, 0.068, and 2-3x slower (per-step cost).
``learning_rate``   0.01      0.005 -> 0.882, 0.074.
==================  ========  ===============================================================

So: the defaults keep RMSE well under 0.90 and give the learned user vectors the best recall
among the settings that do; a stronger imputation ranks better still but costs rating error.
One fit takes ~5 s of CPU (15-17 s wall on 2 cores shared with other work) and the process
peaks at ~450 MB RSS, 325 MB of which is Python, pandas, torch and the data before the fit.

Deterministic: the initial vectors come from ``torch.manual_seed(random_state)`` inside
``torch.random.fork_rng`` (the caller's global generator is left as it was), the batch order and
the random pairs from a ``torch.Generator`` seeded alike, and training runs with
``torch.use_deterministic_algorithms(True)`` on one thread (both restored afterwards), so the
same data and parameters give bit-identical vectors on any machine with the same torch.

Fitted models are kept on disk by :mod:`viz_app.embed.rating_store`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from viz_app.errors import MissingDependencyError, ParameterError

__all__ = ["RatingModel", "RatingParams", "check_pairs", "fit_ratings"]


@dataclass(frozen=True)
class RatingParams:
    """Hyperparameters of :func:`fit_ratings` (see the module docstring for the measurements).

    Parameters
    ----------
    dim : int, default=32
        Length of every user and item vector, 1..512.
    epochs : int, default=40
        Passes over the rated pairs, 1..1000.
    learning_rate : float, default=0.01
        Adam's step size, in (0, 1].
    batch_size : int, default=8192
        Rated pairs per step (and as many random pairs), 1..1,000,000.
    l2_vectors, l2_biases : float, default=15.0, 100.0
        Ridge penalties λ_v, λ_b (>= 0) on the vector tables and the bias tables, in units of
        squared rating error summed over the training ratings.
    missing_weight : float, default=0.3
        Weight w_m (>= 0) of the imputed low rating on random pairs; 0 fits ratings only.
    missing_rating : float, default=2.0
        The imputed rating r_m, on the data's rating scale.
    random_state : int, default=0
        Seed of the initial vectors, the batch order and the random pairs.

    Raises
    ------
    ParameterError
        A value out of its range or of the wrong type.
    """

    dim: int = 32
    epochs: int = 40
    learning_rate: float = 0.01
    batch_size: int = 8192
    l2_vectors: float = 15.0
    l2_biases: float = 100.0
    missing_weight: float = 0.3
    missing_rating: float = 2.0
    random_state: int = 0

    def __post_init__(self) -> None:
        ints = {"dim": (1, 512), "epochs": (1, 1000), "batch_size": (1, 1_000_000), "random_state": (0, 2**32 - 1)}
        for name, (lo, hi) in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
                raise ParameterError(f"{name} must be an integer in {lo}..{hi}, got {v!r}")
        for name in ("learning_rate", "l2_vectors", "l2_biases", "missing_weight", "missing_rating"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not np.isfinite(v):
                raise ParameterError(f"{name} must be a finite number, got {v!r}")
        if not 0 < self.learning_rate <= 1:
            raise ParameterError(f"learning_rate must be in (0, 1], got {self.learning_rate!r}")
        for name in ("l2_vectors", "l2_biases", "missing_weight"):
            if getattr(self, name) < 0:
                raise ParameterError(f"{name} must be >= 0, got {getattr(self, name)!r}")

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain Python values (JSON-ready)."""
        return {k: (int(v) if isinstance(v, (int, np.integer)) else float(v)) for k, v in asdict(self).items()}


@dataclass(frozen=True, eq=False)
class RatingModel:
    """A fitted rating model: ``r̂(u, i) = global_mean + user_bias[u] + item_bias[i] + P[u] · Q[i]``.

    Attributes
    ----------
    user_vectors : ndarray of shape (n_users, dim), dtype float32
    item_vectors : ndarray of shape (n_items, dim), dtype float32
    user_bias : ndarray of shape (n_users,), dtype float32, rating units
    item_bias : ndarray of shape (n_items,), dtype float32, rating units
    global_mean : float
        Mean training rating μ.
    params : RatingParams
    elapsed_s : float
        Wall time of the fit, seconds (as it was when fitted, for a model read from disk).
    """

    user_vectors: NDArray[np.float32]
    item_vectors: NDArray[np.float32]
    user_bias: NDArray[np.float32]
    item_bias: NDArray[np.float32]
    global_mean: float
    params: RatingParams = field(default_factory=RatingParams)
    elapsed_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("user_vectors", "item_vectors", "user_bias", "item_bias"):
            a = np.ascontiguousarray(np.asarray(getattr(self, name), dtype=np.float32))
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    def predict(self, users: NDArray[np.integer], items: NDArray[np.integer]) -> NDArray[np.float64]:
        """Predicted ratings of the pairs ``(users[j], items[j])``: shape (n_pairs,) float64, not clipped."""
        u, i = np.asarray(users, dtype=np.intp), np.asarray(items, dtype=np.intp)
        dot = np.einsum("ij,ij->i", self.user_vectors[u].astype(np.float64), self.item_vectors[i].astype(np.float64))
        return self.global_mean + self.user_bias[u].astype(np.float64) + self.item_bias[i] + dot


def check_pairs(users: Any, items: Any, ratings: Any, n_users: int, n_items: int) -> tuple[np.ndarray, ...]:
    u = np.asarray(users)
    i = np.asarray(items)
    r = np.asarray(ratings, dtype=np.float64)
    if not (u.ndim == i.ndim == r.ndim == 1 and len(u) == len(i) == len(r)):
        raise ParameterError(f"users, items and ratings must be 1-D of one length; got {u.shape}, {i.shape}, {r.shape}")
    if len(r) == 0:
        raise ParameterError("no ratings to learn from")
    if u.dtype.kind not in "iu" or i.dtype.kind not in "iu":
        raise ParameterError("users and items must be integer indices")
    if u.min() < 0 or u.max() >= n_users or i.min() < 0 or i.max() >= n_items:
        raise ParameterError(f"indices must be in 0..{n_users - 1} (users) and 0..{n_items - 1} (items)")
    if not np.isfinite(r).all():
        raise ParameterError(f"ratings must be finite; first bad value at position {int(np.argmin(np.isfinite(r)))}")
    return u.astype(np.int64), i.astype(np.int64), r.astype(np.float32)


def fit_ratings(
    users: NDArray[np.integer],
    items: NDArray[np.integer],
    ratings: NDArray[np.floating],
    *,
    n_users: int,
    n_items: int,
    params: RatingParams | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> RatingModel:
    """Learn user and item vectors and biases from known ratings (see the module docstring).

    Parameters
    ----------
    users, items : ndarray of shape (n_ratings,), integer
        Row of each rating's user in 0..n_users-1 and item in 0..n_items-1.
    ratings : ndarray of shape (n_ratings,), float
        The ratings (any scale; MovieLens: 0.5-5 stars).
    n_users, n_items : int
        Table sizes; users or items without a training rating keep (shrunk) initial vectors.
    params : RatingParams, optional
        Default ``RatingParams()``.
    progress : callable (fraction in [0, 1], message) -> None, optional
        Called after every epoch with the running training RMSE.

    Returns
    -------
    RatingModel

    Raises
    ------
    ParameterError
        Arrays of different lengths, indices out of range, no or non-finite ratings.
    MissingDependencyError
        PyTorch is not installed.
    """
    params = params or RatingParams()
    u, i, r = check_pairs(users, items, ratings, n_users, n_items)
    try:
        import torch
    except ImportError:  # pragma: no cover - in requirements.txt
        raise MissingDependencyError("learning rating embeddings needs PyTorch: pip install torch") from None
    t0 = time.perf_counter()
    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params.random_state)
            p, q, bu, bi = _train(torch, u, i, r, n_users, n_items, params, progress)
    finally:
        torch.use_deterministic_algorithms(deterministic)
        torch.set_num_threads(threads)
    took = time.perf_counter() - t0
    return RatingModel(p, q, bu, bi, global_mean=float(r.mean()), params=params, elapsed_s=took)


def _train(torch: Any, u, i, r, n_users, n_items, p: RatingParams, progress) -> list[NDArray[np.float32]]:
    """The training loop; returns [P, Q, b_u, b_i] as numpy arrays."""
    nn = torch.nn
    user, item = nn.Embedding(n_users, p.dim), nn.Embedding(n_items, p.dim)
    ubias, ibias = nn.Embedding(n_users, 1), nn.Embedding(n_items, 1)
    for t in (user, item):
        nn.init.normal_(t.weight, std=0.1)
    for t in (ubias, ibias):
        nn.init.zeros_(t.weight)
    n = len(r)
    opt = torch.optim.Adam(
        [
            {"params": [user.weight, item.weight], "weight_decay": 2 * p.l2_vectors / n},
            {"params": [ubias.weight, ibias.weight], "weight_decay": 2 * p.l2_biases / n},
        ],
        lr=p.learning_rate,
    )
    tu, ti, tr = torch.from_numpy(u), torch.from_numpy(i), torch.from_numpy(r)
    mu = float(r.mean())
    gen = torch.Generator().manual_seed(p.random_state)
    for epoch in range(p.epochs):
        sse = 0.0
        for b in torch.randperm(n, generator=gen).split(p.batch_size):
            bu, bi = tu[b], ti[b]
            pred = mu + ubias(bu).squeeze(1) + ibias(bi).squeeze(1) + (user(bu) * item(bi)).sum(1)
            err = ((pred - tr[b]) ** 2).mean()
            loss = err
            if p.missing_weight > 0:
                mu_, mi_ = (
                    torch.randint(0, n_users, (len(b),), generator=gen),
                    torch.randint(0, n_items, (len(b),), generator=gen),
                )
                fixed = (ubias(mu_).squeeze(1) + ibias(mi_).squeeze(1)).detach()
                missing = mu + fixed + (user(mu_) * item(mi_)).sum(1)
                loss = loss + p.missing_weight * ((missing - p.missing_rating) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sse += float(err.detach()) * len(b)
        if progress is not None:
            progress((epoch + 1) / p.epochs, f"epoch {epoch + 1}/{p.epochs}: training RMSE {np.sqrt(sse / n):.3f}")
    return [t.weight.detach().numpy().copy() for t in (user, item)] + [
        t.weight.detach().numpy()[:, 0].copy() for t in (ubias, ibias)
    ]
