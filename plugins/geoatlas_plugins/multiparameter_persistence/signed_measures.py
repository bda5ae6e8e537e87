"""Signed measures (Hilbert / Euler decompositions) and their differentiable vectorisations.

- Signed barcodes as measures: Loiseaux, Scoccola, Carrière, Botnan, Oudot, "Stable Vectorization
  of Multiparameter Persistent Homology using Signed Barcodes as Measures", NeurIPS 2023.
- Differentiability: Scoccola, Setlur, Loiseaux, Carrière, Oudot, "Differentiability and
  Optimization of Multiparameter Persistent Homology", ICML 2024 — the atoms' coordinates are
  filtration values of specific simplices, read from the exact grid with a torch ``gather``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from geoatlas.interfaces import Descriptor

from ._checks import (
    check_box,
    check_choice,
    check_degrees,
    check_positive,
    check_resolution,
    iter_samples,
)
from .filtrations import Bifiltration, make_filtration

__all__ = [
    "SignedMeasure",
    "compute_signed_measures",
    "convolve_signed_measure",
    "sliced_wasserstein",
    "zero_mass",
]

SignedMeasureT = tuple[torch.Tensor, torch.Tensor]


def compute_signed_measures(
    bif: Bifiltration, invariant: str = "hilbert", degrees: Sequence[int] = (0, 1)
) -> list[SignedMeasureT]:
    """Signed measures of a bifiltration, one ``(points (K, n), weights (K,))`` per degree.

    ``invariant="hilbert"``: Möbius inversion of the Hilbert function of ``H_d`` for each ``d``
    in ``degrees``. ``invariant="euler"``: the Euler characteristic (one measure; ``degrees`` is
    ignored). Points are differentiable functions of the bifiltration's sources.
    """
    import multipers as mp

    check_choice(invariant, "invariant", ("hilbert", "euler"))
    if bif.n_parameters < 2:
        raise ValueError(f"signed measures need a filtration with >= 2 parameters (multipers 2.3.2); this one has {bif.n_parameters}")
    if bif.degree_rips is not None:
        if invariant != "hilbert":
            raise ValueError("degree-Rips bifiltrations are multi-critical: only invariant='hilbert' is available (multipers 2.3.2)")
        return bif.degree_rips_measures(check_degrees(degrees))
    grids = bif.grids()
    grids_np = [g.detach().numpy() for g in grids]
    degs: list[int | None] = [None] if invariant == "euler" else list(check_degrees(degrees))
    if bif.bitmap is not None:
        sms = mp.signed_measure(bif.squeezed(grids_np), degrees=degs, invariant=invariant, coordinate_measure=True, n_jobs=1)
        used = grids_np
    else:
        # multipers squeezes the complex once, onto the values it takes (after an edge collapse, a
        # few hundred radii instead of every pairwise distance): a smaller Hilbert grid, no copy of
        # a pre-squeezed tree (issue 22). Coordinates on that grid are mapped back to the sources'
        # differentiable grid below; the atoms are the same (a grid value the complex does not take
        # carries no mass).
        from multipers.grids import compute_grid

        used = [np.asarray(g, dtype=np.float64) for g in compute_grid(bif.complex, strategy="exact")]
        if not all(np.isin(u, g).all() for u, g in zip(used, grids_np, strict=True)):
            used = grids_np  # the complex holds values its sources do not: squeeze onto the sources' grid
        sms = mp.signed_measure(bif.complex, degrees=degs, invariant=invariant, grid=used, coordinate_measure=True, n_jobs=1)
    n = bif.n_parameters
    sizes = np.array([len(g) for g in used])
    out: list[SignedMeasureT] = []
    for idx, w in sms:
        idx = np.asarray(idx, dtype=np.int64).reshape(-1, n)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        finite = (idx < sizes[None, :]).all(1) & (idx >= 0).all(1) & (w != 0)
        idx, w = idx[finite], w[finite]
        if len(idx):
            cols = []
            for p in range(n):
                pos = idx[:, p] if used is grids_np else np.searchsorted(grids_np[p], used[p][idx[:, p]])
                cols.append(grids[p][torch.as_tensor(pos)])
            pts = torch.stack(cols, 1)
        else:
            pts = torch.zeros((0, n), dtype=torch.float64)
        out.append((pts, torch.as_tensor(w)))
    return out


def zero_mass(sm: SignedMeasureT, corner: torch.Tensor | np.ndarray) -> SignedMeasureT:
    """Add an atom at ``corner`` so that the total mass is 0 (needed by Wasserstein distances)."""
    pts, w = sm
    corner = torch.as_tensor(np.asarray(corner, dtype=np.float64)).reshape(1, -1)
    total = w.sum()
    if float(total) == 0:
        return pts, w
    return torch.cat([pts, corner.to(pts.dtype)]), torch.cat([w, -total.reshape(1)])


def _axes(box: np.ndarray, resolution: Sequence[int]) -> list[torch.Tensor]:
    """The regular grid's coordinates along each parameter."""
    return [torch.linspace(float(box[0, p]), float(box[1, p]), int(resolution[p]), dtype=torch.float64) for p in range(box.shape[1])]


