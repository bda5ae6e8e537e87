"""Conformance checks for the kinds added in core v2: losses, metrics, measures, tasks."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from .checks import _fail


def check_loss(
    loss: Any,
    outputs: Any,
    batch: dict[str, Any],
    *,
    make_batch: Callable[[int], tuple[Any, dict[str, Any]]] | None = None,
    atol: float = 1e-6,
) -> dict[str, Any]:
    """Check a :class:`~geoatlas.interfaces.Loss` on one example.

    - the value is a finite scalar tensor, and it has gradients with respect to ``outputs``
      (every floating tensor in ``outputs`` that requires grad gets a finite gradient);
    - calling it twice on the same input in eval mode gives the same value where it has no state
      update (losses with queues may differ: their state round-trip is checked instead);
    - its state (buffers and parameters) round-trips through ``state_dict`` into a fresh copy,
      and the copy gives the same value;
    - when ``batch_size_independent`` and ``make_batch(n)`` is given, the value on a batch made
      of two copies of a batch equals the value on one (a mean, not a sum).
    """
    report: dict[str, Any] = {}
    for k in getattr(loss, "requires", ()):
        if k not in batch:
            _fail(f"the loss requires batch[{k!r}] but the example batch has only {sorted(batch)}", report)
    fresh = copy.deepcopy(loss)
    value = loss(outputs, batch)
    if not isinstance(value, torch.Tensor) or value.dim() != 0:
        _fail(f"a loss must return a scalar tensor, got {type(value).__name__} of shape {getattr(value, 'shape', None)}", report)
    report["value"] = float(value.detach())
    if not math.isfinite(report["value"]):
        _fail("the loss is not finite", report)
    leaves = [t for t in _tensors(outputs) if t.requires_grad]
    if not leaves:
        _fail("no tensor in `outputs` requires grad; give outputs with requires_grad=True", report)
    grads = torch.autograd.grad(value, leaves, allow_unused=True)
    report["grad_finite"] = all(g is None or bool(torch.isfinite(g).all()) for g in grads)
    report["grad_nonzero"] = any(g is not None and bool((g != 0).any()) for g in grads)
    if not report["grad_finite"] or not report["grad_nonzero"]:
        _fail("the loss has no finite, non-zero gradient with respect to the outputs", report)
    state = loss.state_dict()
    fresh.load_state_dict(state)
    again = fresh.state_dict()
    report["state_keys"] = sorted(state)
    for k, v in state.items():
        if not torch.equal(v, again[k]):
            _fail(f"state {k!r} does not round-trip through state_dict", report)
    if make_batch is not None and getattr(loss, "batch_size_independent", True):
        o1, b1 = make_batch(1)
        o2, b2 = make_batch(2)
        v1, v2 = float(copy.deepcopy(fresh)(o1, b1)), float(copy.deepcopy(fresh)(o2, b2))
        report["batch_size_gap"] = abs(v1 - v2)
        if abs(v1 - v2) > atol * max(1.0, abs(v1)):
            _fail("the loss depends on the batch size (declare batch_size_independent = False if it should)", report)
    return report


def _tensors(x: Any) -> list[torch.Tensor]:
    if isinstance(x, torch.Tensor):
        return [x]
    if isinstance(x, dict):
        return [t for v in x.values() for t in _tensors(v)]
    if isinstance(x, (list, tuple)):
        return [t for v in x for t in _tensors(v)]
    return []


def check_metric(metric: Any, y_true: Any, y_pred: Any, *, reference: Callable[[Any, Any], float] | None = None,
                 worse: Any = None, atol: float = 1e-12) -> dict[str, Any]:
    """Check a :class:`~geoatlas.interfaces.Metric`: a finite float; equal to ``reference``
    (an independent implementation, e.g. scikit-learn's) to ``atol``; ``worse`` predictions
    score worse in the metric's declared direction; mismatched lengths raise ``ValueError``."""
    report: dict[str, Any] = {"value": float(metric(y_true, y_pred))}
    if not math.isfinite(report["value"]):
        _fail("the metric is not finite", report)
    if reference is not None:
        report["reference"] = float(reference(y_true, y_pred))
        report["error"] = abs(report["value"] - report["reference"])
        if report["error"] > atol:
            _fail("the metric differs from the reference", report)
    if worse is not None:
        report["worse"] = float(metric(y_true, worse))
        better = report["value"] > report["worse"] if metric.higher_is_better else report["value"] < report["worse"]
        if not better:
            _fail("worse predictions do not score worse in the declared direction", report)
    if getattr(metric, "input", "labels") == "samples":
        return report  # held-out and generated samples may differ in number
    try:
        metric(y_true, y_pred[: max(1, len(y_pred) // 2)])
    except ValueError:
        report["length_check"] = True
    else:
        _fail("mismatched lengths of y_true and y_pred must raise ValueError", report)
    return report


def check_measure(measure: Any, *, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    """Check a :class:`~geoatlas.interfaces.Measure`: it returns a non-empty dict of finite
    numbers (or lists/arrays of them), and the same inputs give the same numbers."""
    a = measure(model=model, data=data)
    b = measure(model=model, data=data)
    if not isinstance(a, dict) or not a:
        _fail("a measure must return a non-empty dict", {"got": type(a).__name__})
    for k, v in a.items():
        arr = np.asarray(v, dtype=np.float64)
        if not np.isfinite(arr).all():
            _fail(f"value {k!r} is not finite", {k: v})
        if not np.allclose(arr, np.asarray(b[k], dtype=np.float64), rtol=0, atol=0):
            _fail(f"value {k!r} differs between two identical calls (seed the measure)", {k: (v, b[k])})
    return {"keys": sorted(a)}


def check_task(task: Any, bundle: Any, split: Any, seed: int = 0) -> dict[str, Any]:
    """Check a :class:`~geoatlas.interfaces.Task`'s split: the required keys, sizes that add up,
    no sample in both parts where samples are rows, and the same split for the same seed."""
    a = task.split(copy.deepcopy(bundle), split, seed)
    b = task.split(copy.deepcopy(bundle), split, seed)
    for k in ("X_train", "X_test", "n_train", "n_test"):
        if k not in a:
            _fail(f"split() must return {k!r}", {"keys": sorted(a)})
    if a["n_train"] <= 0 or a["n_test"] <= 0:
        _fail("both parts of the split must be non-empty", {"n_train": a["n_train"], "n_test": a["n_test"]})
    for k in ("X_train", "X_test", "y_train", "y_test"):
        if k in a and isinstance(a[k], np.ndarray) and not np.array_equal(a[k], b[k]):
            _fail(f"split() is not deterministic for a fixed seed ({k})", {})
    if "index_train" in a and "index_test" in a:
        if set(np.asarray(a["index_train"]).tolist()) & set(np.asarray(a["index_test"]).tolist()):
            _fail("a sample is in both train and test", {})
    return {"n_train": a["n_train"], "n_test": a["n_test"]}
