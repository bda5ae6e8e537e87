"""PONITA building blocks: polynomial kernel basis, smooth cut-off, the position-space and
fibre-bundle (separable group) convolutions as torch-geometric ``MessagePassing`` layers, and
the ConvNeXt block."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.nn import MessagePassing


class PolynomialFeatures(nn.Module):
    """All monomials of the invariants up to ``degree``: ``[a, a⊗a, a⊗a⊗a, ...]``.

    Follows the reference ``ponita`` convention: ``degree=3`` gives tensor powers 1, 2 and 3
    (``d + d^2 + d^3`` features for ``d`` invariants).
    """

    def __init__(self, degree: int) -> None:
        super().__init__()
        if not isinstance(degree, int) or degree < 1:
            raise ValueError(f"degree must be a positive integer, got {degree!r}")
        self.degree = degree

    def out_dim(self, in_dim: int) -> int:
        """Number of features produced from ``in_dim`` invariants."""
        return sum(in_dim**k for k in range(1, self.degree + 1))

    def forward(self, a: Tensor) -> Tensor:
        terms = [a]
        for _ in range(1, self.degree):
            terms.append((terms[-1].unsqueeze(-1) * a.unsqueeze(-2)).flatten(-2, -1))
        return torch.cat(terms, -1)


class PolynomialCutoff(nn.Module):
    """Smooth cut-off of DimeNet (Klicpera et al., 2020, eq. 8) with ``p = 6``:

    ``u(d) = 1 - (p+1)(p+2)/2 (d/r)^p + p(p+2) (d/r)^{p+1} - p(p+1)/2 (d/r)^{p+2}`` for ``d < r``,
    else 0. With ``r_max=None`` it is identically 1.
    """

    def __init__(self, r_max: float | None, p: int = 6) -> None:
        super().__init__()
        self.r_max, self.p = r_max, float(p)

    def forward(self, d: Tensor) -> Tensor:
        if self.r_max is None:
            return torch.ones_like(d)
        p, u = self.p, d / self.r_max
        env = 1 - (p + 1) * (p + 2) / 2 * u**p + p * (p + 2) * u ** (p + 1) - p * (p + 1) / 2 * u ** (p + 2)
        return env * (d < self.r_max).to(d.dtype)


class KernelBasis(nn.Module):
    """The shared kernel basis ``φ(a) = GELU(W2 GELU(W1 poly(a)))`` (computed once per forward
    pass and shared by all layers; every layer maps it linearly to its kernel)."""

    def __init__(self, num_invariants: int, hidden: int, basis_dim: int, degree: int = 3) -> None:
        super().__init__()
        self.poly = PolynomialFeatures(degree)
        self.net = nn.Sequential(
            nn.Linear(self.poly.out_dim(num_invariants), hidden), nn.GELU(), nn.Linear(hidden, basis_dim), nn.GELU()
        )
        self.num_invariants = num_invariants

    def forward(self, a: Tensor) -> Tensor:
        if a.shape[-1] != self.num_invariants:
            raise ValueError(f"KernelBasis expects {self.num_invariants} invariants, got {a.shape[-1]}")
        return self.net(self.poly(a))


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the gradient contiguous: the gradient of an aggregation
    arrives permuted from the fibre mixing, and ``index_add``'s backward (an ``index_select`` of
    it over the edges) is ~4x slower on the permuted layout than on a contiguous copy."""

    @staticmethod
    def forward(ctx: Any, x: Tensor) -> Tensor:
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return grad.contiguous()


class _DenseAggregate(torch.autograd.Function):
    """``(k * x).sum(2)`` for ``k (G, n, n, ...)`` and ``x (G, 1, n, ...)``, with a backward that
    makes the incoming gradient contiguous once (it arrives permuted from the fibre einsum) instead
    of letting autograd build and then copy a permuted ``(G, n, n, ...)`` kernel gradient."""

    @staticmethod
    def forward(ctx: Any, k: Tensor, x: Tensor) -> Tensor:
        ctx.save_for_backward(k, x)
        return (k * x).sum(2)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        k, x = ctx.saved_tensors
        g = grad.contiguous().unsqueeze(2)
        gk = g * x if ctx.needs_input_grad[0] else None
        gx = (g * k).sum(1, keepdim=True) if ctx.needs_input_grad[1] else None
        return gk, gx


