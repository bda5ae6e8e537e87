"""Click-through-rate baselines on tables of categorical fields ``(B, F)`` (int64 ids)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import check_cardinalities, check_id_table


class _FieldTable(Encoder):
    """One embedding table for all fields, with per-field offsets into it."""

    input_type = "table"

    def __init__(self, cardinalities: list[int] | None, dim: int) -> None:
        super().__init__()
        self.cardinalities = check_cardinalities(cardinalities, type(self).__name__)
        self.n_fields = len(self.cardinalities)
        offsets = np.concatenate([[0], np.cumsum(self.cardinalities)[:-1]])
        self.register_buffer("offsets", torch.as_tensor(offsets, dtype=torch.long), persistent=False)
        self.register_buffer("card", torch.as_tensor(self.cardinalities, dtype=torch.long), persistent=False)
        self.table = nn.Embedding(int(sum(self.cardinalities)), dim)

    def _ids(self, x: torch.Tensor) -> torch.Tensor:
        x = check_id_table(x, self.cardinalities, type(self).__name__)
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
