"""Metrics of generative models: sliced Wasserstein distance, MMD and held-out NLL.

``sliced_wasserstein`` and ``mmd`` take the ``"samples"`` prediction: ``y_true`` is the held-out
sample ``(n, d)`` and ``y_pred`` the generated sample ``(m, d)``; the two sizes may differ.
``nll`` takes the ``"log_likelihood"`` prediction: the model's log-density of each held-out
sample (``y_true`` is not used and may be ``None``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from geoatlas.interfaces import Metric

from ._inputs import per_sample_values


def _sample(a: Any, what: str) -> np.ndarray:
    """A finite, non-empty float64 sample of shape ``(n, d)`` (``(n,)`` is read as ``d = 1``)."""
    if a is None:
        raise ValueError(f"{what} is None; a sample metric needs samples of shape (n, d)")
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    if isinstance(a, list):
        try:
            a = np.stack([np.asarray(x) for x in a])
        except ValueError as exc:
            raise ValueError(f"{what} is a list of samples of different shapes; give an array (n, d)") from exc
    x = np.asarray(a)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{what} must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float64)
    if x.ndim == 1:
        x = x[:, None]
    elif x.ndim > 2:
        x = x.reshape(len(x), -1)
    if len(x) == 0:
        raise ValueError(f"{what} is empty; cannot compare 0 samples")
    if x.shape[1] == 0:
        raise ValueError(f"{what} has samples of dimension 0")
    if not np.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return x


def _pair(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray]:
    x = _sample(y_true, "y_true (held-out samples)")
    y = _sample(y_pred, "y_pred (generated samples)")
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"held-out samples have dimension {x.shape[1]} but generated samples have {y.shape[1]}")
    return x, y


def wasserstein2_1d_squared(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Squared 2-Wasserstein distances between rows of 1-D empirical samples.

    ``x`` is ``(L, n)`` and ``y`` is ``(L, m)``: ``L`` pairs of uniform empirical measures on the
    line. The distance is the integral over ``t in (0, 1)`` of the squared difference of the two
    quantile functions, computed exactly on the merged breakpoints ``i/n`` and ``j/m`` (kept as
    integers over the common denominator ``n*m``).
    """
    n, m = x.shape[1], y.shape[1]
    xs, ys = np.sort(x, axis=1), np.sort(y, axis=1)
    ends = np.union1d(np.arange(1, n + 1) * m, np.arange(1, m + 1) * n)  # breakpoints * n*m
    widths = np.diff(np.concatenate([[0], ends])) / (n * m)
    ix = np.searchsorted(np.arange(1, n + 1) * m, ends, side="left")
    iy = np.searchsorted(np.arange(1, m + 1) * n, ends, side="left")
    return ((xs[:, ix] - ys[:, iy]) ** 2) @ widths


