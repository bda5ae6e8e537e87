"""The Ray executor against the local one on a local Ray instance (2 CPUs, started once for the
module): same metrics, same run-directory contents, same checkpoints for the same seed; descriptor
blocks; the copy-back path for workers without a shared filesystem; a sweep of 2x3 settings x 3
seeds; and the clear error when Ray is not installed."""

import re
import sys
import time

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.errors import SpecError

ray = pytest.importorskip("ray")


@ray.remote(num_cpus=0.5)
def _warm():
    """Import torch, scikit-learn and the components the tests use in a worker process."""
    import time

    import geoatlas as ga

    ga.create("encoder", "mlp", in_features=4, out_features=2, hidden=[4])
    ga.create("descriptor", "d2_shape_distribution")
    ga.create("metric", "accuracy")
    from sklearn import linear_model, neighbors  # noqa: F401

    time.sleep(1.0)  # keep this worker busy so the other tasks land on other workers


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # four worker processes (two model tasks and the descriptor blocks they start) import torch and
    # the components once, here, rather than in the first test that needs them
    ray.get([_warm.remote() for _ in range(4)])
    yield
    if started:
        ray.shutdown()


# two models trained on raw digits, a third with its own (descriptor-free) encoder settings
DIGITS = {
    "name": "ray-digits",
    "seed": 5,
    "data": {"dataset": "sklearn_digits", "params": {"n_samples": 300}},
    "models": {
        "mlp": {"encoder": "mlp", "params": {"hidden": [32]}},
        "mlp_sgd": {"encoder": "mlp", "params": {"hidden": [16]}, "train": {"optimizer": "sgd", "lr": 0.05}},
        "logreg": {"classifier": "logistic_regression", "params": {"C": 0.5}},
    },
    "train": {"epochs": 3, "batch_size": 32, "lr": 0.01, "checkpoint_seconds": 0},
    "evaluate": {"metrics": ["accuracy", "macro_f1"]},
}

# per-sample descriptors as per-model steps (run over blocks by the executor inside each model's
# task), a perturbation (test samples through the steps again) and no shared step
CLOUDS = {
    "name": "ray-clouds",
    "seed": 2,
    "data": {"dataset": "manifold_samples", "params": {"n_per_class": 12, "n_points": 40, "seed": 1}},
    "models": {
        "mlp_on_d2": {"encoder": "mlp", "params": {"hidden": [16]},
                      "steps": [{"descriptor": "d2_shape_distribution", "params": {"bins": 12}}]},
        "knn_on_d2": {"classifier": "knn", "params": {"n_neighbors": 3},
                      "steps": [{"descriptor": "d2_shape_distribution", "params": {"bins": 6}}]},
    },
    "train": {"epochs": 2, "batch_size": 8},
    "evaluate": {"metrics": ["accuracy"], "perturbations": {"rotated": {"group": "so3", "input_type": "point_cloud"}}},
    "plots": False,
}

# the same with one shared descriptor step (run over blocks before the models)
CLOUDS_SHARED = {
    **CLOUDS,
    "steps": [{"descriptor": "d2_shape_distribution", "params": {"bins": 12}}],
    "models": {"mlp": {"encoder": "mlp", "params": {"hidden": [16]}}, "knn": {"classifier": "knn", "params": {"n_neighbors": 3}}},
}


def _with(spec, **executor):
    return {**spec, "executor": executor}


def _log_lines(d):
    """The run log without timestamps and durations (which differ between any two runs)."""
    out = []
    for line in (d / "log.txt").read_text().splitlines():
        msg = line.split(" ", 1)[1]
        out.append(re.sub(r"\d+\.\d+s\b", "<t>", msg))
    return out


def _files(d):
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*") if p.is_file())


