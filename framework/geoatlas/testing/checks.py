"""Implementation of the conformance checks (see :mod:`geoatlas.testing`)."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import numpy as np
import torch


def _fail(what: str, report: dict[str, Any]) -> None:
    raise AssertionError(f"{what}; report: {report}")


def _max_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max()) if a.numel() else 0.0


# ---------------------------------------------------------------------------- manifolds
def check_manifold(
    manifold: Any,
    points: torch.Tensor | None = None,
    *,
    n: int = 16,
    tangent_scale: float = 0.3,
    atol: float = 1e-6,
    seed: int = 0,
) -> dict[str, float]:
    """Check the identities every Riemannian manifold must satisfy, in float64.

    - ``projx`` is idempotent and sample points pass the manifold's own point check;
    - ``dist(x, x) = 0``, ``dist`` is symmetric and non-negative;
    - ``dist(x, exp_x(v)) = |v|_x`` for small tangent ``v`` (geodesics are length-minimising);
    - ``log_x(exp_x(v)) = v``;
    - ``egrad2rgrad`` returns tangent vectors;
    - the triangle inequality on random triples.

    ``points`` (float64, on the manifold) is optional when the manifold has ``random_point``.
    """
    gen = torch.Generator().manual_seed(seed)
    manifold = copy.deepcopy(manifold).to(torch.float64)
    if points is None:
        if not hasattr(manifold, "random_point"):
            raise TypeError("pass `points`, or give the manifold a random_point(n, generator, dtype) method")
        points = manifold.random_point(n, generator=gen, dtype=torch.float64)
    x = points.to(torch.float64)
    b = len(x)
    report: dict[str, float] = {}
    skipped: list[str] = []
    px = manifold.projx(x)
    report["projx_idempotent"] = _max_err(manifold.projx(px), px)
    report["projx_moves_points"] = _max_err(px, x)
    ok, reason = manifold._check_point_on_manifold(x, atol=1e-5, rtol=1e-5)
    if not ok:
        _fail(f"sample points are not on the manifold: {reason}", report)
    rg = manifold.egrad2rgrad(x, torch.randn(x.shape, generator=gen, dtype=x.dtype))
    try:
        ok_t, reason_t = manifold._check_vector_on_tangent(x, rg, atol=1e-6, rtol=1e-6)
        report["rgrad_tangent"] = 0.0 if ok_t else float("inf")
    except RuntimeError:  # geoopt's Lorentz check builds a float32 zero: compare with proju instead
        report["rgrad_tangent"] = _max_err(manifold.proju(x, rg), rg)
        ok_t, reason_t = report["rgrad_tangent"] <= atol, f"|proju(rg) - rg| = {report['rgrad_tangent']:.3e}"
    if not ok_t:
        _fail(f"egrad2rgrad does not return tangent vectors: {reason_t}", report)

    def norm(p: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return manifold.inner(p, v, v, keepdim=True).reshape(b, -1)[:, :1].clamp_min(0).sqrt()

    def dist(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return manifold.dist(p, q, keepdim=True).reshape(b, -1)[:, :1]

    u = manifold.proju(x, torch.randn(x.shape, generator=gen, dtype=x.dtype))
    v = tangent_scale * u / norm(x, u).reshape(b, *([1] * (x.dim() - 1))).clamp_min(1e-12)
    y = manifold.expmap(x, v)
    report["exp_on_manifold"] = float(not manifold._check_point_on_manifold(y, atol=1e-5, rtol=1e-5)[0])
    try:
        report["dist_exp_vs_norm"] = _max_err(dist(x, y), norm(x, v))
        report["dist_self"] = float(dist(x, x).abs().max())
        z = manifold.expmap(x, 0.5 * manifold.proju(x, torch.randn(x.shape, generator=gen, dtype=x.dtype)))
        d1, d2 = dist(x, z), dist(z, x)
        report["dist_symmetry"] = _max_err(d1, d2)
        report["dist_min"] = float(d1.min())
        w = manifold.random_point(b, generator=gen, dtype=x.dtype) if hasattr(manifold, "random_point") else z.roll(1, 0)
        tri = dist(x, w) - dist(x, z) - dist(z, w)
        report["triangle_violation"] = float(tri.max().clamp_min(0))
    except NotImplementedError:
        skipped.append("dist")
    try:
        report["log_exp"] = _max_err(manifold.logmap(x, y), v)
    except NotImplementedError:
        skipped.append("logmap")
    tolerances = {
        "projx_idempotent": atol,
        "rgrad_tangent": atol,
        "exp_on_manifold": 0.0,
        "dist_exp_vs_norm": atol,
        # acos-based distances (geoopt's Sphere) clamp their argument: dist(x, x) ~ 1e-4
        "dist_self": 1e-3,
        "dist_symmetry": atol,
        "log_exp": 10 * atol,
        "triangle_violation": 1e3 * atol,
    }
    for key, tol in tolerances.items():
        if key in report and report[key] > tol:
            _fail(f"manifold identity {key!r} violated: {report[key]:.3e} > {tol:.1e}", report)
    if report.get("dist_min", 0.0) < -atol:
        _fail("negative distance", report)
    report["skipped"] = skipped  # type: ignore[assignment]
    return report


# ---------------------------------------------------------------------------- groups
def _example_data(group: Any, data_type: str, gen: torch.Generator, dtype: torch.dtype) -> Any:
    n = getattr(group, "n", 3)
    if data_type == "point_cloud":
        return torch.randn(4, n, n, generator=gen, dtype=dtype) if group.name == "permutations" else torch.randn(4, 7, n, generator=gen, dtype=dtype)
    if data_type == "vector":
        return torch.randn(4, n, generator=gen, dtype=dtype)
    if data_type == "node_set":
        return torch.randn(n, 5, generator=gen, dtype=dtype)
    if data_type == "graph":
        from torch_geometric.data import Data

        k = n if group.name == "permutations" else 6
        dim = 3 if group.name == "permutations" else n
        ei = torch.tensor([[i for i in range(k - 1)], [i + 1 for i in range(k - 1)]])
        return Data(x=torch.randn(k, 2, generator=gen, dtype=dtype), pos=torch.randn(k, dim, generator=gen, dtype=dtype), edge_index=torch.cat([ei, ei.flip(0)], 1))
    raise TypeError(f"no example data for {data_type!r}; pass `data={{'{data_type}': ...}}`")


def _close(a: Any, b: Any) -> float:
    if isinstance(a, torch.Tensor):
        return _max_err(a.to(torch.float64), b.to(torch.float64))
    errs = [0.0]
    for key in a.keys():
        va, vb = a[key], b[key]
        if isinstance(va, torch.Tensor) and va.is_floating_point():
            errs.append(_max_err(va.double(), vb.double()))
        elif isinstance(va, torch.Tensor):
            errs.append(float((va != vb).any()))
    return max(errs)


def check_group(
    group: Any,
    *,
    n: int = 8,
    atol: float = 1e-8,
    seed: int = 0,
    data: dict[str, Any] | None = None,
) -> dict[str, float]:
    """Check the group axioms and the action laws, in float64.

    - ``g e = e g = g``; ``g g^{-1} = e``; ``(g h) k = g (h k)``;
    - for each data type in ``group.acts_on``: ``e . x = x`` and ``(g h) . x = g . (h . x)``.
    """
    gen = torch.Generator().manual_seed(seed)
    dt = torch.float64
    g, h, k = (group.sample(n, gen, dtype=dt) for _ in range(3))
    e = group.identity(n, dtype=dt)
    d = group.distance
    report: dict[str, float] = {
        "identity_left": float(d(group.compose(e, g), g).max()),
        "identity_right": float(d(group.compose(g, e), g).max()),
        "inverse": float(d(group.compose(g, group.inverse(g)), e).max()),
        "inverse_left": float(d(group.compose(group.inverse(g), g), e).max()),
        "associativity": float(d(group.compose(group.compose(g, h), k), group.compose(g, group.compose(h, k))).max()),
    }
    for data_type in group.acts_on:
        x = (data or {}).get(data_type)
        if x is None:
            x = _example_data(group, data_type, gen, dt)
        for i in range(min(n, 4)):
            gi, hi = g[i], h[i]
            lhs = group.act(group.compose(gi, hi), x, data_type)
            rhs = group.act(gi, group.act(hi, x, data_type), data_type)
            report[f"action_compat[{data_type}]"] = max(report.get(f"action_compat[{data_type}]", 0.0), _close(lhs, rhs))
            report[f"action_identity[{data_type}]"] = max(report.get(f"action_identity[{data_type}]", 0.0), _close(group.act(e[0], x, data_type), x))
    for key, val in report.items():
        if not val <= atol:
            _fail(f"group law {key!r} violated for {group!r}: {val:.3e} > {atol:.1e}", report)
    return report


# ---------------------------------------------------------------------------- equivariance
def check_equivariance(
    module: Callable[[Any], Any],
    group: Any,
    sample: Any,
    *,
    input_type: str = "point_cloud",
    output: str | Callable[[torch.Tensor, Any], Any] = "invariant",
    output_type: str | None = None,
    elements: torch.Tensor | None = None,
    n_elements: int = 8,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    seed: int = 0,
) -> dict[str, Any]:
    """Check ``f(g . x) = g . f(x)`` (or ``= f(x)``) for random group elements.

    Parameters
    ----------
    module : callable
        The map under test (a ``nn.Module`` or any function of the sample).
    group : Group
        A registered group (``ga.create("group", "so3")``).
    sample : Any
        An input (tensor or torch-geometric ``Data``).
    input_type : str
        How the group acts on the input (a data type in ``group.acts_on``).
    output : "invariant" | "equivariant" | callable
        ``"invariant"``: ``f(g.x) = f(x)``. ``"equivariant"``: the group acts on the output as
        on ``output_type`` (default: ``input_type``). A callable ``(g, y) -> y'`` gives a custom
        output action.
    elements : Tensor, optional
        Specific group elements to test (e.g. the rotations that map a grid to itself);
        ``n_elements`` random ones (seeded) otherwise.

    Returns
    -------
    dict with ``max_error`` (max over elements of ``max|lhs - rhs|``), ``scale``
    (``max|f(x)|``), ``errors`` (per element) and ``tolerance``.
    """
    was_training = getattr(module, "training", None)
    if was_training:
        module.eval()  # type: ignore[union-attr]
    try:
        gen = torch.Generator().manual_seed(seed)
        if elements is None:
            dtype = sample.dtype if isinstance(sample, torch.Tensor) and sample.is_floating_point() else torch.get_default_dtype()
            if not isinstance(sample, torch.Tensor) and getattr(sample, "pos", None) is not None:
                dtype = sample.pos.dtype
            elements = group.sample(n_elements, gen, dtype=dtype)
        with torch.no_grad():
            y = module(sample)
        if output == "invariant":
            def out_act(g: torch.Tensor, v: Any) -> Any:
                return v
        elif output == "equivariant":
            otype = output_type or input_type

            def out_act(g: torch.Tensor, v: Any) -> Any:
                return group.act(g, v, otype)
        elif callable(output):
            out_act = output
        else:
            raise ValueError(f"output must be 'invariant', 'equivariant' or a callable, got {output!r}")
        errors = []
        for g in elements:
            with torch.no_grad():
                lhs = module(group.act(g, sample, input_type))
            rhs = out_act(g, y)
            errors.append(_close(lhs, rhs))
        scale = _close(y, _zeros_like(y))
        tol = atol + rtol * scale
        report = {"max_error": max(errors), "errors": errors, "scale": scale, "tolerance": tol}
        if report["max_error"] > tol:
            _fail(f"not {output if isinstance(output, str) else 'equivariant'} under {group!r}: max error {report['max_error']:.3e} > {tol:.3e}", report)
        return report
    finally:
        if was_training:
            module.train()  # type: ignore[union-attr]


def _zeros_like(y: Any) -> Any:
    if isinstance(y, torch.Tensor):
        return torch.zeros_like(y)
    out = copy.copy(y)
    for key in y.keys():
        if isinstance(y[key], torch.Tensor):
            out[key] = torch.zeros_like(y[key])
    return out


# ---------------------------------------------------------------------------- descriptors
def check_descriptor(descriptor: Any, X: Any, y: Any = None, *, bad_input: Any = None) -> dict[str, Any]:
    """Check scikit-learn conventions and numeric hygiene of a descriptor.

    - ``fit`` returns ``self``; ``get_params``/``sklearn.base.clone`` round-trip;
    - ``transform`` gives one finite row per sample, deterministically;
    - per-sample descriptors give the same rows when transforming samples one at a time;
    - the fitted descriptor pickles (executors need that);
    - input with NaN (``bad_input``, or ``X``'s first sample with a NaN) raises ``ValueError``.
    """
    from sklearn.base import clone

    report: dict[str, Any] = {}
    d = clone(descriptor)
    if d.get_params() != descriptor.get_params():
        _fail("clone(descriptor).get_params() differs: store constructor arguments unchanged", report)
    fitted = d.fit(X, y)
    if fitted is not d:
        _fail("fit must return self", report)
    F1 = _to_numpy(d.transform(X))
    F2 = _to_numpy(d.transform(X))
    report["n_samples"], report["n_features"] = F1.shape[0], (F1.shape[1] if F1.ndim > 1 else 1)
    if F1.shape[0] != len(X):
        _fail(f"transform returned {F1.shape[0]} rows for {len(X)} samples", report)
    if not np.isfinite(F1).all():
        _fail("transform produced NaN/Inf", report)
    report["determinism"] = float(np.abs(F1 - F2).max()) if F1.size else 0.0
    if report["determinism"] > 1e-9:
        _fail("transform is not deterministic", report)
    if getattr(d, "per_sample", False):
        k = min(3, len(X))
        rows = np.concatenate([_to_numpy(d.transform(X[i : i + 1])) for i in range(k)])
        report["per_sample_consistency"] = float(np.abs(rows - F1[:k]).max()) if rows.size else 0.0
        if report["per_sample_consistency"] > 1e-6:
            _fail("transforming samples one at a time differs from transforming the batch", report)
    pickle.loads(pickle.dumps(d))
    if bad_input is None and isinstance(X, (np.ndarray, torch.Tensor)) and np.issubdtype(np.asarray(X[:1]).dtype, np.floating):
        bad = np.array(X[:1], dtype=np.float64, copy=True)
        bad.reshape(-1)[0] = np.nan
        bad_input = bad.astype(np.asarray(X).dtype)
    elif bad_input is None and isinstance(X, list) and len(X) and isinstance(X[0], np.ndarray):
        b0 = np.array(X[0], dtype=np.float64, copy=True)
        b0.reshape(-1)[0] = np.nan
        bad_input = [b0]
    if bad_input is not None:
        try:
            d.transform(bad_input)
        except ValueError:
            report["nan_rejected"] = True
        else:
            _fail("transform accepted input with NaN instead of raising ValueError", report)
    return report


def _to_numpy(F: Any) -> np.ndarray:
    if isinstance(F, torch.Tensor):
        return F.detach().cpu().numpy()
    return np.asarray(F)
