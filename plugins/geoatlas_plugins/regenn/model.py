"""ReGENN, the Recurrent Graph Evolution Neural Network (Spadon et al., TPAMI 2021).

Re-implemented from the paper's description (and the project's notes on it); the authors' code
is GPL-3.0 and was not used. The "graph" is not a graph convolution: a value-weighted
co-occurrence matrix of the variables, transformed by a learned linear map, gives a cosine
similarity matrix that (scaled and shifted elementwise by learned weights) mixes the variables;
recurrent gates model time and the variable sequence; a linear autoregressive highway is added.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import DataBundle, Dataset, Encoder
from geoatlas.validation import Dropout, NonNegativeFloat, Size

#: the norm floor of the row-wise cosine similarity
COS_EPS = 1e-12


# ---------------------------------------------------------------------------- co-occurrence
def cooccurrence(x: torch.Tensor) -> torch.Tensor:
    """Value-weighted co-occurrence of the variables of ``x (S, W, V)`` (vectorised).

    ``A[b, c] = sum_{s,t} x[s,t,b] * 1[x[s,t,c] > 0]``: how much of variable ``b`` is observed
    while ``c`` is present; then the diagonal becomes ``max(2 A[b,b] - sum_c A[b,c], 0)`` (a
    variable's own weight is what it has beyond its co-occurrences). Shape ``(V, V)``.
    """
    raw = torch.einsum("stb,stc->bc", x, (x > 0).to(x.dtype))
    return _fix_diagonal(raw)


def cooccurrence_loop(x: torch.Tensor) -> torch.Tensor:
    """The same matrix as :func:`cooccurrence` by explicit loops (the reference for the tests)."""
    S, W, V = x.shape
    raw = torch.zeros(V, V, dtype=x.dtype)
    for s in range(S):
        for t in range(W):
            for b in range(V):
                for c in range(V):
                    if x[s, t, c] > 0:
                        raw[b, c] += x[s, t, b]
    return _fix_diagonal(raw)


def _fix_diagonal(raw: torch.Tensor) -> torch.Tensor:
    diag = torch.clamp(2 * torch.diagonal(raw) - raw.sum(1), min=0)
    return raw - torch.diag(torch.diagonal(raw)) + torch.diag(diag)


def row_cosine(a: torch.Tensor) -> torch.Tensor:
    """``C[i, j] = <a_i, a_j> / (max(|a_i|, eps) max(|a_j|, eps))`` for the rows of ``a``."""
    n = a.norm(dim=1, keepdim=True).clamp_min(COS_EPS)
    u = a / n
    return u @ u.T


# ---------------------------------------------------------------------------- layers
class GraphSoftEvolution(nn.Module):
    """The Graph Soft Evolution (GSE) layer.

    Given an adjacency ``A (V, V)``: ``Ahat = A W_adj + b_adj`` (``b_adj`` one value per row),
    ``C = rowcos(Ahat)``, ``M = C * W_cos + B_cos`` (elementwise), and each time step's variables
    are mixed, ``y[s, t, :] = M x[s, t, :]``; then dropout, and (``time_in``/``time_out``) a
    linear map along time ``W_in -> W_out``. Returns ``y`` and ``Ahat`` (detached), which the
    next GSE layer takes as its adjacency (the graph "evolves").
    """

    def __init__(self, n_vars: int, dropout: float = 0.0, time_in: int | None = None, time_out: int | None = None) -> None:
        super().__init__()
        self.w_adj = nn.Parameter(torch.empty(n_vars, n_vars))
        self.b_adj = nn.Parameter(torch.zeros(n_vars, 1))
        self.w_cos = nn.Parameter(torch.empty(n_vars, n_vars))
        self.b_cos = nn.Parameter(torch.zeros(n_vars, n_vars))
        nn.init.xavier_uniform_(self.w_adj)
        nn.init.xavier_uniform_(self.w_cos)
        self.dropout = nn.Dropout(dropout)
        self.time = nn.Linear(time_in, time_out) if time_in is not None else None
        if self.time is not None:
            nn.init.xavier_uniform_(self.time.weight)
            nn.init.zeros_(self.time.bias)

    def mixing(self, adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The mixing matrix ``M`` and the evolved adjacency ``Ahat``."""
        ahat = adjacency @ self.w_adj + self.b_adj
        return row_cosine(ahat) * self.w_cos + self.b_cos, ahat

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        m, ahat = self.mixing(adjacency)
        y = self.dropout(torch.einsum("ij,stj->sti", m, x))
        if self.time is not None:
            y = self.time(y.transpose(1, 2)).transpose(1, 2)
        return y, ahat.detach()


def mix_loop(m: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``y[s, t, i] = sum_j m[i, j] x[s, t, j]`` by loops (the reference for the einsum)."""
    S, W, V = x.shape
    y = torch.zeros_like(x)
    for s in range(S):
        for t in range(W):
            for i in range(V):
                for j in range(V):
                    y[s, t, i] += m[i, j] * x[s, t, j]
    return y


class ReGENN(Encoder):
    """ReGENN forecaster: windows ``(S, W, V)`` -> ``(S, H, V)``.

    ``S`` co-occurring samples (the windows of a batch), ``W = input_length`` steps, ``V =
    n_channels`` variables, ``H = horizon``:

    1. the co-occurrence adjacency ``A`` (:func:`cooccurrence`) of the training windows: in
       train mode, each batch's matrix is added to a buffer during the first epoch (until
       :meth:`freeze_graph`, or the trainer's first ``on_epoch_end``), as the authors'
       first-epoch accumulation; :meth:`fit_graph` computes it in one pass instead;
    2. source GSE on ``x`` with the time map ``W -> W`` and dropout;
    3. optionally a Transformer encoder layer (one head, width ``W``) over the ``V`` variable
       tokens (``time_encoder``);
    4. the **time gate**: an LSTM over the sequence of the ``V`` variables, each step's input
       a variable's window (``W`` values), hidden size ``H`` (bidirectional: the two directions
       summed), giving ``(S, V, H)`` -> ``(S, H, V)``, dropout;
    5. the **variable sequencer**: an LSTM over the ``H`` forecast steps with input and hidden
       size ``V``, added to its input (residual);
    6. target GSE (no time map, no dropout) whose adjacency is the source layer's ``Ahat``;
    7. the **autoregressive highway** ``ar[s, :, v] = W_ar^T x[s, :, v] + b_ar`` (``W_ar`` of
       shape ``(W, H)``) is added, then the output activation (ReLU for non-negative data).

    Parameters
    ----------
    n_channels : int
        Number of variables ``V``.
    input_length : int
        Window length ``W``.
    horizon : int
        Forecast length ``H``.
    dropout : float
        Dropout of the source GSE and after the time gate.
    time_encoder : bool
        Use the Transformer encoder layer over the variables (step 3).
    bidirectional : bool
        Bidirectional time gate (the two directions summed).
    autoregression : bool
        Add the linear autoregressive highway (step 7).
    output_activation : str
        ``"relu"`` (non-negative targets, the paper's setting) or ``"identity"``.
    ablation : bool
        Drop both GSE layers (the graph), keeping the recurrent parts and the highway: the
        "without graph evolution" ablation.
    """

    input_type = "sequence"

    def __init__(
        self,
        n_channels: Size = 1,
        input_length: Size = 14,
        horizon: Size = 7,
        dropout: Dropout = 0.1,
        time_encoder: bool = True,
        bidirectional: bool = True,
        autoregression: bool = True,
        output_activation: str = "relu",
        ablation: bool = False,
    ) -> None:
        super().__init__()
        for name, v in (("time_encoder", time_encoder), ("bidirectional", bidirectional), ("autoregression", autoregression), ("ablation", ablation)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"ReGENN: {name} must be true or false, got {v!r}")
        if output_activation not in ("relu", "identity"):
            raise ValueError(f"ReGENN: output_activation must be 'relu' or 'identity', got {output_activation!r}")
        V, W, H = int(n_channels), int(input_length), int(horizon)
        self.n_channels, self.input_length, self.horizon = V, W, H
        self.output_activation, self.ablation, self.bidirectional = output_activation, bool(ablation), bool(bidirectional)
        self.register_buffer("adjacency", torch.zeros(V, V))
        self.register_buffer("raw_cooccurrence", torch.zeros(V, V))
        self.register_buffer("graph_frozen", torch.tensor(False))
        self.source = GraphSoftEvolution(V, dropout, W, W)
        self.target = GraphSoftEvolution(V, 0.0)
        self.encoder = nn.TransformerEncoderLayer(W, 1, dim_feedforward=2048, dropout=dropout, batch_first=True) if time_encoder else None
        self.time_gate = nn.LSTM(W, H, batch_first=True, bidirectional=self.bidirectional)
        self.gate_dropout = nn.Dropout(dropout)
        self.sequencer = nn.LSTM(V, V, batch_first=True)
        self.ar = nn.Linear(W, H) if autoregression else None
        for mod in (self.time_gate, self.sequencer):
            for name, p in mod.named_parameters():
                (nn.init.xavier_uniform_ if "weight" in name else nn.init.zeros_)(p)
        if self.ar is not None:
            nn.init.xavier_uniform_(self.ar.weight)
            nn.init.zeros_(self.ar.bias)

    # -------------------------------------------------------------- the graph
    @torch.no_grad()
    def fit_graph(self, X: Any, chunk: int = 32) -> ReGENN:
        """Set the adjacency to the co-occurrence of all windows ``X (N, W, V)`` (summed over
        chunks of ``chunk`` windows, diagonal fixed once on the total) and freeze it."""
        x = torch.as_tensor(np.asarray(X), dtype=self.adjacency.dtype)
        self._check(x)
        raw = torch.zeros_like(self.adjacency)
        for i in range(0, len(x), chunk):
            xi = x[i : i + chunk]
            raw += torch.einsum("stb,stc->bc", xi, (xi > 0).to(xi.dtype))
        self.raw_cooccurrence.copy_(raw)
        self.adjacency.copy_(_fix_diagonal(raw))
        self.graph_frozen.fill_(True)
        return self

    def freeze_graph(self) -> None:
        self.graph_frozen.fill_(True)

    def on_epoch_end(self, epoch: int) -> None:
        """Freeze the adjacency accumulated during the first training epoch."""
        self.freeze_graph()

    def _accumulate(self, x: torch.Tensor) -> None:
        with torch.no_grad():
            self.raw_cooccurrence += torch.einsum("stb,stc->bc", x, (x > 0).to(x.dtype))
            self.adjacency.copy_(_fix_diagonal(self.raw_cooccurrence))

    # -------------------------------------------------------------- forward
    def _check(self, x: Any) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"ReGENN: x must be a torch.Tensor of windows (S, W, V), got {type(x).__name__}")
        if x.dim() != 3:
            raise ValueError(f"ReGENN: x must have shape (samples, input_length, n_channels), got {tuple(x.shape)}")
        if x.shape[1] != self.input_length:
            raise ValueError(f"ReGENN: x has windows of length {x.shape[1]}, expected input_length = {self.input_length}")
        if x.shape[2] != self.n_channels:
            raise ValueError(f"ReGENN: x has {x.shape[2]} channels, expected n_channels = {self.n_channels}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check(x)
        x = x.to(self.adjacency.dtype)
        if self.training and not bool(self.graph_frozen):
            self._accumulate(x)
        h = x
        if not self.ablation:
            h, ahat = self.source(x, self.adjacency)
        h = h.transpose(1, 2)  # (S, V, W)
        if self.encoder is not None:
            h = self.encoder(h)
        g, _ = self.time_gate(h)  # (S, V, H or 2H)
        if self.bidirectional:
            g = g[..., : self.horizon] + g[..., self.horizon :]
        g = self.gate_dropout(g.transpose(1, 2))  # (S, H, V)
        s, _ = self.sequencer(g)
        h = g + s
        if not self.ablation:
            h, _ = self.target(h, ahat)
        if self.ar is not None:
            h = h + self.ar(x.transpose(1, 2)).transpose(1, 2)
        return F.relu(h) if self.output_activation == "relu" else h


def autoregression_loop(weight: torch.Tensor, bias: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``ar[s, h, v] = sum_t W[h, t] x[s, t, v] + b[h]`` by loops (reference for the highway)."""
    S, W, V = x.shape
    H = weight.shape[0]
    out = torch.zeros(S, H, V, dtype=x.dtype)
    for s in range(S):
        for h in range(H):
            for v in range(V):
                acc = bias[h].clone()
                for t in range(W):
                    acc = acc + weight[h, t] * x[s, t, v]
                out[s, h, v] = acc
    return out


class EvolvingPanel(Dataset):
    """A non-negative multivariate series whose variables drive each other through a sparse graph.

    ``x_{t+1} = ReLU(x_t (decay I + strength G) + drive_t + noise e_t)`` with a random sparse
    non-negative interaction matrix ``G`` (each variable driven by ``degree`` others, rows
    normalised), a weekly-like periodic drive on the first variable
    (``drive_t[0] = 0.5 (1 + sin(2 pi t / period))``) and Gaussian noise. ``meta["graph"]``
    holds ``G``.

    Parameters
    ----------
    n_channels : int
        Number of variables ``V``.
    length : int
        Number of steps ``T``.
    degree : int
        Number of drivers of each variable.
    decay, strength : float
        Self-persistence and coupling weights (``decay + strength < 1`` keeps it stable).
    period : int
        Period of the drive.
    noise : float
        Standard deviation of the noise.
    seed : int
        Seed of the graph and the noise.
    """

    data_type = "series"
    task = "forecasting"

    def __init__(self, n_channels: Size = 8, length: Size = 1200, degree: Size = 2, decay: NonNegativeFloat = 0.6,
                 strength: NonNegativeFloat = 0.3, period: Size = 7, noise: NonNegativeFloat = 0.1, seed: int = 0) -> None:
        if degree >= n_channels:
            raise ValueError(f"EvolvingPanel: degree ({degree}) must be below n_channels ({n_channels})")
        if decay + strength >= 1:
            raise ValueError(f"EvolvingPanel: decay + strength must be below 1 for a stable series, got {decay + strength}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"EvolvingPanel: seed must be a non-negative integer, got {seed!r}")
        self.n_channels, self.length, self.degree, self.decay, self.strength = n_channels, length, degree, decay, strength
        self.period, self.noise, self.seed = period, noise, int(seed)

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        V, T = self.n_channels, self.length
        G = np.zeros((V, V))
        for j in range(V):  # column j: the drivers of variable j
            others = rng.choice([i for i in range(V) if i != j], size=self.degree, replace=False)
            G[others, j] = rng.uniform(0.5, 1.0, size=self.degree)
        G /= G.sum(0, keepdims=True)
        P = self.decay * np.eye(V) + self.strength * G
        X = np.zeros((T, V))
        X[0] = rng.uniform(0, 1, V)
        for t in range(T - 1):
            drive = np.zeros(V)
            drive[0] = 0.5 * (1 + np.sin(2 * np.pi * t / self.period))
            X[t + 1] = np.maximum(X[t] @ P + drive + self.noise * rng.standard_normal(V), 0.0)
        meta = {"channels": [f"v{i}" for i in range(V)], "graph": G.tolist(), "period": self.period}
        return DataBundle(X, None, "series", "forecasting", meta)