@pytest.mark.parametrize("spec", [DIGITS, CLOUDS], ids=["digits-3-models", "clouds-descriptor-steps"])
def test_ray_gives_the_local_results_and_run_directory(tmp_path, spec):
    local = ga.Pipeline.from_dict(_with(spec, kind="local", threads=1)).run(run_dir=tmp_path / "local", progress=False)
    remote = ga.Pipeline.from_dict(_with(spec, kind="ray", threads=1, block_size=7)).run(run_dir=tmp_path / "ray", progress=False)
    assert remote.metrics == local.metrics
    a, b = local.run_dir, remote.run_dir
    assert _files(b) == _files(a)
    assert _log_lines(b) == _log_lines(a)
    for ck in (a / "checkpoints").glob("*.pt"):
        sa, sb = torch.load(ck, weights_only=True), torch.load(b / "checkpoints" / ck.name, weights_only=True)
        assert sa["epoch"] == sb["epoch"] and sa["history"] == sb["history"]
        for k, v in sa["model"].items():
            assert torch.equal(v, sb["model"][k]), (ck.name, k)
    # the fitted models came back too, and predict alike
    assert set(remote.models) == set(local.models)


def test_models_do_not_depend_on_the_models_before_them(tmp_path):
    """Each model starts from the random state after the shared steps: alone or after others,
    and on either executor, its metrics are the same (this is what makes parallel training exact)."""
    alone = {**DIGITS, "models": {"mlp_sgd": DIGITS["models"]["mlp_sgd"]}}
    m_alone = ga.Pipeline.from_dict(alone).run(run_dir=tmp_path / "alone", progress=False).metrics["models"]["mlp_sgd"]
    m_all = ga.Pipeline.from_dict(DIGITS).run(run_dir=tmp_path / "all", progress=False).metrics["models"]["mlp_sgd"]
    assert m_alone == m_all


def test_every_model_starts_from_the_same_random_state():
    """The executor contract behind parallel training: model k draws what model 1 draws."""
    import random

    from geoatlas.pipeline.executor import LocalExecutor

    class FakeRun:
        def _model(self, ctx, label, mspec):
            return random.random(), float(np.random.rand()), float(torch.rand(1))

    torch.manual_seed(0)
    out = [r for _, r, _ in LocalExecutor().train_models(FakeRun(), None, {"a": None, "b": None, "c": None}, (), lambda label: None)]
    assert out[0] == out[1] == out[2]


def test_descriptor_blocks_equal_one_transform():
    from geoatlas.pipeline.executor import RayExecutor

    d = ga.create("descriptor", "d2_shape_distribution", bins=8)
    X = np.random.default_rng(0).normal(size=(23, 15, 3))
    ex = RayExecutor(block_size=4)
    assert ex.blocks(23) == [(0, 4), (4, 8), (8, 12), (12, 16), (16, 20), (20, 23)]
    np.testing.assert_array_equal(ex.transform(d, X), d.transform(X))
    np.testing.assert_array_equal(ex.transform(d, list(X)), d.transform(X))  # lists of clouds too
    auto = RayExecutor()  # about four blocks per CPU of the (2-CPU) instance
    assert auto.workers == 2 and len(auto.blocks(1000)) == 8


