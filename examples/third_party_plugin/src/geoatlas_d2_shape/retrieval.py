"""A task, two metrics, a measure and a loss: the core v2 kinds, from a third-party package."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from geoatlas.interfaces import DataBundle, Loss, Measure, Metric, Task, TaskOutput
from geoatlas.utils import take


def _flat(X: Any) -> np.ndarray:
    arr = np.asarray(X, dtype=np.float64)
    return arr.reshape(len(arr), -1)


class ShapeRetrieval(Task):
    """Shape retrieval: the training part is the gallery, each test shape a query; queries are
    ranked against the gallery by Euclidean distance of their features (from the pipeline's steps),
    and the rank of the first gallery shape of the query's class is reported."""

    data_types = ("point_cloud", "vector", "features")
    dataset_tasks = ("classification",)
    default_metrics = ("retrieval_precision_at_1",)
    model_kinds = ("classifier",)

    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        from sklearn.model_selection import train_test_split

        y = np.asarray(bundle.y)
        tr, te = train_test_split(np.arange(len(y)), test_size=split.test, random_state=seed, stratify=y)
        return {"X_train": take(bundle.X, tr), "X_test": take(bundle.X, te), "y_train": y[tr], "y_test": y[te], "n_train": len(tr), "n_test": len(te),
                "index_train": tr, "index_test": te}

    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        gallery, g_labels = _flat(data["X_train"]), np.asarray(data["y_train"])
        est = ctx.fit_estimator(model, data["X_train"], data["y_train"], "classification")

        y_query = np.asarray(data["y_test"])

        def predict(X: Any) -> dict[str, Any]:
            """Nearest-gallery ranking of the test queries (same order as ``data["y_test"]``)."""
            Q = _flat(X)
            if len(Q) != len(y_query):
                raise ValueError(f"shape_retrieval predicts its {len(y_query)} test queries, got {len(Q)} samples")
            d = ((Q[:, None, :] - gallery[None, :, :]) ** 2).sum(-1)
            ordered = g_labels[np.argsort(d, axis=1, kind="stable")]
            hits = ordered == y_query[:, None]
            if not hits.any(1).all():
                raise ValueError("a query's class has no shape in the gallery")
            return {"labels": est.predict(Q), "ranks": hits.argmax(1) + 1}

        return TaskOutput(est, predict, y_query)


class PrecisionAt1(Metric):
    tasks = ("shape_retrieval",)
    higher_is_better = True
    input = "ranks"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        r = np.asarray(y_pred)
        if y_true is not None and len(y_true) != len(r):
            raise ValueError(f"y_true has {len(y_true)} queries but there are {len(r)} ranks")
        if r.size == 0:
            raise ValueError("no queries")
        return float(np.mean(r == 1))


class BalancedAccuracy(Metric):
    tasks = ("classification", "shape_retrieval")
    higher_is_better = True
    input = "labels"

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        yt, yp = np.asarray(y_true), np.asarray(y_pred)
        if len(yt) != len(yp) or len(yt) == 0:
            raise ValueError(f"y_true and y_pred must be non-empty and of one length, got {len(yt)} and {len(yp)}")
        return float(np.mean([np.mean(yp[yt == c] == c) for c in np.unique(yt)]))


class FisherRatio(Measure):
    """trace(S_between) / trace(S_within) of features grouped by class (larger: better separated)."""

    needs_model = False

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if data is None or data.get("y") is None:
            raise ValueError("fisher_ratio needs data with labels")
        X, y = _flat(data["X"]), np.asarray(data["y"])
        mu = X.mean(0)
        sb = sum((y == c).sum() * np.sum((X[y == c].mean(0) - mu) ** 2) for c in np.unique(y))
        sw = sum(np.sum((X[y == c] - X[y == c].mean(0)) ** 2) for c in np.unique(y))
        return {"fisher_ratio": float(sb / max(sw, 1e-300)), "n_classes": int(len(np.unique(y)))}


class MutualInformationClustering(Loss):
    """Regularized information maximization (Krause, Perona & Gomes, NeurIPS 2010) without the
    weight penalty: ``mean_i H(p_i) - weight * H(mean_i p_i)`` for softmax cluster probabilities
    ``p_i``; confident assignments, balanced clusters. Uses no labels."""

    requires = ()

    def __init__(self, weight: float = 1.0) -> None:
        super().__init__()
        if weight < 0:
            raise ValueError(f"weight must be >= 0, got {weight}")
        self.weight = weight

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:
        logp = torch.log_softmax(outputs, dim=1)
        p = logp.exp()
        cond = -(p * logp).sum(1).mean()
        marg = p.mean(0)
        return cond + self.weight * (marg * torch.log(marg.clamp_min(1e-12))).sum()
