"""Representation learning: self-supervised pre-training, then probes on frozen features.

The model's encoder is pre-trained on the unlabelled training samples with the spec's
``pretrain.loss`` on augmented views (a random element of a registered group acting on each
sample, then Gaussian noise). Its outputs are the representation; labels enter only the probes
(a standardised logistic regression, a cosine k-nearest-neighbour classifier) fitted on the
frozen features of the training samples and evaluated on the test samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from geoatlas.errors import GeoatlasError
from geoatlas.interfaces import DataBundle, Task, TaskOutput

from .supervised import holdout_split

PROBES = ("linear", "knn")


def make_views(group: Any, input_type: str, noise: float, n_views: int) -> Callable[[Any, Any], list[Any]]:
    """``views(xb, generator)``: ``n_views`` views of a batch, each a fresh random group element
    per sample (``group.sample(B, generator)`` then ``group.act``; skipped when ``group`` is None)
    followed by Gaussian noise of std ``noise``. Every draw comes from ``generator``, so a seeded
    generator gives the same views.

    ``xb`` is a tensor ``(B, ...)`` (one element acts on each sample), a list of per-sample tensors
    (ragged point clouds) or a torch-geometric batch of graphs (the noise moves ``pos``, else ``x``).
    """
    import torch

    if n_views < 1:
        raise ValueError(f"n_views must be >= 1, got {n_views}")
    if noise < 0:
        raise ValueError(f"noise must be >= 0, got {noise}")
    acts_on = tuple(getattr(group, "acts_on", ())) if group is not None else ()
    if group is not None and input_type not in acts_on:
        raise TypeError(
            f"the views' group {getattr(group, 'name', group)!r} does not act on {input_type!r} data; it acts on: "
            f"{', '.join(acts_on) or '(nothing)'} (set pretrain.views.input_type, choose another group, or use noise only)"
        )

    def one_tensor(x: torch.Tensor, g: Any, gen: torch.Generator) -> torch.Tensor:
        v = x if g is None else group.act(g, x, input_type)
        if noise > 0:
            v = v + noise * torch.randn(v.shape, generator=gen, dtype=v.dtype)
        return v

    def views(xb: Any, gen: torch.Generator) -> list[Any]:
        out = []
        for _ in range(n_views):
            if isinstance(xb, torch.Tensor):
                g = group.sample(xb.shape[0], gen, dtype=xb.dtype) if group is not None else None
                out.append(one_tensor(xb, g, gen))
            elif isinstance(xb, list):
                g = group.sample(len(xb), gen, dtype=xb[0].dtype) if group is not None and xb else None
                out.append([one_tensor(x, None if g is None else g[i], gen) for i, x in enumerate(xb)])
            elif hasattr(xb, "to_data_list"):
                out.append(_graph_view(xb, group, input_type, noise, gen))
            else:
                raise TypeError(f"cannot make views of a batch of type {type(xb).__name__}")
        return out

    return views


def _graph_view(batch: Any, group: Any, input_type: str, noise: float, gen: Any) -> Any:
    import torch
    from torch_geometric.data import Batch

    graphs = batch.to_data_list()
    dtype = graphs[0].pos.dtype if getattr(graphs[0], "pos", None) is not None else torch.get_default_dtype()
    g = group.sample(len(graphs), gen, dtype=dtype) if group is not None else None
    out = []
    for i, d in enumerate(graphs):
        v = d if g is None else group.act(g[i], d, input_type)
        if noise > 0:
            v = v.clone()
            key = "pos" if getattr(v, "pos", None) is not None else "x"
            t = getattr(v, key)
            if t is None or not torch.is_floating_point(t):
                raise TypeError("noise on graphs moves `pos` or float node features `x`; these graphs have neither")
            setattr(v, key, t + noise * torch.randn(t.shape, generator=gen, dtype=t.dtype))
        out.append(v)
    return Batch.from_data_list(out)


def fit_probe(kind: str, features: np.ndarray, y: np.ndarray, seed: int, knn_k: int) -> Any:
    """A scikit-learn classifier on frozen features: ``"linear"`` = standardisation + logistic
    regression (L2, C = 1), ``"knn"`` = majority vote of the ``knn_k`` nearest training samples in
    cosine distance."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if kind == "linear":
        est = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    elif kind == "knn":
        est = KNeighborsClassifier(n_neighbors=min(knn_k, len(features)), metric="cosine", algorithm="brute")
    else:
        raise ValueError(f"unknown probe {kind!r}; the probes are: {', '.join(PROBES)}")
    return est.fit(features, y)


