"""The modified inertia task of PER (after EMLP's inertia dataset), generated with a seed."""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset

AXES = {"x": 0, "y": 1, "z": 2}


def inertia_targets(masses: np.ndarray, pos: np.ndarray, breaking: float, axis: int) -> np.ndarray:
    """``I = sum_k m_k (|x_k|^2 I - x_k x_k^T) + breaking * sum_k m_k x_{k,axis}^2 e_axis e_axis^T``.

    The first term is O(3)-equivariant; the second keeps only the O(2) of the plane orthogonal
    to ``axis`` (``x_axis`` and ``e_axis e_axis^T`` are fixed by it), so the target has an exact
    O(2) symmetry and an approximate O(3) one whose error grows with ``breaking``.
    """
    sq = (pos**2).sum(-1)  # (N, P)
    eye = np.eye(3)
    inertia = np.einsum("np,np,ij->nij", masses, sq, eye) - np.einsum("np,npi,npj->nij", masses, pos, pos)
    e = eye[axis]
    inertia += breaking * np.einsum("np,np->n", masses, pos[..., axis] ** 2)[:, None, None] * np.outer(e, e)
    return inertia.reshape(len(inertia), 9)


class ModifiedInertia(Dataset):
    """Regression: 5 masses and positions -> (modified) inertia tensor (9 numbers, row-major).

    ``X`` rows are ``[m_1..m_P, x_1, y_1, z_1, ..., x_P, y_P, z_P]``; masses ~ U(0.5, 1.5),
    positions ~ N(0, 1). ``breaking > 0`` breaks O(3) down to O(2) about ``axis``.
    """

    data_type = "vector"
    task = "regression"

    def __init__(self, n_samples: int = 1000, n_particles: int = 5, breaking: float = 0.3, axis: str = "z", seed: int = 0) -> None:
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int, got {n_samples!r}")
        if not isinstance(n_particles, int) or n_particles < 1:
            raise ValueError(f"n_particles must be a positive int, got {n_particles!r}")
        if axis not in AXES:
            raise ValueError(f"axis must be one of {sorted(AXES)}, got {axis!r}")
        if not breaking >= 0:
            raise ValueError(f"breaking must be >= 0, got {breaking}")
        self.n_samples, self.n_particles, self.breaking, self.axis, self.seed = n_samples, n_particles, breaking, axis, seed

    def load(self) -> DataBundle:
        rng = np.random.default_rng(self.seed)
        m = rng.uniform(0.5, 1.5, size=(self.n_samples, self.n_particles))
        x = rng.normal(size=(self.n_samples, self.n_particles, 3))
        y = inertia_targets(m, x, self.breaking, AXES[self.axis])
        X = np.concatenate([m, x.reshape(self.n_samples, -1)], 1).astype(np.float32)
        return DataBundle(X, y.astype(np.float32), "vector", task="regression",
                          meta={"n_scalars": self.n_particles, "symmetry": f"O(2) about {self.axis}" if self.breaking else "O(3)"})
