"""Riemannian minimum distance to mean (MDM): closed-form and trainable (distance-softmax) versions."""

from __future__ import annotations

from typing import Any

import geoopt
import numpy as np
import torch
from torch import nn

import geoatlas as ga
from geoatlas.interfaces import Encoder


def _as_spd_array(X: Any, what: str = "X") -> np.ndarray:
    arr = np.asarray(X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2]:
        raise ValueError(f"{what} must be an array of SPD matrices with shape (N, n, n), got {arr.shape}")
    if len(arr) == 0:
        raise ValueError(f"{what} is empty")
    if not np.isfinite(arr).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    if not np.allclose(arr, arr.transpose(0, 2, 1), atol=1e-8 * max(1.0, float(np.abs(arr).max()))):
        raise ValueError(f"{what} holds non-symmetric matrices")
    if np.linalg.eigvalsh(arr).min() <= 0:
        raise ValueError(f"{what} holds matrices that are not positive-definite (rank-deficient covariances: "
                         "use more time samples, fewer delays, or a shrinkage estimator)")
    return arr


class MDM:
    """Minimum distance to mean classifier (Barachant et al. 2012), closed-form fit.

    ``fit`` computes one Fréchet mean per class under the chosen metric of the ``spd`` manifold;
    ``predict`` returns the class of the nearest mean, ``predict_proba`` the softmax of ``-d^2``.

    Parameters
    ----------
    metric : str
        A metric of the ``spd`` manifold (``"affine_invariant"`` as in the paper, ``"log_euclidean"``,
        ``"bures_wasserstein"``).
    max_iter : int
        Iterations of the mean algorithm.
    tol : float
        Its stopping tolerance.
    """

    def __init__(self, metric: str = "affine_invariant", max_iter: int = 100, tol: float = 1e-10) -> None:
        self.metric, self.max_iter, self.tol = metric, max_iter, tol

    def fit(self, X: Any, y: Any) -> MDM:
        arr = _as_spd_array(X)
        y = np.asarray(y)
        if len(y) != len(arr):
            raise ValueError(f"y has {len(y)} labels for {len(arr)} matrices")
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError("MDM needs at least two classes in y")
        self.manifold_ = ga.create("manifold", "spd", n=arr.shape[-1], metric=self.metric)
        x = torch.from_numpy(arr)
        self.covmeans_ = torch.stack(
            [self.manifold_.frechet_mean(x[torch.from_numpy(y == c)], max_iter=self.max_iter, tol=self.tol) for c in self.classes_]
        ).numpy()
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Distances ``(N, n_classes)`` to the class means."""
        x = torch.from_numpy(_as_spd_array(X))
        means = torch.from_numpy(self.covmeans_)
        return self.manifold_.dist(x[:, None], means[None]).numpy()

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[self.transform(X).argmin(1)]

    def predict_proba(self, X: Any) -> np.ndarray:
        d2 = self.transform(X) ** 2
        e = np.exp(-(d2 - d2.min(1, keepdims=True)))
        return e / e.sum(1, keepdims=True)

    def score(self, X: Any, y: Any) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


class MDMEncoder(Encoder):
    """Trainable MDM: class means are SPD ``ManifoldParameter``s, logits ``-exp(s) d^2(X, G_k)``.

    The first training batch initialises each class mean at the Fréchet mean of that class's
    samples in the batch (the closed-form MDM on one batch); Riemannian optimisation of the
    cross-entropy of the distance-softmax then refines them. Accepts ``(N, n, n)`` SPD matrices or
    their flattened ``(N, n * n)`` form (the output of the ``augmented_covariance`` descriptor).

    Parameters
    ----------
    in_features : int
        Matrix size ``n`` (pipelines fill it from the data: the last axis of the SPD input).
    num_classes : int
        Number of classes.
    metric : str
        Metric of the ``spd`` manifold used for distances and for the means' geometry.
    learn_scale : bool
        Learn the logit scale ``exp(s)`` (starts at 1).
    """

    input_type = "spd"
    output_space = "euclidean"

    def __init__(self, in_features: int = 4, num_classes: int = 2, metric: str = "affine_invariant", learn_scale: bool = True) -> None:
        super().__init__()
        n = in_features
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"in_features (the matrix size) must be an integer >= 1, got {n!r}")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2, got {num_classes!r}")
        self.n, self.num_classes = n, num_classes
        self.manifold = ga.create("manifold", "spd", n=n, metric=metric)
        eye = torch.eye(n, dtype=torch.float64).expand(num_classes, n, n).clone()
        self.means = geoopt.ManifoldParameter(eye, manifold=self.manifold)
        self.log_scale = nn.Parameter(torch.zeros((), dtype=torch.float64), requires_grad=learn_scale)
        self.register_buffer("initialised", torch.zeros(num_classes, dtype=torch.bool))

    def _input(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
        x = x.to(torch.float64)
        if x.dim() == 2 and x.shape[1] == self.n * self.n:
            x = x.reshape(-1, self.n, self.n)
        if x.dim() != 3 or x.shape[1:] != (self.n, self.n):
            raise ValueError(f"x must have shape (N, {self.n}, {self.n}) or (N, {self.n * self.n}), got {tuple(x.shape)}")
        if len(x) == 0:
            raise ValueError("x is an empty batch")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        asym = (x - x.transpose(-1, -2)).abs().amax(dim=(-2, -1))
        bad = asym > 1e-5 * (1 + x.abs().amax(dim=(-2, -1)))  # float32 data computed as A A^T passes
        if bool(bad.any()):
            k = int(torch.nonzero(bad)[0])
            raise ValueError(f"x must hold symmetric (SPD) matrices: matrix {k} has max |x - x^T| = {float(asym[k]):.3e}")
        info = torch.linalg.cholesky_ex(x).info
        if bool((info != 0).any()):
            k = int(torch.nonzero(info)[0])
            lo = float(torch.linalg.eigvalsh(x[k]).min())
            raise ValueError(f"x must hold positive-definite matrices: matrix {k} has smallest eigenvalue {lo:.3e}")
        return 0.5 * (x + x.transpose(-1, -2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._input(x)
        d2 = self.manifold.sqdist(x[:, None], self.means[None])
        return -self.log_scale.exp() * d2

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Any) -> torch.Tensor:
        """Initialise still-unset class means from the batch, then the distance-softmax loss."""
        if not bool(self.initialised.all()):
            xs = self._input(x).detach()
            with torch.no_grad():
                for k in range(self.num_classes):
                    sel = y == k
                    if not bool(self.initialised[k]) and bool(sel.any()):
                        self.means[k] = self.manifold.frechet_mean(xs[sel], max_iter=20)
                        self.initialised[k] = True
        return loss_fn(self(x), y)
