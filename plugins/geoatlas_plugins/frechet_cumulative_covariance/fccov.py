"""Fréchet cumulative covariance (FCCov) and FCCov-Net for nonlinear sufficient dimension reduction.

**Reconstruction.** Only the abstract and first page of arXiv 2502.15374 could be read (its
Sec. 2, with the definition and the sample estimator, could not be retrieved); the definition
below is this project's reconstruction from the abstract and the metric-ball construction, not
the paper's verified formula.

Responses ``Y`` live in a metric space ``(M, d)``; predictors ``X`` in ``R^p``. With ``Y', Y''``
independent copies of ``Y``, the metric ball ``B(Y', d(Y', Y''))`` plays the role of the
half-line ``{y <= y'}`` of the Euclidean cumulative covariance:

    FCCov(X, Y) = E_{Y', Y''} || Cov( X, 1{ d(Y, Y') <= d(Y'', Y') } ) ||^2 .

It is zero when ``X`` and ``Y`` are independent, uses only indicators of distances (bounded, hence
robust to outlying responses), and is unchanged by isometries of ``M`` and by any increasing
transformation of ``d``. The sample version with ``a_jk,i = 1{d(Y_i, Y_j) <= d(Y_k, Y_j)}`` is

    FCCov_n = (1/n^2) sum_{j,k} || (1/n) sum_i (X_i - Xbar) a_jk,i ||^2 = tr(Xc^T K Xc),
    K = (1/n^4) sum_{j,k} a_jk a_jk^T,

computable in ``O(n^2 log n)`` by sorting the distances from each anchor ``Y_j`` and taking
cumulative sums. FCCov-Net maximises ``FCCov(f(X), Y)`` over a neural network ``f`` with a
squared-Frobenius penalty ``lam * ||Cov(f(X)) - I||_F^2`` (the constraint that removes the scale).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Descriptor, Encoder

__all__ = [
    "FCCovNet",
    "FCCovSDR",
    "SphereResponseRegression",
    "fccov",
    "fccov_kernel",
    "fccov_naive",
    "fccov_permutation_test",
    "fccov_torch",
    "check_distance_matrix",
    "response_distances",
]

METRICS = ("euclidean", "sphere", "spd_affine", "wasserstein", "precomputed")


def response_distances(Y: Any, metric: str = "euclidean", *, atol: float = 1e-6) -> np.ndarray:
    """Pairwise distance matrix ``(n, n)`` between responses.

    ``"euclidean"``: rows of ``(n, k)``; ``"sphere"``: unit vectors ``(n, k)``, geodesic
    ``arccos <y, y'>``; ``"spd_affine"``: SPD matrices ``(n, k, k)``, affine-invariant distance
    ``|| log(A^{-1/2} B A^{-1/2}) ||_F``; ``"wasserstein"``: one-dimensional distributions given by
    their quantile functions on a common uniform grid ``(n, q)`` (non-decreasing rows), 2-Wasserstein
    ``sqrt(mean((Q_a - Q_b)^2))``; ``"precomputed"``: ``Y`` is already a distance matrix.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    Y = np.asarray(Y, dtype=np.float64)
    if not np.isfinite(Y).all():
        raise ValueError("Y contains NaN or Inf values")
    if Y.shape[0] < 2:
        raise ValueError(f"Y needs at least 2 responses, got {Y.shape[0]}")
    if metric == "precomputed":
        if Y.ndim != 2 or Y.shape[0] != Y.shape[1]:
            raise ValueError(f"a precomputed distance matrix must be square, got {Y.shape}")
        if np.abs(Y - Y.T).max() > atol or (Y < 0).any() or np.abs(np.diag(Y)).max() > atol:
            raise ValueError("a precomputed distance matrix must be symmetric, non-negative, with zero diagonal")
        return check_distance_matrix(Y, name="Y")
    if metric == "spd_affine":
        if Y.ndim != 3 or Y.shape[1] != Y.shape[2]:
            raise ValueError(f"spd_affine responses must have shape (n, k, k), got {Y.shape}")
        if np.abs(Y - Y.transpose(0, 2, 1)).max() > atol * max(1.0, np.abs(Y).max()):
            raise ValueError("spd_affine responses must be symmetric matrices")
        w = np.linalg.eigvalsh(Y)
        if w.min() <= 0:
            raise ValueError(f"spd_affine responses must be positive definite (min eigenvalue {w.min():.3e})")
        from pyriemann.utils.distance import pairwise_distance

        D = pairwise_distance((Y + Y.transpose(0, 2, 1)) / 2, metric="riemann")
        D = (D + D.T) / 2
        np.fill_diagonal(D, 0.0)
        return D
    if Y.ndim != 2:
        raise ValueError(f"{metric} responses must have shape (n, k), got {Y.shape}")
    if metric == "sphere":
        nrm = np.linalg.norm(Y, axis=1)
        if np.abs(nrm - 1).max() > atol:
            raise ValueError("sphere responses must be unit vectors (row norms differ from 1)")
        D = np.arccos(np.clip(Y @ Y.T, -1.0, 1.0))
        np.fill_diagonal(D, 0.0)  # arccos(<y, y>) is ~1e-8, not 0, for unit vectors in floating point
        return D
    if metric == "wasserstein" and (np.diff(Y, axis=1) < -atol).any():
        raise ValueError("wasserstein responses must be quantile functions (non-decreasing rows)")
    sq = (Y**2).sum(1)
    D2 = np.maximum(sq[:, None] + sq[None, :] - 2 * Y @ Y.T, 0.0)
    D = np.sqrt(D2)
    if metric == "wasserstein":
        D = D / np.sqrt(Y.shape[1])
    np.fill_diagonal(D, 0.0)
    return D


