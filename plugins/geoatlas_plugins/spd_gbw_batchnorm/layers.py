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
from geoatlas_plugins.geoopt_manifolds.spd import _checks_enabled

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


def _dtype(name: str) -> torch.dtype:
    if name not in _DTYPES:
        raise ValueError(f"dtype must be 'float64' or 'float32', got {name!r}")
    return _DTYPES[name]


def _positive_int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{what} must be an integer >= 1, got {value!r}")
    return value


def _check_spd_batch(x: Any, n: int, what: str = "x", *, positive_definite: bool = True) -> torch.Tensor:
    """Validate a batch ``(N, n, n)``: a floating tensor, square, right size, ``N > 0``, finite,
    symmetric and (``positive_definite=True``) positive-definite, by one batched ``cholesky_ex``.
    The symmetry and positive-definiteness tests follow the core's data-check switch
    (``GEOATLAS_CHECKS=0`` / ``geoatlas.validation.checks(False)``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} must be a torch.Tensor of shape (N, {n}, {n}), got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{what} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() != 3 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"{what} must have shape (N, {n}, {n}), got {tuple(x.shape)}")
    if x.shape[-1] != n:
        raise ValueError(f"{what} must hold {n} x {n} matrices (parameter n={n}), got {x.shape[-2]} x {x.shape[-1]}")
    if x.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch")
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains NaN or Inf values")
    if not _checks_enabled():
        return x
    xd = x.detach()
    asym = (xd - xd.transpose(-1, -2)).abs_().amax(dim=(-2, -1))
    bad_sym = asym > 1e-5 * (1 + xd.abs().amax(dim=(-2, -1)))
    if bool(bad_sym.any()):
        k = int(torch.nonzero(bad_sym)[0])
        raise ValueError(f"{what} must be symmetric: matrix {k} has max |x - x^T| = {float(asym[k]):.3e}")
    if positive_definite:
        info = torch.linalg.cholesky_ex(xd).info
        if bool((info != 0).any()):
            k = int(torch.nonzero(info)[0])
            lo = float(torch.linalg.eigvalsh(_sym(xd[k])).min())
            raise ValueError(
                f"{what} must be symmetric positive-definite: matrix {k} has smallest eigenvalue {lo:.3e} "
                f"({int((info != 0).sum())} of {len(xd)} matrices fail)"
            )
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
        # rectification is defined for any symmetric input (it is what makes a batch SPD again)
        x = _check_spd_batch(x, self.n, positive_definite=False).to(self._dt)
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


# ---------------------------------------------------------------------------- BW tangent transport
def _divided_difference_pow(x: torch.Tensor, y: torch.Tensor, power: float) -> torch.Tensor:
    """``(x^s - y^s) / (x - y)``, and ``s x^(s-1)`` where ``x`` and ``y`` (nearly) coincide."""
    close = (x - y).abs() <= (torch.finfo(x.dtype).eps ** 0.5) * torch.maximum(x.abs(), y.abs())
    safe = torch.where(close, torch.ones_like(x), x - y)
    dd = (x.pow(power) - y.pow(power)) / safe
    mid = 0.5 * (x + y)
    return torch.where(close, power * mid.pow(power - 1.0), dd)


class _BWTransport(torch.autograd.Function):
    """``A_P^s V`` with ``A_P(V) = (P V + V P) / 2``, in ``P``'s eigenbasis: ``P = U diag(p) U^T``,
    ``A_P^s V = U [((p_a + p_b) / 2)^s (U^T V U)_ab] U^T`` (``O(n^3)``).

    Backward in ``V``: the same map (self-adjoint). Backward in ``P``: Daleckii-Krein for the
    operator function, written in ``P``'s eigenbasis with the divided differences
    ``F1(mu_ab, mu_cb)`` of ``mu^s`` at the operator's eigenvalues ``mu_ab = (p_a + p_b) / 2``
    (an ``n^3`` tensor), so it stays finite at repeated eigenvalues (``P = I``)."""

    @staticmethod
    def forward(ctx: Any, p: torch.Tensor, v: torch.Tensor, power: float) -> torch.Tensor:  # type: ignore[override]
        lam, u = torch.linalg.eigh(_sym(p))
        mu = 0.5 * (lam.unsqueeze(-1) + lam.unsqueeze(-2))
        k = mu.pow(power)
        ut = u.transpose(-1, -2)
        vh = ut @ v @ u
        ctx.power = power
        ctx.p_shape = p.shape
        ctx.save_for_backward(u, mu, k, vh)
        return u @ (k * vh) @ ut

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor | None, torch.Tensor | None, None]:  # type: ignore[override]
        u, mu, k, vh = ctx.saved_tensors
        ut = u.transpose(-1, -2)
        gh = ut @ g @ u
        grad_v = u @ (k * gh) @ ut if ctx.needs_input_grad[1] else None
        grad_p = None
        if ctx.needs_input_grad[0]:
            # <G, dA_P^s[dP] V> with dA_P(X) = (dP X + X dP) / 2, in P's eigenbasis:
            # C1[a, c] = 1/2 sum_b F1(mu_ab, mu_cb) gh[a,b] vh[c,b]   (dP acting on the left)
            # C2[d, b] = 1/2 sum_a F1(mu_ab, mu_ad) gh[a,b] vh[a,d]   (dP acting on the right)
            t1 = _divided_difference_pow(mu.unsqueeze(-1), mu.transpose(-1, -2).unsqueeze(-3), ctx.power)
            t2 = _divided_difference_pow(mu.unsqueeze(-1), mu.unsqueeze(-2), ctx.power)
            c1 = 0.5 * torch.einsum("...abc,...ab,...cb->...ac", t1, gh, vh)
            c2 = 0.5 * torch.einsum("...abd,...ab,...ad->...db", t2, gh, vh)
            gp = u @ (c1 + c2) @ ut
            while gp.dim() > len(ctx.p_shape):  # P broadcast over a batch of V
                gp = gp.sum(0)
            grad_p = _sym(gp)
        return grad_p, grad_v, None


def bw_tangent_transport(p: torch.Tensor, v: torch.Tensor, power: float) -> torch.Tensor:
    """``((P (.) + (.) P) / 2)^power`` applied to ``v`` in ``P``'s eigenbasis (``O(n^3)``).

    ``power = -1/2`` is the BW transport ``P -> I`` (entry ``(a, b)`` of ``U^T V U`` scaled by
    ``sqrt(2 / (p_a + p_b))``), ``power = 1/2`` the transport ``I -> P``, as in GBWBN."""
    return _BWTransport.apply(p, v, float(power))


# ---------------------------------------------------------------------------- batch norms
class GBWBatchNorm(_SPDLayer):
    """Riemannian batch normalisation under the generalized Bures-Wasserstein metric (GBWBN).

    For a batch ``X_i``: map to the chart ``Y_i = M^{-1/2} X_i^theta M^{-1/2}``; compute the BW
    barycenter ``G`` (fixed-point iterations from the arithmetic mean) and the dispersion
    ``v = mean_i d_BW^2(Y_i, G) / theta^2``; centre and scale in the tangent space at the identity,
    ``U_i = s / sqrt(v + eps) * T_{G -> I} Log_G(Y_i)``; re-bias at ``phi(B)``,
    ``Z_i = Exp_{phi(B)}(T_{I -> phi(B)} U_i)``; map back ``X'_i = (M^{1/2} Z_i M^{1/2})^{1/theta}``.
    ``T_{P -> I}`` scales the ``(a, b)`` entry in ``P``'s eigenbasis by ``sqrt(2 / (p_a + p_b))`` (the
    isometry between BW tangent spaces used by the paper), computed in ``P``'s eigenbasis in
    ``O(n^3)`` (:func:`bw_tangent_transport`). Running statistics follow the BW geodesic.

    With ``fold="reference"`` (default) the tangent vectors make the two round trips through
    ``Exp_I(U) = (I + U/2)^2`` and ``Log_I(S) = 2 S^{1/2} - 2I`` that the authors' code makes (before and
    after the scaling), i.e. ``U -> 2|I + U/2| - 2I``: the identity wherever ``I + U/2`` is
    positive-definite, a fold onto the PSD cone elsewhere. ``fold="none"`` skips them.

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
        ``"identity"`` (default): ``mean_i d^2(Y_i, I) / theta^2``, as the authors' code
        (``cal_var``) computes it; ``"mean"``: the Fréchet variance ``mean_i d^2(Y_i, G) / theta^2``
        about the batch mean, which makes the output dispersion exactly ``s^2`` (textbook BN).
    fold : str
        ``"reference"`` (default, the authors' computation) or ``"none"``: see above.
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
        variance_about: str = "identity",
        fold: str = "reference",
        dtype: str = "float64",
    ) -> None:
        super().__init__(n, dtype)
        if variance_about not in ("mean", "identity"):
            raise ValueError(f"variance_about must be 'mean' or 'identity', got {variance_about!r}")
        if fold not in ("reference", "none"):
            raise ValueError(f"fold must be 'reference' or 'none', got {fold!r}")
        self.variance_about = variance_about
        self.fold = fold
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
        return _sym(bw_tangent_transport(p, v, power))

    def _fold(self, u: torch.Tensor) -> torch.Tensor:
        """``Log_I(Exp_I(U)) = 2|I + U/2| - 2I`` (the reference's round trip), or ``U``."""
        if self.fold == "none":
            return u
        eye = torch.eye(self.n, dtype=u.dtype, device=u.device)
        return 2 * self._fn(eye + 0.5 * u, "abs") - 2 * eye

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_spd_batch(x, self.n).to(self._dt)
        bw = self.bw  # unvalidated internals: the input was checked once above
        y = self.geom.to_bw(x)
        b = self.geom.to_bw(self.bias)
        if self.training:
            with torch.no_grad():
                g = bw._frechet_mean(y.detach(), max_iter=self.mean_iters, tol=0.0)
                about = g if self.variance_about == "mean" else torch.eye(self.n, dtype=g.dtype, device=g.device)
                var = bw._sqdist(y.detach(), about).mean() / self.theta**2
                self.running_mean.copy_(bw._geodesic(self.running_mean, g, self.momentum))
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)
        else:
            g, var = self.running_mean, self.running_var
        v = bw._logmap(g, y)
        u = self._fold(self._transport(g, v, -0.5))
        u = self._fold(u * (self.shift / torch.sqrt(var + self.eps)))
        z = bw._expmap(b, self._transport(b, u, 0.5))
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
                g = self.spd._frechet_mean(x.detach(), max_iter=self.mean_iters, tol=0.0)
                self.running_mean.copy_(self.spd._geodesic(self.running_mean, g, self.momentum))
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
        ReEig threshold (1e-4 here; the authors' code uses 1e-5).
    momentum : float
        BN running-statistics momentum.
    variance_about, fold, mean_iters, bn_eps :
        Passed to every GBWBN layer (see :class:`GBWBatchNorm`; the defaults are the authors'
        computation: variance about ``I``, the ``Exp_I``/``Log_I`` folds, one barycenter step,
        ``eps = 1e-5``). ``mean_iters`` also applies to AIRM BN.
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
        variance_about: str = "identity",
        fold: str = "reference",
        mean_iters: int = 1,
        bn_eps: float = 1e-5,
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
                layers.append(
                    GBWBatchNorm(
                        h, theta=theta, momentum=momentum, eps=bn_eps, learn_metric=learn_metric, mean_iters=mean_iters,
                        variance_about=variance_about, fold=fold, dtype=dtype,
                    )
                )
            elif bn == "airm":
                layers.append(AIRMBatchNorm(h, momentum=momentum, mean_iters=mean_iters, dtype=dtype))
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
