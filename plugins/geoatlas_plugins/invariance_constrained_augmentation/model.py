"""Invariance-constrained learning with MCMC-sampled augmentations (Hounie, Chamon, Ribeiro, ICML 2023).

The learning problem is

    min_f  E[l(f(x), y)]   s.t.   E_x [ E_{g ~ lambda_x} l(f(g x), y) ] <= epsilon,

with ``lambda_x(g)`` proportional to the loss ``l(f(g x), y)`` (the worst-case-tilted distribution
that the paper derives for the relaxed invariance constraint). It is solved by primal-dual
iterations: a Metropolis-Hastings chain with independent uniform proposals samples ``g`` from
``lambda_x``; the primal step descends ``l(f(x), y) + gamma * l(f(g x), y)``; the dual step ascends
``gamma <- max(0, gamma + eta (l_aug - epsilon))``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from geoatlas.interfaces import Encoder

from .transforms import TransformSpace


def per_sample_loss(loss_fn: Callable[..., torch.Tensor], out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Per-sample losses ``(n,)`` from a mean-reduced loss function (``reduction='none'`` when accepted)."""
    try:
        loss = loss_fn(out, y, reduction="none")
    except TypeError:
        return torch.stack([loss_fn(out[i : i + 1], y[i : i + 1]) for i in range(out.shape[0])])
    return loss.reshape(loss.shape[0], -1).mean(dim=1) if loss.dim() > 1 else loss


