"""Relative representations (Moschella, Maiorca, Fumero, Norelli, Locatello, Rodolà; ICLR 2023).

An absolute latent ``e_x = E(x)`` is replaced by its cosine similarities to the latents of a fixed
set of anchor samples ``A = {a_1..a_k}``:

    r(x) = [cos(E(x), E(a_1)), ..., cos(E(x), E(a_k))].

``r`` is invariant to any angle-preserving transformation of the latent space (orthogonal maps
and positive rescalings), so two encoders trained independently (different seeds, different
widths) that differ by such a map produce the same relative space, and a decoder trained on one
can be reused on the other without training ("zero-shot stitching"), provided the anchors are
parallel (the same samples are given to both).
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Descriptor, Encoder
from geoatlas.validation import NonNegativeInt, Size, check_weights

__all__ = ["relative_projection", "stratified_anchors", "RelativeProjection", "RelativeHead", "OUTPUT_NORMALIZATIONS"]

OUTPUT_NORMALIZATIONS = ("none", "l2", "layernorm", "batchnorm", "instancenorm")


def relative_projection(x: torch.Tensor, anchors: torch.Tensor) -> torch.Tensor:
    """Cosine similarities ``(n, k)`` of the rows of ``x`` (n, d) to the rows of ``anchors`` (k, d):
    both L2-normalised, then the inner product (the reference's ``l2`` + ``inner`` mode)."""
    return F.normalize(x, dim=-1) @ F.normalize(anchors, dim=-1).T


def stratified_anchors(y: np.ndarray | None, n: int, num_anchors: int, seed: int) -> np.ndarray:
    """Indices of ``num_anchors`` of ``n`` samples drawn without replacement, stratified by ``y``
    (each class in proportion, at least one per class where possible), in a seeded random order."""
    rng = np.random.default_rng(seed)
    if num_anchors > n:
        raise ValueError(f"num_anchors ({num_anchors}) must not exceed the number of samples ({n})")
    if y is None:
        return np.sort(rng.choice(n, size=num_anchors, replace=False))
    y = np.asarray(y)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} labels for {n} samples")
    from sklearn.model_selection import train_test_split

    classes, counts = np.unique(y, return_counts=True)
    if num_anchors == n:
        return np.arange(n)
    if num_anchors < len(classes) or counts.min() < 2 or n - num_anchors < len(classes):
        return np.sort(rng.choice(n, size=num_anchors, replace=False))
    idx, _ = train_test_split(np.arange(n), train_size=num_anchors, stratify=y, random_state=int(rng.integers(2**31 - 1)))
    return np.sort(idx)


def _as_2d(X: Any, what: str) -> Any:
    if isinstance(X, torch.Tensor):
        t = X
    else:
        t = np.asarray(X, dtype=np.float64)
    if t.ndim > 2:  # samples given as arrays (e.g. images): flattened to vectors
        t = t.reshape(t.shape[0], -1)
    if t.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (n_samples, n_features), got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{what} is empty; it must hold at least one sample")
    finite = bool(torch.isfinite(t).all()) if isinstance(t, torch.Tensor) else bool(np.isfinite(t).all())
    if not finite:
        raise ValueError(f"{what} contains NaN or Inf values")
    return t


