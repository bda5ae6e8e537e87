"""The modified inertia task of PER (Kim et al., ICML 2023, Sec. 6.1), generated with a seed.

The default target and mass distribution are the authors' (``experiments/datasets.py::
ModifiedInertia`` of kim-hyunsu/PER, read, not copied): masses ``softplus(N(0, 1))``, positions
``N(0, 1)`` and ``Y = I + beta (I e_z) e_z^T`` with ``I`` the inertia tensor and ``beta = 0.3``.
``target="symmetric"`` keeps this project's earlier symmetric look-alike.
"""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset

AXES = {"x": 0, "y": 1, "z": 2}
TARGETS = ("paper", "symmetric")
MASSES = ("softplus", "uniform")


def inertia_tensor(masses: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``I = sum_k m_k (|x_k|^2 I_3 - x_k x_k^T)`` for masses (N, P) and positions (N, P, 3) -> (N, 3, 3)."""
    sq = (pos**2).sum(-1)  # (N, P)
    return np.einsum("np,np,ij->nij", masses, sq, np.eye(3)) - np.einsum("np,npi,npj->nij", masses, pos, pos)


def paper_targets(masses: np.ndarray, pos: np.ndarray, breaking: float, axis: int) -> np.ndarray:
    """The paper's modified inertia ``Y = I + breaking * (I e_axis) e_axis^T`` (row-major, 9 numbers).

    ``(I e_axis) e_axis^T`` adds ``breaking`` times the ``axis`` column of ``I`` to that column, so
    ``Y`` is not symmetric. Both factors transform as vectors under every ``g`` with
    ``g e_axis = +-e_axis`` (the O(2) of the plane orthogonal to ``axis``), so ``Y`` is exactly
    O(2)-equivariant (``Y(gx) = g Y(x) g^T``) and only approximately O(3)-equivariant.
    """
    inertia = inertia_tensor(masses, pos)
    e = np.eye(3)[axis]
    target = inertia + breaking * np.einsum("nij,j,k->nik", inertia, e, e)
    return target.reshape(len(target), 9)


def inertia_targets(masses: np.ndarray, pos: np.ndarray, breaking: float, axis: int) -> np.ndarray:
    """Symmetric look-alike: ``I + breaking * sum_k m_k x_{k,axis}^2 e_axis e_axis^T``.

    The first term is O(3)-equivariant; the second keeps only the O(2) of the plane orthogonal
    to ``axis`` (``x_axis`` and ``e_axis e_axis^T`` are fixed by it), so the target has an exact
    O(2) symmetry and an approximate O(3) one whose error grows with ``breaking``.
    """
    inertia = inertia_tensor(masses, pos)
    e = np.eye(3)[axis]
    inertia += breaking * np.einsum("np,np->n", masses, pos[..., axis] ** 2)[:, None, None] * np.outer(e, e)
    return inertia.reshape(len(inertia), 9)


class ModifiedInertia(Dataset):
    """Regression: 5 masses and positions -> (modified) inertia tensor (9 numbers, row-major).

    ``X`` rows are ``[m_1..m_P, x_1, y_1, z_1, ..., x_P, y_P, z_P]``; positions ~ N(0, 1);
    ``masses``: ``"softplus"`` (the paper's ``softplus(N(0, 1))``, default) or ``"uniform"``
    (U(0.5, 1.5)). ``target``: ``"paper"`` (default, ``I + breaking (I e_axis) e_axis^T``) or
    ``"symmetric"`` (``I + breaking sum m x_axis^2 e_axis e_axis^T``). ``breaking > 0`` breaks
    O(3) down to O(2) about ``axis`` (paper: 0.3 about z).
    """

    data_type = "vector"
    task = "regression"

    def __init__(self, n_samples: int = 1000, n_particles: int = 5, breaking: float = 0.3, axis: str = "z", seed: int = 0,
                 target: str = "paper", masses: str = "softplus") -> None:
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        if not isinstance(n_particles, int) or n_particles < 1:
            raise ValueError(f"n_particles must be a positive int, got {n_particles!r}")
        if axis not in AXES:
            raise ValueError(f"axis must be one of {sorted(AXES)}, got {axis!r}")
        if isinstance(breaking, bool) or not isinstance(breaking, (int, float)) or not breaking >= 0 or not np.isfinite(breaking):
            raise ValueError(f"breaking must be a finite number >= 0, got {breaking!r}")
        if target not in TARGETS:
            raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
        if masses not in MASSES:
            raise ValueError(f"masses must be one of {MASSES}, got {masses!r}")
        self.target, self.masses = target, masses
        self.n_samples, self.n_particles, self.breaking, self.axis, self.seed = n_samples, n_particles, breaking, axis, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        if self.masses == "softplus":
            m = np.logaddexp(0.0, rng.normal(size=(self.n_samples, self.n_particles)))  # softplus, overflow-safe
        else:
            m = rng.uniform(0.5, 1.5, size=(self.n_samples, self.n_particles))
        x = rng.normal(size=(self.n_samples, self.n_particles, 3))
        make = paper_targets if self.target == "paper" else inertia_targets
        y = make(m, x, self.breaking, AXES[self.axis])
        X = np.concatenate([m, x.reshape(self.n_samples, -1)], 1).astype(np.float32)
        return DataBundle(X, y.astype(np.float32), "vector", task="regression",
                          meta={"n_scalars": self.n_particles, "target": self.target, "masses": self.masses, "symmetry": f"O(2) about {self.axis}" if self.breaking else "O(3)"})
