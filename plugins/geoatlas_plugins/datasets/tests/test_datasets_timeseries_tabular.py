"""Series datasets (co2, sunspots, periodic) and the synthetic click-through table."""

import sys

import numpy as np
import pytest

import geoatlas as ga
from geoatlas_plugins.datasets.tabular import zipf_probabilities


# ---------------------------------------------------------------------------- series
def test_co2_weekly_with_interpolated_gaps():
    import statsmodels.datasets as smd

    b = ga.create("dataset", "co2_series").load()
    assert b.data_type == "series" and b.task == "forecasting"
    assert b.X.shape == (2284, 1) and np.isfinite(b.X).all()
    raw = smd.co2.load_pandas().data["co2"].to_numpy()
    miss = np.flatnonzero(np.isnan(raw))
    assert b.meta["interpolated"] == miss.tolist() and len(miss) == 59
    np.testing.assert_array_equal(b.X[~np.isnan(raw), 0], raw[~np.isnan(raw)])
    # step 6 is an isolated gap: the mean of its neighbours; steps 9..13 a run of five, on the line from 8 to 14
    assert b.X[6, 0] == pytest.approx((raw[5] + raw[7]) / 2, abs=1e-12)
    np.testing.assert_allclose(b.X[9:14, 0], raw[8] + (raw[14] - raw[8]) * np.arange(1, 6) / 6, atol=1e-12)
    short = ga.create("dataset", "co2_series", n_steps=300).load()
    assert short.X.shape == (300, 1) and all(i < 300 for i in short.meta["interpolated"])


def test_sunspots_yearly():
    b = ga.create("dataset", "sunspots_series").load()
    assert b.X.shape == (309, 1) and b.meta["start"] == 1700 and np.isfinite(b.X).all()
    assert b.X[0, 0] == 5.0 and b.X[1, 0] == 11.0


def test_missing_statsmodels_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "statsmodels.datasets", None)
    with pytest.raises(ImportError, match=r"geoatlas\[timeseries\]"):
        ga.create("dataset", "co2_series").load()


def test_periodic_series_follows_its_formula():
    b = ga.create("dataset", "periodic_series", n_channels=3, length=500, periods=[20.0, 50.0], noise=0.0,
                  coupling=0.7, lag=2, seed=3).load()
    X, m = b.X, b.meta
    assert X.shape == (500, 3) and b.data_type == "series"
    t = np.arange(500)[:, None]
    own = np.stack([(np.asarray(m["amplitudes"][c]) * np.sin(2 * np.pi * t / np.array([20.0, 50.0]) + np.asarray(m["phases"][c]))).sum(1)
                    for c in range(3)], 1)
    np.testing.assert_allclose(X[:, 0], own[:, 0], atol=1e-12)
    for c in (1, 2):
        np.testing.assert_allclose(X[2:, c], own[2:, c] + 0.7 * X[:-2, c - 1], atol=1e-12)
        np.testing.assert_allclose(X[:2, c], own[:2, c], atol=1e-12)
    # the strongest frequencies of channel 0 are the two periods (500 = 25 * 20 = 10 * 50 steps)
    amp = np.abs(np.fft.rfft(X[:, 0]))
    assert sorted(np.argsort(amp)[-2:].tolist()) == [10, 25]


def test_periodic_series_seeded():
    a = ga.create("dataset", "periodic_series", length=200, seed=1).load().X
    b = ga.create("dataset", "periodic_series", length=200, seed=1).load().X
    c = ga.create("dataset", "periodic_series", length=200, seed=2).load().X
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


