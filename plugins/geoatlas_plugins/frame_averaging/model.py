"""The frame-averaging wrapper (Puny et al., ICLR 2022, Eqs. (3)-(4)) and the E(n) group."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import geoatlas as ga
from geoatlas.interfaces import Encoder, MatrixGroup

from .frames import ON_DEGENERATE, canonical_group, pca_frames

OUTPUTS = ("invariant", "equivariant")
OUTPUT_TYPES = ("point_cloud", "vector")


def _backbone_from_name(name: str, params: dict[str, Any], in_features: int, out_features: int) -> nn.Module:
    """Create a registered encoder, filling its input/output size parameters when it has them."""
    valid = ga.info(name)["params"]
    p = dict(params)
    if "in_features" in valid and "in_features" not in p:
        p["in_features"] = in_features
    for key in ("out_features", "num_classes"):
        if key in valid and key not in p:
            p[key] = out_features
            break
    return ga.create("encoder", name, **p)


class FrameAveraging(Encoder):
    r"""Make any backbone invariant or equivariant by averaging over the PCA frame.

    .. math::
        \langle\Phi\rangle_F(X) = \frac{1}{|F(X)|}\sum_{g\in F(X)} g\cdot\Phi(g^{-1}\cdot X)

    (invariant: drop the outer ``g``). ``g = (R, t)`` acts on points by ``x -> R x + t``, so
    ``g^{-1}.X = (X - 1 t^T) R`` in row form.

    Parameters
    ----------
    backbone : str or nn.Module
        A registered encoder name (created with ``backbone_params``; ``in_features`` and
        ``out_features``/``num_classes`` are filled in when the backbone takes them) or a module
        mapping ``(N, P, n)`` point clouds to ``(N, D)`` (it may flatten the cloud itself).
    backbone_params : dict, optional
        Parameters of a registered backbone.
    group : str
        ``"o_n"``/``"o3"``, ``"son"``/``"so3"``, ``"e_n"``/``"e3"`` or ``"se_n"``/``"se3"``.
    output : {"invariant", "equivariant"}
        Invariant outputs ``(N, D)``; equivariant outputs ``(N, out_vectors, n)`` transformed as
        ``output_type``.
    output_type : {"point_cloud", "vector"}
        How the group acts on equivariant outputs: points ``R y + t`` or free vectors ``R y``.
    n_points : int, optional
        Points per cloud. Needed for backbones that take flattened input (``input_type ==
        "vector"``, e.g. ``mlp``): their ``in_features`` becomes ``n_points * n``.
    in_features : int
        Coordinate dimension ``n`` (the pipeline fills it from the data's last axis).
    out_features, num_classes : int, optional
        Size of invariant outputs (either name; the pipeline fills them).
    out_vectors : int, optional
        Number of equivariant output vectors/points (default ``n_points`` for point outputs,
        1 for vector outputs).
    degenerate_tol, on_degenerate :
        Degenerate-frame detection, see :func:`pca_frames`.
    """

    input_type = "point_cloud"

    def __init__(
        self,
        backbone: str | nn.Module = "mlp",
        backbone_params: dict[str, Any] | None = None,
        group: str = "se3",
        output: str = "invariant",
        output_type: str = "point_cloud",
        n_points: int | None = None,
        in_features: int = 3,
        out_features: int | None = None,
        num_classes: int | None = None,
        out_vectors: int | None = None,
        degenerate_tol: float = 1e-5,
        on_degenerate: str = "error",
    ) -> None:
        super().__init__()
        self.group = canonical_group(group)
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}")
        if output_type not in OUTPUT_TYPES:
            raise ValueError(f"output_type must be one of {OUTPUT_TYPES}, got {output_type!r}")
        if on_degenerate not in ON_DEGENERATE:
            raise ValueError(f"on_degenerate must be one of {ON_DEGENERATE}, got {on_degenerate!r}")
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features (the coordinate dimension n) must be a positive int, got {in_features!r}")
        if n_points is not None and (not isinstance(n_points, int) or n_points < 1):
            raise ValueError(f"n_points must be a positive int, got {n_points!r}")
        if not degenerate_tol >= 0:
            raise ValueError(f"degenerate_tol must be >= 0, got {degenerate_tol}")
        self.n = in_features
        self.n_points = n_points
        self.output = output
        self.output_type = output_type
        self.degenerate_tol = degenerate_tol
        self.on_degenerate = on_degenerate
        if output == "equivariant":
            k = out_vectors if out_vectors is not None else (n_points if output_type == "point_cloud" else 1)
            if k is None or k < 1:
                raise ValueError("out_vectors (or n_points) must be a positive int for equivariant point outputs")
            self.out_vectors = int(k)
            d_out = self.out_vectors * self.n
        else:
            self.out_vectors = None
            d_out = out_features if out_features is not None else num_classes
            if backbone_params and any(k in backbone_params for k in ("out_features", "num_classes")):
                d_out = backbone_params.get("out_features", backbone_params.get("num_classes"))
            if d_out is None or int(d_out) < 1:
                raise ValueError("give out_features or num_classes (a positive int) for invariant outputs")
        d_in = n_points * self.n if n_points is not None else self.n
        if isinstance(backbone, str):
            self.backbone = _backbone_from_name(backbone, backbone_params or {}, d_in, int(d_out))
            if getattr(self.backbone, "input_type", None) == "vector" and n_points is None:
                raise ValueError(f"backbone {backbone!r} takes flattened input: give n_points (points per cloud)")
        elif isinstance(backbone, nn.Module):
            if backbone_params:
                raise ValueError("backbone_params is only used with a registered backbone name")
            self.backbone = backbone
        else:
            raise TypeError(f"backbone must be a registered encoder name or an nn.Module, got {type(backbone).__name__}")
        # per-instance symmetry declarations (the test kit and pipelines read them)
        names = {"o_n": ("o_n",), "son": ("son", "so3") if self.n == 3 else ("son",),
                 "e_n": ("e_n", "o_n", "translations"), "se_n": ("se3", "son", "so3", "translations") if self.n == 3 else ("son", "translations")}[self.group]
        self.invariant_to = names if output == "invariant" else ()
        self.equivariant_to = names if output == "equivariant" else ()

    def frames(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The frame ``(R, t)`` of each cloud: ``(B, F, n, n)``, ``(B, n)``."""
        return pca_frames(X, self.group, degenerate_tol=self.degenerate_tol, on_degenerate=self.on_degenerate)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor):
            raise TypeError(f"frame_averaging expects a tensor of point clouds (B, P, n), got {type(X).__name__}")
        if X.dim() != 3:
            raise ValueError(f"frame_averaging expects point clouds of shape (B, P, n), got shape {tuple(X.shape)}")
        if X.shape[-1] != self.n:
            raise ValueError(f"frame_averaging was built for {self.n}-dimensional points (in_features), got last axis {X.shape[-1]}")
        if self.n_points is not None and X.shape[1] != self.n_points:
            raise ValueError(f"frame_averaging was built for n_points={self.n_points} points per cloud, got {X.shape[1]}")
        R, t = self.frames(X)
        B, F = R.shape[:2]
        Xc = (X - t.unsqueeze(1)).unsqueeze(1)  # (B, 1, P, n)
        canon = Xc @ R.to(X.dtype)  # g^{-1} . X for every frame element: (B, F, P, n)
        y = self.backbone(canon.reshape(B * F, *X.shape[1:]))
        if self.output == "invariant":
            return y.reshape(B, F, -1).mean(1)
        y = y.reshape(B, F, self.out_vectors, self.n)
        gy = y @ R.transpose(-1, -2).to(y.dtype)  # R y for each output vector
        if self.output_type == "point_cloud":
            gy = gy + t.reshape(B, 1, 1, self.n).to(y.dtype)
        return gy.mean(1)


