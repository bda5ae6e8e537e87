"""Synthetic ill-conditioned covariance matrices (two classes of mixed AR(1) sources)."""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset


class SyntheticSPD(Dataset):
    """Sample covariances of ``n`` mixed AR(1) sources; classes differ in some sources' dynamics.

    Each trial draws ``T`` steps of ``n`` AR(1) sources ``s_k(t) = a_k s_k(t-1) + e_k(t)``. Class 0
    uses ``a_k = 0.3`` for every source, class 1 raises ``a_k`` to ``0.3 + delta`` on ``n_informative``
    sources, which raises their variance by ``(1 - 0.09) / (1 - a_k^2)``. Sources are mixed by a fixed
    ``A = Q diag(lambda)^{1/2}`` whose spectrum ``lambda`` spans ``cond`` (log-spaced), so the
    covariances are ill-conditioned (condition number ~ ``cond``), and each trial gets a random
    overall gain (log-normal, ``gain_std``) and a small random perturbation of the mixing
    (``jitter``) as nuisances. Informative sources are drawn among the weak directions.

    Parameters
    ----------
    n_samples : int
        Number of trials (half per class).
    n : int
        Number of channels (matrix size).
    n_times : int
        Time steps per trial (``> n`` so the sample covariance is positive-definite).
    cond : float
        Target condition number of the mixing spectrum.
    delta : float
        Change of the AR coefficient on informative sources (class 1).
    n_informative : int
        Number of informative sources.
    gain_std : float
        Standard deviation of the log of the per-trial gain.
    jitter : float
        Scale of the per-trial mixing perturbation.
    seed : int
        Random seed.
    """

    data_type = "spd"
    task = "classification"

    def __init__(
        self,
        n_samples: int = 400,
        n: int = 16,
        n_times: int = 64,
        cond: float = 1e5,
        delta: float = 0.6,
        n_informative: int = 4,
        gain_std: float = 0.5,
        jitter: float = 0.05,
        seed: int = 0,
    ) -> None:
        if n_samples < 2:
            raise ValueError(f"n_samples must be >= 2, got {n_samples}")
        if n < 2:
            raise ValueError(f"n must be >= 2, got {n}")
        if n_times <= n:
            raise ValueError(f"n_times must exceed n ({n}) for positive-definite covariances, got {n_times}")
        if not cond >= 1:
            raise ValueError(f"cond must be >= 1, got {cond}")
        if not 0 < 0.3 + delta < 1:
            raise ValueError(f"delta must keep the AR coefficient 0.3 + delta in (0, 1), got {delta}")
        if not 1 <= n_informative <= n:
            raise ValueError(f"n_informative must be in [1, n], got {n_informative}")
        if gain_std < 0 or jitter < 0:
            raise ValueError("gain_std and jitter must be >= 0")
        self.n_samples, self.n, self.n_times, self.cond = n_samples, n, n_times, cond
        self.delta, self.n_informative, self.gain_std, self.jitter, self.seed = delta, n_informative, gain_std, jitter, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        n, t = self.n, self.n_times
        q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        lam = np.logspace(0.0, -np.log10(self.cond), n)
        mixing = q * np.sqrt(lam)
        informative = rng.choice(np.arange(n // 2, n), size=min(self.n_informative, n - n // 2), replace=False)
        y = np.arange(self.n_samples) % 2
        rng.shuffle(y)
        X = np.empty((self.n_samples, n, n))
        for i, label in enumerate(y):
            a = np.full(n, 0.3)
            if label == 1:
                a[informative] += self.delta
            e = rng.standard_normal((t + 50, n))
            s = np.zeros_like(e)
            for k in range(1, t + 50):
                s[k] = a * s[k - 1] + e[k]
            s = s[50:]
            mix = mixing + self.jitter * np.sqrt(lam)[None, :] * rng.standard_normal((n, n))
            sig = s @ mix.T * np.exp(self.gain_std * rng.standard_normal())
            c = sig.T @ sig / t
            X[i] = 0.5 * (c + c.T)
        return DataBundle(
            X=X,
            y=y,
            data_type="spd",
            task="classification",
            meta={"n_classes": 2, "condition_numbers_median": float(np.median(np.linalg.cond(X))), "informative_sources": informative.tolist()},
        )
