r"""Soft equivariance under mixed symmetries: the projection-based equivariance regulariser (PER)
of Kim, Lee, Yang & Lee (ICML 2023) on a tensor-typed MLP.

For every linear layer ``W`` and candidate group ``G_j`` with projector ``P_j`` onto the
``G_j``-equivariant maps,

.. math:: R_j = \sum_{\text{layers}} \tfrac12 \lVert W - P_j W\rVert_F^2
          \;(+\tfrac12\lVert b - P_j b\rVert^2),\qquad
          \mathcal L = \mathcal L_{\text{task}} + \sum_j \lambda_j R_j .

Automatic strength tuning (the reference ``adjust_equiv``): the regularisers are averaged over a
window of steps before ``adjust_at``; then ``lambda_j <- mean_k(lambda_k R_k) / R_j``, so groups
whose symmetry the data respect (small ``R_j``) get strong regularisation and the others weak.
With ``W = P_j W`` in every layer the network is exactly ``G_j``-equivariant (gated
nonlinearities commute with every subgroup of O(3)).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import nn

from geoatlas.interfaces import Encoder

from .reps import (
    CANDIDATE_GROUPS,
    TYPE_DIMS,
    act_type,
    bias_projector,
    sample_group,
    weight_projector,
)

Rep = dict[int, int]  # type -> number of channels


def _dim(rep: Rep) -> int:
    return sum(c * TYPE_DIMS[t] for t, c in rep.items())


class TypedLinear(nn.Module):
    """Linear map between typed feature spaces, stored block-wise ``W[b<-a]: (c_b, c_a, d_b, d_a)``."""

    def __init__(self, rep_in: Rep, rep_out: Rep) -> None:
        super().__init__()
        self.rep_in, self.rep_out = dict(rep_in), dict(rep_out)
        self.weights = nn.ParameterDict()
        self.biases = nn.ParameterDict()
        fan_in = _dim(rep_in)
        for b, cb in rep_out.items():
            for a, ca in rep_in.items():
                w = torch.randn(cb, ca, TYPE_DIMS[b], TYPE_DIMS[a]) / fan_in**0.5
                self.weights[f"{b}_{a}"] = nn.Parameter(w)
            self.biases[str(b)] = nn.Parameter(torch.zeros(cb, TYPE_DIMS[b]))

    def forward(self, x: dict[int, torch.Tensor]) -> dict[int, torch.Tensor]:
        out = {}
        for b in self.rep_out:
            y = self.biases[str(b)].unsqueeze(0)
            for a in self.rep_in:
                y = y + torch.einsum("oiBA,niA->noB", self.weights[f"{b}_{a}"], x[a])
            out[b] = y
        return out

    def regulariser(self, group: str, include_bias: bool = True) -> torch.Tensor:
        """``0.5 |W - P W|^2`` (+ bias) for ``group``."""
        total = torch.zeros((), dtype=next(self.parameters()).dtype)
        for key, w in self.weights.items():
            b, a = map(int, key.split("_"))
            P = torch.as_tensor(weight_projector(group, b, a), dtype=w.dtype)
            flat = w.reshape(*w.shape[:2], -1)
            total = total + 0.5 * ((flat - flat @ P.T) ** 2).sum()
        if include_bias:
            for key, bias in self.biases.items():
                P = torch.as_tensor(bias_projector(group, int(key)), dtype=bias.dtype)
                total = total + 0.5 * ((bias - bias @ P.T) ** 2).sum()
        return total

    @torch.no_grad()
    def project_(self, group: str) -> None:
        """Replace every weight and bias by its projection (exact ``group``-equivariance)."""
        for key, w in self.weights.items():
            b, a = map(int, key.split("_"))
            P = torch.as_tensor(weight_projector(group, b, a), dtype=w.dtype)
            w.copy_((w.reshape(*w.shape[:2], -1) @ P.T).reshape(w.shape))
        for key, bias in self.biases.items():
            P = torch.as_tensor(bias_projector(group, int(key)), dtype=bias.dtype)
            bias.copy_(bias @ P.T)


def gated(x: dict[int, torch.Tensor], rep: Rep) -> dict[int, torch.Tensor]:
    """Gated nonlinearity and bilinear products.

    SiLU on scalars; each vector/matrix channel times sigmoid(its gate) (the gates are the extra
    scalar channels after the ``rep[0]`` ordinary scalars); then the outer products ``v v^T`` of
    the gated vector channels are appended as matrix channels (EMLP's bilinear step: without it no
    O(3)-equivariant network could build ``x x^T`` from vectors). All of this commutes with every
    subgroup of O(3), so a network whose linear layers are G-equivariant is G-equivariant.
    """
    s = x[0][..., 0]
    n0 = rep.get(0, 0)
    out = {0: nn.functional.silu(s[:, :n0]).unsqueeze(-1)}
    k = n0
    for t in (1, 2):
        if rep.get(t, 0):
            g = torch.sigmoid(s[:, k : k + rep[t]]).unsqueeze(-1)
            out[t] = x[t] * g
            k += rep[t]
    if 1 in out:
        v = out[1]
        outer = (v.unsqueeze(-1) * v.unsqueeze(-2)).reshape(*v.shape[:2], 9)
        out[2] = torch.cat([out[2], outer], 1) if 2 in out else outer
    return out


class SoftEquivariantMLP(Encoder):
    """An MLP on typed features (scalars / vectors / matrices of R^3) trained with PER.

    Input ``(B, in_features)`` laid out as ``n_scalars`` scalars then ``n_vectors`` 3-vectors
    (``x1, y1, z1, x2, ...``). Output ``(B, out_features)``: ``out_type="matrix"`` gives one
    3x3 matrix (``out_features = 9``, row-major) transforming as ``g M g^T``; ``"scalars"`` gives
    invariant scalars (regression targets or logits).

    Parameters
    ----------
    in_features, out_features : int
        Filled by pipelines. ``in_features = n_scalars + 3 n_vectors``.
    n_scalars : int
        Number of scalar inputs (e.g. the masses).
    candidate_groups : list of str
        Subgroups of O(3) to regularise towards: ``o3``, ``so3``, ``o2_xy``, ``o2_yz``, ``o2_xz``.
    hidden : list of int
        ``[scalars, vectors, matrices]`` channels of each hidden layer.
    n_layers : int
        Number of hidden layers.
    equiv_init : float
        Initial strength ``lambda_j`` of every regulariser.
    auto_tune : bool
        Re-scale the strengths once, at step ``adjust_at``, from the regulariser values averaged
        over the ``window`` previous steps (the paper's automatic tuning).
    weight_decay : float
        Plain L2 on the weights (the reference's ``wd``).
    """

    input_type = "vector"

    def __init__(
        self,
        in_features: int,
        out_features: int = 9,
        n_scalars: int = 5,
        out_type: str = "matrix",
        candidate_groups: Sequence[str] = ("o3", "o2_xy", "o2_yz", "o2_xz"),
        hidden: Sequence[int] = (16, 8, 2),
        n_layers: int = 2,
        equiv_init: float = 1.0,
        auto_tune: bool = True,
        adjust_at: int = 300,
        window: int = 100,
        weight_decay: float = 0.0,
        include_bias: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(n_scalars, int) or n_scalars < 0 or n_scalars > in_features or (in_features - n_scalars) % 3:
            raise ValueError(f"in_features - n_scalars must be a non-negative multiple of 3 (vectors), got in_features={in_features}, n_scalars={n_scalars}")
        if out_type not in ("matrix", "scalars"):
            raise ValueError(f"out_type must be 'matrix' or 'scalars', got {out_type!r}")
        if out_type == "matrix" and out_features != 9:
            raise ValueError(f"out_type='matrix' needs out_features=9, got {out_features}")
        if not candidate_groups:
            raise ValueError("candidate_groups must name at least one group")
        for g in candidate_groups:
            if g not in CANDIDATE_GROUPS:
                raise ValueError(f"unknown candidate group {g!r}; choose from {sorted(CANDIDATE_GROUPS)}")
        if len(hidden) != 3 or any(int(h) < 0 for h in hidden) or int(hidden[0]) < 1:
            raise ValueError(f"hidden must be [scalars >= 1, vectors >= 0, matrices >= 0], got {list(hidden)}")
        if not equiv_init >= 0 or not weight_decay >= 0:
            raise ValueError("equiv_init and weight_decay must be >= 0")
        if adjust_at < 1 or window < 1:
            raise ValueError(f"adjust_at and window must be >= 1, got {adjust_at}, {window}")
        self.in_features, self.out_features = in_features, out_features
        self.n_scalars, self.n_vectors, self.out_type = n_scalars, (in_features - n_scalars) // 3, out_type
        self.groups = list(candidate_groups)
        self.auto_tune, self.adjust_at, self.window = auto_tune, adjust_at, window
        self.weight_decay, self.include_bias = weight_decay, include_bias
        h0, h1, h2 = (int(h) for h in hidden)
        self.hidden_rep: Rep = {t: c for t, c in ((0, h0), (1, h1), (2, h2)) if c}  # layer outputs (gated)
        gate_rep = {0: h0 + h1 + h2, **{t: c for t, c in ((1, h1), (2, h2)) if c}}
        after_rep: Rep = {t: c for t, c in ((0, h0), (1, h1), (2, h2 + h1)) if c}  # + outer products
        rep_in: Rep = {t: c for t, c in ((0, n_scalars), (1, self.n_vectors)) if c}
        layers = []
        r = rep_in
        for _ in range(n_layers):
            layers.append(TypedLinear(r, gate_rep))
            r = after_rep
        self.out_rep: Rep = {2: 1} if out_type == "matrix" else {0: out_features}
        layers.append(TypedLinear(r, self.out_rep))
        self.layers = nn.ModuleList(layers)
        self.register_buffer("equiv_coef", torch.full((len(self.groups),), float(equiv_init)))
        self.register_buffer("rglr_sum", torch.zeros(len(self.groups)))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------ forward
    def split(self, x: torch.Tensor) -> dict[int, torch.Tensor]:
        """Flat input -> typed channels ``{0: (B, n_s, 1), 1: (B, n_v, 3)}``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"soft_equivariant_mlp expects input (B, {self.in_features}), got {tuple(getattr(x, 'shape', ()))}")
        if not torch.isfinite(x).all():
            raise ValueError("input contains NaN or Inf values")
        out = {}
        if self.n_scalars:
            out[0] = x[:, : self.n_scalars].unsqueeze(-1)
        if self.n_vectors:
            out[1] = x[:, self.n_scalars :].reshape(len(x), self.n_vectors, 3)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.split(x)
        for layer in self.layers[:-1]:
            h = gated(layer(h), self.hidden_rep)
        y = self.layers[-1](h)
        return y[2].reshape(len(x), 9) if self.out_type == "matrix" else y[0][..., 0]

    # ------------------------------------------------------------ PER
    def regularisers(self) -> torch.Tensor:
        """``R_j`` for every candidate group (differentiable), shape ``(n_groups,)``."""
        return torch.stack([sum(layer.regulariser(g, self.include_bias) for layer in self.layers) for g in self.groups])

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Task loss + ``sum_j lambda_j R_j`` (+ weight decay); runs the automatic tuning."""
        task = loss_fn(self(x), y)
        R = self.regularisers()
        loss = task + (self.equiv_coef.to(R.dtype).clone() * R).sum()
        if self.weight_decay:
            loss = loss + self.weight_decay * sum(0.5 * (w**2).sum() for w in self.parameters())
        with torch.no_grad():
            self.step += 1
            s = int(self.step)
            if self.auto_tune and self.adjust_at - self.window < s <= self.adjust_at:
                self.rglr_sum += R.detach().to(self.rglr_sum.dtype)
            if self.auto_tune and s == self.adjust_at:
                self.equiv_coef.copy_(adjust_strengths(self.equiv_coef, self.rglr_sum))
        return loss

    # ------------------------------------------------------------ diagnostics
    @torch.no_grad()
    def equivariance_errors(self, x: torch.Tensor, n_elements: int = 16, seed: int = 0) -> dict[str, float]:
        """Measured relative error ``|f(g.x) - rho_out(g) f(x)| / |f(x)|`` per candidate group
        (mean over ``n_elements`` Haar-random elements of each group)."""
        gen = torch.Generator().manual_seed(seed)
        fx = self(x)
        out = {}
        for name in self.groups:
            errs = []
            for g in sample_group(name, n_elements, gen, dtype=x.dtype):
                gb = g.expand(len(x), 3, 3)
                errs.append(float((self(self.act_input(gb, x)) - self.act_output(gb, fx)).norm() / fx.norm().clamp_min(1e-12)))
            out[name] = sum(errs) / len(errs)
        return out

    def act_input(self, g: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``rho_in(g) x`` for a batch of ``3 x 3`` elements ``g`` ``(B, 3, 3)``."""
        parts = self.split(x)
        out = [parts[0].reshape(len(x), -1)] if 0 in parts else []
        if 1 in parts:
            out.append(act_type(1, g, parts[1]).reshape(len(x), -1))
        return torch.cat(out, 1)

    def act_output(self, g: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``rho_out(g) y``."""
        if self.out_type == "scalars":
            return y
        return act_type(2, g, y.reshape(len(y), 1, 9)).reshape(len(y), 9)

    @torch.no_grad()
    def project_(self, group: str) -> None:
        """Project every layer onto the ``group``-equivariant maps (a hard-equivariant model)."""
        if group not in CANDIDATE_GROUPS:
            raise ValueError(f"unknown group {group!r}")
        for layer in self.layers:
            layer.project_(group)

    def summary(self) -> dict[str, Any]:
        """Current strengths and regulariser values per candidate group."""
        with torch.no_grad():
            R = self.regularisers()
        return {g: {"lambda": float(c), "R": float(r)} for g, c, r in zip(self.groups, self.equiv_coef, R, strict=True)}


def adjust_strengths(equiv: torch.Tensor, rglr: torch.Tensor) -> torch.Tensor:
    """``lambda_j <- mean_{k: lambda_k != 0}(lambda_k R_k) / R_j`` (zeros stay zero)."""
    active = equiv != 0
    if not active.any():
        return equiv.clone()
    mean = (equiv * rglr)[active].sum() / active.sum()
    new = mean / rglr.clamp_min(torch.finfo(rglr.dtype).tiny)
    return torch.where(active, new, equiv)
