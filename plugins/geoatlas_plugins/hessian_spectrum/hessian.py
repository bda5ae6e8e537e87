"""Hessian spectrum of a trained model's loss (Sagun, Evci, Güney, Dauphin & Bottou 2018).

The loss ``L(θ) = (1/N) Σ_i ℓ(f(θ, x_i), y_i)`` of any torch model is written as a function of
its flattened parameter vector θ (``torch.func.functional_call``), so Hessian-vector products
``H v`` come from double differentiation without ever forming ``H``. Small models get the exact
Hessian (one Hessian-vector product per row) and ``torch.linalg.eigvalsh``; large ones the top eigenvalues by
Lanczos with full re-orthogonalisation on Hessian-vector products.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, ClassVar, Literal

import numpy as np
import torch

from geoatlas.interfaces import Measure
from geoatlas.validation import PositiveInt

__all__ = ["HessianSpectrum", "LossFunction", "lanczos_top", "count_outliers", "loss_function"]


class LossFunction:
    """``L(θ)`` of a model on fixed data, as a function of the flat parameter vector.

    Attributes: ``theta`` (the model's parameters, flattened, detached), ``loss(θ)``,
    ``outputs(θ)`` (the model outputs), ``output_loss(out)`` (the loss as a function of the
    outputs, for the Gauss–Newton term), ``hvp(v)``, ``ggn_vp(v)``, ``hessian()``.
    """

    def __init__(self, model: torch.nn.Module, loss: Callable[[Any, dict[str, Any]], torch.Tensor], x: Any, y: Any,
                 dtype: torch.dtype = torch.float64) -> None:
        self.model = copy.deepcopy(model).to(dtype).eval()
        self.names = [n for n, p in self.model.named_parameters() if p.requires_grad]
        params = dict(self.model.named_parameters())
        self.shapes = [params[n].shape for n in self.names]
        self.sizes = [int(np.prod(s)) for s in self.shapes]
        self.theta = torch.cat([params[n].detach().reshape(-1) for n in self.names])
        self.buffers = dict(self.model.named_buffers())
        self.x = x.to(dtype) if isinstance(x, torch.Tensor) and x.is_floating_point() else x
        self.y = y.to(dtype) if isinstance(y, torch.Tensor) and y.is_floating_point() else y
        self._loss = loss

    def unflatten(self, theta: torch.Tensor) -> dict[str, torch.Tensor]:
        parts = torch.split(theta, self.sizes)
        return {n: p.reshape(s) for n, p, s in zip(self.names, parts, self.shapes, strict=True)}

    def outputs(self, theta: torch.Tensor) -> torch.Tensor:
        out = torch.func.functional_call(self.model, ({**self.unflatten(theta), **self.buffers},), (self.x,))
        return out[0] if isinstance(out, (tuple, list)) else out

    def output_loss(self, out: torch.Tensor) -> torch.Tensor:
        return self._loss(out, {"x": self.x, "y": self.y})

    def loss(self, theta: torch.Tensor) -> torch.Tensor:
        return self.output_loss(self.outputs(theta))

    def _gradient_graph(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(θ, ∇L(θ))`` with the gradient's graph kept, built once: every Hessian-vector
        product is then one backward pass through it (double backward)."""
        if getattr(self, "_graph", None) is None:
            th = self.theta.clone().requires_grad_(True)
            with torch.enable_grad():
                g = torch.autograd.grad(self.loss(th), th, create_graph=True)[0]
            self._graph = (th, g)
        return self._graph

    def hvp(self, v: torch.Tensor) -> torch.Tensor:
        """``H v`` by double backward through the cached gradient graph."""
        th, g = self._gradient_graph()
        return torch.autograd.grad(g, th, v, retain_graph=True)[0].detach()

    def ggn_vp(self, v: torch.Tensor) -> torch.Tensor:
        """Generalised Gauss–Newton product ``Jᵀ H_ℓ J v`` (the first term of the Hessian):
        ``J v`` by the double-vjp trick, ``H_ℓ`` by double backward of the loss in the outputs."""
        if getattr(self, "_out_graph", None) is None:
            th = self.theta.clone().requires_grad_(True)
            with torch.enable_grad():
                out = self.outputs(th)
                u = torch.zeros_like(out, requires_grad=True)
                ju = torch.autograd.grad(out, th, u, create_graph=True)[0]  # J^T u, linear in u
                o = out.detach().requires_grad_(True)
                gl = torch.autograd.grad(self.output_loss(o), o, create_graph=True)[0]
            self._out_graph = (th, out, u, ju, o, gl)
        th, out, u, ju, o, gl = self._out_graph
        jv = torch.autograd.grad(ju, u, v, retain_graph=True)[0]
        hjv = torch.autograd.grad(gl, o, jv, retain_graph=True, allow_unused=True, materialize_grads=True)[0]
        return torch.autograd.grad(out, th, hjv, retain_graph=True)[0].detach()

    def hessian(self) -> torch.Tensor:
        """The exact ``D x D`` Hessian, one Hessian-vector product per row, symmetrised."""
        eye = torch.eye(self.theta.numel(), dtype=self.theta.dtype)
        H = torch.stack([self.hvp(e) for e in eye])
        return 0.5 * (H + H.T)


def lanczos_top(matvec: Callable[[torch.Tensor], torch.Tensor], dim: int, k: int, steps: int, generator: torch.Generator,
                dtype: torch.dtype = torch.float64) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest Ritz values of a symmetric operator after ``steps`` Lanczos iterations.

    Full re-orthogonalisation (two Gram–Schmidt passes) keeps the basis orthonormal, so no
    spurious copies of converged eigenvalues appear. Returns ``(top, all_ritz)``: ``top``
    descending (``k`` values), ``all_ritz`` every Ritz value, descending.
    """
    m = min(steps, dim)
    Q = torch.zeros(m, dim, dtype=dtype)
    q = torch.randn(dim, generator=generator, dtype=dtype)
    q = q / q.norm()
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(m):
        Q[j] = q
        w = matvec(q).detach()
        a = float(w @ q)
        alphas.append(a)
        for _ in range(2):  # full re-orthogonalisation
            w = w - Q[: j + 1].T @ (Q[: j + 1] @ w)
        b = float(w.norm())
        if j == m - 1 or b < 1e-12 * max(1.0, abs(a)):
            break
        betas.append(b)
        q = w / b
    n = len(alphas)
    T = np.diag(alphas) + np.diag(betas[: n - 1], 1) + np.diag(betas[: n - 1], -1)
    ritz = np.sort(np.linalg.eigvalsh(T))[::-1]
    return ritz[:k], ritz


def count_outliers(eigenvalues: np.ndarray, k: int, gap_ratio: float = 1.5, floor: float = 0.15) -> int:
    """Number of outliers among the ``k`` largest eigenvalues (descending ``λ_1 ≥ λ_2 ≥ ...``):
    the largest ``i`` with ``λ_i / λ_{i+1} ≥ gap_ratio`` and ``λ_i ≥ floor · λ_1``.

    The paper reads the outliers off the plotted spectrum ("bulk + outliers"); this gap rule is
    our reconstruction. Eigenvalues under ``floor · λ_1`` belong to the bulk (ratios of tiny
    eigenvalues are noise). Returns 0 when ``λ_1 <= 0`` or when no gap qualifies (a spectrum that
    decays smoothly has no outliers by this rule).
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))[::-1][: k + 1]
    if lam.size == 0 or lam[0] <= 0:
        return 0
    lam = np.maximum(lam, 1e-12 * lam[0])
    count = 0
    for i in range(lam.size - 1):
        if lam[i] < floor * lam[0]:
            break
        if lam[i] / lam[i + 1] >= gap_ratio:
            count = i + 1
    return count


