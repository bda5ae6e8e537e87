"""class_separability: H0 deaths vs gudhi and scipy's MST, invariances, the blob-sweep ranking
against the Fisher discriminant ratio, the measure's contract and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.class_separability.separability import h0_deaths, persistence_statistics

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


def _measure(**kw):
    return ga.create("measure", f"{PLUGIN}/class_separability", **kw)


@pytest.mark.parametrize("seed,n,d", [(0, 150, 2), (1, 120, 7), (2, 80, 30)])
def test_h0_deaths_equal_gudhi_and_scipy_mst(seed, n, d):
    import gudhi
    from scipy.sparse.csgraph import minimum_spanning_tree
    from scipy.spatial.distance import pdist, squareform

    X = np.random.default_rng(seed).normal(size=(n, d))
    ours = h0_deaths(X)
    st_ = gudhi.RipsComplex(points=X).create_simplex_tree(max_dimension=1)
    st_.persistence()
    bars = st_.persistence_intervals_in_dimension(0)
    assert np.all(bars[:, 0] == 0)
    finite = np.sort(bars[np.isfinite(bars[:, 1]), 1])
    mst = np.sort(minimum_spanning_tree(squareform(pdist(X))).data)
    assert ours.shape == finite.shape == mst.shape == (n - 1,)
    np.testing.assert_allclose(ours, finite, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ours, mst, rtol=0, atol=1e-12)


def test_duplicates_give_zero_deaths():
    X = np.array([[0.0, 0.0], [0.0, 0.0], [3.0, 4.0]])
    np.testing.assert_allclose(h0_deaths(X), [0.0, 5.0], atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), scale=st.floats(0.01, 100.0), angle=st.floats(0, 6.28))
def test_normalised_statistics_invariant_to_similarity_transforms(seed, scale, angle):
    X = np.random.default_rng(seed).normal(size=(40, 2))
    R = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    Y = scale * X @ R.T + np.array([5.0, -3.0])
    a, b = persistence_statistics(h0_deaths(X)), persistence_statistics(h0_deaths(Y))
    for k in ("persistence_score", "persistent_entropy", "n_large"):
        assert a[k] == pytest.approx(b[k], abs=1e-9)
    assert b["max_persistence"] == pytest.approx(scale * a["max_persistence"], rel=1e-9)


def _fisher_ratio(X, y):
    mu = X.mean(0)
    sb = sum((y == c).sum() * np.sum((X[y == c].mean(0) - mu) ** 2) for c in np.unique(y))
    sw = sum(np.sum((X[y == c] - X[y == c].mean(0)) ** 2) for c in np.unique(y))
    return sb / sw


def test_ranking_agrees_with_fisher_ratio_on_blob_sweep():
    from scipy.stats import spearmanr
    from sklearn.datasets import make_blobs

    meas = _measure()
    for k, dim in ((2, 2), (5, 5)):
        S, F = [], []
        for sep in np.linspace(0.5, 15, 8):
            s, f = [], []
            for seed in range(3):
                c = np.random.default_rng(seed).normal(size=(k, dim))
                X, y = make_blobs(n_samples=200, centers=sep * c / np.linalg.norm(c, axis=1, keepdims=True), random_state=seed)
                s.append(meas(data={"X": X})["score"])
                f.append(_fisher_ratio(X, y))
            S.append(np.mean(s))
            F.append(np.mean(f))
        rho = spearmanr(S, F)[0]
        assert rho <= -0.85, (k, rho, S)  # lower score = more separable


def test_measure_contract_model_and_normalisation():
    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    check_measure(_measure(), data={"X": X})
    torch.manual_seed(0)
    m = ga.create("encoder", "mlp", in_features=4, out_features=3, hidden=[8])
    r = check_measure(_measure(normalize=True, statistic="entropy"), model=m, data={"X": X, "data_type": "vector"})
    assert "score" in r["keys"]
    with torch.no_grad():
        Z = m(torch.tensor(X)).double().numpy()
    assert _measure()(m, {"X": X})["persistence_score"] == pytest.approx(_measure()(data={"X": Z})["persistence_score"], abs=1e-12)
    # subsampling is seeded
    assert _measure(max_samples=20, seed=3)(data={"X": X}) == _measure(max_samples=20, seed=3)(data={"X": X})


def test_bad_input_is_refused():
    meas = _measure()
    with pytest.raises(ValueError, match="data="):
        meas(None, None)
    with pytest.raises(ValueError, match="at least 2"):
        meas(data={"X": np.zeros((1, 3))})
    with pytest.raises(ValueError, match="NaN or Inf"):
        meas(data={"X": np.array([[0.0, np.nan], [1.0, 2.0]])})
    with pytest.raises(TypeError, match="numeric"):
        meas(data={"X": np.array([["a", "b"], ["c", "d"]])})
    with pytest.raises(ValueError, match="zero vectors"):
        _measure(normalize=True)(data={"X": np.zeros((3, 2))})
    with pytest.raises(TypeError, match="cannot embed"):
        meas(object(), {"X": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="statistic"):
        _measure(statistic="median")
    with pytest.raises(ValueError, match="threshold"):
        _measure(threshold=0.0)
    with pytest.raises(ValueError, match="max_samples"):
        _measure(max_samples=1)


def test_pipeline_runs(tmp_path):
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        text = spec.read_text().replace("measure: class_separability", f"measure: {PLUGIN}/class_separability")
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        ms = res.metrics["measures"]
        raw = [v for k, v in ms.items() if k.startswith(PLUGIN) or k.startswith("class_separability")]
        # longer training: logits more separable (lower score) than after 2 epochs and than the raw pixels
        data_score = next(v["score"] for v in raw if "score" in v)
        per_model = next(v for v in raw if "score" not in v)
        assert per_model["mlp_20_epochs"]["score"] < min(per_model["mlp_2_epochs"]["score"], data_score), (data_score, per_model)
