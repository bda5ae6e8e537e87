"""Training on one transformation family: a registered image encoder fed transformed inputs.

The paper makes a model invariant to a transformation family by pretraining it on data in which
every sample carries a random member of that family (Transforms-2D). ``FamilyAugmented`` does the
same inside a pipeline whose data are untransformed: each training step replaces the batch by a
fresh random member of ``family`` applied to each image (the same transformations as the
``transformed_digits`` dataset and the ``representational_invariance`` measure), so one pipeline
can train a model with and one without the family on the same data. Evaluation and ``embed`` see
the inputs unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from geoatlas.interfaces import Encoder

from .data import FAMILIES, transform_family

_STRENGTH = {"rotate": "max_rotate", "translate": "max_translate", "scale": "max_scale"}


class FamilyAugmented(Encoder):
    """A registered image encoder trained on inputs under random members of one transformation family.

    Parameters
    ----------
    backbone : str
        A registered image encoder (e.g. ``cnn``).
    backbone_params : dict, optional
        Its parameters; ``in_channels``/``num_classes`` given to the wrapper (pipelines fill them)
        are passed on when the backbone accepts them.
    family : str
        ``rotate``, ``translate``, ``scale``, ``hflip`` or ``none`` (plain training).
    strength : float, optional
        The family's range (degrees for ``rotate``, fraction of the side for ``translate``,
        relative scale change < 1 for ``scale``); default that of ``transformed_digits``.

    The transformations of a step are drawn from a generator seeded from torch's global random
    state, which the pipeline reseeds every epoch, so runs (and resumed runs) are reproducible.
    """

    input_type = "image"

    def __init__(self, backbone: str = "cnn", backbone_params: dict[str, Any] | None = None, in_channels: int | None = None,
                 num_classes: int | None = None, family: str = "rotate", strength: float | None = None) -> None:
        super().__init__()
        import geoatlas as ga

        if family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {family!r}")
        if strength is not None:
            if family not in _STRENGTH:
                raise ValueError(f"strength does not apply to the family {family!r} (only to {', '.join(_STRENGTH)})")
            if isinstance(strength, bool) or not isinstance(strength, (int, float)) or not np.isfinite(strength) or strength < 0:
                raise ValueError(f"strength must be a finite number >= 0, got {strength!r}")
            if family == "scale" and strength >= 1:
                raise ValueError(f"strength of the scale family must be < 1, got {strength}")
        if backbone_params is not None and not isinstance(backbone_params, dict):
            raise TypeError(f"backbone_params must be a dict, got {type(backbone_params).__name__}")
        info = ga.info(backbone)
        if info.get("kind") != "encoder":
            raise ValueError(f"backbone must name a registered encoder, {backbone!r} is a {info.get('kind', 'plugin')}")
        params = dict(backbone_params or {})
        for name, val in (("in_channels", in_channels), ("num_classes", num_classes)):
            if val is not None and name in info["params"] and name not in params:
                params[name] = val
        self.backbone = ga.create("encoder", backbone, **params)
        self.family = family
        self.kw = {_STRENGTH[family]: float(strength)} if strength is not None else {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        emb = getattr(self.backbone, "embed", None)
        return emb(x) if callable(emb) else self.backbone(x)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        """A random member of the family applied to each image of the batch ``(B, C, H, W)``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"x must be a batch of images (B, C, H, W), got {getattr(x, 'shape', type(x).__name__)}")
        g = torch.Generator().manual_seed(int(torch.randint(0, 2**62, (1,))))
        return transform_family(x, self.family, g, **self.kw)

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable[..., torch.Tensor]) -> torch.Tensor:
        """The task's loss on the transformed batch."""
        return loss_fn(self(self.augment(x)), y)
