"""NFE: knowledge-graph embedding by normalizing flows (Xiao, He, Cao, arXiv 2409.19977), and TransE.

Entities and relations are elements of a symmetric group acting on a set of random variables.
An entity ``e`` is the diagonal Gaussian random variable ``X_e = mu_e + sigma_e * eps`` (``eps``
standard normal, ``d`` coordinates); a relation ``r`` acts on it by the element-wise affine map
(a normalizing flow) ``f_r(x) = sigma_r * x + mu_r``. The head pushed through the relation,
``f_r(X_h)``, is Gaussian with mean ``m1 = sigma_r * mu_h + mu_r`` and scale ``s1 = |sigma_r *
sigma_h|``; the tail is ``X_t`` with ``(m2, s2) = (mu_t, |sigma_t|)``. The score is ``gamma``
minus a dissimilarity of the two random variables:

* ``nfe1`` (NFE-1): the squared 2-Wasserstein distance ``||m1 - m2||^2 + ||s1 - s2||^2``;
* ``nfe3`` (NFE-3): the KL divergence ``KL(N(m1, s1^2) || N(m2, s2^2))`` with softplus scales
  ``s1 = softplus(sigma_r) softplus(sigma_h)``, ``s2 = softplus(sigma_t)``;
* ``nfe2`` (NFE-2): entities with two scale vectors (a two-piece, skewed variable), the
  authors' W2-type distance (see :func:`nfe2_distance`);
* ``mean_only`` (the paper's "NFE w/o uncertainty", NFE-1 with ``sigma_h = sigma_t = 0``) and
  ``scale_only`` (NFE-1-sigma) ablations.

Training (``training_step``, the authors' ``main.py``): every training triple ``(h, r, t)`` and
its reciprocal ``(t, r^-1, h)`` (the authors' data loader adds a reciprocal relation for every
relation) is a query ``(h, r, ?)``; all entities are scored as its tail and each gets a binary
logistic loss, positive for the true tail and negative for every other entity:
``loss = mean_q sum_e softplus((1 - 2 [e = t_q]) score(h_q, r_q, e))``.
Head prediction ``(?, r, t)`` is tail prediction with the reciprocal relation ``(t, r^-1, ?)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder

VARIANTS = ("nfe1", "nfe2", "nfe3", "mean_only", "scale_only")
#: the constant of the NFE-2 cross term, E|eps| = sqrt(2 / pi) for a standard normal eps
NFE2_CONSTANT = math.sqrt(2.0 / math.pi)


# ---------------------------------------------------------------------------- checks
def _count(name: str, value: Any, low: int = 1) -> int:
    if value is None:
        raise ValueError(f"{name} is required (the link_prediction task fills it in from the dataset's meta)")
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    return value


def _real(name: str, value: Any, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and v <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    return v


# ---------------------------------------------------------------------------- closed forms
def pushforward(mu_h: torch.Tensor, sigma_h: torch.Tensor, mu_r: torch.Tensor, sigma_r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and scale of ``f_r(X_h) = sigma_r * X_h + mu_r`` for ``X_h = mu_h + sigma_h * eps``."""
    return sigma_r * mu_h + mu_r, (sigma_r * sigma_h).abs()


