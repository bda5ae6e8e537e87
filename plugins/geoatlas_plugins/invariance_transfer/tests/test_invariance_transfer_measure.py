"""Invariance measure (closed cases, numpy re-computation, errors) and the transformed-digits data."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.invariance_transfer.data import transform_family
from geoatlas_plugins.invariance_transfer.measure import (
    invariance_from_representations,
    representational_invariance,
)


def test_exactly_invariant_model_scores_zero() -> None:
    """Orbit averaging over the rotations by multiples of 90 degrees: d_T = 0 on rot90 pairs."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 16), torch.nn.Tanh())

    def averaged(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(torch.rot90(x, k, (2, 3))) for k in range(4)]).mean(0)

    x = torch.rand(50, 1, 8, 8)
    x2 = torch.rot90(x, 1, (2, 3))
    assert representational_invariance(averaged, x, x2) < 1e-6
    assert representational_invariance(net, x, x2) > 0.3  # the plain network is not invariant


def test_unrelated_pairs_score_one_and_numpy_agrees() -> None:
    rng = np.random.default_rng(0)
    z1, z2 = rng.standard_normal((4000, 8)), rng.standard_normal((4000, 8))
    d = invariance_from_representations(z1, z2, seed=3)
    assert d == pytest.approx(1.0, abs=0.03)
    perm = torch.randperm(4000, generator=torch.Generator().manual_seed(3)).numpy()
    ref = np.linalg.norm(z1 - z2, axis=1).mean() / np.linalg.norm(z1 - z1[perm], axis=1).mean()
    assert d == pytest.approx(ref, rel=1e-12)
    # cosine variant: identical pairs give the inverse of the random-pair similarity
    c = invariance_from_representations(z1 + 3, z1 + 3, metric="cos")
    perm2 = torch.randperm(4000, generator=torch.Generator().manual_seed(0)).numpy()
    a = z1 + 3
    cos_rand = np.mean(np.sum(a * a[perm2], 1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(a[perm2], axis=1)))
    assert c == pytest.approx(1.0 / cos_rand, rel=1e-9)


def test_measure_errors() -> None:
    z = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(ValueError, match="same shape"):
        invariance_from_representations(z, z[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        invariance_from_representations(z[:1], z[:1])
    with pytest.raises(ValueError, match="NaN"):
        invariance_from_representations(np.full((3, 2), np.nan), z[:3, :2])
    with pytest.raises(ValueError, match="identical"):
        invariance_from_representations(np.ones((5, 3)), np.ones((5, 3)))
    with pytest.raises(ValueError, match="metric"):
        invariance_from_representations(z, z, metric="cka")
    with pytest.raises(TypeError, match="callable"):
        representational_invariance("model", torch.zeros(3, 2), torch.zeros(3, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="same number"):
        representational_invariance(lambda t: t, torch.zeros(3, 2), torch.zeros(4, 2))


def test_transform_families() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(6, 1, 10, 10, dtype=torch.float64)
    flipped = transform_family(x, "hflip", g)
    for i in range(6):  # each image is either unchanged or exactly mirrored
        assert torch.allclose(flipped[i], x[i], atol=1e-12) or torch.allclose(flipped[i], torch.flip(x[i], [2]), atol=1e-12)
    assert torch.allclose(transform_family(x, "rotate", g, max_rotate=0.0), x, atol=1e-12)
    assert torch.allclose(transform_family(x, "none", g), x)
    assert not torch.allclose(transform_family(x, "translate", g), x)
    with pytest.raises(ValueError, match="family"):
        transform_family(x, "shear", g)


def test_transformed_digits_dataset() -> None:
    b = ga.create("dataset", "transformed_digits", family="translate", classes=[5, 7, 9], size=12, seed=1).load()
    assert b.X.shape[1:] == (1, 12, 12) and set(np.unique(b.y)) == {0, 1, 2}
    assert b.X.min() >= 0 and b.X.max() <= 1
    p = ga.create("dataset", "transformed_digits", family="rotate", pairs=True, size=12, seed=1).load()
    assert p.X.shape == (1797, 2, 12, 12)
    q = ga.create("dataset", "transformed_digits", family="rotate", pairs=True, size=12, seed=1).load()
    assert np.array_equal(p.X, q.X)
    with pytest.raises(ValueError, match="family"):
        ga.create("dataset", "transformed_digits", family="blur")


def test_pair_views_share_their_background() -> None:
    """The two views of a pair differ only in the transformation (the authors' Transforms-2D pairs):
    with the identity family they are identical, and elsewhere they agree exactly on every pixel
    that neither transformed object touches. (With independent noise per view, as before, both
    checks fail: the views differed by noise of std 0.05 * sqrt(2) everywhere.)"""
    none = ga.create("dataset", "transformed_digits", family="none", pairs=True, size=12, seed=2).load().X
    assert np.array_equal(none[:, 0], none[:, 1])
    noisy = ga.create("dataset", "transformed_digits", family="translate", pairs=True, size=12, seed=2).load().X
    clean = ga.create("dataset", "transformed_digits", family="translate", pairs=True, size=12, seed=2, noise=0.0).load().X
    background = (clean[:, 0] == 0) & (clean[:, 1] == 0)
    assert background.mean() > 0.2 and (noisy[:, 0] != noisy[:, 1]).any()
    assert np.array_equal(noisy[:, 0][background], noisy[:, 1][background])
    assert noisy[:, 0][background].std() > 0.02  # the shared background is really there
    with pytest.raises(ValueError, match="classes"):
        ga.create("dataset", "transformed_digits", classes=[3, 3])
