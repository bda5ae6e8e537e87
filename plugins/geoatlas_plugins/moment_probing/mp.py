"""Moment Probing (MP): a linear classifier on first- and second-order moments of frozen tokens.

Gao, Wang, Lin, Zhu, Hu, Zhou, *Tuning Pre-trained Model via Moment Probing* (ICCV 2023).

Linear probing (LP) classifies the mean token (or the class token) of a frozen backbone. MP
classifies the feature *distribution*, approximated by its first two moments:

* first order: ``logits_1 = W_1 mu + b_1`` with ``mu`` the mean token (or class token);
* second order, by multi-head convolutional cross-covariance (MHC^3): tokens are projected
  ``Z = X P`` (``D -> hidden_dim``), split into ``H`` heads ``Z^(h)`` of ``d = hidden_dim / H``
  channels, layer-normalised (one LayerNorm shared by the heads), and cross-covariances between
  pairs of heads are taken over the ``T`` tokens,
  ``S^(h,g) = (Z~^(h))^T Z~^(g) / T`` (``d x d``, ``Z~`` centred), each L2-normalised column-wise;
  the stacked pair matrices (channels) are compressed by two 3x3 stride-2 convolutions with a GELU
  in between, flattened, and classified: ``logits_2 = W_2 vec(conv(S)) + b_2``;
* ``logits = (logits_1 + logits_2) / 2``.

The pairs follow the reference implementation's ``cross_type``: ``"near"`` (h, h+1),
``"n/2"`` (h, h + H/2), ``"one"`` (0, h), ``"cn2"`` (all pairs).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Encoder

__all__ = ["MomentProbingHead", "DigitPatchTokens", "head_pairs", "cross_covariance"]

CROSS_TYPES = ("near", "n/2", "one", "cn2")


def head_pairs(num_heads: int, cross_type: str) -> list[tuple[int, int]]:
    """Pairs of heads whose cross-covariances are used."""
    if cross_type == "near":
        return [(h, h + 1) for h in range(num_heads - 1)]
    if cross_type == "n/2":
        if num_heads % 2:
            raise ValueError(f"cross_type 'n/2' needs an even num_heads, got {num_heads}")
        return [(h, h + num_heads // 2) for h in range(num_heads // 2)]
    if cross_type == "one":
        return [(0, h) for h in range(1, num_heads)]
    if cross_type == "cn2":
        return list(combinations(range(num_heads), 2))
    raise ValueError(f"cross_type must be one of {CROSS_TYPES}, got {cross_type!r}")


def cross_covariance(a: torch.Tensor, b: torch.Tensor, centering: str = "global") -> torch.Tensor:
    """Cross-covariance over tokens of ``a`` (B, T, d1) and ``b`` (B, T, d2) -> (B, d1, d2).

    ``centering="global"`` subtracts each sample's scalar mean over all tokens and channels (what
    the reference implementation's ``adaptive_avg_pool2d`` does); ``"channel"`` subtracts the
    per-channel token mean (the textbook cross-covariance, equal to ``torch.cov`` blocks with
    ``correction=0``).
    """
    if centering == "global":
        a = a - a.mean(dim=(1, 2), keepdim=True)
        b = b - b.mean(dim=(1, 2), keepdim=True)
    elif centering == "channel":
        a = a - a.mean(dim=1, keepdim=True)
        b = b - b.mean(dim=1, keepdim=True)
    else:
        raise ValueError(f"centering must be 'global' or 'channel', got {centering!r}")
    return a.transpose(1, 2) @ b / a.shape[1]


def _conv_out(n: int) -> int:
    return (n - 3) // 2 + 1


class MomentProbingHead(Encoder):
    """Moment-probing classification head on frozen token features ``(N, T, D)``.

    Parameters
    ----------
    in_features : int
        Token dimension ``D`` (filled by pipelines from the data).
    num_classes : int
        Number of classes.
    hidden_dim : int
        Projection width before splitting into heads (paper/reference: 512).
    num_heads : int
        Number of heads ``H`` (reference: 4).
    cross_type : {"near", "n/2", "one", "cn2"}
        Which head pairs to cross-correlate (reference default ``"near"``).
    first_order : {"cls", "mean"}
        First-order representation. ``"cls"`` (default, the paper's ViT protocol and the reference
        ``Moment_Probing_ViT`` head): the first token is a class token, classified by the first
        branch and excluded from the second-order branch; the head is then invariant to
        permutations of the other tokens only. ``"mean"``: the mean over all tokens (for
        backbones without a class token), and all tokens enter the second-order branch; the head
        is then invariant to all token permutations.
    second_order : bool
        ``False`` gives exactly linear probing (only ``logits_1``).
    centering : {"global", "channel"}
        Centring in the covariance (see :func:`cross_covariance`; ``"global"`` is the reference's).
    l2_normalize : bool
        Column-wise L2 normalisation of each cross-covariance (reference: on).
    """

    input_type: ClassVar[str] = "sequence"
    output_space: ClassVar[str] = "euclidean"
    #: per instance: ``("permutations",)`` with ``first_order="mean"``, ``()`` with ``"cls"``
    invariant_to: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden_dim: int = 512,
        num_heads: int = 4,
        cross_type: str = "near",
        first_order: str = "cls",
        second_order: bool = True,
        centering: str = "global",
        l2_normalize: bool = True,
    ) -> None:
        super().__init__()
        for k, v in dict(in_features=in_features, num_classes=num_classes, hidden_dim=hidden_dim).items():
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive integer, got {v!r}")
        if not isinstance(num_heads, int) or num_heads < 2:
            raise ValueError(f"num_heads must be an integer >= 2, got {num_heads!r}")
        if hidden_dim % num_heads:
            raise ValueError(f"hidden_dim ({hidden_dim}) must be divisible by num_heads ({num_heads})")
        if first_order not in ("mean", "cls"):
            raise ValueError(f"first_order must be 'mean' or 'cls', got {first_order!r}")
        if centering not in ("global", "channel"):
            raise ValueError(f"centering must be 'global' or 'channel', got {centering!r}")
        self.pairs = head_pairs(num_heads, cross_type)
        d = hidden_dim // num_heads
        if second_order and d < 7:
            raise ValueError(f"hidden_dim / num_heads = {d} is too small for the two 3x3 stride-2 convolutions (need >= 7)")
        self.in_features = in_features
        self.num_classes = num_classes
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.cross_type = cross_type
        self.first_order = first_order
        # the declared symmetry depends on the first-order mode (a class token is not exchangeable)
        self.invariant_to = ("permutations",) if first_order == "mean" else ()  # type: ignore[misc]
        self.second_order = bool(second_order)
        self.centering = centering
        self.l2_normalize = bool(l2_normalize)
        self.classifier1 = nn.Linear(in_features, num_classes)
        if self.second_order:
            P = len(self.pairs)
            self.proj = nn.Linear(in_features, hidden_dim)
            self.ln = nn.LayerNorm(d)
            self.down = nn.Sequential(
                nn.Conv2d(P, P, kernel_size=3, stride=2, padding=0, bias=False),
                nn.GELU(),
                nn.Conv2d(P, P, kernel_size=3, stride=2, padding=0, bias=False),
            )
            s = _conv_out(_conv_out(d))
            self.second_order_dim = P * s * s
            self.classifier2 = nn.Linear(self.second_order_dim, num_classes)

    def _check(self, x: Any) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x), dtype=torch.get_default_dtype())
        if x.dim() != 3:
            raise ValueError(f"x must have shape (batch, tokens, features), got {tuple(x.shape)}")
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features per token, expected in_features={self.in_features}")
        min_tokens = 2 if self.first_order == "cls" else 1
        if x.shape[1] < min_tokens:
            raise ValueError(f"x needs at least {min_tokens} tokens, got {x.shape[1]}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        return x.to(self.classifier1.weight.dtype)

    def first_moment(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0] if self.first_order == "cls" else x.mean(dim=1)

    def second_moment(self, x: torch.Tensor) -> torch.Tensor:
        """Stacked (normalised) cross-covariance matrices, shape ``(B, n_pairs, d, d)``."""
        tokens = x[:, 1:] if self.first_order == "cls" else x
        z = self.proj(tokens)
        B, T, _ = z.shape
        heads = z.reshape(B, T, self.num_heads, self.hidden_dim // self.num_heads)
        covs = []
        for h, g in self.pairs:
            c = cross_covariance(self.ln(heads[:, :, h]), self.ln(heads[:, :, g]), self.centering)
            if self.l2_normalize:
                c = nn.functional.normalize(c, dim=1)  # column-wise, as normalize(dim=2) on (B,1,d,d)
            covs.append(c)
        return torch.stack(covs, dim=1)

    def forward(self, x: Any) -> torch.Tensor:
        x = self._check(x)
        logits1 = self.classifier1(self.first_moment(x))
        if not self.second_order:
            return logits1
        s = self.down(self.second_moment(x)).flatten(1)
        return (logits1 + self.classifier2(s)) / 2

    def embed(self, x: Any) -> torch.Tensor:
        """The first-order and compressed second-order representation, concatenated."""
        x = self._check(x)
        parts = [self.first_moment(x)]
        if self.second_order:
            parts.append(self.down(self.second_moment(x)).flatten(1))
        return torch.cat(parts, dim=1)


class DigitPatchTokens(Dataset):
    """scikit-learn digits as token sequences from a *frozen* random patch embedding.

    Each 8x8 image is cut into non-overlapping ``patch x patch`` patches (``T = (8/patch)^2``
    tokens); token ``t`` is ``tanh(W p_t + e_t)`` with a fixed random projection ``W``
    (``patch^2 -> dim``) and a fixed random positional code ``e_t`` (both drawn from ``seed``):
    a stand-in for the frozen tokens of a pre-trained backbone (no weights are downloaded).

    With ``class_token=True`` (default) a token 0 is prepended that summarises the patch tokens:
    their average (the global-average-pool token that ViTs without a learned class token
    classify). It stands in for the class token of the paper's ViT protocol, so the head's
    default ``first_order="cls"`` reads it and the second-order branch sees only the patches.
    """

    data_type: ClassVar[str] = "sequence"
    task: ClassVar[str] = "classification"

    def __init__(
        self, patch: int = 2, dim: int = 32, n_samples: int | None = None, seed: int = 0, class_token: bool = True
    ) -> None:
        if patch not in (1, 2, 4):
            raise ValueError(f"patch must be 1, 2 or 4 (divides 8), got {patch!r}")
        if not isinstance(dim, int) or dim < 1:
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if n_samples is not None and (not isinstance(n_samples, int) or n_samples < 1):
            raise ValueError(f"n_samples must be a positive integer or None, got {n_samples!r}")
        self.patch = patch
        self.dim = dim
        self.n_samples = n_samples
        if not isinstance(class_token, bool):
            raise ValueError(f"class_token must be true or false, got {class_token!r}")
        self.seed = seed
        self.class_token = class_token

    def load(self) -> DataBundle:
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
        if self.n_samples is not None:
            X, y = X[: self.n_samples], y[: self.n_samples]
        k = self.patch
        imgs = X.reshape(-1, 8 // k, k, 8 // k, k).transpose(0, 1, 3, 2, 4).reshape(len(X), -1, k * k) / 16.0
        rng = np.random.default_rng(self.seed)
        W = rng.normal(size=(k * k, self.dim)) * (2.0 / k)
        pos = rng.normal(size=(imgs.shape[1], self.dim)) * 0.5
        tokens = np.tanh(imgs @ W + pos)
        if self.class_token:
            tokens = np.concatenate([tokens.mean(axis=1, keepdims=True), tokens], axis=1)
        tokens = tokens.astype(np.float32)
        return DataBundle(X=tokens, y=y, data_type="sequence", task="classification", meta={"n_classes": 10})
