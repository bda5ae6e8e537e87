"""The component kinds: Manifold, Group, Encoder, Descriptor, Dataset, Loss, Measure, Metric, Task.

Importing this module imports torch and geoopt; ``import geoatlas`` does not.
"""

from __future__ import annotations

import abc
import functools
from dataclasses import dataclass, field
from typing import Any, ClassVar

import geoopt
import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

DATA_TYPES: tuple[str, ...] = (
    "vector",  # (N, D) array
    "image",  # (N, C, H, W) array
    "point_cloud",  # (N, P, d) array, or a list of (P_i, d) arrays
    "graph",  # list of torch_geometric.data.Data (graph-level targets)
    "graph_nodes",  # one torch_geometric.data.Data with node targets (transductive)
    "sequence",  # (N, T, C) array (multichannel signals, trajectories)
    "spd",  # (N, n, n) symmetric positive-definite matrices
    "features",  # (N, D) features produced by a descriptor step
    "series",  # one multichannel time series, (T, C) array (forecasting windows are cut from it)
    "table",  # (N, F) integer array of categorical fields (click-through data)
    "triples",  # (N, 3) integer array of (head, relation, tail) facts of a knowledge graph
)


# ---------------------------------------------------------------------------- Manifold
class Manifold(geoopt.Manifold):
    """A Riemannian manifold: a ``geoopt.Manifold`` with geoatlas metadata and validation.

    Subclass it together with a geoopt manifold (``class Ball(Manifold, geoopt.PoincareBall)``)
    or implement geoopt's abstract methods. ``geoopt.ManifoldParameter`` and
    ``geoopt.optim.RiemannianAdam/SGD`` then work unchanged.
    """

    #: registered name of the manifold
    name: ClassVar[str] = "manifold"
    #: public operations checked at the boundary (see ``geoatlas.validation``): for each, the
    #: positions of its *point* arguments; every tensor argument must also be finite
    _ga_checked_ops: ClassVar[dict[str, tuple[int, ...]]] = {
        "dist": (0, 1), "dist2": (0, 1), "logmap": (0, 1), "expmap": (0,), "logmap0": (0,), "expmap0": (),
    }

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for op, points in cls._ga_checked_ops.items():
            fn = getattr(cls, op, None)
            if fn is None or getattr(fn, "_ga_checked", False):
                continue  # absent, or inherited already checked
            setattr(cls, op, _checked_manifold_op(fn, op, points))

    def _ga_check_domain(self, x: torch.Tensor, what: str, dim: int = -1) -> bool:
        """Raise ``ValueError`` if the points ``x`` (their coordinates along ``dim``, for
        operations that take a ``dim=`` keyword) lie outside the manifold's domain. Return
        ``True`` when the check also proved them finite (then the finiteness pass is skipped).
        The default accepts any point; manifolds with a bounded domain override it."""
        return False

    @property
    def dimension(self) -> int | None:
        """Intrinsic dimension when it is known from the constructor, else ``None``."""
        return getattr(self, "_ga_dimension", None)

    @property
    def curvature(self) -> float | None:
        """Sectional curvature where it is constant, else ``None``."""
        return None

    def check_point(self, x: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5, what: str = "x") -> torch.Tensor:
        """Validate points: finite, and on the manifold. Raises ``ValueError`` otherwise."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{what} must be a torch.Tensor, got {type(x).__name__}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{what} contains NaN or Inf values ({self.name})")
        ok, reason = self._check_point_on_manifold(x, atol=atol, rtol=rtol)
        if not ok:
            raise ValueError(f"{what} is not on the {self.name} manifold: {reason}")
        return x

    def check_vector(self, x: torch.Tensor, u: torch.Tensor, *, atol: float = 1e-5, rtol: float = 1e-5, what: str = "u") -> torch.Tensor:
        """Validate tangent vectors at ``x``. Raises ``ValueError`` otherwise."""
        if not torch.isfinite(u).all():
            raise ValueError(f"{what} contains NaN or Inf values ({self.name})")
        ok, reason = self._check_vector_on_tangent(x, u, atol=atol, rtol=rtol)
        if not ok:
            raise ValueError(f"{what} is not a tangent vector of {self.name} at x: {reason}")
        return u


# ---------------------------------------------------------------------------- Group
class Group(abc.ABC):
    """A (Lie) group acting on data.

    Elements are tensors with a leading batch shape (matrix groups use ``(..., n, n)``).
    ``act(g, x, data_type)`` applies ``g`` to data of one of the types in ``acts_on``;
    ``g`` is one element (applied to every sample) or a batch aligned with ``x``'s batch.
    """

    name: ClassVar[str] = "group"
    #: whether the group is compact (then ``sample`` draws from the Haar measure)
    compact: ClassVar[bool] = False
    #: data types this group can act on (see ``DATA_TYPES``)
    acts_on: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("sample")
        if fn is not None and not getattr(fn, "_ga_checked", False):
            cls.sample = _checked_sample(fn)  # type: ignore[method-assign]

    @property
    @abc.abstractmethod
    def dim(self) -> int:
        """Dimension of the group as a manifold."""

    @abc.abstractmethod
    def identity(self, n: int | None = None, *, dtype: torch.dtype | None = None, device: Any = None) -> torch.Tensor:
        """The identity element (a batch of ``n`` copies if ``n`` is given)."""

    @abc.abstractmethod
    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The product ``g h`` (apply ``h`` first)."""

    @abc.abstractmethod
    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        """The inverse element."""

    @abc.abstractmethod
    def sample(self, n: int, generator: torch.Generator | None = None, *, dtype: torch.dtype | None = None) -> torch.Tensor:
        """``n`` random elements (Haar-distributed for compact groups)."""

    @abc.abstractmethod
    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        """Apply ``g`` to ``x`` of a supported ``data_type`` (already validated)."""

    def act(self, g: torch.Tensor, x: Any, data_type: str = "point_cloud") -> Any:
        """Apply ``g`` to ``x``. Raises ``TypeError`` for a data type the group cannot act on."""
        if data_type not in self.acts_on:
            raise TypeError(
                f"group {self.name!r} does not act on {data_type!r} data; it acts on: "
                f"{', '.join(self.acts_on) or '(nothing)'}"
            )
        if isinstance(x, torch.Tensor) and not torch.isfinite(x).all():
            raise ValueError(f"cannot act with {self.name!r} on data containing NaN/Inf")
        return self._act(g, x, data_type)

    def distance(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """A distance between elements used by the test kit (default: Frobenius norm)."""
        d = (g - h).reshape(*g.shape[: g.dim() - self._element_ndim()], -1)
        return d.abs().amax(dim=-1) if d.dtype == torch.long else d.norm(dim=-1)

    def _element_ndim(self) -> int:
        """Number of trailing dimensions of one element (2 for matrix groups)."""
        return 2

    def exp(self, xi: torch.Tensor) -> torch.Tensor:
        """Exponential map from the Lie algebra (optional)."""
        raise NotImplementedError(f"group {self.name!r} has no exp")

    def log(self, g: torch.Tensor) -> torch.Tensor:
        """Logarithm map to the Lie algebra (optional)."""
        raise NotImplementedError(f"group {self.name!r} has no log")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MatrixGroup(Group):
    """A group of invertible ``k x k`` matrices (``k = matrix_size``) under matrix multiplication.

    Provides ``identity`` and ``compose``; ``inverse`` defaults to ``torch.linalg.inv`` (override
    it with a closed form where one exists, e.g. the transpose for orthogonal groups).
    """

    @property
    @abc.abstractmethod
    def matrix_size(self) -> int:
        """Size ``k`` of the matrices representing the elements."""

    def identity(self, n: int | None = None, *, dtype: torch.dtype | None = None, device: Any = None) -> torch.Tensor:
        eye = torch.eye(self.matrix_size, dtype=dtype or torch.get_default_dtype(), device=device)
        return eye if n is None else eye.expand(n, -1, -1).clone()

    def compose(self, g: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return g @ h

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        return torch.linalg.inv(g)


# ---------------------------------------------------------------------------- Encoder
class Encoder(torch.nn.Module):
    """A trainable map from data to representations (a ``torch.nn.Module``).

    Class attributes declare what it consumes and produces so pipelines and the test kit can
    check wiring and symmetry.
    """

    #: input data type (one of ``DATA_TYPES``)
    input_type: ClassVar[str] = "vector"
    #: output space: ``"euclidean"`` or the name of a registered manifold
    output_space: ClassVar[str] = "euclidean"
    #: names of registered groups the encoder is equivariant / invariant to
    equivariant_to: ClassVar[tuple[str, ...]] = ()
    invariant_to: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fn = cls.__dict__.get("forward")
        if fn is not None and not getattr(fn, "_ga_checked", False):
            cls.forward = _checked_forward(fn)  # type: ignore[method-assign]
        _check_init_params(cls)

    def riemannian_parameters(self) -> list[torch.nn.Parameter]:
        """Parameters that live on a manifold (``geoopt.ManifoldParameter``)."""
        return [p for p in self.parameters() if isinstance(p, geoopt.ManifoldParameter)]


# ---------------------------------------------------------------------------- Descriptor
class Descriptor(BaseEstimator, TransformerMixin):
    """A feature map computed from samples, with scikit-learn transformer conventions.

    ``fit(X, y=None)`` returns ``self``; ``transform(X)`` returns an ``(n_samples, n_features)``
    array (or a torch tensor when ``differentiable`` and the input is a tensor). Constructor
    arguments are stored unchanged as attributes of the same name (so ``get_params`` and
    ``sklearn.base.clone`` work). ``per_sample`` descriptors transform each sample
    independently, which lets executors run them in parallel over samples.
    """

    input_type: ClassVar[str] = "point_cloud"
    differentiable: ClassVar[bool] = False
    per_sample: ClassVar[bool] = True

    def fit(self, X: Any, y: Any = None) -> Descriptor:
        return self

    @abc.abstractmethod
    def transform(self, X: Any) -> Any:
        """Features of the samples ``X``."""


# ---------------------------------------------------------------------------- Dataset
@dataclass
class DataBundle:
    """What a Dataset loads: samples ``X``, targets ``y`` and what they are."""

    X: Any
    y: Any
    data_type: str
    task: str = "classification"  # or "regression"
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        if self.data_type == "graph_nodes":
            return int(self.X.num_nodes)
        return len(self.X)


class Dataset(abc.ABC):
    """A pipeline source: data that ships in a package, is generated, or sits at a local path.

    Nothing downloads at run time.
    """

    data_type: ClassVar[str] = "vector"
    task: ClassVar[str] = "classification"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_init_params(cls)

    @abc.abstractmethod
    def load(self) -> DataBundle:
        """Return the data."""


# ---------------------------------------------------------------------------- Loss
class Loss(torch.nn.Module):
    """A training objective: ``loss(outputs, batch) -> scalar tensor``.

    ``outputs`` is what the model returned for ``batch["x"]`` (a tensor, or a tuple/dict for
    models with several heads). ``batch`` is a dict with at least ``"x"`` (the model input) and,
    where the task has them, ``"y"`` (targets), ``"index"`` (sample indices in the training set),
    ``"views"`` (augmented views, representation learning), ``"epoch"``. A loss's state (memory
    banks, queues, dual variables, running priors) lives in buffers or parameters, so it is
    checkpointed with the model and restored on ``--resume``; its parameters are optimised with
    the model's.
    """

    #: keys of ``batch`` the loss reads (checked before training)
    requires: ClassVar[tuple[str, ...]] = ("y",)
    #: a mean over the batch: the value does not depend on the batch size for i.i.d. copies
    batch_size_independent: ClassVar[bool] = True

    def forward(self, outputs: Any, batch: dict[str, Any]) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def on_epoch_end(self, epoch: int) -> None:
        """Called after each training epoch (update priors, schedules, dual variables)."""

    def bind(self, model: torch.nn.Module) -> None:
        """Called once before training (and before the optimiser is built) with the model being
        trained, e.g. to keep a momentum (EMA) copy of the whole encoder, as MoCo, BYOL or a
        teacher-student loss do. Keep such a copy as a submodule whose parameters have
        ``requires_grad=False``: it is then checkpointed with the loss and not optimised. On
        ``--resume`` ``bind`` runs again and the checkpoint then restores the copy. To keep only a
        reference to the model, store it with ``self.__dict__["model"] = model``: an attribute
        assignment would make it a submodule of the loss (saved in the loss's checkpoint too).
        Default: nothing."""


# ---------------------------------------------------------------------------- Measure
class Measure(abc.ABC):
    """A diagnostic that returns numbers, not features: ``measure(model=None, data=None) -> dict``.

    ``data`` is a dict with ``"X"`` (samples or features) and, where known, ``"y"``; a measure
    that needs a trained model sets ``needs_model = True`` and receives it. Values are floats or
    lists/arrays of floats (they are written to ``metrics.json``).
    """

    needs_model: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _check_init_params(cls)  # annotated constraints checked at construction, as for encoders

    @abc.abstractmethod
    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        """The measured numbers."""


# ---------------------------------------------------------------------------- Metric
class Metric(abc.ABC):
    """An evaluation metric: ``metric(y_true, y_pred) -> float``.

    ``tasks`` names the tasks it applies to (``("*",)`` for any); ``higher_is_better`` its
    direction; ``input`` which prediction it takes from a task's predictions: ``"labels"``
    (class ids, values, cluster ids), ``"scores"`` (class probabilities, click probabilities,
    link scores), ``"ranks"`` (rank of the true item among candidates) or ``"samples"`` (generated
    samples, compared with held-out ones).
    """

    tasks: ClassVar[tuple[str, ...]] = ("*",)
    higher_is_better: ClassVar[bool] = True
    input: ClassVar[str] = "labels"

    @abc.abstractmethod
    def __call__(self, y_true: Any, y_pred: Any) -> float:
        """The metric value."""

    @classmethod
    def applies_to(cls, task: str) -> bool:
        return "*" in cls.tasks or task in cls.tasks


# ---------------------------------------------------------------------------- Task
@dataclass
class TaskOutput:
    """What a task returns for one model: the fitted model, a prediction function that maps
    samples to ``{input_kind: array}`` (keys as in :attr:`Metric.input`), the true values of
    the test samples, and the training history."""

    model: Any
    predict: Any  # Callable[[Any], dict[str, Any]]
    y_true: Any
    history: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


class Task(abc.ABC):
    """What a pipeline does with data and models: how it splits, trains, predicts, evaluates.

    The runner loads the data, applies the feature steps, keeps the run directory, checkpoints
    and hooks; a task decides everything specific to its problem through a ``TaskContext``
    (``geoatlas.pipeline.context``), which offers the shared services (the training loop with
    checkpoints and resume, scikit-learn estimators, parameter inference, logging).
    """

    #: data types this task accepts (``("*",)`` for any)
    data_types: ClassVar[tuple[str, ...]] = ("*",)
    #: dataset task labels it accepts without an explicit ``task:`` (``("*",)`` for any)
    dataset_tasks: ClassVar[tuple[str, ...]] = ("*",)
    #: metrics evaluated when a spec names none
    default_metrics: ClassVar[tuple[str, ...]] = ()
    #: loss used for encoders that name none (a registered loss name), or None
    default_loss: ClassVar[str | None] = None
    #: whether labels may be used in training (clustering and pre-training: no)
    uses_labels: ClassVar[bool] = True
    #: kinds of ``model`` entries it takes: "encoder", "classifier", "clusterer"
    model_kinds: ClassVar[tuple[str, ...]] = ("encoder",)
    #: whether a ``pretrain:`` section is "never" allowed, "optional" or "required"
    pretrain: ClassVar[str] = "never"
    #: encoder parameters that ``inferred_params`` fills in (the validator does not ask for them)
    inferred: ClassVar[tuple[str, ...]] = ()
    #: whether ``evaluate.perturbations`` (test samples moved by a group) apply
    perturbable: ClassVar[bool] = False

    @classmethod
    def incompatibility(cls, data_type: str, dataset_task: str | None) -> str | None:
        """Why this task cannot run on such data, or ``None``."""
        if "*" not in cls.data_types and data_type not in cls.data_types:
            return f"it takes {', '.join(cls.data_types)} data, not {data_type!r}"
        if dataset_task is not None and "*" not in cls.dataset_tasks and dataset_task not in cls.dataset_tasks:
            return f"it needs a {' or '.join(cls.dataset_tasks)} dataset, not a {dataset_task} dataset"
        return None

    @abc.abstractmethod
    def split(self, bundle: DataBundle, split: Any, seed: int) -> dict[str, Any]:
        """Train/test data: a dict with ``X_train``, ``X_test``, ``y_train``, ``y_test``,
        ``n_train``, ``n_test`` (and anything task-specific)."""

    @abc.abstractmethod
    def fit(self, ctx: Any, label: str, model: Any, data: dict[str, Any]) -> TaskOutput:
        """Train (or fit) one model of the spec and return its :class:`TaskOutput`."""

    def inferred_params(self, data: dict[str, Any], bundle: DataBundle) -> dict[str, Any]:
        """Constructor parameters this task can fill in from the data (beyond the runner's
        ``in_features``/``in_channels``/``num_classes``/``out_features``)."""
        return {}


# ---------------------------------------------------------------------------- boundary checks
def _checked_manifold_op(fn: Any, op: str, points: tuple[int, ...]) -> Any:
    from .validation import all_finite, enabled

    @functools.wraps(fn)
    def wrapper(self: Manifold, *args: Any, **kwargs: Any) -> Any:
        if enabled():
            for i, a in enumerate(args):
                if isinstance(a, torch.Tensor):
                    what = f"{self.name}.{op} argument {i + 1}"
                    if not (a.is_floating_point() or a.is_complex()):
                        raise TypeError(f"{what} must be a floating-point tensor, got dtype {a.dtype}")
                    if i in points and self._ga_check_domain(a, what, **({"dim": kwargs["dim"]} if "dim" in kwargs else {})):
                        continue  # the domain check proved the points finite as well
                    if not all_finite(a):
                        raise ValueError(f"{what} contains NaN or Inf values")
            for k, a in kwargs.items():
                if isinstance(a, torch.Tensor) and not all_finite(a):
                    raise ValueError(f"{self.name}.{op} argument {k!r} contains NaN or Inf values")
        return fn(self, *args, **kwargs)

    wrapper._ga_checked = True  # type: ignore[attr-defined]
    return wrapper


def _check_init_params(cls: type) -> None:
    """Wrap ``cls.__init__`` so its annotated constraints (``geoatlas.validation.Size`` ...) and
    ``validate_params`` are checked at construction, as ``geoatlas validate`` checks them."""
    import inspect

    fn = cls.__dict__.get("__init__")
    if fn is None or getattr(fn, "_ga_checked", False):
        return
    sig = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        from .validation import check_params

        try:
            bound = sig.bind(self, *args, **kwargs)
        except TypeError:
            return fn(self, *args, **kwargs)  # let Python report the wrong call
        given = {k: v for k, v in list(bound.arguments.items())[1:] if sig.parameters[k].kind not in (
            inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)}
        # name the class the user created when it inherits this very __init__ (same annotations)
        check_params(type(self) if type(self).__init__ is wrapper else cls, **given)
        return fn(self, *args, **kwargs)

    wrapper._ga_checked = True  # type: ignore[attr-defined]
    cls.__init__ = wrapper  # type: ignore[misc]


def _checked_sample(fn: Any) -> Any:
    from .validation import check_sample_size

    @functools.wraps(fn)
    def wrapper(self: Group, n: Any, *args: Any, **kwargs: Any) -> Any:
        return fn(self, check_sample_size(n, f"{self.name}.sample: n"), *args, **kwargs)

    wrapper._ga_checked = True  # type: ignore[attr-defined]
    return wrapper


def _checked_forward(fn: Any) -> Any:
    from .validation import check_encoder_input, enabled

    @functools.wraps(fn)
    def wrapper(self: Encoder, *args: Any, **kwargs: Any) -> Any:
        if args and enabled():
            check_encoder_input(self, args[0])
        return fn(self, *args, **kwargs)

    wrapper._ga_checked = True  # type: ignore[attr-defined]
    return wrapper


def check_finite_array(x: Any, what: str = "X") -> None:
    """Raise ``ValueError`` if an array/tensor holds NaN or Inf."""
    if isinstance(x, torch.Tensor):
        from .validation import all_finite

        bad = not all_finite(x)
    else:
        arr = np.asarray(x)
        bad = arr.dtype.kind in "fc" and not np.isfinite(arr).all()
    if bad:
        raise ValueError(f"{what} contains NaN or Inf values")


__all__ = [
    "DATA_TYPES",
    "DataBundle",
    "Dataset",
    "Descriptor",
    "Encoder",
    "Group",
    "Loss",
    "Manifold",
    "MatrixGroup",
    "Measure",
    "Metric",
    "Task",
    "TaskOutput",
    "check_finite_array",
]
