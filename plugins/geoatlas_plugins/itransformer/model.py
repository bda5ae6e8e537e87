"""iTransformer (Liu et al., ICLR 2024): a Transformer encoder whose tokens are the variates.

Also the seasonal-naive forecaster and a synthetic coupled multichannel series, the baseline and
the data the forecasting pipelines of this plugin compare against.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Encoder
from geoatlas.validation import Dropout, NonNegativeFloat, Size, check_weights

#: the variance floor of the non-stationary normalisation (iTransformer's reference code)
NORM_EPS = 1e-5


def check_windows(x: torch.Tensor, name: str, input_length: int, n_channels: int | None) -> None:
    """Raise ``ValueError`` unless ``x`` is a batch of windows ``(B, input_length, C)``."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name}: x must be a torch.Tensor of windows (B, L, C), got {type(x).__name__}")
    if x.dim() != 3:
        raise ValueError(f"{name}: x must have shape (batch, input_length, n_channels), got {tuple(x.shape)}")
    if x.shape[1] != input_length:
        raise ValueError(f"{name}: x has windows of length {x.shape[1]}, expected input_length = {input_length}")
    if x.shape[2] == 0:
        raise ValueError(f"{name}: x has no channels (shape {tuple(x.shape)})")
    if n_channels is not None and x.shape[2] != n_channels:
        raise ValueError(f"{name}: x has {x.shape[2]} channels, expected n_channels = {n_channels}")


