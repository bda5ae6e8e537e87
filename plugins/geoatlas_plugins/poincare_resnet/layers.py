"""Poincaré layers of Poincaré ResNet (van Spengler, Berkhout & Mettes, ICCV 2023).

Every layer consumes and produces points on the Poincaré ball of curvature ``-c`` (the core's
``poincare_ball`` manifold, i.e. geoopt's ``PoincareBall``). The geometry (Möbius addition,
exp/log maps, distance, parallel transport, gyromidpoint, projection) is geoopt's; this module
adds only what the paper uses on top of it:

- the Poincaré fully-connected layer of Shimizu et al. (HNN++), :func:`poincare_fc`, built on the
  hyperplane "logits" :func:`poincare_hyperplane_logits` (also the MLR head);
- the Poincaré 2D convolution by beta-concatenation of the receptive field + Poincaré FC;
- the paper's identity initialisation ``Z = I/2, r = 0``;
- the Poincaré midpoint batch normalisation;
- the tangent ReLU ``exp0(relu(log0 x))``.

Numerics (float32 safe, documented in the README):

- points leaving the ball are pulled back by geoopt's ``projx`` (max norm ``(1 - eps)/sqrt(c)``,
  ``eps = 4e-3`` in float32, ``1e-5`` in float64) after every exp map, Möbius addition, FC output
  and midpoint;
- ``2 sqrt(c) r`` is clamped to ``[-30, 30]`` before ``cosh``/``sinh`` and ``sqrt(c) v`` to
  ``[-15, 15]`` before ``sinh`` (beyond these values the FC output is already projected, so the
  clamp changes nothing but prevents overflow);
- hyperplane-normal norms ``|z_k|`` are clamped below at ``1e-15``;
- the batch-norm variance parameter enters as ``max(gamma, 1e-6)`` and the batch variance as
  ``sigma^2 + eps`` (``eps = 1e-6`` as in the paper).
"""

from __future__ import annotations

import math
from typing import Any

import geoopt
import torch
import torch.nn.functional as F
from torch import nn

import geoatlas as ga
from geoatlas.interfaces import Encoder
from geoatlas.utils import check_finite

_SINH_CLAMP = 15.0  # clamp on sqrt(c) * v before sinh
_BIAS_CLAMP = 30.0  # clamp on 2 sqrt(c) r before cosh / sinh
_INITS = ("identity", "hnnpp")


# ----------------------------------------------------------------------------- helpers
def make_ball(dim: int, c: float) -> Any:
    """The core's ``poincare_ball`` manifold of dimension ``dim`` and curvature ``-c``."""
    if isinstance(c, bool) or not isinstance(c, (int, float)) or not math.isfinite(c) or c <= 0:
        raise ValueError(f"c (curvature parameter, curvature is -c) must be a finite number > 0, got {c!r}")
    return ga.create("manifold", "poincare_ball", dim=int(dim), c=float(c))


def _check_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def check_ball_points(x: torch.Tensor, ball: Any, name: str, dim: int = -1) -> None:
    """Raise ``ValueError`` unless ``x`` is finite and strictly inside the ball along ``dim``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)})")
    check_finite(x, name)
    c = float(ball.c)
    sq = x.detach().pow(2).sum(dim=dim)
    worst = float(sq.max()) * c
    if worst >= 1.0:
        raise ValueError(
            f"{name} has points outside the Poincaré ball of curvature -{c:g}: largest c*|x|^2 = {worst:.6g} "
            f"(must be < 1); map Euclidean input with map_input=True or ball.expmap0"
        )


def identity_init_(z: torch.Tensor) -> torch.Tensor:
    """The paper's identity initialisation ``Z = I/2`` (rectangular, truncated), in place."""
    with torch.no_grad():
        z.copy_(0.5 * torch.eye(z.shape[0], z.shape[1], dtype=z.dtype, device=z.device))
    return z


def hnnpp_init_(z: torch.Tensor) -> torch.Tensor:
    """HNN++ initialisation ``Z ~ N(0, (2 n m)^{-1/2})`` (the baseline the paper replaces), in place."""
    n, m = z.shape
    with torch.no_grad():
        z.normal_(0.0, (2.0 * n * m) ** -0.5)
    return z


def _projection_eps(dtype: torch.dtype) -> float:
    """geoopt's boundary margin: points are kept at norm <= (1 - eps) / sqrt(c)."""
    return 4e-3 if dtype == torch.float32 else 1e-5


