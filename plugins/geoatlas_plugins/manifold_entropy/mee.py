"""Manifold entropy estimation (MEE / MaEM-GAN; Liu et al., AAAI 2023, arXiv 2208.12055).

The discriminator's embedding e = D(x) in R^k is the "manifold". Its entropy is estimated by the
log of the mean squared nearest-neighbour distance to a replay buffer,

    H(e) = log( 1/B sum_i min_b ||e_i - b||^2 / k ),

maximised for real embeddings (discriminator) and fake ones (generator). Two regularisers keep
the embedding a well-behaved manifold: DLLE (an input and its slightly perturbed copy embed
alike) and DIsoMap (the embedding of a mix of two inputs is the mix of their embeddings).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss, Measure
from geoatlas.validation import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt


def _check_emb(e: Any, what: str = "embeddings") -> torch.Tensor:
    if not isinstance(e, torch.Tensor):
        raise TypeError(f"{what} must be a torch tensor, got {type(e).__name__}")
    if e.ndim != 2 or e.shape[0] < 1 or e.shape[1] < 1:
        raise ValueError(f"{what} must have shape (batch, k) with batch >= 1, got {tuple(e.shape)}")
    if not torch.isfinite(e).all():
        raise ValueError(f"{what} contains NaN or Inf")
    return e


def nn_sq_distances(e: torch.Tensor, ref: torch.Tensor | None = None) -> torch.Tensor:
    """Squared distance of each row of ``e`` to its nearest row of ``ref`` (``ref=None``: the
    other rows of ``e``), divided by the dimension ``k``."""
    k = e.shape[1]
    if ref is None:
        if e.shape[0] < 2:
            raise ValueError("the entropy estimate needs at least 2 embeddings when there is no buffer")
        d = torch.cdist(e, e).pow(2)
        d = d + torch.diag(torch.full((e.shape[0],), float("inf"), dtype=d.dtype))
    else:
        d = torch.cdist(e, ref).pow(2)
    return d.min(1).values / k


def manifold_entropy(e: torch.Tensor, ref: torch.Tensor | None = None, eps: float = 0.0) -> torch.Tensor:
    """``log mean_i min_b ||e_i - b||^2 / k`` (differentiable in ``e``)."""
    return torch.log(nn_sq_distances(e, ref).mean() + eps)


def kozachenko_leonenko(e: np.ndarray) -> float:
    """The Kozachenko-Leonenko (1-NN) differential entropy estimate in nats:
    ``psi(n) - psi(1) + log V_d + d/n sum_i log r_i`` (``V_d`` the unit-ball volume)."""
    from scipy.spatial import cKDTree
    from scipy.special import digamma, gammaln

    n, d = e.shape
    r = cKDTree(e).query(e, k=2)[0][:, 1]
    r = np.maximum(r, 1e-300)
    logv = d / 2 * math.log(math.pi) - gammaln(d / 2 + 1)
    return float(digamma(n) - digamma(1) + logv + d * np.mean(np.log(r)))


class EntropyBuffer(torch.nn.Module):
    """The replay buffer of past embeddings.

    ``mode="paper"``: a FIFO of the last ``size`` embeddings, the nearest neighbour searched over
    all of them. ``mode="reference_code"``: the authors' ``train.py`` behaviour, a tensor
    ``(size, B, k)`` initialised U(-1, 1); sample ``i`` is compared only with column ``i``; each
    update keeps ``buffer[B:]`` and appends the new batch as one slot, so the buffer shrinks by
    ``B - 1`` slots per step down to the previous batch only.
    """

    def __init__(self, size: int = 1024, mode: str = "paper", seed: int = 0) -> None:
        super().__init__()
        if mode not in ("paper", "reference_code"):
            raise ValueError(f"buffer_mode must be 'paper' or 'reference_code', got {mode!r}")
        self.size, self.mode, self.seed = size, mode, seed
        self.register_buffer("memory", torch.zeros(0))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def _init_reference(self, e: torch.Tensor) -> None:
        g = torch.Generator().manual_seed(self.seed)
        self.memory = (torch.rand(self.size, e.shape[0], e.shape[1], generator=g, dtype=e.dtype) * 2 - 1)

    def entropy(self, e: torch.Tensor) -> torch.Tensor:
        if self.mode == "paper":
            ref = self.memory if self.memory.numel() else None
            if ref is not None and ref.shape[1] != e.shape[1]:
                raise ValueError(f"embeddings have k={e.shape[1]}, the buffer holds k={ref.shape[1]}")
            return manifold_entropy(e, ref)
        if self.memory.numel() == 0:
            self._init_reference(e)
        if self.memory.shape[1:] != e.shape:
            raise ValueError(f"reference_code buffer mode needs a fixed batch shape {tuple(self.memory.shape[1:])}, got {tuple(e.shape)}")
        d = (e[None] - self.memory).pow(2).sum(-1) / e.shape[1]  # (slots, B): sample i vs column i only
        return torch.log(d.min(0).values.mean())

    @torch.no_grad()
    def update(self, e: torch.Tensor) -> None:
        e = e.detach()
        if self.mode == "paper":
            mem = torch.cat([self.memory, e]) if self.memory.numel() else e.clone()
            self.memory = mem[-self.size:]
        else:
            if self.memory.numel() == 0:
                self._init_reference(e)
            self.memory = torch.cat([self.memory[e.shape[0]:], e[None]])
        self.count += 1

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any, **kwargs: Any) -> None:
        key = prefix + "memory"
        if key in state_dict:  # the buffer's size changes while training
            self.memory = torch.empty_like(state_dict[key])
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def dlle_loss(model: Any, x: torch.Tensor, x_aug: torch.Tensor) -> torch.Tensor:
    """DLLE: ``MSE(D(x), sg D(aug(x)))``."""
    with torch.no_grad():
        target = model(x_aug)
    return F.mse_loss(model(x), target)


def augment(x: torch.Tensor, generator: torch.Generator | None = None, noise: float = 1e-3) -> torch.Tensor:
    """The reference's DLLE augmentation: a random flip along H or W for images (N, C, H, W),
    plus ``noise * N(0, 1)``; vectors get the noise only."""
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype)
    if x.ndim == 4:
        axis = 2 + int(torch.randint(0, 2, (1,), generator=generator))
        x = torch.flip(x, dims=(axis,))
    return x + noise * eps


def disomap_loss(model: Any, x_a: torch.Tensor, x_b: torch.Tensor, generator: torch.Generator | None = None,
                 alpha: str = "normal", target_noise: float = 0.05) -> torch.Tensor:
    """DIsoMap: ``MSE(D(a x_a + (1-a) x_b), sg(a D(x_a) + (1-a) D(x_b) + N(0, target_noise^2)))``,
    ``a ~ N(0, 1)`` per sample (the reference code) or ``U(0, 1)``."""
    n = x_a.shape[0]
    shape = (n,) + (1,) * (x_a.ndim - 1)
    a = torch.randn(shape, generator=generator, dtype=x_a.dtype) if alpha == "normal" else torch.rand(shape, generator=generator, dtype=x_a.dtype)
    with torch.no_grad():
        ea, eb = model(x_a), model(x_b)
        ae = a.reshape(n, *([1] * (ea.ndim - 1)))
        target = ae * ea + (1 - ae) * eb + target_noise * torch.randn(ea.shape, generator=generator, dtype=ea.dtype)
    return F.mse_loss(model(a * x_a + (1 - a) * x_b), target)


class MEELoss(Loss):
    """Loss ``mee``: manifold entropy maximisation with the DLLE and DIsoMap regularisers.

    ``loss(outputs, batch)`` with ``outputs`` the embeddings (B, k) of ``batch["x"]`` (or a list
    of view embeddings, the first is used for the entropy) returns
    ``-w_t H(e) + dlle_weight * DLLE + disomap_weight * DIsoMap``, where ``w_t`` ramps linearly from
    0 to ``weight`` over ``warmup_epochs`` (``batch["epoch"]``), and DLLE / DIsoMap are computed with
    the bound model (``bind``) on ``batch["x"]`` (DIsoMap mixes the batch with a shuffled copy).
    For GANs use :meth:`discriminator_loss` / :meth:`generator_loss` (two buffers: real, fake).

    Parameters
    ----------
    weight: entropy weight ``w`` (reference code ``entropy_lr`` default 1.0).
    buffer_size: replay buffer size (1024). buffer_mode: ``"paper"`` (FIFO) or ``"reference_code"``.
    warmup_epochs: linear warm-up of ``w`` (100 in the reference; 0 = none).
    dlle_weight, disomap_weight: weights of the two regularisers (1.0 each).
    alpha: DIsoMap mixing weights, ``"normal"`` (N(0,1), reference code) or ``"uniform"``.
    aug_noise, target_noise: DLLE input noise (1e-3) and DIsoMap target noise (0.05).
    """

    requires = ("x",)
    batch_size_independent = False

    def __init__(self, weight: NonNegativeFloat = 1.0, buffer_size: PositiveInt = 1024,
                 buffer_mode: Literal["paper", "reference_code"] = "paper", warmup_epochs: NonNegativeInt = 100,
                 dlle_weight: NonNegativeFloat = 1.0, disomap_weight: NonNegativeFloat = 1.0,
                 alpha: Literal["normal", "uniform"] = "normal", aug_noise: NonNegativeFloat = 1e-3,
                 target_noise: NonNegativeFloat = 0.05, seed: int = 0) -> None:
        super().__init__()
        for name, v in (("weight", weight), ("dlle_weight", dlle_weight), ("disomap_weight", disomap_weight),
                        ("aug_noise", aug_noise), ("target_noise", target_noise)):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        for name, v, lo in (("buffer_size", buffer_size, 1), ("warmup_epochs", warmup_epochs, 0)):
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ValueError(f"{name} must be an integer >= {lo}, got {v!r}")
        if buffer_mode not in ("paper", "reference_code"):
            raise ValueError(f"buffer_mode must be 'paper' or 'reference_code', got {buffer_mode!r}")
        if alpha not in ("normal", "uniform"):
            raise ValueError(f"alpha must be 'normal' or 'uniform', got {alpha!r}")
        self.weight, self.warmup_epochs = float(weight), warmup_epochs
        self.dlle_weight, self.disomap_weight, self.alpha = float(dlle_weight), float(disomap_weight), alpha
        self.aug_noise, self.target_noise = float(aug_noise), float(target_noise)
        self.real = EntropyBuffer(buffer_size, buffer_mode, seed)
        self.fake = EntropyBuffer(buffer_size, buffer_mode, seed + 1)
        self._gen = torch.Generator().manual_seed(seed)
        self._model: Any = None

    def bind(self, model: torch.nn.Module) -> None:
        # a plain reference, not a submodule: the model's parameters stay out of the loss's own
        # parameters (the optimiser would see them twice) and out of its checkpoint
        self.__dict__["_model"] = model

    def entropy_weight(self, epoch: int | None) -> float:
        if not self.warmup_epochs or epoch is None:
            return self.weight
        return self.weight * min(1.0, float(epoch) / self.warmup_epochs)

    def entropy_term(self, e: torch.Tensor, buffer: EntropyBuffer) -> torch.Tensor:
        h = buffer.entropy(_check_emb(e))
        buffer.update(e)
        return h

    def regularisers(self, model: Any, x: torch.Tensor, x_other: torch.Tensor | None = None) -> torch.Tensor:
        """``dlle_weight * DLLE(x) + disomap_weight * DIsoMap(x, x_other)``."""
        out = torch.zeros((), dtype=torch.float32)
        if self.dlle_weight:
            out = out + self.dlle_weight * dlle_loss(model, x, augment(x, self._gen, self.aug_noise))
        if self.disomap_weight:
            if x_other is None:
                x_other = x[torch.randperm(x.shape[0], generator=self._gen)]
            out = out + self.disomap_weight * disomap_loss(model, x, x_other, self._gen, self.alpha, self.target_noise)
        return out

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        e = outputs[0] if isinstance(outputs, list | tuple) else outputs
        e = _check_emb(e, "outputs")
        w = self.entropy_weight(batch.get("epoch"))
        loss = -w * self.entropy_term(e, self.real)
        if self._model is not None and (self.dlle_weight or self.disomap_weight) and "x" in batch:
            loss = loss + self.regularisers(self._model, batch["x"])
        return loss

    # -- GAN helpers (the paper's MaF adversarial losses + MEE terms)
    def discriminator_loss(self, D: Any, x_real: torch.Tensor, x_fake: torch.Tensor, epoch: int | None = None) -> torch.Tensor:
        """``-mean D(x_r) + mean D(x_f) - w H(D(x_r)) + DLLE(real, fake) + DIsoMap(real, fake)``."""
        er, ef = D(x_real), D(x_fake)
        loss = -er.mean() + ef.mean() - self.entropy_weight(epoch) * self.entropy_term(er, self.real)
        if self.dlle_weight:
            loss = loss + self.dlle_weight * (dlle_loss(D, x_real, augment(x_real, self._gen, self.aug_noise))
                                              + dlle_loss(D, x_fake, augment(x_fake, self._gen, self.aug_noise)))
        if self.disomap_weight:
            loss = loss + self.disomap_weight * disomap_loss(D, x_real, x_fake, self._gen, self.alpha, self.target_noise)
        return loss

    def generator_loss(self, D: Any, x_fake: torch.Tensor, epoch: int | None = None) -> torch.Tensor:
        """``-mean D(G(z)) - w H(D(G(z)))`` (the fake buffer)."""
        ef = D(x_fake)
        return -ef.mean() - self.entropy_weight(epoch) * self.entropy_term(ef, self.fake)


class EmbeddingEntropy(Measure):
    """Measure ``embedding_entropy``: the MEE estimate ``log mean_i min_{j != i} ||e_i - e_j||^2 / k``
    of a set of embeddings (``data["X"]``, or ``model(X)`` when a model is given), beside the
    Kozachenko-Leonenko 1-NN entropy (nats) and the dimension ``k``."""

    needs_model = False

    def __init__(self, max_samples: PositiveInt = 5000, seed: int = 0, batch_size: PositiveInt = 1024,
                 scale: PositiveFloat = 1.0) -> None:
        self.max_samples, self.seed, self.batch_size, self.scale = max_samples, seed, batch_size, float(scale)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if data is None or "X" not in data:
            raise ValueError("embedding_entropy needs data={'X': ...}")
        X = data["X"]
        if model is not None:
            was = getattr(model, "training", False)
            if hasattr(model, "eval"):
                model.eval()
            with torch.no_grad():
                Xt = torch.as_tensor(np.asarray(X) if not isinstance(X, torch.Tensor) else X, dtype=torch.float32)
                E = torch.cat([model(Xt[i:i + self.batch_size]).reshape(min(self.batch_size, len(Xt) - i), -1)
                               for i in range(0, len(Xt), self.batch_size)]).double().numpy()
            if hasattr(model, "train"):
                model.train(was)
        else:
            E = np.asarray(X.detach().cpu() if isinstance(X, torch.Tensor) else X, dtype=np.float64)
            E = E.reshape(len(E), -1) if E.ndim > 2 else E
        if E.ndim != 2 or len(E) < 2 or E.shape[1] < 1:
            raise ValueError(f"X must give at least 2 embeddings of shape (n, k), got {E.shape}")
        if not np.isfinite(E).all():
            raise ValueError("X (or the model's embeddings) contains NaN or Inf")
        if len(E) > self.max_samples:
            E = E[np.random.default_rng(self.seed).choice(len(E), self.max_samples, replace=False)]
        E = E * self.scale
        h = float(manifold_entropy(torch.as_tensor(E)))
        return {"mee_entropy": h, "kl_entropy": kozachenko_leonenko(E), "k": float(E.shape[1]), "n": float(len(E))}
