"""PCA frames of Puny et al. (ICLR 2022), Sec. 3.3, for O(n), SO(n), E(n) and SE(n).

For a point cloud ``X`` (``P x n``), the frame of E(n) is

    t = X^T 1 / P,   C = (X - 1 t^T)^T (X - 1 t^T) = V diag(lambda) V^T,
    F(X) = {(V diag(s), t) : s in {-1, +1}^n},

with the eigenvectors ordered by eigenvalue. O(n) uses ``t = 0`` (no centring, ``C = X^T X``),
SO(n)/SE(n) keep the ``2^(n-1)`` frames with ``det(V diag(s)) = +1``. The frame is well defined
(and equivariant, ``F(g.X) = g F(X)``) when ``C`` has a simple spectrum.
"""

from __future__ import annotations

import itertools
import warnings

import torch

#: canonical frame groups and the aliases accepted for them
GROUP_ALIASES: dict[str, str] = {
    "o_n": "o_n", "on": "o_n", "o3": "o_n", "o2": "o_n",
    "son": "son", "so_n": "son", "so3": "son", "so2": "son",
    "e_n": "e_n", "en": "e_n", "e3": "e_n", "e2": "e_n",
    "se_n": "se_n", "sen": "se_n", "se3": "se_n", "se2": "se_n",
}
ON_DEGENERATE = ("error", "warn", "ignore")


class DegenerateFrameError(ValueError):
    """The covariance of a point cloud has (numerically) repeated eigenvalues."""


def canonical_group(group: str) -> str:
    """Map a group name (``"se3"``, ``"o_n"``, ...) to one of ``o_n, son, e_n, se_n``."""
    if not isinstance(group, str) or group.lower() not in GROUP_ALIASES:
        raise ValueError(f"group must be one of {sorted(GROUP_ALIASES)}, got {group!r}")
    return GROUP_ALIASES[group.lower()]


def sign_patterns(n: int, special: bool, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """All sign vectors ``s in {-1,1}^n`` (``(2^n, n)``), or those with ``prod(s) = +1``."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    signs = torch.tensor(list(itertools.product((1.0, -1.0), repeat=n)), dtype=dtype)
    return signs[signs.prod(-1) > 0] if special else signs


def eigengap(eigenvalues: torch.Tensor) -> torch.Tensor:
    """Smallest gap between consecutive sorted eigenvalues, relative to the largest one."""
    lam = eigenvalues
    scale = lam.abs().amax(-1).clamp_min(torch.finfo(lam.dtype).tiny)
    if lam.shape[-1] < 2:
        return torch.ones_like(scale)
    return (lam[..., 1:] - lam[..., :-1]).amin(-1) / scale


def pca_frames(
    X: torch.Tensor,
    group: str = "e_n",
    *,
    degenerate_tol: float = 1e-5,
    on_degenerate: str = "error",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The PCA frames ``F(X)`` of a batch of point clouds.

    Parameters
    ----------
    X : Tensor
        Point clouds ``(B, P, n)`` (or one cloud ``(P, n)``).
    group : str
        ``o_n``, ``son``, ``e_n`` or ``se_n`` (aliases such as ``"se3"`` accepted).
    degenerate_tol : float
        A cloud whose relative eigengap ``min_i (lambda_{i+1}-lambda_i)/lambda_max`` is below this
        value has no well-defined PCA frame.
    on_degenerate : {"error", "warn", "ignore"}
        What to do with such clouds: raise :class:`DegenerateFrameError` (a ``ValueError``),
        warn and use the arbitrary eigenbasis ``eigh`` returns (equivariance is then lost for
        those clouds), or silently use it.

    Returns
    -------
    R : Tensor ``(B, F, n, n)``
        Orthogonal parts ``V diag(s)`` of the frame elements (columns are the frame axes).
    t : Tensor ``(B, n)``
        Translation part (the centroid; zero for O(n)/SO(n)).
    """
    g = canonical_group(group)
    if on_degenerate not in ON_DEGENERATE:
        raise ValueError(f"on_degenerate must be one of {ON_DEGENERATE}, got {on_degenerate!r}")
    if not degenerate_tol >= 0:
        raise ValueError(f"degenerate_tol must be >= 0, got {degenerate_tol}")
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"X must be a torch.Tensor of point clouds (B, P, n), got {type(X).__name__}")
    single = X.dim() == 2
    if single:
        X = X.unsqueeze(0)
    if X.dim() != 3:
        raise ValueError(f"X must be point clouds of shape (B, P, n) or (P, n), got shape {tuple(X.shape)}")
    if X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"X must hold at least one point with at least one coordinate, got shape {tuple(X.shape)}")
    if not torch.isfinite(X).all():
        raise ValueError("X contains NaN or Inf values")
    n = X.shape[-1]
    if g in ("e_n", "se_n"):
        t = X.mean(dim=1)
    else:
        t = torch.zeros(X.shape[0], n, dtype=X.dtype, device=X.device)
    Xc = X - t.unsqueeze(1)
    C = Xc.transpose(1, 2) @ Xc
    lam, V = torch.linalg.eigh(C)  # ascending eigenvalues, orthonormal eigenvectors (columns)
    gap = eigengap(lam)
    bad = gap < degenerate_tol
    if bad.any() and on_degenerate != "ignore":
        idx = torch.nonzero(bad).flatten().tolist()
        msg = (
            f"degenerate PCA frame for {len(idx)} point cloud(s) (indices {idx[:10]}"
            f"{'...' if len(idx) > 10 else ''}): the covariance has repeated eigenvalues "
            f"(relative eigengap {float(gap[bad].min()):.2e} < degenerate_tol={degenerate_tol:g}), so the "
            "frame is not unique and frame averaging is not exactly invariant/equivariant for it "
            "(e.g. symmetric shapes, a single point, collinear points in 3-D). Use "
            "on_degenerate='warn' or 'ignore' to proceed with an arbitrary eigenbasis."
        )
        if on_degenerate == "error":
            raise DegenerateFrameError(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=2)
    special = g in ("son", "se_n")
    signs = sign_patterns(n, special=False, dtype=X.dtype).to(X.device)  # (2^n, n)
    R = V.unsqueeze(1) * signs.unsqueeze(0).unsqueeze(-2)  # (B, 2^n, n, n): column j scaled by s_j
    if special:
        # det(V diag(s)) = det(V) prod(s): keep the half with det +1 (which half depends on det V)
        detV = torch.linalg.det(V).sign()  # (B,)
        keep = (signs.prod(-1).unsqueeze(0) * detV.unsqueeze(1)) > 0  # (B, 2^n)
        R = R[keep].reshape(X.shape[0], signs.shape[0] // 2, n, n)
    return (R[0], t[0]) if single else (R, t)
