"""Synthetic multichannel VAR(2) signals: two classes with the same instantaneous covariance."""

from __future__ import annotations

import numpy as np
from scipy.linalg import solve_discrete_lyapunov

from geoatlas.interfaces import DataBundle, Dataset


def _var2(freqs: np.ndarray, radius: float, coupling: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """VAR(2) coefficients ``A1, A2``: per-channel resonances (poles ``r e^{+-i w}``) mixed by ``coupling``."""
    a1 = np.diag(2 * radius * np.cos(2 * np.pi * freqs))
    a2 = np.diag(np.full(len(freqs), -(radius**2)))
    inv = np.linalg.inv(coupling)
    return coupling @ a1 @ inv, coupling @ a2 @ inv


def _stationary_cov(a1: np.ndarray, a2: np.ndarray) -> np.ndarray:
    c = len(a1)
    comp = np.zeros((2 * c, 2 * c))
    comp[:c, :c], comp[:c, c:], comp[c:, :c] = a1, a2, np.eye(c)
    q = np.zeros((2 * c, 2 * c))
    q[:c, :c] = np.eye(c)
    return solve_discrete_lyapunov(comp, q)[:c, :c]


def _sqrtm(s: np.ndarray, inverse: bool = False) -> np.ndarray:
    lam, v = np.linalg.eigh(s)
    return (v * lam ** (-0.5 if inverse else 0.5)) @ v.T


class SyntheticARSignals(Dataset):
    """Two classes of ``n_channels``-channel VAR(2) signals with identical stationary covariance.

    Each class is a VAR(2) process whose channels resonate at class-specific normalised
    frequencies (class 0 around ``f0``, class 1 around ``f1``), coupled by a fixed mixing matrix.
    Each class's signals are then linearly recoloured, ``x -> S^{1/2} S_c^{-1/2} x``, so that the
    exact stationary (instantaneous) covariance ``S`` is the same for both classes. The plain spatial
    covariance therefore carries no class information (up to estimation noise) while the lagged
    autocovariances in the augmented covariance do. Returned as ``(N, T, C)``.

    Parameters
    ----------
    n_samples : int
        Number of trials (half per class).
    n_channels : int
        Number of channels ``C``.
    n_times : int
        Samples per trial ``T``.
    f0, f1 : float
        Centre resonance frequencies (cycles per sample, in (0, 0.5)) of the two classes.
    radius : float
        Pole radius of the resonances (in (0, 1); closer to 1 = sharper).
    seed : int
        Random seed.
    """

    data_type = "sequence"
    task = "classification"

    def __init__(
        self,
        n_samples: int = 200,
        n_channels: int = 4,
        n_times: int = 128,
        f0: float = 0.10,
        f1: float = 0.12,
        radius: float = 0.8,
        seed: int = 0,
    ) -> None:
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}")
        if n_times < 8:
            raise ValueError(f"n_times must be >= 8, got {n_times}")
        for f, name in ((f0, "f0"), (f1, "f1")):
            if not 0 < f < 0.5:
                raise ValueError(f"{name} must be in (0, 0.5) cycles per sample, got {f}")
        if not 0 < radius < 1:
            raise ValueError(f"radius must be in (0, 1) for a stable process, got {radius}")
        self.n_samples, self.n_channels, self.n_times = n_samples, n_channels, n_times
        self.f0, self.f1, self.radius, self.seed = f0, f1, radius, seed

    def processes(self) -> tuple[list[tuple[np.ndarray, np.ndarray, np.ndarray]], np.ndarray]:
        """Per class ``(A1, A2, L)`` of the recoloured VAR(2) ``x_k = A1 x_{k-1} + A2 x_{k-2} + L e_k``
        (``e_k`` standard normal) and their common stationary covariance ``S``."""
        rng = np.random.default_rng(self.seed)
        c = self.n_channels
        coupling = np.eye(c) + 0.3 * rng.standard_normal((c, c))
        spread = np.linspace(-0.02, 0.02, c) if c > 1 else np.zeros(1)
        a = rng.standard_normal((c, c))
        target = a @ a.T / c + 0.5 * np.eye(c)
        out = []
        for f in (self.f0, self.f1):
            a1, a2 = _var2(f + spread, self.radius, coupling)
            t = _sqrtm(target) @ _sqrtm(_stationary_cov(a1, a2), inverse=True)
            ti = np.linalg.inv(t)
            out.append((t @ a1 @ ti, t @ a2 @ ti, t))
        return out, target

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed + 1)
        procs, target = self.processes()
        c = self.n_channels
        y = np.arange(self.n_samples) % 2
        rng.shuffle(y)
        burn = 200
        X = np.empty((self.n_samples, self.n_times, c))
        for i, label in enumerate(y):
            a1, a2, t = procs[label]
            e = rng.standard_normal((self.n_times + burn, c)) @ t.T
            x = np.zeros_like(e)
            for k in range(2, len(e)):
                x[k] = a1 @ x[k - 1] + a2 @ x[k - 2] + e[k]
            X[i] = x[burn:]
        return DataBundle(X=X, y=y, data_type="sequence", task="classification",
                          meta={"n_classes": 2, "stationary_covariance": target.tolist()})