class _FiberMix(torch.autograd.Function):
    """Depthwise fibre mixing ``einsum("moc,opc->mpc", x, k)`` as channel-batched ``bmm`` on
    contiguous ``(C, ., .)`` operands, forward and backward. On CPU, einsum's (and autograd's)
    ``bmm`` on the permuted operands loops over channels with a copy each: this is ~1.1-1.5x faster
    forward+backward at 80-320 nodes x 16 orientations x 64 channels, and gives the same numbers."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, k: Tensor) -> Tensor:
        ctx.save_for_backward(x, k)  # the inputs (not their copies), so double backward reaches them
        return torch.bmm(x.permute(2, 0, 1).contiguous(), k.permute(2, 0, 1).contiguous()).permute(1, 2, 0)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        x, k = ctx.saved_tensors
        xc, kc = x.permute(2, 0, 1).contiguous(), k.permute(2, 0, 1).contiguous()
        gc = grad.permute(2, 0, 1).contiguous()
        gx = torch.bmm(gc, kc.transpose(1, 2)).permute(1, 2, 0) if ctx.needs_input_grad[0] else None
        gk = torch.bmm(xc.transpose(1, 2), gc).permute(1, 2, 0) if ctx.needs_input_grad[1] else None
        return gx, gk


def aggregate_products(kernel: Tensor, x: Tensor, edge_index: Tensor, block: int = 0) -> Tensor:
    """``out_i = sum_{(j, i) in edges} kernel_ji ⊙ x_j``: kernels ``(E, *F)``, features ``(M, *F)``.

    ``block = n > 0`` declares the dense layout of :func:`~.geometry.dense_block_size` (equal-size
    fully connected graphs, edges sorted by receiver then sender): the sum is then a reshape and a
    reduction over senders, with no gather or scatter (about twice as fast forward+backward).
    Otherwise senders are gathered with ``index_select`` and summed with ``index_add`` (whose
    backward is an ``index_select``, cheaper than the ``gather`` behind ``scatter``'s).
    """
    if block:
        k = kernel.view(-1, block, block, *kernel.shape[1:])
        return _DenseAggregate.apply(k, x.view(-1, 1, block, *x.shape[1:])).flatten(0, 1)
    msg = kernel * x.index_select(0, edge_index[0])
    return _ContiguousGrad.apply(msg.new_zeros((x.shape[0], *msg.shape[1:])).index_add_(0, edge_index[1], msg))


def _check_groups(in_channels: int, out_channels: int, groups: int) -> bool:
    if groups == 1:
        return False
    if groups == in_channels == out_channels:
        return True
    raise ValueError(f"groups must be 1 or equal to in_channels == out_channels (depthwise), got groups={groups}, "
                     f"in_channels={in_channels}, out_channels={out_channels}")


class Conv(MessagePassing):
    """Position-space (or lifted point-cloud) convolution ``f'_i = sum_j k(a_ij) f_j + b``,
    with ``k(a) = W φ(a)`` (depthwise when ``groups == channels``).

    ``calibrate=True`` rescales the kernel once, at the first forward in training mode, so
    that ``std(out) = std(in)`` (the reference code's data-dependent initialisation).
    """

    def __init__(self, in_channels: int, out_channels: int, basis_dim: int, bias: bool = True, groups: int = 1,
                 calibrate: bool = True) -> None:
        super().__init__(node_dim=0, aggr="add")
        self.depthwise = _check_groups(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel = nn.Linear(basis_dim, in_channels * out_channels // groups, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.calibrate = calibrate
        self.register_buffer("calibrated", torch.tensor(not calibrate))

    def forward(self, x: Tensor, edge_index: Tensor, basis: Tensor, block: int = 0) -> Tensor:
        out = self._run(x, edge_index, basis, block)
        if self.training and not bool(self.calibrated):
            _rescale(self.kernel, x, out)
            out = self._run(x, edge_index, basis, block)
            self.calibrated.fill_(True)
        return out if self.bias is None else out + self.bias

    def _run(self, x: Tensor, edge_index: Tensor, basis: Tensor, block: int) -> Tensor:
        if self.depthwise:
            return aggregate_products(self.kernel(basis), x, edge_index, block)
        return self.propagate(edge_index, x=x, kernel=self.kernel(basis))

    def message(self, x_j: Tensor, kernel: Tensor) -> Tensor:
        if self.depthwise:
            return kernel * x_j
        return torch.einsum("eoi,ei->eo", kernel.unflatten(-1, (self.out_channels, self.in_channels)), x_j)


class FiberBundleConv(MessagePassing):
    """Group convolution on the fibre bundle R^n x S^{n-1} with a shared orientation grid.

    Features are ``(M, N, C)`` (nodes, orientations, channels). Separable (the paper's default):

    1. spatial: ``f1(x_i, o) = sum_j k_s(a1, a2 | o) ⊙ f(x_j, o)``  (message passing, per o);
    2. fibre:   ``f2(x_i, o) = (1/N) sum_o' K_f(o^T o') f1(x_i, o')``  (depthwise or C_in -> C_out).

    Non-separable: ``f2(x_i, o) = (1/N) sum_j sum_o' k(a1, a2, a3 | o, o') ⊙ f(x_j, o')`` with one
    kernel per (edge, o, o'); cost O(E N^2 C).
    """

    def __init__(self, in_channels: int, out_channels: int, basis_dim: int, bias: bool = True,
                 separable: bool = True, groups: int = 1, calibrate: bool = True) -> None:
        super().__init__(node_dim=0, aggr="add")
        self.depthwise = _check_groups(in_channels, out_channels, groups)
        self.in_channels, self.out_channels = in_channels, out_channels
        self.separable = separable
        if separable:
            self.kernel = nn.Linear(basis_dim, in_channels, bias=False)
            self.fiber_kernel = nn.Linear(basis_dim, in_channels * out_channels // groups, bias=False)
        else:
            self.kernel = nn.Linear(basis_dim, in_channels * out_channels // groups, bias=False)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.calibrate = calibrate
        self.register_buffer("calibrated", torch.tensor(not calibrate))

    def _run(self, x: Tensor, edge_index: Tensor, basis: Tensor, fiber_basis: Tensor | None,
             block: int = 0) -> tuple[Tensor, Tensor]:
        if not self.separable:
            x1 = self.propagate(edge_index, x=x, kernel=self.kernel(basis))
            return x1, x1
        x1 = aggregate_products(self.kernel(basis), x, edge_index, block)  # (M, N, C)
        if fiber_basis is None:
            raise ValueError("a separable FiberBundleConv needs fiber_basis (N, N, basis_dim)")
        kf = self.fiber_kernel(fiber_basis)  # (N, N, C) or (N, N, Cout*Cin)
        n = kf.shape[0]
        if self.depthwise:
            x2 = _FiberMix.apply(x1, kf) / n
        else:
            x2 = torch.einsum("moc,opdc->mpd", x1, kf.unflatten(-1, (self.out_channels, self.in_channels))) / n
        return x1, x2

    def forward(self, x: Tensor, edge_index: Tensor, basis: Tensor, fiber_basis: Tensor | None = None,
                block: int = 0) -> Tensor:
        x1, x2 = self._run(x, edge_index, basis, fiber_basis, block)
        if self.training and not bool(self.calibrated):
            _rescale(self.kernel, x, x1)  # std(f1) = std(f)
            if self.separable:
                _rescale(self.fiber_kernel, x1, x2)  # std(f2) = std(f1)
            x1, x2 = self._run(x, edge_index, basis, fiber_basis, block)
            self.calibrated.fill_(True)
        return x2 if self.bias is None else x2 + self.bias

    def message(self, x_j: Tensor, kernel: Tensor) -> Tensor:  # non-separable only
        n = x_j.shape[1]
        if self.depthwise:  # kernel (E, N_recv, N_send, C)
            return torch.einsum("epoc,eoc->epc", kernel, x_j) / n
        k = kernel.unflatten(-1, (self.out_channels, self.in_channels))
        return torch.einsum("epodc,eoc->epd", k, x_j) / n


@torch.no_grad()
def _rescale(linear: nn.Linear, inp: Tensor, out: Tensor) -> None:
    s_in, s_out = inp.detach().std(), out.detach().std()
    if torch.isfinite(s_out) and s_out > 0 and torch.isfinite(s_in):
        linear.weight.mul_(s_in / s_out)


class ConvNext(nn.Module):
    """ConvNeXt block: ``x + γ ⊙ W2 GELU(W1 LayerNorm(conv(x)))`` (widening factor 4)."""

    def __init__(self, channels: int, conv: nn.Module, widening_factor: int = 4, layer_scale: float | None = None) -> None:
        super().__init__()
        self.conv = conv
        self.norm = nn.LayerNorm(channels)
        self.linear_1 = nn.Linear(channels, widening_factor * channels)
        self.linear_2 = nn.Linear(widening_factor * channels, channels)
        self.act = nn.GELU()
        self.layer_scale = nn.Parameter(torch.full((channels,), float(layer_scale))) if layer_scale else None

    def forward(self, x: Tensor, edge_index: Tensor, basis: Tensor, **kwargs: Tensor) -> Tensor:
        h = self.conv(x, edge_index, basis, **kwargs)
        h = self.linear_2(self.act(self.linear_1(self.norm(h))))
        if self.layer_scale is not None:
            h = self.layer_scale * h
        return x + h if h.shape == x.shape else h
