"""Attention-based dynamic subspace learners (ADSL; Adiga Vasudeva et al., IEEE JBHI 2022).

Encoder ``dynamic_subspace``: a convnet, a spatial attention module, and an embedding split into
contiguous blocks ("learners"), each L2-normalised; every few epochs the data are re-clustered by
k-means on the full embedding into as many groups as there are learners, and the samples of
group ``k`` train learner ``k`` with the margin loss; new learners are created during training
by splitting the last learner on a Taylor-importance criterion.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import (
    Dropout,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    Size,
    check_weights,
)


def nearest_negative_triplets(z: torch.Tensor, labels: torch.Tensor, cutoff: float = 0.5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The authors' triplet sampler (``lib/loss/sampler.py``): on L2-normalised ``z``, every anchor
    takes its ``K`` nearest negatives at Euclidean distance >= ``cutoff``, with ``K`` = the number
    of positive pairs of the batch divided by the batch size, and pairs them in index order with
    its positives. Returns index tensors ``(a, p, n)``."""
    zn = F.normalize(z.detach(), dim=1)
    d = torch.cdist(zn, zn)
    n = len(labels)
    pos = (labels[:, None] == labels[None, :]) & ~torch.eye(n, dtype=torch.bool, device=z.device)
    k = min(int(pos.sum()) // max(n, 1), n)
    empty = torch.zeros(0, dtype=torch.long, device=z.device)
    if k == 0:
        return empty, empty, empty
    masked = d + 1e6 * (pos | (d < cutoff)).to(d.dtype)
    neg = masked.topk(k, dim=1, largest=False).indices.sort(dim=1).values
    a, p, ng = [], [], []
    for i in range(n):
        pi = torch.nonzero(pos[i]).flatten()
        m = min(len(pi), k)
        a.append(torch.full((m,), i, dtype=torch.long, device=z.device))
        p.append(pi[:m])
        ng.append(neg[i, :m])
    return torch.cat(a), torch.cat(p), torch.cat(ng)


def margin_loss(z: torch.Tensor, labels: torch.Tensor, beta: torch.Tensor | float, margin: float = 0.2,
                triplets: str = "all", cutoff: float = 0.5) -> torch.Tensor:
    r"""Margin loss (Wu et al. 2017) on L2-normalised ``z``:
    :math:`\sum_{(a,p,n)} [d_{ap} - \beta + m]_+ + [\beta - d_{an} + m]_+` divided by the number
    of non-zero terms (zero when there is none), :math:`d` the Euclidean distance. ``triplets``:
    ``"all"`` (every triplet of the batch, as pytorch-metric-learning's MarginLoss) or
    ``"nearest"`` (the authors' sampler, :func:`nearest_negative_triplets`)."""
    zn = F.normalize(z, dim=1)
    d = torch.cdist(zn, zn)
    if triplets == "nearest":
        a, p, n = nearest_negative_triplets(z, labels, cutoff)
    elif triplets == "all":
        same = labels[:, None] == labels[None, :]
        eye = torch.eye(len(labels), dtype=torch.bool, device=z.device)
        pos = same & ~eye
        neg = ~same
        a, p, n = torch.nonzero(pos[:, :, None] & neg[:, None, :], as_tuple=True)
    else:
        raise ValueError(f"margin_loss: parameter 'triplets' must be 'all' or 'nearest', got {triplets!r}")
    if len(a) == 0:
        return z.sum() * 0.0
    pos_l = F.relu(d[a, p] - beta + margin)
    neg_l = F.relu(beta - d[a, n] + margin)
    count = (pos_l > 0).sum() + (neg_l > 0).sum()
    if int(count) == 0:
        return (pos_l + neg_l).sum() * 0.0
    return (pos_l + neg_l).sum() / count


def taylor_scores(activations: torch.Tensor, grads: torch.Tensor) -> torch.Tensor:
    r"""Importance of embedding neurons: :math:`s_j = |\mathrm{mean}_n(a_{nj}\, \partial L/\partial a_{nj})|`,
    L2-normalised over the neurons, then min-max scaled to [0, 1]."""
    s = (activations * grads).mean(0).abs()
    s = s / s.norm().clamp_min(1e-12)
    lo, hi = s.min(), s.max()
    return (s - lo) / (hi - lo).clamp_min(1e-12)


def split_learner(scores: torch.Tensor, threshold: float = 0.5, min_neurons: int = 10, min_high: int = 5) -> tuple[np.ndarray, np.ndarray] | None:
    """The splitting rule on the last learner's neuron scores: if the learner has more than
    ``min_neurons`` neurons and at least ``min_high`` of them score above ``threshold``, the
    high-score neurons stay with it and the others form the new learner (re-initialised).
    Returns ``(kept, moved)`` positions within the learner, or ``None`` when it does not split."""
    s = scores.detach().cpu().numpy()
    high = np.flatnonzero(s > threshold)
    if len(s) <= min_neurons or len(high) < min_high or len(high) == len(s):
        return None
    return high, np.flatnonzero(s <= threshold)


class DynamicSubspace(Encoder):
    r"""ADSL encoder: convnet, attention, an embedding split into dynamic learners.

    ``F = CNN(x)``; attention :math:`A = \sigma(\mathrm{conv}(\mathrm{ReLU}(\mathrm{conv}(\mathrm{ReLU}(\mathrm{conv}(F))))))`
    (3x3 convs, channels C -> C/8 -> C/32 -> 1, as 2048 -> 256 -> 64 -> 1 in the paper);
    :math:`x = W\, \mathrm{AvgPool}(A \odot F) + b` (dropout 0.01), split into the learners'
    contiguous blocks, each L2-normalised. ``forward`` returns the concatenated normalised blocks
    in training; in evaluation it returns cosine similarities to the class means of the training
    embeddings (``(n, num_classes)``, a nearest-class-mean classifier for the classification task).

    Training (``training_step``, called by the framework): samples are assigned to the learner of
    their k-means group (k-means on the full embedding of the previous epochs, refreshed every
    ``recluster_every`` epochs); learner ``k`` takes the margin loss of its group (own learnable
    :math:`\beta_k`). The activations and gradients of the last learner are recorded for the Taylor
    scores; after ``patience`` epochs without a new best NMI of k-means on the epoch's training
    embeddings (the authors monitor it on their evaluation set), the last learner splits by :func:`split_learner`: its high-score neurons
    are moved to its first slots and kept, the others re-initialised (Xavier normal) as a new
    learner. From ``finetune_epoch`` on, the whole embedding is one learner.
    """

    input_type = "image"

    def __init__(
        self,
        in_channels: Size,
        num_classes: Size,
        channels: list[Size] | None = None,
        embedding_dim: Size = 32,
        margin: PositiveFloat = 0.2,
        beta: PositiveFloat = 1.2,
        recluster_every: PositiveInt = 2,
        patience: PositiveInt = 10,
        min_neurons: NonNegativeInt = 10,
        min_high: PositiveInt = 5,
        score_threshold: float = 0.5,
        max_learners: PositiveInt = 8,
        finetune_epoch: NonNegativeInt | None = None,
        dropout: Dropout = 0.01,
        seed: NonNegativeInt = 0,
        triplets: Literal["nearest", "all"] = "nearest",
    ) -> None:
        super().__init__()
        channels = [32, 64] if channels is None else list(channels)
        self.triplets = triplets
        if not 0.0 <= score_threshold <= 1.0:
            raise ValueError(f"dynamic_subspace: parameter 'score_threshold' must be in [0, 1], got {score_threshold}")
        cs = [in_channels, *channels]
        c = channels[-1]
        a1, a2 = max(1, c // 8), max(1, c // 32)
        check_weights("dynamic_subspace", *[(x, y, 3, 3) for x, y in zip(cs[:-1], cs[1:], strict=True)], (c, embedding_dim))
        layers: list[nn.Module] = []
        for i, (x, y) in enumerate(zip(cs[:-1], cs[1:], strict=True)):
            layers += [nn.Conv2d(x, y, 3, padding=1), nn.BatchNorm2d(y), nn.ReLU()]
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
        self.backbone = nn.Sequential(*layers)
        self.attention = nn.Sequential(nn.Conv2d(c, a1, 3, padding=1), nn.ReLU(), nn.Conv2d(a1, a2, 3, padding=1), nn.ReLU(),
                                       nn.Conv2d(a2, 1, 3, padding=1), nn.Sigmoid())
        self.embedding = nn.Linear(c, embedding_dim)
        self.drop = nn.Dropout(dropout)
        self.betas = nn.Parameter(torch.full((max_learners,), float(beta)))
        self.in_channels, self.num_classes, self.embedding_dim = in_channels, num_classes, embedding_dim
        self.margin, self.recluster_every, self.patience = float(margin), recluster_every, patience
        self.min_neurons, self.min_high, self.score_threshold = min_neurons, min_high, float(score_threshold)
        self.max_learners, self.finetune_epoch, self.seed = max_learners, finetune_epoch, seed
        self.register_buffer("bounds", torch.tensor([0, embedding_dim]))  # learner k = [bounds[k], bounds[k+1])
        self.register_buffer("centroids", torch.zeros(0, embedding_dim))
        self.register_buffer("class_means", torch.zeros(num_classes, embedding_dim))
        self.register_buffer("epoch", torch.zeros((), dtype=torch.long))
        self.best_metric, self.since_best, self.explore = -1.0, 0, True
        self.history: list[dict[str, float]] = []
        self._bank: list[tuple[torch.Tensor, torch.Tensor]] = []
        self._acts: list[torch.Tensor] = []
        self._grads: list[torch.Tensor] = []

    @property
    def n_learners(self) -> int:
        return len(self.bounds) - 1

    def blocks(self) -> list[tuple[int, int]]:
        b = self.bounds.tolist()
        if self.finetune_epoch is not None and int(self.epoch) >= self.finetune_epoch:
            return [(0, self.embedding_dim)]
        return list(zip(b[:-1], b[1:], strict=True))

    def raw_embedding(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"dynamic_subspace expects images (N, {self.in_channels}, H, W), got shape {tuple(x.shape)}")
        f = self.backbone(x)
        a = self.attention(f)
        return self.drop(self.embedding((a * f).mean(dim=(2, 3))))

    def normalise(self, e: torch.Tensor) -> torch.Tensor:
        return torch.cat([F.normalize(e[:, s:t], dim=1) for s, t in self.blocks()], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.normalise(self.raw_embedding(x))
        if self.training:
            return z
        return F.normalize(z, dim=1) @ F.normalize(self.class_means, dim=1).T

    # -------------------------------------------------------------- training
    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Any = None) -> torch.Tensor:
        e = self.raw_embedding(x)
        z = self.normalise(e)
        self._bank.append((z.detach(), y.detach()))
        blocks = self.blocks()
        if len(self.centroids) == len(blocks) and len(blocks) > 1:
            groups = torch.cdist(z.detach(), self.centroids).argmin(1)
        else:
            groups = torch.zeros(len(z), dtype=torch.long)
        total = z.sum() * 0.0
        for k, (s, t) in enumerate(blocks):
            sel = groups == k
            if int(sel.sum()) >= 3:
                total = total + margin_loss(e[sel, s:t], y[sel], self.betas[k], self.margin, self.triplets)
        if e.requires_grad and len(blocks) == self.n_learners:
            s, t = blocks[-1]
            self._acts.append(e[:, s:t].detach())
            e.register_hook(lambda g, s=s, t=t: self._grads.append(g[:, s:t].detach()))
        return total

    @torch.no_grad()
    def on_epoch_end(self, epoch: int) -> None:
        from sklearn.cluster import KMeans

        n = min(len(self._acts), len(self._grads))
        acts, grads = self._acts[:n], self._grads[:n]
        self._acts, self._grads = [], []
        self.epoch.fill_(epoch + 1)
        if not self._bank:
            return
        z = torch.cat([b[0] for b in self._bank])
        y = torch.cat([b[1] for b in self._bank])
        self._bank = []
        for c in range(self.num_classes):
            if bool((y == c).any()):
                self.class_means[c] = z[y == c].mean(0)
        recall = recall_at_1(z, y)
        nmi = kmeans_nmi(z, y, self.num_classes, self.seed)
        self.history.append({"epoch": epoch + 1, "train_recall@1": recall, "train_nmi": nmi, "learners": self.n_learners})
        # the authors' code monitors the NMI of k-means (as many clusters as classes) on the
        # evaluation embeddings; a new best (re-)enables exploration, a split pauses it
        if nmi > self.best_metric:
            self.best_metric, self.since_best, self.explore = nmi, 0, True
        else:
            self.since_best += 1
        if self.explore and self.since_best >= self.patience and acts and self.n_learners < self.max_learners:
            scores = taylor_scores(torch.cat(acts), torch.cat(grads))
            if self.split(scores):
                self.explore = False  # exploration pauses until the metric beats its best again
        if (epoch + 1) % self.recluster_every == 0 and self.n_learners > 1:
            km = KMeans(self.n_learners, n_init=3, random_state=self.seed).fit(z.double().numpy())
            self.centroids = torch.as_tensor(km.cluster_centers_, dtype=z.dtype)

    @torch.no_grad()
    def split(self, scores: torch.Tensor) -> bool:
        """Split the last learner by :func:`split_learner`; returns whether it split."""
        rule = split_learner(scores, self.score_threshold, self.min_neurons, self.min_high)
        if rule is None:
            return False
        kept, moved = rule
        s, t = (int(v) for v in self.bounds[-2:])
        order = torch.as_tensor(np.concatenate([kept, moved])) + s
        w, b = self.embedding.weight, self.embedding.bias
        w[s:t] = w[order].clone()
        b[s:t] = b[order].clone()
        new_s = s + len(kept)
        nn.init.xavier_normal_(w[new_s:t])
        b[new_s:t] = 0.0
        self.bounds = torch.cat([self.bounds[:-1], torch.tensor([new_s, t])])
        self.centroids = torch.zeros(0, self.embedding_dim)
        return True


def kmeans_nmi(z: torch.Tensor, y: torch.Tensor, n_clusters: int, seed: int = 0) -> float:
    """NMI between the labels and k-means (``n_clusters``) on the embeddings ``z`` (the metric the
    authors' training loop monitors for the learner split)."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import normalized_mutual_info_score

    k = min(int(n_clusters), len(z))
    if k < 2:
        return 0.0
    pred = KMeans(k, n_init=3, random_state=seed).fit_predict(z.detach().double().cpu().numpy())
    return float(normalized_mutual_info_score(y.cpu().numpy(), pred))


def recall_at_1(z: torch.Tensor, y: torch.Tensor) -> float:
    """Recall@1: fraction of samples whose nearest other sample (Euclidean) has the same label."""
    d = torch.cdist(z, z)
    d.fill_diagonal_(float("inf"))
    return float((y[d.argmin(1)] == y).float().mean())
