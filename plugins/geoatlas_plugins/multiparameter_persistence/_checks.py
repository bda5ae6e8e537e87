"""Input validation shared by the filtrations and descriptors (clear errors, named parameters)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def as_point_cloud(x: Any, what: str = "points") -> torch.Tensor:
    """Validate one point cloud and return it as a float64 tensor of shape ``(P, d)``.

    Gradients are kept when ``x`` is a tensor that requires them.
    """
    if isinstance(x, torch.Tensor):
        t = x if x.dtype == torch.float64 else x.to(torch.float64)
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{what} must be a numeric array of shape (P, d), got {type(x).__name__}") from exc
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dim() != 2:
        raise ValueError(f"{what} must have shape (P, d) (one point cloud), got shape {tuple(t.shape)}")
    if t.shape[0] == 0:
        raise ValueError(f"{what} is an empty point cloud (0 points); a bifiltration needs at least 2 points")
    if t.shape[0] == 1:
        raise ValueError(f"{what} has a single point; a Rips bifiltration needs at least 2 points")
    if t.shape[1] == 0:
        raise ValueError(f"{what} has points of dimension 0; expected shape (P, d) with d >= 1")
    if not bool(torch.isfinite(t.detach()).all()):
        raise ValueError(f"{what} contains NaN or Inf coordinates")
    return t


def iter_samples(X: Any, what: str = "X") -> list[Any]:
    """Split a batch (array ``(N, ...)``, tensor, or list) into a list of samples."""
    if isinstance(X, (np.ndarray, torch.Tensor)):
        if X.ndim == 0:
            raise ValueError(f"{what} must be a batch of samples, got a scalar")
        return [X[i] for i in range(X.shape[0])]
    if isinstance(X, (list, tuple)):
        return list(X)
    raise TypeError(f"{what} must be an array, a tensor or a list of samples, got {type(X).__name__}")


def check_positive(value: float | None, name: str, allow_none: bool = False) -> None:
    """Raise ``ValueError`` unless ``value`` is a finite number > 0."""
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"{name} must be a positive number, got {value!r}")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


def check_choice(value: Any, name: str, choices: tuple[Any, ...]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def check_degrees(degrees: Any, name: str = "degrees") -> tuple[int, ...]:
    """Homological degrees: a non-empty list of distinct integers >= 0."""
    if isinstance(degrees, (int, np.integer)) and not isinstance(degrees, bool):
        degrees = [int(degrees)]
    if not isinstance(degrees, (list, tuple)) or len(degrees) == 0:
        raise ValueError(f"{name} must be a non-empty list of homological degrees (integers >= 0), got {degrees!r}")
    out = []
    for d in degrees:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 0:
            raise ValueError(f"{name} must hold integers >= 0, got {d!r}")
        out.append(int(d))
    if len(set(out)) != len(out):
        raise ValueError(f"{name} has repeated degrees: {degrees!r}")
    return tuple(out)


def check_box(box: Any, n_parameters: int | None = None, name: str = "box") -> np.ndarray | None:
    """A box ``[[lo_1, ..., lo_n], [hi_1, ..., hi_n]]`` with ``lo < hi`` (or ``None``)."""
    if box is None:
        return None
    try:
        b = np.asarray(box, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be [[lo_1, ..., lo_n], [hi_1, ..., hi_n]], got {box!r}") from exc
    if b.ndim != 2 or b.shape[0] != 2:
        raise ValueError(f"{name} must be [[lo_1, ..., lo_n], [hi_1, ..., hi_n]], got shape {b.shape}")
    if n_parameters is not None and b.shape[1] != n_parameters:
        raise ValueError(f"{name} has {b.shape[1]} coordinates but the bifiltration has {n_parameters} parameters")
    if not np.isfinite(b).all() or not (b[0] < b[1]).all():
        raise ValueError(f"{name} must be finite with lo < hi in every coordinate, got {box!r}")
    return b


def check_resolution(resolution: Any, n: int, name: str = "resolution") -> tuple[int, ...]:
    """An int (same in every axis) or one int per axis, each >= 2."""
    if isinstance(resolution, (int, np.integer)) and not isinstance(resolution, bool):
        res = (int(resolution),) * n
    elif isinstance(resolution, (list, tuple)) and len(resolution) == n:
        res = tuple(int(r) for r in resolution)
    else:
        raise ValueError(f"{name} must be an int or a list of {n} ints, got {resolution!r}")
    if min(res) < 2 or max(res) > 1024:
        raise ValueError(f"{name} values must lie in [2, 1024], got {resolution!r}")
    return res
