"""The clustering task: labels never reach a model, well-separated blobs are recovered (NMI 1),
k-means equals scikit-learn's run by hand, the held-out / transductive splits, clear errors."""

import sys
import types

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.metrics import normalized_mutual_info_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import geoatlas as ga
from geoatlas import hookimpl, plugins
from geoatlas.errors import SpecError
from geoatlas.interfaces import DataBundle, Loss
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task


@pytest.fixture
def blobs(tmp_path):
    X, y = make_blobs(n_samples=240, centers=4, n_features=5, cluster_std=0.6, center_box=(-15, 15), random_state=0)
    path = tmp_path / "blobs.npz"
    np.savez(path, X=X, y=y)
    return str(path), X, y


def _spec(path, models, task="clustering", **over):
    spec = {"name": "clu-test", "seed": 0, "data": {"dataset": "local_arrays", "params": {"path": path}, "split": {"test": 0.25}},
            "task": task, "models": models, "train": {"epochs": 30, "batch_size": 60, "lr": 0.01}}
    spec.update(over)
    return spec


def test_blobs_are_recovered_by_every_clusterer(blobs, tmp_path):
    path, X, y = blobs
    models = {"kmeans": {"clusterer": "kmeans"}, "gmm": {"clusterer": "gaussian_mixture"}, "ward": {"clusterer": "agglomerative"}}
    for task in ("clustering", {"name": "clustering", "params": {"transductive": True}}):
        res = ga.Pipeline.from_dict(_spec(path, models, task)).run(runs_root=tmp_path, progress=False)
        n_test = res.metrics["data"]["n_test"]
        assert n_test == (60 if task == "clustering" else 240)
        for label in models:
            m = res[label]
            assert set(m) == {"nmi", "ari", "cluster_accuracy"}
            assert m["nmi"] > 0.999 and m["ari"] > 0.999 and m["cluster_accuracy"] == 1.0, (task, label, m)


def test_kmeans_equals_scikit_learn_by_hand(blobs, tmp_path):
    path, X, y = blobs
    X, y = make_blobs(n_samples=300, centers=5, n_features=3, cluster_std=3.0, random_state=1)  # overlapping
    np.savez(path, X=X, y=y)
    res = ga.Pipeline.from_dict(_spec(path, {"km": {"clusterer": "kmeans"}}, seed=7)).run(runs_root=tmp_path, progress=False)
    s = ga.create("task", "clustering").split(DataBundle(X.astype(np.float32), y, "vector"), SplitSpec(test=0.25), 7)
    idx_tr, idx_te = s["index_train"], s["index_test"]
    ref = make_pipeline(StandardScaler(), KMeans(n_clusters=5, random_state=7, n_init=10)).fit(X[idx_tr].astype(np.float32).astype(np.float64))
    nmi = normalized_mutual_info_score(y[idx_te], ref.predict(X[idx_te].astype(np.float32).astype(np.float64)))
    assert 0.3 < nmi < 0.99 and abs(res["km"]["nmi"] - nmi) < 1e-6  # metrics.json rounds to 6 digits


_TRAP = {"calls": 0}


class _LabelTrapLoss(Loss):
    """Information maximisation (confident and balanced assignments); fails if it sees labels."""

    requires = ()

    def forward(self, outputs, batch):
        if "y" in batch:
            raise AssertionError("the clustering task passed labels to the loss")
        _TRAP["calls"] += 1
        p = outputs.softmax(1)
        cond = -(p * p.clamp_min(1e-12).log()).sum(1).mean()
        marg = p.mean(0)
        return cond + (marg * marg.clamp_min(1e-12).log()).sum()


@pytest.fixture
def trap_loss(monkeypatch):
    mod = types.ModuleType("geoatlas_test_clustering_trap")
    mod._LabelTrapLoss = _LabelTrapLoss
    monkeypatch.setitem(sys.modules, mod.__name__, mod)

    class P:
        @hookimpl
        def geoatlas_manifest(self):
            return {"id": "clustering_trap", "title": "test", "components": {"loss": {"label_trap": f"{mod.__name__}:_LabelTrapLoss"}}}

    st = plugins.register(P(), "clustering_trap")
    assert st.state == "loaded", st.error
    yield
    plugins.unregister("clustering_trap")


def test_labels_never_reach_the_model(blobs, tmp_path, trap_loss):
    path, X, y = blobs
    _TRAP["calls"] = 0
    models = {"enc": {"encoder": "mlp", "params": {"hidden": [32]}, "loss": "label_trap"}}
    res = ga.Pipeline.from_dict(_spec(path, models)).run(runs_root=tmp_path, progress=False)
    assert _TRAP["calls"] == 30 * 3  # 30 epochs of 3 batches, none of them with labels
    assert res.models["enc"].net[-1].out_features == 4  # num_classes/out_features = the number of clusters
    assert res["enc"]["nmi"] > 0.8
    s = ga.create("task", "clustering").split(DataBundle(X, y, "vector"), SplitSpec(), 0)
    assert s["y_train"] is None  # feature steps are fitted without labels too