class RelativeProjection(Descriptor):
    """Relative representation of given (absolute) embeddings: cosine similarity to anchors.

    ``fit(anchors)`` stores the anchor embeddings (all rows of ``anchors``; with ``num_anchors``
    set, a seeded random subset of that many rows, stratified by ``y`` when given);
    ``transform(X)`` returns ``(n, k)`` cosine similarities to the ``k`` anchors. Differentiable:
    a torch tensor in gives a torch tensor out, with gradients.
    """

    input_type: ClassVar[str] = "vector"
    differentiable: ClassVar[bool] = True
    per_sample: ClassVar[bool] = True

    def __init__(self, num_anchors: int | None = None, seed: int = 0) -> None:
        self.num_anchors = num_anchors
        self.seed = seed

    def fit(self, X: Any, y: Any = None) -> RelativeProjection:
        if self.num_anchors is not None and (isinstance(self.num_anchors, bool) or not isinstance(self.num_anchors, int) or self.num_anchors < 1):
            raise ValueError(f"num_anchors must be a positive integer or None, got {self.num_anchors!r}")
        A = _as_2d(X, "anchors")
        if self.num_anchors is not None:
            idx = stratified_anchors(None if y is None else np.asarray(y), A.shape[0], self.num_anchors, self.seed)
            A = A[torch.as_tensor(idx)] if isinstance(A, torch.Tensor) else A[idx]
            self.anchor_indices_ = idx
        if (np.linalg.norm(np.asarray(A.detach() if isinstance(A, torch.Tensor) else A), axis=1) == 0).any():
            raise ValueError("anchors contain a zero vector, whose cosine similarity is undefined")
        self.anchors_ = A
        self.n_features_in_ = A.shape[1]
        return self

    def transform(self, X: Any) -> Any:
        if not hasattr(self, "anchors_"):
            raise ValueError("RelativeProjection is not fitted: call fit(anchors) first")
        X = _as_2d(X, "X")
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, the anchors have {self.n_features_in_}")
        if isinstance(X, torch.Tensor):
            A = torch.as_tensor(self.anchors_, dtype=X.dtype, device=X.device)
            return relative_projection(X, A)
        A = np.asarray(self.anchors_.detach() if isinstance(self.anchors_, torch.Tensor) else self.anchors_, dtype=np.float64)
        return relative_projection(torch.as_tensor(X), torch.as_tensor(A)).numpy()


