"""The effective rank of features or embeddings (Roy & Vetterli 2007)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Measure


def effective_rank(features: np.ndarray, center: bool = True) -> float:
    """``exp(H(p))`` with ``p = s / sum(s)`` the normalised singular values of ``features``.

    ``features`` is ``(n, F)``; with ``center`` its column means are removed first. Singular
    values below the numerical-rank tolerance (``s_max * max(n, F) * eps``, as
    ``numpy.linalg.matrix_rank``) count as zero, so data of rank ``k`` give at most ``k``. A
    matrix that is zero (after centring: all samples equal) has effective rank 0.
    """
    X = np.asarray(features, dtype=np.float64)
    scale = float(np.abs(X).max()) if X.size else 0.0
    if center:
        X = X - X.mean(0, keepdims=True)
    # centring equal rows leaves rounding residue of order eps * |X|: treat that as zero
    if X.size == 0 or float(np.abs(X).max()) <= 64 * np.finfo(np.float64).eps * max(scale, np.finfo(np.float64).tiny):
        return 0.0
    s = np.linalg.svd(X, compute_uv=False)
    s = s[s > s.max() * max(X.shape) * np.finfo(np.float64).eps]
    p = s / s.sum()
    return float(np.exp(-np.sum(p * np.log(p))))


def _features(X: Any) -> np.ndarray:
    """Samples as an ``(n, F)`` float64 matrix (graphs: their node features ``x``)."""
    if hasattr(X, "x") and hasattr(X, "edge_index"):  # one graph: its node features
        X = X.x
    if hasattr(X, "detach"):
        X = X.detach().cpu().numpy()
    if isinstance(X, (list, tuple)):
        try:
            X = np.stack([x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x) for x in X])
        except ValueError as exc:
            raise ValueError(
                "effective_rank needs fixed-size samples; the data are ragged (give a model that embeds "
                "them, or a descriptor step)"
            ) from exc
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(f"effective_rank needs numeric features, got dtype {X.dtype}")
    if X.ndim == 0 or len(X) == 0:
        raise ValueError("effective_rank needs at least one sample")
    X = X.astype(np.float64).reshape(len(X), -1)
    if not np.isfinite(X).all():
        raise ValueError("the features contain NaN or Inf values")
    return X


def _embed(model: Any, X: Any, data_type: str) -> Any:
    """``model.embed`` (or its forward, or ``transform``) applied to ``X`` without gradients."""
    import torch

    from geoatlas.utils import embed

    if isinstance(model, torch.nn.Module) or hasattr(model, "embed"):
        return embed(model, X, data_type)
    if callable(getattr(model, "transform", None)):
        return model.transform(_features(X))
    raise TypeError(
        f"effective_rank cannot embed data with a {type(model).__name__}: it needs a torch module, a model "
        "with embed(x), or an estimator with transform(X)"
    )


class EffectiveRank(Measure):
    """Effective rank ``exp(H(p))``, ``p = s / sum(s)`` over the singular values ``s`` of the
    centred feature matrix (Roy & Vetterli 2007).

    It lies between 1 and ``min(n, F)``: 1 when the samples vary along one direction, ``F``
    for isotropic features; a collapsed embedding has a low effective rank. Without a model it
    measures ``data["X"]`` itself; given a model (a trained encoder: ``model.embed`` if it has
    one, else its forward; or an estimator's ``transform``) it measures the embeddings of
    ``data["X"]``, computed in eval mode without gradients.

    Parameters
    ----------
    center : bool
        Remove the column means before the SVD (default True).

    Returns
    -------
    dict
        ``{"effective_rank": float, "n_features": int}`` (``n_features``: the dimension measured).
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, center: bool = True) -> None:
        if not isinstance(center, (bool, np.bool_)):
            raise TypeError(f"center must be a bool, got {type(center).__name__}")
        self.center = bool(center)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if data is None or "X" not in data:
            raise ValueError("effective_rank needs data={'X': samples or features}")
        X = data["X"]
        if model is not None:
            X = _embed(model, X, data.get("data_type") or "vector")
        F = _features(X)
        return {"effective_rank": effective_rank(F, self.center), "n_features": int(F.shape[1])}
