"""SIE: Self-supervised learning of Split Invariant-Equivariant representations.

Garrido, Najman, LeCun, ICML 2023 (arXiv 2302.10283). The representation ``r = [r_inv ; r_equi]``
is split; each part has its own projector; the invariant embeddings of two views must agree,
the equivariant embedding of view 2 must be predicted from view 1 by a linear map whose weights
are produced by a hypernetwork from the transformation parameters ``a`` between the views; a
VICReg-style variance/covariance regulariser on the full embedding prevents collapse.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

import geoatlas as ga
from geoatlas.interfaces import Encoder

from .images import rotate_images


def off_diagonal(m: torch.Tensor) -> torch.Tensor:
    """Off-diagonal entries of a square matrix, flattened."""
    n = m.shape[0]
    return m.flatten()[:-1].view(n - 1, n + 1)[:, 1:].flatten()


def variance_loss(z: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """VICReg hinge on the standard deviation: ``mean_j relu(1 - sqrt(Var z_j + eps))``."""
    z = z - z.mean(dim=0)
    return F.relu(1 - torch.sqrt(z.var(dim=0) + eps)).mean()


def covariance_loss(z: torch.Tensor) -> torch.Tensor:
    """VICReg covariance penalty: ``sum_{i != j} C_ij^2 / D`` with ``C`` the batch covariance."""
    n, d = z.shape
    z = z - z.mean(dim=0)
    cov = (z.T @ z) / (n - 1)
    return off_diagonal(cov).pow(2).sum() / d


class HyperNetPredictor(nn.Module):
    """Predictor ``y'_equi = W_L(a) ... W_1(a) y_equi`` whose weights come from a hypernetwork.

    ``hypernetwork="linear"`` (the paper's default) makes the weights a linear function of ``a``
    (no bias): ``vec W(a) = H a``. ``"deep"`` uses a 3-layer MLP. ``hidden`` adds intermediate
    predictor layers (``predictor_relu`` puts ReLUs between them).
    """

    def __init__(self, emb_dim: int, param_dim: int, hidden: list[int] | None = None, hypernetwork: str = "linear",
                 bias_hypernet: bool = False, bias_pred: bool = False, predictor_relu: bool = False) -> None:
        super().__init__()
        if hypernetwork not in {"linear", "deep"}:
            raise ValueError(f"hypernetwork must be 'linear' or 'deep', got {hypernetwork!r}")
        self.sizes = [emb_dim, *(hidden or []), emb_dim]
        self.bias_pred = bias_pred
        self.n_weights = [self.sizes[i] * self.sizes[i + 1] for i in range(len(self.sizes) - 1)]
        self.n_params = [w + (self.sizes[i + 1] if bias_pred else 0) for i, w in enumerate(self.n_weights)]
        total = sum(self.n_params)
        if hypernetwork == "linear":
            self.net: nn.Module = nn.Linear(param_dim, total, bias=bias_hypernet)
        else:
            self.net = nn.Sequential(
                nn.Linear(param_dim, param_dim, bias=bias_hypernet), nn.ReLU(),
                nn.Linear(param_dim, param_dim, bias=bias_hypernet), nn.ReLU(),
                nn.Linear(param_dim, total, bias=bias_hypernet),
            )
        self.act: nn.Module = nn.ReLU() if predictor_relu else nn.Identity()
        self.param_dim = param_dim

    def weights(self, a: torch.Tensor) -> list[torch.Tensor]:
        """Per-sample weight matrices ``W_l(a)`` of shape ``(B, out_l, in_l)``."""
        flat = self.net(a)
        out, start = [], 0
        for i, nw in enumerate(self.n_weights):
            out.append(flat[:, start : start + nw].view(-1, self.sizes[i + 1], self.sizes[i]))
            start += self.n_params[i]
        return out

    def forward(self, y_equi: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        if a.dim() != 2 or a.shape[1] != self.param_dim:
            raise ValueError(f"transformation parameters a must have shape (B, {self.param_dim}), got {tuple(a.shape)}")
        flat = self.net(a)
        out, start = y_equi, 0
        for i, nw in enumerate(self.n_weights):
            w = flat[:, start : start + nw].view(-1, self.sizes[i + 1], self.sizes[i])
            out = torch.bmm(w, out.unsqueeze(-1)).squeeze(-1)
            if self.bias_pred:
                out = out + flat[:, start + nw : start + self.n_params[i]]
            if i < len(self.n_weights) - 1:
                out = self.act(out)
            start += self.n_params[i]
        return out


def _projector(dims: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(dims) - 2):
        layers += [nn.Linear(dims[i], dims[i + 1]), nn.BatchNorm1d(dims[i + 1]), nn.ReLU()]
    layers.append(nn.Linear(dims[-2], dims[-1], bias=False))
    return nn.Sequential(*layers)


class SIE(Encoder):
    """Split Invariant-Equivariant self-supervised encoder with a hypernetwork predictor.

    ``training_step`` draws two rotated views of each image (planar rotations, ``SO(2)``), with
    relative rotation parameters ``a = (cos(t2 - t1), sin(t2 - t1))``, and minimises the SIE loss

    ``sim * |z_inv - z'_inv|^2 + equi_factor * sim * |W(a) z_equi - z'_equi|^2
    + std * (V(z) + V(z') + V(W(a) z_equi)) + cov * (C(z) + C(z'))``

    plus the cross-entropy of an online linear classifier trained on the *detached* invariant
    representation (the paper's online evaluation; it does not shape the representation).
    ``forward(x)`` returns that classifier's logits; :meth:`representation` returns ``(r_inv, r_equi)``.

    Parameters
    ----------
    in_channels, num_classes : int
        Image channels and classes of the online linear probe (filled by pipelines).
    repr_dim : int
        Representation size; ``equi_dim`` of it is the equivariant part.
    mlp : list[int]
        Projector ("expander") sizes for the full representation; each part gets the sizes scaled
        by its share of ``repr_dim`` (as in the reference code).
    predictor_hidden, hypernetwork, bias_pred, bias_hypernet, predictor_relu
        Predictor architecture (paper default: one linear layer from a linear hypernetwork).
    sim_coeff, equi_factor, std_coeff, cov_coeff : float
        Loss weights: 10, 0.45, 10, 1, the authors' documented SIE pretraining command
        (facebookresearch/SIE README: ``--sim-coeff 10 --equi-factor 0.45 --std-coeff 10
        --cov-coeff 1``), i.e. an absolute weight ``equi_factor * sim_coeff = 4.5`` on the
        equivariance term. (4.5 is only the argparse default of their ``main.py``; with it the
        equivariance term would weigh 45.)
    max_angle : float
        Views are rotated by angles drawn uniformly from ``[-max_angle, max_angle]``.
    """

    input_type = "image"

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        repr_dim: int = 64,
        equi_dim: int = 32,
        channels: list[int] | None = None,
        mlp: list[int] | None = None,
        predictor_hidden: list[int] | None = None,
        hypernetwork: str = "linear",
        bias_pred: bool = False,
        bias_hypernet: bool = False,
        predictor_relu: bool = False,
        sim_coeff: float = 10.0,
        equi_factor: float = 0.45,
        std_coeff: float = 10.0,
        cov_coeff: float = 1.0,
        max_angle: float = math.pi / 2,
    ) -> None:
        super().__init__()
        if not 0 < equi_dim < repr_dim:
            raise ValueError(f"equi_dim must be in (0, repr_dim={repr_dim}), got {equi_dim}")
        if in_channels < 1 or num_classes < 2:
            raise ValueError(f"in_channels must be >= 1 and num_classes >= 2, got {in_channels}, {num_classes}")
        for name, val in (("sim_coeff", sim_coeff), ("equi_factor", equi_factor), ("std_coeff", std_coeff), ("cov_coeff", cov_coeff)):
            if not val >= 0:
                raise ValueError(f"{name} must be >= 0, got {val}")
        if not 0 <= max_angle <= math.pi:
            raise ValueError(f"max_angle must be in [0, pi], got {max_angle}")
        mlp = [256, 256] if mlp is None else list(mlp)
        if not mlp or any(m < 2 for m in mlp):
            raise ValueError(f"mlp must be a non-empty list of sizes >= 2, got {mlp}")
        self.in_channels, self.repr_dim, self.equi_dim = in_channels, repr_dim, equi_dim
        self.inv_dim = repr_dim - equi_dim
        self.sim_coeff, self.equi_factor, self.std_coeff, self.cov_coeff = sim_coeff, equi_factor, std_coeff, cov_coeff
        self.max_angle = max_angle
        # the backbone is the core's baseline CNN (conv-BN-ReLU stages, global pooling, linear map to repr_dim)
        self.backbone = ga.create(
            "encoder", "cnn", in_channels=in_channels, num_classes=repr_dim,
            channels=[32, 64, 64] if channels is None else list(channels),
        )
        dims_inv = [self.inv_dim] + [max(2, round(m * self.inv_dim / repr_dim)) for m in mlp]
        dims_equi = [equi_dim] + [max(2, round(m * equi_dim / repr_dim)) for m in mlp]
        self.projector_inv = _projector(dims_inv)
        self.projector_equi = _projector(dims_equi)
        self.inv_emb_dim, self.equi_emb_dim = dims_inv[-1], dims_equi[-1]
        self.predictor = HyperNetPredictor(self.equi_emb_dim, 2, predictor_hidden, hypernetwork, bias_hypernet, bias_pred, predictor_relu)
        # online linear probe; the parameter-free BatchNorm only rescales the detached features
        # (standard for linear probing) so the probe trains at the same pace whatever their scale
        self.probe = nn.Sequential(nn.BatchNorm1d(self.inv_dim, affine=False), nn.Linear(self.inv_dim, num_classes))
        self.last_stats: dict[str, float] = {}

    # ------------------------------------------------------------------ API
    def _check(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of images (B, C, H, W), got {type(x).__name__}")
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"x must have shape (B, {self.in_channels}, H, W), got {tuple(x.shape)}")
        if x.shape[0] == 0:
            raise ValueError("x is empty (batch size 0)")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        return x

    def representation(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The split representation ``(r_inv, r_equi)`` of images ``x``."""
        r = self.backbone(self._check(x))
        return r[:, : self.inv_dim], r[:, self.inv_dim :]

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat(self.representation(x), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        r_inv, _ = self.representation(x)
        return self.probe(r_inv.detach())

    @staticmethod
    def rotation_params(delta: torch.Tensor) -> torch.Tensor:
        """Transformation parameters of a planar rotation by ``delta``: ``(cos, sin)``."""
        return torch.stack([torch.cos(delta), torch.sin(delta)], dim=-1)

    def sie_loss(self, x1: torch.Tensor, x2: torch.Tensor, a: torch.Tensor) -> tuple[torch.Tensor, dict[str, float], tuple[torch.Tensor, torch.Tensor]]:
        """SIE loss for views ``x1``, ``x2`` related by a transformation with parameters ``a``."""
        if x1.shape != x2.shape:
            raise ValueError(f"views must have the same shape, got {tuple(x1.shape)} and {tuple(x2.shape)}")
        if x1.shape[0] < 2:
            raise ValueError("the SIE loss needs a batch of at least 2 pairs (variance/covariance terms)")
        r1 = self.backbone(self._check(x1))
        r2 = self.backbone(self._check(x2))
        z1_inv, z2_inv = self.projector_inv(r1[:, : self.inv_dim]), self.projector_inv(r2[:, : self.inv_dim])
        z1_eq, z2_eq = self.projector_equi(r1[:, self.inv_dim :]), self.projector_equi(r2[:, self.inv_dim :])
        inv_loss = F.mse_loss(z1_inv, z2_inv)
        pred = self.predictor(z1_eq, a.to(z1_eq.dtype))
        equi_loss = F.mse_loss(pred, z2_eq)
        z1, z2 = torch.cat([z1_inv, z1_eq], 1), torch.cat([z2_inv, z2_eq], 1)
        std_loss = variance_loss(z1) / 2 + variance_loss(z2) / 2
        pred_std_loss = variance_loss(pred) / 2
        cov_loss = covariance_loss(z1) + covariance_loss(z2)
        loss = (self.sim_coeff * inv_loss + self.equi_factor * self.sim_coeff * equi_loss
                + self.std_coeff * (std_loss + pred_std_loss) + self.cov_coeff * cov_loss)
        stats = {k: float(v.detach()) for k, v in (("inv", inv_loss), ("equi", equi_loss), ("std", std_loss), ("pred_std", pred_std_loss), ("cov", cov_loss))}
        return loss, stats, (r1, r2)

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Two randomly rotated views, SIE loss + online linear probe on detached invariant parts."""
        x = self._check(x)
        theta = (2 * torch.rand(x.shape[0], 2, device=x.device) - 1) * self.max_angle
        x1, x2 = rotate_images(x, theta[:, 0]), rotate_images(x, theta[:, 1])
        a = self.rotation_params(theta[:, 1] - theta[:, 0])
        loss, stats, (r1, r2) = self.sie_loss(x1, x2, a)
        probe_loss = loss_fn(self.probe(r1[:, : self.inv_dim].detach()), y) + loss_fn(self.probe(r2[:, : self.inv_dim].detach()), y)
        stats["probe"] = float(probe_loss.detach())
        self.last_stats = stats
        return loss + probe_loss
