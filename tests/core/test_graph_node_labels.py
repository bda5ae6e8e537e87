"""One graph with node labels: shared steps never see the test nodes' labels, and a scikit-learn
classifier after a descriptor fits on the training nodes only and predicts the test nodes."""

import numpy as np

import geoatlas as ga
from geoatlas.pipeline.runner import _training_labels


def test_steps_see_test_node_labels_hidden():
    y = np.array([0, 1, 2, 1, 0])
    mask = np.array([True, False, True, False, True])
    out = _training_labels({"y_train": y, "train_mask": mask})
    assert out.tolist() == [0, -1, 2, -1, 0] and y.tolist() == [0, 1, 2, 1, 0]
    real = _training_labels({"y_train": np.array([0.5, 1.5]), "train_mask": np.array([True, False])})
    assert real[0] == 0.5 and np.isnan(real[1])
    assert _training_labels({"y_train": y}) is y


def test_classifier_after_a_node_descriptor_uses_the_masks(tmp_path):
    spec = {
        "name": "karate-fastrp-logreg", "seed": 0,
        "data": {"dataset": "karate_club", "params": {"source": "networkx", "labels_per_class": 5, "seed": 0}},
        "steps": [{"descriptor": "fastrp", "params": {"dim": 16}}],
        "models": {"logreg": {"classifier": "logistic_regression"}},
    }
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res.metrics["data"]["n_train"] == 10 and res.metrics["data"]["n_test"] == 24
    # the classifier saw 10 training nodes, not all 34
    assert res.models["logreg"][-1].n_features_in_ == 16
    assert int(res.models["logreg"][0].n_samples_seen_) == 10
    assert 0.5 <= res["logreg"]["accuracy"] <= 1.0
