"""Loki: geometry-aware adaptation of a classifier to a larger label space (Roberts, Li, Adila, Cromp,
Huang, Zhao, Sala; NeurIPS 2023).

A model predicts probabilities ``P(x)`` over ``K`` *observed* classes ``lambda_1..lambda_K``, which
are points of a larger label space ``Y`` (``|Y| >= K``) with a metric ``d``. Instead of the argmax
over the observed classes, Loki predicts the Fréchet mean of the observed classes weighted by the
probabilities:

    y_hat(x) = argmin_{y in Y} sum_i P_i(x) d(y, lambda_i)^2 .

With ``D in R^{K x |Y|}``, ``D_iy = d(lambda_i, y)``, this is a fixed linear map followed by an
argmax: ``y_hat = argmax_y s_y`` with ``s = -P (D o D)``. Labels never seen in training can be
predicted when they lie "between" observed classes in the metric.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoatlas.interfaces import Encoder
from geoatlas.validation import Size, check_weights

__all__ = ["label_metric", "loki_scores", "loki_predict_bruteforce", "Loki", "METRICS"]

METRICS = ("discrete", "path", "given")


def label_metric(metric: str = "discrete", num_labels: int | None = None, distances: Any = None, edges: Any = None) -> np.ndarray:
    """A ``(|Y|, |Y|)`` distance matrix over the label space.

    ``"discrete"``: ``d = 1 - delta``; ``"path"``: ``d(i, j) = |i - j|`` (a path graph
    ``0 - 1 - ... - |Y|-1``), or with ``edges`` the shortest-path distances of that graph
    (networkx); ``"given"``: the matrix ``distances`` (symmetric, zero diagonal, non-negative).
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    if metric == "given":
        if distances is None:
            raise ValueError("metric='given' needs `distances`, a (|Y|, |Y|) matrix")
        D = np.asarray(distances, dtype=np.float64)
        if D.ndim != 2 or D.shape[0] != D.shape[1] or D.shape[0] < 1:
            raise ValueError(f"distances must be a square (|Y|, |Y|) matrix, got shape {D.shape}")
        if not np.isfinite(D).all():
            raise ValueError("distances contain NaN or Inf values")
        if (D < 0).any() or np.abs(np.diag(D)).max() > 0 or np.abs(D - D.T).max() > 1e-9 * max(1.0, np.abs(D).max()):
            raise ValueError("distances must be non-negative, symmetric, with a zero diagonal")
        return D
    if isinstance(num_labels, bool) or not isinstance(num_labels, int) or num_labels < 1:
        raise ValueError(f"num_labels must be a positive integer for metric={metric!r}, got {num_labels!r}")
    idx = np.arange(num_labels)
    if metric == "discrete":
        return (idx[:, None] != idx[None]).astype(np.float64)
    if edges is None:
        return np.abs(idx[:, None] - idx[None]).astype(np.float64)
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(num_labels))
    G.add_edges_from((int(a), int(b)) for a, b in edges)
    if not nx.is_connected(G):
        raise ValueError("edges must connect all labels (the shortest-path metric is infinite otherwise)")
    D = np.zeros((num_labels, num_labels))
    for a, lengths in nx.all_pairs_shortest_path_length(G):
        for b, L in lengths.items():
            D[a, b] = L
    return D


def loki_scores(P: torch.Tensor, D_obs: torch.Tensor) -> torch.Tensor:
    """Loki scores ``s = -P (D_obs o D_obs)`` (``(n, K) x (K, |Y|)``); the prediction is ``argmax_y s_y``."""
    return -P @ (D_obs * D_obs)


def loki_predict_bruteforce(P: np.ndarray, D: np.ndarray, observed: list[int]) -> np.ndarray:
    """The Fréchet-mean rule by enumeration: for every sample and every ``y`` in the label space,
    ``sum_i P_i d(y, lambda_i)^2``; the smallest wins (first index on ties)."""
    out = np.empty(len(P), dtype=np.int64)
    for n, p in enumerate(P):
        best, arg = np.inf, -1
        for y in range(D.shape[0]):
            v = 0.0
            for i, lam in enumerate(observed):
                v += p[i] * D[y, lam] ** 2
            if v < best:
                best, arg = v, y
        out[n] = arg
    return out


