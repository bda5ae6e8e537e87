"""The "Linear" forecasting baseline of Zeng et al. (AAAI 2023)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


class LinearForecaster(Encoder):
    """One linear map along time from the input window to the horizon, per channel.

    The "Linear" model of Zeng, Chen, Zhang and Xu, "Are Transformers Effective for Time Series
    Forecasting?" (AAAI 2023): for an input ``x`` of shape ``(B, L, C)``, channel ``c`` is
    forecast as ``y[:, :, c] = x[:, :, c] @ W_c^T + b_c`` with ``W_c`` of shape ``(H, L)``.
    With ``individual=False`` (the default) one ``W, b`` is shared by all channels; with
    ``individual=True`` each channel has its own (then ``n_channels`` must match the data).
    Output shape ``(B, H, C)``. The forecasting task fills ``input_length``, ``horizon`` and
    ``n_channels``; the defaults match the task's.

    :meth:`fit_least_squares` sets the weights to the closed-form (ridge) least-squares
    solution on given windows, a training-free fit.

    Parameters
    ----------
    input_length : int
        Input window length ``L``.
    horizon : int
        Forecast length ``H``.
    n_channels : int
        Number of channels ``C`` (used when ``individual``).
    individual : bool
        One linear map per channel instead of one shared map.
    """

    input_type = "sequence"

    def __init__(self, input_length: int = 96, horizon: int = 24, n_channels: int = 1, individual: bool = False) -> None:
        super().__init__()
        self.input_length = _positive_int("input_length", input_length)
        self.horizon = _positive_int("horizon", horizon)
        self.n_channels = _positive_int("n_channels", n_channels)
        if not isinstance(individual, (bool, np.bool_)):
            raise TypeError(f"individual must be true or false, got {individual!r}")
        self.individual = bool(individual)
        k = self.n_channels if self.individual else 1
        bound = 1.0 / np.sqrt(self.input_length)  # nn.Linear's default initialisation
        self.weight = nn.Parameter(torch.empty(k, self.horizon, self.input_length).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(k, self.horizon).uniform_(-bound, bound))

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3:
            raise ValueError(f"LinearForecaster expects windows (B, L, C), got shape {tuple(x.shape)}")
        if x.shape[1] != self.input_length:
            raise ValueError(f"LinearForecaster expects input_length {self.input_length}, got windows of length {x.shape[1]}")
        if self.individual and x.shape[2] != self.n_channels:
            raise ValueError(f"LinearForecaster(individual=True) has {self.n_channels} channels, got {x.shape[2]}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x.to(self.weight.dtype)
        if self.individual:  # (C, B, L) @ (C, L, H) -> (C, B, H)
            out = x.permute(2, 0, 1) @ self.weight.transpose(1, 2) + self.bias[:, None, :]
            return out.permute(1, 2, 0)
        return (x.transpose(1, 2) @ self.weight[0].T + self.bias[0]).transpose(1, 2)  # (B, C, L) @ (L, H)

    @torch.no_grad()
    def fit_least_squares(self, X: Any, y: Any, ridge: float = 0.0) -> LinearForecaster:
        """Set ``W, b`` to the least-squares solution on windows ``X (N, L, C)``, ``y (N, H, C)``
        (shared: all channels' windows pooled; individual: per channel); ``ridge`` adds
        ``ridge * ||W||^2`` (the bias is not penalised). Rank-deficient problems get the minimum-norm solution.
        Returns ``self``."""
        if not np.isfinite(ridge) or ridge < 0:
            raise ValueError(f"ridge must be a finite number >= 0, got {ridge}")
        X = torch.as_tensor(np.asarray(X), dtype=torch.float64)
        if not torch.isfinite(X).all() or not torch.isfinite(torch.as_tensor(np.asarray(y), dtype=torch.float64)).all():
            raise ValueError("X and y must be finite (no NaN or Inf)")
        y = torch.as_tensor(np.asarray(y), dtype=torch.float64)
        self._check(X)
        if y.shape != (X.shape[0], self.horizon, X.shape[2]):
            raise ValueError(f"y must have shape (N, {self.horizon}, C) = {(X.shape[0], self.horizon, X.shape[2])}, got {tuple(y.shape)}")
        groups = [(X[:, :, c], y[:, :, c]) for c in range(X.shape[2])] if self.individual else \
            [(X.permute(0, 2, 1).reshape(-1, self.input_length), y.permute(0, 2, 1).reshape(-1, self.horizon))]
        for k, (A, Y) in enumerate(groups):
            A1 = torch.cat([A, torch.ones(len(A), 1, dtype=A.dtype)], 1)
            if ridge:  # rows sqrt(ridge) * [I 0] with zero targets: the ridge penalty on W only
                pen = torch.cat([torch.eye(self.input_length, dtype=A.dtype), torch.zeros(self.input_length, 1, dtype=A.dtype)], 1)
                A1 = torch.cat([A1, float(np.sqrt(ridge)) * pen])
                Y = torch.cat([Y, torch.zeros(self.input_length, Y.shape[1], dtype=Y.dtype)])
            sol = torch.linalg.lstsq(A1, Y, driver="gelsd").solution  # (L + 1, H), minimum norm if rank-deficient
            self.weight[k] = sol[: self.input_length].T.to(self.weight.dtype)
            self.bias[k] = sol[self.input_length].to(self.bias.dtype)
        return self
