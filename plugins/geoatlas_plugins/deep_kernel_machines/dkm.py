"""Deep kernel machines (Yang, Robeyns, Milsom, Anson, Schoots, Aitchison; ICML 2023).

The representation of layer ``l`` is a Gram matrix ``G_l`` (n x n, SPD) over the training
points. The DKM objective (per training set)

    L(G_1..G_L) = log P(Y | G_L) - sum_l nu_l KL( N(0, G_l) || N(0, K(G_{l-1})) ),

with ``G_0 = X X^T / d_0`` and ``K`` a kernel that reads only ``G_ii, G_jj, G_ij``, is maximised
over the Gram matrices (full batch). Test points are propagated layer by layer with the Gaussian
conditional of each layer given the training Gram block (the training points act as inducing
points; reconstructed, see the README).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch

from geoatlas.interfaces import DataBundle, Dataset, Encoder
from geoatlas.validation import PositiveFloat, PositiveInt, Size

_DT = torch.float64


# ----------------------------------------------------------------------------- kernels on Grams
def kernel_from_gram(G: torch.Tensor, kernel: str = "se", lengthscale: float = 1.0) -> torch.Tensor:
    """The kernel matrix ``K(G)`` of a Gram matrix: ``se`` (squared exponential on the distances
    ``G_ii + G_jj - 2 G_ij``) or ``relu`` (arc-cosine kernel of order 1, scaled by 2 so that
    ``K(G)_ii = G_ii``)."""
    d = torch.diagonal(G)
    if kernel == "se":
        D = (d[:, None] + d[None, :] - 2 * G).clamp_min(0.0)
        return torch.exp(-D / (2 * lengthscale**2))
    if kernel == "relu":
        s = torch.sqrt(d.clamp_min(1e-300))
        norm = s[:, None] * s[None, :]
        c = (G / norm).clamp(-1.0, 1.0)
        th = torch.arccos(c)
        return norm * (torch.sin(th) + (math.pi - th) * c) / math.pi
    raise ValueError(f"kernel must be 'se' or 'relu', not {kernel!r}")


def kernel_cross(Gfull: torch.Tensor, kernel: str, lengthscale: float) -> torch.Tensor:
    """``K`` applied to a joint (train + test) Gram matrix."""
    return kernel_from_gram(Gfull, kernel, lengthscale)


def gaussian_kl(G: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """``KL(N(0, G) || N(0, K)) = 1/2 [tr(K^-1 G) - n + log|K| - log|G|]`` by Cholesky."""
    n = G.shape[-1]
    LK = torch.linalg.cholesky(K)
    LG = torch.linalg.cholesky(G)
    tr = torch.cholesky_solve(G, LK).diagonal().sum()
    logdet = 2 * (torch.log(torch.diagonal(LK)).sum() - torch.log(torch.diagonal(LG)).sum())
    return 0.5 * (tr - n + logdet)


def gaussian_log_likelihood(Y: torch.Tensor, K: torch.Tensor, noise: torch.Tensor | float) -> torch.Tensor:
    """``sum_c log N(y_c; 0, K + noise I)`` over the columns ``c`` of ``Y`` (n x c)."""
    n = K.shape[0]
    C = K + noise * torch.eye(n, dtype=K.dtype)
    L = torch.linalg.cholesky(C)
    a = torch.cholesky_solve(Y, L)
    c = Y.shape[1]
    return -0.5 * (Y * a).sum() - c * torch.log(torch.diagonal(L)).sum() - 0.5 * c * n * math.log(2 * math.pi)


def dkm_objective(Y: torch.Tensor, G0: torch.Tensor, grams: list[torch.Tensor], nu: list[float], *, noise: Any,
                  kernel: str = "se", lengthscale: float = 1.0, jitter: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    """The DKM objective, its likelihood term and the KL terms (unweighted), in that order."""
    if len(grams) != len(nu):
        raise ValueError(f"nu has {len(nu)} entries for {len(grams)} layers")
    eye = torch.eye(G0.shape[0], dtype=G0.dtype)
    prev, kls = G0, []
    for G in grams:
        K = kernel_from_gram(prev, kernel, lengthscale) + jitter * eye
        kls.append(gaussian_kl(G, K))
        prev = G
    ll = gaussian_log_likelihood(Y, kernel_from_gram(prev, kernel, lengthscale), noise)
    obj = ll - sum(v * k for v, k in zip(nu, kls, strict=True)) if kls else ll
    return obj, ll, kls


def nngp_grams(G0: torch.Tensor, n_layers: int, kernel: str = "se", lengthscale: float = 1.0, jitter: float = 1e-6) -> list[torch.Tensor]:
    """The infinite-width (nu -> inf) recursion ``G_l = K(G_{l-1})``."""
    eye = torch.eye(G0.shape[0], dtype=G0.dtype)
    out, prev = [], G0
    for _ in range(n_layers):
        prev = kernel_from_gram(prev, kernel, lengthscale) + jitter * eye
        out.append(prev)
    return out


def _as_2d(y: Any, what: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(y, dtype=np.float64) if not isinstance(y, torch.Tensor) else y).to(_DT)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"{what} must be a non-empty (n,) or (n, c) array, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{what} contains NaN or Inf")
    return t


# ----------------------------------------------------------------------------- the encoder
class DeepKernelMachine(Encoder):
    """Full-batch deep kernel machine for regression (the issue's "model ``dkm``", as an encoder).

    Training (``fit``, or the pipeline trainer through ``training_step`` with one full batch)
    maximises the DKM objective over the Gram matrices of the training points, each
    parametrised by a Cholesky factor, and the log noise variance. ``forward(x)`` returns the
    predictive mean of the top-layer GP at ``x``.

    Parameters
    ----------
    n_layers: number of hidden Gram layers ``L`` (0 = a plain GP on ``K(G_0)``).
    nu: the KL weights ``nu_l`` (relative widths); one value for all layers.
    kernel: ``"se"`` or ``"relu"`` (arc-cosine).
    lengthscale: SE length-scale on the Gram distances.
    noise: initial likelihood noise variance (targets are standardised by the task).
    learn_noise: optimise the log noise variance with the Grams (off by default: with it on and
        small nu the objective drives the noise to 0 and overfits, see the README).
    optimizer: inner optimiser, ``"lbfgs"`` or ``"adam"``; ``lr`` its step size.
    steps_per_epoch: inner optimiser steps per ``training_step`` call.
    max_train: largest training set (the cost is cubic in n).
    """

    input_type = "vector"
    output_space = "euclidean"

    def __init__(self, n_layers: int = 2, nu: PositiveFloat = 1.0, kernel: Literal["se", "relu"] = "se",
                 lengthscale: PositiveFloat = 1.0, noise: PositiveFloat = 0.1, learn_noise: bool = False,
                 optimizer: Literal["lbfgs", "adam"] = "lbfgs", lr: PositiveFloat = 1.0, steps_per_epoch: PositiveInt = 1,
                 max_train: Size = 2000, jitter: PositiveFloat = 1e-6) -> None:
        super().__init__()
        if not isinstance(n_layers, int) or isinstance(n_layers, bool) or n_layers < 0:
            raise ValueError(f"n_layers must be a non-negative integer, got {n_layers!r}")
        if kernel not in ("se", "relu"):
            raise ValueError(f"kernel must be 'se' or 'relu', got {kernel!r}")
        if optimizer not in ("lbfgs", "adam"):
            raise ValueError(f"optimizer must be 'lbfgs' or 'adam', got {optimizer!r}")
        self.n_layers, self.nu, self.kernel, self.lengthscale = n_layers, float(nu), kernel, float(lengthscale)
        self.noise, self.learn_noise, self.optimizer, self.lr = float(noise), learn_noise, optimizer, float(lr)
        self.steps_per_epoch, self.max_train, self.jitter = steps_per_epoch, max_train, float(jitter)
        self.factors = torch.nn.ParameterList()
        self.log_noise: torch.nn.Parameter | None = None
        self.register_buffer("X_train", torch.zeros(0, 0, dtype=_DT))
        self.register_buffer("Y_train", torch.zeros(0, 0, dtype=_DT))
        self._opt: Any = None
        self._d0 = 1

    # -- setup
    def _g0(self, X: torch.Tensor) -> torch.Tensor:
        return X @ X.T / X.shape[1]

    def _init(self, X: torch.Tensor, Y: torch.Tensor) -> None:
        n = X.shape[0]
        if n > self.max_train:
            raise ValueError(f"the training set has {n} points, more than max_train={self.max_train} (cost is cubic in n)")
        if Y.shape[0] != n:
            raise ValueError(f"y has {Y.shape[0]} rows for {n} inputs")
        self.X_train, self.Y_train = X.clone(), Y.clone()
        # initialise at the infinite-width (NNGP) Grams: the prior mean of the posterior
        grams = nngp_grams(self._g0(X), self.n_layers, self.kernel, self.lengthscale, self.jitter)
        self.factors = torch.nn.ParameterList([torch.nn.Parameter(torch.linalg.cholesky(G).contiguous().clone()) for G in grams])
        self.log_noise = torch.nn.Parameter(torch.tensor(math.log(self.noise), dtype=_DT), requires_grad=self.learn_noise)
        params = [p for p in [*self.factors, self.log_noise] if p.requires_grad]
        if self.optimizer == "lbfgs":
            self._opt = torch.optim.LBFGS(params, lr=self.lr, max_iter=20, line_search_fn="strong_wolfe") if params else None
        else:
            self._opt = torch.optim.Adam(params, lr=self.lr) if params else None

    # -- checkpoints: the Gram factors are sized by the training set, so they exist only after the
    # first step; a state dict of a trained DKM re-creates them (from its own training points)
    # before loading, and carries the inner optimiser's state, so that ``--resume`` continues the
    # same L-BFGS/Adam run (tested: an interrupted run equals an uninterrupted one)
    def get_extra_state(self) -> dict[str, Any]:
        return {"inner_optimizer": self._opt.state_dict() if self._opt is not None else None}

    def set_extra_state(self, state: Any) -> None:
        opt = state.get("inner_optimizer") if isinstance(state, dict) else None
        if opt is not None and self._opt is not None:
            self._opt.load_state_dict(opt)

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        # also when the DKM is a submodule (the prefix); the factors are loaded after this, as children
        X, Y = state_dict.get(prefix + "X_train"), state_dict.get(prefix + "Y_train")
        if isinstance(X, torch.Tensor) and isinstance(Y, torch.Tensor) and X.numel() and (
            self.X_train.shape != X.shape or len(self.factors) != self.n_layers or self.log_noise is None
        ):
            self._init(X.to(_DT), Y.to(_DT))  # parameters of the right sizes; their values come next
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def grams(self) -> list[torch.Tensor]:
        """The current Gram matrices ``G_1..G_L`` of the training points."""
        eye = torch.eye(self.X_train.shape[0], dtype=_DT)
        return [torch.tril(F) @ torch.tril(F).T + self.jitter * eye for F in self.factors]

    def objective(self) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
        """The DKM objective at the current Grams: (objective, log-likelihood, KL terms)."""
        if self.X_train.numel() == 0:
            raise RuntimeError("dkm has not been fitted")
        return dkm_objective(self.Y_train, self._g0(self.X_train), self.grams(), [self.nu] * self.n_layers,
                             noise=torch.exp(self.log_noise), kernel=self.kernel, lengthscale=self.lengthscale, jitter=self.jitter)

    def _step(self) -> float:
        n = self.X_train.shape[0]

        def closure() -> torch.Tensor:
            self._opt.zero_grad()
            loss = -self.objective()[0] / n
            loss.backward()
            return loss

        if self._opt is None:
            return float(-self.objective()[0].detach() / n)
        if self.optimizer == "lbfgs":
            return float(self._opt.step(closure).detach())
        loss = closure()
        self._opt.step()
        return float(loss.detach())

    # -- training
    def fit(self, X: Any, y: Any, steps: int = 50) -> DeepKernelMachine:
        """Maximise the DKM objective on (X, y) for ``steps`` inner optimiser steps."""
        Xt, Yt = _as_2d(X, "X"), _as_2d(y, "y")
        if not isinstance(steps, int) or steps < 0:
            raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
        self._init(Xt, Yt)
        for _ in range(steps):
            self._step()
        return self

    def training_step(self, xb: torch.Tensor, yb: torch.Tensor, loss_fn: Any = None) -> torch.Tensor:
        """One trainer epoch: the whole training set in one batch (``train.batch_size >= n``).
        The rows are put in a canonical (lexicographic) order so the trainer's shuffling does
        not move the Gram matrices' rows."""
        if yb is None:
            raise ValueError("dkm needs regression targets")
        X, Y = _as_2d(xb.reshape(len(xb), -1), "x"), _as_2d(yb.reshape(len(yb), -1), "y")
        order = np.lexsort(torch.cat([X, Y], 1).numpy().T[::-1])
        X, Y = X[order], Y[order]
        if self.X_train.numel() == 0:
            self._init(X, Y)
        elif X.shape != self.X_train.shape or not torch.equal(X, self.X_train):
            raise ValueError("dkm is a full-batch method: every training step must see the whole training set "
                             "(set train.batch_size to at least the number of training points)")
        value = 0.0
        for _ in range(self.steps_per_epoch):
            value = self._step()
        return torch.tensor(value)

    # -- prediction
    def propagate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Top-layer kernel blocks ``(K_tt diagonal, K_ti)`` at the test inputs ``x``."""
        Xi = self.X_train
        n = Xi.shape[0]
        A = torch.cat([Xi, x], 0)
        G = A @ A.T / A.shape[1]  # joint G_0
        for Gl in self.grams():
            K = kernel_from_gram(G, self.kernel, self.lengthscale)
            Kii = K[:n, :n] + self.jitter * torch.eye(n, dtype=_DT)
            Kti, Ktt = K[n:, :n], K[n:, n:]
            L = torch.linalg.cholesky(Kii)
            B = torch.cholesky_solve(Kti.T, L).T  # K_ti K_ii^-1
            Gti = B @ Gl
            Gtt = Ktt - B @ Kti.T + B @ Gl @ B.T
            G = torch.cat([torch.cat([Gl, Gti.T], 1), torch.cat([Gti, Gtt], 1)], 0)
        K = kernel_from_gram(G, self.kernel, self.lengthscale)
        return torch.diagonal(K[n:, n:]), K[n:, :n]

    def predict_mean_var(self, x: Any) -> tuple[torch.Tensor, torch.Tensor]:
        """Predictive mean (m x c) and variance of the latent function (m,) at ``x``."""
        if self.X_train.numel() == 0:
            raise RuntimeError("dkm has not been fitted: call fit(X, y) or train it in a pipeline")
        xt = _as_2d(x.reshape(len(x), -1) if isinstance(x, torch.Tensor) else x, "x")
        if xt.shape[1] != self.X_train.shape[1]:
            raise ValueError(f"x has {xt.shape[1]} features, the training inputs have {self.X_train.shape[1]}")
        with torch.no_grad():
            ktt, Kti = self.propagate(xt)
            n = self.X_train.shape[0]
            Kii = kernel_from_gram(self.grams()[-1] if self.n_layers else self._g0(self.X_train), self.kernel, self.lengthscale)
            C = Kii + torch.exp(self.log_noise) * torch.eye(n, dtype=_DT)
            L = torch.linalg.cholesky(C)
            mean = Kti @ torch.cholesky_solve(self.Y_train, L)
            v = torch.linalg.solve_triangular(L, Kti.T, upper=False)
            var = ktt - (v * v).sum(0)
        return mean, var

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mean, _ = self.predict_mean_var(x)
        return mean.to(x.dtype if x.is_floating_point() else torch.float32)


# ----------------------------------------------------------------------------- datasets
class SklearnDiabetes(Dataset):
    """scikit-learn's diabetes regression table (442 x 10), features standardised; ``n_samples``
    takes the first rows."""

    data_type = "vector"
    task = "regression"

    def __init__(self, n_samples: Size | None = None, standardize: bool = True) -> None:
        self.n_samples, self.standardize = n_samples, standardize

    def load(self) -> DataBundle:
        from sklearn.datasets import load_diabetes

        d = load_diabetes()
        X, y = d.data.astype(np.float64), d.target.astype(np.float64)
        if self.n_samples is not None:
            if self.n_samples > len(X):
                raise ValueError(f"n_samples={self.n_samples} but the diabetes table has only {len(X)} rows")
            X, y = X[: self.n_samples], y[: self.n_samples]
        if self.standardize:
            X = (X - X.mean(0)) / X.std(0)
        return DataBundle(X.astype(np.float32), y.astype(np.float32), "vector", task="regression")
