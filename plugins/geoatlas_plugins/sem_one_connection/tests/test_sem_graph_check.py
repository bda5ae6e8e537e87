"""The ``sem_graph_check`` measure component and the example pipeline."""

from pathlib import Path

import numpy as np
import pytest

import geoatlas as ga
from geoatlas.testing.kinds import check_measure
from geoatlas_plugins.sem_one_connection.sem import (
    LinearSEMSets,
    SEMGraphCheck,
    one_connection_covariance,
)

PIPELINE = Path(__file__).resolve().parents[1] / "pipelines" / "sem_graph_sets.yaml"


def test_registered_and_check_measure():
    m = ga.create("measure", "sem_graph_check", n_classes=3, p=5, seed=0)
    assert isinstance(m, SEMGraphCheck) and not m.needs_model
    b = LinearSEMSets(n_per_class=10).load()
    keys = check_measure(m, data={"X": b.X, "y": b.y})["keys"]
    assert "oracle_accuracy" in keys and "cov_error_ratio" in keys


def test_graph_parameters_match_graphs_and_closed_form():
    ds = LinearSEMSets(n_classes=4, p=6, seed=2)
    gp, gs = ds.graph_parameters(), ds.graphs()
    assert len(gp) == len(gs) == 4
    for (g, L, W, S), (g2, S2) in zip(gp, gs, strict=True):
        assert g == g2 and np.array_equal(S, S2)
        assert np.allclose(one_connection_covariance(g, L, W), S, rtol=0, atol=0)


def test_on_its_own_data():
    b = LinearSEMSets(n_per_class=30, n_observations=40).load()
    out = SEMGraphCheck()(data={"X": b.X, "y": b.y})
    assert out["finite_to_one_fraction"] == 1.0 and out["simple_fraction"] == 1.0  # the theorem, simple graphs
    assert out["closed_form_max_rel_error"] < 1e-12
    assert 0.3 < out["cov_error_ratio"] < 2.0 and out["oracle_accuracy"] > 0.95
    # more draws: the sample covariance approaches the one-connection covariance
    big = LinearSEMSets(n_per_class=30, n_observations=1000).load()
    out_big = SEMGraphCheck()(data={"X": big.X, "y": big.y})
    assert out_big["cov_rel_error"] < out["cov_rel_error"] / 3
    assert 0.3 < out_big["cov_error_ratio"] < 2.0


def test_detects_data_from_other_graphs():
    b = LinearSEMSets(n_per_class=30, n_observations=40).load()
    m = SEMGraphCheck()
    wrong_labels = m(data={"X": b.X, "y": (b.y + 1) % 3})
    assert wrong_labels["cov_error_ratio"] > 10 and wrong_labels["oracle_accuracy"] < 0.1
    other = LinearSEMSets(n_per_class=30, n_observations=40, seed=1).load()  # other graphs
    assert m(data={"X": other.X, "y": other.y})["cov_error_ratio"] > 10


def test_expected_error_formula_by_monte_carlo():
    # E |S_hat - Sigma|_F^2 = (tr(Sigma)^2 + |Sigma|_F^2) / N for N zero-mean Gaussian draws
    # (Isserlis): the denominator of cov_error_ratio, checked by simulation
    _, _, _, S = LinearSEMSets(seed=0).graph_parameters()[0]
    rng = np.random.default_rng(0)
    N, reps = 50, 2000
    Z = rng.normal(size=(reps, N, S.shape[0])) @ np.linalg.cholesky(S).T
    Shat = np.einsum("rni,rnj->rij", Z, Z) / N
    mc = np.mean(np.sum((Shat - S) ** 2, axis=(1, 2)))
    expected = (np.trace(S) ** 2 + np.sum(S * S)) / N
    assert mc / expected == pytest.approx(1.0, abs=0.06)
    # and the measure's ratio is that error over the square root of this expectation
    X = Z[:4]  # four sets of class 0
    out = SEMGraphCheck()(data={"X": X, "y": np.zeros(4, dtype=int)})
    Sh = np.einsum("sni,snj->ij", X, X) / (4 * N)
    assert out["cov_error_ratio"] == pytest.approx(np.linalg.norm(Sh - S) / np.sqrt((np.trace(S) ** 2 + np.sum(S * S)) / (4 * N)), rel=1e-10)


def test_bad_input():
    b = LinearSEMSets(n_per_class=5).load()
    m = SEMGraphCheck()
    with pytest.raises(ValueError, match="p"):
        SEMGraphCheck(p=2)
    with pytest.raises(ValueError, match="n_trials"):
        SEMGraphCheck(n_trials=0)
    with pytest.raises(ValueError, match="rtol"):
        SEMGraphCheck(rtol=0.0)
    with pytest.raises(ValueError, match=r"data\['X'\]"):
        m(data={"X": b.X.reshape(len(b.X), -1), "y": b.y})  # feature rows, not observation sets
    with pytest.raises(ValueError, match="p=5"):
        m(data={"X": b.X[:, :, :4], "y": b.y})
    with pytest.raises(ValueError, match=r"data\['y'\]"):
        m(data={"X": b.X, "y": b.y + 3})
    with pytest.raises(ValueError, match=r"data\['y'\]"):
        m(data={"X": b.X, "y": b.y.astype(float)})
    with pytest.raises(ValueError, match="'y'"):
        m(data={"X": b.X})
    with pytest.raises(ValueError, match="NaN"):
        m(data={"X": np.where(b.X > 2, np.nan, b.X), "y": b.y})


def test_example_pipeline_runs(tmp_path):
    res = ga.Pipeline.from_yaml(PIPELINE).run(runs_root=tmp_path, progress=False)
    g = res.metrics["measures"]["sem_graph_check"]
    assert g["finite_to_one_fraction"] == 1.0 and g["oracle_accuracy"] >= res.metrics["models"]["covariance_tangent_logreg"]["accuracy"] - 0.1
