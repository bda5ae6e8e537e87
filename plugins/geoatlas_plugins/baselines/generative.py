"""A full-covariance Gaussian density: the reference point of the generation task."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.distributions import MultivariateNormal

from geoatlas.interfaces import Encoder


class GaussianDensity(Encoder):
    """A multivariate normal ``N(mu, L L^T)`` on flattened samples, fitted by maximum likelihood.

    The parameters are the mean ``mu`` and a Cholesky factor ``L`` (lower triangular, with its
    diagonal kept positive through ``exp`` of a free log-diagonal). ``forward(x)`` returns the
    per-sample log-density ``log p(x)`` (shape ``(B,)``), so the generation task trains it with
    the ``nll`` loss; the maximiser is the closed-form MLE (sample mean and the ``1/n`` sample
    covariance). ``sample(n, generator)`` draws ``mu + L eps`` with ``eps ~ N(0, I)``.

    Parameters
    ----------
    in_features : int
        Dimension ``d`` of the flattened samples (inferred from the data in pipelines).

    Notes
    -----
    Initialised at the standard normal ``N(0, I)``; standardised data train fastest.
    """

    input_type = "vector"

    def __init__(self, in_features: int) -> None:
        super().__init__()
        if isinstance(in_features, bool) or not isinstance(in_features, int):
            raise TypeError(f"in_features must be an int, got {type(in_features).__name__}")
        if in_features < 1:
            raise ValueError(f"in_features must be >= 1, got {in_features}")
        self.in_features = in_features
        self.mean = nn.Parameter(torch.zeros(in_features))
        self.log_diag = nn.Parameter(torch.zeros(in_features))
        self.lower = nn.Parameter(torch.zeros(in_features, in_features))

    # ------------------------------------------------------------------ distribution
    def scale_tril(self) -> torch.Tensor:
        """The Cholesky factor ``L`` (strictly-lower part free, diagonal ``exp(log_diag)``)."""
        return torch.tril(self.lower, diagonal=-1) + torch.diag_embed(self.log_diag.exp())

    def covariance(self) -> torch.Tensor:
        """``L L^T``."""
        L = self.scale_tril()
        return L @ L.T

    def distribution(self) -> MultivariateNormal:
        return MultivariateNormal(loc=self.mean, scale_tril=self.scale_tril())

    def _flat(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"gaussian_density takes a tensor of samples, got {type(x).__name__}")
        if x.dim() == 0 or x.shape[0] == 0:
            raise ValueError(f"gaussian_density needs a non-empty batch of samples, got shape {tuple(x.shape)}")
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"gaussian_density expects {self.in_features} features per sample, got {x.shape[1]}")
        if not torch.isfinite(x).all():
            raise ValueError("gaussian_density: the samples contain NaN or Inf values")
        return x.to(self.mean.dtype)

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """Per-sample log-density, shape ``(B,)``."""
        return self.distribution().log_prob(self._flat(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.log_prob(x)

    @torch.no_grad()
    def sample(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` samples ``(n, d)``; the same generator state gives the same samples."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        eps = torch.randn(n, self.in_features, generator=generator, dtype=self.mean.dtype)
        return self.mean + eps @ self.scale_tril().T

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}"
