"""Where geoatlas checks its inputs, and the switch that turns the checks off.

The core checks at four component boundaries, so every plugin gets the same behaviour:

* ``Manifold`` public operations (``dist``, ``dist2``, ``expmap``, ``logmap``, ``expmap0``,
  ``logmap0``): every tensor argument is finite, and every *point* argument lies in the
  manifold's domain (``Manifold._ga_check_domain``; e.g. inside the Poincaré ball).
* ``Encoder.forward`` inputs: a tensor input has a non-empty batch, a floating dtype where the
  encoder's ``input_type`` is real-valued data, and no NaN/Inf.
* ``Dataset`` and every other component's constructor parameters: annotated constraints
  (``PositiveInt``, ``Size``, ``Probability`` ...) checked by :func:`check_params` at
  construction *and* by ``geoatlas validate`` before anything runs, plus an optional
  ``validate_params(params) -> list[str]`` classmethod for rules that involve several
  parameters. Both report the parameter's name.
* ``Group.sample``: ``n`` is a non-negative integer of sane size.

Data checks (the first three bullets' tensor checks) cost a pass over the data; turn them off
in a hot loop once the data is trusted::

    with geoatlas.validation.checks(False):
        ...                                  # or GEOATLAS_CHECKS=0 in the environment

Parameter checks are never turned off (they run once per construction).
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import typing
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field

#: largest size (features, channels, hidden width, samples) a parameter may ask for
MAX_SIZE = 2**24
#: largest number of parameters (weights) one layer stack may allocate
MAX_WEIGHTS = 2**31

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]
#: a count of features, channels, units or samples: 1 .. MAX_SIZE
Size = Annotated[int, Field(gt=0, le=MAX_SIZE)]
PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
NonNegativeFloat = Annotated[float, Field(ge=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
#: a fraction in [0, 1) (dropout rates, outlier fractions)
Fraction = Annotated[float, Field(ge=0, lt=1)]
Dropout = Fraction
Probability = Annotated[float, Field(ge=0, le=1)]

_state = threading.local()


def enabled() -> bool:
    """Whether data checks are on (default on; ``GEOATLAS_CHECKS=0`` or :func:`checks` off)."""
    v = getattr(_state, "on", None)
    if v is None:
        return os.environ.get("GEOATLAS_CHECKS", "1").strip().lower() not in {"0", "false", "off", "no"}
    return bool(v)


def set_checks(on: bool) -> None:
    """Turn data checks on or off for this thread."""
    _state.on = bool(on)


@contextlib.contextmanager
def checks(on: bool) -> Iterator[None]:
    """Context manager: ``with checks(False): ...`` runs the body without data checks."""
    before = getattr(_state, "on", None)
    _state.on = bool(on)
    try:
        yield
    finally:
        _state.on = before


def short(value: Any, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters (error messages never echo huge values)."""
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001 - a broken __repr__ must not hide the real error
        r = f"<{type(value).__name__}>"
    return r if len(r) <= limit else r[: limit - 25] + f"... ({len(r)} characters)"


# ---------------------------------------------------------------------------- tensors
_REAL_INPUTS = frozenset({"vector", "image", "sequence", "spd", "features", "series"})


def all_finite(x: Any) -> bool:
    """Whether a tensor has no NaN/Inf. Fast path: a finite sum proves every element finite (NaN
    and Inf propagate through a sum); only a non-finite sum (or an overflow) pays the exact check."""
    import torch

    if not (x.is_floating_point() or x.is_complex()) or x.numel() == 0:
        return True
    if bool(torch.isfinite(x.detach().sum())):
        return True
    return bool(torch.isfinite(x).all())


def check_tensor(x: Any, what: str = "x", *, floating: bool = False, nonempty: bool = True, finite: bool = True) -> None:
    """Raise a clear error for an empty batch, a non-floating dtype or NaN/Inf (if checks are on)."""
    import torch

    if not isinstance(x, torch.Tensor) or not enabled():
        return
    if nonempty and x.dim() > 0 and x.shape[0] == 0:
        raise ValueError(f"{what} is an empty batch (shape {tuple(x.shape)}); it must be non-empty (at least one sample)")
    if floating and not (x.is_floating_point() or x.is_complex()):
        raise TypeError(f"{what} must be a floating-point tensor, got dtype {x.dtype}; convert it with .float()")
    if finite and not all_finite(x):
        raise ValueError(f"{what} contains NaN or Inf values")


_PLURAL = {"vector": "vectors", "image": "images", "point_cloud": "point clouds", "graph": "graphs", "sequence": "sequences",
           "spd": "SPD matrices", "features": "feature vectors", "series": "series", "table": "table rows", "triples": "triples"}


def check_encoder_input(encoder: Any, x: Any) -> None:
    """The ``Encoder.forward`` boundary check (see the module docstring)."""
    kind = getattr(encoder, "input_type", None)
    what = f"{type(encoder).__name__} input ({_PLURAL.get(kind, kind)})" if kind else f"{type(encoder).__name__} input"
    check_tensor(x, what, floating=kind in _REAL_INPUTS)


def check_sample_size(n: Any, what: str = "n") -> int:
    """``Group.sample``'s ``n``: a non-negative integer no larger than ``MAX_SIZE``."""
    import numbers

    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an integer, got {short(n)}")
    if not 0 <= int(n) <= MAX_SIZE:
        raise ValueError(f"{what} must be between 0 and {MAX_SIZE}, got {int(n)}")
    return int(n)