def check_distance_matrix(D: Any, *, name: str = "D", rtol: float = 1e-6) -> np.ndarray:
    """Validate a response distance matrix: square ``(n, n)`` with ``n >= 2``, finite, non-negative,
    symmetric and with a zero diagonal (up to ``rtol`` times its largest entry); returns float64."""
    try:
        D = np.asarray(D, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{name} must be a real (n, n) distance matrix: {e}") from None
    if D.ndim != 2 or D.shape[0] != D.shape[1]:
        raise ValueError(f"{name} must be a square (n, n) distance matrix, got shape {D.shape}")
    if D.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 responses (n >= 2), got n = {D.shape[0]}")
    if not np.isfinite(D).all():
        raise ValueError(f"{name} contains NaN or Inf values")
    tol = rtol * max(1.0, float(np.abs(D).max()))
    if D.min() < -tol:
        raise ValueError(f"{name} must be non-negative (a distance matrix), min entry {D.min():.3e}")
    if np.abs(D - D.T).max() > tol:
        raise ValueError(f"{name} must be symmetric (a distance matrix), max |D - D^T| = {np.abs(D - D.T).max():.3e}")
    if np.abs(np.diag(D)).max() > tol:
        raise ValueError(f"{name} must have a zero diagonal (d(y, y) = 0), max |diag| = {np.abs(np.diag(D)).max():.3e}")
    return D


def _check_xd(X: Any, D: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError(f"X must have shape (n, p), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or Inf values")
    D = check_distance_matrix(D)
    if D.shape != (X.shape[0], X.shape[0]):
        raise ValueError(f"D must be the ({X.shape[0]}, {X.shape[0]}) distance matrix of the responses, got {D.shape}")
    return X, D


def fccov_naive(X: Any, D: Any) -> float:
    """Direct ``O(n^3 p)`` evaluation of the sample FCCov (reference for tests)."""
    X, D = _check_xd(X, D)
    n = len(X)
    Xc = X - X.mean(0)
    A = (D.T[:, None, :] <= D.T[:, :, None]).astype(np.float64)  # A[j, k, i] = 1{D[i, j] <= D[k, j]}
    m = np.einsum("jki,ip->jkp", A, Xc) / n
    return float((m**2).sum() / n**2)


def fccov(X: Any, D: Any) -> float:
    """Sample FCCov in ``O(n^2 log n + n^2 p)``: sort distances from each anchor, cumulative sums."""
    X, D = _check_xd(X, D)
    n = len(X)
    Xc = X - X.mean(0)
    total = 0.0
    for j in range(n):
        order = np.argsort(D[:, j], kind="stable")
        ds = D[order, j]
        cs = np.cumsum(Xc[order], axis=0)
        cnt = np.searchsorted(ds, D[:, j], side="right")  # #{i : D[i, j] <= D[k, j]} for each k
        m = cs[cnt - 1] / n
        total += float((m**2).sum())
    return total / n**2


def fccov_kernel(D: Any, *, chunk: int = 32) -> np.ndarray:
    """``K`` with ``FCCov_n(X) = tr(Xc^T K Xc)``: ``K_il = (1/n^4) #{(j, k) : i, l both in ball_jk}``.

    ``i`` and ``l`` are both in ``ball_jk`` iff ``max(D[i, j], D[l, j]) <= D[k, j]``; with
    ``r_ij = #{k : D[k, j] < D[i, j]}`` the number of such ``k`` is ``n - max(r_ij, r_lj)``, so
    ``K = (1/n^4) sum_j (n - max(r_.j, r_.j^T))`` — ``O(n^2 log n)`` ranks plus ``O(n^3)`` additions.
    """
    from scipy.stats import rankdata

    D = check_distance_matrix(D)
    n = D.shape[0]
    R = (rankdata(D, method="min", axis=0) - 1).astype(np.int64)  # R[i, j] = #{k : D[k, j] < D[i, j]}
    S = np.zeros((n, n), dtype=np.int64)
    for c in range(0, n, chunk):
        Rc = R[:, c : c + chunk]
        S += np.maximum(Rc[:, None, :], Rc[None, :, :]).sum(-1)
    return (n * n - S).astype(np.float64) / n**4


def fccov_torch(F: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Differentiable ``tr(Fc^T K Fc)`` for features ``F`` (n, d) and the response kernel ``K``."""
    Fc = F - F.mean(0, keepdim=True)
    return (Fc * (K @ Fc)).sum()


def fccov_permutation_test(X: Any, D: Any, n_permutations: int = 199, seed: int = 0) -> tuple[float, float]:
    """``(statistic, p-value)`` of the permutation test of independence based on FCCov."""
    X, D = _check_xd(X, D)
    if not isinstance(n_permutations, int) or n_permutations < 1:
        raise ValueError(f"n_permutations must be a positive integer, got {n_permutations!r}")
    K = fccov_kernel(D)
    Xc = X - X.mean(0)
    stat = float((Xc * (K @ Xc)).sum())
    rng = np.random.default_rng(seed)
    count = 0
    for _ in range(n_permutations):
        P = Xc[rng.permutation(len(X))]
        count += float((P * (K @ P)).sum()) >= stat - 1e-15
    return stat, (1 + count) / (1 + n_permutations)


class FCCovNet(Encoder):
    """FCCov-Net: a feed-forward network ``f: R^p -> R^d`` trained to maximise FCCov(f(X), Y).

    ``training_step(x, y, loss_fn)`` computes the response distances of the batch with
    ``metric`` and returns ``-FCCov_n(f(x), y) + lam * ||Cov(f(x)) - I||_F^2`` (no normalisation
    of the FCCov term; the objective is this project's reconstruction, see the module docstring).

    Parameters
    ----------
    in_features : int
        Predictor dimension ``p``.
    out_features : int
        Number of sufficient directions ``d``.
    hidden : list of int
        Hidden widths (ReLU). ``[]`` gives a linear map (linear Fréchet SDR).
    metric : str
        Response metric (see :func:`response_distances`). Targets ``y`` of a batch are flattened
        per sample for ``euclidean``/``sphere``/``wasserstein`` and reshaped to ``(k, k)`` for
        ``spd_affine``.
    lam : float
        Weight of the squared-Frobenius penalty.
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, in_features: int, out_features: int = 2, hidden: list[int] | None = None, metric: str = "euclidean", lam: float = 0.01) -> None:
        super().__init__()
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features must be a positive integer, got {in_features!r}")
        if not isinstance(out_features, int) or out_features < 1:
            raise ValueError(f"out_features must be a positive integer, got {out_features!r}")
        if metric not in METRICS or metric == "precomputed":
            raise ValueError(f"metric must be one of {METRICS[:-1]}, got {metric!r}")
        if not (isinstance(lam, (int, float)) and lam >= 0):
            raise ValueError(f"lam must be a number >= 0, got {lam!r}")
        hidden = [64, 64] if hidden is None else list(hidden)
        layers: list[nn.Module] = []
        w = in_features
        for h in hidden:
            if not isinstance(h, int) or h < 1:
                raise ValueError(f"hidden widths must be positive integers, got {hidden!r}")
            layers += [nn.Linear(w, h), nn.ReLU()]
            w = h
        layers.append(nn.Linear(w, out_features))
        self.net = nn.Sequential(*layers)
        self.in_features, self.out_features = in_features, out_features
        self.metric, self.lam = metric, float(lam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[-1] != self.in_features:
            raise ValueError(f"x must have shape (batch, {self.in_features}), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        return self.net(x)

    def _responses(self, y: Any) -> np.ndarray:
        Y = y.detach().cpu().double().numpy() if isinstance(y, torch.Tensor) else np.asarray(y, dtype=np.float64)
        if self.metric == "spd_affine":
            k = int(round(np.sqrt(np.prod(Y.shape[1:]))))
            return Y.reshape(len(Y), k, k)
        return Y.reshape(len(Y), -1)

    def objective(self, x: torch.Tensor, y: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """``(FCCov_n(f(x), y), ||Cov(f(x)) - I||_F^2)`` on a batch."""
        F = self(x)
        K = torch.as_tensor(fccov_kernel(response_distances(self._responses(y), self.metric)), dtype=F.dtype)
        Fc = F - F.mean(0, keepdim=True)
        C = Fc.T @ Fc / max(len(F) - 1, 1)
        eye = torch.eye(F.shape[1], dtype=F.dtype)
        return fccov_torch(F, K), ((C - eye) ** 2).sum()

    def training_step(self, x: torch.Tensor, y: Any, loss_fn: Any = None) -> torch.Tensor:
        dep, pen = self.objective(x, y)
        return -dep + self.lam * pen


class FCCovSDR(Descriptor):
    """Supervised nonlinear sufficient dimension reduction with FCCov-Net (fit on (X, Y)).

    ``fit(X, y)`` trains :class:`FCCovNet` (Adam, minibatches) on predictors ``X`` (n, p) and
    metric-space responses ``y``; ``transform(X)`` returns the ``out_features`` learned
    directions ``f(X)``. ``hidden=[]`` gives the linear version (a linear Fréchet SDR baseline).
    """

    input_type: ClassVar[str] = "vector"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def __init__(
        self,
        out_features: int = 2,
        hidden: list[int] | None = None,
        metric: str = "euclidean",
        lam: float = 0.01,
        epochs: int = 40,
        batch_size: int = 200,
        lr: float = 1e-2,
        standardize: bool = True,
        seed: int = 0,
    ) -> None:
        self.out_features = out_features
        self.hidden = hidden
        self.metric = metric
        self.lam = lam
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.standardize = standardize
        self.seed = seed

    def _X(self, X: Any) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        X = X.reshape(len(X), -1) if X.ndim > 2 else X
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty (n_samples, n_features) array, got shape {X.shape}")
        if not np.isfinite(X).all():
            raise ValueError("X contains NaN or Inf values")
        return X

    def fit(self, X: Any, y: Any = None) -> FCCovSDR:
        if y is None:
            raise ValueError("FCCovSDR is supervised: pass the responses y to fit")
        if not (isinstance(self.epochs, int) and self.epochs >= 1 and isinstance(self.batch_size, int) and self.batch_size >= 4):
            raise ValueError(f"epochs must be >= 1 and batch_size >= 4, got {self.epochs!r}, {self.batch_size!r}")
        X = self._X(X)
        Y = np.asarray(y, dtype=np.float64)
        if len(Y) != len(X):
            raise ValueError(f"X and y have different numbers of samples ({len(X)} and {len(Y)})")
        self.mean_ = X.mean(0) if self.standardize else np.zeros(X.shape[1])
        sd = X.std(0) if self.standardize else np.ones(X.shape[1])
        self.scale_ = np.where(sd > 0, sd, 1.0)
        g = torch.Generator().manual_seed(self.seed)
        torch.manual_seed(self.seed)
        net = FCCovNet(X.shape[1], self.out_features, self.hidden, self.metric, self.lam).double()
        net._responses(Y[:2])  # validates the response shape early
        response_distances(net._responses(Y[: min(len(Y), 8)]), self.metric)  # validates the domain
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        Xt = torch.as_tensor((X - self.mean_) / self.scale_)
        for _ in range(self.epochs):
            perm = torch.randperm(len(Xt), generator=g)
            for i in range(0, len(Xt), self.batch_size):
                idx = perm[i : i + self.batch_size]
                if len(idx) < 4:
                    continue
                opt.zero_grad()
                loss = net.training_step(Xt[idx], Y[idx.numpy()])
                loss.backward()
                opt.step()
        self.net_ = net.eval()
        return self

    def transform(self, X: Any) -> np.ndarray:
        if not hasattr(self, "net_"):
            raise RuntimeError("FCCovSDR must be fitted before transform")
        X = self._X(X)
        with torch.no_grad():
            return self.net_(torch.as_tensor((X - self.mean_) / self.scale_)).numpy()


class SphereResponseRegression(Dataset):
    """Predictors ``X ~ N(0, I_p)`` and responses on the unit sphere ``S^2`` driven by two indices.

    ``Y = (sin(theta) cos(phi), sin(theta) sin(phi), cos(theta))`` perturbed by noise and
    re-normalised, with ``theta = pi/4 + 0.6 * tanh(b1^T X)``, ``phi = (b2^T X)^2 / 2``,
    ``b1 = e_1``, ``b2 = e_2``: the central subspace is ``span(e_1, e_2)`` and the link is nonlinear.
    """

    data_type: ClassVar[str] = "vector"
    task: ClassVar[str] = "regression"

    def __init__(self, n_samples: int = 400, p: int = 10, noise: float = 0.05, seed: int = 0) -> None:
        if not isinstance(n_samples, int) or n_samples < 4:
            raise ValueError(f"n_samples must be an integer >= 4, got {n_samples!r}")
        if not isinstance(p, int) or p < 2:
            raise ValueError(f"p must be an integer >= 2, got {p!r}")
        if not (isinstance(noise, (int, float)) and noise >= 0):
            raise ValueError(f"noise must be >= 0, got {noise!r}")
        self.n_samples, self.p, self.noise, self.seed = n_samples, p, noise, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        X = rng.normal(size=(self.n_samples, self.p))
        theta = np.pi / 4 + 0.6 * np.tanh(X[:, 0])
        phi = X[:, 1] ** 2 / 2
        Y = np.stack([np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi), np.cos(theta)], 1)
        Y = Y + self.noise * rng.normal(size=Y.shape)
        Y /= np.linalg.norm(Y, axis=1, keepdims=True)
        return DataBundle(X=X, y=Y, data_type="vector", task="regression", meta={"central_subspace": "span(e_1, e_2)"})
