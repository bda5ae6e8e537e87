"""Input checks shared by the metrics of this plugin."""

from __future__ import annotations

from typing import Any

import numpy as np


def per_sample_values(y_true: Any, y_pred: Any, *, noun: str, each: str, need: str) -> np.ndarray:
    """``y_pred`` as a float64 vector of one number per sample (a ``(n, 1)`` column is
    flattened), after the checks every per-sample metric input shares: present, numeric, 1-D,
    as long as ``y_true`` when that is given, non-empty. ``noun`` names the values in messages
    ("ranks"), ``each`` what one value belongs to ("one rank per query"), ``need`` the metric's
    requirement ("a ranking metric needs the ranks of the true items")."""
    if y_pred is None:
        raise ValueError(f"y_pred is None; {need}")
    if hasattr(y_pred, "detach"):
        y_pred = y_pred.detach().cpu().numpy()
    r = np.asarray(y_pred)
    if r.dtype.kind not in "iuf":
        raise TypeError(f"{noun} must be numbers, got dtype {r.dtype}")
    r = r.astype(np.float64)
    if r.ndim == 2 and r.shape[1] == 1:
        r = r[:, 0]
    if r.ndim != 1:
        raise ValueError(f"{noun} must be a 1-D array ({each}), got shape {r.shape}")
    if y_true is not None and len(y_true) != len(r):
        raise ValueError(f"y_true has {len(y_true)} samples but y_pred has {len(r)} {noun}")
    if len(r) == 0:
        raise ValueError("cannot evaluate a metric on 0 samples")
    return r