class RelativeHead(Encoder):
    """A classifier on relative representations, trained end to end.

    ``x -> E(x)`` (ReLU MLP ``in_features -> hidden... -> latent_dim``);
    ``r = cos(E(x), E(anchors))`` with the anchors re-encoded by the current encoder on every
    forward, under ``no_grad`` (as the reference's vision classifier); ``r`` goes through the
    output normalisation (default LayerNorm over the anchors, the reference configs) and a decoder
    (``num_anchors -> decoder_hidden -> num_classes``, ReLU).

    Anchors: :meth:`set_anchors` (raw input samples, e.g. a stratified subset of the training
    set; give both models of a stitching the *same* samples). In a pipeline, the first training
    batch supplies them (a stratified subset of ``num_anchors`` samples of it), so give the model
    a batch size at least the training-set size (or ``num_anchors`` well below the batch size).

    Parameters
    ----------
    in_features, num_classes : int
        Input size and classes (filled in by pipelines).
    hidden : list of int
        Hidden widths of the encoder (default ``[128]``).
    latent_dim : int
        Size of the absolute latent ``E(x)``.
    num_anchors : int
        Number of anchors (reference: 500, stratified).
    output_normalization : {"layernorm", "none", "l2", "batchnorm", "instancenorm"}
        Normalisation of ``r`` before the decoder (reference configs: layernorm).
    decoder_hidden : int
        Hidden width of the decoder (``num_anchors -> decoder_hidden -> num_classes``, ReLU;
        reconstructed). ``0``: a single linear layer ``num_anchors -> num_classes``, the
        reference vision classifier's (``RelResNet.final_layer``) decoder.
    anchor_seed : int
        Seed of the stratified anchor draw in pipelines.
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(
        self,
        in_features: Size,
        num_classes: Size,
        hidden: list[Size] | None = None,
        latent_dim: Size = 32,
        num_anchors: Size = 500,
        output_normalization: str = "layernorm",
        decoder_hidden: NonNegativeInt = 128,
        anchor_seed: int = 0,
    ) -> None:
        super().__init__()
        if output_normalization not in OUTPUT_NORMALIZATIONS:
            raise ValueError(f"output_normalization must be one of {OUTPUT_NORMALIZATIONS}, got {output_normalization!r}")
        widths = [in_features, *([128] if hidden is None else hidden), latent_dim]
        check_weights("RelativeHead", *pairwise(widths), (num_anchors, decoder_hidden or num_classes))
        layers: list[nn.Module] = []
        for a, b in pairwise(widths[:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-2], latent_dim))
        self.encoder = nn.Sequential(*layers)
        self.output_normalization = output_normalization
        self.norm: nn.Module
        if output_normalization == "layernorm":
            self.norm = nn.LayerNorm(num_anchors)
        elif output_normalization == "batchnorm":
            self.norm = nn.BatchNorm1d(num_anchors)
        elif output_normalization == "instancenorm":
            self.norm = nn.InstanceNorm1d(num_anchors)
        else:
            self.norm = nn.Identity()
        if decoder_hidden:
            self.decoder = nn.Sequential(nn.Linear(num_anchors, decoder_hidden), nn.ReLU(), nn.Linear(decoder_hidden, num_classes))
        else:  # the reference RelResNet: LayerNorm(r) -> one linear layer
            self.decoder = nn.Sequential(nn.Linear(num_anchors, num_classes))
        self.register_buffer("anchors", torch.zeros(0, in_features))
        self.in_features, self.num_classes, self.num_anchors, self.anchor_seed = in_features, num_classes, num_anchors, anchor_seed

    def set_anchors(self, anchors: torch.Tensor) -> None:
        """Fix the anchor samples (``num_anchors`` raw inputs of ``in_features``)."""
        anchors = torch.as_tensor(anchors)
        if anchors.dim() != 2 or anchors.shape != (self.num_anchors, self.in_features):
            raise ValueError(f"anchors must have shape (num_anchors, in_features) = ({self.num_anchors}, {self.in_features}), got {tuple(anchors.shape)}")
        if not torch.isfinite(anchors).all():
            raise ValueError("anchors contain NaN or Inf values")
        self.anchors = anchors.detach().to(self.decoder[0].weight.dtype).clone()

    def _load_from_state_dict(self, state_dict: Any, prefix: str, *args: Any, **kwargs: Any) -> None:
        # the anchors are set at the first training step: a checkpoint (--resume, RunResult
        # load_model) holds them, so the empty buffer takes their shape before they load
        a = state_dict.get(prefix + "anchors")
        if isinstance(a, torch.Tensor) and a.shape != self.anchors.shape:
            self.anchors = torch.zeros(a.shape, dtype=self.anchors.dtype, device=self.anchors.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def _x(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have in_features={self.in_features} features per sample, got {x.shape[1]}")
        return x.to(self.decoder[0].weight.dtype)

    def relative(self, x: torch.Tensor) -> torch.Tensor:
        """``r(x)``: cosine similarities of ``E(x)`` to the re-encoded anchors (before normalisation)."""
        if self.anchors.shape[0] == 0:
            raise ValueError("RelativeHead has no anchors: call set_anchors(...) (pipelines set them from the first training batch)")
        with torch.no_grad():
            a = self.encoder(self.anchors)
        return relative_projection(self.encoder(self._x(x)), a)

    def decode(self, r: torch.Tensor) -> torch.Tensor:
        """Logits from relative representations (output normalisation + decoder)."""
        if self.output_normalization == "l2":
            r = F.normalize(r, dim=-1)
        elif self.output_normalization == "instancenorm":
            r = self.norm(r.unsqueeze(1)).squeeze(1)
        else:
            r = self.norm(r)
        return self.decoder(r)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.relative(x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The absolute latent ``E(x)``."""
        return self.encoder(self._x(x))

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Any) -> torch.Tensor:
        if self.anchors.shape[0] == 0:
            xs = self._x(x)
            idx = stratified_anchors(None if y is None else y.numpy(), xs.shape[0], min(self.num_anchors, xs.shape[0]), self.anchor_seed)
            if len(idx) < self.num_anchors:
                raise ValueError(
                    f"the first training batch has {xs.shape[0]} samples, fewer than num_anchors={self.num_anchors}: "
                    "raise the batch size or lower num_anchors"
                )
            self.set_anchors(xs[torch.as_tensor(idx)])
        return loss_fn(self(x), y)