class EuclideanGroup(MatrixGroup):
    """E(n): isometries ``x -> Q x + t`` with ``Q`` in O(n), as ``(n+1) x (n+1)`` homogeneous matrices.

    The core ships SE(n) (``se3``) and O(n) (``o_n``) but not the full isometry group with
    reflections; frame averaging over E(n) frames is invariant to it.
    """

    name = "e_n"
    compact = False
    acts_on = ("point_cloud", "vector")

    def __init__(self, n: int = 3, translation_scale: float = 1.0) -> None:
        if not isinstance(n, int) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if not translation_scale >= 0:
            raise ValueError(f"translation_scale must be >= 0, got {translation_scale}")
        self.n, self.translation_scale = n, translation_scale

    @property
    def dim(self) -> int:
        return self.n * (self.n + 1) // 2

    @property
    def matrix_size(self) -> int:
        return self.n + 1

    def inverse(self, g: torch.Tensor) -> torch.Tensor:
        n = self.n
        Qt = g[..., :n, :n].transpose(-1, -2)
        out = torch.zeros_like(g)
        out[..., :n, :n] = Qt
        out[..., :n, n] = -(Qt @ g[..., :n, n].unsqueeze(-1)).squeeze(-1)
        out[..., n, n] = 1
        return out

    def sample(self, n: int, generator=None, *, dtype=None) -> torch.Tensor:
        """Haar O(n) part (QR of a Gaussian matrix, sign-corrected) and Gaussian translation."""
        dtype = dtype or torch.get_default_dtype()
        a = torch.randn(n, self.n, self.n, generator=generator, dtype=dtype)
        q, r = torch.linalg.qr(a)
        q = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        g = self.identity(n, dtype=dtype)
        g[:, : self.n, : self.n] = q
        g[:, : self.n, self.n] = self.translation_scale * torch.randn(n, self.n, generator=generator, dtype=dtype)
        return g

    def _act(self, g: torch.Tensor, x: Any, data_type: str) -> Any:
        if not isinstance(x, torch.Tensor) or x.shape[-1] != self.n:
            raise ValueError(f"e_n acts on {self.n}-dimensional coordinates, got {getattr(x, 'shape', type(x))}")
        Q, t = g[..., : self.n, : self.n].to(x.dtype), g[..., : self.n, self.n].to(x.dtype)
        if g.dim() == 2:
            y = x @ Q.transpose(-1, -2)
            return y if data_type == "vector" else y + t
        extra = x.dim() - 2  # x: (B, ..., n) aligned with a batch of elements
        Qb = Q.reshape(Q.shape[0], *([1] * extra), self.n, self.n)
        y = (Qb @ x.unsqueeze(-1)).squeeze(-1)
        return y if data_type == "vector" else y + t.reshape(t.shape[0], *([1] * extra), self.n)

    def __repr__(self) -> str:
        return f"EuclideanGroup(n={self.n}, translation_scale={self.translation_scale})"


