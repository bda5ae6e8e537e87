"""Compressed embedding tables for click-through models, all under one memory-budget convention.

The benchmark of Zhang et al. (VLDB 2024, arXiv 2311.15578) compares embedding-compression
methods at a fixed **memory budget**: ``rate`` = the fraction of the full table's ``N d``
parameters that a method may keep (compression ratio ``1 / rate``), ``N = sum_f V_f`` values of
all fields, ``d`` the embedding dimension. Every encoder here takes ``(cardinalities, rate, dim)``,
embeds the ``F`` fields of a row to ``(B, F, d)`` and feeds the concatenation to the same MLP
(``hidden``) for one click logit, so methods differ only in how they store the table.

Methods (the paper's taxonomy: inter-feature = rows shared between values, intra-feature = a
smaller representation per value):

* ``hash_trick_embedding`` — hashing trick (Weinberger et al. 2009): ``e(v) = E[h(v) mod M]``.
* ``qr_embedding`` — quotient-remainder trick (Shi et al. 2020):
  ``e(v) = E_Q[v // m] * E_R[v mod m]``.
* ``mixed_dim_embedding`` — mixed dimensions (Ginart et al. 2021): field ``f`` gets
  ``d_f ~ p_f^alpha`` dims and a projection to ``d``.
* ``tt_rec_embedding`` — TT-Rec (Yin et al. 2021): the table as a tensor train of three cores.
* ``robe_embedding`` — ROBE-Z (Desai et al. 2022): blocks of ``Z`` dims read from one shared
  circular array.
* ``pruned_embedding`` — DeepLight-style (Deng et al. 2021) gradual magnitude pruning of the
  table's entries to a density of ``rate``.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Annotated, Any

import numpy as np
import torch
from pydantic import Field
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import (
    NonNegativeInt,
    PositiveInt,
    Size,
    check_cardinalities,
    check_id_table,
)


def floor_rate(rate: float, n: int) -> int:
    """``floor(rate n)`` with ``rate`` read as the decimal it was written as: ``0.7 * 5460`` is
    ``3822``, not the ``3821`` that binary floating point (``3821.9999..``) would floor to."""
    return math.floor(Fraction(repr(float(rate))) * int(n))


#: a memory budget: the kept fraction of the full table's parameters
Rate = Annotated[float, Field(gt=0, le=1)]

_M32 = 0xFFFFFFFF


# ---------------------------------------------------------------------------- validation
def _cardinalities(cardinalities: Any, who: str) -> list[int]:
    out = check_cardinalities(cardinalities, who)
    if sum(out) > _M32:
        raise ValueError(f"{who}: cardinalities sum to {sum(out)}, above the 32-bit id range of the hashes")
    return out


# ---------------------------------------------------------------------------- hashing
def _fmix32(h: torch.Tensor) -> torch.Tensor:
    # murmur3's 32-bit finaliser (a bijection of 32-bit words); the int64 products keep exact low 32 bits
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & _M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def salted_hash(v: torch.Tensor, salt: int, buckets: int) -> torch.Tensor:
    """A salted, well-mixed hash of int64 ids ``0 <= v < 2^32`` into ``0..buckets-1``."""
    return _fmix32(_fmix32((v & _M32) ^ (salt & _M32)) ^ 0x9E3779B9) % buckets


def _salt(seed: int, *key: int) -> int:
    return int(np.random.default_rng([int(seed), *map(int, key)]).integers(0, 2**32))


def mod_collision_pairs(n: int, buckets: int) -> int:
    """Closed form: colliding pairs when ids ``0..n-1`` go to ``v mod buckets``: ``n mod M``
    buckets hold ``ceil(n/M)`` ids, the others ``floor(n/M)``."""
    q, r = divmod(n, buckets)
    return r * (q + 1) * q // 2 + (buckets - r) * q * (q - 1) // 2


def collision_pairs(rows: np.ndarray) -> int:
    """Observed colliding pairs ``sum_b C(n_b, 2)`` of an id -> row map."""
    counts = np.bincount(np.asarray(rows, dtype=np.int64))
    return int((counts * (counts - 1) // 2).sum())


# ---------------------------------------------------------------------------- base
class CompressedCTR(Encoder):
    """A click-through model on a compressed embedding table (the common part of every method).

    Value ``x`` of field ``f`` has the global id ``v = offset_f + x`` in ``0..N-1``; a subclass
    maps ids to ``(.., d)`` embeddings in :meth:`lookup`. The ``F`` embeddings of a row are
    concatenated and passed through ``Linear-ReLU`` layers of widths ``hidden`` and ``Linear(., 1)``.
    Input ``(B, F)`` int64 ids, output ``(B,)`` logits; :meth:`embed` gives ``(B, F, d)``.
    """

    input_type = "table"

    def __init__(self, cardinalities: list[int] | None, rate: float, dim: int, hidden: list[int] | None,
                 seed: int) -> None:
        super().__init__()
        self.cardinalities = _cardinalities(cardinalities, type(self).__name__)
        self.n_fields = len(self.cardinalities)
        self.rate, self.dim, self.seed = float(rate), int(dim), int(seed)
        self.N = int(sum(self.cardinalities))
        self.full_parameters = self.N * self.dim
        self.budget = floor_rate(self.rate, self.full_parameters)
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        hidden = [64, 32] if hidden is None else [int(h) for h in hidden]
        layers: list[nn.Module] = []
        width = self.n_fields * self.dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def embed(self, x: Any) -> torch.Tensor:
        x = check_id_table(x, self.cardinalities, type(self).__name__)
        return self.lookup(x + self.offsets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(x)
        return self.mlp(e.reshape(e.shape[0], -1)).squeeze(-1)

    def embedding_parameters(self) -> int:
        """Stored embedding parameters (what the budget counts)."""
        return int(sum(p.numel() for n, p in self.named_parameters() if not n.startswith("mlp.")))

    def memory_bytes(self) -> int:
        """Bytes of the stored embedding (float32)."""
        return 4 * self.embedding_parameters()

    def full_table(self) -> torch.Tensor:
        """The ``(N, d)`` table the compressed storage represents (for inspection and tests)."""
        with torch.no_grad():
            return self.lookup(torch.arange(self.N)).detach()


def _normal(*shape: int, std: float = 0.01) -> nn.Parameter:
    return nn.Parameter(torch.empty(*shape).normal_(std=std))


class HashTrickEmbedding(CompressedCTR):
    """Hashing trick: ``M = floor(rate N)`` rows, ``e(v) = E[h(v)]``.

    ``hash="mod"`` uses ``h(v) = v mod M`` (the modulo lookup of the benchmark's ``HashEmbedding``;
    at ``rate = 1`` it is the identity, the uncompressed table); ``hash="salted"`` a salted
    well-mixed hash. Parameters: ``M d``.

    Parameters
    ----------
    cardinalities : list of int
        Values per field (filled in by the ranking task).
    rate : float
        Kept fraction of the full ``N d`` parameters, in (0, 1].
    dim : int
        Embedding dimension ``d``.
    hash : {"mod", "salted"}
    hidden : list of int, optional
        MLP widths (default ``[64, 32]``).
    seed : int
        Salt of the hash.
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8, hash: str = "mod",
                 hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        if hash not in ("mod", "salted"):
            raise ValueError(f"hash must be 'mod' or 'salted', got {hash!r}")
        self.hash = hash
        self.rows = max(1, floor_rate(self.rate, self.N))
        self.salt = _salt(self.seed, 0)
        self.table = _normal(self.rows, self.dim)

    def row_of(self, v: torch.Tensor) -> torch.Tensor:
        return v % self.rows if self.hash == "mod" else salted_hash(v, self.salt, self.rows)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        return self.table[self.row_of(v)]


