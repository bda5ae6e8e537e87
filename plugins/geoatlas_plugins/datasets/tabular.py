"""Click-through tables: rows of categorical fields with a binary click label (data type ``"table"``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset
from geoatlas.validation import Size


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _float(name: str, value: Any, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not np.isfinite(value) or (minimum is not None and value < minimum):
        raise ValueError(f"{name} must be a finite number >= {minimum}, got {value}" if minimum is not None
                         else f"{name} must be finite, got {value}")
    return value


def zipf_probabilities(cardinality: int, exponent: float) -> np.ndarray:
    """``P(rank k) = k^-exponent / sum_j j^-exponent`` for ranks ``k = 1..cardinality``."""
    p = np.arange(1, cardinality + 1, dtype=np.float64) ** -exponent
    return p / p.sum()


class SyntheticCTR(Dataset):
    """A click-through table with Zipf-distributed categorical fields and a planted click model.

    Each of the ``n_fields`` fields takes values ``0..cardinality_f - 1``; the value of rank
    ``k`` (1 = most frequent) has probability proportional to ``k^-zipf``, and ranks are mapped
    to ids by a random permutation per field (ids carry no frequency order). The click of a row
    ``x`` is drawn from ``Bernoulli(sigmoid(logit(x)))`` with

    .. math:: \\text{logit}(x) = \\text{bias} + \\text{main\\_effect} \\sum_{f \\in I} w_f[x_f]
              + \\text{interaction\\_strength} \\sum_{(i, j) \\in P} \\langle u_i[x_i], u_j[x_j] \\rangle / \\sqrt{d}

    where ``I`` are the informative fields, ``P`` the interaction pairs (both fields of a
    pair must be informative), ``w_f[v] ~ N(0, 1)`` and ``u_f[v] ~ N(0, I_d)`` with
    ``d = interaction_dim``. The remaining fields are pure noise: they do not enter the logit.
    An additive (logistic) model cannot represent the interaction term; a model with field
    embeddings and a non-linear head can.

    ``meta`` holds the ground truth for feature/field-selection methods (OptEmbed, DNIS,
    Unified Embedding): ``cardinalities``, ``informative_fields``, ``noise_fields``,
    ``interaction_pairs``, the planted ``main_effects`` (one array per field, zeros for noise
    fields), ``interaction_vectors`` (``{"i,j": (u_i, u_j)}``), the row-wise true click
    ``probability`` and the ``zipf`` exponent.

    Parameters
    ----------
    n_samples : int
        Number of rows.
    n_fields : int
        Number of categorical fields ``F``.
    cardinality : int or list of int
        Number of values per field (one for all fields, or one per field).
    zipf : float
        Exponent ``s >= 0`` of the rank-frequency law (0 = uniform).
    informative : list of int, optional
        Indices of the informative fields; default the first half (at least two fields when
        ``F >= 2``).
    interactions : list of [int, int], optional
        Interacting field pairs; default ``[[0, 1]]`` when ``F >= 2``, else none. Use ``[]``
        for none.
    main_effect, interaction_strength : float
        Scales of the additive and the pairwise part of the logit.
    interaction_dim : int
        Dimension ``d`` of the planted interaction vectors.
    bias : float
        Global logit offset (sets the base click rate).
    seed : int
        Seed of the whole table.
    """

    data_type = "table"
    task = "ranking"

    def __init__(
        self,
        n_samples: Size = 20000,
        n_fields: Size = 8,
        cardinality: int | list[int] = 100,
        zipf: float = 1.1,
        informative: list[int] | None = None,
        interactions: list[list[int]] | None = None,
        main_effect: float = 1.0,
        interaction_strength: float = 1.0,
        interaction_dim: Size = 4,
        bias: float = -1.0,
        seed: int = 0,
    ) -> None:
        self.n_samples = _int("n_samples", n_samples, 2)
        self.n_fields = F = _int("n_fields", n_fields, 1)
        if isinstance(cardinality, (list, tuple)):
            if len(cardinality) != F:
                raise ValueError(f"cardinality has {len(cardinality)} entries but n_fields is {F}")
            self.cardinalities = [_int("cardinality", c, 1) for c in cardinality]
        else:
            self.cardinalities = [_int("cardinality", cardinality, 1)] * F
        self.cardinality = cardinality
        self.zipf = _float("zipf", zipf, 0.0)
        if informative is None:
            informative = list(range(max(min(2, F), F // 2)))
        informative = [_int("informative", i, 0) for i in informative]
        bad = [i for i in informative if i >= F]
        if bad:
            raise ValueError(f"informative names fields {bad} but there are only {F} fields (0..{F - 1})")
        if len(set(informative)) != len(informative):
            raise ValueError(f"informative lists a field twice: {informative}")
        self.informative = sorted(informative)
        if interactions is None:
            interactions = [[0, 1]] if F >= 2 and {0, 1} <= set(self.informative) else []
        pairs = []
        for pair in interactions:
            if len(pair) != 2:
                raise ValueError(f"each interaction is a pair of two field indices, got {pair!r}")
            i, j = (_int("interactions", v, 0) for v in pair)
            if i == j:
                raise ValueError(f"an interaction needs two different fields, got {pair!r}")
            if i not in self.informative or j not in self.informative:
                raise ValueError(
                    f"interaction {pair!r} names a field that is not informative; informative fields: {self.informative}"
                )
            pairs.append((min(i, j), max(i, j)))
        self.interactions = sorted(set(pairs))
        self.main_effect = _float("main_effect", main_effect)
        self.interaction_strength = _float("interaction_strength", interaction_strength)
        self.interaction_dim = _int("interaction_dim", interaction_dim, 1)
        self.bias = _float("bias", bias)
        self.seed = _int("seed", seed, 0)

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        N, F = self.n_samples, self.n_fields
        X = np.empty((N, F), dtype=np.int64)
        for f, card in enumerate(self.cardinalities):
            ranks = rng.choice(card, size=N, p=zipf_probabilities(card, self.zipf))
            X[:, f] = rng.permutation(card)[ranks]
        logit = np.full(N, self.bias)
        effects = [np.zeros(c) for c in self.cardinalities]
        for f in self.informative:
            effects[f] = rng.standard_normal(self.cardinalities[f])
            logit += self.main_effect * effects[f][X[:, f]]
        d = self.interaction_dim
        vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for i, j in self.interactions:
            ui = rng.standard_normal((self.cardinalities[i], d))
            uj = rng.standard_normal((self.cardinalities[j], d))
            vectors[f"{i},{j}"] = (ui, uj)
            logit += self.interaction_strength * np.einsum("nd,nd->n", ui[X[:, i]], uj[X[:, j]]) / np.sqrt(d)
        prob = 1.0 / (1.0 + np.exp(-logit))
        y = (rng.random(N) < prob).astype(np.int64)
        meta = {
            "cardinalities": list(self.cardinalities),
            "n_fields": F,
            "informative_fields": list(self.informative),
            "noise_fields": [f for f in range(F) if f not in self.informative],
            "interaction_pairs": [list(p) for p in self.interactions],
            "main_effects": effects,
            "interaction_vectors": vectors,
            "probability": prob,
            "zipf": self.zipf,
            "click_rate": float(y.mean()),
        }
        return DataBundle(X, y, "table", "ranking", meta)
