"""Click-through ranking: a table of categorical fields ``(N, F)`` with binary click labels."""

from __future__ import annotations

from typing import Any

import numpy as np

from geoatlas.interfaces import DataBundle, Task, TaskOutput


def check_table(X: Any, what: str = "X") -> np.ndarray:
    """A click-through table as an int64 ``(N, F)`` array of non-negative ids."""
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"ranking task: {what} must be a non-empty (N, F) table of categorical ids, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind == "f" and np.isfinite(arr).all() and np.array_equal(arr, np.round(arr)):
            arr = arr.astype(np.int64)
        else:
            raise ValueError(f"ranking task: {what} must hold integer category ids, got dtype {arr.dtype}")
    if arr.min() < 0:
        raise ValueError(f"ranking task: {what} holds negative category ids (min {arr.min()}); ids start at 0")
    return arr.astype(np.int64, copy=False)


def check_clicks(y: Any, n: int) -> np.ndarray:
    """Binary click labels as an int64 ``(N,)`` array."""
    arr = np.asarray(y)
    if arr.ndim != 1 or len(arr) != n:
        raise ValueError(f"ranking task: the click labels must be a ({n},) array, got shape {arr.shape}")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"ranking task: click labels must be 0 or 1, got values {np.unique(arr)[:5].tolist()}")
    if len(np.unique(arr)) < 2:
        raise ValueError("ranking task: the click labels hold one class only; ranking needs clicks and non-clicks")
    return arr.astype(np.int64)


def sigmoid(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.float64)
    out = np.empty_like(z)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    e = np.exp(z[~pos])
    out[~pos] = e / (1.0 + e)
    return out


class Ranking(Task):
    """Click-through-rate prediction on a table of categorical fields, evaluated as a ranking.

    The split is random and stratified by click (``data.split``). Encoder models take the
    ``(B, F)`` int64 table and return one click logit per row (``(B,)`` or ``(B, 1)``); they
    are trained with the model's ``loss:`` or binary cross-entropy on the 0/1 labels as they
    are. The task fills ``cardinalities`` (values per field, from ``bundle.meta`` or else the
    whole table's ``max + 1``, so test ids always fit the tables) and ``n_fields``.
    ``classifier:`` models (e.g. ``logistic_regression``) see the one-hot encoding of the
    fields (scikit-learn ``OneHotEncoder`` fitted on the train part, unseen values ignored);
    their scores are ``predict_proba`` (or the sigmoid of ``decision_function`` for those
    without probabilities, e.g. ``ridge``).

    Predictions are ``{"scores": click probabilities, "labels": scores > 0.5}``; the default
    metrics are ``roc_auc`` and ``logloss``.
    """

    data_types = ("table",)
    dataset_tasks = ("ranking",)
    default_metrics = ("roc_auc", "logloss")
    default_loss = "bce"
    model_kinds = ("encoder", "classifier")
    inferred = ("cardinalities", "n_fields")

    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        from sklearn.model_selection import train_test_split

        X = check_table(bundle.X)
        y = check_clicks(bundle.y, len(X))
        test = float(getattr(split, "test", split))
        stratify = bool(getattr(split, "stratify", True)) and np.bincount(y, minlength=2).min() >= 2
        idx_tr, idx_te = train_test_split(np.arange(len(X)), test_size=test, random_state=seed, stratify=y if stratify else None)
        return {"X_train": X[idx_tr], "X_test": X[idx_te], "y_train": y[idx_tr], "y_test": y[idx_te],
                "n_train": len(idx_tr), "n_test": len(idx_te), "index_train": idx_tr, "index_test": idx_te}

    def inferred_params(self, data: dict[str, Any], bundle: DataBundle) -> dict[str, Any]:
        return {"cardinalities": cardinalities(bundle), "n_fields": int(np.asarray(bundle.X).shape[1])}

    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        ytr = np.asarray(data["y_train"])
        if model.encoder is None:
            est, onehot = fit_onehot_classifier(model.classifier, model.params, ctx.seed, data["X_train"], ytr, ctx.bundle)

            def predict_est(X: Any) -> dict[str, Any]:
                F = onehot.transform(check_table(X))
                if hasattr(est, "predict_proba"):
                    scores = est.predict_proba(F)[:, list(est.classes_).index(1)]
                else:
                    scores = sigmoid(est.decision_function(F))
                scores = np.asarray(scores, dtype=np.float64)
                return {"scores": scores, "labels": (scores > 0.5).astype(np.int64)}

            return TaskOutput(est, predict_est, data["y_test"])
        enc = ctx.build_encoder(model, data)
        loss = ctx.make_loss(model.loss, self.default_loss)
        trainer = ctx.train(label, enc, data["X_train"], ytr.astype(np.float32), data_type=data["data_type"], targets="raw",
                            loss=loss, train=ctx.train_spec(model))

        def predict(X: Any) -> dict[str, Any]:
            out = trainer.outputs(X)
            if out.shape[1] != 1:
                raise ValueError(f"ranking task: {model.encoder} must return one click logit per row, got {out.shape[1]} values")
            scores = sigmoid(out[:, 0])
            return {"scores": scores, "labels": (scores > 0.5).astype(np.int64)}

        return TaskOutput(enc, predict, data["y_test"], trainer.history)


def cardinalities(bundle: DataBundle) -> list[int]:
    """Values per field: ``bundle.meta["cardinalities"]`` if given, else the table's ``max + 1``."""
    X = check_table(bundle.X)
    seen = (X.max(0) + 1).astype(int).tolist()
    given = bundle.meta.get("cardinalities")
    if given is None:
        return seen
    given = [int(c) for c in given]
    if len(given) != X.shape[1] or any(g < s for g, s in zip(given, seen, strict=True)):
        raise ValueError(f"ranking task: meta['cardinalities'] {given} does not cover the table (needs at least {seen})")
    return given


def fit_onehot_classifier(name: str, params: dict[str, Any], seed: int, X: Any, y: np.ndarray, bundle: DataBundle) -> tuple[Any, Any]:
    """A scikit-learn classifier (the pipeline's defaults: seed, ``max_iter``) fitted on the
    sparse one-hot encoding of the fields; returns ``(estimator, encoder)``."""
    from sklearn.preprocessing import OneHotEncoder

    from geoatlas.pipeline.models import make_classifier

    cards = cardinalities(bundle)
    onehot = OneHotEncoder(categories=[np.arange(c) for c in cards], handle_unknown="ignore", dtype=np.float64)
    F = onehot.fit_transform(check_table(X))
    est = make_classifier(name, params, seed, "classification")[-1]  # the estimator without the scaler
    est.fit(F, y)
    return est, onehot
