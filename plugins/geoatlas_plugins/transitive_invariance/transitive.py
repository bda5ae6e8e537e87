"""Transitive invariance (Wang, He and Gupta, ICCV 2017): a graph of image instances with two edge
types, positive pairs by transitivity, and a triplet ranking loss on them.

* :func:`transitive_pairs` -- the graph miner: nodes carry an instance id (nodes of the same
  instance are joined by *intra-instance* edges: views of one object), and *inter-instance* edges
  join nodes of different instances that look alike. Positive pairs: intra pairs, inter pairs, and
  the transitive pairs ``(a', b')`` for every inter edge ``(a, b)`` with ``a' ~intra a`` and
  ``b' ~intra b``.
* :func:`nearest_neighbour_edges` -- inter-instance edges from features that are not the network's
  own (the paper clusters the features of another self-supervised network).
* loss ``transitive_triplet`` -- the ranking loss ``max(0, D(x, x+) - D(x, x-) + m)`` with the
  cosine distance ``D = 1 - cos``, over the mined positive pairs of a batch of views, with the
  hardest in-batch negative of each anchor.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from geoatlas.interfaces import Loss
from geoatlas.validation import (
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    check_params,
    check_tensor,
)

PAIR_TYPES = ("intra", "inter", "transitive")


def transitive_pairs(instance: Any, inter_edges: Any) -> dict[str, set[tuple[int, int]]]:
    """Positive pairs of a two-edge-type graph, by type.

    Parameters
    ----------
    instance : array of int, shape (n,)
        Instance id of every node; nodes with the same id are joined by intra-instance edges.
    inter_edges : array of int, shape (m, 2)
        Inter-instance edges between nodes (of different instances; edges inside one instance are
        ignored, they are intra pairs already).

    Returns
    -------
    dict with keys ``"intra"``, ``"inter"``, ``"transitive"``: sets of unordered pairs ``(i, j)``,
    ``i < j``. ``intra``: nodes of one instance. ``inter``: the given edges. ``transitive``: for
    an inter edge ``(a, b)``, every ``(a', b')`` with ``a'`` of ``a``'s instance and ``b'`` of
    ``b``'s instance, that is not already an inter edge. The three sets are disjoint.
    """
    inst = np.asarray(instance)
    if inst.ndim != 1 or inst.size == 0:
        raise ValueError(f"instance must be a non-empty 1-d array of ids, got shape {inst.shape}")
    edges = np.asarray(inter_edges, dtype=np.int64).reshape(-1, 2) if len(inter_edges) else np.zeros((0, 2), np.int64)
    n = len(inst)
    if edges.size and (edges.min() < 0 or edges.max() >= n):
        raise ValueError(f"inter_edges must index nodes 0..{n - 1}, got values in [{edges.min()}, {edges.max()}]")
    members: dict[Any, list[int]] = {}
    for i, k in enumerate(inst.tolist()):
        members.setdefault(k, []).append(i)
    intra = {(a, b) for m in members.values() for ia, a in enumerate(m) for b in m[ia + 1:]}
    inter: set[tuple[int, int]] = set()
    for a, b in edges.tolist():
        if inst[a] != inst[b]:
            inter.add((min(a, b), max(a, b)))
    trans: set[tuple[int, int]] = set()
    for a, b in inter:
        for a2 in members[inst[a].item()]:
            for b2 in members[inst[b].item()]:
                p = (min(a2, b2), max(a2, b2))
                if p not in inter:
                    trans.add(p)
    return {"intra": intra, "inter": inter, "transitive": trans}


def nearest_neighbour_edges(features: torch.Tensor | np.ndarray, k: int = 1, mutual: bool = False) -> np.ndarray:
    """Inter-instance edges: each row joined to its ``k`` nearest other rows in cosine similarity
    (only mutual neighbours with ``mutual=True``). Returns an ``(m, 2)`` int array."""
    f = torch.as_tensor(np.asarray(features) if not isinstance(features, torch.Tensor) else features).double()
    f = F.normalize(f.reshape(len(f), -1), dim=1)
    n = len(f)
    if n < 2 or k < 1:
        return np.zeros((0, 2), np.int64)
    s = f @ f.T
    s.fill_diagonal_(-math.inf)
    nn_idx = s.topk(min(k, n - 1), dim=1).indices.numpy()
    pairs = {(i, int(j)) for i in range(n) for j in nn_idx[i]}
    if mutual:
        pairs = {(i, j) for i, j in pairs if (j, i) in pairs}
    return np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)


def triplet_ranking_loss(anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, margin: float) -> torch.Tensor:
    r"""Mean of :math:`\max(0, D(a, p) - D(a, n) + m)` with :math:`D = 1 - \cos`."""
    d_ap = 1.0 - F.cosine_similarity(anchor, positive, dim=1)
    d_an = 1.0 - F.cosine_similarity(anchor, negative, dim=1)
    return F.relu(d_ap - d_an + margin).mean()


class TransitiveTripletLoss(Loss):
    r"""Triplet ranking loss on the transitive positive pairs of a batch of views.

    ``outputs`` is the list of ``V >= 2`` view embeddings ``(B, D)`` of a batch (the task's
    ``pretrain.views``). Nodes are the ``B V`` view embeddings; the views of one sample form one
    instance (intra-instance edges, the paper's tracked viewpoints of one object). Inter-instance
    edges join each sample's view 0 to its ``k_inter`` nearest other samples in the features named
    by ``inter_features`` (``"input"``: the raw batch input ``batch["x"]``, features independent of
    the network being trained, as the paper's inter edges come from another network; or
    ``"embedding"``: the detached view-0 embeddings). :func:`transitive_pairs` then gives the
    positive pairs; ``edges`` selects which types are used:

    * ``"transitive"`` (the paper's): intra + inter + transitive pairs;
    * ``"intra"``: views of the same sample only (instance discrimination by triplets);
    * ``"inter"``: inter-instance pairs only.

    Every positive pair ``(a, p)`` is used in both directions; its negative is the hardest
    (highest cosine similarity) of ``neg_candidates`` nodes drawn at random from the batch among
    those that are not positive to the anchor (``neg_candidates: 0`` = the hardest of all of them;
    that choice collapsed the embedding in our digits runs). The loss is
    :math:`\frac{1}{|P|}\sum_{(a,p)}\max(0, D(a,p) - D(a,n) + m)` with :math:`D = 1 - \cos`.

    Parameters
    ----------
    margin : float
        :math:`m` (0.5).
    edges : {"transitive", "intra", "inter"}
        Positive pair types.
    k_inter : int
        Inter-instance neighbours per sample (1).
    inter_features : {"input", "embedding"}
        Features that define the inter-instance edges.
    neg_candidates : int
        Random negative candidates per anchor, of which the hardest is used (4; 0 = all).
    """

    requires = ()
    batch_size_independent = False  # in-batch neighbours and negatives

    def __init__(
        self,
        margin: PositiveFloat = 0.5,
        edges: Literal["transitive", "intra", "inter"] = "transitive",
        k_inter: PositiveInt = 1,
        inter_features: Literal["input", "embedding"] = "input",
        neg_candidates: NonNegativeInt = 4,
    ) -> None:
        super().__init__()
        check_params(type(self), margin=margin, edges=edges, k_inter=k_inter, inter_features=inter_features,
                     neg_candidates=neg_candidates)
        self.neg_candidates = int(neg_candidates)
        self.margin, self.edges, self.k_inter, self.inter_features = float(margin), edges, int(k_inter), inter_features
        self.last_counts: dict[str, int] = {}

    def _views(self, outputs: Any) -> list[torch.Tensor]:
        if not isinstance(outputs, (list, tuple)) or not all(isinstance(o, torch.Tensor) for o in outputs):
            raise TypeError(
                "transitive_triplet takes the list of view embeddings (B, D) (give the task views with "
                f"n_views >= 2), got {type(outputs).__name__}"
            )
        if len(outputs) < 2 and self.edges != "inter":
            raise ValueError(f"transitive_triplet needs at least 2 views for intra-instance pairs, got {len(outputs)}")
        b = outputs[0].shape[0]
        for i, o in enumerate(outputs):
            check_tensor(o, f"transitive_triplet: view {i}", floating=True)
            if o.dim() < 2 or o.shape[0] != b or o.shape != outputs[0].shape:
                raise ValueError(f"transitive_triplet: all views must have the same shape (B, D), got {tuple(o.shape)} and {tuple(outputs[0].shape)}")
        if b < 3:
            raise ValueError(f"transitive_triplet needs at least 3 samples per batch (positives and negatives), got {b}")
        return [o.reshape(b, -1) for o in outputs]

    def mine(self, views: list[torch.Tensor], batch: dict[str, Any]) -> dict[str, set[tuple[int, int]]]:
        """The positive pairs of this batch (node ``v * B + i`` = view ``v`` of sample ``i``)."""
        b, n_views = views[0].shape[0], len(views)
        if self.inter_features == "input":
            x = batch.get("x")
            if not isinstance(x, torch.Tensor) or x.shape[0] != b:
                raise ValueError("transitive_triplet: inter_features='input' needs batch['x'], a tensor with one row per sample")
            feats = x.detach()
        else:
            feats = views[0].detach()
        inter = nearest_neighbour_edges(feats, self.k_inter)  # between view-0 nodes 0..B-1
        instance = np.tile(np.arange(b), n_views)
        return transitive_pairs(instance, inter)

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        views = self._views(outputs)
        pairs = self.mine(views, batch)
        use = {"transitive": PAIR_TYPES, "intra": ("intra",), "inter": ("inter",)}[self.edges]
        chosen = sorted(set().union(*(pairs[t] for t in use)))
        self.last_counts = {t: len(pairs[t]) for t in PAIR_TYPES}
        z = torch.cat(views, dim=0)
        n = z.shape[0]
        if not chosen:
            return z.sum() * 0.0
        # positive mask: every mined pair of any type is excluded from the negatives
        pos = torch.zeros(n, n, dtype=torch.bool)
        for t in PAIR_TYPES:
            for i, j in pairs[t]:
                pos[i, j] = pos[j, i] = True
        pos.fill_diagonal_(True)
        idx = torch.tensor(chosen, dtype=torch.long)
        a = torch.cat([idx[:, 0], idx[:, 1]])
        p = torch.cat([idx[:, 1], idx[:, 0]])
        zn = F.normalize(z, dim=1)
        with torch.no_grad():
            sim = (zn @ zn.T)[a].masked_fill(pos[a], -math.inf)
            if self.neg_candidates > 0:  # keep a random subset of the admissible negatives of each anchor
                keys = torch.rand(sim.shape).masked_fill(pos[a], 2.0)
                kth = keys.topk(min(self.neg_candidates, n), dim=1, largest=False).values[:, -1:]
                sim = sim.masked_fill(keys > kth, -math.inf)
            neg = sim.argmax(1)
        return triplet_ranking_loss(z[a], z[p], z[neg], self.margin)

    def extra_repr(self) -> str:
        return (f"margin={self.margin}, edges={self.edges!r}, k_inter={self.k_inter}, "
                f"inter_features={self.inter_features!r}, neg_candidates={self.neg_candidates}")
