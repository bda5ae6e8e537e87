"""OBoW: online bag-of-visual-words generation for self-supervised learning (Gidaris et al., CVPR 2021).

Two components, because a geoatlas :class:`~geoatlas.interfaces.Loss` sees only the model's
outputs and never the model itself:

* encoder ``obow_cnn`` -- the student convnet together with its teacher, an exponential moving
  average (EMA) of the student's parameters with the paper's cosine momentum schedule. In
  evaluation mode it returns the student's globally average-pooled features (the representation);
  in training mode it returns a dict with the student features and the teacher's feature maps.
* loss ``obow`` -- the BoW targets of the teacher maps over an online, queue-based vocabulary
  (soft or hard assignment, max-pooling then L1), the dynamic BoW-prediction head (a weight
  generator applied to the vocabulary) and the cross-entropy between the two.
"""

from __future__ import annotations

import copy
import math
from typing import Annotated, Any, Literal

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from geoatlas.interfaces import Encoder, Loss
from geoatlas.validation import (
    PositiveFloat,
    PositiveInt,
    Size,
    check_params,
    check_tensor,
    check_weights,
)

Momentum = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


# ---------------------------------------------------------------------------- schedules and codes
def momentum_schedule(step: int, alpha: float, total_steps: int, cosine: bool = True) -> float:
    r"""The teacher's EMA coefficient at optimisation step ``step`` (0-based).

    Cosine schedule of the authors' code: :math:`\alpha_i = 1 - (1 - \alpha_0)(\cos(\pi i / T) + 1)/2`,
    from :math:`\alpha_0` at :math:`i = 0` to 1 at :math:`i = T`; steps beyond ``T`` keep 1 (the
    teacher is frozen). ``cosine=False`` gives the constant :math:`\alpha_0`.
    """
    if not cosine:
        return float(alpha)
    i = min(int(step), int(total_steps))
    return 1.0 - (1.0 - alpha) * (math.cos(math.pi * i / total_steps) + 1.0) / 2.0


def word_distances(features: torch.Tensor, words: torch.Tensor) -> torch.Tensor:
    r"""Squared Euclidean distances :math:`d_k(u) = \|u - v_k\|^2` between every location ``u`` of
    a feature map ``(B, C, H, W)`` and every word ``v_k`` of ``words`` ``(K, C)``: ``(B, K, H, W)``."""
    f2 = features.pow(2).sum(1, keepdim=True)
    w2 = words.pow(2).sum(1).view(1, -1, 1, 1)
    cross = torch.einsum("bchw,kc->bkhw", features, words)
    return (f2 + w2 - 2.0 * cross).clamp_min(0.0)


def assignment_codes(dist: torch.Tensor, inv_delta: float | None, mean_min_dist: torch.Tensor | float) -> torch.Tensor:
    r"""Assignment codes over the words (dimension 1 of ``dist``).

    Soft: :math:`c_k = \mathrm{softmax}_k(-(\delta^{-1}/\bar\mu)\, d_k)`; hard (``inv_delta=None``):
    the one-hot code of :math:`\arg\min_k d_k`.
    """
    if inv_delta is None:
        return torch.zeros_like(dist).scatter_(1, dist.argmin(1, keepdim=True), 1.0)
    return F.softmax(-(inv_delta / mean_min_dist) * dist, dim=1)


def bow_from_codes(codes: torch.Tensor, pool: str = "max") -> torch.Tensor:
    """Reduce codes ``(B, K, H, W)`` to BoW vectors ``(B, K)``: max- (or average-) pooling over
    the locations, then L1 normalisation."""
    flat = codes.flatten(2)
    bow = flat.amax(2) if pool == "max" else flat.mean(2)
    return bow / bow.sum(1, keepdim=True).clamp_min(1e-12)


def bow_perplexity(bow: torch.Tensor) -> tuple[float, float]:
    r"""Perplexities :math:`\exp H` of BoW vectors ``(B, K)``: of the batch's summed BoW, and the
    mean over images of each image's BoW (the authors' monitoring of collapse, without their
    ``1e-5`` inside the log)."""
    if bow.dim() != 2 or bow.shape[0] == 0:
        raise ValueError(f"bow must be a non-empty (B, K) tensor, got shape {tuple(bow.shape)}")
    p_img = bow / bow.sum(1, keepdim=True)
    h_img = -torch.special.xlogy(p_img, p_img).sum(1)
    tot = bow.sum(0)
    p_b = tot / tot.sum()
    h_b = -torch.special.xlogy(p_b, p_b).sum()
    return float(h_b.exp()), float(h_img.exp().mean())


