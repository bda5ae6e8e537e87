"""Classification and regression: a held-out split (graph node tasks use the graph's masks),
encoders trained with the task's loss (or the model's own ``loss:``), scikit-learn estimators on
features."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Task, TaskOutput
from geoatlas.utils import take


def holdout_split(bundle: DataBundle, split: Any, seed: int, stratify: bool) -> dict[str, Any]:
    """A random train/test split (``split.test`` held out), stratified by class when asked;
    one graph with node targets uses its own train/test masks."""
    if bundle.data_type == "graph_nodes":
        data = bundle.X
        y = np.asarray(data.y)
        tr = data.train_mask.numpy().astype(bool)
        te = data.test_mask.numpy().astype(bool) if hasattr(data, "test_mask") else ~tr
        bundle.meta.setdefault("n_classes", int(y.max()) + 1)
        return {"X_train": data, "X_test": data, "y_train": y, "y_test": y[te], "train_mask": tr, "test_mask": te,
                "n_train": int(tr.sum()), "n_test": int(te.sum())}
    from sklearn.model_selection import train_test_split

    n = len(bundle)
    y = np.asarray(bundle.y)
    strat = y if (stratify and split.stratify) else None
    idx_tr, idx_te = train_test_split(np.arange(n), test_size=split.test, random_state=seed, stratify=strat)
    return {"X_train": take(bundle.X, idx_tr), "X_test": take(bundle.X, idx_te), "y_train": y[idx_tr], "y_test": y[idx_te],
            "n_train": len(idx_tr), "n_test": len(idx_te), "index_train": idx_tr, "index_test": idx_te}


def _node_rows(ctx: Any, X: Any, mask: Any) -> np.ndarray:
    """Per-node feature rows of the nodes in ``mask``: ``X`` is a graph (its ``x``) or an
    ``(n_nodes, d)`` array made by a descriptor step."""
    F = ctx.flatten(X.x if hasattr(X, "x") and hasattr(X, "num_nodes") else X)
    mask = np.asarray(mask, dtype=bool)
    if len(F) != len(mask):
        raise ValueError(f"the node features have {len(F)} rows for a graph of {len(mask)} nodes")
    return F[mask]


class _Supervised(Task):
    targets = "classification"
    model_kinds = ("encoder", "classifier")
    perturbable = True

    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        return holdout_split(bundle, split, seed, stratify=self.targets == "classification")

    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        dt = data["data_type"]
        if model.encoder is None:
            train_mask, test_mask = data.get("train_mask"), data.get("test_mask")
            if train_mask is not None:  # one graph: node features, fit on the training nodes only
                est = ctx.fit_estimator(model, _node_rows(ctx, data["X_train"], train_mask),
                                        np.asarray(data["y_train"])[np.asarray(train_mask, dtype=bool)], self.targets)
            else:
                est = ctx.fit_estimator(model, data["X_train"], data["y_train"], self.targets)

            def predict_est(X: Any) -> dict[str, Any]:
                F = _node_rows(ctx, X, test_mask) if test_mask is not None else ctx.flatten(X)
                out = {"labels": est.predict(F)}
                if self.targets == "classification" and hasattr(est, "predict_proba"):
                    out["scores"] = est.predict_proba(F)
                return out

            return TaskOutput(est, predict_est, data["y_test"])
        enc = ctx.build_encoder(model, data)
        loss = ctx.make_loss(model.loss, self.default_loss)
        graph = dt == "graph_nodes"
        mask = None
        if graph:
            import torch

            mask = torch.as_tensor(data["train_mask"])
        y = data["y_train"] if not graph else np.asarray(data["X_train"].y)
        test_mask = None
        if graph:
            import torch

            test_mask = torch.as_tensor(data["test_mask"])

        def predict_with(tr: Any, X: Any) -> dict[str, Any]:
            if self.targets == "classification":
                raw = tr.outputs(X, mask=test_mask)
                z = raw - raw.max(1, keepdims=True)
                p = np.exp(z)
                return {"labels": raw.argmax(1), "scores": p / p.sum(1, keepdims=True)}
            return {"labels": tr.predict(X, mask=test_mask)}

        monitor = ctx.monitor(data["y_test"], predict_with, data["X_test"])
        trainer = ctx.train(label, enc, data["X_train"], y, data_type=dt, targets=self.targets, loss=loss,
                            train=ctx.train_spec(model), train_mask=mask, monitor=monitor)

        def predict(X: Any) -> dict[str, Any]:
            return predict_with(trainer, X)

        return TaskOutput(enc, predict, data["y_test"], trainer.history)


class Classification(_Supervised):
    """Supervised classification: a stratified held-out split (``data.split``), encoders trained
    with cross-entropy (or the model's ``loss:``), scikit-learn classifiers on features."""

    dataset_tasks = ("classification",)
    default_metrics = ("accuracy", "macro_f1")
    default_loss = "cross_entropy"
    targets = "classification"


class Regression(_Supervised):
    """Supervised regression of real targets of any shape: a random held-out split, encoders
    trained with MSE on standardised targets (``train.target_scaling``), scikit-learn regressors."""

    dataset_tasks = ("regression",)
    default_metrics = ("mse", "mae", "r2")
    default_loss = "mse"
    targets = "regression"