def test_n_clusters_overrides_the_number_of_classes(blobs, tmp_path, trap_loss):
    path, X, y = blobs
    models = {"km": {"clusterer": "kmeans"}, "enc": {"encoder": "mlp", "params": {"hidden": [8]}, "loss": "label_trap"}}
    spec = _spec(path, models, {"name": "clustering", "params": {"n_clusters": 2}}, train={"epochs": 1})
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res.models["km"][-1].n_clusters == 2 and res.models["enc"].net[-1].out_features == 2
    assert res["km"]["cluster_accuracy"] <= 0.6  # 2 clusters match at most 2 of the 4 (about equal) classes


def test_encoder_without_a_clustering_loss_is_a_clear_error(blobs, tmp_path):
    path, _, _ = blobs
    with pytest.raises(ValueError, match="needs a clustering loss under `loss:`"):
        ga.Pipeline.from_dict(_spec(path, {"enc": {"encoder": "mlp"}})).run(runs_root=tmp_path, progress=False)
    with pytest.raises(ValueError, match=r"needs batch keys \['y'\].*trains without labels"):
        ga.Pipeline.from_dict(_spec(path, {"enc": {"encoder": "mlp", "loss": "cross_entropy"}})).run(runs_root=tmp_path, progress=False)


def test_graph_nodes_are_clustered(tmp_path):
    spec = {"name": "clu-karate", "seed": 0, "data": {"dataset": "karate_club", "params": {"source": "networkx"}},
            "task": {"name": "clustering", "params": {"transductive": True}}, "models": {"km": {"clusterer": "kmeans"}}}
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res.metrics["data"]["n_test"] == 34 and 0 <= res["km"]["cluster_accuracy"] <= 1


def test_check_task_and_split():
    X, y = make_blobs(n_samples=50, centers=3, random_state=0)
    b = DataBundle(X, y, "vector")
    task = ga.create("task", "clustering")
    assert check_task(task, b, SplitSpec(test=0.2)) == {"n_train": 40, "n_test": 10}
    s = task.split(b, SplitSpec(test=0.2), 0)
    assert s["n_clusters"] == 3 and np.array_equal(s["y_test"], y[s["index_test"]])
    t = ga.create("task", "clustering", transductive=True)
    assert check_task(t, b, SplitSpec(test=0.2)) == {"n_train": 50, "n_test": 50}
    assert np.array_equal(t.split(b, SplitSpec(), 0)["X_test"], X)
    with pytest.raises(ValueError, match="has none"):
        task.split(DataBundle(X, None, "vector", task="clustering"), SplitSpec(), 0)
    with pytest.raises(ValueError, match="n_clusters=100 exceeds"):
        ga.create("task", "clustering", n_clusters=100).split(b, SplitSpec(), 0)


@pytest.mark.parametrize("params,exc,match", [
    ({"n_clusters": 0}, ValueError, "n_clusters must be >= 1"),
    ({"n_clusters": True}, TypeError, "n_clusters must be an integer"),
    ({"transductive": "yes"}, TypeError, "transductive must be a bool"),
])
def test_bad_task_params(params, exc, match):
    with pytest.raises(exc, match=match):
        ga.create("task", "clustering", **params)


YAML = """name: clu-bad
data:
  dataset: {dataset}
task:
  name: clustering
  params: {{{params}}}
models:
  m: {{{model}}}
evaluate:
  metrics: [{metric}]
"""


@pytest.mark.parametrize("fill,match", [
    (dict(dataset="sklearn_iris", params="n_cluster: 3", model="clusterer: kmeans", metric="nmi"), r"line 6.*no parameter 'n_cluster'.*Did you mean 'n_clusters'"),
    (dict(dataset="sklearn_iris", params="", model="clusterer: kmeans", metric="mrr"), r"line 10.*metric 'mrr' does not apply to task 'clustering'"),
    (dict(dataset="sklearn_iris", params="", model="classifier: svc", metric="nmi"), r"takes models of kind clusterer or encoder, not a classifier"),
    (dict(dataset="synthetic_kg", params="", model="clusterer: kmeans", metric="nmi"), r"line 5.*needs a classification or clustering dataset"),
])
def test_bad_specs_name_the_line(fill, match):
    with pytest.raises(SpecError, match=match):
        ga.Pipeline.from_yaml(YAML.format(**fill)).validate()


def test_torch_seed_untouched_by_split():
    """The split draws from its own generator (same seed, same split, whatever torch's state)."""
    X, y = make_blobs(n_samples=30, centers=2, random_state=0)
    task = ga.create("task", "clustering")
    torch.manual_seed(1)
    a = task.split(DataBundle(X, y, "vector"), SplitSpec(), 3)["index_test"]
    torch.manual_seed(2)
    np.random.seed(5)
    assert np.array_equal(a, task.split(DataBundle(X, y, "vector"), SplitSpec(), 3)["index_test"])
