"""EqMotion: equivariant multi-agent motion prediction with invariant interaction reasoning.

Xu, Tan, Tan, Chen, Wang, Wang, Wang, CVPR 2023 (arXiv 2303.10876).

Tensors follow the layout ``(B, A, T, d)``: batch, agents, time steps, coordinates. Geometric
(equivariant) features have the layout ``(B, A, C, d)`` (``C`` channels of ``d``-vectors);
pattern (invariant) features ``(B, A, H)``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geoatlas.interfaces import Encoder

_EPS = 1e-6


def dct_matrix(n: int, *, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Orthonormal DCT-II matrix ``D`` of size ``n`` (``D @ D.T = I``), used along the time axis."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    d = math.sqrt(2.0 / n) * torch.cos(math.pi * (i + 0.5) * k / n)
    d[0] = d[0] / math.sqrt(2.0)
    return d.to(dtype)


def _mlp(sizes: list[int], act: type[nn.Module] = nn.SiLU, last_act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2 or last_act:
            layers.append(act())
    return nn.Sequential(*layers)


def _channel_mix(lin: nn.Linear, g: torch.Tensor) -> torch.Tensor:
    """Mix the channel axis (-2) of ``g`` (``(..., C, d)``) with a bias-free linear map."""
    return lin(g.transpose(-1, -2)).transpose(-1, -2)


def _pair_dists(g: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Differences ``g_i - g_j`` ``(B, A, A, C, d)`` and their norms ``(B, A, A, C)``."""
    diff = g[:, :, None] - g[:, None, :]
    return diff, diff.norm(dim=-1)


