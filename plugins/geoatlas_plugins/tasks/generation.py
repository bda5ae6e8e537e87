"""Generation: density models and samplers, judged on held-out samples.

A model is an encoder that is a density model (``forward(x)`` returns the per-sample
log-likelihood ``log p(x)``, or it has a ``log_prob(x)`` method), a sampler (a
``sample(n, generator)`` method returning ``n`` samples), or both. Density models train by
maximum likelihood with the registered ``nll`` loss unless the spec gives the model its own
``loss:`` (a denoising or perturbation objective); a model with its own ``training_step`` and no
``loss:`` trains with that step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.errors import GeoatlasError
from geoatlas.interfaces import DataBundle, Task, TaskOutput
from geoatlas.utils import take

#: the prediction keys this task gives (``Metric.input``)
SAMPLES = "samples"
LOG_LIKELIHOOD = "log_likelihood"


def has_likelihood(model: Any) -> bool:
    """Whether ``model`` gives log-likelihoods: its ``has_likelihood`` attribute when it declares
    one, else whether it has a ``log_prob`` method."""
    declared = getattr(model, "has_likelihood", None)
    if declared is not None:
        return bool(declared)
    return callable(getattr(model, "log_prob", None))


def can_sample(model: Any) -> bool:
    """Whether ``model`` has a ``sample(n, generator)`` method."""
    return callable(getattr(model, "sample", None))


def _flat_samples(X: Any, what: str) -> np.ndarray:
    from geoatlas.pipeline.models import flatten_features

    try:
        return flatten_features(X)
    except GeoatlasError as exc:
        raise GeoatlasError(
            f"the generation task compares fixed-size samples; the {what} are ragged "
            "(give point clouds of one size, or add a descriptor step)"
        ) from exc


class Generation(Task):
    """Density estimation and sampling on a random held-out split (labels are ignored).

    Predictions: ``"samples"`` = ``model.sample(n_samples, generator)`` flattened to ``(n, d)``
    (a generator seeded with the spec's seed), and ``"log_likelihood"`` = ``log p(x)`` of each
    test sample, where the model gives them. ``y_true`` holds the flattened test samples under
    both keys. Default metrics (sliced Wasserstein, MMD, NLL) that a model cannot feed are
    skipped with a line in the run log; a metric the spec names explicitly that the model cannot
    feed is an error before training.

    Parameters
    ----------
    n_samples : int or None
        How many samples to draw for the sample metrics (default: the number of test samples).
    """

    data_types = ("vector", "image", "point_cloud", "features", "sequence", "spd")
    dataset_tasks = ("*",)
    default_metrics = ("sliced_wasserstein", "mmd", "nll")
    default_loss = "nll"
    uses_labels = False
    model_kinds = ("encoder",)
    pretrain = "never"

    def __init__(self, n_samples: int | None = None) -> None:
        if n_samples is not None:
            if isinstance(n_samples, bool) or not isinstance(n_samples, int):
                raise TypeError(f"n_samples must be an int or null, got {type(n_samples).__name__}")
            if n_samples < 1:
                raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        self.n_samples = n_samples

    # ------------------------------------------------------------------ split
    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        """A random split of the samples (``split.test`` held out; never stratified); targets
        are dropped (``y_train``/``y_test`` are None)."""
        from sklearn.model_selection import train_test_split

        n = len(bundle)
        if n < 2:
            raise GeoatlasError(f"the generation task needs at least 2 samples, the dataset has {n}")
        idx_tr, idx_te = train_test_split(np.arange(n), test_size=split.test, random_state=seed)
        return {"X_train": take(bundle.X, idx_tr), "X_test": take(bundle.X, idx_te), "y_train": None, "y_test": None,
                "n_train": len(idx_tr), "n_test": len(idx_te), "index_train": idx_tr, "index_test": idx_te}

    # ------------------------------------------------------------------ fit
    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        import torch

        dt = data["data_type"]
        enc = ctx.build_encoder(model, data)
        likelihood, sampler = has_likelihood(enc), can_sample(enc)
        name = model.encoder
        if not likelihood and not sampler:
            raise GeoatlasError(
                f"encoder {name!r} is neither a density model nor a sampler: the generation task needs "
                "forward(x) -> log p(x) (declare has_likelihood = True, or give it log_prob) and/or sample(n, generator)"
            )
        gives = ({LOG_LIKELIHOOD} if likelihood else set()) | ({SAMPLES} if sampler else set())
        explicit = list(ctx.spec.evaluate.metrics)
        for m in explicit:
            key = getattr(ctx.metric(m), "input", "labels")
            if key not in gives:
                what = "a log-likelihood (forward(x) -> log p(x) or log_prob)" if key == LOG_LIKELIHOOD else (
                    "a sample(n, generator) method" if key == SAMPLES else f"{key!r} predictions")
                raise GeoatlasError(
                    f"metric {m!r} needs {what}, which encoder {name!r} (model {label!r}) does not give; "
                    f"it gives: {', '.join(sorted(gives))}. Remove {m!r} from evaluate.metrics or use another model."
                )

        if model.loss is not None:
            loss = ctx.make_loss(model.loss)
        elif callable(getattr(enc, "training_step", None)):
            loss = None  # the model trains itself
        elif likelihood:
            loss = ctx.make_loss(None, self.default_loss)
        else:
            loss = None
            if ctx.train_spec(model).epochs > 0:
                raise GeoatlasError(
                    f"encoder {name!r} (model {label!r}) is a sampler without a likelihood: give it a `loss:` to "
                    "train with (it cannot use the default nll), or train.epochs: 0"
                )
        trainer = ctx.train(label, enc, data["X_train"], None, data_type=dt, targets=None, loss=loss,
                            train=ctx.train_spec(model))
        n_test = int(data["n_test"])
        n_draw = self.n_samples or n_test
        seed = int(ctx.seed)

        def predict(X: Any) -> dict[str, Any]:
            out: dict[str, Any] = {}
            flat = _flat_samples(X, "test samples")
            if sampler:
                gen = torch.Generator().manual_seed(seed)
                enc.eval()
                with torch.no_grad():
                    s = enc.sample(n_draw, gen)
                s = _flat_samples(s, "generated samples")
                if s.shape[0] != n_draw:
                    raise GeoatlasError(f"{name}.sample({n_draw}, generator) returned {s.shape[0]} samples")
                if s.shape[1] != flat.shape[1]:
                    raise GeoatlasError(
                        f"{name}.sample returned samples of {s.shape[1]} values each, the data have {flat.shape[1]}"
                    )
                if not np.isfinite(s).all():
                    raise GeoatlasError(f"{name}.sample returned NaN or Inf values")
                out[SAMPLES] = s
            if likelihood:
                out[LOG_LIKELIHOOD] = _log_likelihood(enc, trainer, X, dt, ctx, name)
            return out

        test_flat = _flat_samples(data["X_test"], "test samples")
        y_true = {SAMPLES: test_flat, LOG_LIKELIHOOD: test_flat}
        return TaskOutput(enc, predict, y_true, trainer.history)


def _log_likelihood(enc: Any, trainer: Any, X: Any, dt: str, ctx: Any, name: str) -> np.ndarray:
    """Per-sample ``log p(x)``: the model's ``log_prob`` if it has one, else its forward."""
    import torch

    if callable(getattr(enc, "log_prob", None)):
        enc.eval()
        parts = []
        with torch.no_grad():
            for i in range(0, len(X), 256):
                xb = ctx.to_batch(X, np.arange(i, min(len(X), i + 256)), dt)
                parts.append(torch.as_tensor(enc.log_prob(xb)).reshape(-1).double().cpu().numpy())
        ll = np.concatenate(parts)
    else:
        raw = trainer.outputs(X)
        if raw.shape[1] != 1:
            raise GeoatlasError(
                f"encoder {name!r} declares a likelihood but its forward returns {raw.shape[1]} values per sample, "
                "not one log p(x)"
            )
        ll = raw[:, 0]
    if ll.shape[0] != len(X):
        raise GeoatlasError(f"encoder {name!r} returned {ll.shape[0]} log-likelihoods for {len(X)} samples")
    if np.isnan(ll).any():
        raise GeoatlasError(f"encoder {name!r} returned NaN log-likelihoods")
    return ll