def loss_function(model: torch.nn.Module, data: dict[str, Any], loss: Any = "cross_entropy", *, max_samples: int | None = None,
                  seed: int = 0, dtype: torch.dtype = torch.float64, what: str = "hessian_spectrum") -> LossFunction:
    """A :class:`LossFunction` for ``model`` on ``data`` (``{"X", "y", "data_type"}``) with a
    registered loss (its name, or a Loss instance / callable ``loss(outputs, batch)``)."""
    from geoatlas.interfaces import check_finite_array
    from geoatlas.pipeline.models import to_batch

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"{what}: model must be a torch.nn.Module (a trained encoder), got {type(model).__name__}")
    if not any(p.requires_grad for p in model.parameters()):
        raise ValueError(f"{what}: the model has no trainable parameters")
    if not isinstance(data, dict) or "X" not in data or data.get("y") is None:
        raise ValueError(f"{what} needs data={{'X': samples, 'y': targets}}")
    X, y = data["X"], np.asarray(data["y"])
    dt = data.get("data_type") or "vector"
    if dt == "graph_nodes":
        raise ValueError(f"{what}: data_type 'graph_nodes' is not supported (one graph, node targets)")
    n = len(X)
    if n == 0:
        raise ValueError(f"{what}: data['X'] is empty")
    if len(y) != n:
        raise ValueError(f"{what}: data['X'] has {n} samples but data['y'] has {len(y)}")
    if isinstance(X, (np.ndarray, torch.Tensor)):
        check_finite_array(X, f"{what}: data['X']")
    check_finite_array(y, f"{what}: data['y']")
    idx = np.arange(n)
    if max_samples is not None and n > max_samples:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_samples, replace=False))
    xb = to_batch(X, idx, dt)
    yt = torch.as_tensor(y[idx])
    if isinstance(loss, str):
        import geoatlas as ga

        loss_fn = ga.create("loss", loss)
    elif callable(loss):
        loss_fn = loss
    else:
        raise TypeError(f"{what}: loss must be a registered loss name or a callable, got {type(loss).__name__}")
    return LossFunction(model, loss_fn, xb, yt, dtype=dtype)