def _axis_grid(box: np.ndarray, resolution: Sequence[int]) -> torch.Tensor:
    mesh = torch.meshgrid(*_axes(box, resolution), indexing="ij")
    return torch.stack([m.reshape(-1) for m in mesh], 1)


def convolve_signed_measure(
    sm: SignedMeasureT,
    box: np.ndarray,
    resolution: Sequence[int],
    bandwidth: float,
    kernel: str = "gaussian",
) -> torch.Tensor:
    """``sum_k w_k K_sigma(x - p_k)`` on the regular grid over ``box`` (first axis slowest).

    ``gaussian``: ``K(z) = exp(-|z|^2 / (2 sigma^2)) / (sigma sqrt(2 pi))^n`` (the kernel of
    ``multipers``' convolution); ``exponential``: ``K(z) = exp(-|z| / sigma)``.
    """
    pts, w = sm
    if kernel not in ("gaussian", "exponential"):
        raise ValueError(f"kernel must be 'gaussian' or 'exponential', got {kernel!r}")
    n = box.shape[1]
    if kernel == "gaussian":
        # separable on the product grid: exp(-|g - p|^2 / 2s^2) = prod_q exp(-(g_q - p_q)^2 / 2s^2),
        # so the image is sum_k w_k E_1[:, k] x ... x E_n[:, k]: n x (res_q x K) exponentials instead
        # of prod_q res_q x K (issue 22; equal to the direct sum to rounding, pinned in the tests)
        axes = _axes(box, resolution)
        if len(pts) == 0:
            return torch.zeros(int(np.prod([len(a) for a in axes])), dtype=torch.float64)
        p = pts.to(torch.float64)
        E = [torch.exp(-((a[:, None] - p[None, :, q]) ** 2) / (2 * bandwidth**2)) for q, a in enumerate(axes)]
        img = E[0] * (w.to(torch.float64) / (bandwidth * np.sqrt(2 * np.pi)) ** n)[None, :]  # (r_1, K)
        if n == 1:
            return img.sum(1)
        for Eq in E[1:-1]:  # rows: the grid indices so far, first axis slowest
            img = (img[:, None, :] * Eq[None, :, :]).reshape(-1, len(p))
        return (img @ E[-1].T).reshape(-1)
    grid = _axis_grid(box, resolution)
    if len(pts) == 0:
        return torch.zeros(len(grid), dtype=torch.float64)
    diff = grid[:, None, :] - pts[None, :, :].to(torch.float64)
    sq = (diff**2).sum(-1)
    K = torch.exp(-torch.where(sq > 0, sq.clamp_min(1e-300).sqrt(), torch.zeros_like(sq)) / bandwidth)  # exponential
    return K @ w.to(torch.float64)


