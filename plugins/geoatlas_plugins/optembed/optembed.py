"""OptEmbed: learning an optimal embedding table for CTR prediction (Lyu et al., CIKM 2022).

Three stages on one FM/DeepFM model with an ``N x D`` table:

1. **Supernet**: rows are pruned by learnable per-field thresholds, ``m_v = 1[||e_v||_1 > t_f]``
   (forward) with the piecewise-linear surrogate gradient (backward); each sample and field uses
   the first ``j + 1`` dims, ``j ~ U{0..D-1}`` (training only); loss = BCE + ``alpha sum_f exp(-t_f)``.
2. **Evolutionary search** of a per-field dimension ``j_f`` with the row mask frozen; fitness =
   validation AUC of the supernet.
3. **Retrain** from a fresh initialisation with the row mask and the searched dims fixed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import (
    Dropout,
    FiniteFloat,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveInt,
    Size,
    check_cardinalities,
    check_id_table,
)


# ---------------------------------------------------------------------------- the paper's pieces
def surrogate_gradient(u: torch.Tensor) -> torch.Tensor:
    """The backward of the binary step: ``2 - 4|u|`` for ``|u| <= 0.4``, ``0.4`` for
    ``0.4 < |u| <= 1``, ``0`` beyond."""
    a = u.abs()
    return torch.where(a <= 0.4, 2.0 - 4.0 * a, torch.where(a <= 1.0, torch.full_like(u, 0.4), torch.zeros_like(u)))


class BinaryStep(torch.autograd.Function):
    """``1[u > 0]`` forward, :func:`surrogate_gradient` backward (straight-through estimator)."""

    @staticmethod
    def forward(ctx: Any, u: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (u,) = ctx.saved_tensors
        return grad * surrogate_gradient(u)


def threshold_regularizer(t: torch.Tensor, alpha: float) -> torch.Tensor:
    """``alpha * sum_f exp(-t_f)``: the sparsity pressure that raises the thresholds."""
    return alpha * torch.exp(-t).sum()


class _AddRegularizerGradient(torch.autograd.Function):
    """Identity on the logits; its backward adds ``d/dt [alpha sum exp(-t)]`` to the thresholds'
    gradient once per backward pass, so training on the task's loss alone is training on
    ``loss + alpha sum_f exp(-t_f)`` (the regularizer does not depend on the data)."""

    @staticmethod
    def forward(ctx: Any, logits: torch.Tensor, t: torch.Tensor, alpha: float) -> torch.Tensor:
        ctx.save_for_backward(t)
        ctx.alpha = alpha
        return logits.view_as(logits)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, None]:
        (t,) = ctx.saved_tensors
        return grad, -ctx.alpha * torch.exp(-t), None


def fm_interaction(e: torch.Tensor) -> torch.Tensor:
    """FM pairwise term ``1/2 sum_d [(sum_f e_fd)^2 - sum_f e_fd^2] = sum_{i<j} <e_i, e_j>``, ``(B,)``."""
    return 0.5 * (e.sum(1).pow(2) - e.pow(2).sum(1)).sum(1)


# ---------------------------------------------------------------------------- the model
class OptEmbed(Encoder):
    """FM / DeepFM click-through model with the OptEmbed embedding table.

    ``logit = b + sum_f w[v_f] + FM(x_e) (+ MLP(x_e) for DeepFM)`` with
    ``x_e[f] = m_{v_f} * M_f * E[v_f]``: the row mask ``m_v = BinaryStep(||E_v||_p - t_f)`` (zero
    rows for pruned values) and the dimension mask ``M_f`` (the first ``j + 1`` of ``D`` dims).

    Stages (``stage``): ``"supernet"`` learns the thresholds ``t`` (one per field, initialised at
    ``threshold_init``) and, in training, samples ``j ~ U{0..D-1}`` per sample and field
    (``sample_dims``); at evaluation all ``D`` dims are used unless :meth:`set_dims` fixed
    candidate dims. ``"retrain"`` (after :meth:`set_architecture`) uses a fixed row mask and fixed
    per-field dims. ``prune_rows=False`` keeps every row (``m = 1``): with ``sample_dims=False``
    the model is plain FM / DeepFM. In supernet training the regulariser
    ``alpha sum_f exp(-t_f)`` is added to the gradient of the thresholds (exactly as if added to
    the loss), so the ranking task's BCE trains the paper's objective; :func:`fit_optembed` runs
    the three stages.

    Parameters
    ----------
    cardinalities : list of int
        Values per field (filled in by the ranking task).
    dim : int
        ``D``, the largest embedding dimension (paper default 64).
    backbone : {"deepfm", "fm"}
    hidden : list of int, optional
        DeepFM MLP widths (default ``[64, 32]``; the paper uses ``[1024, 512, 256]``), each
        ``Linear-BatchNorm-ReLU-Dropout`` as in the reference code.
    dropout : float
        MLP dropout (paper default 0).
    alpha : float
        Threshold regularisation ``alpha`` (paper's flag default 3e-4).
    norm : {1, 2}
        Norm of a row compared with its threshold (default 1).
    threshold_init : float
        Initial thresholds (default 0).
    prune_rows, sample_dims : bool
        Turn the row pruning / the dimension sampling of the supernet on or off.
    stage : {"supernet", "retrain"}
    seed : int
        Seed of the dimension sampling.
    """

    input_type = "table"

    def __init__(self, cardinalities: list[PositiveInt] | None = None, dim: Size = 16, backbone: str = "deepfm",
                 hidden: list[Size] | None = None, dropout: Dropout = 0.0, alpha: NonNegativeFloat = 3e-4, norm: int = 1,
                 threshold_init: FiniteFloat = 0.0, prune_rows: bool = True, sample_dims: bool = True,
                 stage: str = "supernet", seed: NonNegativeInt = 0) -> None:
        super().__init__()
        self.cardinalities = check_cardinalities(cardinalities, type(self).__name__)
        self.n_fields = F = len(self.cardinalities)
        self.N = int(sum(self.cardinalities))
        self.dim = D = int(dim)
        if backbone not in ("deepfm", "fm"):
            raise ValueError(f"backbone must be 'deepfm' or 'fm', got {backbone!r}")
        if norm not in (1, 2) or isinstance(norm, bool):
            raise ValueError(f"norm must be 1 or 2, got {norm!r}")
        if stage not in ("supernet", "retrain"):
            raise ValueError(f"stage must be 'supernet' or 'retrain', got {stage!r}")
        self.alpha = float(alpha)
        self.backbone, self.norm, self.stage = backbone, int(norm), stage
        self.prune_rows, self.sample_dims = bool(prune_rows), bool(sample_dims)
        self.generator = torch.Generator().manual_seed(int(seed))
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        self.register_buffer("field_of_row", torch.repeat_interleave(torch.arange(F), torch.as_tensor(self.cardinalities)),
                             persistent=False)
        self.embedding = nn.Parameter(torch.empty(self.N, D))
        nn.init.xavier_uniform_(self.embedding)
        self.linear = nn.Parameter(torch.zeros(self.N))
        nn.init.normal_(self.linear, std=0.01)
        self.bias = nn.Parameter(torch.zeros(()))
        self.threshold = nn.Parameter(torch.full((F,), -float(threshold_init)))
        self.register_buffer("dim_masks", torch.tril(torch.ones(D, D)), persistent=False)  # row j keeps j+1 dims
        self.register_buffer("row_mask", torch.ones(self.N))
        self.register_buffer("dims", torch.full((F,), D - 1, dtype=torch.long))  # j_f (dims = j_f + 1)
        self.fixed_dims = False
        if backbone == "deepfm":
            hidden = [64, 32] if hidden is None else [int(h) for h in hidden]
            layers: list[nn.Module] = []
            width = F * D
            for h in hidden:
                layers += [nn.Linear(width, int(h)), nn.BatchNorm1d(int(h)), nn.ReLU(), nn.Dropout(dropout)]
                width = int(h)
            layers.append(nn.Linear(width, 1))
            self.mlp: nn.Module | None = nn.Sequential(*layers)
        else:
            self.mlp = None

    # ------------------------------------------------------------------ masks
    def row_norms(self) -> torch.Tensor:
        return torch.linalg.vector_norm(self.embedding, ord=self.norm, dim=1)

    def feature_mask(self) -> torch.Tensor:
        """The current row mask ``(N,)``: learned thresholds (supernet) or the fixed one (retrain)."""
        if self.stage == "retrain":
            return self.row_mask
        if not self.prune_rows:
            return torch.ones(self.N)
        with torch.no_grad():
            return (self.row_norms() - self.threshold[self.field_of_row] > 0).float()

    def set_dims(self, dims: Any | None) -> None:
        """Fix per-field dimension indices ``j_f`` (dims ``j_f + 1``) for evaluation; ``None`` = all ``D``."""
        if dims is None:
            self.dims.fill_(self.dim - 1)
            self.fixed_dims = False
            return
        d = torch.as_tensor(np.asarray(dims), dtype=torch.long)
        if d.shape != (self.n_fields,) or bool((d < 0).any()) or bool((d >= self.dim).any()):
            raise ValueError(f"dims must be {self.n_fields} indices in 0..{self.dim - 1} (dimension j + 1), got {dims!r}")
        self.dims.copy_(d)
        self.fixed_dims = True

    def set_architecture(self, row_mask: Any, dims: Any) -> None:
        """Enter the retrain stage with a fixed row mask ``(N,)`` of 0/1 and dims ``j_f``."""
        m = torch.as_tensor(np.asarray(row_mask), dtype=torch.float32)
        if m.shape != (self.N,) or not bool(((m == 0) | (m == 1)).all()):
            raise ValueError(f"row_mask must be a 0/1 vector of length {self.N}")
        self.set_dims(dims)
        self.row_mask.copy_(m)
        self.stage = "retrain"

    def embedding_parameters(self) -> int:
        """Kept parameters ``sum_f (kept rows of f) (j_f + 1)`` (the reference's sparsity count)."""
        m = self.feature_mask()
        kept = torch.zeros(self.n_fields).index_add_(0, self.field_of_row, m)
        return int((kept * (self.dims + 1).float()).sum())

    # ------------------------------------------------------------------ forward
    def embed(self, x: Any) -> torch.Tensor:
        """The masked field embeddings ``x_e``, ``(B, F, D)``."""
        x = check_id_table(x, self.cardinalities, type(self).__name__)
        v = x + self.offsets
        xv = self.embedding[v]
        if self.stage == "retrain":
            mf = self.row_mask[v].unsqueeze(-1)
        elif self.prune_rows:
            u = torch.linalg.vector_norm(xv, ord=self.norm, dim=2) - self.threshold
            mf = BinaryStep.apply(u).unsqueeze(-1)
        else:
            mf = None
        if self.stage == "supernet" and self.training and self.sample_dims:
            j = torch.randint(0, self.dim, (len(x), self.n_fields), generator=self.generator)
            me = self.dim_masks[j]
        elif self.stage == "retrain" or self.fixed_dims:
            me = self.dim_masks[self.dims].unsqueeze(0)
        else:
            me = None
        xe = xv
        if me is not None:
            xe = xe * me
        if mf is not None:
            xe = xe * mf
        return xe

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xe = self.embed(x)
        v = x.long() + self.offsets
        logit = self.bias + self.linear[v].sum(1) + fm_interaction(xe)
        if self.mlp is not None:
            logit = logit + self.mlp(xe.reshape(len(xe), -1)).squeeze(-1)
        if self.stage == "supernet" and self.prune_rows and self.training and self.alpha > 0 and torch.is_grad_enabled():
            logit = _AddRegularizerGradient.apply(logit, self.threshold, self.alpha)
        return logit


# ---------------------------------------------------------------------------- the three stages
@dataclass
class OptEmbedResult:
    """What :func:`fit_optembed` found: the retrained model and its architecture."""

    model: OptEmbed
    row_mask: torch.Tensor
    dims: list[int]
    supernet_val_auc: float
    search_val_auc: float
    supernet: OptEmbed | None = None
    history: dict[str, list[float]] = field(default_factory=dict)


def _auc(model: nn.Module, X: torch.Tensor, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    model.eval()
    with torch.no_grad():
        return float(roc_auc_score(y, model(X).numpy()))


def _train(model: OptEmbed, X: torch.Tensor, y: torch.Tensor, *, epochs: int, lr: float, wd: float, lr_t: float,
           batch_size: int, seed: int, X_val: torch.Tensor, y_val: np.ndarray, early_stop: bool) -> list[float]:
    groups = [{"params": [p for n, p in model.named_parameters() if n != "threshold"], "lr": lr, "weight_decay": wd}]
    if model.stage == "supernet" and model.prune_rows:
        groups.append({"params": [model.threshold], "lr": lr_t, "weight_decay": 0.0})
    opt = torch.optim.Adam(groups)
    g = torch.Generator().manual_seed(seed)
    best, best_state, aucs = -1.0, None, []
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), batch_size):
            idx = perm[i:i + batch_size]
            if len(idx) < 2:
                continue
            opt.zero_grad()
            torch.nn.functional.binary_cross_entropy_with_logits(model(X[idx]), y[idx]).backward()
            opt.step()
        auc = _auc(model, X_val, y_val)
        aucs.append(auc)
        if auc > best:
            best, best_state = auc, copy.deepcopy(model.state_dict())
        elif early_stop:
            break  # the reference stops at the first epoch whose validation AUC does not improve
    if best_state is not None:
        model.load_state_dict(best_state)
    return aucs


def evolutionary_search(model: OptEmbed, X_val: torch.Tensor, y_val: np.ndarray, *, iterations: int = 30,
                        keep_num: int = 0, mutation_num: int = 10, crossover_num: int = 10, m_prob: float = 0.1,
                        seed: int = 0) -> tuple[list[int], float, list[float]]:
    """Search per-field dims ``j_f`` on the supernet (row mask frozen): random initial population
    ``j_f ~ U{0..D-1}``; each iteration ranks by validation AUC, keeps ``keep_num``, mutates the top
    ``mutation_num`` (each field with probability ``m_prob`` to ``U{1..D-1}``) and crosses random
    pairs of the top ``crossover_num + 1`` at one point in ``1..F-1``. Returns the best-AUC
    candidate seen, its AUC and the best AUC per iteration."""
    rng = np.random.default_rng(seed)
    F, D = model.n_fields, model.dim
    pop_size = keep_num + mutation_num + crossover_num
    cands = [rng.integers(0, D, size=F) for _ in range(pop_size)]
    best_auc, best, trace = -1.0, cands[0], []
    for _ in range(iterations):
        aucs = []
        for c in cands:
            model.set_dims(c)
            aucs.append(_auc(model, X_val, y_val))
        order = np.argsort([-a for a in aucs], kind="stable")
        cands = [cands[i] for i in order]
        aucs = [aucs[i] for i in order]
        trace.append(aucs[0])
        if aucs[0] > best_auc:
            best_auc, best = aucs[0], cands[0].copy()
        mutation = []
        for i in range(mutation_num):
            c = cands[i % len(cands)].copy()
            flip = rng.random(F) < m_prob
            c[flip] = rng.integers(1, D, size=int(flip.sum()))
            mutation.append(c)
        crossover = []
        for _ in range(crossover_num):
            a, b = rng.integers(0, min(crossover_num + 1, len(cands)), size=2)
            point = int(rng.integers(1, F)) if F > 1 else 0
            crossover.append(np.concatenate([cands[a][:point], cands[b][point:]]))
        cands = cands[:keep_num] + mutation + crossover
    model.set_dims(None)
    return [int(j) for j in best], best_auc, trace


def fit_optembed(cardinalities: list[int], X_train: Any, y_train: Any, X_val: Any, y_val: Any, *,
                 dim: int = 16, backbone: str = "deepfm", hidden: list[int] | None = None, alpha: float = 3e-4,
                 lr: float = 1e-3, wd: float = 0.0, lr_t: float = 1e-2, epochs: int = 10, retrain_epochs: int | None = None,
                 batch_size: int = 256, early_stop: bool = True, search_iterations: int = 30, seed: int = 0,
                 ) -> OptEmbedResult:
    """The three OptEmbed stages: supernet (early stop at the first non-improving validation
    epoch, as the reference), evolutionary search of the dims on the validation set, retraining
    from a fresh initialisation with the row mask and dims fixed."""
    Xtr = check_id_table(X_train, check_cardinalities(cardinalities, "fit_optembed"), "fit_optembed X_train")
    Xva = check_id_table(X_val, list(cardinalities), "fit_optembed X_val")
    ytr = torch.as_tensor(np.asarray(y_train), dtype=torch.float32)
    yva = np.asarray(y_val)
    if ytr.shape != (len(Xtr),) or yva.shape != (len(Xva),):
        raise ValueError("fit_optembed: y_train and y_val must hold one 0/1 click per row")
    kw = dict(cardinalities=cardinalities, dim=dim, backbone=backbone, hidden=hidden, alpha=alpha, seed=seed)
    torch.manual_seed(seed)
    supernet = OptEmbed(**kw)
    hist = {"supernet_val_auc": _train(supernet, Xtr, ytr, epochs=epochs, lr=lr, wd=wd, lr_t=lr_t, batch_size=batch_size,
                                       seed=seed, X_val=Xva, y_val=yva, early_stop=early_stop)}
    sup_auc = _auc(supernet, Xva, yva)
    row_mask = supernet.feature_mask().clone()
    dims, search_auc, trace = evolutionary_search(supernet, Xva, yva, iterations=search_iterations, seed=seed)
    hist["search_best_auc"] = trace
    torch.manual_seed(seed + 1)
    model = OptEmbed(**kw)
    model.set_architecture(row_mask, dims)
    hist["retrain_val_auc"] = _train(model, Xtr, ytr, epochs=retrain_epochs or epochs, lr=lr, wd=wd, lr_t=lr_t,
                                     batch_size=batch_size, seed=seed + 1, X_val=Xva, y_val=yva, early_stop=early_stop)
    return OptEmbedResult(model, row_mask, dims, sup_auc, search_auc, supernet, hist)