@pytest.mark.parametrize("params,match", [
    ({"n_channels": 0}, "n_channels"), ({"periods": []}, "periods"), ({"periods": [-3.0]}, "periods"),
    ({"noise": -1.0}, "noise"), ({"lag": 0}, "lag"), ({"length": 1.5}, "length"),
])
def test_periodic_series_bad_params(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ga.create("dataset", "periodic_series", **params)


# ---------------------------------------------------------------------------- CTR table
def test_ctr_table_shape_and_meta():
    b = ga.create("dataset", "synthetic_ctr", n_samples=3000, n_fields=5, cardinality=[10, 20, 30, 40, 50], seed=0).load()
    assert b.data_type == "table" and b.task == "ranking"
    assert b.X.shape == (3000, 5) and b.X.dtype == np.int64 and set(np.unique(b.y)) == {0, 1}
    m = b.meta
    assert m["cardinalities"] == [10, 20, 30, 40, 50] and (b.X.max(0) < np.array(m["cardinalities"])).all() and b.X.min() >= 0
    assert m["informative_fields"] == [0, 1] and m["noise_fields"] == [2, 3, 4] and m["interaction_pairs"] == [[0, 1]]
    for f in m["noise_fields"]:
        assert not m["main_effects"][f].any()
    # the stored probability is the planted model's: bias + main effects + interaction
    ui, uj = m["interaction_vectors"]["0,1"]
    logit = -1.0 + sum(m["main_effects"][f][b.X[:, f]] for f in range(5)) + (ui[b.X[:, 0]] * uj[b.X[:, 1]]).sum(1) / 2.0
    np.testing.assert_allclose(m["probability"], 1 / (1 + np.exp(-logit)), atol=1e-12)
    assert abs(b.y.mean() - m["probability"].mean()) < 3 * np.sqrt(0.25 / 3000)


def test_ctr_seeded():
    a = ga.create("dataset", "synthetic_ctr", n_samples=500, seed=4).load()
    b = ga.create("dataset", "synthetic_ctr", n_samples=500, seed=4).load()
    c = ga.create("dataset", "synthetic_ctr", n_samples=500, seed=5).load()
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


@pytest.mark.parametrize("s", [0.8, 1.1, 1.5])
def test_ctr_zipf_rank_frequency_slope(s):
    b = ga.create("dataset", "synthetic_ctr", n_samples=40000, n_fields=1, cardinality=200, zipf=s,
                  informative=[], interactions=[], seed=1).load()
    counts = np.sort(np.bincount(b.X[:, 0], minlength=200))[::-1]
    ranks = np.arange(1, 201)
    keep = counts >= 30  # well-sampled ranks
    slope = np.polyfit(np.log(ranks[keep]), np.log(counts[keep]), 1)[0]
    assert abs(slope + s) < 0.1, slope
    # the most frequent id's share matches the Zipf law
    assert abs(counts[0] / 40000 - zipf_probabilities(200, s)[0]) < 0.01


def test_ctr_informative_fields_carry_signal():
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import OneHotEncoder

    b = ga.create("dataset", "synthetic_ctr", n_samples=8000, n_fields=6, cardinality=20, informative=[0, 1, 2],
                  interactions=[], seed=2).load()
    tr, te = slice(0, 6000), slice(6000, None)

    def auc(fields):
        enc = OneHotEncoder(handle_unknown="ignore").fit(b.X[tr][:, fields])
        clf = LogisticRegression(max_iter=1000).fit(enc.transform(b.X[tr][:, fields]), b.y[tr])
        return roc_auc_score(b.y[te], clf.predict_proba(enc.transform(b.X[te][:, fields]))[:, 1])

    informative, noise = auc([0, 1, 2]), auc([3, 4, 5])
    assert informative > 0.7 and abs(noise - 0.5) < 0.05, (informative, noise)


@pytest.mark.parametrize("params,match", [
    ({"n_fields": 3, "cardinality": [5, 5]}, "cardinality"),
    ({"informative": [0, 9]}, "informative"),
    ({"informative": [0, 1], "interactions": [[1, 2]]}, "not informative"),
    ({"interactions": [[1, 1]]}, "two different"),
    ({"zipf": -0.5}, "zipf"),
    ({"n_samples": 1}, "n_samples"),
])
def test_ctr_bad_params(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        ga.create("dataset", "synthetic_ctr", **params)
