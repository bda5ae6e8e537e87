"""Erb's partial correlations for compositional data, a per-sample descriptor and a simulator.

For compositions ``x`` (``n`` samples of ``D`` parts) let ``Gamma = cov(clr x)`` (rank ``D - 1``)
and ``Omega = Gamma^+`` (Moore-Penrose). Aitchison (1986) showed that the inverse covariance of the
additive log-ratios ``alr_r(x) = (log(x_k / x_r))_{k != r}`` is ``Omega`` with row and column ``r``
deleted, for every reference ``r``. Erb (2020) uses this to show that the residuals of
``log(x_i / x_r)`` after regressing on all other log-ratios (adjusting for every remaining part,
the reference included) do not depend on ``r``; hence the partial correlation of parts ``i`` and
``j`` is well defined without any ratio,

    rho_{ij . rest} = -Omega_ij / sqrt(Omega_ii Omega_jj),

and the partial variance of part ``i`` (its residual variance) is ``1 / Omega_ii``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset, Descriptor

__all__ = [
    "CompositionalPartialCorrelation",
    "LogisticNormalNetworks",
    "check_compositions",
    "clr_covariance",
    "compositional_precision",
    "multiplicative_replacement",
    "partial_correlations",
    "partial_variances",
    "population_clr_precision",
]

ESTIMATORS = ("partial", "clr_correlation", "proportion_correlation")


def multiplicative_replacement(X: np.ndarray, delta: float) -> np.ndarray:
    """Replace zeros by ``delta`` and shrink the non-zero parts multiplicatively.

    Martín-Fernández, Barceló-Vidal & Pawlowsky-Glahn (2003): for a closed composition with
    ``k`` zeros, zeros become ``delta`` and every non-zero part is multiplied by
    ``1 - k * delta``, which keeps the ratios between non-zero parts unchanged.
    """
    X = np.asarray(X, dtype=np.float64)
    if not (0 < delta < 1.0 / X.shape[-1]):
        raise ValueError(f"zero_replacement must be in (0, 1/parts) = (0, {1.0 / X.shape[-1]:.3g}), got {delta!r}")
    Xc = X / X.sum(axis=-1, keepdims=True)
    zeros = Xc == 0
    k = zeros.sum(axis=-1, keepdims=True)
    return np.where(zeros, delta, Xc * (1 - k * delta))


def check_compositions(X: Any, *, zero_replacement: float | None = None, what: str = "X", min_parts: int = 3) -> np.ndarray:
    """Validate and close compositions ``(n, D)``; zeros raise unless ``zero_replacement`` is given."""
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be a numeric array of compositions, got {type(X).__name__}") from exc
    if X.ndim != 2:
        raise ValueError(f"{what} must have shape (n_samples, n_parts), got {X.shape}")
    n, D = X.shape
    if D < min_parts:
        raise ValueError(f"{what} must have at least {min_parts} parts, got {D}")
    if n < 2:
        raise ValueError(f"{what} needs at least 2 compositions, got {n}")
    if not np.isfinite(X).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    if (X < 0).any():
        raise ValueError(f"{what} has negative parts: compositions must be non-negative")
    if (X.sum(axis=1) <= 0).any():
        raise ValueError(f"{what} has all-zero rows")
    if (X == 0).any():
        if zero_replacement is None:
            raise ValueError(
                f"{what} contains zeros: log-ratios are undefined. Pass zero_replacement=delta "
                "(multiplicative replacement, e.g. 0.65 x detection limit) or remove the zeros"
            )
        X = multiplicative_replacement(X, zero_replacement)
    return X / X.sum(axis=1, keepdims=True)


def clr_covariance(X: Any, *, zero_replacement: float | None = None) -> np.ndarray:
    """Sample covariance (``ddof=1``) of the centred log-ratios, ``D x D`` of rank ``<= D-1``."""
    X = check_compositions(X, zero_replacement=zero_replacement)
    L = np.log(X)
    Z = L - L.mean(axis=1, keepdims=True)
    return np.cov(Z, rowvar=False, ddof=1)


def compositional_precision(
    X: Any, *, ridge: float = 0.0, zero_replacement: float | None = None, rank_tol: float = 1e-10
) -> np.ndarray:
    """``Omega = (Gamma + ridge * G)^+`` with ``G = I - 11^T/D`` the projector onto the clr hyperplane.

    Raises ``ValueError`` when ``Gamma`` has rank below ``D - 1`` (too few samples, or an exact
    log-linear relation between parts) and ``ridge == 0``; ``ridge > 0`` regularises inside the
    hyperplane, so ``Omega 1 = 0`` still holds.
    """
    if not (isinstance(ridge, (int, float)) and np.isfinite(ridge) and ridge >= 0):
        raise ValueError(f"ridge must be a finite number >= 0, got {ridge!r}")
    Gam = clr_covariance(X, zero_replacement=zero_replacement)
    D = Gam.shape[0]
    G = np.eye(D) - np.ones((D, D)) / D
    S = Gam + ridge * G
    w = np.linalg.eigvalsh(S)  # ascending; w[0] ~ 0 is the 1-direction
    if w[1] <= rank_tol * max(w[-1], 1e-300):
        n = np.asarray(X).shape[0]
        raise ValueError(
            f"clr covariance is rank-deficient (rank < D-1 = {D - 1}; n_samples = {n}): partial "
            "correlations are not identifiable. Use more samples (n > D) or ridge > 0"
        )
    return np.linalg.pinv(S, hermitian=True)


def partial_correlations(X: Any, *, ridge: float = 0.0, zero_replacement: float | None = None) -> np.ndarray:
    """Erb's compositional partial correlations ``-Omega_ij / sqrt(Omega_ii Omega_jj)`` (diag = 1)."""
    Om = compositional_precision(X, ridge=ridge, zero_replacement=zero_replacement)
    d = np.sqrt(np.diag(Om))
    P = -Om / np.outer(d, d)
    np.fill_diagonal(P, 1.0)
    return np.clip(P, -1.0, 1.0)