def _hyperplane_logits_from_inner(
    xz: torch.Tensor, lam: torch.Tensor, z_norm: torch.Tensor, r: torch.Tensor | None, c: torch.Tensor
) -> torch.Tensor:
    """``v_k`` from the inner products ``<x, z_k>`` and the conformal factor ``lambda_x`` (broadcast)."""
    sqrt_c = c.sqrt()
    proj = xz / z_norm
    if r is None:
        arg = sqrt_c * lam * proj
    else:
        t = (2.0 * sqrt_c * r).clamp(-_BIAS_CLAMP, _BIAS_CLAMP)
        arg = sqrt_c * lam * proj * torch.cosh(t) - (lam - 1.0) * torch.sinh(t)
    return 2.0 * z_norm / sqrt_c * torch.asinh(arg)


def _fc_from_logits(v: torch.Tensor, c: torch.Tensor, ball: Any, dim: int) -> torch.Tensor:
    """``y = w / (1 + sqrt(1 + c|w|^2))`` with ``w = sinh(sqrt(c) v)/sqrt(c)``, projected (axis ``dim``)."""
    sqrt_c = c.sqrt()
    w = torch.sinh((sqrt_c * v).clamp(-_SINH_CLAMP, _SINH_CLAMP)) / sqrt_c
    y = w / (1.0 + torch.sqrt(1.0 + c * w.pow(2).sum(dim=dim, keepdim=True)))
    return ball.projx(y, dim=dim)


def poincare_hyperplane_logits(
    x: torch.Tensor, z: torch.Tensor, r: torch.Tensor | None, ball: Any
) -> torch.Tensor:
    r"""HNN++ hyperplane quantities :math:`v_k(x)` (the Poincaré MLR logits).

    .. math::
        v_k(x) = \frac{2|z_k|}{\sqrt c}\,\operatorname{asinh}\Big(\sqrt c\,\lambda_x
        \langle x, \hat z_k\rangle \cosh(2\sqrt c\, r_k) - (\lambda_x - 1)\sinh(2\sqrt c\, r_k)\Big)

    with :math:`\lambda_x = 2/(1-c|x|^2)` (the correct conformal factor; the paper-era code had
    ``2(1-c|x|^2)``). ``v_k(x)`` is ``2|z_k|`` times the signed distance of ``x`` to the Poincaré
    hyperplane through ``exp_0(r_k \hat z_k)`` whose normal is ``\hat z_k`` transported there.

    Parameters
    ----------
    x : Tensor (..., n)
        points on the ball (last axis).
    z : Tensor (n, m)
        hyperplane orientations (columns).
    r : Tensor (m,) or None
        hyperplane offsets.
    ball : PoincareBall
        the manifold (gives ``c`` and the conformal factor).

    Returns
    -------
    Tensor (..., m)
    """
    c = ball.c.to(x.dtype)
    lam = ball.lambda_x(x, dim=-1, keepdim=True)
    return _hyperplane_logits_from_inner(x @ z, lam, z.norm(dim=0).clamp_min(1e-15), r, c)


def poincare_fc(x: torch.Tensor, z: torch.Tensor, r: torch.Tensor | None, ball: Any) -> torch.Tensor:
    r"""Poincaré fully-connected layer (Shimizu et al., HNN++), on the last axis.

    .. math::
        w_k = \sinh(\sqrt c\, v_k(x))/\sqrt c, \qquad y = \frac{w}{1 + \sqrt{1 + c|w|^2}}

    followed by geoopt's projection onto the ball. With ``z = I/2`` and ``r = 0`` it is the
    identity map (the paper's initialisation).
    """
    c = ball.c.to(x.dtype)
    return _fc_from_logits(poincare_hyperplane_logits(x, z, r, ball), c, ball, dim=-1)


def tangent_relu(x: torch.Tensor, ball: Any, dim: int = 1) -> torch.Tensor:
    """The Poincaré ReLU of the paper: ``exp_0(relu(log_0 x))`` along ``dim``."""
    return ball.expmap0(torch.relu(ball.logmap0(x, dim=dim)), dim=dim)


def beta_concat_scale(in_channels: int, kernel_volume: int) -> float:
    r"""HNN++ beta-concatenation factor :math:`B(n/2, 1/2) / B(n_i/2, 1/2)`, ``n = n_i * K``."""
    def log_beta(a: float, b: float) -> float:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    n_i = in_channels
    n = in_channels * kernel_volume
    return math.exp(log_beta(n / 2.0, 0.5) - log_beta(n_i / 2.0, 0.5))


