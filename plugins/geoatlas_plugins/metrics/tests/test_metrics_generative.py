"""sliced_wasserstein, mmd and nll: POT agreement, closed forms, a direct double loop, errors.

``check_metric`` is not used for the two sample metrics: it requires that samples of different
lengths raise, while a generated sample may have any size. Its reference and direction checks
are made here directly.
"""

from __future__ import annotations

import math

import numpy as np
import ot
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

import geoatlas as ga
from geoatlas.testing import check_metric
from geoatlas_plugins.metrics.generative import wasserstein2_1d_squared


# ------------------------------------------------------------------ sliced Wasserstein
@pytest.mark.parametrize("n,m,d", [(50, 50, 2), (40, 70, 3), (33, 17, 8), (1, 5, 4)])
def test_sliced_wasserstein_equals_pot_with_the_same_projections(n: int, m: int, d: int) -> None:
    rng = np.random.default_rng(n * m + d)
    x, y = rng.normal(size=(n, d)), rng.normal(size=(m, d)) * 1.5 + 0.3
    sw = ga.create("metric", "sliced_wasserstein")
    theta = sw.projections(d)
    assert theta.shape == (128, d) and np.allclose(np.linalg.norm(theta, axis=1), 1.0)
    reference = ot.sliced_wasserstein_distance(x, y, projections=theta.T, p=2)
    assert abs(sw(x, y) - reference) <= 1e-12


def test_sliced_wasserstein_in_one_dimension_is_the_exact_w2() -> None:
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=60), rng.exponential(size=60)
    sw = ga.create("metric", "sliced_wasserstein", n_projections=16)
    closed = math.sqrt(np.mean((np.sort(x) - np.sort(y)) ** 2))  # equal sizes: sorted matching
    assert sw(x[:, None], y[:, None]) == pytest.approx(closed, rel=1e-14)
    assert sw(x, y) == pytest.approx(closed, rel=1e-14)  # (n,) is read as d = 1
    # unequal sizes: {0, 1} against {0, 1/2, 1}; quantile functions differ by 1/2 on (1/3, 1/2)
    # and by 1/2 on (1/2, 2/3): W2^2 = 2 * (1/6) * (1/4) = 1/12
    assert sw([0.0, 1.0], [0.0, 0.5, 1.0]) == pytest.approx(math.sqrt(1 / 12), rel=1e-14)
    assert wasserstein2_1d_squared(np.array([[0.0, 1.0]]), np.array([[0.0, 0.5, 1.0]]))[0] == pytest.approx(1 / 12, rel=1e-14)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.integers(1, 6))
def test_sliced_wasserstein_of_a_translation_is_closed_form(seed: int, d: int) -> None:
    rng = np.random.default_rng(seed)
    x, c = rng.normal(size=(20, d)), rng.normal(size=d)
    sw = ga.create("metric", "sliced_wasserstein", n_projections=32, seed=seed % 100)
    # each projection moves by <theta, c>, so SW_2^2 = mean_l <theta_l, c>^2
    assert sw(x, x + c) == pytest.approx(math.sqrt(np.mean((sw.projections(d) @ c) ** 2)), rel=1e-10, abs=1e-12)
    assert sw(x, x) == 0.0
    assert sw(x, x[::-1]) == 0.0  # the order of the samples does not matter


def test_sliced_wasserstein_is_seeded_and_orders_shifts() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 5))
    near, far = rng.normal(size=(150, 5)) + 0.2, rng.normal(size=(150, 5)) + 1.0
    sw = ga.create("metric", "sliced_wasserstein")
    assert sw(x, near) == sw(x, near) == ga.create("metric", "sliced_wasserstein")(x, near)
    assert sw(x, near) != ga.create("metric", "sliced_wasserstein", seed=1)(x, near)
    assert sw(x, near) < sw(x, far)
    assert abs(sw(x, near) - sw(near, x)) <= 1e-12  # symmetric


# ------------------------------------------------------------------ MMD
def _mmd_loop(x: np.ndarray, y: np.ndarray, bandwidth: float | None = None) -> float:
    """Unbiased MMD^2 by explicit loops over pairs; median heuristic over distinct pooled pairs."""
    z = np.concatenate([x, y])
    if bandwidth is None:
        dists = sorted(math.dist(z[i], z[j]) for i in range(len(z)) for j in range(i + 1, len(z)))
        half = len(dists) // 2
        bandwidth = dists[half] if len(dists) % 2 else (dists[half - 1] + dists[half]) / 2

    def k(a: np.ndarray, b: np.ndarray) -> float:
        return math.exp(-sum((a - b) ** 2) / (2 * bandwidth**2))

    n, m = len(x), len(y)
    kxx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
    kyy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    kxy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
    return kxx + kyy - 2 * kxy


