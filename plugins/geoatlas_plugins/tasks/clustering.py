"""Clustering: models never see the labels; they are used only to evaluate and to set the number
of clusters.

Models are scikit-learn clusterers (``clusterer: kmeans | gaussian_mixture | agglomerative``,
after standardisation) or encoders trained without targets by a registered clustering loss named
in the model's ``loss:`` (the loss receives ``batch`` with ``"x"``, ``"index"`` and ``"epoch"``,
never ``"y"``); an encoder's cluster ids are the argmax of its outputs, and its
``num_classes`` / ``out_features`` are set to the number of clusters.

Split: by default the models are fitted on the training part and evaluated on the held-out part
(``data.split.test``, a random, unstratified split); ``transductive: true`` fits and evaluates
on all samples, as the clustering papers report. Agglomerative clustering has no ``predict``: it
clusters the training and evaluated samples together and reports the evaluated part. One graph
with node targets (``graph_nodes``) is clustered by node: encoders train on the whole graph
(there are no labels to hide), clusterers cluster the node features, and the held-out nodes are
evaluated.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Task, TaskOutput
from geoatlas.utils import take


class Clustering(Task):
    """Clustering evaluated against the classes of a labelled dataset (NMI, ARI, accuracy).

    Parameters
    ----------
    n_clusters : int or None
        Number of clusters; ``None`` (default) uses the dataset's number of classes.
    transductive : bool
        Fit and evaluate on all samples (no held-out part).
    """

    data_types = ("*",)
    dataset_tasks = ("classification", "clustering")
    default_metrics = ("nmi", "ari", "cluster_accuracy")
    default_loss = None
    uses_labels = False
    model_kinds = ("clusterer", "encoder")
    inferred = ("n_clusters",)

    def __init__(self, n_clusters: int | None = None, transductive: bool = False) -> None:
        if n_clusters is not None:
            if isinstance(n_clusters, bool) or not isinstance(n_clusters, int):
                raise TypeError(f"n_clusters must be an integer or None, got {type(n_clusters).__name__}")
            if n_clusters < 1:
                raise ValueError(f"n_clusters must be >= 1, got {n_clusters}")
        if not isinstance(transductive, bool):
            raise TypeError(f"transductive must be a bool, got {type(transductive).__name__}")
        self.n_clusters, self.transductive = n_clusters, transductive

    # ------------------------------------------------------------------ split
    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        if bundle.y is None:
            raise ValueError("the clustering task evaluates against class labels, but the dataset has none (y is None)")
        graph = bundle.data_type == "graph_nodes"
        y = np.asarray(bundle.X.y if graph and getattr(bundle.X, "y", None) is not None else bundle.y).reshape(-1)
        n = len(bundle)
        if len(y) != n:
            raise ValueError(f"the dataset has {n} samples but {len(y)} labels")
        if n < 2:
            raise ValueError(f"clustering needs at least 2 samples, got {n}")
        k = self.n_clusters or int(bundle.meta.get("n_classes") or len(np.unique(y)))
        bundle.meta.setdefault("n_classes", int(len(np.unique(y))))
        test_frac = float(getattr(split, "test", 0.25))
        if self.transductive:
            idx_tr = idx_te = np.arange(n)
        else:
            perm = np.random.default_rng(seed).permutation(n)
            n_test = min(n - 1, max(1, int(round(test_frac * n))))
            idx_te, idx_tr = np.sort(perm[:n_test]), np.sort(perm[n_test:])
        if k > len(idx_tr):
            raise ValueError(f"n_clusters={k} exceeds the {len(idx_tr)} samples to cluster")
        out: dict[str, Any] = {"y_train": None, "y_test": y[idx_te], "n_train": len(idx_tr), "n_test": len(idx_te),
                               "n_clusters": k, "transductive": self.transductive}
        if graph:
            tr = np.zeros(n, dtype=bool)
            te = np.zeros(n, dtype=bool)
            tr[idx_tr], te[idx_te] = True, True
            out.update(X_train=bundle.X, X_test=bundle.X, train_mask=tr, test_mask=te)
        else:
            out.update(X_train=take(bundle.X, idx_tr), X_test=take(bundle.X, idx_te))
            if not self.transductive:  # index lists only where the parts are disjoint
                out.update(index_train=idx_tr, index_test=idx_te)
        return out

    def inferred_params(self, data: dict[str, Any], bundle: DataBundle) -> dict[str, Any]:
        k = int(data["n_clusters"])
        return {"num_classes": k, "out_features": k, "n_clusters": k}

    # ------------------------------------------------------------------ fit
    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        k = int(data["n_clusters"])
        graph = data["data_type"] == "graph_nodes"
        if model.encoder is None:
            return self._fit_clusterer(ctx, model, data, k, graph)
        return self._fit_encoder(ctx, label, model, data, graph)

    def _fit_clusterer(self, ctx: Any, model: Any, data: dict[str, Any], k: int, graph: bool) -> TaskOutput:
        key = "n_components" if model.clusterer == "gaussian_mixture" else "n_clusters"
        mspec = model.model_copy(update={"params": {key: k, **model.params}})

        def features(X: Any, mask: Any = None) -> np.ndarray:
            if graph:
                F = ctx.flatten(X.x)
                return F if mask is None else F[np.asarray(mask, dtype=bool)]
            return ctx.flatten(X)

        train_mask = data.get("train_mask")
        test_mask = data.get("test_mask")
        F_train = features(data["X_train"], train_mask)
        same = self.transductive
        if model.clusterer == "agglomerative":  # no predict: cluster train and evaluated samples together

            def predict(X: Any) -> dict[str, Any]:
                F = features(X, test_mask)
                if same and F.shape == F_train.shape and np.array_equal(F, F_train):
                    est = ctx.fit_estimator(mspec, F, None, "clustering")
                    return {"labels": np.asarray(est[-1].labels_)}
                est = ctx.fit_estimator(mspec, np.concatenate([F_train, F]), None, "clustering")
                return {"labels": np.asarray(est[-1].labels_)[len(F_train):]}

            return TaskOutput(None, predict, data["y_test"])
        est = ctx.fit_estimator(mspec, F_train, None, "clustering")

        def predict_est(X: Any) -> dict[str, Any]:
            F = features(X, test_mask)
            out: dict[str, Any] = {"labels": est.predict(F)}
            if hasattr(est, "predict_proba"):
                out["scores"] = est.predict_proba(F)
            return out

        return TaskOutput(est, predict_est, data["y_test"])

    def _fit_encoder(self, ctx: Any, label: str, model: Any, data: dict[str, Any], graph: bool) -> TaskOutput:
        if model.loss is None:
            raise ValueError(
                f"model {label!r}: an encoder in the clustering task needs a clustering loss under `loss:` "
                "(a registered loss that trains without labels, e.g. the ones the deep-clustering plugins ship); "
                "or use `clusterer: kmeans | gaussian_mixture | agglomerative` on features"
            )
        loss = ctx.make_loss(model.loss, None)
        needs = [k for k in getattr(loss, "requires", ()) if k not in ("x", "index", "epoch")]
        if needs:
            raise ValueError(
                f"model {label!r}: loss {model.loss.name!r} needs batch keys {needs}, but the clustering task "
                "trains without labels (the batch has only 'x', 'index' and 'epoch'); use a clustering loss"
            )
        enc = ctx.build_encoder(model, data)
        # a graph trains on all its nodes: no labels are involved, so nothing needs hiding
        trainer = ctx.train(label, enc, data["X_train"], None, data_type=data["data_type"], targets=None, loss=loss,
                            train=ctx.train_spec(model))
        test_mask = None
        if graph:
            import torch

            test_mask = torch.as_tensor(data["test_mask"])

        def predict(X: Any) -> dict[str, Any]:
            raw = trainer.outputs(X, mask=test_mask)
            z = raw - raw.max(1, keepdims=True)
            p = np.exp(z)
            return {"labels": raw.argmax(1), "scores": p / p.sum(1, keepdims=True)}

        return TaskOutput(enc, predict, data["y_test"], trainer.history)
