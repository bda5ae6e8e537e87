"""InterCLR (Xie, Zhan, Liu, Ong, Loy; IJCV 2022, arXiv 2008.11702): inter-image invariance on top
of MoCo v2, as a registered loss that owns its training machinery.

The loss keeps, in buffers (checkpointed with the model):

* MoCo's **queue** of negative keys and the **momentum key encoder**: an EMA copy of the whole
  encoder (taken by :meth:`InterCLR.bind`, which the trainer calls with the model before building
  the optimiser) followed by an EMA copy of the query head;
* InterCLR's **memory bank** of L2-normalised key features with **online cluster labels**
  (k-means initialisation, per-step relabelling by the nearest centroid, centroids recomputed
  every ``centroid_interval`` steps, small clusters dissolved and empty ones refilled by a 2-means
  split of the largest cluster).

Per step (two views ``z1, z2`` of a batch with indices ``batch["index"]``):

* intra branch: MoCo InfoNCE of the query ``q = head(f(x1))`` against its key
  ``k = head_m(f_m(x2))`` and the queue (``f_m`` the momentum encoder, run on the second view
  ``batch["views"][1]``; without a bound encoder, ``k = head_m(z2)``);
* inter branch: a positive drawn from the bank entries of the query's cluster, negatives drawn by
  **semi-hard sampling** (uniformly from the ``pool_size`` most similar bank entries, none of the
  query's cluster), and **MarginNCE** (cosine margin on the positive logit, ``-0.5``);
* ``L = 0.75 L_intra + 0.25 L_inter``; then the queue, the bank and the labels are updated.

Reading of the method: the authors' code (``open-mmlab/mmselfsup`` 0.x, Apache-2.0:
``interclr_moco.py``, ``interclr_memory.py``), re-implemented (no code copied).
"""

from __future__ import annotations

import copy
import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Loss
from geoatlas.validation import all_finite

SAMPLINGS = ("semihard", "hard", "random", "semieasy")


def margin_nce(pos_cos: torch.Tensor, neg_cos: torch.Tensor, margin: float, temperature: float) -> torch.Tensor:
    """MarginNCE: ``CE([cos(q, k+) - margin, cos(q, k-_1), ...] / temperature, 0)`` averaged over
    the rows. ``pos_cos`` ``(B,)``, ``neg_cos`` ``(B, K)``; margin 0 is InfoNCE."""
    logits = torch.cat([(pos_cos - margin)[:, None], neg_cos], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long, device=logits.device))


def _positive_int(name: str, v: Any, minimum: int = 1) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name} must be an int, got {type(v).__name__}")
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _number(name: str, v: Any, *, low: float | None = None, high: float | None = None, low_open: bool = False) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__}")
    if not math.isfinite(v) or (low is not None and (v <= low if low_open else v < low)) or (high is not None and v > high):
        rng = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{name} must be a finite number in {rng}, got {v}")
    return float(v)