def _w1_1d(t: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """W1 between the positive and negative parts of zero-mass 1-D signed measures.

    ``t``: positions ``(K, M)`` (one column per direction), ``s``: signed weights ``(K,)``.
    ``W1 = int |F_+ - F_-| = sum_i |c_i| (t_(i+1) - t_(i))`` with ``c`` the cumulative weights
    in sorted order. Returns ``(M,)``.
    """
    order = torch.argsort(t.detach(), dim=0)
    ts = torch.gather(t, 0, order)
    c = torch.cumsum(s[order], 0)[:-1]
    return (c.abs() * (ts[1:] - ts[:-1])).sum(0)


def sliced_wasserstein(mu: SignedMeasureT, nu: SignedMeasureT, directions: torch.Tensor) -> torch.Tensor:
    """Sliced Wasserstein distance between two zero-mass signed measures.

    ``SW(mu, nu) = mean_theta W1(theta_#(mu+ + nu-), theta_#(nu+ + mu-))`` (NeurIPS 2023,
    signed barcodes as measures); both measures must have total mass 0 (see :func:`zero_mass`).
    """
    (p, a), (q, b) = mu, nu
    pts = torch.cat([p, q]).to(torch.float64)
    s = torch.cat([a, -b]).to(torch.float64)
    if len(pts) == 0:
        return torch.zeros((), dtype=torch.float64)
    if abs(float(s.sum())) > 1e-9:
        raise ValueError("sliced_wasserstein needs measures of equal total mass; apply zero_mass first")
    proj = pts @ directions.to(torch.float64).T  # (K, M)
    return _w1_1d(proj, s).mean()


def _directions(n: int, num: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(seed))
    d = torch.randn(num, n, generator=g, dtype=torch.float64)
    return d / d.norm(dim=1, keepdim=True)


class SignedMeasure(Descriptor):
    """Hilbert / Euler signed measures of a bifiltration, vectorised (differentiably) in torch.

    Each sample goes through a bifiltration (``filtration``), ``multipers`` computes the signed
    measure(s) on the exact grid, and the measure is vectorised:

    - ``vectorization="convolution"``: ``v(x) = sum_k w_k K_sigma(x - p_k)`` on a
      ``resolution``-point grid per axis over ``box``, concatenated over degrees;
    - ``vectorization="sliced_wasserstein"``: ``exp(-SW(mu, mu_j) / (2 s^2))`` for ``n_references``
      training measures ``mu_j`` (the sliced Wasserstein kernel as features).

    With torch inputs (a tensor ``(N, P, d)`` or a list of tensors) ``transform`` returns a torch
    tensor whose gradients flow back to the points / filtration values.

    Parameters
    ----------
    filtration : str
        ``rips_codensity``, ``rips_function``, ``delaunay_core``, ``graph_function_bifiltration``,
        ``cubical_bifiltration``.
    filtration_params : dict, optional
        Parameters of the filtration (e.g. ``{"bandwidth": 0.1}``).
    invariant : {"hilbert", "euler"}
    degrees : list of int
        Homological degrees (Hilbert only).
    vectorization : {"convolution", "sliced_wasserstein"}
    resolution : int or list of int
        Grid size per axis (convolution).
    bandwidth : float
        Kernel bandwidth ``sigma`` (in rescaled units when ``rescale``).
    kernel : {"gaussian", "exponential"}
    rescale : bool
        Map each parameter's ``box`` range to ``[0, 1]`` before vectorising (one bandwidth then
        fits all parameters).
    box : [[lo...], [hi...]], optional
        Fixed box; default: the range of the training filtration values (``fit``).
    num_directions, sw_bandwidth, n_references, seed : sliced Wasserstein settings.
    collapse : bool
        Edge-collapse 2-parameter flag complexes before expanding (keeps the Hilbert function;
        never used for the Euler characteristic).
    """

    input_type: ClassVar[str] = "point_cloud"
    differentiable: ClassVar[bool] = True
    per_sample: ClassVar[bool] = True

    def __init__(
        self,
        filtration: str = "rips_codensity",
        filtration_params: dict[str, Any] | None = None,
        invariant: str = "hilbert",
        degrees: Sequence[int] = (0, 1),
        vectorization: str = "convolution",
        resolution: int | Sequence[int] = 16,
        bandwidth: float = 0.05,
        kernel: str = "gaussian",
        rescale: bool = True,
        box: Sequence[Sequence[float]] | None = None,
        num_directions: int = 10,
        sw_bandwidth: float = 1.0,
        n_references: int = 20,
        seed: int = 0,
        collapse: bool = True,
    ) -> None:
        self.filtration = filtration
        self.filtration_params = filtration_params
        self.invariant = invariant
        self.degrees = degrees
        self.vectorization = vectorization
        self.resolution = resolution
        self.bandwidth = bandwidth
        self.kernel = kernel
        self.rescale = rescale
        self.box = box
        self.num_directions = num_directions
        self.sw_bandwidth = sw_bandwidth
        self.n_references = n_references
        self.seed = seed
        self.collapse = collapse
        self.input_type = make_filtration(filtration, filtration_params).input_type

    # ------------------------------------------------------------------ helpers
    def _validate(self) -> None:
        check_choice(self.invariant, "invariant", ("hilbert", "euler"))
        check_choice(self.vectorization, "vectorization", ("convolution", "sliced_wasserstein"))
        check_choice(self.kernel, "kernel", ("gaussian", "exponential"))
        check_positive(self.bandwidth, "bandwidth")
        check_positive(self.sw_bandwidth, "sw_bandwidth")
        if self.invariant == "hilbert":
            check_degrees(self.degrees)
        for name in ("num_directions", "n_references"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")

    def _max_dim(self) -> int:
        return 2 if self.invariant == "euler" else max(check_degrees(self.degrees)) + 1

    def _measures(self, sample: Any) -> list[SignedMeasureT]:
        if isinstance(sample, Bifiltration):  # output of a filtration step, used as built
            return compute_signed_measures(sample, self.invariant, self.degrees)
        filt = make_filtration(self.filtration, self.filtration_params)
        collapse = bool(self.collapse) and self.invariant == "hilbert"
        # signed measures do not depend on the vertex numbering: keep the input's (a faster collapse)
        bif = filt.build(sample, max_dim=self._max_dim(), collapse=collapse, order_vertices=False)
        return compute_signed_measures(bif, self.invariant, self.degrees)

    def _bounds(self, sample: Any) -> np.ndarray:
        if isinstance(sample, Bifiltration):
            return sample.bounds()
        filt = make_filtration(self.filtration, self.filtration_params)
        return filt.bounds(sample)

    def _scaled(self, sm: SignedMeasureT) -> SignedMeasureT:
        pts, w = sm
        if not self.rescale:
            return pts, w
        lo = torch.as_tensor(self.box_[0])
        span = torch.as_tensor(self.box_[1] - self.box_[0])
        return (pts - lo) / span, w

    def _vec_box(self) -> np.ndarray:
        if self.rescale:
            n = self.box_.shape[1]
            return np.stack([np.zeros(n), np.ones(n)])
        return self.box_

    # ------------------------------------------------------------------ API
    def fit(self, X: Any, y: Any = None) -> SignedMeasure:
        """Fix the box (range of the training filtration values) and the SW references."""
        self._validate()
        samples = iter_samples(X)
        if len(samples) == 0:
            raise ValueError("X is empty: fit needs at least one sample")
        box = check_box(self.box)
        if box is None:
            b = np.stack([self._bounds(s) for s in samples])
            box = np.stack([b[:, 0].min(0), b[:, 1].max(0)])
            same = box[1] <= box[0]
            box[1, same] = box[0, same] + 1.0
            # 1% margin: no pixel sits exactly on the extreme filtration values of the training set
            # (multipers' image is discontinuous where a pixel coordinate equals a birth coordinate)
            margin = 0.01 * (box[1] - box[0])
            box = np.stack([box[0] - margin, box[1] + margin])
        self.box_ = box
        if self.vectorization == "sliced_wasserstein":
            rng = np.random.default_rng(self.seed)
            idx = rng.choice(len(samples), size=min(int(self.n_references), len(samples)), replace=False)
            self.directions_ = _directions(box.shape[1], int(self.num_directions), int(self.seed))
            self.references_ = [[self._prepare(sm, detach=True) for sm in self._measures(samples[i])] for i in sorted(idx)]
        return self

    def _prepare(self, sm: SignedMeasureT, detach: bool = False) -> SignedMeasureT:
        pts, w = self._scaled(sm)
        corner = self._vec_box()[1]
        pts, w = zero_mass((pts, w), corner)
        return (pts.detach(), w.detach()) if detach else (pts, w)

    def transform_one(self, sample: Any) -> torch.Tensor:
        """The feature vector of one sample (a torch tensor, differentiable)."""
        if not hasattr(self, "box_"):
            raise RuntimeError("SignedMeasure is not fitted: call fit(X) first")
        sms = self._measures(sample)
        if self.vectorization == "convolution":
            res = check_resolution(self.resolution, self.box_.shape[1])
            return torch.cat([convolve_signed_measure(self._scaled(sm), self._vec_box(), res, float(self.bandwidth), self.kernel) for sm in sms])
        feats = []
        for j, sm in enumerate(sms):
            mu = self._prepare(sm)
            for ref in self.references_:
                sw = sliced_wasserstein(mu, ref[j], self.directions_)
                feats.append(torch.exp(-sw / (2 * float(self.sw_bandwidth) ** 2)))
        return torch.stack(feats)

    def transform(self, X: Any) -> Any:
        """Features ``(n_samples, n_features)``: numpy for numpy input, torch for torch input."""
        self._validate()
        samples = iter_samples(X)
        as_torch = isinstance(X, torch.Tensor) or any(isinstance(s, torch.Tensor) for s in samples)
        rows = [self.transform_one(s) for s in samples]
        if not rows:
            return torch.zeros((0, 0), dtype=torch.float64) if as_torch else np.zeros((0, 0))
        F = torch.stack(rows)
        # torch out for torch input, or whenever gradients flow (e.g. graphs with trainable node features)
        return F if as_torch or F.requires_grad else F.detach().numpy()
