"""The ranking (click-through) task: stratified split, inferred cardinalities, predictions, end to end."""

import numpy as np
import pytest

import geoatlas as ga
from geoatlas.errors import SpecError
from geoatlas.interfaces import DataBundle
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task
from geoatlas_plugins.tasks.ranking import sigmoid


def _ctr(**kw):
    return ga.create("dataset", "synthetic_ctr", **{"n_samples": 4000, "n_fields": 5, "cardinality": 20, **kw}).load()


def test_check_task_and_stratified_split():
    b = _ctr(seed=1)
    task = ga.create("task", "ranking")
    rep = check_task(task, b, SplitSpec(test=0.25), seed=0)
    assert rep == {"n_train": 3000, "n_test": 1000}
    s = task.split(b, SplitSpec(test=0.25), 0)
    assert abs(s["y_train"].mean() - s["y_test"].mean()) < 1.5 / 1000  # stratified by click
    np.testing.assert_array_equal(s["X_test"], b.X[s["index_test"]])
    assert s["X_train"].dtype == np.int64
    other = task.split(b, SplitSpec(test=0.25), 1)
    assert not np.array_equal(other["index_test"], s["index_test"])


def test_inferred_cardinalities():
    task = ga.create("task", "ranking")
    b = _ctr(cardinality=[3, 4, 50, 6, 7])
    assert task.inferred_params({}, b) == {"cardinalities": [3, 4, 50, 6, 7], "n_fields": 5}
    # without meta: the whole table's max + 1 per field
    X = np.array([[0, 2], [1, 5], [0, 0], [1, 1]])
    plain = DataBundle(X, np.array([0, 1, 0, 1]), "table", "ranking")
    assert task.inferred_params({}, plain) == {"cardinalities": [2, 6], "n_fields": 2}
    plain.meta["cardinalities"] = [2, 3]
    with pytest.raises(ValueError, match="does not cover the table"):
        task.inferred_params({}, plain)


@pytest.mark.parametrize("X,y,match", [
    (np.array([[0.5, 1.0], [1.0, 2.0]] * 4), np.array([0, 1] * 4), "integer category ids"),
    (np.array([[0, -1], [1, 2]] * 4), np.array([0, 1] * 4), "negative"),
    (np.array([0, 1] * 4), np.array([0, 1] * 4), r"\(N, F\)"),
    (np.array([[0, 1], [1, 2]] * 4), np.array([0, 2] * 4), "0 or 1"),
    (np.array([[0, 1], [1, 2]] * 4), np.zeros(8, int), "one class"),
])
def test_bad_tables(X, y, match):
    with pytest.raises(ValueError, match=match):
        ga.create("task", "ranking").split(DataBundle(X, y, "table", "ranking"), SplitSpec(test=0.25), 0)


def test_sigmoid_is_stable():
    z = np.array([-1000.0, -30.0, 0.0, 30.0, 1000.0])
    p = sigmoid(z)
    assert np.isfinite(p).all() and p[2] == 0.5 and p[0] == 0.0 and p[-1] == 1.0
    np.testing.assert_allclose(p[1:4], 1 / (1 + np.exp(-z[1:4])), rtol=1e-12)


SPEC = {
    "name": "ctr_test", "seed": 0,
    "data": {"dataset": "synthetic_ctr", "params": {"n_samples": 6000, "n_fields": 5, "cardinality": 15, "main_effect": 1.0,
                                                     "interaction_strength": 1.0}},
    "models": {"logistic": {"encoder": "ctr_logistic"}, "onehot_lr": {"classifier": "logistic_regression", "params": {"C": 1.0}}},
    "train": {"epochs": 6, "batch_size": 256, "lr": 0.05}, "plots": False,
}


def test_pipeline_end_to_end(tmp_path):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss, roc_auc_score
    from sklearn.preprocessing import OneHotEncoder

    res = ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False)
    m = res.metrics
    assert m["task"] == "ranking" and m["data"]["n_test"] == 1500
    for label in ("logistic", "onehot_lr"):
        assert m["models"][label]["roc_auc"] > 0.7, m["models"]
        assert 0 < m["models"][label]["logloss"] < np.log(2)
    # the classifier's metrics equal scikit-learn's on the same split and one-hot features
    b = ga.create("dataset", "synthetic_ctr", **SPEC["data"]["params"]).load()
    s = ga.create("task", "ranking").split(b, SplitSpec(test=0.25), 0)
    enc = OneHotEncoder(categories=[np.arange(15)] * 5).fit(s["X_train"])
    p = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(enc.transform(s["X_train"]), s["y_train"]) \
        .predict_proba(enc.transform(s["X_test"]))[:, 1]
    assert m["models"]["onehot_lr"]["roc_auc"] == pytest.approx(roc_auc_score(s["y_test"], p), abs=1e-6)
    assert m["models"]["onehot_lr"]["logloss"] == pytest.approx(log_loss(s["y_test"], p), abs=1e-6)
    # the encoder got the table's cardinalities
    assert res.models["logistic"].cardinalities == [15] * 5


def test_predictions_are_scores_and_labels():
    from types import SimpleNamespace

    from sklearn.metrics import roc_auc_score

    from geoatlas.pipeline.spec import ModelSpec

    b = ga.create("dataset", "synthetic_ctr", **SPEC["data"]["params"]).load()
    task = ga.create("task", "ranking")
    s = task.split(b, SplitSpec(test=0.25), 0)
    ctx = SimpleNamespace(seed=0, bundle=b)  # all a classifier model uses of the context
    out = task.fit(ctx, "lr", ModelSpec(classifier="ridge"), {**s, "data_type": "table"})
    pred = out.predict(s["X_test"])
    assert set(pred) == {"scores", "labels"}
    assert pred["scores"].shape == (1500,) and ((pred["scores"] > 0) & (pred["scores"] < 1)).all()
    np.testing.assert_array_equal(pred["labels"], (pred["scores"] > 0.5).astype(int))
    assert roc_auc_score(out.y_true, pred["scores"]) > 0.7


def test_encoder_scores_are_the_sigmoid_of_its_logits(tmp_path):
    import torch
    from sklearn.metrics import log_loss, roc_auc_score

    spec = {**SPEC, "models": {"mlp": {"encoder": "ctr_embedding_mlp", "params": {"hidden": [16]}}}}
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    b = ga.create("dataset", "synthetic_ctr", **SPEC["data"]["params"]).load()
    s = ga.create("task", "ranking").split(b, SplitSpec(test=0.25), 0)
    with torch.no_grad():
        p = sigmoid(res.models["mlp"](torch.as_tensor(s["X_test"])).double().numpy())
    r = res["mlp"]
    assert r["roc_auc"] > 0.7
    assert r["roc_auc"] == pytest.approx(roc_auc_score(s["y_test"], p), abs=1e-6)
    assert r["logloss"] == pytest.approx(log_loss(s["y_test"], p), abs=1e-6)


def test_spec_errors_are_clear():
    def problems(spec):
        with pytest.raises(SpecError) as e:
            ga.Pipeline.from_dict(spec).validate()
        return str(e.value)

    assert "takes table data, not 'series'" in problems({**SPEC, "task": "ranking", "data": {"dataset": "periodic_series"}})
    assert "metric 'mse' does not apply to task 'ranking'" in problems({**SPEC, "evaluate": {"metrics": ["mse"]}})
    assert "Did you mean 'embedding_dim'" in problems(
        {**SPEC, "models": {"mlp": {"encoder": "ctr_embedding_mlp", "params": {"embeding_dim": 4}}}})
