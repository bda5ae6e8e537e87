"""The ``schur_complement_entropy`` measure component and its example pipeline."""

from pathlib import Path

import numpy as np
import pytest

import geoatlas as ga
from geoatlas.testing.kinds import check_measure
from geoatlas_plugins.schur_complement_entropy.sce import (
    KernelFeatures,
    SchurComplementEntropyMeasure,
    schur_complement_entropy,
    schur_complement_entropy_from_kernels,
)

PIPELINE = Path(__file__).resolve().parents[1] / "pipelines" / "digits_sce.yaml"


def _labelled(n=120, d=5, classes=4, modes=3, seed=0):
    rng = np.random.default_rng(seed)
    centres = 2.0 * rng.normal(size=(classes, d))
    y = rng.integers(0, classes, n)
    mode_dirs = rng.normal(size=(modes, d))
    X = centres[y] + mode_dirs[rng.integers(0, modes, n)] + 0.1 * rng.normal(size=(n, d))
    return X, y


def test_registered_and_check_measure():
    m = ga.create("measure", "schur_complement_entropy", sigma=2.0, rff_dim=200)
    assert isinstance(m, SchurComplementEntropyMeasure) and not m.needs_model
    X, y = _labelled()
    assert check_measure(m, data={"X": X, "y": y})["keys"] == ["n_classes", "n_samples", "sce", "sce_text", "vendi"]


@pytest.mark.parametrize("kernel", ["gaussian", "cosine"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_labels_route_equals_projector_route(kernel, seed):
    # the measure's class-mean formula (A* = class means of phi) against the n x n projector
    # route P_T = K_T K_T^+ with K_T = one-hot Gram: two different algorithms for the same SCE
    X, y = _labelled(seed=seed)
    out = SchurComplementEntropyMeasure(kernel=kernel, sigma=2.0, rff_dim=150, seed=seed)(data={"X": X, "y": y})
    F = KernelFeatures(kernel, 2.0, 150, seed)(X)
    Y = np.eye(y.max() + 1)[y]
    ref = schur_complement_entropy_from_kernels(Y @ Y.T, F @ F.T)
    assert out["sce"] == pytest.approx(ref.image, rel=1e-8)
    assert out["sce_text"] == pytest.approx(ref.text, rel=1e-8)


def test_columns_route_equals_the_function():
    rng = np.random.default_rng(3)
    T = rng.normal(size=(80, 4))
    Im = T + 0.5 * rng.normal(size=(80, 4))
    out = SchurComplementEntropyMeasure(text="columns", text_dims=4, sigma=1.5, rff_dim=100)(data={"X": np.hstack([Im, T])})
    ref = schur_complement_entropy(T, Im, sigma=1.5, rff_dim=100)
    assert (out["sce"], out["sce_text"]) == (ref.image, ref.text)


def test_properties():
    X, y = _labelled()
    m = SchurComplementEntropyMeasure(sigma=2.0, rff_dim=200)
    base = m(data={"X": X, "y": y})
    # rows permuted together with their labels: same scores
    p = np.random.default_rng(5).permutation(len(y))
    perm = m(data={"X": X[p], "y": y[p]})
    for k in ("sce", "sce_text", "vendi"):
        assert perm[k] == pytest.approx(base[k], rel=1e-9)
    # every class a single point: the label explains everything, nothing is left (SCE = 1)
    centres = np.random.default_rng(1).normal(size=(4, 5))
    collapsed = m(data={"X": centres[y], "y": y})
    assert collapsed["sce"] == 1.0 and collapsed["sce_text"] > 1.5
    # more within-class modes at the same labels: SCE (the unexplained diversity) grows
    sce = [m(data={"X": _labelled(modes=k)[0], "y": y})["sce"] for k in (1, 2, 4, 8)]
    assert np.all(np.diff(sce) > 0), sce


def test_bad_input():
    X, y = _labelled()
    with pytest.raises(ValueError, match="text"):
        SchurComplementEntropyMeasure(text="prompts")
    with pytest.raises(ValueError, match="text_dims"):
        SchurComplementEntropyMeasure(text="columns")
    with pytest.raises(ValueError, match="text_dims"):
        SchurComplementEntropyMeasure(text="labels", text_dims=2)
    with pytest.raises(ValueError, match="sigma"):
        SchurComplementEntropyMeasure(sigma=0.0)
    m = SchurComplementEntropyMeasure(sigma=2.0, rff_dim=50)
    with pytest.raises(ValueError, match="y"):
        m(data={"X": X})
    with pytest.raises(ValueError, match="y"):
        m(data={"X": X, "y": y[:-1]})
    with pytest.raises(ValueError, match="NaN"):
        m(data={"X": np.where(X > 1, np.nan, X), "y": y})
    with pytest.raises(ValueError, match="data"):
        m(data=None)
    with pytest.raises(ValueError, match="text_dims"):
        SchurComplementEntropyMeasure(text="columns", text_dims=5)(data={"X": X})


def test_example_pipeline_runs(tmp_path):
    res = ga.Pipeline.from_yaml(PIPELINE).run(runs_root=tmp_path, progress=False)
    assert res.metrics["models"]["logreg"]["accuracy"] > 0.9
    g = res.metrics["measures"]["schur_complement_entropy"]
    assert g["n_samples"] == 450 and 1.0 < g["sce"] < g["vendi"]
