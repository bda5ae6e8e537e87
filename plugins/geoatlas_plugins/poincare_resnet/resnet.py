"""Poincaré ResNet and its Euclidean twin (same layout and widths)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.utils import check_finite

from .layers import (
    PoincareBatchNorm2d,
    PoincareConv2d,
    PoincareLinear,
    PoincareMLR,
    _check_int,
    make_ball,
    poincare_fc,
    poincare_hyperplane_logits,
)

_HEADS = ("mlr", "fc_log0")


def _check_arch(in_channels: Any, num_classes: Any, channels: Any, blocks_per_stage: Any) -> tuple[list[int], list[int]]:
    _check_int(in_channels, "in_channels")
    _check_int(num_classes, "num_classes")
    if not isinstance(channels, (list, tuple)) or not channels:
        raise TypeError(f"channels must be a non-empty list of ints, got {channels!r}")
    if not isinstance(blocks_per_stage, (list, tuple)) or len(blocks_per_stage) != len(channels):
        raise ValueError(
            f"blocks_per_stage must be a list with one entry per stage ({len(channels)}), got {blocks_per_stage!r}"
        )
    ch = [_check_int(c, "channels[i]") for c in channels]
    bl = [_check_int(b, "blocks_per_stage[i]") for b in blocks_per_stage]
    return ch, bl


def _check_images(x: Any, in_channels: int) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4 or x.shape[1] != in_channels:
        raise ValueError(f"images must be a tensor (N, {in_channels}, H, W), got {getattr(x, 'shape', type(x).__name__)}")
    if x.shape[0] == 0:
        raise ValueError("images is empty (N = 0)")
    check_finite(x, "images")


class PoincareResidualBlock(nn.Module):
    """``relu_T( BN2(Conv2(relu_T(BN1(Conv1(x))))) (+)_c shortcut(x) )`` on the ball (channel axis).

    Möbius addition along the channel axis (the authors' code adds along the image width axis,
    a bug; HypLL and the paper's equations use the channel axis). ``shortcut`` is a 1x1 Poincaré
    convolution when the stride or width changes, else the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, c: float, init: str, bn_running_stats: bool) -> None:
        super().__init__()
        self.conv1 = PoincareConv2d(in_channels, out_channels, 3, stride=stride, padding=1, c=c, init=init)
        self.bn1 = PoincareBatchNorm2d(out_channels, c=c, track_running_stats=bn_running_stats)
        self.conv2 = PoincareConv2d(out_channels, out_channels, 3, stride=1, padding=1, c=c, init=init)
        self.bn2 = PoincareBatchNorm2d(out_channels, c=c, track_running_stats=bn_running_stats)
        self.shortcut = (
            PoincareConv2d(in_channels, out_channels, 1, stride=stride, padding=0, c=c, init=init)
            if stride != 1 or in_channels != out_channels
            else None
        )
        self.ball = make_ball(out_channels, c)

    @staticmethod
    def _bn(bn: PoincareBatchNorm2d, x: torch.Tensor) -> torch.Tensor:
        n, ch, h, w = x.shape
        y = bn.normalize(x.permute(0, 2, 3, 1).reshape(-1, ch))
        return y.reshape(n, h, w, ch).permute(0, 3, 1, 2)

    def forward(self, x: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x`` on the ball and ``u = log_0(x)``; returns the output and its ``log_0``."""
        ball = self.ball
        h = self._bn(self.bn1, self.conv1.forward_tangent(u))
        hu = torch.relu(ball.logmap0(h, dim=1))
        h = self._bn(self.bn2, self.conv2.forward_tangent(hu))
        res = x if self.shortcut is None else self.shortcut.forward_tangent(u)
        out_u = torch.relu(ball.logmap0(ball.mobius_add(h, res, dim=1), dim=1))
        return ball.expmap0(out_u, dim=1), out_u


class PoincareResNet(Encoder):
    """Poincaré ResNet (van Spengler et al., ICCV 2023): every hidden representation on the ball.

    Layout (as the authors' ``HyperbolicResNet``): the image is mapped to the ball per pixel with
    ``exp_0``; stem Poincaré 3x3 conv -> midpoint BN -> tangent ReLU; one stage per entry of
    ``channels`` (stride 1 for the first, 2 after) of ``blocks_per_stage`` residual blocks; global
    average pooling in the tangent space at the origin, ``exp_0`` (the embedding), and a Poincaré
    MLR head giving class logits.

    Parameters
    ----------
    in_channels : int
        image channels.
    num_classes : int
        classes (hyperplanes of the MLR head).
    channels : list of int
        width of each stage (paper: (8, 16, 32) and wider).
    blocks_per_stage : list of int
        residual blocks per stage ((3, 3, 3) is ResNet-20, (5, 5, 5) ResNet-32).
    c : float
        curvature parameter, fixed (the authors' default 0.1).
    head : {"mlr", "fc_log0"}
        ``"mlr"``: logits ``v_k(x)`` of the Poincaré MLR; ``"fc_log0"``: ``log_0(FC(x))`` as in the
        authors' code.
    init : {"identity", "hnnpp"}
        initialisation of every convolution (paper: identity).
    bn_running_stats : bool
        running statistics in the batch norms for eval mode (see ``poincare_batchnorm2d``).
    """

    input_type = "image"
    output_space = "poincare_ball"

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: list[int] | None = None,
        blocks_per_stage: list[int] | None = None,
        c: float = 0.1,
        head: str = "mlr",
        init: str = "identity",
        bn_running_stats: bool = False,
    ) -> None:
        super().__init__()
        channels = [8, 16, 32] if channels is None else channels
        blocks_per_stage = [3] * len(channels) if blocks_per_stage is None else blocks_per_stage
        ch, bl = _check_arch(in_channels, num_classes, channels, blocks_per_stage)
        if head not in _HEADS:
            raise ValueError(f"head must be one of {_HEADS}, got {head!r}")
        self.in_channels, self.num_classes, self.channels, self.blocks_per_stage = in_channels, num_classes, ch, bl
        self.c, self.head_kind = float(c), head
        self.input_ball = make_ball(in_channels, c)
        self.stem = PoincareConv2d(in_channels, ch[0], 3, stride=1, padding=1, c=c, init=init)
        self.stem_bn = PoincareBatchNorm2d(ch[0], c=c, track_running_stats=bn_running_stats)
        blocks: list[PoincareResidualBlock] = []
        width = ch[0]
        for i, (w, b) in enumerate(zip(ch, bl, strict=True)):
            for j in range(b):
                stride = 2 if (i > 0 and j == 0) else 1
                blocks.append(PoincareResidualBlock(width, w, stride, c, init, bn_running_stats))
                width = w
        self.blocks = nn.ModuleList(blocks)
        self.ball = make_ball(width, c)
        if head == "mlr":
            self.head = PoincareMLR(width, num_classes, c=c, init="identity")
        else:
            self.head = PoincareLinear(width, num_classes, c=c, init="identity")

    def _tangent_features(self, images: torch.Tensor) -> torch.Tensor:
        _check_images(images, self.in_channels)
        # pixels -> ball -> log_0 (= clipped identity on the pixel vectors)
        x = self.input_ball.expmap0(images, dim=1)
        u = self.input_ball.logmap0(x, dim=1)
        h = PoincareResidualBlock._bn(self.stem_bn, self.stem.forward_tangent(u))
        u = torch.relu(self.stem_bn.ball.logmap0(h, dim=1))
        x = self.stem_bn.ball.expmap0(u, dim=1)
        for block in self.blocks:
            x, u = block(x, u)
        return u.mean(dim=(2, 3))

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled representations: points on the Poincaré ball, shape ``(N, channels[-1])``."""
        return self.ball.expmap0(self._tangent_features(images), dim=-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)``."""
        z = self.embed(images)
        if self.head_kind == "mlr":
            return poincare_hyperplane_logits(z, self.head.weight, self.head.bias, self.head.ball)
        y = poincare_fc(z, self.head.weight, self.head.bias, self.head.ball)
        return self.head.ball.logmap0(y, dim=-1)


# ----------------------------------------------------------------------------- Euclidean twin
class _EuclideanBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = (
            nn.Conv2d(in_channels, out_channels, 1, stride=stride) if stride != 1 or in_channels != out_channels else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return torch.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class EuclideanResNet(Encoder):
    """The Euclidean ResNet with the same layout and widths as ``poincare_resnet`` (the paper's baseline).

    Parameters are those of ``poincare_resnet`` without the hyperbolic ones.
    """

    input_type = "image"
    output_space = "euclidean"

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        channels: list[int] | None = None,
        blocks_per_stage: list[int] | None = None,
    ) -> None:
        super().__init__()
        channels = [8, 16, 32] if channels is None else channels
        blocks_per_stage = [3] * len(channels) if blocks_per_stage is None else blocks_per_stage
        ch, bl = _check_arch(in_channels, num_classes, channels, blocks_per_stage)
        self.in_channels = in_channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, ch[0], 3, padding=1), nn.BatchNorm2d(ch[0]), nn.ReLU())
        blocks: list[nn.Module] = []
        width = ch[0]
        for i, (w, b) in enumerate(zip(ch, bl, strict=True)):
            for j in range(b):
                blocks.append(_EuclideanBlock(width, w, 2 if (i > 0 and j == 0) else 1))
                width = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(width, num_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Globally pooled features ``(N, channels[-1])``."""
        _check_images(images, self.in_channels)
        return self.blocks(self.stem(images)).mean(dim=(2, 3))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)``."""
        return self.fc(self.embed(images))
