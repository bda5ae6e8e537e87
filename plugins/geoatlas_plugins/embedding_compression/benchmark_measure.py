"""The benchmark protocol of Zhang et al. (VLDB 2024) as a measure: each compression method at
each memory budget, trained the same way, reported by accuracy (AUC, logloss), memory and time."""

from __future__ import annotations

import time
from typing import Annotated, Any, ClassVar

import numpy as np
import torch
from pydantic import Field

from geoatlas.interfaces import Measure
from geoatlas.validation import NonNegativeInt, PositiveFloat, Size

from .compression import Rate

METHODS = ("hash_trick_embedding", "qr_embedding", "mixed_dim_embedding", "tt_rec_embedding", "robe_embedding",
           "pruned_embedding")


def _auc_logloss(y: np.ndarray, logits: np.ndarray) -> tuple[float, float]:
    from sklearn.metrics import log_loss, roc_auc_score

    p = 1.0 / (1.0 + np.exp(-np.clip(logits, -30, 30)))
    return float(roc_auc_score(y, logits)), float(log_loss(y, np.clip(p, 1e-7, 1 - 1e-7), labels=[0, 1]))


def _table(X: Any, y: Any) -> tuple[torch.Tensor, np.ndarray]:
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"embedding_compression_benchmark: data['X'] must be a non-empty (N, F) table of ids, got shape {X.shape}")
    if X.dtype.kind not in "iu" or X.min() < 0:
        raise ValueError("embedding_compression_benchmark: data['X'] must hold non-negative integer category ids")
    if y is None:
        raise ValueError("embedding_compression_benchmark needs data['y'] (0/1 clicks)")
    y = np.asarray(y)
    if y.shape != (len(X),) or not np.isin(y, (0, 1)).all() or len(np.unique(y)) < 2:
        raise ValueError(f"embedding_compression_benchmark: data['y'] must be ({len(X)},) 0/1 clicks with both classes")
    return torch.as_tensor(X.astype(np.int64)), y.astype(np.int64)