class QREmbedding(CompressedCTR):
    """Quotient-remainder trick: ``e(v) = E_Q[v // m] (op) E_R[v mod m]``.

    The pair ``(v // m, v mod m)`` is unique for every id, so no two ids share both rows. ``m``
    is the largest remainder-table size with ``(ceil(N/m) + m) d <= rate N d`` (the budget used
    as fully as possible); ``operation`` combines the two rows: ``"mult"`` (element-wise product,
    the default of the paper's benchmark), ``"add"``. The quotient table starts at ones for
    ``mult`` (zeros for ``add``) so the initial embedding is the remainder row.

    Parameters
    ----------
    cardinalities, rate, dim, hidden, seed
        As for ``hash_trick_embedding``.
    operation : {"mult", "add"}
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8,
                 operation: str = "mult", hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        if operation not in ("mult", "add"):
            raise ValueError(f"operation must be 'mult' or 'add', got {operation!r}")
        self.operation = operation
        rows = self.budget // self.dim
        N = self.N
        m = None
        for cand in range(min(rows - 1, N), 0, -1):  # rows(m) = ceil(N/m) + m grows for m > sqrt(N)
            if -(-N // cand) + cand <= rows:
                m = cand
                break
        if m is None:
            need = min(-(-N // c) + c for c in range(1, N + 1))
            raise ValueError(f"rate {self.rate} leaves {rows} rows, fewer than the {need} a quotient-remainder pair "
                             f"of tables needs for {N} ids; raise rate")
        self.m = m
        self.q_rows = -(-N // m)
        self.E_Q = nn.Parameter(torch.ones(self.q_rows, self.dim) if operation == "mult" else torch.zeros(self.q_rows, self.dim))
        self.E_R = _normal(m, self.dim)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        q, r = self.E_Q[v // self.m], self.E_R[v % self.m]
        return q * r if self.operation == "mult" else q + r


def mixed_dimensions(cardinalities: list[int], dim: int, budget: int, alpha: float) -> list[int]:
    """Per-field dimensions ``d_f = clip(round(lam p_f^alpha), 1, d)`` with ``p_f = 1 / V_f`` (the
    access probability of one row of field ``f`` when every row reads each field once), ``lam``
    the largest (bisection) that keeps ``sum_f V_f d_f + [d_f < d] d_f d <= budget``."""
    p = np.array([1.0 / v for v in cardinalities])

    def dims(lam: float) -> list[int]:
        return [int(min(dim, max(1, round(lam * pf**alpha)))) for pf in p]

    def cost(ds: list[int]) -> int:
        return sum(v * k + (k * dim if k < dim else 0) for v, k in zip(cardinalities, ds, strict=True))

    lo, hi = 0.0, dim / float(p.min() ** alpha) + 1.0
    if cost(dims(lo)) > budget:
        raise ValueError(f"the budget {budget} is below one dimension per field ({cost(dims(lo))} parameters); raise rate")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if cost(dims(mid)) <= budget:
            lo = mid
        else:
            hi = mid
    return dims(lo)


class MixedDimEmbedding(CompressedCTR):
    """Mixed-dimension embeddings (MDE): field ``f`` stores ``V_f x d_f`` and, when ``d_f < d``, a
    projection ``P_f in R^{d_f x d}``; ``e(v) = E_f[x] P_f``. Dimensions follow the power law
    ``d_f ~ p_f^alpha`` (popular rows get more dims) scaled to the budget (:func:`mixed_dimensions`).
    Fields play the role of the paper's popularity blocks.

    Parameters
    ----------
    cardinalities, rate, dim, hidden, seed
        As for ``hash_trick_embedding``.
    alpha : float
        Temperature of the power law (0 = uniform dims), default 0.3.
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8, alpha: Annotated[float, Field(ge=0, le=10)] = 0.3,
                 hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        self.alpha = float(alpha)
        self.dims = mixed_dimensions(self.cardinalities, self.dim, self.budget, self.alpha)
        self.tables = nn.ParameterList([_normal(v, k) for v, k in zip(self.cardinalities, self.dims, strict=True)])
        self.projections = nn.ParameterList(
            [nn.Parameter(torch.empty(k, self.dim).uniform_(-1 / math.sqrt(k), 1 / math.sqrt(k)))
             if k < self.dim else nn.Parameter(torch.empty(0)) for k in self.dims])

    def embed(self, x: Any) -> torch.Tensor:
        x = check_id_table(x, self.cardinalities, type(self).__name__)
        parts = []
        for f, k in enumerate(self.dims):
            e = self.tables[f][x[:, f]]
            parts.append(e @ self.projections[f] if k < self.dim else e)
        return torch.stack(parts, dim=1)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        f = torch.searchsorted(self.offsets, v, right=True) - 1
        out = torch.empty(*v.shape, self.dim)
        for i, k in enumerate(self.dims):
            sel = f == i
            e = self.tables[i][v[sel] - self.offsets[i]]
            out[sel] = e @ self.projections[i] if k < self.dim else e
        return out