class HessianSpectrum(Measure):
    """Spectrum of the Hessian of the training loss with respect to all trainable parameters.

    ``method="exact"`` forms the Hessian (one Hessian-vector product per row) and diagonalises
    it (``torch.linalg.eigvalsh``); ``"lanczos"`` runs ``lanczos_steps`` Lanczos iterations with full
    re-orthogonalisation on Hessian-vector products and returns the top Ritz values;
    ``"auto"`` is exact up to ``max_exact_params`` parameters. Works on any torch model and
    any registered loss (the Hessian of ``loss(model(X), {"y": y})`` on ``data``).

    Parameters
    ----------
    loss : str
        Registered loss name (default ``"cross_entropy"``).
    top_k : int
        Number of top eigenvalues reported (and searched for outliers).
    method : {"auto", "exact", "lanczos"}
    max_exact_params : int
        ``auto`` switches to Lanczos above this many parameters.
    lanczos_steps : int
        Lanczos iterations (Krylov dimension); at least ``top_k``.
    max_samples : int
        At most this many samples (a seeded random subset) define the loss.
    gap_ratio, outlier_floor : float
        Outlier rule (see :func:`count_outliers`): the last ratio gap ``λ_i/λ_{i+1} ≥
        gap_ratio`` among eigenvalues ``≥ outlier_floor · λ_1`` (our reconstruction).
    ggn : bool
        Also report the top eigenvalues of the generalised Gauss–Newton term ``Jᵀ H_ℓ J``
        (Lanczos on Gauss–Newton-vector products, both methods).
    return_spectrum : bool
        Exact method only: also return every eigenvalue.
    seed : int
        Seeds the sample subset and the Lanczos start vector.

    Returns
    -------
    dict
        ``top_eigenvalues`` (descending), ``n_outliers`` (gap rule among the top ``top_k``), ``trace`` (exact, or Hutchinson with ``hutchinson_samples`` probes),
        ``n_params``, ``n_samples``, ``loss``; exact: ``min_eigenvalue``,
        ``fraction_negative``, ``fraction_near_zero`` (``|λ| < 1e-4 λ_max``); with ``ggn``:
        ``ggn_top_eigenvalues``.
    """

    needs_model: ClassVar[bool] = True

    def __init__(
        self,
        loss: str = "cross_entropy",
        top_k: PositiveInt = 20,
        method: Literal["auto", "exact", "lanczos"] = "auto",
        max_exact_params: PositiveInt = 3000,
        lanczos_steps: PositiveInt = 80,
        max_samples: PositiveInt = 1000,
        hutchinson_samples: PositiveInt = 20,
        gap_ratio: float = 1.5,
        outlier_floor: float = 0.15,
        ggn: bool = False,
        return_spectrum: bool = False,
        seed: int = 0,
    ) -> None:
        for name, val in (("top_k", top_k), ("max_exact_params", max_exact_params), ("lanczos_steps", lanczos_steps),
                          ("max_samples", max_samples), ("hutchinson_samples", hutchinson_samples)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
                raise ValueError(f"{name} must be a positive integer, got {val!r}")
        if method not in ("auto", "exact", "lanczos"):
            raise ValueError(f"method must be 'auto', 'exact' or 'lanczos', got {method!r}")
        if lanczos_steps < top_k:
            raise ValueError(f"lanczos_steps ({lanczos_steps}) must be >= top_k ({top_k})")
        if not (np.isfinite(gap_ratio) and gap_ratio > 1):
            raise ValueError(f"gap_ratio must be a finite number > 1, got {gap_ratio}")
        if not (np.isfinite(outlier_floor) and 0 <= outlier_floor < 1):
            raise ValueError(f"outlier_floor must be in [0, 1), got {outlier_floor}")
        if not isinstance(loss, str) and not callable(loss):
            raise TypeError(f"loss must be a registered loss name, got {type(loss).__name__}")
        self.loss, self.top_k, self.method = loss, int(top_k), method
        self.max_exact_params, self.lanczos_steps = int(max_exact_params), int(lanczos_steps)
        self.max_samples, self.hutchinson_samples = int(max_samples), int(hutchinson_samples)
        self.gap_ratio, self.outlier_floor = float(gap_ratio), float(outlier_floor)
        self.ggn, self.return_spectrum, self.seed = bool(ggn), bool(return_spectrum), int(seed)

    def __call__(self, model: Any = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
        if model is None:
            raise ValueError("hessian_spectrum needs a model (a trained torch encoder)")
        lf = loss_function(model, data or {}, self.loss, max_samples=self.max_samples, seed=self.seed)
        D = lf.theta.numel()
        exact = self.method == "exact" or (self.method == "auto" and D <= self.max_exact_params)
        k = min(self.top_k, D)
        gen = torch.Generator().manual_seed(self.seed)
        out: dict[str, Any] = {"n_params": D, "n_samples": int(len(lf.y)), "loss": float(lf.loss(lf.theta).detach())}
        if exact:
            lam = torch.linalg.eigvalsh(lf.hessian().detach()).flip(0).numpy()
            lmax = max(abs(lam[0]), abs(lam[-1]), 1e-300)
            out.update(top_eigenvalues=lam[:k].tolist(), trace=float(lam.sum()), min_eigenvalue=float(lam[-1]),
                       fraction_negative=float((lam < -1e-4 * lmax).mean()),
                       fraction_near_zero=float((np.abs(lam) < 1e-4 * lmax).mean()))
            if self.return_spectrum:
                out["eigenvalues"] = lam.tolist()
        else:
            steps = max(self.lanczos_steps, k)
            lam, _ = lanczos_top(lf.hvp, D, k, steps, gen)
            tr = []
            for _ in range(self.hutchinson_samples):
                z = torch.randint(0, 2, (D,), generator=gen, dtype=torch.float64) * 2 - 1
                tr.append(float(z @ lf.hvp(z)))
            out.update(top_eigenvalues=lam.tolist(), trace=float(np.mean(tr)),
                       trace_standard_error=float(np.std(tr, ddof=1) / np.sqrt(len(tr))) if len(tr) > 1 else 0.0,
                       )
        if self.ggn:
            out["ggn_top_eigenvalues"] = lanczos_top(lf.ggn_vp, D, k, max(self.lanczos_steps, k), gen)[0].tolist()
        out["n_outliers"] = count_outliers(np.asarray(out["top_eigenvalues"]), k, self.gap_ratio, self.outlier_floor)
        out["exact"] = float(exact)  # 1.0: exact eigh, 0.0: Lanczos (numbers only in metrics.json)
        return out