class Loki(Encoder):
    """Loki: Fréchet-mean predictions over the full label space from probabilities over observed classes.

    ``input="probabilities"``: a fixed, parameter-free map from class probabilities ``(n, K)`` of
    any model to scores ``(n, |Y|)`` whose argmax is the Loki prediction. ``input="features"``:
    with a base classifier (a ReLU MLP ``in_features -> hidden... -> K``) trained only on the
    samples of the observed classes (``training_step`` drops the others and relabels
    ``lambda_i -> i``); the forward pass returns the Loki scores over all ``num_classes`` labels, so
    a classification pipeline evaluates the adapted predictions on every class.

    Parameters
    ----------
    num_classes : int
        ``|Y|``, the size of the label space (filled in by pipelines).
    observed : list of int
        The observed classes ``lambda_1..lambda_K`` (indices into ``Y``); default all of ``Y``.
    metric : {"discrete", "path", "given"}
        The label metric (see :func:`label_metric`). ``"discrete"`` reduces Loki to the argmax.
    distances : list of lists, optional
        ``(|Y|, |Y|)`` matrix for ``metric="given"``.
    edges : list of pairs, optional
        A label graph for ``metric="path"`` (shortest paths); default the path ``0 - 1 - ...``.
    input : {"features", "probabilities"}
        What the forward pass takes.
    in_features : int, optional
        Input size of the base classifier (``input="features"``; filled in by pipelines).
    hidden : list of int
        Hidden widths of the base classifier (default ``[128]``).
    """

    input_type: ClassVar[str] = "vector"
    output_space: ClassVar[str] = "euclidean"

    def __init__(
        self,
        num_classes: Size,
        observed: list[int] | None = None,
        metric: str = "discrete",
        distances: list[list[float]] | None = None,
        edges: list[list[int]] | None = None,
        input: str = "features",
        in_features: Size | None = None,
        hidden: list[Size] | None = None,
    ) -> None:
        super().__init__()
        if input not in ("features", "probabilities"):
            raise ValueError(f"input must be 'features' or 'probabilities', got {input!r}")
        D = label_metric(metric, num_classes, distances, edges)
        if D.shape[0] != num_classes:
            raise ValueError(f"distances are {D.shape[0]} x {D.shape[0]} but num_classes={num_classes}")
        obs = list(range(num_classes)) if observed is None else [int(o) for o in observed]
        if not obs or len(set(obs)) != len(obs) or min(obs) < 0 or max(obs) >= num_classes:
            raise ValueError(f"observed must be distinct class indices in [0, {num_classes}), got {observed!r}")
        self.num_classes, self.observed, self.metric, self.input = num_classes, obs, metric, input
        self.register_buffer("distances", torch.as_tensor(D, dtype=torch.get_default_dtype()))
        self.register_buffer("D_obs", self.distances[obs].clone())
        relabel = torch.full((num_classes,), -1, dtype=torch.long)
        relabel[torch.as_tensor(obs)] = torch.arange(len(obs))
        self.register_buffer("relabel", relabel)
        self.base: nn.Module | None = None
        if input == "features":
            if in_features is None:
                raise ValueError("in_features is needed with input='features'")
            widths = [in_features, *([128] if hidden is None else hidden), len(obs)]
            check_weights("Loki base classifier", *pairwise(widths))
            layers: list[nn.Module] = []
            for a, b in pairwise(widths[:-1]):
                layers += [nn.Linear(a, b), nn.ReLU()]
            layers.append(nn.Linear(widths[-2], len(obs)))
            self.base = nn.Sequential(*layers)
            self.in_features = in_features

    def base_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Logits of the base classifier over the ``K`` observed classes."""
        if self.base is None:
            raise ValueError("this Loki takes probabilities (input='probabilities'); it has no base classifier")
        x = x.reshape(x.shape[0], -1)
        if x.shape[1] != self.in_features:
            raise ValueError(f"x must have in_features={self.in_features} features per sample, got {x.shape[1]}")
        return self.base(x.to(self.D_obs.dtype))

    def probabilities(self, x: torch.Tensor) -> torch.Tensor:
        """``P(x)`` over the observed classes (the input itself with ``input='probabilities'``)."""
        if self.base is not None:
            return F.softmax(self.base_logits(x), dim=1)
        if x.dim() != 2 or x.shape[1] != len(self.observed):
            raise ValueError(f"probabilities must have shape (n, K) with K = len(observed) = {len(self.observed)}, got {tuple(x.shape)}")
        if bool((x < -1e-6).any()) or bool(((x.sum(1) - 1).abs() > 1e-4).any()):
            raise ValueError("probabilities must be non-negative and sum to 1 per row")
        return x.to(self.D_obs.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return loki_scores(self.probabilities(x), self.D_obs)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Loki predictions (labels in ``0..num_classes-1``)."""
        return self(x).argmax(1)

    def training_step(self, x: torch.Tensor, y: torch.Tensor, loss_fn: Any) -> torch.Tensor:
        """Cross-entropy of the base classifier on the samples of observed classes only."""
        keep = self.relabel[y] >= 0
        if not bool(keep.any()):
            return self.base_logits(x[:1]).sum() * 0.0  # a batch without observed classes: no signal
        return F.cross_entropy(self.base_logits(x[keep]), self.relabel[y[keep]])