def partial_variances(X: Any, *, ridge: float = 0.0, zero_replacement: float | None = None) -> np.ndarray:
    """Partial variances ``1 / Omega_ii``: residual variance of ``log(x_i/x_r)`` given all other parts."""
    Om = compositional_precision(X, ridge=ridge, zero_replacement=zero_replacement)
    return 1.0 / np.diag(Om)


def population_clr_precision(theta: np.ndarray) -> np.ndarray:
    """``Gamma^+`` when the log-basis ``log y`` has precision ``theta`` (closed form).

    With ``Sigma = theta^{-1}`` and ``Gamma = G Sigma G``,
    ``Gamma^+ = theta - theta 1 1^T theta / (1^T theta 1)``.
    """
    theta = np.asarray(theta, dtype=np.float64)
    t1 = theta.sum(axis=1)
    return theta - np.outer(t1, t1) / t1.sum()


class CompositionalPartialCorrelation(Descriptor):
    """Per-sample partial correlations of a *set* of compositions.

    Each sample is an array ``(T, D)`` of ``T`` compositions of ``D`` parts (``X`` has shape
    ``(N, T, D)``, data type ``sequence``); its features are the ``D (D-1) / 2`` upper-triangular
    partial correlations ``rho_{ij . rest}``.

    Parameters
    ----------
    estimator : {"partial", "clr_correlation", "proportion_correlation"}
        ``"partial"`` is the paper's measure. The two others are the baselines it is compared with:
        Pearson correlations of clr coordinates, and of raw (closed) proportions.
    ridge : float
        Regularisation of the clr covariance inside the zero-sum hyperplane (0: none; then a
        rank-deficient set raises ``ValueError``).
    zero_replacement : float or None
        ``None``: zeros raise ``ValueError``; a number ``delta``: multiplicative replacement.
    """

    input_type: ClassVar[str] = "sequence"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def __init__(self, estimator: str = "partial", ridge: float = 0.0, zero_replacement: float | None = None) -> None:
        self.estimator = estimator
        self.ridge = ridge
        self.zero_replacement = zero_replacement

    def _validate_params(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if not (isinstance(self.ridge, (int, float)) and self.ridge >= 0):
            raise ValueError(f"ridge must be a number >= 0, got {self.ridge!r}")

    def fit(self, X: Any, y: Any = None) -> CompositionalPartialCorrelation:
        self._validate_params()
        return self

    def _one(self, S: np.ndarray) -> np.ndarray:
        if self.estimator == "partial":
            M = partial_correlations(S, ridge=self.ridge, zero_replacement=self.zero_replacement)
        else:
            C = check_compositions(S, zero_replacement=self.zero_replacement)
            Z = np.log(C) - np.log(C).mean(axis=1, keepdims=True) if self.estimator == "clr_correlation" else C
            sd = Z.std(axis=0)
            if (sd == 0).any():
                raise ValueError("X has a part with zero variance within a sample: correlations undefined")
            M = np.corrcoef(Z, rowvar=False)
        iu = np.triu_indices(M.shape[0], k=1)
        return M[iu]

    def transform(self, X: Any) -> np.ndarray:
        self._validate_params()
        if isinstance(X, list):
            X = np.stack([np.asarray(s, dtype=np.float64) for s in X]) if len(X) else np.empty((0, 0, 0))
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 3:
            raise ValueError(f"X must have shape (n_samples, n_compositions, n_parts), got {X.shape}")
        if X.shape[0] == 0:
            raise ValueError("X is empty")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or Inf values")
        return np.stack([self._one(S) for S in X])


def _random_sparse_precision(D: int, n_edges: int, rng: np.random.Generator, strength: float = 0.45) -> np.ndarray:
    iu = np.array(np.triu_indices(D, k=1)).T
    pick = iu[rng.choice(len(iu), size=n_edges, replace=False)]
    theta = np.eye(D)
    for i, j in pick:
        theta[i, j] = theta[j, i] = strength * rng.choice([-1.0, 1.0])
    # make it diagonally dominant -> positive definite
    off = np.abs(theta - np.diag(np.diag(theta))).sum(axis=1)
    theta[np.diag_indices(D)] = off + 0.5
    return theta


class LogisticNormalNetworks(Dataset):
    """Sets of logistic-normal compositions whose class is the sparse network of log-abundances.

    For class ``k`` a sparse precision ``theta_k`` (``n_edges`` edges) is drawn once. Each sample
    is ``T`` compositions ``x = C(exp(y))`` with ``y ~ N(mu, theta_k^{-1})``; ``mu`` is drawn per
    sample (``mean_scale``), which changes the proportions but not the log-ratio covariance.
    """

    data_type: ClassVar[str] = "sequence"
    task: ClassVar[str] = "classification"

    def __init__(
        self,
        n_per_class: int = 60,
        n_classes: int = 3,
        n_compositions: int = 80,
        parts: int = 8,
        n_edges: int = 6,
        mean_scale: float = 1.5,
        seed: int = 0,
    ) -> None:
        for k, v in dict(n_per_class=n_per_class, n_classes=n_classes, n_compositions=n_compositions, n_edges=n_edges).items():
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive integer, got {v!r}")
        if not isinstance(parts, int) or parts < 3:
            raise ValueError(f"parts must be an integer >= 3, got {parts!r}")
        if n_edges > parts * (parts - 1) // 2:
            raise ValueError(f"n_edges must be <= parts*(parts-1)/2 = {parts * (parts - 1) // 2}, got {n_edges}")
        if n_compositions <= parts:
            raise ValueError(f"n_compositions must exceed parts ({parts}) for identifiable partial correlations")
        if not (isinstance(mean_scale, (int, float)) and mean_scale >= 0):
            raise ValueError(f"mean_scale must be >= 0, got {mean_scale!r}")
        self.n_per_class = n_per_class
        self.n_classes = n_classes
        self.n_compositions = n_compositions
        self.parts = parts
        self.n_edges = n_edges
        self.mean_scale = mean_scale
        self.seed = seed

    def precisions(self) -> list[np.ndarray]:
        rng = np.random.default_rng(self.seed)
        return [_random_sparse_precision(self.parts, self.n_edges, rng) for _ in range(self.n_classes)]

    def load(self) -> DataBundle:
        thetas = self.precisions()
        rng = np.random.default_rng(self.seed + 1)
        X, y = [], []
        for k, th in enumerate(thetas):
            L = np.linalg.cholesky(np.linalg.inv(th))
            for _ in range(self.n_per_class):
                mu = self.mean_scale * rng.normal(size=self.parts)
                Y = mu + rng.normal(size=(self.n_compositions, self.parts)) @ L.T
                E = np.exp(Y - Y.max(axis=1, keepdims=True))
                X.append(E / E.sum(axis=1, keepdims=True))
                y.append(k)
        perm = rng.permutation(len(y))
        return DataBundle(
            X=np.stack(X)[perm],
            y=np.asarray(y)[perm],
            data_type="sequence",
            task="classification",
            meta={"parts": self.parts, "precisions": [t.tolist() for t in thetas]},
        )