def _factor3(n: int) -> list[int]:
    """Three near-equal integer factors whose product is at least ``n``."""
    a = math.ceil(n ** (1 / 3))
    b = math.ceil(math.sqrt(n / a))
    return [a, b, math.ceil(n / (a * b))]


def _factor_dim(d: int) -> list[int]:
    """``d = d1 d2 d3`` with factors as equal as possible."""
    best = (d, 1, 1)
    for d1 in range(1, d + 1):
        if d % d1:
            continue
        for d2 in range(1, d // d1 + 1):
            if (d // d1) % d2:
                continue
            d3 = d // d1 // d2
            if max(d1, d2, d3) - min(d1, d2, d3) < max(best) - min(best):
                best = (d1, d2, d3)
    return sorted(best, reverse=True)


class TTRecEmbedding(CompressedCTR):
    """TT-Rec: the ``N' x d`` table (``N' = n_1 n_2 n_3 >= N``, ``d = d_1 d_2 d_3``) as a tensor
    train of three cores ``G_1 in R^{n_1 x d_1 x r}``, ``G_2 in R^{n_2 x r x d_2 x r}``,
    ``G_3 in R^{n_3 x r x d_3}``; id ``v = i_1 n_2 n_3 + i_2 n_3 + i_3`` reads
    ``e(v) = G_1[i_1] G_2[i_2] G_3[i_3]`` reshaped to ``d``. The TT rank ``r`` is the largest that
    fits the budget (parameters ``n_1 d_1 r + n_2 r d_2 r + n_3 r d_3``) up to ``max_rank``, or ``rank`` if given.
    Cores start Gaussian with the standard deviation that gives entries of std ``0.01``.

    Parameters
    ----------
    cardinalities, rate, dim, hidden, seed
        As for ``hash_trick_embedding``.
    rank : int, optional
        TT rank (default: the largest within the budget, at most ``max_rank``).
    max_rank : int
        Cap of the automatic rank (default 32; TT-Rec's experiments use ranks up to 64, and the
        lookup cost grows as ``r^2``).
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8,
                 rank: PositiveInt | None = None, max_rank: PositiveInt = 32, hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        self.n = _factor3(self.N)
        self.d = _factor_dim(self.dim)
        n, d = self.n, self.d

        def params(r: int) -> int:
            return n[0] * d[0] * r + n[1] * r * d[1] * r + n[2] * r * d[2]

        if rank is None:
            if params(1) > self.budget:
                raise ValueError(f"rate {self.rate}: even TT rank 1 needs {params(1)} parameters, above the budget "
                                 f"{self.budget}; raise rate")
            r, cap = 1, int(max_rank)
            while r < cap and params(r + 1) <= self.budget:
                r += 1
        else:
            r = int(rank)
        self.rank = r
        std = (0.01 ** 2 / r ** 2) ** (1 / 6)  # entry = sum over r^2 products of three core entries
        self.G1 = _normal(n[0], d[0], r, std=std)
        self.G2 = _normal(n[1], r, d[1], r, std=std)
        self.G3 = _normal(n[2], r, d[2], std=std)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        n2n3 = self.n[1] * self.n[2]
        i1, rest = v // n2n3, v % n2n3
        i2, i3 = rest // self.n[2], rest % self.n[2]
        a, b, c = self.G1[i1], self.G2[i2], self.G3[i3]  # (..,d1,r) (..,r,d2,r) (..,r,d3)
        e = torch.einsum("...ar,...rbs,...sc->...abc", a, b, c)
        return e.reshape(*v.shape, self.dim)


class ROBEEmbedding(CompressedCTR):
    """ROBE-Z: one shared array ``W in R^S``, ``S = floor(rate N d)``; block ``b`` (``Z``
    consecutive dims) of id ``v`` reads ``g(v, b) W[(h(v, b) + 0..Z-1) mod S]`` with a salted hash
    ``h`` and sign ``g in {+1, -1}``. ``hash="identity"`` (needs ``S = N d``) reads block ``b`` of
    ``v`` at ``v d + b Z`` with ``g = +1``: the uncompressed table laid out in ``W``.

    Parameters
    ----------
    cardinalities, rate, dim, hidden, seed
        As for ``hash_trick_embedding``.
    block : int
        ``Z``, dims per block (a divisor of ``dim``); default 1, the benchmark harness's setting
        (``Z: 1`` for ``robe`` in Hetu's ``examples/ctr/run_compressed.py``): every dim hashed on its own.
    signed : bool
        Random signs ``g`` (default True).
    hash : {"salted", "identity"}
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8,
                 block: Size | None = None, signed: bool = True, hash: str = "salted",
                 hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        self.block = 1 if block is None else int(block)
        if self.dim % self.block:
            raise ValueError(f"block must divide dim {self.dim}, got {self.block}")
        if hash not in ("salted", "identity"):
            raise ValueError(f"hash must be 'salted' or 'identity', got {hash!r}")
        self.size = max(self.block, self.budget)
        if hash == "identity" and self.size != self.full_parameters:
            raise ValueError("hash='identity' lays out the full table: it needs rate = 1")
        self.hash, self.signed = hash, bool(signed)
        self.n_blocks = self.dim // self.block
        self.salts = [(_salt(self.seed, 1, b), _salt(self.seed, 2, b)) for b in range(self.n_blocks)]
        self.W = _normal(self.size)

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        Z = self.block
        parts = []
        ar = torch.arange(Z)
        for b in range(self.n_blocks):
            if self.hash == "identity":
                start, sign = v * self.dim + b * Z, None
            else:
                start = salted_hash(v, self.salts[b][0], self.size)
                sign = (salted_hash(v, self.salts[b][1], 2) * 2 - 1).to(self.W.dtype) if self.signed else None
            e = self.W[(start[..., None] + ar) % self.size]
            parts.append(e * sign[..., None] if sign is not None else e)
        return torch.cat(parts, dim=-1)


class PrunedEmbedding(CompressedCTR):
    """Magnitude pruning of the table's entries to a density of ``rate`` (DeepLight's embedding
    pruning, Deng et al. WSDM 2021): during training the mask keeps the largest-magnitude
    entries, the kept fraction falling along the cubic schedule of Zhu & Gupta,
    ``s_t = s (1 - (1 - t / T)^3)`` (sparsity ``s = 1 - rate``, reached after ``prune_steps``
    optimizer steps ``T``), updated every ``prune_every`` steps; pruned entries are zero in the
    forward pass. Stored parameters = ``floor(rate N d)`` non-zeros once pruning is complete
    (:meth:`embedding_parameters` counts the non-zeros; sparse storage also needs their indices,
    which :meth:`memory_bytes` adds as int32). ``rate = 1`` never prunes: the uncompressed table.

    Parameters
    ----------
    cardinalities, rate, dim, hidden, seed
        As for ``hash_trick_embedding``.
    prune_steps : int
        Training steps over which the sparsity rises to its target (default 300).
    prune_every : int
        Steps between mask updates (default 10).
    """

    def __init__(self, cardinalities: list[PositiveInt] | None = None, rate: Rate = 0.1, dim: Size = 8,
                 prune_steps: PositiveInt = 300, prune_every: PositiveInt = 10, hidden: list[Size] | None = None, seed: NonNegativeInt = 0) -> None:
        super().__init__(cardinalities, rate, dim, hidden, seed)
        self.prune_steps, self.prune_every = int(prune_steps), int(prune_every)
        self.table = _normal(self.N, self.dim)
        self.register_buffer("mask", torch.ones(self.N, self.dim))
        self.register_buffer("step", torch.zeros((), dtype=torch.long))

    def target_sparsity(self, step: int) -> float:
        t = min(step, self.prune_steps) / self.prune_steps
        return (1.0 - self.rate) * (1.0 - (1.0 - t) ** 3)

    def update_mask(self, sparsity: float) -> None:
        """Keep the ``round((1 - sparsity) N d)`` largest-magnitude entries (ties by index)."""
        keep = int(round((1.0 - sparsity) * self.full_parameters)) if sparsity < 1.0 - self.rate else self.budget
        with torch.no_grad():
            flat = self.table.detach().abs().flatten()
            idx = torch.topk(flat, keep, sorted=False).indices
            m = torch.zeros_like(flat)
            m[idx] = 1.0
            self.mask.copy_(m.view_as(self.mask))

    def lookup(self, v: torch.Tensor) -> torch.Tensor:
        if self.training and self.rate < 1.0 and torch.is_grad_enabled():
            s = int(self.step)
            if s % self.prune_every == 0 or s == self.prune_steps:
                self.update_mask(self.target_sparsity(s))
            self.step += 1
        return (self.table * self.mask)[v]

    def embedding_parameters(self) -> int:
        return int(self.mask.sum())

    def memory_bytes(self) -> int:
        nnz = self.embedding_parameters()
        return 4 * nnz if nnz == self.full_parameters else 8 * nnz
