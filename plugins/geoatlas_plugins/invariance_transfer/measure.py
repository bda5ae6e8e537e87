"""Representational invariance (Speicher, Nanda, Gummadi 2024), measured as in the authors' code.

For pairs ``(x, x')`` of inputs that differ only in the transformation applied to the same object,

    d_T = mean_i || f(x_i) - f(x'_i) ||_2  /  mean_i || f(x_i) - f(x_{pi(i)}) ||_2,

with ``pi`` a random permutation of the samples (the normalisation: distance between random pairs).
``d_T = 0`` means perfectly invariant representations, ``d_T ~ 1`` means the transformation moves a
representation as far as replacing the input by a random other input. The authors also report a
cosine-similarity variant (ratio of mean cosine similarities), available as ``metric="cos"``.

:class:`RepresentationalInvariance` is the same estimator as a geoatlas ``measure`` component: given
a trained model and samples, it makes the pairs itself (two independent draws of a transformation
family applied to each sample) and embeds both views through the model.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import torch

from geoatlas.interfaces import Measure

from .data import FAMILIES, transform_family


def _as_tensor(a: object, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    if t.dim() < 2:
        raise ValueError(f"{what} must have a batch axis and at least one feature axis, got shape {tuple(t.shape)}")
    if t.shape[0] < 2:
        raise ValueError(f"{what} needs at least 2 samples (the normalisation uses random pairs), got {t.shape[0]}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return t.reshape(t.shape[0], -1).double()


def _l2_distances(a: torch.Tensor, b: torch.Tensor, perm: torch.Tensor) -> tuple[float, float]:
    """Mean l2 distance of the pairs ``(a_i, b_i)`` and of the random pairs ``(a_i, a_pi(i))``."""
    return float((a - b).norm(dim=1).mean()), float((a - a[perm]).norm(dim=1).mean())


def invariance_from_representations(z1: object, z2: object, *, metric: str = "l2", seed: int = 0) -> float:
    """Normalised invariance ``d_T`` from representations ``z1[i]``, ``z2[i]`` of paired inputs."""
    a, b = _as_tensor(z1, "z1"), _as_tensor(z2, "z2")
    if a.shape != b.shape:
        raise ValueError(f"z1 and z2 must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(a.shape[0], generator=g)
    if metric == "l2":
        same, rand = _l2_distances(a, b, perm)
        if rand <= 0:
            raise ValueError("all representations are identical: the random-pair distance is 0, invariance is undefined")
        return same / rand
    if metric == "cos":
        same_c = torch.cosine_similarity(a, b, dim=1).mean()
        rand_c = torch.cosine_similarity(a, a[perm], dim=1).mean()
        if rand_c.abs() < 1e-12:
            raise ValueError("the mean cosine similarity of random pairs is 0: the cos ratio is undefined")
        return float(same_c / rand_c)
    raise ValueError(f"metric must be 'l2' or 'cos', got {metric!r}")


def _embed_all(features: Callable[[torch.Tensor], Any], x: torch.Tensor, batch_size: int) -> torch.Tensor:
    """``features`` over ``x`` in batches, flattened to ``(n, F)``; tuple outputs give their first item."""
    parts = []
    for i in range(0, len(x), batch_size):
        out = features(x[i : i + batch_size])
        out = out[0] if isinstance(out, (tuple, list)) else out
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"the feature map must return a torch.Tensor, got {type(out).__name__}")
        parts.append(out.reshape(out.shape[0], -1))
    return torch.cat(parts)


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
        z1 = _embed_all(features, x1, batch_size)
        z2 = _embed_all(features, x2, batch_size)
    finally:
        if was:
            module.train()
    return invariance_from_representations(z1, z2, metric=metric, seed=seed)


_STRENGTH = {"rotate": "max_rotate", "translate": "max_translate", "scale": "max_scale"}
METRICS = ("l2", "cos")


class RepresentationalInvariance(Measure):
    """Representational invariance ``d_T`` of a trained model to one transformation family
    (Speicher, Nanda, Gummadi 2024), as in the authors' code.

    Each sample ``x`` of ``data["X"]`` (images ``(n, C, H, W)`` or ``(n, H, W)``) gives a pair of
    views ``(t1 x, t2 x)`` with ``t1, t2`` two independent random members of ``family`` (the
    paper's pairs: the same object under two draws of the transformation). Both views are
    embedded by the model (``model.embed`` if it has one, else its forward; eval mode, no
    gradients) and

        d_T = mean_i ||f(t1 x_i) - f(t2 x_i)|| / mean_i ||f(t1 x_i) - f(t1 x_pi(i))||

    with ``pi`` a seeded random permutation. ``0`` is perfect invariance, about ``1`` means the
    transformation moves a representation as far as replacing the input by a random other one.
    The whole image is transformed (background included).

    Parameters
    ----------
    family : str
        ``rotate``, ``translate``, ``scale``, ``hflip`` or ``none`` (the identity: ``d_T = 0`` for
        any deterministic model), as in the ``transformed_digits`` dataset.
    strength : float, optional
        The family's range: maximum rotation angle in degrees (default 90), maximum shift as a
        fraction of the side (0.25), maximum relative scale change (0.4, must be < 1). Not
        accepted for ``none`` and ``hflip`` (a mirror with probability 1/2).
    metrics : list[str]
        ``l2`` (the normalised distance above, the default) and/or ``cos`` (the authors' ratio of
        mean cosine similarities of pairs and of random pairs).
    seed : int
        Seeds the transformation draws and the normalising permutation.
    batch_size : int
        Samples per forward pass.

    Returns
    -------
    dict
        ``d_T`` with ``pair_distance`` and ``random_pair_distance`` (its numerator and
        denominator) for ``l2``; ``cos_ratio`` for ``cos``. A model whose representations are all
        equal (a constant model) has both distances 0 and is reported as perfectly invariant,
        ``d_T = 0`` (the ratio itself is 0/0).
    """

    needs_model: ClassVar[bool] = True

    def __init__(self, family: str = "rotate", strength: float | None = None, metrics: list[str] | None = None,
                 seed: int = 0, batch_size: int = 256) -> None:
        if family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
        if strength is not None:
            if family not in _STRENGTH:
                raise ValueError(f"strength does not apply to the family {family!r} (only to {', '.join(_STRENGTH)})")
            if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not np.isfinite(strength) or strength < 0:
                raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
            if family == "scale" and strength >= 1:
                raise ValueError(f"strength of the scale family must be < 1 (the factor is 1 - strength .. 1 + strength), got {strength}")
        metrics = ["l2"] if metrics is None else list(metrics) if isinstance(metrics, (list, tuple)) else metrics
        if not isinstance(metrics, list) or not metrics or any(m not in METRICS for m in metrics) or len(set(metrics)) != len(metrics):
            raise ValueError(f"metrics must be a non-empty list of distinct names from {METRICS}, got {metrics!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an integer, got {type(seed).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.family, self.strength, self.metrics = family, strength, metrics
        self.seed, self.batch_size = int(seed), int(batch_size)

    def views(self, X: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """The two transformed views ``(t1 x, t2 x)`` of the images ``X`` (same shape as ``X``)."""
        x = X.detach() if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X))
        if not (x.is_floating_point() or x.dtype in (torch.uint8, torch.int16, torch.int32, torch.int64)):
            raise TypeError(f"data['X'] must hold numeric images, got dtype {x.dtype}")
        if x.dim() not in (3, 4):
            raise ValueError(f"data['X'] must hold images of shape (n, C, H, W) or (n, H, W), got shape {tuple(x.shape)}")
        if x.shape[0] < 2:
            raise ValueError(f"data['X'] needs at least 2 samples (the normalisation uses random pairs), got {x.shape[0]}")
        x = x.float() if not x.is_floating_point() else x
        if not torch.isfinite(x).all():
            raise ValueError("data['X'] contains NaN or Inf values")
        flat = x.dim() == 3
        x4 = x[:, None] if flat else x
        kw = {_STRENGTH[self.family]: float(self.strength)} if self.strength is not None else {}
        g = torch.Generator().manual_seed(self.seed)
        v1, v2 = transform_family(x4, self.family, g, **kw), transform_family(x4, self.family, g, **kw)
        return (v1[:, 0], v2[:, 0]) if flat else (v1, v2)

    @torch.no_grad()
    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if model is None:
            raise ValueError("representational_invariance needs a trained model (model=...)")
        if data is None or "X" not in data:
            raise ValueError("representational_invariance needs data={'X': images}")
        dt = data.get("data_type")
        if dt is not None and dt != "image":
            raise ValueError(f"representational_invariance transforms images; data_type is {dt!r} (give image data, or no feature steps)")
        embed = getattr(model, "embed", None)
        features = embed if callable(embed) else model
        if not callable(features):
            raise TypeError(f"model must be callable or have an embed method, got {type(model).__name__}")
        v1, v2 = self.views(data["X"])
        was = getattr(model, "training", None)
        if was:
            model.eval()
        try:
            z1 = _as_tensor(_embed_all(features, v1, self.batch_size), "the representations of the first views")
            z2 = _as_tensor(_embed_all(features, v2, self.batch_size), "the representations of the second views")
        finally:
            if was:
                model.train()
        out: dict[str, Any] = {}
        if "l2" in self.metrics:
            perm = torch.randperm(z1.shape[0], generator=torch.Generator().manual_seed(self.seed))
            same, rand = _l2_distances(z1, z2, perm)
            if rand <= 0 and same > 0:
                raise ValueError("the first views all have the same representation but their pairs differ: d_T is undefined")
            out["d_T"] = same / rand if rand > 0 else 0.0  # all representations equal: trivially invariant
            out["pair_distance"], out["random_pair_distance"] = same, rand
        if "cos" in self.metrics:
            out["cos_ratio"] = invariance_from_representations(z1, z2, metric="cos", seed=self.seed)
        return out
