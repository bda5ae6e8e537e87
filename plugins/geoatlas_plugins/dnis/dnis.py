"""DNIS: differentiable neural input search (Cheng, Shen & Huang, arXiv 2006.04466).

Feature values are grouped into ``K`` blocks (by frequency); a **soft selection layer**
``alpha in R^{K x d}`` scales every embedding dimension of every block, ``e~_v = e_v * alpha_{k(v)}``,
and is learned together with the model (in the paper on the validation loss, bi-level, first
order). Dimensions whose ``|alpha|`` is small are then pruned, which gives each block its own
embedding size; ``alpha`` is folded into the table and the pruned model is fine-tuned.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import (
    NonNegativeFloat,
    PositiveInt,
    Size,
    check_cardinalities,
    check_id_table,
)


def _pos_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def frequency_blocks(counts: Any, n_blocks: int) -> np.ndarray:
    """Block of every id: ids sorted by decreasing count (ties by id) and cut into ``n_blocks``
    blocks of (nearly) equal numbers of ids; block 0 holds the most frequent ids."""
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 1 or len(counts) == 0 or not np.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("counts must be a non-empty 1-D array of non-negative finite numbers (one per id)")
    K = _pos_int("n_blocks", n_blocks)
    if K > len(counts):
        raise ValueError(f"n_blocks ({K}) cannot exceed the number of ids ({len(counts)})")
    order = np.lexsort((np.arange(len(counts)), -counts))
    blocks = np.empty(len(counts), dtype=np.int64)
    for k, part in enumerate(np.array_split(order, K)):
        blocks[part] = k
    return blocks


class DNIS(Encoder):
    """Click-through model with DNIS's soft selection layer on its embedding table.

    Value ``x`` of field ``f`` (id ``v = offset_f + x``) is embedded as
    ``e~_v = E[v] * alpha[k(v)] * m[k(v)]`` with the soft selection ``alpha in R^{K x d}``
    (initialised to 1) and the hard mask ``m`` (all ones until pruned). The ``F`` embeddings are
    concatenated and passed to ``Linear-ReLU`` layers of widths ``hidden`` and ``Linear(., 1)``
    (the ``ctr_embedding_mlp`` architecture). With ``alpha = 1`` and nothing pruned the model is
    exactly that plain model. ``alpha`` trains jointly with the rest when used in a pipeline;
    :func:`fit_dnis` runs the paper's alternating (train / validation) search, the pruning and the
    fine-tuning. In evaluation mode, dimensions with ``|alpha| <= prune_threshold`` are dropped.

    Parameters
    ----------
    cardinalities : list of int
        Values per field (filled in by the ranking task).
    dim : int
        ``d``, the largest embedding dimension.
    blocks : list of int, optional
        Block ``k(v)`` of every id (length ``sum V_f``), e.g. from :func:`frequency_blocks`;
        default one block per field.
    hidden : list of int, optional
        MLP widths (default ``[64, 32]``).
    prune_threshold : float
        Dimensions with ``|alpha| <= prune_threshold`` are zero in evaluation (default 0: none).
    """

    input_type = "table"

    def __init__(self, cardinalities: list[PositiveInt] | None = None, dim: Size = 16, blocks: list[int] | None = None,
                 hidden: list[Size] | None = None, prune_threshold: NonNegativeFloat = 0.0) -> None:
        super().__init__()
        self.cardinalities = check_cardinalities(cardinalities, type(self).__name__)
        self.n_fields = F = len(self.cardinalities)
        self.N = int(sum(self.cardinalities))
        self.dim = d = int(dim)
        self.prune_threshold = float(prune_threshold)
        if blocks is None:
            b = np.repeat(np.arange(F), self.cardinalities)
        else:
            b = np.asarray(blocks)
            if b.shape != (self.N,) or b.dtype.kind not in "iu" or (b < 0).any():
                raise ValueError(f"blocks must give a non-negative integer block to each of the {self.N} ids")
            if len(np.unique(b)) != b.max() + 1:
                raise ValueError("blocks must number the blocks 0..K-1 without gaps")
        self.n_blocks = int(b.max()) + 1
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        self.register_buffer("block_of", torch.as_tensor(b, dtype=torch.long))
        self.register_buffer("block_sizes", torch.bincount(self.block_of, minlength=self.n_blocks))
        self.table = nn.Parameter(torch.empty(self.N, d).normal_(std=0.01))
        self.alpha = nn.Parameter(torch.ones(self.n_blocks, d))
        self.register_buffer("mask", torch.ones(self.n_blocks, d))
        hidden = [64, 32] if hidden is None else [int(h) for h in hidden]
        layers: list[nn.Module] = []
        width = F * d
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    # ------------------------------------------------------------------ selection
    def selection(self) -> torch.Tensor:
        """The effective ``(K, d)`` selection ``alpha * m`` (and the threshold in evaluation)."""
        s = self.alpha * self.mask
        if not self.training and self.prune_threshold > 0:
            s = s * (self.alpha.detach().abs() > self.prune_threshold)
        return s

    def kept_dims(self) -> torch.Tensor:
        """Dimensions kept per block, ``(K,)``."""
        keep = self.mask.bool() & (self.alpha.detach().abs() > self.prune_threshold)
        return keep.sum(1)

    def embedding_parameters(self) -> int:
        """``sum_k N_k d_k`` once the kept dimensions are stored contiguously."""
        return int((self.block_sizes * self.kept_dims()).sum())

    def prune(self, *, threshold: float | None = None, target_parameters: int | None = None) -> None:
        """Hard-prune the selection: drop entries with ``|alpha| <= threshold``, or keep the
        largest ``|alpha|`` entries (entry ``(k, j)`` costs ``N_k`` parameters) while the total
        stays within ``target_parameters``."""
        if (threshold is None) == (target_parameters is None):
            raise ValueError("give exactly one of threshold or target_parameters")
        a = self.alpha.detach().abs() * self.mask
        if threshold is not None:
            if not math.isfinite(threshold) or threshold < 0:
                raise ValueError(f"threshold must be a finite number >= 0, got {threshold}")
            self.mask.copy_((a > threshold).float())
            return
        target = _pos_int("target_parameters", target_parameters)
        order = torch.argsort(a.flatten(), descending=True, stable=True)
        cost = self.block_sizes.repeat_interleave(self.dim)[order]
        keep = torch.cumsum(cost, 0) <= target
        new = torch.zeros(self.n_blocks * self.dim)
        new[order[keep]] = 1.0
        self.mask.copy_(new.view_as(self.mask) * (a > 0).float())

    def fold(self) -> None:
        """Fold the selection into the table: ``E[v] <- E[v] * alpha[k(v)] * m[k(v)]``, ``alpha <- m``
        (outputs unchanged; the soft selection is spent)."""
        with torch.no_grad():
            s = self.selection()
            self.table.mul_(s[self.block_of])
            self.alpha.copy_(self.mask)

    # ------------------------------------------------------------------ forward
    def embed(self, x: Any) -> torch.Tensor:
        """The selected field embeddings, ``(B, F, d)``."""
        x = check_id_table(x, self.cardinalities, type(self).__name__)
        v = x + self.offsets
        return self.table[v] * self.selection()[self.block_of[v]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(x)
        return self.mlp(e.reshape(e.shape[0], -1)).squeeze(-1)


# ---------------------------------------------------------------------------- the procedure
@dataclass
class DNISResult:
    """What :func:`fit_dnis` found."""

    model: DNIS
    kept_dims: list[int]
    block_counts: list[float]
    history: dict[str, list[float]] = field(default_factory=dict)


def _auc(model: nn.Module, X: torch.Tensor, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    model.eval()
    with torch.no_grad():
        return float(roc_auc_score(y, model(X).numpy()))


def _bce(model: nn.Module, X: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return torch.nn.functional.binary_cross_entropy_with_logits(model(X), y)


def fit_dnis(cardinalities: list[int], X_train: Any, y_train: Any, X_val: Any, y_val: Any, *, dim: int = 16,
             n_blocks: int = 10, hidden: list[int] | None = None, lr: float = 1e-3, lr_alpha: float = 1e-2,
             search_epochs: int = 4, finetune_epochs: int = 4, batch_size: int = 256,
             target_parameters: int | None = None, threshold: float | None = None, normalize_alpha_grad: bool = True,
             seed: int = 0) -> DNISResult:
    """DNIS end to end.

    1. Blocks: ids sorted by their training frequency, cut into ``n_blocks`` blocks.
    2. Search (first-order bi-level): each step updates the model weights on a training batch,
       then ``alpha`` on a validation batch (Adam, ``lr_alpha``); with ``normalize_alpha_grad`` the
       gradient of each block's row of ``alpha`` is divided by its L2 norm (reconstructed).
    3. Prune (``target_parameters`` or ``threshold``), fold ``alpha`` into the table, fine-tune the
       kept weights with the mask fixed.
    """
    Xtr = check_id_table(X_train, check_cardinalities(cardinalities, "fit_dnis"), "fit_dnis X_train")
    Xva = check_id_table(X_val, list(cardinalities), "fit_dnis X_val")
    ytr = torch.as_tensor(np.asarray(y_train), dtype=torch.float32)
    yva_np = np.asarray(y_val)
    yva = torch.as_tensor(yva_np, dtype=torch.float32)
    if ytr.shape != (len(Xtr),) or yva.shape != (len(Xva),):
        raise ValueError("fit_dnis: y_train and y_val must hold one 0/1 click per row")
    offsets = np.concatenate([[0], np.cumsum(cardinalities)[:-1]])
    counts = np.bincount((Xtr.numpy() + offsets).ravel(), minlength=int(sum(cardinalities))).astype(np.float64)
    blocks = frequency_blocks(counts, n_blocks)
    torch.manual_seed(seed)
    model = DNIS(cardinalities, dim=dim, blocks=blocks.tolist(), hidden=hidden)
    w_params = [p for n, p in model.named_parameters() if n != "alpha"]
    opt_w = torch.optim.Adam(w_params, lr=lr)
    opt_a = torch.optim.Adam([model.alpha], lr=lr_alpha)
    g = torch.Generator().manual_seed(seed)
    hist: dict[str, list[float]] = {"search_val_auc": [], "finetune_val_auc": []}
    for _ in range(search_epochs):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(Xtr), batch_size):
            idx = perm[i:i + batch_size]
            opt_w.zero_grad()
            _bce(model, Xtr[idx], ytr[idx]).backward()
            opt_w.step()
            vidx = torch.randint(0, len(Xva), (batch_size,), generator=g)
            opt_a.zero_grad()
            _bce(model, Xva[vidx], yva[vidx]).backward()
            if normalize_alpha_grad:
                with torch.no_grad():
                    gr = model.alpha.grad
                    gr /= gr.norm(dim=1, keepdim=True) + 1e-12
            opt_a.step()
        hist["search_val_auc"].append(_auc(model, Xva, yva_np))
    if target_parameters is None and threshold is None:
        target_parameters = model.N * dim // 2
    model.prune(threshold=threshold, target_parameters=target_parameters)
    model.fold()
    model.alpha.requires_grad_(False)
    opt_w = torch.optim.Adam(w_params, lr=lr)
    best, best_state = -1.0, None
    for _ in range(finetune_epochs):
        model.train()
        perm = torch.randperm(len(Xtr), generator=g)
        for i in range(0, len(Xtr), batch_size):
            idx = perm[i:i + batch_size]
            opt_w.zero_grad()
            _bce(model, Xtr[idx], ytr[idx]).backward()
            opt_w.step()
        auc = _auc(model, Xva, yva_np)
        hist["finetune_val_auc"].append(auc)
        if auc > best:
            best, best_state = auc, copy.deepcopy(model.state_dict())
    if best_state is not None:
        model.load_state_dict(best_state)
    block_counts = [float(counts[blocks == k].mean()) for k in range(model.n_blocks)]
    return DNISResult(model, model.kept_dims().tolist(), block_counts, hist)
