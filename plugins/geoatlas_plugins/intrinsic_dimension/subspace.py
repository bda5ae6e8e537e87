"""Training in a random subspace (Li, Farkhoor, Liu & Yosinski, ICLR 2018).

Every trainable parameter of a model is written as ``θ = θ₀ + P z``: ``θ₀`` the model's random
initialisation (frozen), ``P`` a random ``D x d`` projection (frozen) and ``z ∈ R^d`` the only
trained vector, started at 0. The wrapped model is called through
``torch.func.functional_call``, so any torch encoder works unchanged.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from geoatlas.interfaces import Encoder, Measure, check_finite_array
from geoatlas.utils import backbone_params as resolve_backbone

__all__ = ["SubspaceModel", "IntrinsicDimension", "random_projection", "reinitialize"]


def random_projection(D: int, d: int, kind: str = "dense", *, normalize: bool = True, generator: torch.Generator | None = None,
                      dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """A random ``D x d`` projection.

    ``dense``: i.i.d. N(0, 1) entries; ``sparse``: the very sparse random projection of Li,
    Hastie & Church (2006), entries ``±1`` with probability ``1/(2√D)`` each and 0 otherwise (a
    torch sparse COO tensor; at least one non-zero per column); ``identity``: ``P = I`` (``d = D``).
    With ``normalize`` every column has unit norm (default, as the authors' sparse and Fastfood
    code; their dense code leaves N(0, 1) columns unnormalised, ``normalize=False``).
    """
    if kind not in ("dense", "sparse", "identity"):
        raise ValueError(f"projection must be 'dense', 'sparse' or 'identity', got {kind!r}")
    if D < 1 or d < 1:
        raise ValueError(f"the projection needs D >= 1 and d >= 1, got D={D}, d={d}")
    if kind == "identity":
        if d != D:
            raise ValueError(f"projection 'identity' needs d == D (= {D}), got d={d}")
        return torch.eye(D, dtype=dtype)
    if kind == "dense":
        P = torch.randn(D, d, generator=generator, dtype=dtype)
        return P / P.norm(dim=0, keepdim=True) if normalize else P
    density = 1.0 / math.sqrt(D)
    mask = torch.rand(D, d, generator=generator) < density
    # every column needs a non-zero entry to be normalisable
    empty = ~mask.any(0)
    if empty.any():
        rows = torch.randint(0, D, (int(empty.sum()),), generator=generator)
        mask[rows, torch.nonzero(empty).flatten()] = True
    idx = mask.nonzero().T
    vals = (torch.randint(0, 2, (idx.shape[1],), generator=generator) * 2 - 1).to(dtype)
    if normalize:
        counts = mask.sum(0).to(dtype)
        vals = vals / counts[idx[1]].sqrt()
    return torch.sparse_coo_tensor(idx, vals, (D, d)).coalesce()


def reinitialize(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """A copy of ``model`` with every submodule that has ``reset_parameters`` re-initialised
    under ``torch.manual_seed(seed)`` (θ₀ must be a random initialisation, not trained weights)."""
    m = copy.deepcopy(model)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for mod in m.modules():
            if callable(getattr(mod, "reset_parameters", None)):
                mod.reset_parameters()
    return m


class SubspaceModel(torch.nn.Module):
    """``model`` re-parametrised as ``θ = θ₀ + P z`` (only ``z`` is a parameter, initialised at 0).

    Parameters
    ----------
    model : torch.nn.Module
        Any model; its current parameters become ``θ₀`` (frozen).
    d : int
        Subspace dimension.
    projection : {"dense", "sparse", "identity"}
    normalize : bool
        Unit-norm columns of ``P`` (default, as the authors' sparse/Fastfood code) or raw N(0, 1) / ±1 entries.
    seed : int
        Seeds ``P``.
    """

    def __init__(self, model: torch.nn.Module, d: int, projection: str = "dense", normalize: bool = True, seed: int = 0) -> None:
        super().__init__()
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"d must be a positive integer, got {d!r}")
        self.base = model
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        if not self.names:
            raise ValueError("model has no trainable parameters")
        params = dict(model.named_parameters())
        self.shapes = [params[n].shape for n in self.names]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        theta0 = torch.cat([params[n].detach().reshape(-1) for n in self.names])
        for p in model.parameters():
            p.requires_grad_(False)
        self.D, self.d = int(theta0.numel()), int(d)
        if projection != "identity" and self.d > self.D:
            raise ValueError(f"d ({d}) must not exceed the number of parameters D ({self.D})")
        self.register_buffer("theta0", theta0)
        gen = torch.Generator().manual_seed(seed)
        self.register_buffer("P", random_projection(self.D, self.d, projection, normalize=normalize, generator=gen, dtype=theta0.dtype))
        self.z = torch.nn.Parameter(torch.zeros(self.d, dtype=theta0.dtype))
        self.projection = projection

    def theta(self) -> torch.Tensor:
        """The full parameter vector ``θ₀ + P z``."""
        Pz = torch.sparse.mm(self.P, self.z[:, None])[:, 0] if self.P.is_sparse else self.P @ self.z
        return self.theta0 + Pz

    def forward(self, x: Any) -> Any:
        parts = torch.split(self.theta(), self.sizes)
        params = {n: p.reshape(s) for n, p, s in zip(self.names, parts, self.shapes, strict=True)}
        return torch.func.functional_call(self.base, params, (x,), strict=False)


def _to_tensor(X: Any, data_type: str) -> Any:
    from geoatlas.pipeline.models import to_batch

    return to_batch(X, None, data_type)


def _train(model: torch.nn.Module, X: Any, y: torch.Tensor, epochs: int, lr: float, batch_size: int, seed: int, data_type: str) -> None:
    from geoatlas.pipeline.models import to_batch

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    g = torch.Generator().manual_seed(seed)
    n = len(y)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g).numpy()
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            out = model(to_batch(X, idx, data_type))
            out = out[0] if isinstance(out, (tuple, list)) else out
            torch.nn.functional.cross_entropy(out, y[idx]).backward()
            opt.step()


def _accuracy(model: torch.nn.Module, X: Any, y: torch.Tensor, data_type: str) -> float:
    from geoatlas.pipeline.models import to_batch

    model.eval()
    with torch.no_grad():
        preds = []
        for i in range(0, len(y), 512):
            out = model(to_batch(X, np.arange(i, min(len(y), i + 512)), data_type))
            preds.append((out[0] if isinstance(out, (tuple, list)) else out).argmax(1))
    model.train()
    return float((torch.cat(preds) == y).double().mean())


class IntrinsicDimension(Measure):
    """Intrinsic dimension ``d_int90`` of a classification objective for a model's architecture.

    The measure re-initialises the model (``θ₀``: a random initialisation, seeded), trains it
    directly (the baseline) and in random subspaces ``θ = θ₀ + P z`` of each dimension in
    ``d_grid`` with the same optimiser and budget, all on the same training part of ``data``,
    and reports the smallest ``d`` whose held-out accuracy reaches ``threshold`` (0.9) times the
    baseline's. Works for any torch encoder whose outputs are class logits.

    ``data`` is split into training and held-out parts (``holdout`` fraction, stratified by a
    seeded permutation); run it in a pipeline with ``part: train`` to use the training split.

    Parameters
    ----------
    d_grid : list of int
        Subspace dimensions tried (ascending).
    projection : {"dense", "sparse"}
    normalize : bool
        Unit-norm columns of ``P`` (default, as the authors' sparse/Fastfood code) or unnormalised (their dense code).
    threshold : float
        Fraction of the baseline accuracy to reach (0.9 for ``d_int90``; 1.0 for ``d_int100``).
    epochs, lr, batch_size : training budget (Adam), the same for the baseline and every ``d``.
    holdout : float
        Fraction of ``data`` held out for the accuracies.
    seed : int

    Returns
    -------
    dict
        ``d_int`` (smallest ``d`` reaching the threshold; the largest ``d`` of the grid when
        none does, with ``reached = 0``), ``reached``, ``baseline_accuracy``, ``accuracies``
        (one per ``d``), ``d_grid``, ``n_params`` (D).
    """

    needs_model: ClassVar[bool] = True

    def __init__(
        self,
        d_grid: list[int] | None = None,
        projection: Literal["dense", "sparse"] = "dense",
        normalize: bool = True,
        threshold: float = 0.9,
        epochs: int = 20,
        lr: float = 1e-2,
        batch_size: int = 128,
        holdout: float = 0.25,
        seed: int = 0,
    ) -> None:
        grid = [10, 25, 50, 100, 200, 400, 800] if d_grid is None else list(d_grid)
        if not grid or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in grid):
            raise ValueError(f"d_grid must be a non-empty list of positive integers, got {d_grid!r}")
        if sorted(grid) != grid or len(set(grid)) != len(grid):
            raise ValueError(f"d_grid must be strictly increasing, got {grid}")
        if projection not in ("dense", "sparse"):
            raise ValueError(f"projection must be 'dense' or 'sparse', got {projection!r}")
        if not (np.isfinite(threshold) and 0 < threshold <= 1):
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        for name, v in (("epochs", epochs), ("batch_size", batch_size)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        if not (np.isfinite(lr) and lr > 0):
            raise ValueError(f"lr must be a positive number, got {lr}")
        if not (0 < holdout < 1):
            raise ValueError(f"holdout must be in (0, 1), got {holdout}")
        self.d_grid, self.projection, self.normalize, self.threshold = [int(v) for v in grid], projection, bool(normalize), float(threshold)
        self.epochs, self.lr, self.batch_size, self.holdout, self.seed = int(epochs), float(lr), int(batch_size), float(holdout), int(seed)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if model is None:
            raise ValueError("intrinsic_dimension needs a model (its architecture is re-initialised and trained in subspaces)")
        if not isinstance(model, torch.nn.Module):
            raise TypeError(f"intrinsic_dimension: model must be a torch.nn.Module, got {type(model).__name__}")
        if not isinstance(data, dict) or "X" not in data or data.get("y") is None:
            raise ValueError("intrinsic_dimension needs data={'X': samples, 'y': class ids}")
        X, y = data["X"], np.asarray(data["y"])
        dt = data.get("data_type") or "vector"
        if dt == "graph_nodes":
            raise ValueError("intrinsic_dimension: data_type 'graph_nodes' is not supported")
        if len(X) != len(y):
            raise ValueError(f"intrinsic_dimension: data['X'] has {len(X)} samples but data['y'] has {len(y)}")
        if y.dtype.kind not in "iub":
            raise TypeError(f"intrinsic_dimension needs integer class ids in data['y'], got dtype {y.dtype}")
        if len(y) < 4:
            raise ValueError(f"intrinsic_dimension needs at least 4 samples, got {len(y)}")
        if isinstance(X, (np.ndarray, torch.Tensor)):
            check_finite_array(X, "intrinsic_dimension: data['X']")
        rng = np.random.default_rng(self.seed)
        perm = rng.permutation(len(y))
        n_te = max(1, int(round(self.holdout * len(y))))
        te, tr = np.sort(perm[:n_te]), np.sort(perm[n_te:])
        take = (lambda idx: X[idx]) if isinstance(X, (np.ndarray, torch.Tensor)) else (lambda idx: [X[i] for i in idx])
        Xtr, Xte = take(tr), take(te)
        ytr, yte = torch.as_tensor(y[tr], dtype=torch.long), torch.as_tensor(y[te], dtype=torch.long)
        with torch.random.fork_rng():
            base = reinitialize(model, self.seed).float().train()
            D = sum(p.numel() for p in base.parameters() if p.requires_grad)
            direct = copy.deepcopy(base)
            torch.manual_seed(self.seed)
            _train(direct, Xtr, ytr, self.epochs, self.lr, self.batch_size, self.seed, dt)
            baseline = _accuracy(direct, Xte, yte, dt)
            accs = []
            for d in self.d_grid:
                if d > D:
                    raise ValueError(f"intrinsic_dimension: d_grid value {d} exceeds the number of parameters D = {D}")
                sub = SubspaceModel(copy.deepcopy(base), d, self.projection, self.normalize, seed=self.seed + d)
                torch.manual_seed(self.seed)
                _train(sub, Xtr, ytr, self.epochs, self.lr, self.batch_size, self.seed, dt)
                accs.append(_accuracy(sub, Xte, yte, dt))
        hits = [d for d, a in zip(self.d_grid, accs, strict=True) if a >= self.threshold * baseline]
        return {"d_int": float(hits[0] if hits else self.d_grid[-1]), "reached": float(bool(hits)), "baseline_accuracy": baseline,
                "accuracies": accs, "d_grid": [float(d) for d in self.d_grid], "n_params": float(D)}


class SubspaceEncoder(Encoder):
    """A registered encoder trained in a random subspace: ``θ = θ₀ + P z`` (the parametrization
    of the paper, as an encoder wrapper; only ``z`` is trained).

    Parameters
    ----------
    backbone : str
        A registered encoder (``mlp``, ``cnn``, ...).
    backbone_params : dict, optional
        Its parameters; ``in_features``/``out_features``/``in_channels``/``num_classes`` given to
        the wrapper (pipelines fill them) are passed on when the backbone accepts them.
    d : int
        Subspace dimension.
    projection : {"dense", "sparse"}
    normalize : bool
        Unit-norm columns of ``P`` (default) or unnormalised (the authors' dense code).
    seed : int
        Seeds ``P`` (``θ₀`` is the backbone's initialisation under the pipeline's seed).
    """

    def __init__(self, backbone: str = "mlp", backbone_params: dict[str, Any] | None = None, d: int = 100,
                 projection: Literal["dense", "sparse"] = "dense", normalize: bool = True, seed: int = 0,
                 in_features: int | None = None, out_features: int | None = None, in_channels: int | None = None,
                 num_classes: int | None = None) -> None:
        super().__init__()
        import geoatlas as ga

        if projection not in ("dense", "sparse"):
            raise ValueError(f"projection must be 'dense' or 'sparse', got {projection!r}")
        params = resolve_backbone(backbone, backbone_params, in_features=in_features, out_features=out_features,
                                  in_channels=in_channels, num_classes=num_classes)
        net = ga.create("encoder", backbone, **params)
        self.input_type = getattr(net, "input_type", "vector")  # type: ignore[misc]
        self.subspace = SubspaceModel(net, d, projection, normalize, seed)

    def forward(self, x: Any) -> Any:
        return self.subspace(x)
