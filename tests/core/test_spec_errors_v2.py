"""Core v2 spec sections (task, loss, pretrain, measures, metrics) fail early and clearly."""

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.errors import SpecError
from geoatlas.testing import check_loss, check_metric

BASE = """\
name: v2
seed: 0
data:
  dataset: sklearn_iris
models:
  mlp:
    encoder: mlp
    params: {hidden: [8]}
train: {epochs: 1}
"""


def _err(text: str) -> str:
    with pytest.raises(SpecError) as info:
        ga.Pipeline.from_yaml(text).validate()
    return str(info.value)


def test_task_data_mismatch_names_both_and_the_line():
    msg = _err(BASE.replace("seed: 0\n", "seed: 0\ntask: forecasting\n"))
    assert "line 3 (task)" in msg and "'forecasting'" in msg and "'sklearn_iris'" in msg and "series" in msg


def test_unknown_task_and_task_param_typo():
    msg = _err(BASE.replace("seed: 0\n", "seed: 0\ntask: forcasting\n"))
    assert "unknown task 'forcasting'" in msg and "Did you mean 'forecasting'" in msg
    spec = BASE.replace("sklearn_iris", "periodic_series").replace("seed: 0\n", "seed: 0\ntask: {name: forecasting, params: {horizn: 4}}\n")
    msg = _err(spec)
    assert "task.params.horizn" in msg and "Did you mean 'horizon'" in msg


def test_metric_of_another_task_lists_the_right_ones():
    msg = _err(BASE + "evaluate: {metrics: [accuracy, mrr]}\n")
    assert "metric 'mrr' does not apply to task 'classification'" in msg and "accuracy" in msg and "line 10" in msg
    msg = _err(BASE + "evaluate: {metrics: [acuracy]}\n")
    assert "unknown metric 'acuracy'" in msg and "Did you mean 'accuracy'" in msg


def test_model_kind_the_task_does_not_take():
    spec = BASE.replace("    encoder: mlp\n    params: {hidden: [8]}\n", "    clusterer: kmeans\n")
    msg = _err(spec)
    assert "task 'classification' takes models of kind encoder or classifier, not a clusterer" in msg


def test_loss_reference_errors_point_at_the_loss():
    msg = _err(BASE.replace("    params: {hidden: [8]}\n", "    params: {hidden: [8]}\n    loss: {name: cross_entropy, params: {smoothing: 0.1}}\n"))
    assert "models.mlp.loss.params.smoothing" in msg and "label_smoothing" in msg
    msg = _err(BASE.replace("    params: {hidden: [8]}\n", "    params: {hidden: [8]}\n    loss: crossentropy\n"))
    assert "unknown loss 'crossentropy'" in msg
    msg = _err(BASE.replace("  mlp:\n    encoder: mlp\n    params: {hidden: [8]}\n", "  lr:\n    classifier: logistic_regression\n    loss: mse\n"))
    assert "`loss:` applies to encoder models only" in msg


def test_pretrain_only_with_representation_and_required_there():
    msg = _err(BASE + "pretrain: {loss: info_nce}\n")
    assert "task 'classification' has no pre-training stage" in msg
    msg = _err(BASE.replace("seed: 0\n", "seed: 0\ntask: representation\n"))
    assert "needs a `pretrain:` section" in msg


def test_measures_are_checked():
    msg = _err(BASE + "measures:\n  - {measure: effective_rnk}\n")
    assert "unknown measure 'effective_rnk'" in msg and "effective_rank" in msg
    msg = _err(BASE + "measures:\n  - {measure: effective_rank, models: [cnn]}\n")
    assert "no model called 'cnn'" in msg and "mlp" in msg
    msg = _err(BASE + "measures:\n  - {measure: effective_rank, on: test}\n")
    assert "read as the boolean True" in msg and "part:" in msg  # YAML reads a bare `on` as true


def test_perturbations_only_where_they_apply():
    spec = BASE.replace("sklearn_iris", "synthetic_ctr").replace("seed: 0\n", "seed: 0\ntask: ranking\n").replace(
        "    encoder: mlp\n    params: {hidden: [8]}\n", "    encoder: ctr_logistic\n")
    ga.Pipeline.from_yaml(spec).validate()
    msg = _err(spec + "evaluate:\n  perturbations:\n    r: {group: so3}\n")
    assert "task 'ranking' does not take `perturbations:`" in msg


def test_measures_and_task_in_a_run(tmp_path):
    spec = BASE + "measures:\n  - {measure: effective_rank}\n  - {measure: effective_rank, models: [mlp], part: train}\n"
    res = ga.Pipeline.from_yaml(spec).run(runs_root=tmp_path, progress=False)
    assert res.metrics["task"] == "classification"
    m = res.metrics["measures"]
    assert 1.0 <= m["effective_rank"]["effective_rank"] <= 4.0  # iris has 4 features
    assert "mlp" in m["effective_rank_1"]


def test_check_loss_catches_a_sum_and_a_non_scalar():
    class SumCE(ga.Loss):
        def forward(self, outputs, batch):
            return torch.nn.functional.cross_entropy(outputs, batch["y"], reduction="sum")

    def make(k):
        g = torch.Generator().manual_seed(0)
        out = torch.randn(6, 3, generator=g).repeat(k, 1).requires_grad_(True)
        return out, {"y": torch.arange(6).remainder(3).repeat(k)}

    out, batch = make(1)
    with pytest.raises(AssertionError, match="depends on the batch size"):
        check_loss(SumCE(), out, batch, make_batch=make)
    check_loss(ga.create("loss", "cross_entropy"), out, batch, make_batch=make)

    class Vector(ga.Loss):
        def forward(self, outputs, batch):
            return outputs.sum(1)

    with pytest.raises(AssertionError, match="scalar"):
        check_loss(Vector(), out, batch)


def test_check_metric_catches_a_wrong_reference_and_direction():
    from sklearn.metrics import accuracy_score

    y = np.array([0, 1, 1, 0, 1])
    p = np.array([0, 1, 0, 0, 1])
    acc = ga.create("metric", "accuracy")
    check_metric(acc, y, p, reference=accuracy_score, worse=1 - y)
    with pytest.raises(AssertionError, match="differs from the reference"):
        check_metric(acc, y, p, reference=lambda a, b: 0.5)
    with pytest.raises(AssertionError, match="declared direction"):
        check_metric(acc, y, p, worse=y)