@pytest.mark.parametrize("bandwidth", [None, 0.7, 3.0])
def test_mmd_equals_a_direct_double_loop(bandwidth: float | None) -> None:
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(12, 3)), rng.normal(size=(9, 3)) + 0.5
    mmd = ga.create("metric", "mmd", bandwidth=bandwidth)
    assert abs(mmd(x, y) - _mmd_loop(x, y, bandwidth)) <= 1e-12
    if bandwidth is None:  # even pooled size: the median averages the two middle distances
        assert abs(mmd(x[:11], y) - _mmd_loop(x[:11], y)) <= 1e-12


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_the_shift() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    mmd = ga.create("metric", "mmd")
    same = mmd(x, rng.normal(size=(250, 4)))
    small, large = mmd(x, rng.normal(size=(250, 4)) + 0.5), mmd(x, rng.normal(size=(250, 4)) + 1.5)
    assert abs(same) < 0.01
    assert small > 10 * abs(same)
    assert large > small
    assert mmd(x, x[::-1] + 0.0) == pytest.approx(mmd(x, x), abs=1e-12)  # order-free
    # unbiased: the mean over independent same-distribution replicates is about 0
    reps = [mmd(rng.normal(size=(30, 2)), rng.normal(size=(30, 2))) for _ in range(40)]
    assert abs(np.mean(reps)) < 3 * np.std(reps) / math.sqrt(len(reps)) + 1e-3
    assert min(reps) < 0  # the U-statistic can be negative


def test_mmd_median_heuristic_subsamples_large_pools_deterministically() -> None:
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(1300, 2)), rng.normal(size=(1200, 2)) + 0.3
    mmd = ga.create("metric", "mmd")
    bw = mmd.median_bandwidth(x, y)
    assert bw == mmd.median_bandwidth(x, y)
    from scipy.spatial.distance import pdist

    assert bw == pytest.approx(np.median(pdist(np.concatenate([x, y]))), rel=0.05)  # a subsample of 2000
    assert mmd(x, y) == ga.create("metric", "mmd", bandwidth=bw)(x, y)
    assert ga.create("metric", "mmd").median_bandwidth(np.zeros((3, 2)), np.zeros((2, 2))) == 1.0


# ------------------------------------------------------------------ NLL
def test_nll_is_the_mean_negative_log_likelihood() -> None:
    rng = np.random.default_rng(5)
    held_out = rng.normal(size=2000)
    right, wrong = norm.logpdf(held_out), norm.logpdf(held_out, loc=1.0)
    nll = ga.create("metric", "nll")
    check_metric(nll, held_out, right, reference=lambda t, ll: -float(np.mean(ll)), worse=wrong, atol=1e-12)
    # under the true model the NLL estimates the entropy of N(0, 1), 0.5 * log(2 pi e)
    assert nll(None, right) == pytest.approx(0.5 * math.log(2 * math.pi * math.e), abs=0.05)
    assert nll(None, right.reshape(-1, 1)) == nll(None, right)
    assert nll(None, [-1.0, -np.inf]) == math.inf  # zero density on a held-out sample


# ------------------------------------------------------------------ declarations and errors
def test_declarations() -> None:
    expected = {"sliced_wasserstein": "samples", "mmd": "samples", "nll": "log_likelihood"}
    for name, key in expected.items():
        metric = ga.create("metric", name)
        assert metric.tasks == ("generation",) and metric.higher_is_better is False and metric.input == key


@pytest.mark.parametrize("name", ["sliced_wasserstein", "mmd"])
def test_sample_metrics_reject_bad_input(name: str) -> None:
    metric = ga.create("metric", name)
    x = np.zeros((5, 3))
    with pytest.raises(ValueError, match="dimension 3 but generated samples have 2"):
        metric(x, np.zeros((5, 2)))
    with pytest.raises(ValueError, match="empty"):
        metric(x, np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metric(x, np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="None"):
        metric(None, x)
    with pytest.raises(TypeError, match="numeric"):
        metric(x, np.array([["a", "b", "c"]]))
    with pytest.raises(ValueError, match="different shapes"):
        metric(x, [np.zeros(3), np.zeros(2)])


def test_parameters_are_validated() -> None:
    with pytest.raises(ValueError, match="n_projections"):
        ga.create("metric", "sliced_wasserstein", n_projections=0)
    with pytest.raises(TypeError, match="n_projections"):
        ga.create("metric", "sliced_wasserstein", n_projections=2.5)
    with pytest.raises(ValueError, match="bandwidth"):
        ga.create("metric", "mmd", bandwidth=-1.0)
    with pytest.raises(ValueError, match="at least 2 samples"):
        ga.create("metric", "mmd")(np.zeros((1, 2)), np.ones((3, 2)))


def test_nll_rejects_bad_input() -> None:
    nll = ga.create("metric", "nll")
    with pytest.raises(ValueError, match="3 samples but y_pred has 2"):
        nll(np.zeros((3, 2)), [-1.0, -2.0])
    with pytest.raises(ValueError, match="0 samples"):
        nll(None, [])
    with pytest.raises(ValueError, match="NaN"):
        nll(None, [-1.0, np.nan])
    with pytest.raises(ValueError, match=r"\+inf"):
        nll(None, [-1.0, np.inf])
    with pytest.raises(ValueError, match="1-D"):
        nll(None, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="None"):
        nll(None, None)