class SlicedWasserstein(Metric):
    """Sliced 2-Wasserstein distance of the held-out and generated samples.

    ``SW_2 = (mean_l W_2^2(<x, theta_l>, <y, theta_l>))^(1/2)`` over ``n_projections`` unit
    directions ``theta_l`` drawn from ``np.random.default_rng(seed)`` (Gaussian, normalised), so
    the same inputs always give the same value. Each 1-D distance is exact for uniform empirical
    measures of any two sizes.

    Parameters
    ----------
    n_projections : int
        Number of random directions (default 128).
    seed : int
        Seed of the directions (default 0).
    """

    tasks: ClassVar[tuple[str, ...]] = ("generation",)
    higher_is_better: ClassVar[bool] = False
    input: ClassVar[str] = "samples"

    def __init__(self, n_projections: int = 128, seed: int = 0) -> None:
        if isinstance(n_projections, bool) or not isinstance(n_projections, (int, np.integer)):
            raise TypeError(f"n_projections must be an int, got {type(n_projections).__name__}")
        if n_projections < 1:
            raise ValueError(f"n_projections must be >= 1, got {n_projections}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.n_projections, self.seed = int(n_projections), int(seed)

    def projections(self, d: int) -> np.ndarray:
        """The ``(n_projections, d)`` unit directions used in dimension ``d``."""
        theta = np.random.default_rng(self.seed).standard_normal((self.n_projections, d))
        return theta / np.linalg.norm(theta, axis=1, keepdims=True)

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        x, y = _pair(y_true, y_pred)
        theta = self.projections(x.shape[1])
        return float(np.sqrt(np.mean(wasserstein2_1d_squared(theta @ x.T, theta @ y.T))))


def _kernel_sum(a: np.ndarray, b: np.ndarray, gamma: float, block: int = 512) -> float:
    """``sum_ij exp(-gamma * |a_i - b_j|^2)``, computed in row blocks."""
    from scipy.spatial.distance import cdist

    total = 0.0
    for i in range(0, len(a), block):
        total += float(np.exp(-gamma * cdist(a[i : i + block], b, "sqeuclidean")).sum())
    return total


class MMD(Metric):
    """Squared maximum mean discrepancy with an RBF kernel (unbiased U-statistic, Gretton et al. 2012).

    ``MMD^2 = mean_{i != i'} k(x_i, x_i') + mean_{j != j'} k(y_j, y_j') - 2 mean_{i, j} k(x_i, y_j)``
    with ``k(a, b) = exp(-|a - b|^2 / (2 bandwidth^2))``. About 0 (it can be slightly negative)
    when both samples come from one distribution; larger as they differ.

    Parameters
    ----------
    bandwidth : float or None
        Kernel bandwidth. ``None`` (default): the median heuristic, the median distance between
        distinct points of the pooled sample (of a subsample of 2000 points drawn with ``seed``
        when the pool is larger).
    seed : int
        Seed of that subsample (default 0).
    """

    tasks: ClassVar[tuple[str, ...]] = ("generation",)
    higher_is_better: ClassVar[bool] = False
    input: ClassVar[str] = "samples"
    #: largest pooled sample whose pairwise distances the median heuristic uses in full
    median_pool: ClassVar[int] = 2000

    def __init__(self, bandwidth: float | None = None, seed: int = 0) -> None:
        if bandwidth is not None:
            if isinstance(bandwidth, bool) or not isinstance(bandwidth, (int, float, np.floating, np.integer)):
                raise TypeError(f"bandwidth must be a float or None, got {type(bandwidth).__name__}")
            if not np.isfinite(bandwidth) or bandwidth <= 0:
                raise ValueError(f"bandwidth must be a positive finite number, got {bandwidth}")
            bandwidth = float(bandwidth)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__}")
        self.bandwidth, self.seed = bandwidth, int(seed)

    def median_bandwidth(self, x: np.ndarray, y: np.ndarray) -> float:
        """The median heuristic bandwidth of the pooled sample (1.0 if all points coincide)."""
        from scipy.spatial.distance import pdist

        z = np.concatenate([x, y])
        if len(z) > self.median_pool:
            z = z[np.random.default_rng(self.seed).choice(len(z), self.median_pool, replace=False)]
        dist = pdist(z)
        med = float(np.median(dist))
        if med > 0:
            return med
        positive = dist[dist > 0]
        return float(positive.mean()) if len(positive) else 1.0

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        x, y = _pair(y_true, y_pred)
        n, m = len(x), len(y)
        if n < 2 or m < 2:
            raise ValueError(f"the unbiased MMD needs at least 2 samples on each side, got {n} and {m}")
        bw = self.bandwidth if self.bandwidth is not None else self.median_bandwidth(x, y)
        gamma = 1.0 / (2.0 * bw * bw)
        kxx = (_kernel_sum(x, x, gamma) - n) / (n * (n - 1))  # the diagonal is exactly 1
        kyy = (_kernel_sum(y, y, gamma) - m) / (m * (m - 1))
        kxy = _kernel_sum(x, y, gamma) / (n * m)
        return float(kxx + kyy - 2.0 * kxy)


class NLL(Metric):
    """Mean negative log-likelihood of the held-out samples: ``-mean(log p(x_i))`` (nats).

    ``y_pred`` holds one log-likelihood per held-out sample. A log-likelihood of ``-inf`` (a
    sample the model gives zero density) makes the value ``inf``; NaN or ``+inf`` raise.
    """

    tasks: ClassVar[tuple[str, ...]] = ("generation",)
    higher_is_better: ClassVar[bool] = False
    input: ClassVar[str] = "log_likelihood"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        ll = per_sample_values(y_true, y_pred, noun="log-likelihoods", each="one per sample",
                               need="nll needs the log-likelihood of each held-out sample")
        if np.isnan(ll).any() or (ll == np.inf).any():
            raise ValueError("log-likelihoods contain NaN or +inf values")
        return float(-np.mean(ll))
