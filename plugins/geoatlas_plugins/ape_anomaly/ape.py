"""APE: entity embeddings for anomaly detection in heterogeneous categorical events.

Chen, Tang, Sun, Chen, Zhang, "Entity Embedding-based Anomaly Detection for Heterogeneous
Categorical Events", IJCAI 2016 (arXiv 1608.07502). Re-implemented from the paper and a public
re-implementation's description (no code copied).

An event ``e = (a_1, ..., a_m)`` has one entity of each of ``m`` types. All entities share one
embedding space; the event's compatibility is the weighted sum of pairwise interactions

    S(e) = sum_{i<j} w_ij <v_{a_i}, v_{a_j}> + b,      w_ij >= 0,

and ``P(e) = exp S(e) / sum_e' exp S(e')``. Training is noise-contrastive with a context-dependent
noise: per mini-batch one entity type ``t`` is drawn (uniformly, as the reference demo; or with
probability proportional to its cardinality to the power 0.75), each observed event gets ``k`` corrupted copies whose type-``t`` entity is drawn
from that type's unigram distribution to the power 0.75; the NCE logit of an event is
``S(e) - log(k P_n(a_t))`` (``P_n`` the plain unigram), and the loss is
``-(1/B) [sum_pos log sigma(logit) + sum_neg log sigma(-logit)]``. The anomaly score is ``-S(e)``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from geoatlas.interfaces import DataBundle, Dataset, Encoder

POWER = 0.75


class APE(Encoder):
    """APE event model: ``forward(events) -> anomaly score -S(e)`` for an int64 ``(B, m)`` table.

    Parameters
    ----------
    cardinalities : list of int
        Number of entities of each type (field). The pipeline's ranking task fills it.
    dim : int
        Embedding dimension (the reference demo: 10).
    num_negatives : int
        ``k`` noise events per observed event (demo: 5).
    weighted : bool
        Learn the non-negative type-pair weights ``w_ij`` (initialised to 1); ``False`` fixes them to 1
        (the paper's "no weight" ablation).
    seed : int
        Seed of the embedding initialisation and of the noise sampler.
    type_sampling : {"uniform", "cardinality"}
        How the corrupted entity type of each mini-batch is drawn: uniformly over the types (the
        reference re-implementation's demo run, ``neg_dist='uniform'``) or proportionally to the
        type's cardinality to the power 0.75 (that library function's own default).

    ``fit_events(events)`` trains it on an event table with the exact unigram noise (Adam, lr 0.01,
    batches of 512, 10 epochs as the reference demo);
    in a pipeline, ``training_step`` does the same with unigram counts accumulated over the batches
    seen so far (labels are ignored: training is unsupervised).
    """

    input_type: ClassVar[str] = "table"
    output_space: ClassVar[str] = "euclidean"

    def __init__(self, cardinalities: list[int], dim: int = 10, num_negatives: int = 5, weighted: bool = True, seed: int = 0,
                 type_sampling: Literal["uniform", "cardinality"] = "uniform") -> None:
        super().__init__()
        if not isinstance(cardinalities, (list, tuple)) or len(cardinalities) < 2:
            raise ValueError(f"cardinalities must list at least 2 entity types, got {cardinalities!r}")
        if any(isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1 for c in cardinalities):
            raise ValueError(f"cardinalities must be positive integers, got {cardinalities!r}")
        for name, v in (("dim", dim), ("num_negatives", num_negatives)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an integer, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{name} must be >= 1, got {v}")
        if not isinstance(weighted, bool):
            raise TypeError(f"weighted must be a bool, got {type(weighted).__name__}")
        if type_sampling not in ("uniform", "cardinality"):
            raise ValueError(f"type_sampling must be 'uniform' or 'cardinality', got {type_sampling!r}")
        self.type_sampling = type_sampling
        self.cardinalities = [int(c) for c in cardinalities]
        self.m, self.dim, self.num_negatives, self.weighted, self.seed = len(cardinalities), dim, num_negatives, weighted, seed
        g = torch.Generator().manual_seed(seed)
        total = sum(self.cardinalities)
        self.embedding = torch.nn.Parameter(torch.empty(total, dim).uniform_(-0.05, 0.05, generator=g))
        iu = torch.triu_indices(self.m, self.m, 1)
        self.register_buffer("pairs", iu)
        self.pair_weight = torch.nn.Parameter(torch.ones(iu.shape[1]), requires_grad=weighted)
        self.bias = torch.nn.Parameter(torch.zeros(()))
        self.register_buffer("offsets", torch.tensor(np.r_[0, np.cumsum(self.cardinalities)[:-1]], dtype=torch.long))
        self.register_buffer("counts", torch.zeros(total, dtype=torch.float64))
        self._gen = torch.Generator().manual_seed(seed + 1)

    # ------------------------------------------------------------------ scores
    def _check(self, events: Any) -> torch.Tensor:
        x = torch.as_tensor(events)
        if x.dim() != 2 or x.shape[1] != self.m:
            raise ValueError(f"events must have shape (n, {self.m}), got {tuple(x.shape)}")
        if x.is_floating_point():
            if not torch.isfinite(x).all() or not torch.equal(x, x.round()):
                raise ValueError("events must hold integer entity ids")
            x = x.long()
        x = x.long()
        if x.numel() and (x.min() < 0 or (x >= torch.tensor(self.cardinalities)).any()):
            raise ValueError(f"events hold entity ids outside [0, cardinality) per type {self.cardinalities}")
        return x

    def compatibility(self, events: Any) -> torch.Tensor:
        """``S(e) = sum_{i<j} w_ij <v_{a_i}, v_{a_j}> + b`` for each row."""
        x = self._check(events) + self.offsets
        v = self.embedding[x]  # (B, m, d)
        i, j = self.pairs
        inter = (v[:, i] * v[:, j]).sum(-1)  # (B, n_pairs)
        return inter @ self.pair_weight.clamp(min=0.0) + self.bias  # w_ij >= 0 (also between projections)

    def forward(self, events: torch.Tensor) -> torch.Tensor:
        """The anomaly score ``-S(e)`` (higher = more anomalous), shape ``(B,)``."""
        return -self.compatibility(events)

    def anomaly_score(self, events: Any) -> np.ndarray:
        with torch.no_grad():
            return self.forward(torch.as_tensor(np.asarray(events))).double().numpy()

    # ------------------------------------------------------------------ NCE
    def _unigram(self, t: int) -> torch.Tensor:
        a, c = int(self.offsets[t]), self.cardinalities[t]
        cnt = self.counts[a : a + c]
        return (cnt + 1e-12) / (cnt.sum() + 1e-12 * c)

    def type_probabilities(self) -> torch.Tensor:
        """Probability of each entity type being the corrupted one in a mini-batch."""
        card = torch.tensor(self.cardinalities, dtype=torch.float64)
        if self.type_sampling == "uniform":
            return torch.full_like(card, 1.0 / len(card))
        return card**POWER / (card**POWER).sum()

    def nce_loss(self, events: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The noise-contrastive loss of one mini-batch (context-dependent noise, one type per batch)."""
        g = generator if generator is not None else self._gen
        x = self._check(events)
        B, k = x.shape[0], self.num_negatives
        t = int(torch.multinomial(self.type_probabilities(), 1, generator=g))
        pn = self._unigram(t)
        noise = torch.multinomial(pn**POWER / (pn**POWER).sum(), B * k, replacement=True, generator=g)
        neg = x.repeat_interleave(k, 0).clone()
        neg[:, t] = noise
        s_pos = self.compatibility(x) - torch.log(k * pn[x[:, t]]).float()
        s_neg = self.compatibility(neg) - torch.log(k * pn[neg[:, t]]).float()
        return -(torch.nn.functional.logsigmoid(s_pos).sum() + torch.nn.functional.logsigmoid(-s_neg).sum()) / B

    def observe(self, events: Any) -> None:
        """Add the events' entities to the unigram counts of the noise distribution."""
        x = self._check(events) + self.offsets
        self.counts += torch.bincount(x.reshape(-1), minlength=self.counts.numel()).double()

    def project(self) -> None:
        """Keep ``w_ij >= 0`` (projection after each step, as the non-negativity constraint)."""
        with torch.no_grad():
            self.pair_weight.clamp_(min=0.0)

    def training_step(self, x: Any, y: Any = None, loss_fn: Any = None) -> torch.Tensor:
        """Pipeline hook: unsupervised NCE on the batch (labels ignored). The unigram counts grow
        with the batches seen; the projection of ``w`` runs before the loss (after the previous step)."""
        self.project()
        self.observe(x)
        return self.nce_loss(torch.as_tensor(x))

    def fit_events(self, events: Any, epochs: int = 10, batch_size: int = 512, lr: float = 0.01) -> list[float]:
        """Train on an event table: exact unigram counts first, then Adam on the NCE loss with the
        projection after each step. Returns the mean loss per epoch."""
        x = self._check(torch.as_tensor(np.asarray(events)))
        if len(x) == 0:
            raise ValueError("events is empty")
        self.counts.zero_()
        self.observe(x)
        opt = torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=lr)
        g = torch.Generator().manual_seed(self.seed + 2)
        hist = []
        for _ in range(epochs):
            perm = torch.randperm(len(x), generator=g)
            tot = 0.0
            for i in range(0, len(x), batch_size):
                opt.zero_grad()
                loss = self.nce_loss(x[perm[i : i + batch_size]], g)
                loss.backward()
                opt.step()
                self.project()
                tot += float(loss.detach()) * len(perm[i : i + batch_size])
            hist.append(tot / len(x))
        return hist

    def log_probabilities(self, events: Any) -> np.ndarray:
        """``log P(e)`` normalised over the whole event space by enumeration (small spaces only)."""
        total = math.prod(self.cardinalities)
        if total > 2_000_000:
            raise ValueError(f"the event space has {total} events; enumeration is limited to 2e6")
        grid = torch.cartesian_prod(*[torch.arange(c) for c in self.cardinalities]).reshape(total, self.m)
        with torch.no_grad():
            logz = torch.logsumexp(self.compatibility(grid).double(), 0)
            return (self.compatibility(torch.as_tensor(np.asarray(events))).double() - logz).numpy()


