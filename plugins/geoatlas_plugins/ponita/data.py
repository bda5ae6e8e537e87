"""A synthetic molecular-like regression dataset whose target is an SE(n) invariant."""

from __future__ import annotations

import itertools

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset


def particle_energy(pos: np.ndarray, charge: np.ndarray, three_body: float = 10.0, softening: float = 1.0) -> float:
    """Softened Coulomb pair energy plus an Axilrod–Teller–Muto three-body term.

    ``E = sum_{i<j} q_i q_j / s_ij + λ sum_{i<j<k} (1 + 3 cos γ_i cos γ_j cos γ_k) / (s_ij s_jk s_ki)^3``
    with ``s_ij = sqrt(|x_i - x_j|^2 + softening)`` and ``γ`` the interior angles of the triangle.
    The three-body term depends on angles, not only on pair distances.
    """
    n = len(pos)
    e = 0.0
    s = np.sqrt(((pos[:, None] - pos[None]) ** 2).sum(-1) + softening)
    for i, j in itertools.combinations(range(n), 2):
        e += charge[i] * charge[j] / s[i, j]
    if three_body:
        for i, j, k in itertools.combinations(range(n), 3):
            cos = 1.0
            for a, b, c in ((i, j, k), (j, k, i), (k, i, j)):
                u, v = pos[b] - pos[a], pos[c] - pos[a]
                cos *= float(u @ v / max(np.linalg.norm(u) * np.linalg.norm(v), 1e-12))
            e += three_body * (1 + 3 * cos) / (s[i, j] * s[j, k] * s[k, i]) ** 3
    return float(e)


class ChargedParticlesEnergy(Dataset):
    """Clouds of ``n_particles`` charged particles (Gaussian positions, charges ±1); target:
    the invariant energy of :func:`particle_energy`. Graphs carry ``pos`` and ``x`` (the charge);
    no edges (PONITA connects them fully, or by ``radius``).

    Parameters
    ----------
    n_graphs : int
        Number of samples.
    n_particles : int
        Particles per sample (>= 2).
    dim : int
        2 or 3.
    three_body : float
        Weight of the three-body (angle-dependent) term.
    seed : int
        Seed of the generator.
    """

    data_type = "graph"
    task = "regression"

    def __init__(self, n_graphs: int = 400, n_particles: int = 6, dim: int = 3, three_body: float = 10.0, seed: int = 0) -> None:
        for k, v, lo in (("n_graphs", n_graphs, 1), ("n_particles", n_particles, 2)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
                raise ValueError(f"{k} must be an integer >= {lo}, got {v!r}")
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        if not np.isfinite(three_body):
            raise ValueError(f"three_body must be finite, got {three_body!r}")
        self.n_graphs, self.n_particles, self.dim = n_graphs, n_particles, dim
        self.three_body, self.seed = three_body, seed

    def load(self) -> DataBundle:
        import torch
        from torch_geometric.data import Data

        rng = np.random.default_rng(self.seed)
        graphs, ys = [], []
        for _ in range(self.n_graphs):
            pos = rng.normal(size=(self.n_particles, self.dim))
            q = rng.choice([-1.0, 1.0], size=self.n_particles)
            y = particle_energy(pos, q, self.three_body)
            graphs.append(Data(pos=torch.tensor(pos, dtype=torch.float32), x=torch.tensor(q[:, None], dtype=torch.float32),
                               y=torch.tensor([y], dtype=torch.float32)))
            ys.append(y)
        return DataBundle(graphs, np.asarray(ys, dtype=np.float32), "graph", task="regression",
                          meta={"target": "softened Coulomb + Axilrod-Teller-Muto energy (SE(n) invariant)"})