def check_weights(what: str, *shapes: Sequence[int]) -> None:
    """Refuse layer stacks whose weights would not fit (``in_features=10**12``) before allocating."""
    total = 0
    for s in shapes:
        k = 1
        for d in s:
            k *= int(d)
        total += k
    if total > MAX_WEIGHTS:
        raise ValueError(f"{what} would allocate {total:.3g} weights (over {MAX_WEIGHTS:.3g}); the sizes are absurd")


# ---------------------------------------------------------------------------- parameters
@functools.lru_cache(maxsize=1024)
def _hints(factory: Any) -> dict[str, Any]:
    import inspect

    target = factory.__init__ if inspect.isclass(factory) else factory
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001 - unresolvable annotations are simply not checked
        return {}


_ADAPTERS: dict[int, tuple[Any, Any]] = {}


def _adapter(ann: Any) -> Any:
    from pydantic import TypeAdapter

    hit = _ADAPTERS.get(id(ann))
    if hit is not None and hit[0] is ann:
        return hit[1]
    try:
        adapter = TypeAdapter(ann)
    except Exception:  # noqa: BLE001 - annotations pydantic cannot build a validator for
        adapter = None
    _ADAPTERS[id(ann)] = (ann, adapter)
    return adapter


def param_problems(factory: Any, params: dict[str, Any]) -> dict[str, str]:
    """``{parameter: problem}`` for ``params`` against ``factory``'s annotations (``Annotated``
    constraints included) and its ``validate_params`` classmethod. Light: nothing is built."""
    return {k: v for k, (v, _) in _problems(factory, params).items()}


def _problems(factory: Any, params: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    """``{parameter: (problem, is_a_type_error)}``."""
    from pydantic import ValidationError

    out: dict[str, tuple[str, bool]] = {}
    hints = _hints(factory)
    for key, value in params.items():
        ann = hints.get(key)
        if ann is None or ann is Any:
            continue
        adapter = _adapter(ann)
        if adapter is None:
            continue
        try:
            adapter.validate_python(value, strict=False)
        except ValidationError as exc:
            err = exc.errors()[0]
            at = "".join(f"[{p}]" for p in err["loc"] if isinstance(p, int))
            msg = str(err["msg"]).replace("Input should be", "should be", 1)
            is_type = err["type"].endswith(("_type", "_parsing")) or err["type"] in {"int_from_float", "bool_parsing"}
            out[key] = (f"{msg}{' (item ' + at + ')' if at else ''} (got {short(value)})", is_type)
    hook = getattr(factory, "validate_params", None)
    if callable(hook) and not out:
        for msg in hook(dict(params)) or ():
            key, _, text = msg.partition(": ")
            out[key if text else "(parameters)"] = (text or msg, False)
    return out


def check_params(factory: Any, **params: Any) -> None:
    """Raise ``ValueError`` naming the first bad parameter (call it at the top of ``__init__``)."""
    probs = _problems(factory, params)
    if probs:
        name = getattr(factory, "__name__", str(factory))
        text = "; ".join(f"{name}: parameter {k!r} {v}" for k, (v, _) in probs.items())
        raise (TypeError if all(t for _, t in probs.values()) else ValueError)(text)


__all__ = [
    "MAX_SIZE", "MAX_WEIGHTS", "Dropout", "all_finite", "FiniteFloat", "Fraction", "NonNegativeFloat", "NonNegativeInt", "PositiveFloat",
    "PositiveInt", "Probability", "Size", "check_encoder_input", "check_params", "check_sample_size", "check_tensor",
    "check_weights", "checks", "enabled", "param_problems", "set_checks", "short",
]


def check_cardinalities(cardinalities: Any, who: str = "encoder") -> list[int]:
    """The number of values of each categorical field, as a list of positive ints; a clear
    ``ValueError`` naming ``who`` otherwise (``None``: the ranking task fills it in from the data)."""
    if cardinalities is None:
        raise ValueError(f"{who}: cardinalities (the number of values of each field) is required; the ranking task "
                         "fills it in from the data, or give it under params")
    if isinstance(cardinalities, (int, np.integer)) or isinstance(cardinalities, (str, bytes)) or not len(cardinalities):
        raise ValueError(f"{who}: cardinalities must be a non-empty list of ints (one per field), got {short(cardinalities)}")
    out = []
    for c in cardinalities:
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 1:
            raise ValueError(f"{who}: cardinalities must be positive integers, got {short(cardinalities)}")
        out.append(int(c))
    return out


def check_id_table(x: Any, cardinalities: Sequence[int], who: str = "encoder") -> Any:
    """A ``(B, F)`` table of categorical ids as an int64 tensor, each field's ids in
    ``0..cardinalities[f]-1``; a ``ValueError`` naming ``who`` and the first bad field otherwise."""
    import torch

    if not isinstance(x, torch.Tensor):
        x = torch.as_tensor(np.asarray(x))
    n_fields = len(cardinalities)
    if x.dim() != 2 or x.shape[1] != n_fields:
        raise ValueError(f"{who} expects a (B, {n_fields}) table of field ids, got shape {tuple(x.shape)}")
    if x.is_floating_point() or x.is_complex() or x.dtype == torch.bool:
        raise ValueError(f"{who} expects integer field ids, got dtype {x.dtype}")
    x = x.long()
    if len(x) and enabled():
        card = torch.as_tensor(list(cardinalities), dtype=torch.long, device=x.device)
        bad_mask = (x < 0) | (x >= card)
        if bad_mask.any():
            bad = int(bad_mask.any(0).nonzero()[0, 0])
            raise ValueError(f"{who}: field {bad} has ids outside 0..{int(cardinalities[bad]) - 1} "
                             f"(got {int(x[:, bad].min())}..{int(x[:, bad].max())})")
    return x