class PointMLP(Encoder):
    """A PointNet-style backbone: shared per-point MLP, max pooling over points, MLP head.

    Permutation invariant but not rotation invariant: the kind of backbone the paper wraps with
    frame averaging for point clouds (``frame_averaging(backbone="point_mlp")``).
    """

    input_type = "point_cloud"

    def __init__(self, in_features: int = 3, num_classes: int | None = None, out_features: int | None = None, hidden: list[int] | None = None) -> None:
        super().__init__()
        out = num_classes if num_classes is not None else out_features
        if out is None or not isinstance(out, int) or out < 1:
            raise ValueError(f"num_classes (or out_features) must be a positive int, got {out!r}")
        if not isinstance(in_features, int) or in_features < 1:
            raise ValueError(f"in_features must be a positive int, got {in_features!r}")
        hidden = [64, 128] if hidden is None else list(hidden)
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be a non-empty list of positive ints, got {hidden!r}")
        layers: list[nn.Module] = []
        w = in_features
        for h in hidden:
            layers += [nn.Linear(w, h), nn.ReLU()]
            w = h
        self.point_net = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.Linear(w, w), nn.ReLU(), nn.Linear(w, out))
        self.in_features = in_features

    def embed(self, X: torch.Tensor) -> torch.Tensor:
        if not isinstance(X, torch.Tensor) or X.dim() != 3 or X.shape[-1] != self.in_features:
            raise ValueError(f"point_mlp expects point clouds (B, P, {self.in_features}), got {tuple(getattr(X, 'shape', ()))}")
        return self.point_net(X).amax(dim=1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(X))