@torch.no_grad()
def metropolis_hastings(losses: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Independent Metropolis-Hastings chain over precomputed proposal losses.

    ``losses[i, b]`` is the (non-negative) target density, up to a constant, of the ``i``-th
    uniform proposal for sample ``b``. Proposals are independent of the state and uniform, so the
    acceptance probability of moving from state ``s`` to proposal ``i`` is
    ``min(1, losses[i] / losses[s])``; the stationary distribution is ``lambda(g) ~ l(g)``.

    Zero losses follow the reference implementation (``ihounie/daug``, ``train_pd_batch.py``,
    ``nan_to_num`` of the ratio): a proposal with loss 0 is always rejected (``0/l`` and ``0/0`` give
    0), and any proposal with positive loss is accepted from a state with loss 0 (``l/0`` is +inf,
    clipped to 1). A row of all-zero losses therefore keeps its first, uniformly drawn proposal.

    The chain starts at the first (uniform) proposal, so after ``steps`` proposals its state is
    only approximately distributed as ``lambda``: with short chains (the reference configurations
    use 2 steps and ablate 2-16) it lies between the uniform proposal and the target.

    Returns
    -------
    states : (steps, n) long tensor, the index of the proposal held at each step
    accept_rate : float tensor, mean acceptance probability of the moves
    """
    if losses.dim() != 2 or losses.shape[0] < 1:
        raise ValueError(f"losses must have shape (steps >= 1, n), got {tuple(losses.shape)}")
    if (losses < 0).any() or not torch.isfinite(losses).all():
        raise ValueError("losses must be finite and non-negative (they are an unnormalised density)")
    steps, n = losses.shape
    state = torch.zeros(n, dtype=torch.long)
    last = losses[0].clone()
    states = [state.clone()]
    probs = []
    for i in range(1, steps):
        ratio = torch.nan_to_num(losses[i] / last, nan=0.0, posinf=1.0).clamp(max=1.0)  # 0/0 -> reject
        probs.append(ratio)
        accept = torch.bernoulli(ratio, generator=generator).bool()
        state = torch.where(accept, torch.full_like(state, i), state)
        last = torch.where(accept, losses[i], last)
        states.append(state.clone())
    rate = torch.stack(probs).mean() if probs else torch.tensor(1.0)
    return torch.stack(states), rate


class InvarianceConstrained(Encoder):
    """Wrap a registered encoder and train it with the paper's primal-dual MCMC augmentation.

    Parameters
    ----------
    backbone : str
        Name of a registered encoder working on images (e.g. ``cnn``).
    backbone_params : dict, optional
        Its parameters; ``in_channels``/``num_classes`` given to the wrapper (pipelines fill them)
        are passed on when the backbone accepts them. Other sizes (e.g. ``in_features`` of an
        ``mlp`` backbone, which needs the flattened image size) go here.
    ops : list[str], optional
        The transformation set (see ``transforms.OPS``); all ops by default.
    epsilon : float
        Constraint level on the augmented loss.
    dual_lr : float
        Dual ascent step ``eta`` (0 keeps ``gamma = dual_init`` fixed: plain weighted augmentation).
    dual_init : float
        Initial dual variable ``gamma``.
    mh_steps : int
        Length of the Metropolis-Hastings chain (number of proposals) per sample and step.
    n_aug : int
        Number of final chain states used as augmentations (``<= mh_steps``).
    max_rotate, max_translate, max_scale, max_shear : float
        Ranges of the level-controlled ops.
    seed : int
        Seed of the sampler's generator.
    """

    input_type = "image"

    def __init__(
        self,
        backbone: str = "cnn",
        backbone_params: dict[str, Any] | None = None,
        in_channels: int | None = None,
        num_classes: int | None = None,
        ops: list[str] | None = None,
        epsilon: float = 0.1,
        dual_lr: float = 0.1,
        dual_init: float = 0.0,
        mh_steps: int = 4,
        n_aug: int = 1,
        max_rotate: float = 30.0,
        max_translate: float = 0.2,
        max_scale: float = 0.2,
        max_shear: float = 0.3,
        seed: int = 0,
    ) -> None:
        super().__init__()
        import geoatlas as ga

        if not epsilon >= 0:
            raise ValueError(f"epsilon must be >= 0, got {epsilon}")
        if not dual_lr >= 0:
            raise ValueError(f"dual_lr must be >= 0, got {dual_lr}")
        if not dual_init >= 0:
            raise ValueError(f"dual_init must be >= 0, got {dual_init}")
        if not isinstance(mh_steps, int) or mh_steps < 1:
            raise ValueError(f"mh_steps must be a positive integer, got {mh_steps!r}")
        if not isinstance(n_aug, int) or not 1 <= n_aug <= mh_steps:
            raise ValueError(f"n_aug must be an integer in [1, mh_steps={mh_steps}], got {n_aug!r}")
        self.space = TransformSpace(ops, max_rotate, max_translate, max_scale, max_shear)
        params = dict(backbone_params or {})
        info = ga.info(backbone)
        if info.get("kind") != "encoder":
            raise ValueError(f"backbone must name a registered encoder, {backbone!r} is a {info.get('kind', 'plugin')}")
        accepted = info["params"]
        for name, val in (("in_channels", in_channels), ("num_classes", num_classes)):
            if val is not None and name in accepted and name not in params:
                params[name] = val
        self.backbone = ga.create("encoder", backbone, **params)
        self.epsilon, self.dual_lr, self.mh_steps, self.n_aug = float(epsilon), float(dual_lr), mh_steps, n_aug
        self.register_buffer("dual", torch.tensor(float(dual_init)))
        self.register_buffer("op_counts", torch.zeros(len(self.space), dtype=torch.long))
        self.generator = torch.Generator().manual_seed(seed)
        self.last_stats: dict[str, float] = {}
        self.history: list[dict[str, Any]] = []

    @property
    def ops(self) -> list[str]:
        return self.space.ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of images, got {type(x).__name__}")
        if x.dim() != 4:
            raise ValueError(f"x must have shape (B, C, H, W), got {tuple(x.shape)}")
        if not torch.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values")
        return self.backbone(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        emb = getattr(self.backbone, "embed", None)
        return emb(x) if emb is not None else self.backbone(x)

    @torch.no_grad()
    def sample_augmentations(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[..., torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Run the MH chain for each sample; return the last ``n_aug`` states' images, ops, levels."""
        B = x.shape[0]
        op, level = self.space.sample(self.mh_steps * B, self.generator)
        xs = self.space.apply(x.repeat(self.mh_steps, 1, 1, 1), op, level)
        ys = y.repeat(self.mh_steps, *([1] * (y.dim() - 1)))
        losses = per_sample_loss(loss_fn, self.backbone(xs), ys).reshape(self.mh_steps, B).float()
        states, rate = metropolis_hastings(losses, self.generator)
        keep = states[-self.n_aug :]  # (n_aug, B): proposal index per kept step
        flat = (keep * B + torch.arange(B)[None]).reshape(-1)
        self.last_stats["accept_rate"] = float(rate)
        return xs[flat], op[flat], level[flat]

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[..., torch.Tensor]) -> torch.Tensor:
        """One primal-dual step: MH sampling, primal loss ``l + gamma l_aug``, dual ascent on ``gamma``."""
        if x.shape[0] == 0:
            raise ValueError("empty batch")
        x_aug, op, _ = self.sample_augmentations(x, y, loss_fn)
        self.op_counts += torch.bincount(op, minlength=len(self.space))
        loss = loss_fn(self(x), y)
        aug_loss = loss_fn(self(x_aug), y.repeat(self.n_aug, *([1] * (y.dim() - 1))))
        total = loss + self.dual.detach().clone() * aug_loss  # gamma of this step (updated below)
        with torch.no_grad():
            self.dual.copy_(torch.relu(self.dual + self.dual_lr * (aug_loss.detach() - self.epsilon)))
        self.last_stats.update({"loss": float(loss.detach()), "aug_loss": float(aug_loss.detach()), "dual": float(self.dual)})
        return total

    def on_epoch_end(self, epoch: int) -> None:
        """Keep the per-epoch histogram of sampled ops and the dual variable (see :attr:`history`)."""
        self.history.append({"epoch": epoch + 1, "dual": float(self.dual), "counts": self.sampled_histogram()})
        self.op_counts.zero_()

    def sampled_histogram(self) -> dict[str, int]:
        """How often each op was used as an augmentation since the last epoch end."""
        return {name: int(c) for name, c in zip(self.space.ops, self.op_counts.tolist(), strict=True)}