# ---------------------------------------------------------------------------- data
def make_events(cardinalities: tuple[int, ...] = (50, 30, 40, 24), n_events: int = 20000, n_groups: int = 6,
                anomaly_rate: float = 0.01, n_replaced: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic heterogeneous categorical events with injected anomalies.

    ``n_groups`` latent groups; entity type 0 (e.g. users) is assigned to groups, and each group
    prefers a small random subset of the entities of every other type (e.g. hosts, processes,
    hours). A normal event draws a user, then each other entity from the user's group's preferred
    subset with probability 0.9 (else uniformly). An anomaly (label 1) is a normal event with
    ``n_replaced`` of its entities (random types) replaced by uniform random ones."""
    rng = np.random.default_rng(seed)
    m = len(cardinalities)
    users_group = rng.integers(0, n_groups, cardinalities[0])
    prefs = [[rng.choice(c, size=max(2, c // n_groups), replace=False) for c in cardinalities[1:]] for _ in range(n_groups)]
    X = np.empty((n_events, m), dtype=np.int64)
    X[:, 0] = rng.integers(0, cardinalities[0], n_events)
    grp = users_group[X[:, 0]]
    for t in range(1, m):
        pref = np.array([rng.choice(prefs[g][t - 1]) for g in grp])
        X[:, t] = np.where(rng.random(n_events) < 0.9, pref, rng.integers(0, cardinalities[t], n_events))
    y = (rng.random(n_events) < anomaly_rate).astype(np.int64)
    for i in np.where(y == 1)[0]:
        for t in rng.choice(m, size=n_replaced, replace=False):
            X[i, t] = rng.integers(0, cardinalities[t])
    return X, y


class CategoricalEvents(Dataset):
    """Synthetic heterogeneous categorical events (types: user 50, host 30, process 40, hour 24 by
    default) with injected anomalies (label 1), as an ``(N, m)`` table for the ranking task (AUC
    of the anomaly score)."""

    data_type = "table"
    task = "ranking"

    def __init__(self, n_events: int = 8000, anomaly_rate: float = 0.02, n_groups: int = 6, n_replaced: int = 2,
                 cardinalities: list[int] | None = None, seed: int = 0) -> None:
        cards = list(cardinalities) if cardinalities is not None else [50, 30, 40, 24]
        if len(cards) < 2 or any(int(c) < 2 for c in cards):
            raise ValueError(f"cardinalities must list at least 2 types of at least 2 entities, got {cards}")
        if not 0 < anomaly_rate < 0.5:
            raise ValueError(f"anomaly_rate must be in (0, 0.5), got {anomaly_rate}")
        if n_events < 20:
            raise ValueError(f"n_events must be >= 20, got {n_events}")
        if not 1 <= n_replaced <= len(cards):
            raise ValueError(f"n_replaced must be in [1, {len(cards)}], got {n_replaced}")
        self.n_events, self.anomaly_rate, self.n_groups, self.n_replaced = n_events, anomaly_rate, n_groups, n_replaced
        self.cardinalities, self.seed = cardinalities, seed
        self._cards = [int(c) for c in cards]

    def load(self) -> DataBundle:
        X, y = make_events(tuple(self._cards), self.n_events, self.n_groups, self.anomaly_rate, self.n_replaced, self.seed)
        return DataBundle(X, y, "table", task="ranking", meta={"cardinalities": self._cards})
