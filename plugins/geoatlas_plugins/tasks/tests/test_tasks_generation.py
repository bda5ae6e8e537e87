"""The generation task end to end: a trained Gaussian beats a wrong one, samplers without a
likelihood, seeded samples, the split, and clear errors."""

import sys
import types

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas import hookimpl, plugins
from geoatlas.errors import GeoatlasError, SpecError
from geoatlas.interfaces import DataBundle, Encoder
from geoatlas.pipeline.runner import Pipeline
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task

MEAN = np.array([3.0, -2.0, 1.0])
COV = np.array([[2.0, 1.2, 0.0], [1.2, 1.5, -0.4], [0.0, -0.4, 0.5]])


class OnlySampler(Encoder):
    """A sampler without a likelihood: N(loc, I), nothing to train."""

    input_type = "vector"

    def __init__(self, in_features: int, loc: float = 0.0) -> None:
        super().__init__()
        self.in_features, self.loc = in_features, loc

    def forward(self, x):
        return x

    def sample(self, n, generator=None):
        return self.loc + torch.randn(n, self.in_features, generator=generator)


@pytest.fixture(scope="module")
def only_sampler():
    mod = types.ModuleType("ga_test_generation_models")
    mod.OnlySampler = OnlySampler
    sys.modules[mod.__name__] = mod

    class P:
        @hookimpl
        def geoatlas_manifest(self):
            return {"id": "ga_test_generation", "title": "test sampler", "components": {"encoder": {
                "only_sampler": {"target": "ga_test_generation_models:OnlySampler", "summary": "N(loc, I) sampler"}}}}

    st = plugins.register(P(), "ga_test_generation")
    assert st.state == "loaded", st.error
    yield "only_sampler"
    plugins.unregister("ga_test_generation")
    sys.modules.pop(mod.__name__, None)


@pytest.fixture(scope="module")
def blob(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.multivariate_normal(MEAN, COV, size=400).astype(np.float32)
    path = tmp_path_factory.mktemp("blob") / "blob.npz"
    np.savez(path, X=X, y=np.zeros(len(X), dtype=np.float32))
    return str(path), X


def _spec(path, models, metrics=None, **over):
    spec = {"name": "gen_test", "seed": 0, "task": "generation",
            "data": {"dataset": "local_arrays", "params": {"path": path, "task": "regression"}, "split": {"test": 0.25}},
            "models": models, "train": {"epochs": 200, "batch_size": 100, "lr": 0.05}, "plots": False}
    if metrics is not None:
        spec["evaluate"] = {"metrics": metrics}
    spec.update(over)
    return spec


def test_trained_gaussian_beats_a_wrong_model(blob, tmp_path):
    path, X = blob
    models = {"mle": {"encoder": "gaussian_density"},
              "wrong": {"encoder": "gaussian_density", "train": {"epochs": 0}}}  # N(0, I)
    res = Pipeline.from_dict(_spec(path, models)).run(runs_root=tmp_path, progress=False)
    mle, wrong = res["mle"], res["wrong"]
    assert set(mle) >= {"sliced_wasserstein", "mmd", "nll"}  # the default metrics
    assert mle["sliced_wasserstein"] < 0.5 * wrong["sliced_wasserstein"]
    assert mle["mmd"] < wrong["mmd"] and mle["nll"] < wrong["nll"]
    # the trained parameters approach the closed-form MLE of the training part
    model = res.models["mle"]
    Xtr = X[np.setdiff1d(np.arange(len(X)), _test_index(len(X)))].astype(np.float64)
    np.testing.assert_allclose(model.mean.detach().numpy(), Xtr.mean(0), atol=0.05)
    np.testing.assert_allclose(model.covariance().detach().numpy(), np.cov(Xtr.T, bias=True), atol=0.1)
    # the same spec and seed give the same samples, hence the same metrics
    again = Pipeline.from_dict(_spec(path, models)).run(runs_root=tmp_path, progress=False)
    assert again["mle"] == mle


def _test_index(n):
    bundle = DataBundle(np.zeros((n, 1)), None, "vector", task="regression")
    return ga.create("task", "generation").split(bundle, SplitSpec(test=0.25), 0)["index_test"]


def test_sampler_without_likelihood(blob, tmp_path, only_sampler):
    path, _ = blob
    models = {"s": {"encoder": only_sampler, "params": {"loc": 1.0}, "train": {"epochs": 0}}}
    res = Pipeline.from_dict(_spec(path, models)).run(runs_root=tmp_path, progress=False)
    assert "nll" not in res["s"] and res["s"]["sliced_wasserstein"] > 0 and "mmd" in res["s"]
    assert "metric nll skipped" in (res.run_dir / "log.txt").read_text()
    with pytest.raises(GeoatlasError, match="metric 'nll' needs a log-likelihood"):
        Pipeline.from_dict(_spec(path, models, ["sliced_wasserstein", "nll"])).run(runs_root=tmp_path, progress=False)
    untrained = {"s": {"encoder": only_sampler}}  # train.epochs 200 but nothing to train it with
    with pytest.raises(GeoatlasError, match="give it a `loss:`"):
        Pipeline.from_dict(_spec(path, untrained)).run(runs_root=tmp_path, progress=False)


def test_model_that_is_no_density_and_no_sampler(blob, tmp_path):
    path, _ = blob
    with pytest.raises(GeoatlasError, match="neither a density model nor a sampler"):
        Pipeline.from_dict(_spec(path, {"m": {"encoder": "mlp"}})).run(runs_root=tmp_path, progress=False)


def test_split():
    task = ga.create("task", "generation")
    bundle = ga.create("dataset", "sklearn_iris").load()
    assert check_task(task, bundle, SplitSpec(test=0.2), seed=1) == {"n_train": 120, "n_test": 30}
    part = task.split(bundle, SplitSpec(test=0.2), 1)
    assert part["y_train"] is None and part["y_test"] is None  # labels are ignored
    with pytest.raises(ValueError, match="n_samples"):
        ga.create("task", "generation", n_samples=0)


def test_bad_specs(blob):
    path, _ = blob
    base = _spec(path, {"m": {"encoder": "gaussian_density"}})
    with pytest.raises(SpecError, match="metric 'accuracy' does not apply to task 'generation'"):
        Pipeline.from_dict({**base, "evaluate": {"metrics": ["accuracy"]}}).validate()
    with pytest.raises(SpecError, match="Did you mean 'n_samples'"):
        Pipeline.from_dict({**base, "task": {"name": "generation", "params": {"n_sample": 5}}}).validate()
    with pytest.raises(SpecError, match="takes vector, image"):
        Pipeline.from_dict({**base, "data": {"dataset": "karate_club"}}).validate()
    with pytest.raises(SpecError, match="has no pre-training stage"):
        Pipeline.from_dict({**base, "pretrain": {"loss": "info_nce"}}).validate()
    with pytest.raises(SpecError, match="takes models of kind encoder"):
        Pipeline.from_dict({**base, "models": {"m": {"classifier": "knn"}}}).validate()
