"""Executors run descriptor steps over samples. ``local`` uses joblib on this machine."""

from __future__ import annotations

import os
from typing import Any

import numpy as np


def _transform_chunk(descriptor: Any, chunk: Any) -> Any:
    import torch

    torch.set_num_threads(1)  # one BLAS thread per worker: workers already use the cores
    return descriptor.transform(chunk)


def _concat(parts: list[Any]) -> Any:
    import torch

    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    if isinstance(parts[0], list):
        return [x for p in parts for x in p]
    return np.concatenate([np.asarray(p) for p in parts])


class LocalExecutor:
    """Parallel over samples with joblib for ``per_sample`` descriptors.

    Descriptors may set ``parallel_backend = "threads"`` when their heavy work releases the GIL
    (C++ extensions such as gudhi); the default is processes (loky).
    """

    def __init__(self, workers: int = 1) -> None:
        self.workers = (os.cpu_count() or 1) if workers == -1 else workers

    def transform(self, descriptor: Any, X: Any) -> Any:
        n = len(X)
        if self.workers <= 1 or not getattr(descriptor, "per_sample", False) or n < 2 * self.workers:
            return descriptor.transform(X)
        from joblib import Parallel, delayed

        n_chunks = min(n, self.workers * 4)
        bounds = np.linspace(0, n, n_chunks + 1).astype(int)
        chunks = [X[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
        prefer = "threads" if getattr(descriptor, "parallel_backend", "processes") == "threads" else "processes"
        parts = Parallel(n_jobs=self.workers, prefer=prefer)(delayed(_transform_chunk)(descriptor, c) for c in chunks)
        return _concat(parts)


def make_executor(kind: str, workers: int) -> LocalExecutor:
    if kind != "local":
        raise ValueError(f"executor {kind!r} is not available; this version ships the 'local' executor")
    return LocalExecutor(workers)