def w2_squared(m1: torch.Tensor, s1: torch.Tensor, m2: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """Squared 2-Wasserstein distance of ``N(m1, diag s1^2)`` and ``N(m2, diag s2^2)`` (``s >= 0``),
    summed over the last axis: ``||m1 - m2||^2 + ||s1 - s2||^2``."""
    return ((m1 - m2) ** 2).sum(-1) + ((s1 - s2) ** 2).sum(-1)


def kl_diag_gaussian(m1: torch.Tensor, s1: torch.Tensor, m2: torch.Tensor, s2: torch.Tensor) -> torch.Tensor:
    """``KL(N(m1, diag s1^2) || N(m2, diag s2^2))`` summed over the last axis (``s > 0``)."""
    return (torch.log(s2 / s1) + (s1**2 + (m1 - m2) ** 2) / (2 * s2**2) - 0.5).sum(-1)


def nfe2_distance(m1: torch.Tensor, s1a: torch.Tensor, s1b: torch.Tensor, m2: torch.Tensor, s2a: torch.Tensor, s2b: torch.Tensor) -> torch.Tensor:
    """The NFE-2 dissimilarity of two two-piece random variables (authors' ``model.py``):
    ``||m1-m2||^2 + 1/2 ||s1a-s2a||^2 + 1/2 ||s1b-s2b||^2 + c (<m1, s1b-s1a> + <m1, s2a-s2b>
    - <s1b-s1a, m2> - <m2, s2a-s2b>)`` with ``c = sqrt(2/pi)``."""
    d = ((m1 - m2) ** 2).sum(-1) + 0.5 * ((s1a - s2a) ** 2).sum(-1) + 0.5 * ((s1b - s2b) ** 2).sum(-1)
    cross = (m1 * (s1b - s1a)).sum(-1) + (m1 * (s2a - s2b)).sum(-1) - ((s1b - s1a) * m2).sum(-1) - (m2 * (s2a - s2b)).sum(-1)
    return d + NFE2_CONSTANT * cross


def _pairwise_sq(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(B, n)`` squared Euclidean distances between the rows of ``a`` (B, d) and ``b`` (n, d),
    by the expansion ``|a|^2 - 2 a.b + |b|^2`` (one matrix product, as the authors compute it)."""
    return (a * a).sum(-1, keepdim=True) - 2 * a @ b.T + (b * b).sum(-1)


# ---------------------------------------------------------------------------- base class
class _OneVsAllScorer(Encoder):
    """Shared machinery of the 1-vs-all knowledge-graph scorers: triple validation, reciprocal
    relations, ``score_all`` and the per-entity binary (softplus) training loss."""

    input_type = "triples"
    num_entities: int
    num_relations: int
    reciprocal: bool

    def _check(self, triples: Any) -> torch.Tensor:
        if not isinstance(triples, torch.Tensor):
            triples = torch.as_tensor(triples)
        if triples.dim() != 2 or triples.shape[1] != 3:
            raise ValueError(f"{type(self).__name__}: triples must have shape (B, 3), got {tuple(triples.shape)}")
        if triples.is_floating_point():
            if not torch.isfinite(triples).all() or not torch.equal(triples, triples.round()):
                raise ValueError("triples must hold finite integer ids")
        elif triples.dtype == torch.bool or triples.is_complex():
            raise TypeError(f"triples must be an integer tensor, got dtype {triples.dtype}")
        triples = triples.long()
        if len(triples):
            e, r = triples[:, [0, 2]], triples[:, 1]
            if int(e.min()) < 0 or int(e.max()) >= self.num_entities:
                raise ValueError(f"entity ids must be in [0, {self.num_entities}), got [{int(e.min())}, {int(e.max())}]")
            if int(r.min()) < 0 or int(r.max()) >= self.num_relations:
                raise ValueError(f"relation ids must be in [0, {self.num_relations}), got [{int(r.min())}, {int(r.max())}]")
        return triples

    # subclasses implement these two on relation ids in [0, n_relation_rows)
    def _tail_scores(self, heads: torch.Tensor, rels: torch.Tensor) -> torch.Tensor:  # (B, n)
        raise NotImplementedError

    def _triple_scores(self, heads: torch.Tensor, rels: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:  # (B,)
        raise NotImplementedError

    def forward(self, triples: torch.Tensor) -> torch.Tensor:
        """``(B,)`` scores (logits) of the triples ``(h, r, t)``."""
        t = self._check(triples)
        return self._triple_scores(t[:, 0], t[:, 1], t[:, 2])

    def score_all(self, triples: torch.Tensor, side: str = "tail") -> torch.Tensor:
        """``(B, num_entities)`` scores with the ``side`` entity of each triple replaced by every
        entity. Heads are ranked as tails of the reciprocal relation (``reciprocal=True``, the
        authors' protocol) or by scoring ``(e, r, t)`` directly (``reciprocal=False``)."""
        if side not in ("head", "tail"):
            raise ValueError(f"side must be 'head' or 'tail', got {side!r}")
        t = self._check(triples)
        if side == "tail":
            return self._tail_scores(t[:, 0], t[:, 1])
        if self.reciprocal:
            return self._tail_scores(t[:, 2], t[:, 1] + self.num_relations)
        n, B = self.num_entities, len(t)
        heads = torch.arange(n).repeat(B)
        return self._triple_scores(heads, t[:, 1].repeat_interleave(n), t[:, 2].repeat_interleave(n)).reshape(B, n)

    def queries(self, triples: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Training queries ``(heads, relations, targets)``: each triple and, with
        ``reciprocal=True``, its reciprocal ``(t, r + num_relations, h)``."""
        t = self._check(triples)
        h, r, tl = t[:, 0], t[:, 1], t[:, 2]
        if self.reciprocal:
            h, r, tl = torch.cat([h, tl]), torch.cat([r, r + self.num_relations]), torch.cat([tl, h])
        return h, r, tl

    def one_vs_all_loss(self, triples: torch.Tensor) -> torch.Tensor:
        """The authors' loss: ``mean_q sum_e softplus((1 - 2 [e = t_q]) * score(h_q, r_q, e))``."""
        h, r, tl = self.queries(triples)
        if len(h) == 0:
            raise ValueError("triples must not be empty")
        scores = self._tail_scores(h, r)
        sign = torch.ones_like(scores)
        sign[torch.arange(len(tl)), tl] = -1.0
        return F.softplus(sign * scores).sum(-1).mean()

    def training_step(self, x: torch.Tensor, y: Any, loss_fn: Any) -> torch.Tensor:
        """The ``link_prediction`` task calls this on batches of positive training triples when
        the spec names no ``loss:`` (then the paper's 1-vs-all loss trains the model)."""
        return self.one_vs_all_loss(x)


def _init_table(rows: int, cols: int, bound: float) -> nn.Embedding:
    emb = nn.Embedding(rows, cols)
    nn.init.uniform_(emb.weight, -bound, bound)
    return emb


# ---------------------------------------------------------------------------- NFE
class NFE(_OneVsAllScorer):
    """Normalizing-flow embedding (NFE) of a knowledge graph: entities as diagonal Gaussian
    random variables, relations as element-wise affine flows, score = gamma - dissimilarity.

    Parameters
    ----------
    num_entities, num_relations : int
        Vocabulary sizes (filled in by the ``link_prediction`` task). With ``reciprocal=True`` the
        model keeps ``2 * num_relations`` relation rows (one reciprocal per relation).
    dim : int
        Dimension ``d`` of each part (mean, scale); the authors use 1024.
    gamma : float
        The margin ``gamma`` of the score ``gamma - distance`` (authors: 1 on WN18RR, 2 on
        FB15k-237, 8 on YAGO3-10 for NFE-1).
    variant : str
        ``"nfe1"`` (W2, default), ``"nfe2"``, ``"nfe3"`` (KL), ``"mean_only"``, ``"scale_only"``.
    reciprocal : bool
        Add a reciprocal relation per relation (the authors' data protocol): training uses both
        directions of every triple, and heads are predicted as tails of the reciprocal.
    init_bound : float
        Tables are initialised uniformly in ``[-init_bound, init_bound]`` (authors: 0.1).
    """

    def __init__(self, num_entities: int | None = None, num_relations: int | None = None, dim: int = 1024, gamma: float = 1.0,
                 variant: str = "nfe1", reciprocal: bool = True, init_bound: float = 0.1) -> None:
        super().__init__()
        self.num_entities = _count("num_entities", num_entities)
        self.num_relations = _count("num_relations", num_relations)
        self.dim = _count("dim", dim)
        self.gamma = _real("gamma", gamma)
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
        self.variant = variant
        if not isinstance(reciprocal, bool):
            raise TypeError(f"reciprocal must be a bool, got {type(reciprocal).__name__}")
        self.reciprocal = reciprocal
        self.init_bound = _real("init_bound", init_bound, positive=True)
        parts = 3 if variant == "nfe2" else 2
        rel_rows = self.num_relations * (2 if reciprocal else 1)
        self.entity = _init_table(self.num_entities, parts * self.dim, self.init_bound)
        self.relation = _init_table(rel_rows, 2 * self.dim, self.init_bound)

    # -------------------------------------------------------------- parameters as distributions
    def entity_parts(self, idx: torch.Tensor | None = None) -> tuple[torch.Tensor, ...]:
        """``(mu, sigma)`` (``nfe2``: ``(mu, sigma_a, sigma_b)``) of the entities ``idx`` (all if None)."""
        w = self.entity.weight if idx is None else self.entity(idx)
        return tuple(torch.chunk(w, 3 if self.variant == "nfe2" else 2, dim=-1))

    def relation_parts(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mu_r, sigma_r)``: the translation and the scaling of the relation's affine flow."""
        mu, sigma = torch.chunk(self.relation(idx), 2, dim=-1)
        return mu, sigma

    def _head_side(self, heads: torch.Tensor, rels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Mean and scale(s) of ``f_r(X_h)``."""
        mu_r, sig_r = self.relation_parts(rels)
        ent = self.entity_parts(heads)
        m1 = sig_r * ent[0] + mu_r
        if self.variant == "nfe3":
            return m1, F.softplus(sig_r) * F.softplus(ent[1])
        if self.variant == "nfe2":
            return m1, (sig_r * ent[1]).abs(), (sig_r * ent[2]).abs()
        return m1, (sig_r * ent[1]).abs()

    def _tail_side(self, tails: torch.Tensor | None) -> tuple[torch.Tensor, ...]:
        ent = self.entity_parts(tails)
        if self.variant == "nfe3":
            return ent[0], F.softplus(ent[1])
        if self.variant == "nfe2":
            return ent[0], ent[1].abs(), ent[2].abs()
        return ent[0], ent[1].abs()

    def distance(self, head: tuple[torch.Tensor, ...], tail: tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The variant's dissimilarity of aligned (broadcastable) head-side and tail-side parts."""
        v = self.variant
        if v == "nfe1":
            return w2_squared(head[0], head[1], tail[0], tail[1])
        if v == "mean_only":
            return ((head[0] - tail[0]) ** 2).sum(-1)
        if v == "scale_only":
            return ((head[1] - tail[1]) ** 2).sum(-1)
        if v == "nfe3":
            return kl_diag_gaussian(head[0], head[1], tail[0], tail[1])
        return nfe2_distance(head[0], head[1], head[2], tail[0], tail[1], tail[2])

    def _triple_scores(self, heads: torch.Tensor, rels: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        return self.gamma - self.distance(self._head_side(heads, rels), self._tail_side(tails))

    def _tail_scores(self, heads: torch.Tensor, rels: torch.Tensor) -> torch.Tensor:
        hs, ts = self._head_side(heads, rels), self._tail_side(None)
        v = self.variant
        if v in ("nfe1", "mean_only", "scale_only"):
            d = 0.0
            if v != "scale_only":
                d = d + _pairwise_sq(hs[0], ts[0])
            if v != "mean_only":
                d = d + _pairwise_sq(hs[1], ts[1])
            return self.gamma - d
        if v == "nfe3":  # KL expanded in matrix products, as in the authors' code
            m1, s1 = hs
            m2, s2 = ts
            inv2 = s2.pow(-2)
            d = (s1**2) @ inv2.T / 2 - torch.log(s1).sum(-1, keepdim=True) + torch.log(s2).sum(-1) - self.dim / 2
            d = d - m1 @ (m2 * inv2).T + (m1**2) @ inv2.T / 2 + ((m2 / s2) ** 2).sum(-1) / 2
            return self.gamma - d
        m1, s1a, s1b = hs
        m2, s2a, s2b = ts
        d = _pairwise_sq(m1, m2) + 0.5 * _pairwise_sq(s1a, s2a) + 0.5 * _pairwise_sq(s1b, s2b)
        cross = (m1 * (s1b - s1a)).sum(-1, keepdim=True) + m1 @ (s2a - s2b).T - (s1b - s1a) @ m2.T - (m2 * (s2a - s2b)).sum(-1)
        return self.gamma - (d + NFE2_CONSTANT * cross)


# ---------------------------------------------------------------------------- TransE
class TransE(_OneVsAllScorer):
    """TransE (Bordes et al., NeurIPS 2013) as scored in the NFE authors' code: ``score(h, r, t) =
    gamma - ||e_h + w_r - e_t||_2^2``, trained by default with the same 1-vs-all binary loss and
    reciprocal relations as NFE (the authors' "NFE-1-mu" row is this model). It is NFE-1 with the
    relation scaling fixed to 1 and all scales 0.

    Parameters
    ----------
    num_entities, num_relations : int
        Vocabulary sizes (filled in by the ``link_prediction`` task).
    dim : int
        Embedding dimension (the NFE authors use 512 for this baseline).
    gamma : float
        Margin in ``gamma - distance``.
    reciprocal : bool
        Reciprocal relations (see :class:`NFE`).
    init_bound : float
        Uniform initialisation bound.
    """

    def __init__(self, num_entities: int | None = None, num_relations: int | None = None, dim: int = 512, gamma: float = 2.0,
                 reciprocal: bool = True, init_bound: float = 0.1) -> None:
        super().__init__()
        self.num_entities = _count("num_entities", num_entities)
        self.num_relations = _count("num_relations", num_relations)
        self.dim = _count("dim", dim)
        self.gamma = _real("gamma", gamma)
        if not isinstance(reciprocal, bool):
            raise TypeError(f"reciprocal must be a bool, got {type(reciprocal).__name__}")
        self.reciprocal = reciprocal
        self.init_bound = _real("init_bound", init_bound, positive=True)
        self.entity = _init_table(self.num_entities, self.dim, self.init_bound)
        self.relation = _init_table(self.num_relations * (2 if reciprocal else 1), self.dim, self.init_bound)

    def _triple_scores(self, heads: torch.Tensor, rels: torch.Tensor, tails: torch.Tensor) -> torch.Tensor:
        return self.gamma - ((self.entity(heads) + self.relation(rels) - self.entity(tails)) ** 2).sum(-1)

    def _tail_scores(self, heads: torch.Tensor, rels: torch.Tensor) -> torch.Tensor:
        return self.gamma - _pairwise_sq(self.entity(heads) + self.relation(rels), self.entity.weight)


# ---------------------------------------------------------------------------- relation algebra
def compose_relations(first: tuple[torch.Tensor, torch.Tensor], second: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The flow ``f_second o f_first`` of two element-wise affine flows ``(mu, sigma)``:
    ``(sigma_2 mu_1 + mu_2, sigma_2 sigma_1)`` (the group operation of the relations)."""
    (m1, s1), (m2, s2) = first, second
    return s2 * m1 + m2, s2 * s1


def invert_relation(rel: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The inverse flow ``(-mu / sigma, 1 / sigma)`` (``sigma`` must be non-zero)."""
    m, s = rel
    if (s == 0).any():
        raise ValueError("a relation with a zero scaling coordinate has no inverse")
    return -m / s, 1.0 / s