def _probe_predictions(est: Any, features: np.ndarray, n_classes: int) -> dict[str, Any]:
    proba = est.predict_proba(features)
    scores = np.zeros((len(features), n_classes))
    scores[:, np.asarray(est.classes_, dtype=np.int64)] = proba  # classes absent from train get 0
    return {"labels": est.predict(features), "scores": scores}


class Representation(Task):
    """Self-supervised pre-training (``pretrain:`` loss and views), then linear / kNN probes.

    The task's predictions are those of the first probe in ``pretrain.probes``; every probe's
    metrics are reported under ``probes`` in the model's results.

    Parameters
    ----------
    embedding_dim : int
        Size of the representation: passed to the encoder as ``out_features`` / ``num_classes``
        where it takes them and the spec does not set them.
    knn_k : int
        Neighbours of the kNN probe. 20, as in the k-NN evaluation of DINO (Caron et al. 2021),
        here with a plain majority vote over cosine neighbours.
    """

    data_types = ("vector", "image", "point_cloud", "graph", "sequence", "spd", "features")
    dataset_tasks = ("classification",)
    default_metrics = ("accuracy",)
    default_loss = None
    uses_labels = False  # pre-training sees no labels; only the probes do
    model_kinds = ("encoder",)
    pretrain = "required"

    def __init__(self, embedding_dim: int = 64, knn_k: int = 20) -> None:
        for pname, v in (("embedding_dim", embedding_dim), ("knn_k", knn_k)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{pname} must be an int, got {type(v).__name__}")
            if v < 1:
                raise ValueError(f"{pname} must be >= 1, got {v}")
        self.embedding_dim, self.knn_k = embedding_dim, knn_k

    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        """A stratified held-out split (the probes' train/test); pre-training uses the training
        samples without their labels (with them when ``pretrain.labels`` is true)."""
        if bundle.data_type == "graph_nodes":
            raise GeoatlasError("the representation task takes one sample per row, not one graph with node labels")
        return holdout_split(bundle, split, seed, stratify=True)

    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        p = ctx.spec.pretrain
        if p is None:
            raise GeoatlasError("the representation task needs a `pretrain:` section (the loss and views to pre-train with)")
        if not p.probes:
            raise GeoatlasError("pretrain.probes is empty: name at least one of linear, knn")
        dt = data["data_type"]
        enc = ctx.build_encoder(model, data, out_features=self.embedding_dim, num_classes=self.embedding_dim)
        loss = ctx.make_loss(p.loss)
        vs = p.views
        group = ctx.create("group", vs.group.name, **vs.group.params) if vs.group is not None else None
        try:
            views = make_views(group, vs.input_type or dt, vs.noise, vs.n_views)
        except TypeError as exc:
            raise GeoatlasError(str(exc)) from exc
        labelled = bool(getattr(p, "labels", False))
        trainer = ctx.train(label, enc, data["X_train"], data["y_train"] if labelled else None, data_type=dt,
                            targets="classification" if labelled else None, loss=loss, train=ctx.pretrain_spec(), views=views)
        f_train = trainer.outputs(data["X_train"])
        f_test = trainer.outputs(data["X_test"])
        if not (np.isfinite(f_train).all() and np.isfinite(f_test).all()):
            raise GeoatlasError(f"the pre-trained encoder {model.encoder!r} gives NaN/Inf features")
        y_train = np.asarray(data["y_train"])
        n_classes = int(ctx.bundle.meta.get("n_classes") or int(y_train.max()) + 1)
        names = list(ctx.spec.evaluate.metrics) or list(self.default_metrics)
        probes = {kind: fit_probe(kind, f_train, y_train, ctx.seed, self.knn_k) for kind in p.probes}
        extra = {"probes": {kind: ctx.evaluate(names, data["y_test"], _probe_predictions(est, f_test, n_classes))
                            for kind, est in probes.items()}}
        first = probes[p.probes[0]]
        ctx.log(f"model {label}: probes {extra['probes']}")

        def predict(X: Any) -> dict[str, Any]:
            return _probe_predictions(first, trainer.outputs(X), n_classes)

        return TaskOutput(enc, predict, data["y_test"], trainer.history, extra)