class InvertedEncoderLayer(nn.Module):
    """Post-norm Transformer layer over variate tokens ``(B, N, E)``: multi-head self-attention,
    then a position-wise feed-forward network (two 1x1 convolutions, i.e. two linear maps per
    token, GELU between), each with dropout, a residual connection and LayerNorm."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.q = nn.Linear(d_model, d_model)
        self.k = nn.Linear(d_model, d_model)
        self.v = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ff1 = nn.Linear(d_model, d_ff)
        self.ff2 = nn.Linear(d_ff, d_model)
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        # oneDNN's 1x1 convolution beats the matmul path on CPU at large widths (benchmark.py:
        # 512 x 2048 ratio 1.17 -> 1.01) and loses at small ones (64 x 128: 0.90 -> 1.18)
        self.ffn_conv = d_model * d_ff >= 2**18

    def attention(self, h: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        B, N, E = h.shape
        H = self.n_heads
        q, k, v = (proj(h).view(B, N, H, E // H).transpose(1, 2) for proj in (self.q, self.k, self.v))  # (B, H, N, d)
        if need_weights:
            w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(E // H), dim=-1)
            a = self.dropout(w) @ v
        else:
            w = None
            a = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout.p if self.training else 0.0)
        return self.out(a.transpose(1, 2).reshape(B, N, E)), w

    def forward(self, h: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        a, w = self.attention(h, need_weights)
        h = self.norm1(h + self.dropout(a))
        if self.ffn_conv:  # the same map as 1x1 convolutions over (B, E, N) with the Linear weights
            z = F.conv1d(h.transpose(1, 2), self.ff1.weight[:, :, None], self.ff1.bias)
            z = F.conv1d(self.dropout(F.gelu(z)), self.ff2.weight[:, :, None], self.ff2.bias).transpose(1, 2)
        else:
            z = self.ff2(self.dropout(F.gelu(self.ff1(h))))
        return self.norm2(h + self.dropout(z)), w


class ITransformer(Encoder):
    """iTransformer: each variate's whole look-back window is one token.

    For windows ``x`` of shape ``(B, L, N)`` (``L = input_length`` steps, ``N`` variates):

    1. (``use_norm``) each variate is normalised over its window, ``x <- (x - mu) / sigma`` with
       ``sigma = sqrt(Var(x) + 1e-5)`` (biased variance; ``mu`` is detached);
    2. each variate's series ``x[:, :, n]`` is embedded by one linear map ``R^L -> R^E`` (plus
       dropout): the tokens ``h_n``, with no positional encoding;
    3. ``e_layers`` post-norm Transformer layers attend over the ``N`` variate tokens
       (multi-head attention, GELU feed-forward of width ``d_ff``), then a LayerNorm;
    4. a linear map ``R^E -> R^S`` projects each token to its ``S = horizon`` future values,
       and the normalisation is undone, ``y = y * sigma + mu``.

    Output ``(B, horizon, N)``. Nothing depends on the order of the variates, so permuting the
    input channels permutes the output channels; ``n_channels`` only fixes the check of the
    input (``None`` accepts any number of variates, as in the paper's variate-generalisation
    experiment). Defaults are the reference ``run.py``'s (``d_model`` 512, 8 heads, 2 layers,
    ``d_ff`` 2048, dropout 0.1, normalisation on).

    Parameters
    ----------
    n_channels : int or None
        Number of variates ``N`` the input must have (``None``: any).
    input_length : int
        Look-back length ``L``.
    horizon : int
        Forecast length ``S``.
    d_model : int
        Token width ``E``.
    n_heads : int
        Attention heads (must divide ``d_model``).
    e_layers : int
        Number of encoder layers.
    d_ff : int
        Hidden width of the feed-forward network.
    dropout : float
        Dropout rate (embedding, attention weights, residual branches, feed-forward).
    use_norm : bool
        Non-stationary normalisation of each variate's window (and its inverse on the output).
    """

    input_type = "sequence"

    def __init__(
        self,
        n_channels: Size | None = None,
        input_length: Size = 96,
        horizon: Size = 96,
        d_model: Size = 512,
        n_heads: Size = 8,
        e_layers: Size = 2,
        d_ff: Size = 2048,
        dropout: Dropout = 0.1,
        use_norm: bool = True,
    ) -> None:
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"ITransformer: d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        if not isinstance(use_norm, (bool, np.bool_)):
            raise TypeError(f"ITransformer: use_norm must be true or false, got {use_norm!r}")
        check_weights("ITransformer", (input_length, d_model), (e_layers, 4 * d_model + 2 * d_ff, d_model), (d_model, horizon))
        self.n_channels = n_channels
        self.input_length, self.horizon = int(input_length), int(horizon)
        self.use_norm = bool(use_norm)
        self.embedding = nn.Linear(self.input_length, d_model)
        self.embed_dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList(InvertedEncoderLayer(d_model, n_heads, d_ff, dropout) for _ in range(e_layers))
        self.norm = nn.LayerNorm(d_model)
        self.projector = nn.Linear(d_model, self.horizon)

    def tokens(self, x: torch.Tensor, need_weights: bool = False) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
        """Encoded variate tokens ``(B, N, E)`` of normalised windows, and each layer's attention."""
        h = self.embed_dropout(self.embedding(x.transpose(1, 2)))
        maps = []
        for layer in self.layers:
            h, w = layer(h, need_weights)
            maps.append(w)
        return self.norm(h), maps

    def _normalise(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        if not self.use_norm:
            return x, None, None
        mu = x.mean(1, keepdim=True).detach()
        x = x - mu
        sigma = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + NORM_EPS)
        return x / sigma, mu, sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_windows(x, "ITransformer", self.input_length, self.n_channels)
        x = x.to(self.embedding.weight.dtype)
        z, mu, sigma = self._normalise(x)
        h, _ = self.tokens(z)
        y = self.projector(h).transpose(1, 2)  # (B, S, N)
        if self.use_norm:
            y = y * sigma + mu
        return y

    @torch.no_grad()
    def attention_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's attention over the variates, ``(B, n_heads, N, N)`` (rows sum to 1)."""
        check_windows(x, "ITransformer", self.input_length, self.n_channels)
        z, _, _ = self._normalise(x.to(self.embedding.weight.dtype))
        return [w for w in self.tokens(z, need_weights=True)[1] if w is not None]


