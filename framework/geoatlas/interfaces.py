"""The four interfaces (Manifold, Group, Encoder, Descriptor) and the Dataset of pipelines.

Importing this module imports torch and geoopt; ``import geoatlas`` does not.
"""

from __future__ import annotations

import abc
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

    @abc.abstractmethod
    def load(self) -> DataBundle:
        """Return the data."""


def check_finite_array(x: Any, what: str = "X") -> None:
    """Raise ``ValueError`` if an array/tensor holds NaN or Inf."""
    if isinstance(x, torch.Tensor):
        bad = not bool(torch.isfinite(x).all())
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
    "Manifold",
    "MatrixGroup",
    "check_finite_array",
]
