"""Active, mixed and passive latent variables of a VAE, and mean vs sampled representations
(Bonheme & Grzes, "Be More Active! Understanding the Differences Between Mean and Sampled
Representations of Variational Autoencoders", arXiv 2109.12679), with a β-VAE encoder and its
negative ELBO as a registered loss.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder, Loss, Measure

__all__ = ["BetaVAE", "BetaVAELoss", "PassiveVariables", "gaussian_total_correlation", "classify_latents"]


class BetaVAE(Encoder):
    """A β-VAE with MLP encoder and decoder on flattened vectors.

    ``encode(x) -> (μ, log σ²)``; ``decode(z)``; in training mode ``forward(x)`` returns
    ``(μ, log σ², x̂)`` with ``x̂`` decoded from one reparametrised sample (for the loss
    ``beta_vae_elbo``), in eval mode it returns the **mean representation** ``μ(x)``.

    Parameters
    ----------
    in_features : int
    out_features : int
        Latent dimension (the representation task fills it from ``embedding_dim``).
    hidden : list of int
        Encoder widths (the decoder mirrors them).
    """

    input_type = "vector"

    def __init__(self, in_features: int, out_features: int = 10, hidden: list[int] | None = None, num_classes: int | None = None) -> None:
        super().__init__()
        hidden = [128, 64] if hidden is None else list(hidden)
        for name, v in (("in_features", in_features), ("out_features", out_features), *((f"hidden[{i}]", h) for i, h in enumerate(hidden))):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        layers: list[nn.Module] = []
        w = in_features
        for h in hidden:
            layers += [nn.Linear(w, h), nn.ReLU()]
            w = h
        self.enc = nn.Sequential(*layers)
        self.mu = nn.Linear(w, out_features)
        self.logvar = nn.Linear(w, out_features)
        dec: list[nn.Module] = []
        w = out_features
        for h in reversed(hidden):
            dec += [nn.Linear(w, h), nn.ReLU()]
            w = h
        dec.append(nn.Linear(w, in_features))
        self.dec = nn.Sequential(*dec)
        self.in_features, self.latent_dim = in_features, out_features

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"BetaVAE expects {self.in_features} input features, got {x.shape[1]}")
        h = self.enc(x)
        return self.mu(h), self.logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.dec(z)

    def forward(self, x: torch.Tensor) -> Any:
        mu, logvar = self.encode(x)
        if not self.training:
            return mu
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return mu, logvar, self.decode(z)


class BetaVAELoss(Loss):
    """Negative β-ELBO per sample: ``Σ_i (x_i - x̂_i)² / 2 + β KL(N(μ, σ²) || N(0, I))``,
    averaged over the batch (Gaussian decoder with unit variance, as for real-valued inputs).

    ``outputs`` is ``(μ, log σ², x̂)`` (a ``BetaVAE`` in training mode) or a one-element list of
    them (the representation task's views); the target is ``batch["x"]`` (or its first view).
    """

    requires: ClassVar[tuple[str, ...]] = ()

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        if not (isinstance(beta, (int, float)) and not isinstance(beta, bool) and math.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a finite number >= 0, got {beta!r}")
        self.beta = float(beta)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        x = batch["views"][0] if "views" in batch else batch["x"]
        if isinstance(outputs, list):
            outputs = outputs[0]
        if not (isinstance(outputs, tuple) and len(outputs) == 3):
            raise TypeError("beta_vae_elbo needs the (mu, logvar, reconstruction) outputs of a BetaVAE in training mode")
        mu, logvar, xr = outputs
        rec = 0.5 * ((x.reshape(x.shape[0], -1) - xr) ** 2).sum(1)
        kl = 0.5 * (mu**2 + logvar.exp() - 1.0 - logvar).sum(1)
        return (rec + self.beta * kl).mean()


def gaussian_total_correlation(cov: np.ndarray) -> float:
    """Total correlation of a Gaussian with covariance ``cov``:
    ``½ (Σ_j log Σ_jj − log det Σ)`` (nats); ``inf`` for a singular ``cov``."""
    cov = np.asarray(cov, dtype=np.float64)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square matrix, got shape {cov.shape}")
    d = np.diag(cov)
    if np.any(d <= 0):
        return float("inf")
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        return float("inf")
    return float(0.5 * (np.log(d).sum() - logdet))


def classify_latents(var: np.ndarray, passive_var: float = 0.8, fraction: float = 0.95) -> np.ndarray:
    """Per latent dimension: 0 active, 1 passive, 2 mixed. ``var`` is ``(n, L)`` posterior
    variances σ²_j(x). Per example, ``j`` is passive at ``x`` when ``σ²_j(x) ≥ passive_var``
    (the posterior stays at the prior's unit variance), active otherwise (polarised regime);
    over the data set ``j`` is passive (active) when it is so for at least ``fraction`` of the
    examples, mixed otherwise."""
    passive_at = np.asarray(var) >= passive_var
    share = passive_at.mean(0)
    labels = np.full(share.shape, 2, dtype=int)
    labels[share >= fraction] = 1
    labels[share <= 1 - fraction] = 0
    return labels


def _mean_abs_offdiag_corr(Z: np.ndarray) -> float:
    if Z.shape[1] < 2:
        return 0.0
    std = Z.std(0)
    keep = std > 0
    if keep.sum() < 2:
        return 0.0
    C = np.corrcoef(Z[:, keep], rowvar=False)
    off = C[~np.eye(len(C), dtype=bool)]
    return float(np.abs(off).mean())


def _tc(Z: np.ndarray, floor: float = 1e-12) -> float:
    """Gaussian total correlation of the columns of ``Z``: ``-½ log det R`` with ``R`` their
    correlation matrix, whose eigenvalues are floored at ``floor`` (a rank-deficient mean
    representation then gets a large finite value instead of ``inf``). Constant columns are
    dropped (they carry no dependence)."""
    Z = Z[:, Z.std(0) > 0]
    if Z.shape[1] < 2:
        return 0.0
    lam = np.linalg.eigvalsh(np.corrcoef(Z, rowvar=False))
    return float(-0.5 * np.log(np.maximum(lam, floor)).sum())


class PassiveVariables(Measure):
    """Active / mixed / passive latent variables of a VAE and the dependence of its mean vs
    sampled representations.

    With a model that has ``encode(x) -> (μ, log σ²)`` (e.g. ``beta_vae``), it encodes
    ``data["X"]``; without one, ``data["X"]`` is ``(n, 2L)``: ``[μ | log σ²]``. The sampled
    representation is ``z = μ + σ ⊙ ε`` (seeded). Reports counts of active / passive / mixed
    dimensions, the mean absolute off-diagonal Pearson correlation and the Gaussian total
    correlation of the mean (``M``) and sampled (``Z``) representations, overall, within the
    passive dimensions, and without them.

    Parameters
    ----------
    passive_var : float
        ``σ²`` at or above which a dimension is passive at an example (default 0.8).
    fraction : float
        Share of examples needed to call a dimension passive / active (default 0.95).
    seed : int
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, passive_var: float = 0.8, fraction: float = 0.95, seed: int = 0) -> None:
        if not (math.isfinite(passive_var) and 0 < passive_var < 1.5):
            raise ValueError(f"passive_var must be in (0, 1.5), got {passive_var}")
        if not (0.5 < fraction <= 1):
            raise ValueError(f"fraction must be in (0.5, 1], got {fraction}")
        self.passive_var, self.fraction, self.seed = float(passive_var), float(fraction), int(seed)

    def _moments(self, model: Any, data: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
        X = data["X"]
        if model is not None:
            if not callable(getattr(model, "encode", None)):
                raise TypeError(f"passive_variables needs a model with encode(x) -> (mu, logvar), got {type(model).__name__}")
            from geoatlas.pipeline.models import to_batch

            was = getattr(model, "training", None)
            if was is not None:
                model.eval()
            try:
                with torch.no_grad():
                    parts = [model.encode(to_batch(X, np.arange(i, min(len(X), i + 512)), data.get("data_type") or "vector"))
                             for i in range(0, len(X), 512)]
            finally:
                if was:
                    model.train()
            mu = torch.cat([p[0] for p in parts]).double().numpy()
            logvar = torch.cat([p[1] for p in parts]).double().numpy()
        else:
            A = np.asarray(X)
            if A.dtype.kind not in "biuf":
                raise TypeError(f"passive_variables needs numeric data, got dtype {A.dtype}")
            A = A.astype(np.float64)
            if A.ndim != 2 or A.shape[1] % 2:
                raise ValueError(f"without a model, data['X'] must be (n, 2L) = [mu | logvar], got shape {A.shape}")
            L = A.shape[1] // 2
            mu, logvar = A[:, :L], A[:, L:]
        if not (np.isfinite(mu).all() and np.isfinite(logvar).all()):
            raise ValueError("passive_variables: mu or logvar contains NaN or Inf values")
        return mu, logvar

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data:
            raise ValueError("passive_variables needs data={'X': samples (with a model) or [mu | logvar]}")
        if len(data["X"]) < 3:
            raise ValueError(f"passive_variables needs at least 3 samples, got {len(data['X'])}")
        mu, logvar = self._moments(model, data)
        var = np.exp(logvar)
        labels = classify_latents(var, self.passive_var, self.fraction)
        eps = np.random.default_rng(self.seed).standard_normal(mu.shape)
        z = mu + np.sqrt(var) * eps
        passive, kept = labels == 1, labels != 1
        out = {
            "n_active": float((labels == 0).sum()), "n_passive": float(passive.sum()), "n_mixed": float((labels == 2).sum()),
            "labels": labels.astype(float).tolist(),
            "mean_abs_corr_mean": _mean_abs_offdiag_corr(mu), "mean_abs_corr_sampled": _mean_abs_offdiag_corr(z),
            "tc_mean": _tc(mu), "tc_sampled": _tc(z),
            "passive_abs_corr_mean": _mean_abs_offdiag_corr(mu[:, passive]), "passive_abs_corr_sampled": _mean_abs_offdiag_corr(z[:, passive]),
            "tc_mean_without_passive": _tc(mu[:, kept]), "tc_sampled_without_passive": _tc(z[:, kept]),
        }
        return out
