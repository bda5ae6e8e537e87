"""Charged-particle and spring n-body simulators (NRI-style, Kipf et al. 2018), seeded and vectorised.

The physics follows the simulator shipped with the EqMotion reference code (itself from NRI):
leapfrog integration with step ``dt = 1e-3``, forces clipped to ``|F| <= 0.1 / dt``, particles in
free space (no walls), frames kept every ``sample_freq`` steps.
"""

from __future__ import annotations

import numpy as np

from geoatlas.interfaces import DataBundle, Dataset

_DT = 1e-3
_MAX_F = 0.1 / _DT


def simulate(
    n_sims: int,
    n_frames: int,
    *,
    n_particles: int = 5,
    dim: int = 3,
    system: str = "charged",
    sample_freq: int = 100,
    loc_std: float = 1.0,
    vel_norm: float = 0.5,
    interaction_strength: float = 1.0,
    plane_squeeze: float = 1.0,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate ``n_sims`` independent systems.

    Returns
    -------
    loc : (n_sims, n_particles, n_frames, dim) positions
    vel : (n_sims, n_particles, n_frames, dim) velocities
    edges : (n_sims, n_particles, n_particles) interaction types (charge products ``q_i q_j`` for
        ``charged``, spring on/off for ``springs``)

    ``plane_squeeze`` < 1 scales the initial positions and velocities along the unit normal
    ``n = (1, ..., 1) / sqrt(dim)``, so the systems start near the plane ``n . x = 0`` and the data
    have a preferred orientation; 1 gives isotropic data. The diagonal normal keeps the per-axis
    statistics equal (so per-column target standardisation stays a scalar per time step).
    """
    if system not in {"charged", "springs"}:
        raise ValueError(f"system must be 'charged' or 'springs', got {system!r}")
    for name, val in (("n_sims", n_sims), ("n_frames", n_frames), ("n_particles", n_particles), ("dim", dim), ("sample_freq", sample_freq)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}")
    if n_particles < 2:
        raise ValueError(f"n_particles must be >= 2, got {n_particles}")
    if not 0 < plane_squeeze <= 1:
        raise ValueError(f"plane_squeeze must be in (0, 1], got {plane_squeeze}")
    rng = np.random.default_rng(seed)
    n = n_particles
    if system == "charged":
        loc_std = loc_std * (n / 5.0) ** (1 / 3)
        charges = rng.choice(np.array([-1.0, 1.0]), size=(n_sims, n, 1))
        edges = charges @ charges.transpose(0, 2, 1)
    else:
        upper = rng.choice(np.array([0.0, 1.0]), size=(n_sims, n, n))
        edges = np.triu(upper, 1)
        edges = edges + edges.transpose(0, 2, 1)
    off = 1.0 - np.eye(n)
    loc = rng.standard_normal((n_sims, n, dim)) * loc_std
    vel = rng.standard_normal((n_sims, n, dim))
    vel = vel * vel_norm / np.linalg.norm(vel, axis=-1, keepdims=True)
    normal = np.full(dim, 1.0 / np.sqrt(dim))
    loc = loc - (1.0 - plane_squeeze) * (loc @ normal)[..., None] * normal
    vel = vel - (1.0 - plane_squeeze) * (vel @ normal)[..., None] * normal

    def force(p: np.ndarray) -> np.ndarray:
        diff = p[:, :, None, :] - p[:, None, :, :]  # x_i - x_j
        if system == "charged":
            r2 = (diff**2).sum(-1)
            r2 = np.where(off[None] > 0, r2, 1.0)
            size = interaction_strength * edges / r2**1.5
        else:
            size = -interaction_strength * edges
        size = size * off[None]
        f = (size[..., None] * diff).sum(axis=2)
        return np.clip(f, -_MAX_F, _MAX_F)

    locs = np.zeros((n_frames, n_sims, n, dim))
    vels = np.zeros((n_frames, n_sims, n, dim))
    locs[0], vels[0] = loc, vel
    vel = vel + _DT * force(loc)
    counter = 1
    step = 1
    while counter < n_frames:
        loc = loc + _DT * vel
        if step % sample_freq == 0:
            locs[counter], vels[counter] = loc, vel
            counter += 1
        vel = vel + _DT * force(loc)
        step += 1
    return locs.transpose(1, 2, 0, 3), vels.transpose(1, 2, 0, 3), edges


class ParticleTrajectories(Dataset):
    """Synthetic n-body trajectories: past positions -> future positions (regression).

    ``X`` has shape ``(N, n_particles, past_length, dim)``; the target ``y`` is the future
    ``(N, n_particles * future_length * dim)`` (flattened, the pipelines' regression layout; reshape
    with ``meta['target_shape']``). ``meta['edges']`` holds the ground-truth interaction types.
    ``plane_squeeze < 1`` gives the data a preferred orientation (systems start near the plane
    normal to ``(1, ..., 1)``), so randomly rotated test data are out of distribution for a
    non-equivariant model.
    """

    data_type = "sequence"
    task = "regression"

    def __init__(
        self,
        n_samples: int = 1000,
        n_particles: int = 5,
        past_length: int = 20,
        future_length: int = 20,
        dim: int = 3,
        system: str = "charged",
        sample_freq: int = 100,
        plane_squeeze: float = 1.0,
        seed: int = 0,
    ) -> None:
        if not isinstance(n_samples, int) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
        if not isinstance(past_length, int) or past_length < 2:
            raise ValueError(f"past_length must be an integer >= 2, got {past_length!r}")
        if not isinstance(future_length, int) or future_length < 1:
            raise ValueError(f"future_length must be a positive integer, got {future_length!r}")
        if dim not in (2, 3):
            raise ValueError(f"dim must be 2 or 3, got {dim!r}")
        self.n_samples = n_samples
        self.n_particles = n_particles
        self.past_length = past_length
        self.future_length = future_length
        self.dim = dim
        self.system = system
        self.sample_freq = sample_freq
        self.plane_squeeze = plane_squeeze
        self.seed = seed

    def load(self) -> DataBundle:
        loc, _, edges = simulate(
            self.n_samples,
            self.past_length + self.future_length,
            n_particles=self.n_particles,
            dim=self.dim,
            system=self.system,
            sample_freq=self.sample_freq,
            plane_squeeze=self.plane_squeeze,
            seed=self.seed,
        )
        X = loc[:, :, : self.past_length].astype(np.float32)
        Y = loc[:, :, self.past_length :].astype(np.float32)
        meta = {
            "edges": edges.astype(np.float32),
            "target_shape": [self.n_particles, self.future_length, self.dim],
            "system": self.system,
        }
        return DataBundle(X, Y.reshape(len(Y), -1), "sequence", task="regression", meta=meta)
