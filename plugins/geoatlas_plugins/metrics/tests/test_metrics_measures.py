"""effective_rank: closed forms, scipy agreement, invariances, models that embed, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.linalg import hadamard, svdvals
from scipy.stats import entropy, ortho_group

import geoatlas as ga
from geoatlas.testing import check_measure


def _erank(X: np.ndarray) -> float:
    return ga.create("measure", "effective_rank")(data={"X": X})["effective_rank"]


def test_equals_exp_entropy_of_scipy_singular_values() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)) @ np.diag([5.0, 3.0, 2.0, 1.0, 0.5, 0.1])
    reference = math.exp(entropy(svdvals(X - X.mean(0))))  # scipy normalises s to sum 1
    out = check_measure(ga.create("measure", "effective_rank"), data={"X": X})
    assert out["keys"] == ["effective_rank", "n_features"]
    assert abs(_erank(X) - reference) <= 1e-12
    uncentred = ga.create("measure", "effective_rank", center=False)(data={"X": X + 10})["effective_rank"]
    assert abs(uncentred - math.exp(entropy(svdvals(X + 10)))) <= 1e-12


def test_closed_forms() -> None:
    H = hadamard(8).astype(float)[:, 1:]  # 7 orthogonal, zero-mean columns: equal singular values
    assert _erank(H) == pytest.approx(7.0, abs=1e-12)
    assert _erank(H @ np.diag([1, 1, 1, 1, 0, 0, 0])) == pytest.approx(4.0, abs=1e-12)
    # two equal singular values s and one s/2: p = (2/5, 2/5, 1/5)
    p = np.array([0.4, 0.4, 0.2])
    assert _erank(H[:, :3] @ np.diag([2.0, 2.0, 1.0])) == pytest.approx(math.exp(-np.sum(p * np.log(p))), abs=1e-12)
    line = np.outer(np.arange(10.0), [1.0, -2.0, 0.5])  # samples along one direction
    assert _erank(line) == pytest.approx(1.0, abs=1e-12)
    assert _erank(np.tile([3.0, -1.0, 7.0], (20, 1))) == 0.0  # all samples equal: nothing varies
    assert _erank(np.full((20, 4), 0.1)) == 0.0


@pytest.mark.parametrize("k", [1, 2, 5])
def test_rank_k_data_have_effective_rank_at_most_k(k: int) -> None:
    rng = np.random.default_rng(k)
    X = rng.normal(size=(300, k)) @ rng.normal(size=(k, 12)) + rng.normal(size=12)
    value = _erank(X)
    assert value <= k + 1e-9
    assert value > 0.5 * k  # generic rank-k data use their k directions


def test_isotropic_data_have_effective_rank_near_the_dimension() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20000, 8))
    assert _erank(X) == pytest.approx(8.0, rel=0.005)
    assert _erank(X @ np.diag([1, 1, 1, 1, 1, 1, 1, 0.01])) < 7.2  # a flattened direction counts less


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.01, 100.0))
def test_invariant_under_rotation_scaling_and_translation(seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 5)) * rng.uniform(0.1, 3.0, 5)
    Q = ortho_group.rvs(5, random_state=seed % 1000)
    value = _erank(X)
    assert 1.0 - 1e-12 <= value <= 5.0 + 1e-12
    assert _erank(scale * X @ Q + rng.normal(size=5)) == pytest.approx(value, rel=1e-9)
    assert _erank(X[rng.permutation(30)]) == pytest.approx(value, rel=1e-12)


class _Embedder(torch.nn.Module):
    """A model whose forward gives 3 logits but whose ``embed`` gives 2-D features."""

    def __init__(self) -> None:
        super().__init__()
        self.body = torch.nn.Linear(6, 2)
        self.head = torch.nn.Linear(2, 3)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(x))


def test_with_a_model_it_measures_the_embeddings() -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(600, 6)).astype(np.float32)  # more than one batch of 256
    measure = ga.create("measure", "effective_rank")
    assert measure.needs_model is False
    model = _Embedder().train()
    out = check_measure(measure, model=model, data={"X": X, "data_type": "vector"})
    assert out["keys"] == ["effective_rank", "n_features"]
    res = measure(model=model, data={"X": X, "data_type": "vector"})
    assert res["n_features"] == 2 and res["effective_rank"] <= 2 + 1e-9
    with torch.no_grad():
        expected = _erank(model.body(torch.from_numpy(X)).double().numpy())
    assert res["effective_rank"] == pytest.approx(expected, rel=1e-5)  # float32 embeddings
    assert model.training  # the mode is restored
    plain = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh())  # no embed: its forward
    assert measure(model=plain, data={"X": X})["n_features"] == 4
    from sklearn.decomposition import PCA

    pca = PCA(n_components=3).fit(X)  # an estimator: its transform
    assert measure(model=pca, data={"X": X}) == {"effective_rank": pytest.approx(_erank(pca.transform(X)), rel=1e-9), "n_features": 3}
    with pytest.raises(TypeError, match="cannot embed"):
        measure(model=object(), data={"X": X})


def test_inputs_of_several_forms() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 2, 3))
    value = _erank(X.reshape(40, 6))
    assert _erank(X) == pytest.approx(value, abs=1e-12)  # samples are flattened
    assert _erank(list(X)) == pytest.approx(value, abs=1e-12)
    assert _erank(torch.from_numpy(X)) == pytest.approx(value, abs=1e-12)


def test_bad_input_raises_clear_errors() -> None:
    measure = ga.create("measure", "effective_rank")
    with pytest.raises(ValueError, match="data="):
        measure()
    with pytest.raises(ValueError, match="NaN"):
        measure(data={"X": np.array([[1.0, np.nan], [0.0, 1.0]])})
    with pytest.raises(ValueError, match="at least one sample"):
        measure(data={"X": np.zeros((0, 3))})
    with pytest.raises(ValueError, match="ragged"):
        measure(data={"X": [np.zeros(3), np.zeros(4)]})
    with pytest.raises(TypeError, match="numeric"):
        measure(data={"X": np.array([["a", "b"]])})
    with pytest.raises(TypeError, match="center"):
        ga.create("measure", "effective_rank", center="yes")
