"""TimesNet (Wu et al., ICLR 2023): temporal 2-D variation modelling for forecasting.

The series is split into its dominant periods (FFT), each period folds the 1-D sequence into a
2-D array (rows: cycles, columns: phase), a parameter-efficient Inception block of 2-D
convolutions models intra- and inter-period variation, and the branches are aggregated with
softmax weights from the FFT amplitudes.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder, Measure
from geoatlas.validation import Dropout, Size, check_weights

#: the variance floor of the non-stationary normalisation (reference code)
NORM_EPS = 1e-5


def fft_periods(x: torch.Tensor, k: int) -> tuple[np.ndarray, torch.Tensor, np.ndarray]:
    """The ``k`` dominant periods of a batch of sequences ``x (B, T, C)``.

    The amplitude spectrum ``|rfft(x)|`` along time is averaged over the batch and the
    channels; the zero frequency is ignored; the ``k`` largest frequencies ``f_i`` give the
    periods ``p_i = T // f_i`` (floor, as the paper's code). Returns the periods ``(k,)``, the
    per-sample weights ``A[b, i] = mean_c |X_f[b, f_i, c]|`` ``(B, k)`` and the frequencies.
    """
    T = x.shape[1]
    if not 1 <= k <= T // 2:
        raise ValueError(f"fft_periods: k must be between 1 and T // 2 = {T // 2} for sequences of {T} steps, got {k}")
    amp = torch.fft.rfft(x, dim=1).abs()  # (B, T//2 + 1, C)
    spectrum = amp.mean(dim=(0, 2))
    spectrum[0] = 0.0
    freqs = torch.topk(spectrum, k).indices.detach().cpu().numpy()
    if (freqs == 0).any():  # a flat spectrum: fewer than k non-zero frequencies carry energy
        freqs = np.where(freqs == 0, 1, freqs)
    return T // freqs, amp.mean(-1)[:, freqs], freqs


class InceptionBlock(nn.Module):
    """Parallel 2-D convolutions with kernels ``1, 3, ..., 2 n - 1`` (same padding), averaged."""

    def __init__(self, in_channels: int, out_channels: int, num_kernels: int) -> None:
        super().__init__()
        self.kernels = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 2 * i + 1, padding=i) for i in range(num_kernels))
        for conv in self.kernels:  # Kaiming-normal (fan_out, ReLU) weights, zero biases, as the reference
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.kernels[0](x)
        for conv in self.kernels[1:]:
            out = out + conv(x)
        return out / len(self.kernels)


class TimesBlock(nn.Module):
    """One TimesBlock on ``(B, T, d_model)``: for each of the ``k`` FFT periods ``p``, zero-pad
    time to a multiple of ``p``, fold to ``(B, d_model, ceil(T / p), p)``, apply Inception ->
    GELU -> Inception (shared by the periods), unfold and cut to ``T``; sum the branches with
    ``softmax`` of the per-sample amplitudes; add the input (residual)."""

    def __init__(self, d_model: int, d_ff: int, top_k: int, num_kernels: int, fixed_periods: list[int] | None = None) -> None:
        super().__init__()
        self.k = top_k
        self.fixed_periods = fixed_periods
        self.conv = nn.Sequential(InceptionBlock(d_model, d_ff, num_kernels), nn.GELU(), InceptionBlock(d_ff, d_model, num_kernels))

    def fold(self, x: torch.Tensor, period: int) -> torch.Tensor:
        """``(B, T, C)`` -> ``(B, C, rows, period)``, zero-padded at the end."""
        B, T, C = x.shape
        rows = -(-T // period)
        if rows * period != T:
            x = torch.cat([x, x.new_zeros(B, rows * period - T, C)], dim=1)
        return x.reshape(B, rows, period, C).permute(0, 3, 1, 2)

    @staticmethod
    def unfold(z: torch.Tensor, T: int) -> torch.Tensor:
        """Inverse of :meth:`fold`: ``(B, C, rows, period)`` -> ``(B, T, C)``."""
        B, C = z.shape[:2]
        return z.permute(0, 2, 3, 1).reshape(B, -1, C)[:, :T]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        T = x.shape[1]
        if self.fixed_periods is None:
            periods, weights, _ = fft_periods(x, self.k)
        else:  # the ablation: given periods, weighted by the amplitude at frequency T // p
            periods = np.asarray(self.fixed_periods)
            freqs = np.clip(T // periods, 1, T // 2)
            weights = torch.fft.rfft(x, dim=1).abs().mean(-1)[:, freqs]
        branches = torch.stack([self.unfold(self.conv(self.fold(x, int(p))), T) for p in periods], dim=-1)  # (B, T, C, k)
        w = torch.softmax(weights, dim=1)[:, None, None, :]
        return (branches * w).sum(-1) + x


def sinusoidal_positions(length: int, d_model: int) -> torch.Tensor:
    """Transformer positional encodings ``PE[t, 2i] = sin(t / 10000^(2i/d))``, ``PE[t, 2i+1] = cos(...)``."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(10000.0) / d_model))
    pe = torch.zeros(length, d_model)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div)[:, : d_model // 2]
    return pe


class TimesNet(Encoder):
    """TimesNet for multivariate forecasting: ``(B, input_length, C) -> (B, horizon, C)``.

    1. (``use_norm``) each channel is normalised over its window (mean, biased std + 1e-5);
    2. embedding: a circular 1-D convolution (kernel 3, no bias) from the ``C`` channels to
       ``d_model`` plus sinusoidal positional encodings, dropout;
    3. a linear map along time ``L -> L + H`` (``predict_linear``) aligns the sequence with the
       forecast window;
    4. ``e_layers`` x (``TimesBlock`` -> LayerNorm, one LayerNorm shared by the layers);
    5. a linear map ``d_model -> C``, the normalisation undone, the last ``H`` steps returned.

    The periods of each TimesBlock are chosen from the amplitude spectrum **averaged over the
    batch** (as the reference code), so a window's forecast can depend on the other windows of
    its batch; call it on one window for a batch-independent forecast.

    Parameters
    ----------
    n_channels : int
        Number of channels ``C`` (input and output).
    input_length : int
        Look-back length ``L``.
    horizon : int
        Forecast length ``H``.
    d_model : int
        Embedding width.
    d_ff : int
        Width inside the Inception blocks.
    top_k : int
        Number of periods ``k`` (at most ``(L + H) // 2``).
    num_kernels : int
        Kernels per Inception block (sizes 1, 3, ..., ``2 num_kernels - 1``).
    e_layers : int
        Number of TimesBlocks.
    dropout : float
        Dropout after the embedding.
    use_norm : bool
        Non-stationary normalisation of each window (and its inverse).
    fixed_periods : list of int, optional
        Not the paper's method: use these periods instead of the FFT's (an ablation;
        ``[1]`` removes the 2-D folding, the Inception kernels then act as 1-D convolutions
        along time).
    """

    input_type = "sequence"

    def __init__(
        self,
        n_channels: Size = 1,
        input_length: Size = 96,
        horizon: Size = 96,
        d_model: Size = 64,
        d_ff: Size = 64,
        top_k: Size = 5,
        num_kernels: Size = 6,
        e_layers: Size = 2,
        dropout: Dropout = 0.1,
        use_norm: bool = True,
        fixed_periods: list[int] | None = None,
    ) -> None:
        super().__init__()
        if fixed_periods is not None:
            if not isinstance(fixed_periods, (list, tuple)) or not fixed_periods or any(
                    isinstance(p, bool) or not isinstance(p, (int, np.integer)) or not 1 <= p <= input_length + horizon for p in fixed_periods):
                raise ValueError(f"TimesNet: fixed_periods must be a non-empty list of integers in [1, input_length + horizon], got {fixed_periods!r}")
            fixed_periods = [int(p) for p in fixed_periods]
        if top_k > (input_length + horizon) // 2:
            raise ValueError(f"TimesNet: top_k ({top_k}) must be at most (input_length + horizon) // 2 = {(input_length + horizon) // 2}")
        if not isinstance(use_norm, (bool, np.bool_)):
            raise TypeError(f"TimesNet: use_norm must be true or false, got {use_norm!r}")
        kk = sum((2 * i + 1) ** 2 for i in range(num_kernels))
        check_weights("TimesNet", (input_length, input_length + horizon), (e_layers, 2, d_model, d_ff, kk))
        self.n_channels, self.input_length, self.horizon = int(n_channels), int(input_length), int(horizon)
        self.use_norm = bool(use_norm)
        self.token = nn.Conv1d(self.n_channels, d_model, 3, padding=1, padding_mode="circular", bias=False)
        nn.init.kaiming_normal_(self.token.weight, mode="fan_in", nonlinearity="leaky_relu")
        self.register_buffer("positions", sinusoidal_positions(self.input_length, d_model), persistent=False)
        self.dropout = nn.Dropout(dropout)
        self.predict_linear = nn.Linear(self.input_length, self.input_length + self.horizon)
        self.blocks = nn.ModuleList(TimesBlock(d_model, d_ff, top_k, num_kernels, fixed_periods) for _ in range(e_layers))
        self.layer_norm = nn.LayerNorm(d_model)
        self.projection = nn.Linear(d_model, self.n_channels)

    def _check(self, x: Any) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"TimesNet: x must be a torch.Tensor of windows (B, L, C), got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"TimesNet: x must have shape (batch, input_length, n_channels), got {tuple(x.shape)}")
        if x.shape[1] != self.input_length:
            raise ValueError(f"TimesNet: x has windows of length {x.shape[1]}, expected input_length = {self.input_length}")
        if x.shape[2] != self.n_channels:
            raise ValueError(f"TimesNet: x has {x.shape[2]} channels, expected n_channels = {self.n_channels}")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Token (circular conv) + positional embedding, dropout: ``(B, L, C) -> (B, L, d_model)``."""
        return self.dropout(self.token(x.transpose(1, 2)).transpose(1, 2) + self.positions)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x.to(self.predict_linear.weight.dtype)
        if self.use_norm:
            mu = x.mean(1, keepdim=True).detach()
            x = x - mu
            sigma = torch.sqrt(x.var(1, keepdim=True, unbiased=False) + NORM_EPS)
            x = x / sigma
        h = self.predict_linear(self.embed(x).transpose(1, 2)).transpose(1, 2)  # (B, L + H, d_model)
        for block in self.blocks:
            h = self.layer_norm(block(h))
        y = self.projection(h)[:, -self.horizon :]
        if self.use_norm:
            y = y * sigma + mu
        return y


class FFTPeriods(Measure):
    """The dominant periods of a series by TimesNet's FFT rule (``period = T // f``).

    ``data["X"]`` is one series ``(T,)`` / ``(T, C)`` or a batch of windows ``(B, T, C)``; the
    amplitude spectrum is averaged over the batch and channels, the zero frequency ignored.
    Returns ``periods`` and ``frequencies`` (``k`` each, strongest first) and ``amplitudes``
    (the averaged spectrum at those frequencies).

    Parameters
    ----------
    k : int
        Number of periods.
    demean : bool
        Subtract each channel's mean first (the zero frequency is ignored anyway; this only
        matters for numerical leakage of a large offset).
    """

    def __init__(self, k: Size = 5, demean: bool = True) -> None:
        self.k, self.demean = int(k), bool(demean)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if not isinstance(data, dict) or "X" not in data:
            raise ValueError("fft_periods: data must be a dict with the series under 'X'")
        x = torch.as_tensor(np.asarray(data["X"], dtype=np.float64))
        if x.dim() == 1:
            x = x[None, :, None]
        elif x.dim() == 2:
            x = x[None]
        if x.dim() != 3 or x.numel() == 0:
            raise ValueError(f"fft_periods: X must be (T,), (T, C) or (B, T, C) and non-empty, got shape {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("fft_periods: X contains NaN or Inf values")
        if self.demean:
            x = x - x.mean(1, keepdim=True)
        periods, _, freqs = fft_periods(x, self.k)
        spectrum = torch.fft.rfft(x, dim=1).abs().mean(dim=(0, 2))
        return {"periods": [int(p) for p in periods], "frequencies": [int(f) for f in freqs],
                "amplitudes": [float(spectrum[f]) for f in freqs], "length": int(x.shape[1])}
