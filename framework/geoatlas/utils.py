"""Small helpers shared by the core and plugins (public API)."""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path
from typing import Any

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU) for reproducible runs."""
    import torch

    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def check_finite(x: Any, what: str = "input") -> None:
    """Raise ``ValueError`` when ``x`` (array or tensor) contains NaN or Inf."""
    from .interfaces import check_finite_array

    check_finite_array(x, what)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` atomically (temporary file + rename)."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def take(X: Any, idx: Any) -> Any:
    """Rows ``idx`` of samples ``X`` (a numpy array, a torch tensor or a list of samples)."""
    import numpy as np

    if isinstance(X, np.ndarray):
        return X[idx]
    import torch

    if isinstance(X, torch.Tensor):
        return X[torch.as_tensor(idx)]
    return [X[i] for i in idx]
