"""SPDNet layers and Riemannian batch normalisation (GBWBN, Wang et al. CVPR 2025; AIRM BN).

The SPD geometry (metrics, means, matrix functions with stable backward passes) comes from the
core's registered ``spd`` manifold; the Stiefel weights of BiMap from the ``stiefel`` manifold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geoopt
import torch
from torch import nn

import geoatlas as ga
from geoatlas.interfaces import Encoder

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _dtype(name: str) -> torch.dtype:
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {name!r}")
    return _DTYPES[name]


def _positive_int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    return value


def _check_spd_batch(x: Any, n: int, what: str = "x") -> torch.Tensor:
    """Validate a batch ``(N, n, n)`` of symmetric matrices (finite, square, right size, N > 0)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape (N, {n}, {n}), got {type(x).__name__}")
    if x.dim() != 3 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{what} must have shape (N, {n}, {n}), got {tuple(x.shape)}")
    if x.shape[-1] != n:
        raise ValueError(f"{what} must hold {n} x {n} matrices (parameter n={n}), got {x.shape[-2]} x {x.shape[-1]}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch")
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    return x


def _sym(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (x + x.transpose(-1, -2))


class _SPDLayer(Encoder):
    input_type = "spd"
    output_space = "spd"

    def __init__(self, n: int, dtype: str = "float64") -> None:
        super().__init__()
        self.n = _positive_int(n, "n")
        self.dtype_name = dtype
        self._dt = _dtype(dtype)
        self.spd = ga.create("manifold", "spd", n=self.n)

    def _fn(self, x: torch.Tensor, name: str, p: float = 0.0) -> torch.Tensor:
        return self.spd.matrix_function(x, name, p)


# ---------------------------------------------------------------------------- SPDNet layers
class BiMap(_SPDLayer):
    """``X -> W^T X W`` with ``W`` an ``n x out_n`` orthonormal frame (``stiefel`` ManifoldParameter).

    Parameters
    ----------
    n : int
        Input matrix size.
    out_n : int
        Output matrix size (``out_n <= n``).
    dtype : str
        Parameter dtype, ``"float64"`` (default, as the paper) or ``"float32"``.
    """

    def __init__(self, n: int = 16, out_n: int = 8, dtype: str = "float64") -> None:
        super().__init__(n, dtype)
        self.out_n = _positive_int(out_n, "out_n")
        if out_n > n:
            raise ValueError(f"out_n must be <= n for a Stiefel frame, got n={n}, out_n={out_n}")
        try:
            stiefel = ga.create("manifold", "stiefel", n=n, p=out_n)
        except TypeError:
            # the core's Stiefel inherits geoopt.Stiefel.__new__(canonical=...), which refuses n/p
            # keywords; the canonical-metric geometry does not depend on (n, p), so the default works
            stiefel = ga.create("manifold", "stiefel")
        a = torch.randn(n, out_n, dtype=self._dt)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r)).unsqueeze(0)
        self.weight = geoopt.ManifoldParameter(q, manifold=stiefel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        w = self.weight
        return _sym(w.transpose(-1, -2) @ x @ w)


class ReEig(_SPDLayer):
    """``X -> U max(Lambda, eps) U^T`` (SPDNet's rectifying non-linearity)."""

    def __init__(self, n: int = 8, eps: float = 1e-4, dtype: str = "float64") -> None:
        super().__init__(n, dtype)
        if not eps > 0:
            raise ValueError(f"eps must be > 0, got {eps}")
        self.eps = float(eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        return self._fn(x, "rect", self.eps)


class LogEig(_SPDLayer):
    """``X -> log X`` flattened to ``(N, n * n)`` (or kept ``(N, n, n)`` with ``flatten=False``)."""

    output_space = "euclidean"

    def __init__(self, n: int = 8, flatten: bool = True, dtype: str = "float64") -> None:
        super().__init__(n, dtype)
        self.flatten = bool(flatten)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        out = self._fn(x, "log")
        return out.reshape(len(out), -1) if self.flatten else out


# ---------------------------------------------------------------------------- batch norms
class GBWBatchNorm(_SPDLayer):
    """Riemannian batch normalisation under the generalized Bures-Wasserstein metric (GBWBN).

    For a batch ``X_i``: map to the chart ``Y_i = M^{-1/2} X_i^theta M^{-1/2}``; compute the BW
    barycenter ``G`` (fixed-point iterations from the arithmetic mean) and the dispersion
    ``v = mean_i d_BW^2(Y_i, G) / theta^2``; centre and scale in the tangent space at the identity,
    ``U_i = s / sqrt(v + eps) * T_{G -> I} Log_G(Y_i)``; re-bias at ``phi(B)``,
    ``Z_i = Exp_{phi(B)}(T_{I -> phi(B)} U_i)``; map back ``X'_i = (M^{1/2} Z_i M^{1/2})^{1/theta}``.
    ``T_{P -> I}`` scales the ``(a, b)`` entry in ``P``'s eigenbasis by ``sqrt(2 / (p_a + p_b))`` (the
    isometry between BW tangent spaces used by the paper), applied here as the operator
    ``(P (.) + (.) P) / 2`` to the power ``-1/2``. Running statistics follow the BW geodesic.

    Parameters
    ----------
    n : int
        Matrix size.
    theta : float
        Power deformation (``theta > 0``; a hyperparameter in the paper).
    momentum : float
        Running-statistics momentum (0.1 as in the paper's code).
    eps : float
        Added to the variance before the square root.
    learn_metric : bool
        Learn the SPD metric matrix ``M`` (a ``ManifoldParameter``; identity at start).
    mean_iters : int
        Fixed-point iterations for the batch barycenter (1 in the reference code).
    variance_about : str
        ``"mean"`` (default): Fréchet variance ``mean_i d^2(Y_i, G)``, which makes the output
        dispersion ``s^2``; ``"identity"``: ``mean_i d^2(Y_i, I)`` as the reference code computes it.
    dtype : str
        ``"float64"`` (default) or ``"float32"``.
    """

    def __init__(
        self,
        n: int = 8,
        theta: float = 1.0,
        momentum: float = 0.1,
        eps: float = 1e-5,
        learn_metric: bool = True,
        mean_iters: int = 1,
        variance_about: str = "mean",
        dtype: str = "float64",
    ) -> None:
        super().__init__(n, dtype)
        if variance_about not in ("mean", "identity"):
            raise ValueError(f"variance_about must be 'mean' or 'identity', got {variance_about!r}")
        self.variance_about = variance_about
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        if not eps >= 0:
            raise ValueError(f"eps must be >= 0, got {eps}")
        self.mean_iters = _positive_int(mean_iters, "mean_iters")
        self.theta, self.momentum, self.eps = float(theta), float(momentum), float(eps)
        self.geom = ga.create(
            "manifold", "spd", n=n, metric="generalized_bures_wasserstein", theta=theta, learnable=bool(learn_metric)
        ).to(self._dt)
        self.bw = ga.create("manifold", "spd", n=n, metric="bures_wasserstein")
        eye = torch.eye(n, dtype=self._dt)
        self.bias = geoopt.ManifoldParameter(eye.clone(), manifold=self.spd)
        self.shift = nn.Parameter(torch.ones((), dtype=self._dt))
        self.register_buffer("running_mean", eye.clone())
        self.register_buffer("running_var", torch.ones((), dtype=self._dt))

    def _transport(self, p: torch.Tensor, v: torch.Tensor, power: float) -> torch.Tensor:
        """Apply ``((P (.) + (.) P) / 2)^power`` to symmetric ``v`` (``power = -1/2``: P -> I)."""
        n = self.n
        eye = torch.eye(n, dtype=p.dtype, device=p.device)
        op = 0.5 * (torch.kron(p, eye) + torch.kron(eye, p))
        op = self._fn(op, "pow", power)
        out = (op @ v.reshape(*v.shape[:-2], n * n, 1)).reshape(v.shape)
        return _sym(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        y = self.geom.to_bw(x)
        b = self.geom.to_bw(self.bias)
        if self.training:
            with torch.no_grad():
                g = self.bw.frechet_mean(y.detach(), max_iter=self.mean_iters, tol=0.0)
                about = g if self.variance_about == "mean" else torch.eye(self.n, dtype=g.dtype, device=g.device)
                var = self.bw.sqdist(y.detach(), about).mean() / self.theta**2
                self.running_mean.copy_(self.bw.geodesic(self.running_mean, g, self.momentum))
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            g, var = self.running_mean, self.running_var
        v = self.bw.logmap(g, y)
        u = self._transport(g, v, -0.5) * (self.shift / torch.sqrt(var + self.eps))
        z = self.bw.expmap(b, self._transport(b, u, 0.5))
        return self.geom.from_bw(z)


class AIRMBatchNorm(_SPDLayer):
    """Affine-invariant Riemannian batch normalisation (Brooks et al., NeurIPS 2019).

    ``X_i -> B^{1/2} G^{-1/2} X_i G^{-1/2} B^{1/2}`` with ``G`` the batch Karcher mean (train) or the
    running mean (eval), ``B`` a learnable SPD bias. Running mean along the affine-invariant geodesic.
    """

    def __init__(self, n: int = 8, momentum: float = 0.1, mean_iters: int = 1, dtype: str = "float64") -> None:
        super().__init__(n, dtype)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum}")
        self.momentum = float(momentum)
        self.mean_iters = _positive_int(mean_iters, "mean_iters")
        eye = torch.eye(n, dtype=self._dt)
        self.bias = geoopt.ManifoldParameter(eye.clone(), manifold=self.spd)
        self.register_buffer("running_mean", eye.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        if self.training:
            with torch.no_grad():
                g = self.spd.frechet_mean(x.detach(), max_iter=self.mean_iters, tol=0.0)
                self.running_mean.copy_(self.spd.geodesic(self.running_mean, g, self.momentum))
        else:
            g = self.running_mean
        ig = self._fn(g, "invsqrt")
        rb = self._fn(self.bias, "sqrt")
        return _sym(rb @ ig @ x @ ig @ rb)


# ---------------------------------------------------------------------------- the network
class SPDNet(Encoder):
    """SPDNet classifier: ``[BiMap -> BN -> ReEig]*`` then ``LogEig -> Linear``.

    Parameters
    ----------
    n : int
        Input matrix size.
    num_classes : int
        Number of classes (logits returned).
    hidden : sequence of int
        Output sizes of the BiMap layers (decreasing), e.g. ``[8]`` for the paper's 16 -> 8 demo.
    bn : str
        ``"none"``, ``"airm"`` (Brooks et al.) or ``"gbw"`` (GBWBN).
    theta : float
        GBWBN power deformation.
    learn_metric : bool
        GBWBN learns its metric matrix ``M``.
    reeig_eps : float
        ReEig threshold.
    momentum : float
        BN running-statistics momentum.
    dtype : str
        ``"float64"`` (default, as the paper) or ``"float32"``.
    """

    input_type = "spd"
    output_space = "euclidean"

    def __init__(
        self,
        n: int = 16,
        num_classes: int = 2,
        hidden: Sequence[int] = (8,),
        bn: str = "gbw",
        theta: float = 1.0,
        learn_metric: bool = True,
        reeig_eps: float = 1e-4,
        momentum: float = 0.1,
        dtype: str = "float64",
    ) -> None:
        super().__init__()
        if bn not in ("none", "airm", "gbw"):
            raise ValueError(f"bn must be 'none', 'airm' or 'gbw', got {bn!r}")
        self.n = _positive_int(n, "n")
        num_classes = _positive_int(num_classes, "num_classes")
        hidden = list(hidden)
        if not hidden:
            raise ValueError("hidden must list at least one BiMap output size")
        self.bn = bn
        self._dt = _dtype(dtype)
        layers: list[nn.Module] = []
        size = n
        for h in hidden:
            layers.append(BiMap(size, _positive_int(h, "hidden entries"), dtype))
            if bn == "gbw":
                layers.append(GBWBatchNorm(h, theta=theta, momentum=momentum, learn_metric=learn_metric, dtype=dtype))
            elif bn == "airm":
                layers.append(AIRMBatchNorm(h, momentum=momentum, dtype=dtype))
            layers.append(ReEig(h, reeig_eps, dtype))
            size = h
        self.features = nn.Sequential(*layers)
        self.logeig = LogEig(size, flatten=True, dtype=dtype)
        self.classifier = nn.Linear(size * size, num_classes, dtype=self._dt)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Log-Euclidean features after the SPD layers."""
        return self.logeig(self.features(_check_spd_batch(x, self.n).to(self._dt)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))