class InterCLR(Loss):
    """InterCLR loss (MoCo v2 intra branch + inter-image branch with memory bank, online labels,
    semi-hard negatives and MarginNCE). Defaults are the paper's ImageNet settings; every count
    must be scaled down for small data (see the README).

    Parameters
    ----------
    in_dim : int
        Size of the encoder output (input of the query head).
    bank_size : int
        Number of training samples (the memory bank holds one entry per ``batch["index"]``).
    feat_dim, hidden_dim : int
        MoCo v2 head: Linear(in_dim, hidden_dim) -> ReLU -> Linear(hidden_dim, feat_dim); 128, 2048.
    temperature : float
        tau of both branches (0.2).
    momentum : float
        EMA coefficient of the key encoder and key head (0.999).
    queue_len : int
        MoCo queue length (65536).
    num_clusters : int
        K of the online clustering (10000 on ImageNet).
    neg_num : int
        Negatives of the inter branch (16384).
    pool_size : int
        Semi-hard (or semi-easy) pool: the most (least) similar bank entries (128000).
    neg_sampling : {"semihard", "hard", "random", "semieasy"}
        Inter-branch negative sampling.
    inter_margin, intra_margin : float
        Cosine margins subtracted from the positive logit (-0.5 and 0).
    intra_weight, inter_weight : float
        Branch weights (0.75, 0.25).
    min_cluster : int
        Clusters smaller than this are dissolved every step (20).
    centroid_interval : int
        Steps between centroid recomputations (10).
    warmup_epochs : int
        Epochs with weights (1, 0) while the bank fills; k-means initialises the labels at the end
        of the last one (1). With 0, call :meth:`init_memory` before training.
    """

    requires = ("index",)
    batch_size_independent = False

    def __init__(
        self,
        in_dim: int,
        bank_size: int,
        feat_dim: int = 128,
        hidden_dim: int = 2048,
        temperature: float = 0.2,
        momentum: float = 0.999,
        queue_len: int = 65536,
        num_clusters: int = 10000,
        neg_num: int = 16384,
        pool_size: int = 128000,
        neg_sampling: Literal["semihard", "hard", "random", "semieasy"] = "semihard",
        inter_margin: float = -0.5,
        intra_margin: float = 0.0,
        intra_weight: float = 0.75,
        inter_weight: float = 0.25,
        min_cluster: int = 20,
        centroid_interval: int = 10,
        warmup_epochs: int = 1,
    ) -> None:
        super().__init__()
        self.in_dim = _positive_int("in_dim", in_dim)
        self.bank_size = _positive_int("bank_size", bank_size, 2)
        self.feat_dim = _positive_int("feat_dim", feat_dim)
        self.hidden_dim = _positive_int("hidden_dim", hidden_dim)
        self.temperature = _number("temperature", temperature, low=0.0, low_open=True)
        self.momentum = _number("momentum", momentum, low=0.0, high=1.0)
        self.queue_len = _positive_int("queue_len", queue_len)
        self.num_clusters = _positive_int("num_clusters", num_clusters, 2)
        self.neg_num = _positive_int("neg_num", neg_num)
        self.pool_size = _positive_int("pool_size", pool_size)
        if neg_sampling not in SAMPLINGS:
            raise ValueError(f"neg_sampling must be one of {', '.join(SAMPLINGS)}, got {neg_sampling!r}")
        self.neg_sampling = neg_sampling
        self.inter_margin = _number("inter_margin", inter_margin, low=-2.0, high=2.0)
        self.intra_margin = _number("intra_margin", intra_margin, low=-2.0, high=2.0)
        self.intra_weight = _number("intra_weight", intra_weight, low=0.0)
        self.inter_weight = _number("inter_weight", inter_weight, low=0.0)
        self.min_cluster = _positive_int("min_cluster", min_cluster, 0)
        self.centroid_interval = _positive_int("centroid_interval", centroid_interval)
        self.warmup_epochs = _positive_int("warmup_epochs", warmup_epochs, 0)
        if self.num_clusters > self.bank_size:
            raise ValueError(f"num_clusters ({num_clusters}) must be <= bank_size ({bank_size})")
        if self.pool_size > self.bank_size:
            raise ValueError(f"pool_size ({pool_size}) must be <= bank_size ({bank_size}); scale it down for small data (the paper: ~10 % of the bank)")
        if self.neg_num > self.pool_size:
            raise ValueError(f"neg_num ({neg_num}) must be <= pool_size ({pool_size})")

        self.head = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, feat_dim))
        self.head_m = copy.deepcopy(self.head)
        for p in self.head_m.parameters():
            p.requires_grad_(False)
        self.register_buffer("queue", F.normalize(torch.randn(queue_len, feat_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("bank", torch.zeros(bank_size, feat_dim))
        self.register_buffer("labels", torch.zeros(bank_size, dtype=torch.long))
        self.register_buffer("filled", torch.zeros(bank_size, dtype=torch.bool))
        self.register_buffer("centroids", torch.zeros(num_clusters, feat_dim))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))
        self.last: dict[str, float] = {}
        self.encoder_m: nn.Module | None = None
        self._online: list[nn.Module] = []  # the trained encoder, held outside the module tree (not a parameter of the loss)

    def bind(self, model: nn.Module) -> None:
        """Keep MoCo's key encoder: a copy of the whole ``model`` (equal weights at the start, as
        MoCo initialises it), not optimised, updated by EMA before each step. Called by the
        trainer once before the optimiser is built (again on resume; the checkpoint then restores
        the copy)."""
        if not isinstance(model, nn.Module):
            raise TypeError(f"interclr.bind takes the encoder being trained (a torch.nn.Module), got {type(model).__name__}")
        self._online = [model]
        self.encoder_m = copy.deepcopy(model)
        for p in self.encoder_m.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def _keys(self, z2: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """Momentum update of the key encoder (when bound) and of the key head, then the keys."""
        m = self.momentum
        if self.encoder_m is not None and self._online:
            for pq, pk in zip(self._online[0].parameters(), self.encoder_m.parameters(), strict=True):
                pk.mul_(m).add_(pq.detach(), alpha=1.0 - m)
        for pq, pk in zip(self.head.parameters(), self.head_m.parameters(), strict=True):
            pk.mul_(m).add_(pq.detach(), alpha=1.0 - m)
        views = batch.get("views")
        if self.encoder_m is not None and isinstance(views, (list, tuple)) and len(views) == 2:
            self.encoder_m.train(self._online[0].training if self._online else self.training)
            zk = self.encoder_m(views[1])
            if not isinstance(zk, torch.Tensor) or zk.shape != z2.shape:
                raise ValueError(f"interclr: the momentum encoder gave shape {tuple(getattr(zk, 'shape', ()))} for the key view, expected {tuple(z2.shape)}")
            zk = zk.to(z2.dtype)
        else:  # not bound (a direct call): the current encoder's output on view 2, without gradient
            zk = z2.detach()
        return F.normalize(self.head_m(zk), dim=1)

    # ------------------------------------------------------------------ memory
    @torch.no_grad()
    def init_memory(self, features: torch.Tensor, seed: int = 0) -> None:
        """Fill the bank with ``features`` ``(bank_size, feat_dim)`` (normalised here) and set the
        labels by k-means with ``num_clusters`` clusters (the paper's initialisation)."""
        from sklearn.cluster import KMeans

        if features.shape != (self.bank_size, self.feat_dim):
            raise ValueError(f"init_memory: features must have shape ({self.bank_size}, {self.feat_dim}), got {tuple(features.shape)}")
        if not all_finite(features):
            raise ValueError("init_memory: features contain NaN or Inf values")
        f = F.normalize(features.to(self.bank.dtype), dim=1)
        self.bank.copy_(f)
        self.filled.fill_(True)
        km = KMeans(n_clusters=self.num_clusters, n_init=1, random_state=seed).fit(f.double().numpy())
        self.labels.copy_(torch.as_tensor(km.labels_, dtype=torch.long))
        self._redirect_empty(list(np.flatnonzero(np.bincount(km.labels_, minlength=self.num_clusters) == 0)))
        self._recompute_centroids()
        self.initialized.fill_(True)

    @torch.no_grad()
    def _recompute_centroids(self, which: list[int] | None = None) -> None:
        counts = torch.bincount(self.labels, minlength=self.num_clusters)
        sums = torch.zeros_like(self.centroids).index_add_(0, self.labels, self.bank)
        mean = sums / counts.clamp_min(1)[:, None].to(sums.dtype)
        keep = counts > 0  # an empty cluster keeps its centroid
        if which is not None:
            sel = torch.zeros_like(keep)
            sel[which] = True
            keep &= sel
        self.centroids[keep] = mean[keep]

    @torch.no_grad()
    def _redirect_empty(self, empty: list[int]) -> None:
        """Refill each empty cluster with one half of a 2-means split of the largest cluster."""
        from sklearn.cluster import KMeans

        for e in empty:
            counts = torch.bincount(self.labels, minlength=self.num_clusters)
            big = int(counts.argmax())
            members = torch.nonzero(self.labels == big).flatten()
            if len(members) < 2:
                return
            part = KMeans(n_clusters=2, n_init=1, random_state=0, max_iter=20).fit(self.bank[members].double().numpy()).labels_
            second = members[torch.as_tensor(part == 1)]
            if len(second) == 0 or len(second) == len(members):
                second = members[torch.randperm(len(members))[: len(members) // 2]]
            self.labels[second] = e
            self._recompute_centroids([big, int(e)])

    @torch.no_grad()
    def deal_with_small_clusters(self) -> None:
        """Dissolve clusters with fewer than ``min_cluster`` members (reassign each member to the
        nearest remaining centroid), then refill the emptied clusters by 2-means splits."""
        counts = torch.bincount(self.labels, minlength=self.num_clusters)
        small = torch.nonzero(counts < self.min_cluster).flatten()
        if len(small) == 0 or len(small) == self.num_clusters:
            return
        keep = torch.ones(self.num_clusters, dtype=torch.bool)
        keep[small] = False
        inclusion = torch.nonzero(keep).flatten()
        moved = torch.isin(self.labels, small)
        if moved.any():
            self.labels[moved] = inclusion[(self.bank[moved] @ self.centroids[inclusion].T).argmax(1)]
        self._redirect_empty([int(s) for s in small])

    @torch.no_grad()
    def _update_memory(self, idx: torch.Tensor, keys: torch.Tensor) -> float:
        """Bank momentum 1.0 (the new key replaces the entry); relabel by the nearest centroid;
        returns the fraction of changed labels."""
        self.bank[idx] = keys
        self.filled[idx] = True
        if not bool(self.initialized):
            return 0.0
        keys = self.bank[idx]
        new = (keys @ self.centroids.T).argmax(1)
        change = float((new != self.labels[idx]).float().mean())
        self.labels[idx] = new
        self.step += 1
        if int(self.step) % self.centroid_interval == 0:
            self._recompute_centroids()
        self.deal_with_small_clusters()
        return change

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def sample_positives(self, own: torch.Tensor) -> torch.Tensor:
        """One bank index per query, uniform among the entries of the query's cluster ``own``."""
        u = torch.rand(len(own), self.bank_size)
        return u.masked_fill(self.labels[None, :] != own[:, None], -1.0).argmax(1)

    @torch.no_grad()
    def sample_negatives(self, q: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """``(B, neg_num)`` bank indices of other clusters than ``own``, by ``neg_sampling``:
        semi-hard = uniform from the ``pool_size`` most similar entries, semi-easy = from the least
        similar, random = from the whole bank, hard = the most similar ones."""
        sim = q @ self.bank.to(q.dtype).T
        other = self.labels[None, :] != own[:, None]
        if self.neg_sampling == "hard":
            return sim.masked_fill(~other, float("-inf")).topk(self.neg_num, dim=1).indices
        if self.neg_sampling == "random":
            pool = torch.arange(self.bank_size).expand(len(q), -1)
        else:
            pool = sim.topk(self.pool_size, dim=1, largest=self.neg_sampling == "semihard").indices
        allowed = torch.gather(other, 1, pool)
        if bool((allowed.sum(1) >= self.neg_num).all()):  # uniform without replacement among the allowed
            pick = torch.rand(pool.shape).masked_fill(~allowed, -1.0).topk(self.neg_num, dim=1).indices
        else:
            if not bool(allowed.any(1).all()):
                raise ValueError("interclr: a query's pool holds no entry of another cluster; increase pool_size or num_clusters")
            pick = torch.multinomial(allowed.float(), self.neg_num, replacement=True)
        return torch.gather(pool, 1, pick)

    # ------------------------------------------------------------------ loss
    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        z1, z2, idx = self._inputs(outputs, batch)
        k = self._keys(z2, batch)  # momentum updates, then the keys (no gradient)
        q = F.normalize(self.head(z1), dim=1)
        queue = self.queue.clone().to(q.dtype)
        intra = margin_nce((q * k).sum(1), q @ queue.T, self.intra_margin, self.temperature)
        epoch = batch.get("epoch")
        active = bool(self.initialized) and (epoch is None or int(epoch) >= self.warmup_epochs)
        w_inter = self.inter_weight if active else 0.0
        loss = self.intra_weight * intra
        inter_value = float("nan")
        if w_inter > 0:
            own = self.labels[idx]
            pos = self.sample_positives(own)
            neg = self.sample_negatives(q.detach(), own)
            bank = self.bank.to(q.dtype)
            inter = margin_nce((q * bank[pos]).sum(1), torch.einsum("bd,bkd->bk", q, bank[neg]), self.inter_margin, self.temperature)
            loss = loss + w_inter * inter
            inter_value = float(inter.detach())
        with torch.no_grad():
            n = len(k)
            new_keys = k[-self.queue_len:] if n > self.queue_len else k  # a batch larger than the queue keeps its last keys
            slots = (int(self.queue_ptr) + torch.arange(len(new_keys))) % self.queue_len
            self.queue[slots] = new_keys
            self.queue_ptr.fill_((int(self.queue_ptr) + n) % self.queue_len)
            change = self._update_memory(idx, k)
        self.last = {"intra": float(intra.detach()), "inter": inter_value, "label_change": change}
        return loss

    def on_epoch_end(self, epoch: int) -> None:
        """At the end of the last warm-up epoch, k-means on the filled bank initialises the labels."""
        if not bool(self.initialized) and epoch + 1 >= self.warmup_epochs:
            if not bool(self.filled.all()):
                missing = int((~self.filled).sum())
                raise ValueError(f"interclr: {missing} memory-bank entries were never filled in the warm-up; bank_size "
                                 f"({self.bank_size}) must equal the number of training samples")
            self.init_memory(self.bank.clone(), seed=int(torch.randint(0, 2**31 - 1, (1,))))

    def _inputs(self, outputs: Any, batch: dict[str, Any]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        if not isinstance(outputs, (list, tuple)):
            raise TypeError(f"interclr takes a list of two view embeddings (n_views: 2), got {type(outputs).__name__}")
        if len(outputs) != 2:
            raise ValueError(f"interclr takes exactly 2 views (query, key), got {len(outputs)}; set n_views: 2")
        z1, z2 = outputs
        if not isinstance(z1, torch.Tensor) or not isinstance(z2, torch.Tensor):
            raise TypeError("interclr: both views must be tensors of shape (B, in_dim)")
        if z1.dim() != 2 or z1.shape != z2.shape or z1.shape[1] != self.in_dim:
            raise ValueError(f"interclr: the views must have shape (B, in_dim={self.in_dim}), got {tuple(z1.shape)} and {tuple(z2.shape)}")
        if z1.shape[0] < 1:
            raise ValueError("interclr: empty batch")
        if not (all_finite(z1) and all_finite(z2)):
            raise ValueError("interclr: the embeddings contain NaN or Inf values")
        if batch.get("index") is None:
            raise ValueError("interclr needs batch['index'] (the samples' positions in the training set) for its memory bank")
        idx = torch.as_tensor(batch["index"]).long().flatten()
        if idx.shape[0] != z1.shape[0]:
            raise ValueError(f"interclr: batch['index'] has {idx.shape[0]} entries for {z1.shape[0]} samples")
        if int(idx.min()) < 0 or int(idx.max()) >= self.bank_size:
            raise ValueError(f"interclr: batch['index'] must lie in [0, bank_size={self.bank_size}), got [{int(idx.min())}, {int(idx.max())}]")
        return z1, z2, idx

    def extra_repr(self) -> str:
        return (f"in_dim={self.in_dim}, bank_size={self.bank_size}, feat_dim={self.feat_dim}, K={self.num_clusters}, "
                f"neg_num={self.neg_num}, pool={self.pool_size}, sampling={self.neg_sampling!r}, margin={self.inter_margin}, "
                f"weights=({self.intra_weight}, {self.inter_weight})")
