"""Invariance-constrained augmentation: MH sampler, dual ascent, transformations, wrapper, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.stats import chisquare

import geoatlas as ga
from geoatlas_plugins.invariance_constrained_augmentation.model import (
    metropolis_hastings,
    per_sample_loss,
)
from geoatlas_plugins.invariance_constrained_augmentation.transforms import TransformSpace


def test_mh_chain_targets_loss_proportional_distribution() -> None:
    """Independent MH with uniform proposals over K states: final states ~ table / table.sum()."""
    g = torch.Generator().manual_seed(0)
    table = torch.tensor([0.1, 0.5, 1.0, 2.0, 4.0])
    steps, n = 40, 20000
    idx = torch.randint(5, (steps, n), generator=g)
    states, rate = metropolis_hastings(table[idx], g)
    final = idx[states[-1], torch.arange(n)]
    counts = torch.bincount(final, minlength=5).numpy()
    p = table.double() / table.double().sum()
    expected = p.numpy() * n
    assert chisquare(counts, expected).pvalue > 1e-3
    # uniform proposals alone would be far from the target: the test can fail
    assert chisquare(torch.bincount(idx[0], minlength=5).numpy(), expected).pvalue < 1e-6
    assert 0 < float(rate) < 1


def test_mh_rejects_bad_losses() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        metropolis_hastings(torch.tensor([[1.0], [-1.0]]))
    with pytest.raises(ValueError, match="shape"):
        metropolis_hastings(torch.ones(3))
    states, _ = metropolis_hastings(torch.zeros(3, 4))  # all-zero losses: keeps the first proposal
    assert states.shape == (3, 4) and (states == 0).all()


def test_mh_zero_loss_rule_matches_reference() -> None:
    """Reference rule (nan_to_num of the ratio): zero-loss proposals are rejected, 0/0 included;
    from a zero-loss state any positive-loss proposal is accepted."""
    losses = torch.tensor([[0.0, 0.0, 1.0, 2.0], [0.0, 3.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]])
    states, _ = metropolis_hastings(losses, torch.Generator().manual_seed(0))
    # column 0: 0 -> 0 (reject) -> 5 (accept); column 1: 0 -> 3 (accept) -> 0 (reject)
    assert states[:, 0].tolist() == [0, 0, 2] and states[:, 1].tolist() == [0, 1, 1]
    assert states[:, 2].tolist() == [0, 0, 0] and states[:, 3].tolist() == [0, 0, 0]


@pytest.mark.parametrize("steps", [2, 4])
def test_mh_short_chain_follows_its_exact_finite_step_law(steps: int) -> None:
    """At the default chain length (4) and the reference's (2) the kept state is NOT yet distributed
    as the loss-proportional target: it follows the exact K-step law of the independence sampler,
    uniform start times (K - 1) MH transitions (computed here by matrix powers, independently of the
    sampler's code). Its total-variation distance to the target is stated and checked."""
    table = torch.tensor([0.1, 0.5, 1.0, 2.0, 4.0], dtype=torch.float64)
    K = len(table)
    target = table / table.sum()
    # transition matrix: propose j uniformly, accept with min(1, l_j / l_i); the rest stays at i
    P = torch.minimum(torch.ones(K, K, dtype=torch.float64), table[None, :] / table[:, None]) / K
    P = P - torch.diag(torch.diagonal(P))
    P = P + torch.diag(1 - P.sum(1))
    law = torch.full((K,), 1 / K, dtype=torch.float64) @ torch.linalg.matrix_power(P, steps - 1)
    g = torch.Generator().manual_seed(1)
    n = 40000
    idx = torch.randint(K, (steps, n), generator=g)
    states, _ = metropolis_hastings(table.float()[idx], g)
    counts = torch.bincount(idx[states[-1], torch.arange(n)], minlength=K).numpy()
    assert chisquare(counts, law.numpy() * n).pvalue > 1e-3  # the sampler realises the exact K-step law
    assert chisquare(counts, target.numpy() * n).pvalue < 1e-6  # ... which is still far from the target
    tv = 0.5 * float((law - target).abs().sum())
    tv_uniform = 0.5 * float((1 / K - target).abs().sum())
    # TV to the target: 0.202 (2 steps), 0.078 (4), 0.011 (8), 2.5e-4 (16) vs 0.389 for the uniform proposal
    assert tv < tv_uniform and tv == pytest.approx({2: 0.2023, 4: 0.0778}[steps], abs=1e-3)


def test_transforms_exact_cases() -> None:
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64)
    space = TransformSpace(["identity", "hflip", "vflip", "rot180", "invert", "translate_x", "rotate"], max_translate=0.25, max_rotate=90.0)
    lv = torch.rand(4, dtype=torch.float64)

    def ap(name: str, level: torch.Tensor = lv) -> torch.Tensor:
        return space.apply(x, torch.full((4,), space.ops.index(name)), level)

    assert torch.allclose(ap("identity"), x, atol=1e-12)
    assert torch.allclose(ap("hflip"), torch.flip(x, [3]), atol=1e-12)
    assert torch.allclose(ap("vflip"), torch.flip(x, [2]), atol=1e-12)
    assert torch.allclose(ap("rot180"), torch.flip(x, [2, 3]), atol=1e-12)
    assert torch.allclose(ap("invert"), 1 - x, atol=1e-12)
    one = torch.ones(4, dtype=torch.float64)
    shifted = torch.zeros_like(x)
    shifted[..., 2:] = x[..., :-2]  # level 1: content moves 2 pixels (0.25 of 8) to the right
    assert torch.allclose(ap("translate_x", one), shifted, atol=1e-12)
    assert torch.allclose(ap("rotate", one), torch.rot90(x, -1, (2, 3)), atol=1e-12)
    assert torch.allclose(ap("rotate", 0.5 * one), x, atol=1e-12)  # level 1/2 is the identity