class EmbeddingCompressionBenchmark(Measure):
    """Memory budget x accuracy x time, the benchmark protocol of the paper.

    Without a model: splits ``data`` (``X`` an ``(N, F)`` id table, ``y`` clicks) into train and
    test (stratified, ``test`` fraction), and for every method in ``methods`` and every ``rate``
    in ``rates`` creates the encoder (``ga.create("encoder", method, cardinalities, rate, dim,
    hidden, seed)``), trains it with the same loop (Adam, binary cross-entropy, ``epochs``,
    ``batch_size``, ``lr``) and records ``{method}@{rate}/auc``, ``/logloss``,
    ``/embedding_parameters``, ``/memory_bytes``, ``/compression`` (full / stored parameters),
    ``/train_seconds`` and ``/inference_us_per_row``. The uncompressed table (``ctr_embedding_mlp``)
    is measured once as ``full@1``. With a model (a trained CTR encoder): its AUC, logloss,
    parameters, memory and inference time on ``data``.

    Parameters
    ----------
    methods : list of str
        Registered encoder names (default: the six methods of this plugin).
    rates : list of float
        Memory budgets as kept fractions of the full table, in (0, 1] (default ``[0.25, 0.1, 0.04]``: 4x, 10x, 25x).
    dim : int
        Embedding dimension (default 8).
    hidden : list of int, optional
        MLP widths (default ``[64, 32]``).
    epochs, batch_size : int
        Training length (default 2 epochs of 256).
    lr : float
        Adam learning rate (default 3e-3).
    test : float
        Held-out fraction (default 0.25).
    timing : bool
        Report the wall-clock times (default True; False leaves them out, so that two runs give
        identical numbers).
    seed : int
        Split, initialisation and batch order.

    A method that cannot meet a budget at all (QR needs at least ``2 sqrt(N)`` rows, mixed
    dimensions at least one dimension per row) is reported as ``{method}@{rate}/feasible = 0``.
    """

    needs_model: ClassVar[bool] = False

    def __init__(self, methods: list[str] | None = None, rates: list[Rate] | None = None, dim: Size = 8,
                 hidden: list[Size] | None = None, epochs: Size = 2, batch_size: Size = 256, lr: PositiveFloat = 3e-3,
                 test: Annotated[float, Field(gt=0, lt=1)] = 0.25, timing: bool = True, seed: NonNegativeInt = 0) -> None:
        self.methods = list(METHODS) if methods is None else list(methods)
        if not self.methods or not all(isinstance(m, str) for m in self.methods):
            raise ValueError(f"methods must be a non-empty list of encoder names, got {methods!r}")
        self.rates = [0.25, 0.1, 0.04] if rates is None else [float(r) for r in rates]
        if not self.rates:
            raise ValueError("rates must be a non-empty list of budgets in (0, 1]")
        self.dim, self.epochs, self.batch_size, self.seed = int(dim), int(epochs), int(batch_size), int(seed)
        self.hidden = [64, 32] if hidden is None else [int(h) for h in hidden]
        self.lr, self.test, self.timing = float(lr), float(test), bool(timing)

    # ------------------------------------------------------------------ one model
    def _measure_model(self, model: torch.nn.Module, X: torch.Tensor, y: np.ndarray) -> dict[str, float]:
        model.eval()
        with torch.no_grad():
            t0 = time.perf_counter()
            logits = model(X).reshape(-1).numpy().astype(np.float64)
            infer = time.perf_counter() - t0
        auc, ll = _auc_logloss(y, logits)
        out = {"auc": auc, "logloss": ll}
        if self.timing:
            out["inference_us_per_row"] = 1e6 * infer / len(X)
        emb = getattr(model, "embedding_parameters", None)
        n_emb = int(emb()) if callable(emb) else int(sum(p.numel() for n, p in model.named_parameters()
                                                        if not n.startswith("mlp.")))
        mem = getattr(model, "memory_bytes", None)
        out["embedding_parameters"] = float(n_emb)
        out["memory_bytes"] = float(mem() if callable(mem) else 4 * n_emb)
        return out

    def _train(self, model: torch.nn.Module, X: torch.Tensor, y: torch.Tensor) -> float:
        g = torch.Generator().manual_seed(self.seed)
        opt = torch.optim.Adam(model.parameters(), lr=self.lr)
        model.train()
        t0 = time.perf_counter()
        for _ in range(self.epochs):
            perm = torch.randperm(len(X), generator=g)
            for i in range(0, len(X), self.batch_size):
                idx = perm[i:i + self.batch_size]
                opt.zero_grad()
                torch.nn.functional.binary_cross_entropy_with_logits(model(X[idx]).reshape(-1), y[idx]).backward()
                opt.step()
        return time.perf_counter() - t0

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        import geoatlas as ga

        if data is None or "X" not in data:
            raise ValueError("embedding_compression_benchmark needs data={'X': (N, F) ids, 'y': clicks}")
        X, y = _table(data["X"], data.get("y"))
        if model is not None:
            return self._measure_model(model, X, y)
        from sklearn.model_selection import train_test_split

        tr, te = train_test_split(np.arange(len(X)), test_size=self.test, random_state=self.seed, stratify=y)
        cards = data.get("cardinalities") or (X.max(0).values + 1).tolist()
        ytr = torch.as_tensor(y[tr], dtype=torch.float32)
        out: dict[str, Any] = {}
        runs = [("full", 1.0, "ctr_embedding_mlp", {"embedding_dim": self.dim})]
        for m in self.methods:
            for r in self.rates:
                runs.append((m, r, m, {"rate": r, "dim": self.dim, "seed": self.seed}))
        steps = self.epochs * -(-len(tr) // self.batch_size)
        for label, r, name, params in runs:
            if name == "pruned_embedding":
                params = {**params, "prune_steps": max(1, steps // 2), "prune_every": max(1, steps // 40)}
            torch.manual_seed(self.seed)
            try:
                enc = ga.create("encoder", name, cardinalities=cards, hidden=self.hidden, **params)
            except ValueError as err:
                if "raise rate" not in str(err):
                    raise
                out[f"{label}@{r:g}/feasible"] = 0.0
                continue
            secs = self._train(enc, X[tr], ytr)
            res = self._measure_model(enc, X[te], y[te])
            full = sum(cards) * self.dim
            res["compression"] = full / max(res["embedding_parameters"], 1.0)
            if self.timing:
                res["train_seconds"] = secs
            res["feasible"] = 1.0
            for k, v in res.items():
                out[f"{label}@{r:g}/{k}"] = float(v)
        return out