# ---------------------------------------------------------------------------- encoder
class _Backbone(nn.Module):
    def __init__(self, in_channels: int, channels: list[int]) -> None:
        super().__init__()
        stages = []
        c = in_channels
        for i, w in enumerate(channels):
            stages.append(nn.Sequential(
                nn.Conv2d(c, w, 3, stride=1 if i == 0 else 2, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
            ))
            c = w
        self.stages = nn.ModuleList(stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for s in self.stages:
            x = s(x)
            maps.append(x)
        return maps


class OBoWEncoder(Encoder):
    r"""Student convnet with an EMA teacher, for OBoW pre-training (``obow`` loss).

    Stages of one 3x3 conv-BN-ReLU layer each (stride 2 in every stage but the first) on the input upsampled by ``upsample``. The representation is the global average of
    the student's last feature map (not normalised), as the features OBoW predicts BoW from.

    In training mode ``forward`` returns ``{"features": (B, C_last), "teacher_maps": [...]}`` with
    the teacher's last ``bow_levels`` feature maps (no gradient). Before the first forward after
    each optimiser step the teacher is moved towards the student,
    :math:`\theta_t \leftarrow \alpha_i \theta_t + (1 - \alpha_i)\theta_s`, with the cosine schedule
    of :func:`momentum_schedule` (as the authors' builder does at the start of its forward).

    Parameters
    ----------
    in_channels : int
        Image channels.
    channels : list of int
        Widths of the stages (default ``[32, 64]``).
    bow_levels : int
        How many of the last stages give BoW targets: 2 is the paper's "full" OBoW (ResNet
        block3 + block4), 1 its "vanilla" version.
    upsample : int
        Integer factor of bilinear upsampling of the input (2: 8x8 digits become 16x16).
    alpha : float
        Base momentum :math:`\alpha_0` (0.99, the paper's).
    total_steps : int
        :math:`T`, the number of optimisation steps of the schedule (epochs x batches per epoch).
    cosine : bool
        Cosine schedule from :math:`\alpha_0` to 1 (the paper's) or a constant :math:`\alpha_0`.
    """

    input_type = "image"

    def __init__(
        self,
        in_channels: Size,
        channels: list[Size] | None = None,
        bow_levels: PositiveInt = 2,
        upsample: PositiveInt = 2,
        alpha: Momentum = 0.99,
        total_steps: PositiveInt = 1000,
        cosine: bool = True,
    ) -> None:
        super().__init__()
        channels = [32, 64] if channels is None else list(channels)
        if not channels:
            raise ValueError("obow_cnn: parameter 'channels' must name at least one stage width")
        if bow_levels > len(channels):
            raise ValueError(f"obow_cnn: parameter 'bow_levels' ({bow_levels}) exceeds the number of stages ({len(channels)})")
        if upsample > 16:
            raise ValueError(f"obow_cnn: parameter 'upsample' must be <= 16, got {upsample}")
        cs = [in_channels, *channels]
        check_weights("obow_cnn", *[(a, b, 3, 3) for a, b in zip(cs[:-1], cs[1:], strict=False)])
        self.in_channels, self.channels = in_channels, channels
        self.bow_levels, self.upsample = bow_levels, upsample
        self.alpha, self.total_steps, self.cosine = float(alpha), total_steps, cosine
        self.student = _Backbone(in_channels, channels)
        self.teacher = copy.deepcopy(self.student)
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.register_buffer("ema_step", torch.zeros((), dtype=torch.long))
        self._seen: list[torch.Tensor] | None = None  # student parameters at the last teacher update

    @property
    def feature_dim(self) -> int:
        return self.channels[-1]

    @property
    def bow_channels(self) -> list[int]:
        """Channels of the teacher maps given to the loss (its ``num_channels``)."""
        return self.channels[-self.bow_levels:]

    def _prepare(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ValueError(f"obow_cnn expects images (N, C, H, W), got shape {tuple(x.shape)}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"obow_cnn expects {self.in_channels} input channels, got {x.shape[1]}")
        if self.upsample > 1:
            x = F.interpolate(x, scale_factor=self.upsample, mode="bilinear", align_corners=False)
        return x

    @torch.no_grad()
    def update_teacher(self) -> float:
        """One EMA step of the teacher at the current schedule position; returns the coefficient used."""
        a = momentum_schedule(int(self.ema_step), self.alpha, self.total_steps, self.cosine)
        if a < 1.0:
            for ps, pt in zip(self.student.parameters(), self.teacher.parameters(), strict=False):
                pt.mul_(a).add_(ps.detach(), alpha=1.0 - a)
        self.ema_step += 1
        self._seen = [p.detach().clone() for p in self.student.parameters()]
        return a

    def _student_changed(self) -> bool:
        if self._seen is None:
            return True
        return any(not torch.equal(a, b) for a, b in zip(self._seen, self.student.parameters(), strict=False))

    def forward(self, x: torch.Tensor) -> Any:
        x = self._prepare(x)
        if not self.training:
            return self.student(x)[-1].mean(dim=(2, 3))
        if self._student_changed():
            self.update_teacher()
        feats = self.student(x)[-1].mean(dim=(2, 3))
        with torch.no_grad():
            tmaps = [m.detach() for m in self.teacher(x)[-self.bow_levels:]]
        return {"features": feats, "teacher_maps": tmaps}


# ---------------------------------------------------------------------------- loss
class _L2Normalize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(x, dim=1)


class OBoWLoss(Loss):
    r"""The OBoW objective: predict the teacher's bag of visual words from a perturbed view.

    ``outputs`` is the list of view outputs of an ``obow_cnn`` in training mode (at least two
    views). The teacher maps of view 0 give the targets; the student features of every other view
    predict them. For each BoW level with teacher map :math:`u` (borders cropped by one location):

    * distances :math:`d_k(u) = \|u - v_k\|^2` to the words :math:`v_k` of the level's vocabulary;
    * codes :math:`c_k(u) = \mathrm{softmax}_k(-(\delta^{-1}/\bar\mu)\, d_k(u))`, with :math:`\bar\mu`
      an EMA (decay 0.99) of the batch mean of :math:`\min_k d_k`; hard codes when ``inv_delta`` is None;
    * target :math:`y = \mathrm{L1}(\max_u c(u))`;
    * prediction :math:`\mathrm{softmax}(\kappa\, \bar f^\top G(V))` with the generator
      :math:`G` = L2-normalise, Linear(C, 2D, no bias), BN, ReLU, Linear(2D, D), L2-normalise,
      applied to every word, and :math:`\bar f` the student's pooled features;
    * loss :math:`\mathrm{KL}(y \,\|\, \mathrm{softmax}(\cdot))` averaged over the predicting rows
      (the cross-entropy minus the targets' entropy, the same gradient), then averaged over levels.

    Afterwards (training mode) each vocabulary is updated online: the teacher map is 3x3
    average-pooled, one random location per image is enqueued, overwriting the oldest words.

    Parameters
    ----------
    num_channels : int or list of int
        Channels of the teacher maps, one entry per BoW level (the encoder's ``bow_channels``).
    feature_dim : int
        Size :math:`D` of the student's pooled features.
    num_words : int
        Vocabulary size :math:`K` per level (8192 in the paper).
    inv_delta : float or None
        :math:`\delta^{-1}`, the base inverse temperature of the soft codes (15 in the paper's
        full OBoW, 10 in its vanilla one); None for hard assignment.
    kappa : float
        :math:`\kappa`, the fixed scale of the prediction logits (8 full, 5 vanilla).
    bow_pool : {"max", "avg"}
        Pooling of the codes over locations (max in the paper).
    """

    requires = ()
    batch_size_independent = True

    def __init__(
        self,
        num_channels: Size | list[Size],
        feature_dim: Size,
        num_words: Size = 8192,
        inv_delta: PositiveFloat | None = 15.0,
        kappa: PositiveFloat = 8.0,
        bow_pool: Literal["max", "avg"] = "max",
        alpha: Momentum = 0.99,
        total_steps: PositiveInt = 1000,
        cosine: bool = True,
        bow_layers: list[str] | None = None,
    ) -> None:
        super().__init__()
        check_params(type(self), num_channels=num_channels, feature_dim=feature_dim, num_words=num_words,
                     inv_delta=inv_delta, kappa=kappa, bow_pool=bow_pool, alpha=alpha, total_steps=total_steps,
                     cosine=cosine)
        levels = [num_channels] if isinstance(num_channels, int) else list(num_channels)
        if not levels:
            raise ValueError("obow: parameter 'num_channels' must name at least one BoW level")
        check_weights("obow", *[(num_words, c) for c in levels], *[(c, 2 * feature_dim) for c in levels])
        self.levels, self.feature_dim, self.num_words = levels, feature_dim, num_words
        self.inv_delta = None if inv_delta is None else float(inv_delta)
        self.kappa, self.bow_pool, self.decay = float(kappa), bow_pool, 0.99
        for i, c in enumerate(levels):
            self.register_buffer(f"words_{i}", torch.randn(num_words, c).clamp_min(0.0))
            self.register_buffer(f"ptr_{i}", torch.zeros((), dtype=torch.long))
            self.register_buffer(f"mean_min_dist_{i}", torch.full((), 0.5))
        self.generators = nn.ModuleList(
            nn.Sequential(_L2Normalize(), nn.Linear(c, 2 * feature_dim, bias=False), nn.BatchNorm1d(2 * feature_dim),
                          nn.ReLU(), nn.Linear(2 * feature_dim, feature_dim), _L2Normalize())
            for c in levels
        )
        self.last_perplexity: dict[str, float] = {}
        # teacher of a bound encoder (any registered convnet; see bind)
        self.alpha, self.total_steps, self.cosine = float(alpha), int(total_steps), bool(cosine)
        if bow_layers is not None and len(bow_layers) != len(levels):
            raise ValueError(f"obow: parameter 'bow_layers' names {len(bow_layers)} modules, num_channels {len(levels)} BoW levels")
        self.bow_layers = None if bow_layers is None else [str(n) for n in bow_layers]
        self.teacher: nn.Module | None = None
        self.register_buffer("ema_step", torch.zeros((), dtype=torch.long))
        self._online: list[nn.Module] = []  # the trained encoder, held outside the module tree
        self._captured: dict[str, torch.Tensor] = {}
        self._order: list[str] = []

    # -- teacher of a bound encoder
    def bind(self, model: nn.Module) -> None:
        """Take the teacher: an EMA copy of the whole ``model`` (equal weights at the start, not
        optimised, checkpointed with the loss), whose 4-d activations of the modules ``bow_layers``
        (default: the last module that outputs a 4-d map; one BoW level) give the BoW targets.
        An ``obow_cnn`` keeps its own teacher: binding it does nothing."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"obow.bind takes the encoder being trained (a torch.nn.Module), got {type(model).__name__}")
        if isinstance(model, OBoWEncoder):
            self.teacher, self._online = None, []
            return
        if self.bow_layers is None and len(self.levels) != 1:
            raise ValueError("obow: with several BoW levels, name the teacher modules in parameter 'bow_layers'")
        self._online = [model]
        self.teacher = copy.deepcopy(model)
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        modules = dict(self.teacher.named_modules())
        if self.bow_layers is not None:
            missing = [n for n in self.bow_layers if n not in modules]
            if missing:
                raise ValueError(f"obow: parameter 'bow_layers' names modules the encoder does not have: {missing}")
            names = self.bow_layers
        else:
            names = [n for n, m in modules.items() if n and not list(m.children())]
        self._order = []
        for n in names:
            modules[n].register_forward_hook(self._capture_hook(n))

    def _capture_hook(self, name: str) -> Any:
        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if isinstance(output, torch.Tensor) and output.dim() == 4:
                self._captured[name] = output.detach()
                if name not in self._order:
                    self._order.append(name)
        return hook

    @torch.no_grad()
    def update_teacher(self) -> float:
        r"""One EMA step of the bound teacher, :math:`\theta_t \leftarrow \alpha_i \theta_t + (1-\alpha_i)\theta_s`,
        at the cosine schedule's position (:func:`momentum_schedule`); returns :math:`\alpha_i`."""
        if self.teacher is None or not self._online:
            raise RuntimeError("obow: update_teacher needs a bound encoder (call bind(model) first)")
        a = momentum_schedule(int(self.ema_step), self.alpha, self.total_steps, self.cosine)
        if a < 1.0:
            for ps, pt in zip(self._online[0].parameters(), self.teacher.parameters(), strict=True):
                pt.mul_(a).add_(ps.detach(), alpha=1.0 - a)
        self.ema_step += 1
        return a

    @torch.no_grad()
    def teacher_maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The bound teacher's BoW feature maps of images ``x``: the outputs of ``bow_layers``
        (or of the last module with a 4-d output), in level order."""
        if self.teacher is None:
            raise RuntimeError("obow: teacher_maps needs a bound encoder (call bind(model) first)")
        self._captured = {}
        self.teacher.train(self._online[0].training if self._online else self.training)
        self.teacher(x)
        if self.bow_layers is not None:
            names = self.bow_layers
            if any(n not in self._captured for n in names):
                raise ValueError(f"obow: modules {[n for n in names if n not in self._captured]} of 'bow_layers' gave no 4-d feature map")
        else:
            names = [n for n in self._order if n in self._captured][-1:]
            if not names:
                raise ValueError("obow: the bound encoder produced no 4-d feature map for the BoW targets (name one in 'bow_layers')")
        return [self._captured[n] for n in names]

    def words(self, level: int = 0) -> torch.Tensor:
        """The current vocabulary of a level, ``(K, C)``."""
        return getattr(self, f"words_{level}")

    # -- targets
    @torch.no_grad()
    def bow_targets(self, tmap: torch.Tensor, level: int = 0, update: bool | None = None) -> torch.Tensor:
        """BoW targets ``(B, K)`` of one teacher map ``(B, C, H, W)``; in training mode (or with
        ``update=True``) also updates the level's running mean distance and its vocabulary."""
        update = self.training if update is None else update
        u = tmap[:, :, 1:-1, 1:-1]
        if u.shape[-1] < 1 or u.shape[-2] < 1:
            raise ValueError(f"obow: teacher maps must be at least 3x3 (borders are cropped by 1), got {tuple(tmap.shape)}")
        words = self.words(level)
        dist = word_distances(u, words)
        mmd = getattr(self, f"mean_min_dist_{level}")
        if update:
            mmd.mul_(self.decay).add_(dist.amin(1).mean(), alpha=1.0 - self.decay)
            self._enqueue(u, level)
        codes = assignment_codes(dist, self.inv_delta, mmd)
        return bow_from_codes(codes, self.bow_pool)

    @torch.no_grad()
    def _enqueue(self, u: torch.Tensor, level: int) -> None:
        pooled = F.avg_pool2d(u, kernel_size=3, stride=1) if min(u.shape[-2:]) >= 3 else u
        flat = pooled.flatten(2)  # (B, C, L)
        b, _, n_loc = flat.shape
        pick = torch.randint(0, n_loc, (b,), device=u.device)
        new = flat[torch.arange(b, device=u.device), :, pick]  # (B, C)
        new = new[-self.num_words:]
        ptr = getattr(self, f"ptr_{level}")
        idx = (int(ptr) + torch.arange(len(new), device=u.device)) % self.num_words
        self.words(level)[idx] = new
        ptr.fill_((int(ptr) + len(new)) % self.num_words)

    # -- prediction
    def logits(self, features: torch.Tensor, level: int, dictionary: torch.Tensor) -> torch.Tensor:
        """Prediction logits ``kappa * f W`` with the generated weights ``W = G(V)^T``."""
        w = self.generators[level](dictionary)  # (K, D)
        return self.kappa * features @ w.T

    def _check(self, outputs: Any) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        if not isinstance(outputs, (list, tuple)) or not outputs or not all(isinstance(o, dict) for o in outputs):
            raise TypeError(
                "obow takes the list of view outputs of an obow_cnn encoder in training mode (dicts with "
                "'features' and 'teacher_maps') or of a bound encoder (tensors (B, D)); give the task views "
                f"with n_views >= 2, got {type(outputs).__name__}"
            )
        if len(outputs) < 2:
            raise ValueError(f"obow needs at least 2 views (one for the teacher's targets, one to predict them), got {len(outputs)}")
        feats, maps = [], []
        for i, o in enumerate(outputs):
            if "features" not in o or "teacher_maps" not in o:
                raise TypeError(f"obow: view {i} output must have keys 'features' and 'teacher_maps', got {sorted(o)}")
            f, tm = o["features"], list(o["teacher_maps"])
            check_tensor(f, f"obow: view {i} features", floating=True)
            if f.dim() != 2 or f.shape[1] != self.feature_dim:
                raise ValueError(f"obow: view {i} features must have shape (B, {self.feature_dim}), got {tuple(f.shape)}")
            if len(tm) != len(self.levels):
                raise ValueError(f"obow: view {i} has {len(tm)} teacher maps, the loss has {len(self.levels)} BoW levels (num_channels)")
            for lvl, (m, c) in enumerate(zip(tm, self.levels, strict=False)):
                check_tensor(m, f"obow: view {i} teacher map {lvl}", floating=True)
                if m.dim() != 4 or m.shape[1] != c or m.shape[0] != f.shape[0]:
                    raise ValueError(f"obow: view {i} teacher map {lvl} must have shape ({f.shape[0]}, {c}, H, W), got {tuple(m.shape)}")
            feats.append(f)
            maps.append(tm)
        if any(f.shape[0] != feats[0].shape[0] for f in feats):
            raise ValueError("obow: all views must have the same batch size")
        return feats, maps

    def _bound_inputs(self, outputs: Any, batch: dict[str, Any]) -> tuple[list[torch.Tensor], list[list[torch.Tensor]]]:
        if self.teacher is None:
            raise TypeError(
                "obow: view embeddings (tensors) need a bound encoder (the trainer calls loss.bind(model); "
                "call it yourself in a hand-written loop), or use the obow_cnn encoder, whose outputs are dicts"
            )
        if len(outputs) < 2:
            raise ValueError(f"obow needs at least 2 views (one for the teacher's targets, one to predict them), got {len(outputs)}")
        views = batch.get("views") if isinstance(batch, dict) else None
        if not isinstance(views, (list, tuple)) or len(views) != len(outputs):
            raise ValueError("obow: a bound encoder needs batch['views'], the list of view inputs (one per output)")
        if self.training:
            self.update_teacher()
        tmaps = self.teacher_maps(views[0])
        return list(outputs), [tmaps] * len(outputs)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        if isinstance(outputs, (list, tuple)) and outputs and all(isinstance(o, torch.Tensor) for o in outputs):
            outputs, maps_ = self._bound_inputs(outputs, batch)
            outputs = [{"features": f, "teacher_maps": m} for f, m in zip(outputs, maps_, strict=True)]
        feats, maps = self._check(outputs)
        student = torch.cat(feats[1:], dim=0)  # (B * (V - 1), D)
        n_rep = len(feats) - 1
        dictionaries = [self.words(lvl).detach().clone() for lvl in range(len(self.levels))]
        losses, perp_b, perp_i = [], [], []
        for lvl in range(len(self.levels)):
            y = self.bow_targets(maps[0][lvl], lvl)
            pb, pi = bow_perplexity(y)
            perp_b.append(pb)
            perp_i.append(pi)
            target = y.repeat(n_rep, 1)
            logp = F.log_softmax(self.logits(student, lvl, dictionaries[lvl]), dim=1)
            kl = (torch.special.xlogy(target, target) - target * logp).sum(1).mean()
            losses.append(kl)
        self.last_perplexity = {"batch": sum(perp_b) / len(perp_b), "image": sum(perp_i) / len(perp_i)}
        return torch.stack(losses).mean()

    def extra_repr(self) -> str:
        return (f"levels={self.levels}, feature_dim={self.feature_dim}, num_words={self.num_words}, "
                f"inv_delta={self.inv_delta}, kappa={self.kappa}, bow_pool={self.bow_pool!r}, "
                f"bound={self.teacher is not None}")