def test_transform_space_errors() -> None:
    with pytest.raises(ValueError, match="unknown ops"):
        TransformSpace(["rotate", "warp"])
    with pytest.raises(ValueError, match="at least one"):
        TransformSpace([])
    with pytest.raises(ValueError, match="max_scale"):
        TransformSpace(max_scale=1.5)
    with pytest.raises(ValueError, match="images"):
        TransformSpace().apply(torch.zeros(3, 8, 8), torch.zeros(3, dtype=torch.long), torch.zeros(3))


def test_per_sample_loss() -> None:
    out = torch.randn(5, 3)
    y = torch.tensor([0, 1, 2, 0, 1])
    ce = per_sample_loss(F.cross_entropy, out, y)
    assert torch.allclose(ce, torch.stack([F.cross_entropy(out[i : i + 1], y[i : i + 1]) for i in range(5)]))
    yr = torch.randn(5, 3)
    assert torch.allclose(per_sample_loss(F.mse_loss, out, yr), ((out - yr) ** 2).mean(1))

    def plain(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # no `reduction` keyword
        return ((a - b) ** 2).mean()

    assert torch.allclose(per_sample_loss(plain, out, yr), ((out - yr) ** 2).mean(1))


def _wrapper(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    params = dict(backbone="cnn", backbone_params={"channels": [4, 8]}, in_channels=1, num_classes=3, ops=["identity", "rotate", "hflip"], seed=0)
    params.update(kw)
    return ga.create("encoder", "invariance_constrained", **params)


def test_dual_ascent_slack_and_violated() -> None:
    x = torch.rand(16, 1, 8, 8)
    y = torch.randint(0, 3, (16,))
    slack = _wrapper(epsilon=100.0, dual_lr=1.0)
    for _ in range(3):
        slack.training_step(x, y, F.cross_entropy).backward()
    assert float(slack.dual) == 0.0  # constraint satisfied: no augmentation pressure
    tight = _wrapper(epsilon=0.0, dual_lr=0.5)
    loss = tight.training_step(x, y, F.cross_entropy)
    aug = tight.last_stats["aug_loss"]
    assert float(tight.dual) == pytest.approx(0.5 * aug, rel=1e-5)  # gamma <- relu(0 + eta (l_aug - 0))
    assert float(loss) == pytest.approx(tight.last_stats["loss"], rel=1e-5)  # gamma was 0 in this step
    hist = tight.sampled_histogram()
    assert sum(hist.values()) == 16 and set(hist) == {"identity", "rotate", "hflip"}
    tight.on_epoch_end(0)
    assert tight.history[0]["counts"] == hist and sum(tight.sampled_histogram().values()) == 0


def test_training_reduces_loss_and_forward() -> None:
    torch.manual_seed(0)
    x = torch.rand(32, 1, 8, 8)
    y = (x[:, 0, :4].mean((1, 2)) > x[:, 0, 4:].mean((1, 2))).long()
    m = _wrapper(num_classes=2)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    losses = []
    for _ in range(12):
        loss = m.training_step(x, y, F.cross_entropy)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(m.last_stats["loss"])
    assert np.mean(losses[-3:]) < np.mean(losses[:3])
    assert m(x).shape == (32, 2)
    assert m.embed(x).shape == (32, 8)


def test_wrapper_errors() -> None:
    m = _wrapper()
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((2, 1, 8, 8), float("nan")))
    with pytest.raises(ValueError, match="shape"):
        m(torch.zeros(2, 8, 8))
    with pytest.raises(ValueError, match="registered encoder"):
        _wrapper(backbone="so3")
    with pytest.raises(ValueError, match="n_aug"):
        _wrapper(mh_steps=2, n_aug=3)
    with pytest.raises(ValueError, match="epsilon"):
        _wrapper(epsilon=-1.0)
    with pytest.raises(ValueError, match="empty"):
        m.training_step(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long), F.cross_entropy)