class FeatureLearningLayer(nn.Module):
    """One EqMotion layer: equivariant geometric feature learning + invariant pattern learning.

    Updates (paper Sec. 4.2–4.3), with ``G_i`` the geometric and ``h_i`` the pattern feature:

    1. inner-agent attention ``G_i <- G_i + phi_att(h_i) * (G_i - mean(G))``;
    2. equivariant aggregation with the inferred interaction categories ``c_ij``:
       ``G_i <- G_i + sum_j phi_f(sum_k c_ij^k phi_k(h_i, h_j, |G_i - G_j|)) * (G_i - G_j)``;
    3. velocity term ``G_i <- G_i + W_v V_i``;
    4. equivariant non-linearity: with ``q = W_q G``, ``k = W_k G``,
       ``q`` if ``<q, k> >= 0`` else ``q - <q, k>/|k|^2 k``;
    5. invariant update ``h_i <- h_i + phi_h(h_i, sum_{j != i} phi_e(h_i, h_j, |G_i - G_j|))``.
    """

    def __init__(self, hidden_nf: int, hid_channel: int, n_categories: int) -> None:
        super().__init__()
        pair_in = 2 * hidden_nf + hid_channel
        self.edge_mlp = _mlp([pair_in, hidden_nf, hidden_nf])
        self.category_mlps = nn.ModuleList([_mlp([pair_in, hidden_nf, hid_channel]) for _ in range(n_categories)])
        self.factor_mlp = _mlp([hid_channel, hid_channel, hid_channel])
        self.node_mlp = _mlp([2 * hidden_nf, hidden_nf, hidden_nf], last_act=False)
        self.att_mlp = _mlp([hidden_nf, hid_channel])
        self.coord_vel = nn.Linear(hid_channel, hid_channel, bias=False)
        self.layer_q = nn.Linear(hid_channel, hid_channel, bias=False)
        self.layer_k = nn.Linear(hid_channel, hid_channel, bias=False)
        # small initial aggregation factors keep the first forward passes stable
        last = self.factor_mlp[-2]
        assert isinstance(last, nn.Linear)
        nn.init.xavier_uniform_(last.weight, gain=0.001)

    def forward(self, h: torch.Tensor, g: torch.Tensor, v: torch.Tensor, category: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        B, A = g.shape[:2]
        diff, dist = _pair_dists(g)
        h1 = h[:, :, None].expand(B, A, A, h.shape[-1])
        h2 = h[:, None, :].expand(B, A, A, h.shape[-1])
        pair = torch.cat([h1, h2, dist], dim=-1)
        edge = self.edge_mlp(pair)
        # 1. inner-agent attention
        center = g.mean(dim=(1, 2), keepdim=True)
        g = g + self.att_mlp(h).unsqueeze(-1) * (g - center)
        # 2. reasoning-weighted equivariant aggregation
        factors = sum(category[..., k : k + 1] * mlp(pair) for k, mlp in enumerate(self.category_mlps))
        factors = self.factor_mlp(factors)  # (B, A, A, C)
        g = g + (factors.unsqueeze(-1) * diff).sum(dim=2)
        # 3. velocity channel mixing
        g = g + _channel_mix(self.coord_vel, v)
        # 4. equivariant non-linearity
        center = g.mean(dim=(1, 2), keepdim=True)
        gc = g - center
        q = _channel_mix(self.layer_q, gc)
        k = _channel_mix(self.layer_k, gc)
        prod = (q * k).sum(-1, keepdim=True)
        k2 = (k * k).sum(-1, keepdim=True)
        g = torch.where(prod >= 0, q, q - prod / (k2 + 1e-4) * k) + center
        # 5. invariant pattern update (sum over j != i)
        mask = 1.0 - torch.eye(A, dtype=edge.dtype, device=edge.device)
        agg = (edge * mask[None, :, :, None]).sum(dim=2)
        h = h + self.node_mlp(torch.cat([h, agg], dim=-1))
        return h, g


class EqMotion(Encoder):
    """EqMotion trajectory predictor (equivariant to E(n), invariant interaction reasoning).

    Parameters
    ----------
    past_length : int
        Number of observed time steps ``T_past`` (axis 2 of the input); 20 as in the authors'
        n-body scripts.
    future_length : int
        Number of predicted time steps ``T_future``; 20 as in the authors' n-body scripts.
    in_features : int
        Coordinate dimension ``d`` (last input axis; 2 or 3). Filled by pipelines.
    out_features : int, optional
        Flattened target size ``A * T_future * d`` (filled by pipelines); checked at run time.
    hidden_nf : int
        Width of the invariant pattern features (paper default 64).
    hid_channel : int
        Number of geometric feature channels ``C`` (paper default 64).
    n_layers : int
        Number of feature learning layers (paper default 4).
    n_categories : int
        Number of interaction categories ``K`` of the reasoning module (paper default 2).
    tau : float
        Softmax temperature of the interaction categories (reference default 0.5).
    apply_dct : bool
        Work on DCT coefficients of the trajectories (as the reference implementation).
    flatten_output : bool
        ``forward`` returns ``(B, A * T_future * d)`` (pipelines' regression layout) when true,
        ``(B, A, T_future, d)`` otherwise. :meth:`predict` always gives the latter.
    """

    input_type = "sequence"
    equivariant_to = ("o_n", "son", "so3", "so2", "se3", "se2", "translations", "permutations")

    def __init__(
        self,
        past_length: int = 20,
        future_length: int = 20,
        in_features: int = 3,
        out_features: int | None = None,
        hidden_nf: int = 64,
        hid_channel: int = 64,
        n_layers: int = 4,
        n_categories: int = 2,
        tau: float = 0.5,
        apply_dct: bool = True,
        flatten_output: bool = True,
    ) -> None:
        super().__init__()
        for name, val in (("past_length", past_length), ("future_length", future_length), ("hidden_nf", hidden_nf),
                          ("hid_channel", hid_channel), ("n_layers", n_layers), ("n_categories", n_categories)):
            if not isinstance(val, int) or isinstance(val, bool) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if past_length < 2:
            raise ValueError(f"past_length must be >= 2 (velocities need two frames), got {past_length}")
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features (coordinate dimension) must be a positive integer, got {in_features!r}")
        if hidden_nf % 2:
            raise ValueError(f"hidden_nf must be even (two halves: speed and turning-angle embeddings), got {hidden_nf}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau}")
        if out_features is not None and out_features % (future_length * in_features):
            raise ValueError(
                f"out_features={out_features} is not a multiple of future_length * in_features = "
                f"{future_length * in_features} (expected agents * future_length * d)"
            )
        self.past_length, self.future_length, self.dim = past_length, future_length, in_features
        self.out_features = out_features
        self.n_categories, self.tau, self.apply_dct, self.flatten_output = n_categories, tau, apply_dct, flatten_output
        half = hidden_nf // 2
        self.speed_embed = nn.Linear(past_length, half)
        self.angle_embed = nn.Linear(past_length, half)
        self.coord_trans = nn.Linear(past_length, hid_channel, bias=False)
        self.vel_trans = nn.Linear(past_length, hid_channel, bias=False)
        self.predict_head = nn.Linear(hid_channel, future_length, bias=False)
        # invariant interaction reasoning (paper Sec. 4.4)
        pair_in = 2 * hidden_nf + 2 * hid_channel
        self.reason_edge = _mlp([pair_in, hidden_nf, hidden_nf])
        self.reason_dist = _mlp([2 * hid_channel, hidden_nf, 2 * hid_channel])
        self.reason_node = _mlp([2 * hidden_nf, hidden_nf, hidden_nf])
        # ends with SiLU before the softmax, as the authors' category_mlp (model_t_reason.py)
        self.reason_category = _mlp([2 * hidden_nf + 2 * hid_channel, hidden_nf, n_categories])
        self.layers = nn.ModuleList([FeatureLearningLayer(hidden_nf, hid_channel, n_categories) for _ in range(n_layers)])
        self.register_buffer("dct_in", dct_matrix(past_length, dtype=torch.get_default_dtype()), persistent=False)
        self.register_buffer("idct_out", dct_matrix(future_length, dtype=torch.get_default_dtype()).T.contiguous(), persistent=False)
        # float64 originals, cast at use: .double() on the float32 buffers would keep float32 rounding
        self._dct64 = dct_matrix(past_length, dtype=torch.float64)
        self._idct64 = dct_matrix(future_length, dtype=torch.float64).T.contiguous()
        self.last_categories: torch.Tensor | None = None

    # ------------------------------------------------------------------ helpers
    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (B, agents, T_past, d), got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"x must have shape (B, agents, T_past, d), got {tuple(x.shape)}")
        B, A, T, d = x.shape
        if T != self.past_length:
            raise ValueError(f"x has {T} time steps, the model was built for past_length={self.past_length}")
        if d != self.dim:
            raise ValueError(f"x has coordinate dimension {d}, the model was built for in_features={self.dim}")
        if A < 2:
            raise ValueError(f"EqMotion needs at least 2 agents to reason about interactions, got {A}")
        if B == 0:
            raise ValueError("x is empty (batch size 0)")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        if self.out_features is not None and A * self.future_length * d != self.out_features:
            raise ValueError(
                f"out_features={self.out_features} but agents * future_length * d = {A * self.future_length * d}"
            )
        return x.to(self.dct_in.dtype)

    @staticmethod
    def invariant_motion_features(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Velocities ``V`` (``(B, A, T, d)``), speeds ``|V_t|`` and turning angles ``angle(V_{t-1}, V_t)``."""
        v = torch.zeros_like(x)
        v[:, :, 1:] = x[:, :, 1:] - x[:, :, :-1]
        v[:, :, 0] = v[:, :, 1]
        v_prev = torch.cat([v[:, :, :1], v[:, :, :-1]], dim=2)
        speed = v.norm(dim=-1)
        cos = (v_prev * v).sum(-1) / ((v_prev.norm(dim=-1) + _EPS) * (speed + _EPS))
        angle = torch.acos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
        return v, speed, angle

    def _infer_categories(self, h: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
        """Invariant interaction categories ``c_ij = softmax(phi_c(h'_i, h'_j, |G_i - G_j|) / tau)``."""
        B, A = g.shape[:2]
        _, dist = _pair_dists(g)
        dist = self.reason_dist(dist)
        h1 = h[:, :, None].expand(B, A, A, h.shape[-1])
        h2 = h[:, None, :].expand(B, A, A, h.shape[-1])
        edge = self.reason_edge(torch.cat([h1, h2, dist], dim=-1))
        mask = 1.0 - torch.eye(A, dtype=edge.dtype, device=edge.device)
        hn = self.reason_node(torch.cat([h, (edge * mask[None, :, :, None]).sum(2)], dim=-1))
        n1 = hn[:, :, None].expand(B, A, A, hn.shape[-1])
        n2 = hn[:, None, :].expand(B, A, A, hn.shape[-1])
        logits = self.reason_category(torch.cat([n1, n2, dist], dim=-1))
        return torch.softmax(logits / self.tau, dim=-1)

    # ------------------------------------------------------------------ forward
    def predict(self, x: torch.Tensor, return_categories: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Future trajectories ``(B, A, T_future, d)`` from past ones ``(B, A, T_past, d)``."""
        in_dtype = x.dtype if isinstance(x, torch.Tensor) and x.is_floating_point() else torch.get_default_dtype()
        x = self._check_input(x)
        v, speed, angle = self.invariant_motion_features(x)
        x_center = x.mean(dim=(1, 2), keepdim=True)
        xc = x - x_center
        if self.apply_dct:
            dct = self._dct64.to(dtype=xc.dtype, device=xc.device)
            xc = torch.einsum("kt,batd->bakd", dct, xc)
            v = torch.einsum("kt,batd->bakd", dct, v)
        h = torch.cat([self.speed_embed(speed), self.angle_embed(angle)], dim=-1)
        g_mean = xc.mean(dim=(1, 2), keepdim=True)
        g = _channel_mix(self.coord_trans, xc - g_mean) + g_mean
        gv = _channel_mix(self.vel_trans, v)
        category = self._infer_categories(h, torch.cat([g, gv], dim=2))
        for layer in self.layers:
            h, g = layer(h, g, gv, category)
        g_mean = g.mean(dim=(1, 2), keepdim=True)
        out = _channel_mix(self.predict_head, g - g_mean) + g_mean
        if self.apply_dct:
            out = torch.einsum("tk,bakd->batd", self._idct64.to(dtype=out.dtype, device=out.device), out)
        out = (out + x_center).to(in_dtype)
        self.last_categories = category.detach()
        return (out, category) if return_categories else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.predict(x)
        assert isinstance(out, torch.Tensor)
        return out.reshape(out.shape[0], -1) if self.flatten_output else out

    def interaction_categories(self, x: torch.Tensor) -> torch.Tensor:
        """Inferred interaction categories ``(B, A, A, K)`` (invariant to E(n) transformations)."""
        _, cat = self.predict(x, return_categories=True)  # type: ignore[misc]
        return cat
