"""Label-free class separability from the H₀ persistence of an embedding (Ghalyan, Gourgoulias,
Satsangi, Labonne, Moran & Sabelja, arXiv 2305.15016).

The 0-th persistent homology of the Vietoris–Rips filtration of a point cloud has every bar
born at 0; its finite deaths are the edge lengths of the Euclidean minimum spanning tree
(single linkage). Normalised by the largest one, ``p̂_i = p_i / max_j p_j``, they do not depend
on the scale of the embedding. Data made of a few well separated clusters have a few deaths
near 1 and a bulk near 0: the persistence score (the mean of ``p̂``) is small.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np

from geoatlas.interfaces import Measure

__all__ = ["ClassSeparability", "h0_deaths", "persistence_statistics"]


def h0_deaths(X: np.ndarray) -> np.ndarray:
    """The ``n - 1`` finite H₀ death times of the Vietoris–Rips filtration of ``X`` (``n x d``):
    the edge lengths of a Euclidean minimum spanning tree (Prim's algorithm on the full distance
    matrix, O(n²) memory), ascending. Duplicate points give deaths of 0."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n < 2:
        return np.zeros(0)
    sq = np.einsum("ij,ij->i", X, X)
    D2 = np.maximum(sq[:, None] + sq[None, :] - 2.0 * X @ X.T, 0.0)
    in_tree = np.zeros(n, dtype=bool)
    in_tree[0] = True
    best = D2[0].copy()
    out = np.empty(n - 1)
    for i in range(n - 1):
        best[in_tree] = np.inf
        j = int(np.argmin(best))
        out[i] = best[j]
        in_tree[j] = True
        best = np.minimum(best, D2[j])
    # exact lengths of the chosen edges (the Gram trick above only picks them)
    return np.sort(np.sqrt(out))


def persistence_statistics(deaths: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Statistics of the normalised deaths ``p̂ = p / max p``: ``persistence_score`` (mean of
    ``p̂``), ``persistent_entropy`` (``-Σ q log q``, ``q = p / Σ p``, divided by ``log m``),
    ``n_large`` (how many ``p̂ ≥ threshold``) and ``max_persistence`` (``max p``)."""
    p = np.asarray(deaths, dtype=np.float64)
    if p.size == 0 or p.max() <= 0:
        return {"persistence_score": 0.0, "persistent_entropy": 0.0, "n_large": 0.0, "max_persistence": 0.0}
    ph = p / p.max()
    q = p[p > 0] / p.sum()
    ent = float(-(q * np.log(q)).sum() / np.log(p.size)) if p.size > 1 else 0.0
    return {"persistence_score": float(ph.mean()), "persistent_entropy": ent, "n_large": float((ph >= threshold).sum()),
            "max_persistence": float(p.max())}


def _embed(model: Any, X: Any, data_type: str) -> np.ndarray:
    import torch

    from geoatlas.utils import embed

    if isinstance(model, torch.nn.Module) or callable(getattr(model, "embed", None)):
        return embed(model, X, data_type)
    if callable(getattr(model, "transform", None)):
        return np.asarray(model.transform(np.asarray(X).reshape(len(X), -1)), dtype=np.float64)
    raise TypeError(f"class_separability cannot embed data with a {type(model).__name__}: it needs a torch module, "
                    "a model with embed(x), or an estimator with transform(X)")


class ClassSeparability(Measure):
    """Unsupervised class-separability score of an embedding from its H₀ persistence.

    Without a model it measures ``data["X"]`` (features or embeddings); with a model (a trained
    encoder: ``model.embed`` if it has one, else its forward) it measures the embeddings of
    ``data["X"]``. Labels are not used.

    Parameters
    ----------
    statistic : {"mean", "entropy", "count"}
        Which statistic is reported as ``score`` (all three are always returned): the mean
        normalised persistence (default), the normalised persistent entropy, or the count of
        normalised deaths ``≥ threshold``. Lower mean / entropy: more clustered.
    threshold : float
        For ``n_large``.
    normalize : bool
        L2-normalise each embedding before the filtration (the paper stresses normalised
        sentence embeddings; off by default for general features).
    max_samples : int
        A seeded random subset of at most this many points (the distance matrix is n x n).
    seed : int
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, statistic: Literal["mean", "entropy", "count"] = "mean", threshold: float = 0.5, normalize: bool = False,
                 max_samples: int = 1000, seed: int = 0) -> None:
        if statistic not in ("mean", "entropy", "count"):
            raise ValueError(f"statistic must be 'mean', 'entropy' or 'count', got {statistic!r}")
        if not (np.isfinite(threshold) and 0 < threshold <= 1):
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if isinstance(max_samples, bool) or not isinstance(max_samples, (int, np.integer)) or max_samples < 2:
            raise ValueError(f"max_samples must be an integer >= 2, got {max_samples!r}")
        self.statistic, self.threshold, self.normalize = statistic, float(threshold), bool(normalize)
        self.max_samples, self.seed = int(max_samples), int(seed)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data:
            raise ValueError("class_separability needs data={'X': samples or embeddings}")
        X = data["X"]
        n = len(X)
        if n < 2:
            raise ValueError(f"class_separability needs at least 2 samples, got {n}")
        idx = np.arange(n)
        if n > self.max_samples:
            idx = np.sort(np.random.default_rng(self.seed).choice(n, self.max_samples, replace=False))
        if model is not None:
            sub = X[idx] if isinstance(X, np.ndarray) else [X[i] for i in idx]
            F = _embed(model, sub, data.get("data_type") or "vector")
        else:
            F = np.asarray(X)
            if F.dtype.kind not in "biuf":
                raise TypeError(f"class_separability needs numeric features, got dtype {F.dtype}")
            F = F.astype(np.float64).reshape(n, -1)[idx]
        if not np.isfinite(F).all():
            raise ValueError("class_separability: the features contain NaN or Inf values")
        if self.normalize:
            norms = np.linalg.norm(F, axis=1, keepdims=True)
            if (norms == 0).any():
                raise ValueError("class_separability: normalize=True but some embeddings are zero vectors")
            F = F / norms
        stats = persistence_statistics(h0_deaths(F), self.threshold)
        stats["score"] = stats[{"mean": "persistence_score", "entropy": "persistent_entropy", "count": "n_large"}[self.statistic]]
        stats["n_points"] = float(len(F))
        return stats