class SeasonalNaive(Encoder):
    """Seasonal-naive forecast: repeat the last observed season.

    ``y[:, h, c] = x[:, L - m + (h mod m), c]`` for ``h = 0 .. horizon - 1`` with season length
    ``m = season`` (``m <= input_length``); ``season=1`` is the last-value (naive) forecast. No
    trainable parameters: train it for one epoch (training does nothing). Output
    ``(B, horizon, C)``.

    Parameters
    ----------
    input_length : int
        Look-back length ``L`` (filled by the forecasting task).
    horizon : int
        Forecast length.
    season : int
        Season length ``m`` in steps (e.g. 52 for weekly data with a yearly cycle).
    n_channels : int or None
        Number of channels the input must have (``None``: any; filled by the task).
    """

    input_type = "sequence"

    def __init__(self, input_length: Size = 96, horizon: Size = 24, season: Size = 24, n_channels: Size | None = None) -> None:
        super().__init__()
        if season > input_length:
            raise ValueError(f"SeasonalNaive: season ({season}) must not exceed input_length ({input_length})")
        self.input_length, self.horizon, self.season, self.n_channels = int(input_length), int(horizon), int(season), n_channels
        self.register_buffer("index", torch.tensor([input_length - season + h % season for h in range(horizon)]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_windows(x, "SeasonalNaive", self.input_length, self.n_channels)
        return x[:, self.index, :]


class CoupledSeries(Dataset):
    """A synthetic multichannel series whose channels are lagged mixtures of shared drivers.

    Three latent drivers: ``d_1(t) = sin(2 pi t / 24)``, ``d_2(t) = sin(2 pi t / 60)`` (known
    periods) and an AR(2) process ``d_3(t) = 1.6 d_3(t-1) - 0.68 d_3(t-2) + e(t)`` (standardised;
    not periodic, so it can only be forecast from the present values of the channels). Channel
    ``c`` is

    .. math:: x_c(t) = \\sum_j w_{c,j}\\, d_j(t - \\ell_c) + \\text{noise} \\cdot \\varepsilon_c(t)

    with mixing weights ``w ~ N(0, 1)`` and lags ``ell_c`` drawn from ``{0, ..., max_lag}``: the
    channels with larger lags are led by those with smaller lags, so the other channels carry
    information about a channel's future that its own past does not (cross-channel coupling).
    ``meta`` holds the periods, weights and lags.

    Parameters
    ----------
    n_channels : int
        Number of channels ``N``.
    length : int
        Number of time steps ``T``.
    max_lag : int
        Largest lag of a channel behind the drivers.
    noise : float
        Standard deviation of the per-channel Gaussian noise.
    seed : int
        Seed of the weights, lags, AR innovations and noise.
    """

    data_type = "series"
    task = "forecasting"

    def __init__(self, n_channels: Size = 16, length: Size = 4000, max_lag: Size = 12, noise: NonNegativeFloat = 0.1,
                 seed: int = 0) -> None:
        if length <= max_lag + 2:
            raise ValueError(f"CoupledSeries: length ({length}) must exceed max_lag + 2 ({max_lag + 2})")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"CoupledSeries: seed must be a non-negative integer, got {seed!r}")
        self.n_channels, self.length, self.max_lag, self.noise, self.seed = n_channels, length, max_lag, noise, int(seed)

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        N, T, lmax = self.n_channels, self.length, self.max_lag
        n = T + lmax
        t = np.arange(n, dtype=np.float64)
        ar = np.zeros(n)
        e = rng.standard_normal(n)
        for i in range(2, n):
            ar[i] = 1.6 * ar[i - 1] - 0.68 * ar[i - 2] + e[i]
        ar = (ar - ar.mean()) / ar.std()
        drivers = np.stack([np.sin(2 * np.pi * t / 24), np.sin(2 * np.pi * t / 60), ar], 1)  # (n, 3)
        w = rng.standard_normal((N, 3))
        lags = rng.integers(0, lmax + 1, size=N)
        X = np.empty((T, N))
        for c in range(N):
            X[:, c] = drivers[lmax - lags[c] : lmax - lags[c] + T] @ w[c]
        X += self.noise * rng.standard_normal((T, N))
        meta = {"channels": [f"x{c}" for c in range(N)], "periods": [24, 60], "weights": w.tolist(),
                "lags": lags.tolist(), "ar": [1.6, -0.68], "noise": self.noise}
        return DataBundle(X, None, "series", "forecasting", meta)

