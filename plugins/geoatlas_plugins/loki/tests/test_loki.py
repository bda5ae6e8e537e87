"""Loki: matrix form = brute force, discrete metric = argmax, closed forms on a path, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.loki.loki import label_metric, loki_predict_bruteforce


@settings(max_examples=30, deadline=None)
@given(Y=st.integers(2, 12), K=st.integers(1, 6), seed=st.integers(0, 10**6))
def test_matrix_form_equals_bruteforce(Y, K, seed):
    rng = np.random.default_rng(seed)
    K = min(K, Y)
    observed = sorted(rng.choice(Y, size=K, replace=False).tolist())
    pts = rng.normal(size=(Y, 3))
    D = np.linalg.norm(pts[:, None] - pts[None], axis=-1)  # a Euclidean label metric (no ties a.s.)
    P = rng.dirichlet(np.ones(K), size=40)
    m = ga.create("encoder", "loki", num_classes=Y, observed=observed, metric="given", distances=D.tolist(), input="probabilities").double()
    ours = m.predict(torch.tensor(P)).numpy()
    assert np.array_equal(ours, loki_predict_bruteforce(P, D, observed))


def test_discrete_metric_is_argmax():
    rng = np.random.default_rng(0)
    P = rng.dirichlet(np.ones(10), size=200)
    m = ga.create("encoder", "loki", num_classes=10, metric="discrete", input="probabilities").double()
    assert np.array_equal(m.predict(torch.tensor(P)).numpy(), P.argmax(1))
    # with a larger label space, unobserved labels are never predicted under the discrete metric
    P5 = rng.dirichlet(np.ones(5), size=200)
    m2 = ga.create("encoder", "loki", num_classes=10, observed=[1, 3, 5, 7, 9], metric="discrete", input="probabilities").double()
    assert np.array_equal(m2.predict(torch.tensor(P5)).numpy(), np.array([1, 3, 5, 7, 9])[P5.argmax(1)])


def test_one_hot_and_path_closed_form():
    m = ga.create("encoder", "loki", num_classes=10, observed=[0, 9], metric="path", input="probabilities").double()
    t = np.linspace(0, 1, 101)
    P = np.stack([1 - t, t], 1)
    pred = m.predict(torch.tensor(P)).numpy()
    # Fréchet mean on a line = weighted mean 9t, rounded to the nearest label (ties at .5 aside)
    frac = 9 * t - np.floor(9 * t)
    ok = np.abs(frac - 0.5) > 1e-9
    assert np.array_equal(pred[ok], np.rint(9 * t)[ok].astype(int))
    onehot = ga.create("encoder", "loki", num_classes=6, observed=[1, 4], metric="path", input="probabilities").double()
    assert onehot.predict(torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)).tolist() == [1, 4]


def test_graph_metric_and_features_mode():
    D = label_metric("path", 4, edges=[[0, 1], [1, 2], [1, 3]])  # a star around 1
    assert D[0, 3] == 2 and D[2, 3] == 2 and D[1, 3] == 1
    torch.manual_seed(0)
    m = ga.create("encoder", "loki", num_classes=10, in_features=8, observed=[0, 2, 4], metric="path")
    x, y = torch.randn(30, 8), torch.arange(30) % 10
    loss = m.training_step(x, y, None)
    loss.backward()
    assert torch.isfinite(loss) and m.base[0].weight.grad is not None
    assert m(x).shape == (30, 10)


def test_bad_input():
    with pytest.raises(ValueError, match="metric"):
        ga.create("encoder", "loki", num_classes=4, metric="cosine", input="probabilities")
    with pytest.raises(ValueError, match="observed"):
        ga.create("encoder", "loki", num_classes=4, observed=[0, 7], input="probabilities")
    with pytest.raises(ValueError, match="distances"):
        ga.create("encoder", "loki", num_classes=2, metric="given", distances=[[0, 1], [2, 0]], input="probabilities")
    with pytest.raises(ValueError, match="in_features"):
        ga.create("encoder", "loki", num_classes=4)
    with pytest.raises(ValueError, match="edges"):
        label_metric("path", 4, edges=[[0, 1]])
    m = ga.create("encoder", "loki", num_classes=4, observed=[0, 1], input="probabilities")
    with pytest.raises(ValueError, match="shape"):
        m(torch.ones(3, 3) / 3)
    with pytest.raises(ValueError, match="sum to 1"):
        m(torch.ones(3, 2))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((2, 2), float("nan")))
