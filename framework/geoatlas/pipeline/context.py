"""The services a :class:`~geoatlas.interfaces.Task` uses to train and predict.

A task decides what to do; the runner's context does the shared work the same way for every
task: creating components with parameters inferred from the data, the training loop with
per-epoch reseeding, atomic checkpoints and ``--resume``, scikit-learn estimators, progress and
the run log. Tasks receive it as ``ctx`` in ``Task.fit``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import GeoatlasError


class TaskContext:
    def __init__(self, run: Any, task: Any, task_name: str, bundle: Any) -> None:
        self._run, self.task, self.task_name, self.bundle = run, task, task_name, bundle
        self.spec = run.spec
        self.seed: int = run.spec.seed
        self.dir = run.dir
        self.log: Callable[[str], None] = run.log
        self._metrics: dict[str, Any] = {}
        self._built: dict[int, dict[str, Any]] = {}

    # ------------------------------------------------------------------ components
    def create(self, kind: str, name: str, /, **params: Any) -> Any:
        from ..api import create

        return create(kind, name, **params)

    def train_spec(self, mspec: Any) -> Any:
        """The spec's ``train:`` merged with the model's own overrides."""
        return self.spec.train.merged(mspec.train)

    def pretrain_spec(self) -> Any:
        """The spec's ``pretrain:`` section as a training spec (epochs, batch size, optimiser)."""
        from .spec import TrainSpec

        p = self.spec.pretrain
        if p is None:
            raise GeoatlasError(f"task {self.task_name!r} needs a `pretrain:` section")
        return TrainSpec(epochs=p.epochs, batch_size=p.batch_size, optimizer=p.optimizer, lr=p.lr,
                         weight_decay=p.weight_decay, target_scaling="none")

    def build_encoder(self, mspec: Any, data: dict[str, Any], **extra: Any) -> Any:
        """Create the model's encoder; parameters the spec leaves out (``in_features``,
        ``num_classes``, and the task's own ``inferred_params``) are filled in from the data."""
        import torch

        params = self._run._infer("encoder", mspec.encoder, mspec.params, data["X_train"], data["data_type"], data.get("y_train"),
                                  self.bundle, extra={**self.task.inferred_params(data, self.bundle), **extra})
        torch.manual_seed(self.seed)
        model = self.create("encoder", mspec.encoder, **params)
        riem = [n for n, p in model.named_parameters() if type(p).__name__ == "ManifoldParameter"]
        if riem and not self.train_spec(mspec).optimizer.startswith("riemannian"):
            self.log(f"warning: {mspec.encoder} has manifold parameters {riem[:3]}... but the optimizer is not Riemannian")
        # what `RunResult.load_model` needs to rebuild it: the encoder and its full parameters
        self._built[id(model)] = {"encoder": mspec.encoder, "params": params}
        return model

    def make_loss(self, ref: Any, default: str | None = None) -> Any:
        """The model's registered loss (``loss:`` in the spec), else the task's default, else None."""
        if ref is not None:
            return self.create("loss", ref.name, **ref.params)
        if default is not None:
            return self.create("loss", default)
        return None

    # ------------------------------------------------------------------ training
    def train(self, label: str, model: Any, X: Any, y: Any, *, data_type: str, targets: str | None, loss: Any = None,
              train: Any = None, train_mask: Any = None, views: Callable[[Any, Any], list[Any]] | None = None,
              monitor: Callable[[Any], dict[str, float]] | None = None) -> Any:
        """Train ``model`` on ``X`` (and targets ``y`` unless ``targets`` is None) with the
        per-epoch reseeded loop; checkpoints to ``checkpoints/<label>.pt`` and resumes from it.
        ``monitor(trainer)`` returns metrics recorded per epoch beside the training loss (in the
        history, ``log.txt``, the progress bar and the training-curve plot).
        Returns the :class:`~geoatlas.pipeline.models.Trainer` (``.predict``, ``.outputs``,
        ``.history``)."""
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        from ..utils import atomic_write_text
        from .models import Trainer

        train = train if train is not None else self.spec.train
        ckpt = self.dir / "checkpoints" / f"{label}.pt"
        run = self._run

        columns = (TextColumn("training [bold]{task.description}[/bold]"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("epochs"), TextColumn("{task.fields[shown]}"), TimeElapsedColumn(), TimeRemainingColumn())
        with Progress(*columns, console=run.console, transient=False, disable=not run.show) as prog:
            task_id = prog.add_task(label, total=train.epochs, shown="")

            def advance(rec: dict[str, float]) -> None:
                shown = " ".join(f"{k}={v:.4g}" for k, v in rec.items() if k != "epoch")
                prog.update(task_id, advance=1, shown=shown)

            trainer = Trainer(model, train, targets, data_type, self.seed, ckpt, self.log, progress=advance, loss=loss,
                              label=label)
            if run.resume and trainer.resume():
                prog.update(task_id, completed=trainer.start_epoch)
            trainer.fit(X, y, train_mask=train_mask, views=views, monitor=monitor)
        done: dict[str, Any] = {"epochs": len(trainer.history)}
        built = self._built.get(id(model))
        if built is not None:
            try:
                done.update(json.loads(json.dumps(built)))
            except (TypeError, ValueError):
                done["not_reloadable"] = "its parameters are not JSON values"
        atomic_write_text(self.dir / "checkpoints" / f"{label}.done.json", json.dumps(done, indent=1))
        model.eval()
        return trainer

    def fit_estimator(self, mspec: Any, X: Any, y: Any, problem: str) -> Any:
        """Fit the model's scikit-learn classifier (``problem`` classification/regression) or
        clusterer (``problem`` clustering, ``y`` unused) on flattened features."""
        from .models import flatten_features, make_classifier, make_clusterer

        name = mspec.classifier or mspec.clusterer
        with self._run._status(f"fitting {name}"):
            if mspec.clusterer is not None:
                est = make_clusterer(mspec.clusterer, mspec.params, self.seed, self.bundle.meta.get("n_classes"))
                est.fit(flatten_features(X))
            else:
                est = make_classifier(mspec.classifier, mspec.params, self.seed, problem)
                est.fit(flatten_features(X), y)
        return est

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def flatten(X: Any) -> np.ndarray:
        from .models import flatten_features

        return flatten_features(X)

    @staticmethod
    def to_batch(X: Any, idx: np.ndarray | None, data_type: str) -> Any:
        from .models import to_batch

        return to_batch(X, idx, data_type)

    def monitor(self, y_true: Any, predict: Callable[[Any, Any], dict[str, Any]], X: Any,
                prefix: str = "test_") -> Callable[[Any], dict[str, float]] | None:
        """A per-epoch monitor for :meth:`train`: the spec's first metric (else the task's first
        default) of ``predict(trainer, X)`` against ``y_true``, named ``<prefix><metric>``. It
        watches the held-out split and nothing is selected on it; ``evaluate.curves: false``
        turns it off (then ``None``)."""
        if not self.spec.evaluate.curves:
            return None
        names = [n for n in (self.spec.evaluate.metrics or list(self.task.default_metrics))
                 if self.metric(n).applies_to(self.task_name)][:1]

        def watch(trainer: Any) -> dict[str, float]:
            out = self.evaluate(names, y_true, predict(trainer, X), explicit=False)
            return {f"{prefix}{k}": float(v) for k, v in out.items() if isinstance(v, (int, float))}

        return watch

    def metric(self, name: str) -> Any:
        if name not in self._metrics:
            self._metrics[name] = self.create("metric", name)
        return self._metrics[name]

    def evaluate(self, names: list[str], y_true: Any, predictions: dict[str, Any], *, explicit: bool | None = None) -> dict[str, Any]:
        """Each named metric on the prediction it takes (``metric.input``); ``y_true`` is one
        array, or a dict keyed like ``predictions`` when the truths differ per input.

        A metric whose prediction the model does not give is an error when the spec named it
        (``explicit``, by default: the spec lists metrics), and is skipped with a log line when it
        is one of the task's defaults (a sampler has no likelihood for ``nll``)."""
        import math

        if explicit is None:
            explicit = bool(self.spec.evaluate.metrics)
        out: dict[str, Any] = {}
        for name in names:
            m = self.metric(name)
            key = getattr(m, "input", "labels")
            if key not in predictions and not explicit:
                self.log(f"metric {name} skipped: the model gives no {key!r} predictions (it gives: {', '.join(predictions)})")
                continue
            if key not in predictions:
                raise GeoatlasError(
                    f"metric {name!r} needs {key!r} predictions, which this {self.task_name} model does not give "
                    f"(it gives: {', '.join(predictions)})"
                )
            truth = y_true.get(key) if isinstance(y_true, dict) else y_true
            v = float(m(truth, predictions[key]))
            out[name] = round(v, 6) if math.isfinite(v) else v
        return out
