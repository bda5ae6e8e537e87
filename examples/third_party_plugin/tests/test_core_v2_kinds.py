"""The third-party plugin adds a task, two metrics, a measure and a loss without touching the core."""

from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_loss, check_measure, check_metric

SPEC = Path(__file__).resolve().parents[2] / "pipelines" / "third_party_d2_retrieval.yaml"


def test_components_of_every_new_kind_are_listed():
    names = {(c.kind, c.full_name) for c in ga.list_components()}
    for kind, name in [("task", "shape_retrieval"), ("metric", "retrieval_precision_at_1"), ("metric", "balanced_accuracy"),
                       ("measure", "fisher_ratio"), ("loss", "mutual_information_clustering")]:
        assert (kind, f"d2_shape/{name}") in names


def test_balanced_accuracy_matches_sklearn():
    from sklearn.metrics import balanced_accuracy_score

    rng = np.random.default_rng(0)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    check_metric(ga.create("metric", "balanced_accuracy"), y, p, reference=balanced_accuracy_score, worse=(y + 1) % 4)


def test_rim_loss_contract_and_optimum():
    loss = ga.create("loss", "mutual_information_clustering")
    logits = torch.randn(32, 5, dtype=torch.float64, requires_grad=True)

    def make(k):
        base = torch.randn(16, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
        return base.repeat(k, 1).requires_grad_(True), {"x": None}

    check_loss(loss, logits, {"x": None}, make_batch=make)
    # confident and balanced assignments reach the optimum -log(K) (conditional entropy 0)
    best = torch.eye(5, dtype=torch.float64).repeat(4, 1) * 60
    assert float(loss(best, {})) == pytest.approx(-np.log(5), abs=1e-9)


def test_fisher_ratio_measure():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1], 50)
    X = rng.normal(size=(100, 3)) + 5 * y[:, None]
    rep = check_measure(ga.create("measure", "fisher_ratio"), data={"X": X, "y": y})
    assert rep["keys"] == ["fisher_ratio", "n_classes"]
    # closed form: between-class scatter 100 * 3 * 2.5**2, within-class about 100 * 3: ratio about 6.25
    assert ga.create("measure", "fisher_ratio")(data={"X": X, "y": y})["fisher_ratio"] == pytest.approx(6.25, rel=0.15)


def test_pipeline_with_third_party_task_metric_and_measure(tmp_path):
    res = ga.Pipeline.from_yaml(SPEC).run(runs_root=tmp_path, progress=False)
    assert res.metrics["task"] == "shape_retrieval"
    m = res["knn"]
    assert 0.5 < m["retrieval_precision_at_1"] <= 1.0 and 0.5 < m["balanced_accuracy"] <= 1.0
    assert res.metrics["measures"]["fisher_ratio"]["fisher_ratio"] > 0
