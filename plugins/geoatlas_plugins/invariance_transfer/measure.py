"""Representational invariance (Speicher, Nanda, Gummadi 2024), measured as in the authors' code.

For pairs ``(x, x')`` of inputs that differ only in the transformation applied to the same object,

    d_T = mean_i || f(x_i) - f(x'_i) ||_2  /  mean_i || f(x_i) - f(x_{pi(i)}) ||_2,

with ``pi`` a random permutation of the samples (the normalisation: distance between random pairs).
``d_T = 0`` means perfectly invariant representations, ``d_T ~ 1`` means the transformation moves a
representation as far as replacing the input by a random other input. The authors also report a
cosine-similarity variant (ratio of mean cosine similarities), available as ``metric="cos"``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch


def _as_tensor(a: object, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    if t.dim() < 2:
        raise ValueError(f"{what} must have a batch axis and at least one feature axis, got shape {tuple(t.shape)}")
    if t.shape[0] < 2:
        raise ValueError(f"{what} needs at least 2 samples (the normalisation uses random pairs), got {t.shape[0]}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return t.reshape(t.shape[0], -1).double()


def invariance_from_representations(z1: object, z2: object, *, metric: str = "l2", seed: int = 0) -> float:
    """Normalised invariance ``d_T`` from representations ``z1[i]``, ``z2[i]`` of paired inputs."""
    a, b = _as_tensor(z1, "z1"), _as_tensor(z2, "z2")
    if a.shape != b.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(a.shape[0], generator=g)
    if metric == "l2":
        same = (a - b).norm(dim=1).mean()
        rand = (a - a[perm]).norm(dim=1).mean()
        if rand <= 0:
            raise ValueError("all representations are identical: the random-pair distance is 0, invariance is undefined")
        return float(same / rand)
    if metric == "cos":
        same = torch.cosine_similarity(a, b, dim=1).mean()
        rand = torch.cosine_similarity(a, a[perm], dim=1).mean()
        if rand.abs() < 1e-12:
            raise ValueError("the mean cosine similarity of random pairs is 0: the cos ratio is undefined")
        return float(same / rand)
    raise ValueError(f"metric must be 'l2' or 'cos', got {metric!r}")


@torch.no_grad()
def representational_invariance(features: Callable[[torch.Tensor], torch.Tensor], x1: torch.Tensor, x2: torch.Tensor,
                                *, metric: str = "l2", batch_size: int = 256, seed: int = 0) -> float:
    """``d_T`` of a feature map (e.g. a model's penultimate layer, ``model.embed``) on input pairs."""
    if not callable(features):
        raise TypeError(f"features must be callable (a model or its embed method), got {type(features).__name__}")
    if len(x1) != len(x2):
        raise ValueError(f"x1 and x2 must hold the same number of samples, got {len(x1)} and {len(x2)}")
    module = getattr(features, "__self__", features)
    was = getattr(module, "training", None)
    if was:
        module.eval()
    try:
        z1 = torch.cat([features(x1[i : i + batch_size]) for i in range(0, len(x1), batch_size)])
        z2 = torch.cat([features(x2[i : i + batch_size]) for i in range(0, len(x2), batch_size)])
    finally:
        if was:
            module.train()
    return invariance_from_representations(z1, z2, metric=metric, seed=seed)
