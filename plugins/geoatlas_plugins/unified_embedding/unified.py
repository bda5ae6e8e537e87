"""Unified Embedding (feature multiplexing): one shared embedding table for all categorical features.

Coleman et al., "Unified Embedding: Battle-Tested Feature Representations for Web-Scale ML
Systems", NeurIPS 2023 (arXiv 2305.12102). Every feature ``f`` is looked up ``k_f`` times
("multi-probe"), each probe ``j`` with its own salted hash ``h_{f,j}`` into a shared table; the
``k_f`` rows are concatenated into the feature's embedding. With ``T`` backend tables the probes
of all features are dealt round-robin over the tables (the layout of the authors' TensorFlow
Recommenders layer). The parameter count is ``T * B * d_c`` whatever the features and their
vocabularies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import NonNegativeInt, PositiveInt, Size, check_id_table
from geoatlas.validation import check_cardinalities as _check_cardinalities

#: Ids must fit 32 bits: the hash is the 32-bit murmur3 finaliser, computed exactly in int64.
MAX_ID = 2**32 - 1
_M32 = 0xFFFFFFFF


def check_cardinalities(cardinalities: Any, who: str = "UnifiedEmbedding") -> list[int]:
    """The number of values of each field (core ``geoatlas.validation.check_cardinalities``), each fitting 32 bits."""
    out = _check_cardinalities(cardinalities, who)
    if max(out) > MAX_ID:
        raise ValueError(f"{who}: cardinalities must fit 32-bit ids (at most 2^32 - 1), got {max(out)}")
    return out


def hash_coefficients(seed: int, feature: int, probe: int) -> tuple[int, int]:
    """The two 32-bit salts of the hash ``h_{f,j}``, drawn from a numpy Generator seeded by
    ``(seed, feature, probe)``: the same salt gives the same buckets in every process (no Python
    ``hash()`` randomisation)."""
    rng = np.random.default_rng([int(seed), int(feature), int(probe)])
    s1, s2 = rng.integers(0, 2**32, size=2)
    return int(s1), int(s2)


def _fmix32(h: torch.Tensor) -> torch.Tensor:
    # murmur3's 32-bit finaliser, a bijection of 32-bit words; products wrap in int64 but their low
    # 32 bits (all that is kept) are exact
    h = h ^ (h >> 16)
    h = (h * 0x85EBCA6B) & _M32
    h = h ^ (h >> 13)
    h = (h * 0xC2B2AE35) & _M32
    return h ^ (h >> 16)


def salted_hash(x: torch.Tensor, salts: tuple[int, int], buckets: int) -> torch.Tensor:
    """``fmix32(fmix32(x xor s1) xor s2) mod buckets`` on int64 ids ``0 <= x < 2^32``."""
    s1, s2 = salts
    return _fmix32(_fmix32((x & _M32) ^ s1) ^ s2) % buckets


def expected_collision_fraction(n: int, buckets: int) -> float:
    """Closed form: the probability that one of ``n`` distinct keys, hashed uniformly and
    independently into ``buckets`` buckets, shares its bucket with at least one other key,
    ``1 - (1 - 1/B)^(n - 1)`` (also the expected fraction of colliding keys)."""
    return 1.0 - (1.0 - 1.0 / buckets) ** (n - 1)


def expected_occupied(n: int, buckets: int) -> float:
    """Closed form: expected number of non-empty buckets, ``B (1 - (1 - 1/B)^n)``."""
    return buckets * (1.0 - (1.0 - 1.0 / buckets) ** n)


def colliding_fraction(keys: np.ndarray) -> float:
    """Observed fraction of keys (one bucket per distinct input) whose bucket holds another key."""
    keys = np.asarray(keys)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return float((counts[inverse] > 1).mean())


def split_rows(budget: int, widths: list[int], cardinalities: list[int]) -> list[int]:
    """Rows of per-feature tables within ``budget`` parameters: one row each, then the rest split in
    proportion to ``V_f w_f`` (``w_f`` the width of table ``f``), no table above its ``V_f``
    rows; what a capped table cannot use goes to the others. ``sum_f rows_f w_f <= budget``."""
    F = len(widths)
    rows = [1] * F
    left = budget - sum(widths)
    free = [f for f in range(F) if cardinalities[f] > 1]
    while free and left > 0:
        wsum = sum(cardinalities[f] * widths[f] for f in free)
        extra = {f: int(left * cardinalities[f] // wsum) for f in free}  # rows: (left V_f w_f / wsum) / w_f
        capped = [f for f in free if 1 + extra[f] >= cardinalities[f]]
        if not capped:
            for f in free:
                rows[f] += extra[f]
            break
        for f in capped:
            left -= (cardinalities[f] - 1) * widths[f]
            rows[f] = cardinalities[f]
        free = [f for f in free if f not in capped]
    return rows


class UnifiedEmbedding(Encoder):
    """A click-through model whose field embeddings come from one shared (multiplexed) table.

    Field ``f`` with value ``x`` is embedded as ``e_f(x) = concat_{j < k_f} E_{t(f,j)}[h_{f,j}(x)]``
    (``k_f`` probes of ``d_c`` dims each, so ``k_f d_c`` dims), with salted hashes (the murmur3 32-bit finaliser applied twice, salts per ``(f, j)``)
    ``h_{f,j}`` into ``B`` buckets and backend table ``t(f, j)`` = (running probe counter) mod ``T``.
    The concatenated field embeddings go through ``Linear-ReLU`` layers of widths ``hidden`` and a
    ``Linear(., 1)`` to one click logit. Input ``(B, F)`` int64 ids, output ``(B,)`` logits;
    :meth:`embed` gives the ``(B, sum_f k_f d_c)`` embedding.

    ``layout="per_feature"`` is the baseline of the paper's comparison: each feature has its own
    hashed table (the hashing trick per feature) of ``k_f d_c`` dims, the same parameter budget
    split over the features (one row each, the rest in proportion to ``V_f k_f``; a table never
    larger than its vocabulary, what it cannot use goes to the others; :func:`split_rows`).

    Parameters
    ----------
    cardinalities : list of int
        Number of values of each field (filled in by the ranking task).
    budget : int, optional
        Embedding parameters in all: ``B = budget // (T d_c)`` buckets per table (unified), or the
        budget split over the per-feature tables. Give ``budget`` or ``buckets``.
    buckets : int, optional
        Rows ``B`` of each backend table (unified layout only).
    dim_per_probe : int
        ``d_c``, the width of one lookup.
    num_probes : int or list of int
        ``k_f``, lookups per feature (one for all or one per field).
    num_tables : int
        ``T`` backend tables the probes are dealt over (1 = a single shared table).
    hash : {"universal", "identity"}
        ``"identity"`` maps value ``x`` of field ``f`` to row ``offset_f + x`` (no hashing; needs
        one probe per field and ``B >= sum_f V_f``): the collision-free reference layout.
    layout : {"unified", "per_feature"}
    hidden : list of int, optional
        MLP widths; default ``[64, 32]``; ``[]`` is a linear model on the embedding.
    seed : int
        Salt of the hashes.
    """

    input_type = "table"

    def __init__(
        self,
        cardinalities: list[PositiveInt] | None = None,
        budget: PositiveInt | None = None,
        buckets: PositiveInt | None = None,
        dim_per_probe: Size = 8,
        num_probes: Size | list[Size] = 1,
        num_tables: Size = 1,
        hash: str = "universal",
        layout: str = "unified",
        hidden: list[Size] | None = None,
        seed: NonNegativeInt = 0,
    ) -> None:
        super().__init__()
        self.cardinalities = check_cardinalities(cardinalities, type(self).__name__)
        F = self.n_fields = len(self.cardinalities)
        self.dim_per_probe = d = int(dim_per_probe)
        if isinstance(num_probes, (list, tuple)):
            if len(num_probes) != F:
                raise ValueError(f"num_probes has {len(num_probes)} entries but there are {F} fields")
            self.num_probes = [int(k) for k in num_probes]
        else:
            self.num_probes = [int(num_probes)] * F
        self.num_tables = T = int(num_tables)
        if hash not in ("universal", "identity"):
            raise ValueError(f"hash must be 'universal' or 'identity', got {hash!r}")
        if layout not in ("unified", "per_feature"):
            raise ValueError(f"layout must be 'unified' or 'per_feature', got {layout!r}")
        self.hash, self.layout, self.seed = hash, layout, int(seed)
        if (budget is None) == (buckets is None):
            raise ValueError("give exactly one of budget (embedding parameters in all) or buckets (rows per table)")
        if buckets is not None and layout == "per_feature":
            raise ValueError("layout='per_feature' splits a budget over the fields: give budget, not buckets")
        if hash == "identity" and (any(k != 1 for k in self.num_probes) or (layout == "unified" and T != 1)):
            raise ValueError("hash='identity' needs num_probes=1 and (unified layout) num_tables=1")
        V = self.cardinalities
        if layout == "unified":
            if budget is not None:
                budget = int(budget)
                if budget < T * d:
                    raise ValueError(f"budget {budget} is below one row per table (num_tables * dim_per_probe = {T * d})")
                buckets = budget // (T * d)
            self.buckets = int(buckets)
            if hash == "identity" and self.buckets < sum(V):
                raise ValueError(f"hash='identity' needs buckets >= sum(cardinalities) = {sum(V)}, got {self.buckets}")
            self.rows = [self.buckets] * T
            # probe (f, j) -> backend table, dealt round-robin in feature order
            table_of, c = [], 0
            for f in range(F):
                table_of.append([(c + j) % T for j in range(self.num_probes[f])])
                c += self.num_probes[f]
            self.table_of = table_of
        else:
            budget = int(budget)
            widths = [k * d for k in self.num_probes]
            if budget < sum(widths):
                raise ValueError(f"budget {budget} is below one row per field (sum_f k_f d_c = {sum(widths)})")
            self.rows = split_rows(budget, widths, V)
            self.buckets = None
            self.table_of = [[f] for f in range(F)]
        # hash coefficients per (feature, probe)
        coef = [[hash_coefficients(self.seed, f, j) for j in range(self.num_probes[f])] for f in range(F)]
        self.coefficients = coef
        offsets = np.concatenate([[0], np.cumsum(V)[:-1]]).astype(np.int64)
        self.register_buffer("offsets", torch.as_tensor(offsets), persistent=False)
        if layout == "unified":
            self.tables = nn.ParameterList(
                [nn.Parameter(torch.empty(self.buckets, d).normal_(std=0.01)) for _ in range(T)])
        else:
            self.tables = nn.ParameterList(
                [nn.Parameter(torch.empty(r, w).normal_(std=0.01)) for r, w in zip(self.rows, widths, strict=True)])
        self.output_dim = sum(self.num_probes) * d
        hidden = [64, 32] if hidden is None else [int(h) for h in hidden]
        layers: list[nn.Module] = []
        width = self.output_dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    # ------------------------------------------------------------------ lookups
    def bucket_ids(self, x: torch.Tensor, field: int, probe: int = 0) -> torch.Tensor:
        """Row of the probe ``(field, probe)`` for the values ``x`` of that field (int64)."""
        rows = self.rows[self.table_of[field][probe]]
        if self.hash == "identity":
            return (x + self.offsets[field]) if self.layout == "unified" else x
        if self.layout == "per_feature" and rows >= self.cardinalities[field]:
            return x  # a table as large as the vocabulary needs no hashing
        return salted_hash(x, self.coefficients[field][probe], rows)

    def embed(self, x: Any) -> torch.Tensor:
        """The concatenated field embeddings, ``(B, sum_f k_f d_c)``."""
        x = check_id_table(x, self.cardinalities, type(self).__name__)
        parts = []
        for f in range(self.n_fields):
            for j in range(self.num_probes[f]):
                parts.append(self.tables[self.table_of[f][j]][self.bucket_ids(x[:, f], f, j)])
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.embed(x)).squeeze(-1)

    # ------------------------------------------------------------------ accounting
    def embedding_parameters(self) -> int:
        """Parameters of the embedding tables: ``T B d_c`` (unified) or ``sum_f rows_f k_f d_c``."""
        return int(sum(t.numel() for t in self.tables))

    def collision_stats(self) -> dict[str, float]:
        """Observed collisions of the first probe over every value of every field, beside the
        closed form ``1 - (1 - 1/B)^(n - 1)``: ``intra`` within each field (``n = V_f``, mean over
        fields) and, for the unified layout, ``all`` across fields in the shared table
        (``n = sum_f V_f`` when every first probe lands in the same table)."""
        intra, expect = [], []
        keys_all = []
        for f, V in enumerate(self.cardinalities):
            t = self.table_of[f][0]
            ids = self.bucket_ids(torch.arange(V), f, 0).numpy()
            intra.append(colliding_fraction(ids))
            expect.append(expected_collision_fraction(V, self.rows[t]) if not
                          (self.layout == "per_feature" and self.rows[t] >= V) and self.hash == "universal" else 0.0)
            keys_all.append(ids + t * (10 ** 12))
        out = {"intra_observed": float(np.mean(intra)), "intra_expected": float(np.mean(expect))}
        if self.layout == "unified" and len(set(self.table_of[f][0] for f in range(self.n_fields))) == 1:
            out["all_observed"] = colliding_fraction(np.concatenate(keys_all))
            out["all_expected"] = (expected_collision_fraction(sum(self.cardinalities), self.buckets)
                                   if self.hash == "universal" else 0.0)
        return out
