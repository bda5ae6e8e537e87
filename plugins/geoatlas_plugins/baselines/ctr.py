"""Click-through-rate baselines on tables of categorical fields ``(B, F)`` (int64 ids)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder


def _cardinalities(cardinalities: Any) -> list[int]:
    if cardinalities is None:
        raise ValueError(
            "cardinalities (the number of values of each field) is required; the ranking task fills it in "
            "from the data, or give it under params"
        )
    if isinstance(cardinalities, (int, np.integer)) or not len(cardinalities):
        raise ValueError(f"cardinalities must be a non-empty list of ints (one per field), got {cardinalities!r}")
    out = []
    for c in cardinalities:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise ValueError(f"cardinalities must be positive integers, got {cardinalities!r}")
        out.append(int(c))
    return out


class _FieldTable(Encoder):
    """One embedding table for all fields, with per-field offsets into it."""

    input_type = "table"

    def __init__(self, cardinalities: list[int] | None, dim: int) -> None:
        super().__init__()
        self.cardinalities = _cardinalities(cardinalities)
        self.n_fields = len(self.cardinalities)
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]])
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.register_buffer("card", torch.as_tensor(self.cardinalities, dtype=torch.long), persistent=False)
        self.table = nn.Embedding(int(sum(self.cardinalities)), dim)

    def _ids(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor):
            x = torch.as_tensor(np.asarray(x))
        if x.dim() != 2 or x.shape[1] != self.n_fields:
            raise ValueError(f"{type(self).__name__} expects a (B, {self.n_fields}) table of field ids, got shape {tuple(x.shape)}")
        if x.is_floating_point() or x.dtype == torch.bool:
            raise ValueError(f"{type(self).__name__} expects integer field ids, got dtype {x.dtype}")
        x = x.long()
        if len(x) and ((x < 0).any() or (x >= self.card).any()):
            bad = int(((x < 0) | (x >= self.card)).any(0).nonzero()[0, 0])
            raise ValueError(
                f"{type(self).__name__}: field {bad} has ids outside 0..{self.cardinalities[bad] - 1} "
                f"(got {int(x[:, bad].min())}..{int(x[:, bad].max())})"
            )
        return x + self.offsets

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The field embeddings of each row, ``(B, F, dim)``."""
        return self.table(self._ids(x))


class Logistic(_FieldTable):
    """Logistic regression on one-hot fields: ``logit = b + sum_f w_f[x_f]``.

    A learned bias per category value of every field plus a global bias (an embedding table
    of dimension 1, zero-initialised). Input ``(B, F)`` int64 ids, output ``(B,)`` logits.

    Parameters
    ----------
    cardinalities : list of int
        Number of values of each field (filled in by the ranking task).
    """

    def __init__(self, cardinalities: list[int] | None = None) -> None:
        super().__init__(cardinalities, 1)
        nn.init.zeros_(self.table.weight)
        self.global_bias = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.embed(x).sum(dim=(1, 2)) + self.global_bias


class EmbeddingMLP(_FieldTable):
    """Field embeddings, concatenated, then an MLP to one click logit.

    Each field value has an ``embedding_dim`` vector (``N(0, 0.01^2)`` initialisation, as is
    usual in CTR models); the ``F`` vectors of a row are concatenated and passed through
    ``Linear-ReLU`` layers of widths ``hidden`` and a final ``Linear(., 1)``. Input ``(B, F)``
    int64 ids, output ``(B,)`` logits; :meth:`embed` gives the ``(B, F, embedding_dim)`` field
    embeddings.

    Parameters
    ----------
    cardinalities : list of int
        Number of values of each field (filled in by the ranking task).
    embedding_dim : int
        Dimension of each field embedding.
    hidden : list of int, optional
        Hidden widths of the MLP; default ``[64, 32]``.
    dropout : float
        Dropout after each hidden layer.
    """

    def __init__(self, cardinalities: list[int] | None = None, embedding_dim: int = 8, hidden: list[int] | None = None,
                 dropout: float = 0.0) -> None:
        if isinstance(embedding_dim, bool) or not isinstance(embedding_dim, (int, np.integer)) or embedding_dim < 1:
            raise ValueError(f"embedding_dim must be a positive integer, got {embedding_dim!r}")
        super().__init__(cardinalities, int(embedding_dim))
        hidden = [64, 32] if hidden is None else list(hidden)
        if any(isinstance(h, bool) or not isinstance(h, (int, np.integer)) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a list of positive integers, got {hidden!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.embedding_dim = int(embedding_dim)
        nn.init.normal_(self.table.weight, std=0.01)
        layers: list[nn.Module] = []
        width = self.n_fields * self.embedding_dim
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.ReLU()]
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = int(h)
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e = self.embed(x)
        return self.mlp(e.reshape(e.shape[0], -1)).squeeze(-1)