def test_workers_without_the_run_directory_send_their_files_back(tmp_path, monkeypatch):
    """A cluster node that does not see the run directory trains in a scratch copy and sends the
    checkpoints back: the run directory ends up as with a shared filesystem."""
    from geoatlas.pipeline import executor

    class Blind(executor.Probe):  # the probe token never reaches the workers
        def __enter__(self):
            return str(self.path.parent / "not-there"), self.token

    monkeypatch.setattr(executor, "Probe", Blind)
    spec = CLOUDS_SHARED
    local = ga.Pipeline.from_dict(_with(spec, kind="local")).run(run_dir=tmp_path / "local", progress=False)
    remote = ga.Pipeline.from_dict(_with(spec, kind="ray", threads=1)).run(run_dir=tmp_path / "ray", progress=False)
    assert remote.metrics == local.metrics
    assert _files(remote.run_dir) == _files(local.run_dir)
    assert _log_lines(remote.run_dir) == _log_lines(local.run_dir)
    a, b = (torch.load(d / "checkpoints" / "mlp.pt", weights_only=True)["model"] for d in (local.run_dir, remote.run_dir))
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_a_failing_model_raises_as_locally(tmp_path):
    bad = {**DIGITS, "models": {"mlp": DIGITS["models"]["mlp"], "boom": {"classifier": "knn", "params": {"n_neighbors": 1000}}}}
    errors = []
    for kind in ("local", "ray"):
        with pytest.raises(Exception) as info:
            ga.Pipeline.from_dict(_with(bad, kind=kind)).run(run_dir=tmp_path / kind, progress=False)
        errors.append((type(info.value), str(info.value)))
        assert "error in train:boom" in (tmp_path / kind / "log.txt").read_text()
    assert errors[0] == errors[1]


def test_ray_sweep_2x3_settings_3_seeds(tmp_path):
    """The issue's bar: 2x3 settings x 3 seeds on a local Ray instance, one table row per setting,
    well under two minutes; the same table as a local sweep of the same runs."""
    from geoatlas.pipeline.sweep import sweep

    spec = {"name": "sweep-ray", "seed": 0, "data": {"dataset": "sklearn_digits", "params": {"n_samples": 240}},
            "model": {"classifier": "logistic_regression"}, "evaluate": {"metrics": ["accuracy"]}, "plots": False}
    grid = {"model.params.C": [0.01, 1.0], "data.split.test": [0.2, 0.3, 0.4]}
    t0 = time.perf_counter()
    res = sweep(ga.Pipeline.from_dict(spec), grid, "0-2", executor="ray", out=tmp_path / "sw", progress=False)
    seconds = time.perf_counter() - t0
    assert seconds < 120, seconds
    assert len(res.runs) == 18 and not res.failed and len(res.rows) == 6
    assert [(r["model.params.C"], r["data.split.test"]) for r in res.rows] == [(c, t) for c in ("0.01", "1.0") for t in ("0.2", "0.3", "0.4")]
    assert all(r["ok"] == 3 for r in res.rows)
    lines = (tmp_path / "sw" / "results.csv").read_text().splitlines()
    assert len(lines) == 1 + 6
    # a second call finds everything finished and runs nothing
    again = sweep(ga.Pipeline.from_dict(spec), grid, "0-2", executor="ray", out=tmp_path / "sw", progress=False)
    assert not again.ran and again.rows == res.rows
    # and the local executor gives the same table
    loc = sweep(ga.Pipeline.from_dict(spec), grid, "0-2", executor="local", out=tmp_path / "loc", progress=False)
    assert loc.rows == res.rows


def test_without_ray_the_spec_fails_validation_naming_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    with pytest.raises(SpecError) as info:
        ga.Pipeline.from_dict(_with(DIGITS, kind="ray")).validate()
    msg = str(info.value)
    assert "geoatlas[ray]" in msg and "executor" in msg
    ga.Pipeline.from_dict(_with(DIGITS, kind="local")).validate()  # the local executor needs nothing


def test_ray_only_fields_and_defaults():
    with pytest.raises(SpecError, match="kind: ray"):
        ga.Pipeline.from_dict(_with(DIGITS, kind="local", address="ray://head:10001")).validate()
    spec = ga.Pipeline.from_dict(_with(DIGITS, kind="ray")).validate()
    assert spec.executor.workers == -1  # all CPUs of the instance / cluster
    dumped = ga.Pipeline.from_dict(DIGITS).validate().model_dump(mode="json")["executor"]
    assert dumped == {"kind": "local", "workers": 1, "threads": 1}  # one torch thread by default (same numbers on every machine)
    with pytest.raises(SpecError, match="block_size"):
        ga.Pipeline.from_dict(_with(DIGITS, kind="ray", block_size=0)).validate()
