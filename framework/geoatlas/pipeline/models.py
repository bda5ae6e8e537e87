"""Model fitting for pipelines: scikit-learn estimators and the torch training loop."""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import GeoatlasError
from .spec import TrainSpec


def classifier_factory(name: str) -> Callable[..., Any]:
    """The scikit-learn estimator class behind a ``classifier:`` name."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    table = {
        "logistic_regression": LogisticRegression,
        "svc": SVC,
        "random_forest": RandomForestClassifier,
        "knn": KNeighborsClassifier,
        "ridge": RidgeClassifier,
    }
    return table[name]


def make_classifier(name: str, params: dict[str, Any], seed: int, task: str) -> Any:
    """A scikit-learn pipeline (standardisation + estimator); regression uses the analogues."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if task == "regression":
        from sklearn.ensemble import RandomForestRegressor
        from sklearn.linear_model import Ridge
        from sklearn.neighbors import KNeighborsRegressor
        from sklearn.svm import SVR

        reg = {"ridge": Ridge, "svc": SVR, "random_forest": RandomForestRegressor, "knn": KNeighborsRegressor}
        if name not in reg:
            raise GeoatlasError(f"classifier {name!r} has no regression analogue; use ridge, svc, random_forest or knn")
        cls = reg[name]
    else:
        cls = classifier_factory(name)
    params = dict(params)
    if "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", seed)
    if cls.__name__ == "LogisticRegression":
        params.setdefault("max_iter", 2000)
    return make_pipeline(StandardScaler(), cls(**params))


def make_clusterer(name: str, params: dict[str, Any], seed: int, n_clusters: int | None) -> Any:
    """A scikit-learn clusterer after standardisation; ``n_clusters`` defaults to the number of
    classes of the data (the only label information a clustering run uses)."""
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    cls = clusterer_factory(name)
    params = dict(params)
    key = "n_components" if cls is GaussianMixture else "n_clusters"
    if n_clusters is not None:
        params.setdefault(key, int(n_clusters))
    if "random_state" in inspect.signature(cls).parameters:
        params.setdefault("random_state", seed)
    if cls is KMeans:
        params.setdefault("n_init", 10)
    return make_pipeline(StandardScaler(), cls(**params))


def clusterer_factory(name: str) -> Callable[..., Any]:
    from sklearn.cluster import AgglomerativeClustering, KMeans
    from sklearn.mixture import GaussianMixture

    return {"kmeans": KMeans, "gaussian_mixture": GaussianMixture, "agglomerative": AgglomerativeClustering}[name]


def flatten_features(X: Any) -> np.ndarray:
    import torch

    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, list):
        try:
            X = np.stack([np.asarray(x) for x in X])
        except ValueError as exc:
            raise GeoatlasError(
                "a classifier needs fixed-size feature vectors; the data are ragged samples "
                "(add a descriptor step that turns them into features)"
            ) from exc
    X = np.asarray(X, dtype=np.float64)
    return X.reshape(len(X), -1)


# ---------------------------------------------------------------------------- torch
def to_batch(X: Any, idx: np.ndarray | None, data_type: str) -> Any:
    """Turn samples (array, list of arrays, list of Data, or one Data) into a model input."""
    import torch

    if data_type == "graph_nodes":
        return X
    sub = X if idx is None else (X[idx] if isinstance(X, (np.ndarray, torch.Tensor)) else [X[i] for i in idx])
    if isinstance(sub, np.ndarray):
        t = torch.from_numpy(np.ascontiguousarray(sub))
        return t.float() if t.is_floating_point() else t
    if isinstance(sub, torch.Tensor):
        return sub
    if len(sub) and hasattr(sub[0], "edge_index"):
        from torch_geometric.data import Batch

        return Batch.from_data_list(list(sub))
    arrs = [torch.as_tensor(np.asarray(s), dtype=torch.float32) for s in sub]
    if all(a.shape == arrs[0].shape for a in arrs):
        return torch.stack(arrs)
    return arrs  # ragged: the encoder receives a list of tensors


