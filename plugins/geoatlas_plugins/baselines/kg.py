"""Link-prediction baselines: DistMult and free node embeddings.

Both map a batch of triples ``(B, 3)`` (head, relation, tail ids, integer) to ``(B,)`` logits,
the contract of the ``link_prediction`` task, and offer ``score_all(triples, side)`` which
scores every entity as the tail (``side="tail"``) or head (``"head"``) of each query at once
(the task uses it for ranking when a model has it).
"""

from __future__ import annotations

import torch
from torch import nn

from geoatlas.interfaces import Encoder


def _check_count(name: str, value: int | None, low: int = 1) -> int:
    if value is None:
        raise ValueError(f"{name} is required (the link_prediction task fills it in from the dataset's meta)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


class _TripleScorer(Encoder):
    input_type = "triples"
    num_entities: int
    num_relations: int

    def _check(self, triples: torch.Tensor) -> torch.Tensor:
        if not isinstance(triples, torch.Tensor):
            triples = torch.as_tensor(triples)
        if triples.dim() != 2 or triples.shape[1] != 3:
            raise ValueError(f"{type(self).__name__} expects triples of shape (B, 3), got {tuple(triples.shape)}")
        if triples.is_floating_point():
            if not torch.equal(triples, triples.round()):
                raise ValueError("triples must hold integer ids")
            triples = triples.long()
        triples = triples.long()
        if len(triples):
            e = triples[:, [0, 2]]
            r = triples[:, 1]
            if int(e.min()) < 0 or int(e.max()) >= self.num_entities:
                raise ValueError(f"entity ids must be in [0, {self.num_entities}), got [{int(e.min())}, {int(e.max())}]")
            if int(r.min()) < 0 or int(r.max()) >= self.num_relations:
                raise ValueError(f"relation ids must be in [0, {self.num_relations}), got [{int(r.min())}, {int(r.max())}]")
        return triples

    @staticmethod
    def _side(side: str) -> str:
        if side not in ("head", "tail"):
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        return side


class DistMult(_TripleScorer):
    """DistMult (Yang et al., ICLR 2015): ``score(h, r, t) = sum_k e_h[k] * w_r[k] * e_t[k]``.

    A bilinear model with a diagonal relation matrix; it scores ``(h, r, t)`` and ``(t, r, h)``
    identically, so it models symmetric relations and cannot model antisymmetric ones.

    Parameters
    ----------
    num_entities, num_relations : int
        Sizes of the vocabularies (filled in by the ``link_prediction`` task).
    dim : int
        Embedding dimension.
    init_std : float
        Standard deviation of the normal initialisation of both tables.
    """

    def __init__(self, num_entities: int | None = None, num_relations: int | None = None, dim: int = 32, init_std: float = 0.1) -> None:
        super().__init__()
        self.num_entities = _check_count("num_entities", num_entities)
        self.num_relations = _check_count("num_relations", num_relations)
        self.dim = _check_count("dim", dim)
        if not init_std > 0:
            raise ValueError(f"init_std must be > 0, got {init_std}")
        self.entity = nn.Embedding(self.num_entities, self.dim)
        self.relation = nn.Embedding(self.num_relations, self.dim)
        nn.init.normal_(self.entity.weight, std=init_std)
        nn.init.normal_(self.relation.weight, std=init_std)

    def forward(self, triples: torch.Tensor) -> torch.Tensor:
        t = self._check(triples)
        return (self.entity(t[:, 0]) * self.relation(t[:, 1]) * self.entity(t[:, 2])).sum(-1)

    def score_all(self, triples: torch.Tensor, side: str = "tail") -> torch.Tensor:
        """``(B, num_entities)`` scores with the ``side`` entity of each triple replaced by every entity."""
        t = self._check(triples)
        keep = t[:, 0] if self._side(side) == "tail" else t[:, 2]
        return (self.entity(keep) * self.relation(t[:, 1])) @ self.entity.weight.T


class NodeEmbedding(_TripleScorer):
    """Free node embeddings scored by a dot product, ``score(u, ., v) = <e_u, e_v> + b``: the
    plain-graph link-prediction baseline (one relation; the relation id is checked, not used).

    The learned scalar ``b`` (``bias=True``) changes no ranking; it lets a logistic loss fit the
    base rate of edges, which a bias-free dot product of low dimension cannot (most node pairs
    are not edges).

    Parameters
    ----------
    num_entities : int
        Number of nodes (filled in by the ``link_prediction`` task).
    dim : int
        Embedding dimension.
    num_relations : int
        Number of relations in the data; must be 1 (filled in by the task).
    init_std : float
        Standard deviation of the normal initialisation.
    bias : bool
        Add a learned scalar to every score.
    """

    def __init__(self, num_entities: int | None = None, dim: int = 16, num_relations: int = 1, init_std: float = 0.1,
                 bias: bool = True) -> None:
        super().__init__()
        self.num_entities = _check_count("num_entities", num_entities)
        self.dim = _check_count("dim", dim)
        self.num_relations = _check_count("num_relations", num_relations)
        if self.num_relations != 1:
            raise ValueError(f"node_embedding scores one relation, but the data have num_relations={num_relations}; use distmult for a knowledge graph")
        if not init_std > 0:
            raise ValueError(f"init_std must be > 0, got {init_std}")
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be a bool, got {type(bias).__name__}")
        self.entity = nn.Embedding(self.num_entities, self.dim)
        nn.init.normal_(self.entity.weight, std=init_std)
        self.bias = nn.Parameter(torch.zeros(())) if bias else None

    def _b(self) -> torch.Tensor | float:
        return self.bias if self.bias is not None else 0.0

    def forward(self, triples: torch.Tensor) -> torch.Tensor:
        t = self._check(triples)
        return (self.entity(t[:, 0]) * self.entity(t[:, 2])).sum(-1) + self._b()

    def score_all(self, triples: torch.Tensor, side: str = "tail") -> torch.Tensor:
        """``(B, num_entities)`` scores with the ``side`` node of each triple replaced by every node."""
        t = self._check(triples)
        keep = t[:, 0] if self._side(side) == "tail" else t[:, 2]
        return self.entity(keep) @ self.entity.weight.T + self._b()