def _vector_input(x: Any, in_features: int, map_input: bool, ball: Any) -> torch.Tensor:
    """Validate a ``(..., in_features)`` input: points on the ball, or Euclidean points mapped by exp_0."""
    if not isinstance(x, torch.Tensor) or x.dim() < 1 or x.shape[-1] != in_features:
        raise ValueError(f"x must be a tensor (..., {in_features}), got {getattr(x, 'shape', type(x).__name__)}")
    if map_input:
        check_finite(x, "x")
        return ball.expmap0(x, dim=-1)
    check_ball_points(x, ball, "x")
    return x


def _pair(v: Any, name: str) -> tuple[int, int]:
    if isinstance(v, int) and not isinstance(v, bool):
        v = (v, v)
    if not (isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(i, int) and not isinstance(i, bool) for i in v)):
        raise TypeError(f"{name} must be an int or a pair of ints, got {v!r}")
    return int(v[0]), int(v[1])


# ----------------------------------------------------------------------------- layers
class PoincareLinear(Encoder):
    """Poincaré fully-connected layer (HNN++ FC as used by Poincaré ResNet).

    Parameters
    ----------
    in_features, out_features : int
        dimensions of the input and output balls.
    c : float
        curvature parameter (curvature ``-c``); default 0.1 as in the authors' code.
    bias : bool
        learn hyperplane offsets ``r`` (initialised at 0).
    init : {"identity", "hnnpp"}
        ``"identity"`` is the paper's ``Z = I/2`` (truncated when the shapes differ);
        ``"hnnpp"`` is ``N(0, (2 n m)^{-1/2})``.
    map_input : bool
        if True the input is Euclidean and is first mapped to the ball with ``exp_0``.

    Input ``(..., in_features)`` on the ball; output ``(..., out_features)`` on the ball.
    """

    input_type = "vector"
    output_space = "poincare_ball"

    def __init__(
        self,
        in_features: int,
        out_features: int,
        c: float = 0.1,
        bias: bool = True,
        init: str = "identity",
        map_input: bool = False,
    ) -> None:
        super().__init__()
        self.in_features = _check_int(in_features, "in_features")
        self.out_features = _check_int(out_features, "out_features")
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        self.ball = make_ball(out_features, c)
        self.init = init
        self.map_input = bool(map_input)
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        (identity_init_ if self.init == "identity" else hnnpp_init_)(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _vector_input(x, self.in_features, self.map_input, self.ball)
        return poincare_fc(x, self.weight, self.bias, self.ball)


class PoincareMLR(Encoder):
    """Poincaré multinomial logistic regression (HNN++): logits ``v_k(x)``, signed hyperplane distances.

    Parameters
    ----------
    in_features : int
        ball dimension of the input.
    num_classes : int
        number of classes (hyperplanes).
    c : float
        curvature parameter.
    init : {"hnnpp", "identity"}
        weight initialisation (``"identity"`` is ``I/2`` truncated, as the authors' head).
    map_input : bool
        if True the input is Euclidean and mapped with ``exp_0`` first.
    """

    input_type = "vector"
    output_space = "euclidean"

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        c: float = 0.1,
        init: str = "hnnpp",
        map_input: bool = False,
    ) -> None:
        super().__init__()
        self.in_features = _check_int(in_features, "in_features")
        self.num_classes = _check_int(num_classes, "num_classes")
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        self.ball = make_ball(in_features, c)
        self.init = init
        self.map_input = bool(map_input)
        self.weight = nn.Parameter(torch.empty(in_features, num_classes))
        self.bias = nn.Parameter(torch.zeros(num_classes))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        (identity_init_ if self.init == "identity" else hnnpp_init_)(self.weight)
        nn.init.zeros_(self.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _vector_input(x, self.in_features, self.map_input, self.ball)
        return poincare_hyperplane_logits(x, self.weight, self.bias, self.ball)


class PoincareConv2d(Encoder):
    """Poincaré 2D convolution: beta-concatenation of each receptive field, then a Poincaré FC.

    For input points ``x`` of shape ``(N, C_in, H, W)`` (channel axis on the ball):
    ``u = log_0(x) * B(n/2, 1/2) / B(C_in/2, 1/2)`` with ``n = C_in k_h k_w``; the patches of ``u``
    (zero padding = the origin) are mapped with ``exp_0`` and transformed by the Poincaré FC with
    ``Z in R^{n x C_out}``, ``r in R^{C_out}``.

    Parameters
    ----------
    in_channels, out_channels : int
    kernel_size, stride, padding : int or (int, int)
    c : float
        curvature parameter (default 0.1).
    bias : bool
    init : {"identity", "hnnpp"}
        the paper's identity initialisation ``Z = I/2`` (on the channel-major unfolded patch, as
        in the authors' code) is the default.
    map_input : bool
        if True the input is a Euclidean image, mapped per pixel with ``exp_0`` first.
    """

    input_type = "image"
    output_space = "poincare_ball"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int] = 3,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        c: float = 0.1,
        bias: bool = True,
        init: str = "identity",
        map_input: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = _check_int(in_channels, "in_channels")
        self.out_channels = _check_int(out_channels, "out_channels")
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding")
        if min(self.kernel_size) < 1 or min(self.stride) < 1 or min(self.padding) < 0:
            raise ValueError(
                f"kernel_size and stride must be >= 1 and padding >= 0, got {self.kernel_size}, {self.stride}, {self.padding}"
            )
        if init not in _INITS:
            raise ValueError(f"init must be one of {_INITS}, got {init!r}")
        self.init = init
        self.map_input = bool(map_input)
        self.ball = make_ball(out_channels, c)
        kvol = self.kernel_size[0] * self.kernel_size[1]
        self.beta_scale = beta_concat_scale(in_channels, kvol)
        self.weight = nn.Parameter(torch.empty(in_channels * kvol, out_channels))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        (identity_init_ if self.init == "identity" else hnnpp_init_)(self.weight)
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """Spatial output size ``1 + (H + 2p - k) // s`` per axis."""
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return 1 + (height + 2 * ph - kh) // sh, 1 + (width + 2 * pw - kw) // sw

    def _check(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must be a tensor (N, {self.in_channels}, H, W), got {getattr(x, 'shape', type(x).__name__)}"
            )
        h, w = x.shape[2] + 2 * self.padding[0], x.shape[3] + 2 * self.padding[1]
        if h < self.kernel_size[0] or w < self.kernel_size[1]:
            raise ValueError(f"x spatial size {tuple(x.shape[2:])} (padded {h}x{w}) is smaller than kernel_size {self.kernel_size}")

    def forward_tangent(self, u: torch.Tensor) -> torch.Tensor:
        r"""The convolution applied to ``u = log_0(x)`` (tangent representation, channel axis 1).

        Computed without unfolding: for a receptive field ``p`` (the beta-scaled patch of ``u``),
        ``x_p = exp_0(p)`` has ``<x_p, z_k> = tanh(sqrt(c)|p|)/(sqrt(c)|p|) <p, z_k>`` and
        ``lambda_{x_p} = 2/(1 - tanh^2(sqrt(c)|p|))``, so the Poincaré FC only needs the Euclidean
        convolution ``<p, z_k>`` (``F.conv2d`` with ``Z`` as kernel) and the patch norms ``|p|``
        (a box filter of the per-pixel squared norms). ``tanh`` is capped at ``1 - eps`` exactly
        like geoopt's projection after ``exp_0``. Equal to unfold + ``expmap0`` + FC (tested).
        """
        c = self.ball.c.to(u.dtype)
        sqrt_c = c.sqrt()
        kh, kw = self.kernel_size
        s = u * self.beta_scale
        kernel = self.weight.t().reshape(self.out_channels, self.in_channels, kh, kw)
        inner = F.conv2d(s, kernel, stride=self.stride, padding=self.padding)  # <p, z_k>
        box = torch.ones(1, 1, kh, kw, dtype=u.dtype, device=u.device)
        sq = F.conv2d(s.pow(2).sum(dim=1, keepdim=True), box, stride=self.stride, padding=self.padding)
        rho = sq.clamp_min(1e-30).sqrt()  # |p|
        t = torch.tanh((sqrt_c * rho).clamp_max(_SINH_CLAMP)).clamp_max(1.0 - _projection_eps(u.dtype))
        lam = 2.0 / (1.0 - t * t)
        xz = (t / (sqrt_c * rho)) * inner
        z_norm = self.weight.norm(dim=0).clamp_min(1e-15).view(1, -1, 1, 1)
        r = None if self.bias is None else self.bias.view(1, -1, 1, 1)
        v = _hyperplane_logits_from_inner(xz, lam, z_norm, r, c)
        return _fc_from_logits(v, c, self.ball, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        if self.map_input:
            check_finite(x, "x")
            return self.forward_tangent(x)
        check_ball_points(x, self.ball, "x", dim=1)
        return self.forward_tangent(self.ball.logmap0(x, dim=1))


class PoincareBatchNorm2d(Encoder):
    r"""Poincaré midpoint batch normalisation (the paper's replacement of the Fréchet mean).

    For the points ``x_i`` of a batch (every pixel of every image, channel vector on the ball):

    .. math::
        \mu = \tfrac12 \otimes_c \frac{\sum_i \lambda_{x_i} x_i}{\sum_i (\lambda_{x_i} - 1)},\quad
        \sigma^2 = \frac1B \sum_i d_c(x_i, \mu)^2,\quad
        y_i = \exp_\beta\Big(\sqrt{\tfrac{\gamma}{\sigma^2 + \epsilon}}\; P_{\mu\to\beta}(\log_\mu x_i)\Big)

    with learned mean ``beta`` (a ``geoopt.ManifoldParameter`` on the ball, initialised at the
    origin) and learned scalar variance ``gamma`` (initialised at 1).

    Parameters
    ----------
    num_features : int
        channels (ball dimension).
    c : float
        curvature parameter (default 0.1).
    eps : float
        added to the batch variance (paper: 1e-6).
    momentum : float
        running-statistics update rate (geodesic interpolation of the running midpoint, linear
        for the variance), as in the Riemannian batch norm of Lou et al. (2020).
    track_running_stats : bool
        use running statistics in eval mode. The authors' code has none and always normalises
        with the batch's own statistics; ``False`` reproduces that.
    """

    input_type = "image"
    output_space = "poincare_ball"

    def __init__(
        self,
        num_features: int,
        c: float = 0.1,
        eps: float = 1e-6,
        momentum: float = 0.1,
        track_running_stats: bool = False,
    ) -> None:
        super().__init__()
        self.num_features = _check_int(num_features, "num_features")
        if not (isinstance(eps, (int, float)) and eps > 0):
            raise ValueError(f"eps must be > 0, got {eps!r}")
        if not (isinstance(momentum, (int, float)) and 0 <= momentum <= 1):
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        self.ball = make_ball(num_features, c)
        self.eps = float(eps)
        self.momentum = float(momentum)
        self.track_running_stats = bool(track_running_stats)
        self.mean = geoopt.ManifoldParameter(torch.zeros(num_features), manifold=self.ball)
        self.var = nn.Parameter(torch.tensor(1.0))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.tensor(1.0))

    def statistics(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Gyromidpoint ``mu`` (1, C) and dispersion ``sigma^2`` (scalar) of points ``flat`` (B, C)."""
        mu = self.ball.weighted_midpoint(flat, reducedim=[0], dim=-1, keepdim=True)
        var = self.ball.dist(flat, mu, dim=-1).pow(2).mean()
        return mu, var

    def normalize(self, flat: torch.Tensor) -> torch.Tensor:
        """Batch-normalise points ``flat`` (B, C) on the ball."""
        if self.training or not self.track_running_stats:
            mu, var = self.statistics(flat)
            if self.training and self.track_running_stats:
                with torch.no_grad():
                    rm = self.running_mean.unsqueeze(0)
                    step = self.momentum * self.ball.logmap(rm, mu.detach())
                    self.running_mean.copy_(self.ball.expmap(rm, step).squeeze(0))
                    self.running_var.mul_(1 - self.momentum).add_(self.momentum * var.detach())
        else:
            mu, var = self.running_mean.unsqueeze(0), self.running_var
        beta = self.ball.projx(self.mean, dim=-1).unsqueeze(0)
        scale = torch.sqrt(self.var.clamp_min(1e-6) / (var + self.eps))
        v = self.ball.transp(mu, beta, self.ball.logmap(mu, flat, dim=-1), dim=-1)
        return self.ball.expmap(beta, scale * v, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != self.num_features:
            raise ValueError(
                f"x must be a tensor (N, {self.num_features}, H, W), got {getattr(x, 'shape', type(x).__name__)}"
            )
        check_ball_points(x, self.ball, "x", dim=1)
        n, ch, h, w = x.shape
        if self.training and n * h * w < 2:
            raise ValueError("x must hold at least 2 points (N*H*W >= 2) for batch statistics in training mode")
        flat = x.permute(0, 2, 3, 1).reshape(-1, ch)
        y = self.normalize(flat)
        return y.reshape(n, h, w, ch).permute(0, 3, 1, 2)