def optimizer_for(model: Any, train: TrainSpec) -> Any:
    import geoopt
    import torch

    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        return None
    if train.optimizer == "adam":
        return torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=train.lr, weight_decay=train.weight_decay)
    if train.optimizer == "sgd":
        return torch.optim.SGD(params, lr=train.lr, momentum=0.9, weight_decay=train.weight_decay)
    if train.optimizer == "riemannian_adam":
        return geoopt.optim.RiemannianAdam(params, lr=train.lr, weight_decay=train.weight_decay, stabilize=10)
    return geoopt.optim.RiemannianSGD(params, lr=train.lr, momentum=0.9, weight_decay=train.weight_decay, stabilize=10)


class Trainer:
    """Epoch loop with per-epoch reseeding and atomic checkpoints, so a resumed run matches.

    Each epoch ``e`` reseeds torch with ``(seed, e)`` and shuffles with its own generator, so the
    state after epoch ``e`` depends only on the checkpoint after ``e - 1``.
    """

    def __init__(
        self,
        model: Any,
        train: TrainSpec,
        task: str | None,
        data_type: str,
        seed: int,
        checkpoint: Path,
        log: Callable[[str], None],
        progress: Any = None,
        loss: Any = None,
        label: str = "",
    ) -> None:
        """``task`` is the kind of targets: ``"classification"`` (class ids), ``"regression"``
        (scaled values), ``"raw"`` (float targets used as they are) or ``None`` (no targets).
        ``loss`` is a registered :class:`~geoatlas.interfaces.Loss` (``loss(outputs, batch)``);
        without one, cross-entropy or MSE by ``task``. The loss's parameters are optimised with
        the model's and its state is checkpointed with it."""
        self.model, self.train, self.task, self.data_type = model, train, task, data_type
        self.seed, self.checkpoint, self.log, self.progress = seed, checkpoint, log, progress
        self.loss, self.label = loss, label
        bind = getattr(loss, "bind", None)
        if callable(bind):
            bind(model)
        self.opt = optimizer_for(_WithLoss(model, loss) if loss is not None and any(True for _ in loss.parameters()) else model, train)
        self.history: list[dict[str, float]] = []
        self.y_mean: np.ndarray | None = None
        self.y_std: np.ndarray | None = None
        self.start_epoch = 0
        # a vector encoder on one graph (node classification) sees the node features only
        self.node_features = data_type == "graph_nodes" and getattr(model, "input_type", "vector") in ("vector", "features")

    def _feed(self, xb: Any) -> Any:
        return xb.x if self.node_features else xb

    def loss_fn(self) -> Callable[[Any, Any], Any]:
        import torch.nn.functional as F

        if self.loss is not None:
            loss = self.loss
            return lambda out, y: loss(out, {"y": y})
        return F.cross_entropy if self.task == "classification" else F.mse_loss

    def resume(self) -> bool:
        import torch

        if not self.checkpoint.exists():
            return False
        from ..errors import GeoatlasError

        def unreadable(why: str) -> GeoatlasError:
            return GeoatlasError(
                f"checkpoint {str(self.checkpoint)!r} cannot be resumed from: {why}. It is truncated, "
                "crafted or from another model; delete it (or the run directory) and run without --resume"
            )

        if self.checkpoint.is_dir():
            raise unreadable("it is a folder, not a file")
        try:
            # weights only: a checkpoint never runs code when it is read
            state = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - UnpicklingError, EOFError, RuntimeError, OSError ...
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise unreadable(f"{type(exc).__name__}: {first}" if first else type(exc).__name__) from None
        if not isinstance(state, dict) or not {"model", "history", "epoch"} <= set(state):
            raise unreadable("it is not a geoatlas training checkpoint (no model/history/epoch entries)")
        try:
            self.model.load_state_dict(state["model"])
            if self.loss is not None and state.get("loss") is not None:
                self.loss.load_state_dict(state["loss"])
            if self.opt is not None and state.get("optimizer") is not None:
                self.opt.load_state_dict(state["optimizer"])
            self.history = list(state["history"])
            self.start_epoch = int(state["epoch"]) + 1
        except Exception as exc:  # noqa: BLE001 - shape/key mismatches from load_state_dict
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise unreadable(f"its contents do not fit this model ({type(exc).__name__}: {first})") from None
        self.log(f"resumed from {self.checkpoint.name} after epoch {self.start_epoch}")
        return True

    def _targets(self, y: np.ndarray) -> Any:
        import torch

        if self.task is None or y is None:
            return None
        if self.task == "classification":
            return torch.as_tensor(y, dtype=torch.long)
        if self.task == "raw":
            return torch.as_tensor(np.asarray(y, dtype=np.float32))
        y = np.asarray(y, dtype=np.float32)
        y2 = y.reshape(len(y), -1)
        if self.y_mean is None:
            mode = self.train.target_scaling
            if mode == "per_column":
                self.y_mean, self.y_std = y2.mean(0), y2.std(0) + 1e-8
            elif mode == "global":  # one scale for every column, no shift: rotations commute with it
                self.y_mean = np.zeros(y2.shape[1], dtype=np.float32)
                self.y_std = np.full(y2.shape[1], np.sqrt((y2**2).mean()) + 1e-8, dtype=np.float32)
            else:
                self.y_mean = np.zeros(y2.shape[1], dtype=np.float32)
                self.y_std = np.ones(y2.shape[1], dtype=np.float32)
        return torch.as_tensor((y2 - self.y_mean) / self.y_std, dtype=torch.float32)

    def fit(self, X: Any, y: np.ndarray | None, train_mask: Any = None, views: Callable[[Any, Any], list[Any]] | None = None,
            monitor: Callable[[Trainer], dict[str, float]] | None = None) -> list[dict[str, float]]:
        """Train for the remaining epochs. ``y=None`` trains without targets (the loss sees only
        ``x``); ``views(xb, generator)`` makes augmented views of a batch, and the model is then
        applied to each view (``outputs`` is the list of view outputs). ``monitor(trainer)``, called
        after each epoch without gradients, returns metrics recorded beside the training loss (it
        runs after the epoch's random draws, so it does not change training)."""
        import torch

        from ..utils import atomic_torch_save

        yt = self._targets(y)
        n = len(y) if y is not None else (1 if self.data_type == "graph_nodes" else len(X))
        loss_fn = self.loss_fn()
        custom = getattr(self.model, "training_step", None)
        epochs = self.train.epochs
        last_save = time.perf_counter()
        for epoch in range(self.start_epoch, epochs):
            torch.manual_seed(self.seed * 100_003 + epoch)
            self.model.train()
            total, count = 0.0, 0
            if self.data_type == "graph_nodes":
                batches = [None]
            else:
                gen = torch.Generator().manual_seed(self.seed * 7919 + epoch)
                perm = torch.randperm(n, generator=gen)
                if not isinstance(X, torch.Tensor):
                    perm = perm.numpy()  # numpy arrays and lists of samples are indexed with numpy
                bs = self.train.batch_size
                batches = [perm[i : i + bs] for i in range(0, n, bs)]
            view_gen = torch.Generator().manual_seed(self.seed * 4099 + epoch) if views is not None else None
            for idx in batches:
                xb = self._feed(to_batch(X, idx, self.data_type))
                if yt is None:
                    yb = None
                elif self.data_type == "graph_nodes":
                    yb = yt
                else:
                    yb = yt[idx if isinstance(idx, torch.Tensor) else torch.as_tensor(idx)]
                if self.opt is not None:
                    self.opt.zero_grad(set_to_none=True)
                if self.loss is not None and (views is not None or yb is None or custom is None):
                    batch: dict[str, Any] = {"x": xb, "epoch": epoch}
                    if idx is not None:
                        batch["index"] = idx if isinstance(idx, torch.Tensor) else torch.as_tensor(idx)
                    if yb is not None:
                        batch["y"] = yb
                    if views is not None:
                        batch["views"] = views(xb, view_gen)
                        out = [self.model(v) for v in batch["views"]]
                    else:
                        out = self.model(xb)
                        if self.task == "regression":
                            out = out.reshape(out.shape[0], -1)
                    if train_mask is not None:
                        out = out[train_mask]
                        if yb is not None:
                            batch["y"] = yb[train_mask]
                    loss = self.loss(out, batch)
                elif custom is not None:
                    loss = custom(xb, yb, loss_fn) if train_mask is None else custom(xb, yb, _masked(loss_fn, train_mask))
                else:
                    out = self.model(xb)
                    if self.task == "regression":
                        out = out.reshape(out.shape[0], -1)
                    loss = loss_fn(out[train_mask], yb[train_mask]) if train_mask is not None else loss_fn(out, yb)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise GeoatlasError(
                        f"training diverged: the loss became {value} in epoch {epoch + 1}. "
                        "Lower the learning rate, or check the inputs for extreme values."
                    )
                if self.opt is not None and loss.requires_grad:
                    loss.backward()
                    self.opt.step()
                k = 1 if idx is None else len(idx)
                total += value * k
                count += k
            end_hook = getattr(self.model, "on_epoch_end", None)
            if end_hook is not None:
                end_hook(epoch)
            loss_hook = getattr(self.loss, "on_epoch_end", None)
            if loss_hook is not None:
                loss_hook(epoch)
            decay = getattr(self.train, "lr_decay", 1.0)
            if self.opt is not None and decay != 1.0:
                for group in self.opt.param_groups:
                    group["lr"] *= decay
            rec = {"epoch": epoch + 1, "train_loss": total / max(count, 1)}
            if monitor is not None:
                was_training = self.model.training
                rng = torch.get_rng_state()
                rec.update({k: float(v) for k, v in monitor(self).items()})
                torch.set_rng_state(rng)
                self.model.train(was_training)
            self.history.append(rec)
            every = getattr(self.train, "checkpoint_seconds", 0.0)
            now = time.perf_counter()
            if epoch == self.start_epoch or epoch == epochs - 1 or now - last_save >= every:
                last_save = now
                atomic_torch_save(
                    {
                        "epoch": epoch,
                        "model": self.model.state_dict(),
                        "loss": self.loss.state_dict() if self.loss is not None else None,
                        "optimizer": self.opt.state_dict() if self.opt is not None else None,
                        "history": self.history,
                    },
                    self.checkpoint,
                )
            shown = " ".join(f"{k}={v:.4f}" for k, v in rec.items() if k != "epoch")
            self.log(f"{self.label + ': ' if self.label else ''}epoch {epoch + 1}/{epochs} {shown}")
            if self.progress is not None:
                self.progress(rec)
        return self.history

    def outputs(self, X: Any, mask: Any = None, batch_size: int = 256, flat: bool = True) -> np.ndarray:
        """The model's raw outputs on ``X`` (eval mode, no gradients), as float64."""
        import torch

        self.model.eval()
        outs = []
        with torch.no_grad():
            if self.data_type == "graph_nodes":
                outs.append(self.model(self._feed(X))[mask])
            else:
                n = len(X)
                for i in range(0, n, batch_size):
                    outs.append(self.model(to_batch(X, np.arange(i, min(n, i + batch_size)), self.data_type)))
        if flat:
            return torch.cat([o.reshape(o.shape[0], -1) for o in outs]).double().numpy()
        return torch.cat(outs).double().numpy()

    def predict(self, X: Any, mask: Any = None, batch_size: int = 256) -> np.ndarray:
        out = self.outputs(X, mask, batch_size)
        if self.task == "classification":
            return out.argmax(1)
        if self.y_mean is not None:
            out = out * self.y_std + self.y_mean
        return out


class _WithLoss:
    """Parameters of a model and of its loss, for one optimiser (model's first, same order)."""

    def __init__(self, model: Any, loss: Any) -> None:
        self.model, self.loss = model, loss

    def parameters(self) -> Any:
        seen = set()
        for p in (*self.model.parameters(), *self.loss.parameters()):
            if id(p) not in seen:  # a loss holding the model as a submodule must not optimise it twice
                seen.add(id(p))
                yield p


def _masked(loss_fn: Callable[[Any, Any], Any], mask: Any) -> Callable[[Any, Any], Any]:
    def fn(out: Any, y: Any) -> Any:
        return loss_fn(out[mask], y[mask])

    return fn
