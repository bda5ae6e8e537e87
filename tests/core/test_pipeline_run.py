"""Running pipelines: run directory, determinism, resume after a kill, executor, perturbations."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch

import geoatlas as ga

SPEC = {
    "name": "digits-small",
    "seed": 3,
    "data": {"dataset": "sklearn_digits", "params": {"as_images": True, "n_samples": 400}},
    "models": {"cnn": {"encoder": "cnn", "params": {"channels": [8, 8]}}},
    "train": {"epochs": 3, "batch_size": 32, "lr": 0.05},
}


def test_run_directory_contents(tmp_path):
    res = ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False)
    d = res.run_dir
    for name in ("spec.resolved.yaml", "metrics.json", "timings.json", "log.txt", "checkpoints/cnn.pt", "plots/training_curves.png"):
        assert (d / name).exists(), name
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics == res.metrics and 0.3 < metrics["models"]["cnn"]["accuracy"] <= 1.0
    state = torch.load(d / "checkpoints" / "cnn.pt", weights_only=True)
    assert state["epoch"] == 2 and len(state["history"]) == 3
    assert not list(d.rglob(".*.tmp*")), "temporary files left behind"


def test_same_seed_same_metrics(tmp_path):
    a = ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False).metrics
    b = ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False).metrics
    assert a == b
    c = ga.Pipeline.from_dict(SPEC, overrides=["seed=4"]).run(runs_root=tmp_path, progress=False).metrics
    assert c != a


@pytest.mark.parametrize("every", [0.0, 30.0], ids=["checkpoint-every-epoch", "checkpoint-by-time"])
def test_resume_after_kill_gives_same_metrics(tmp_path, every):
    """Killed mid-run, then resumed: the same metrics as an uninterrupted run, whether the last
    checkpoint is one epoch old (every epoch) or several (time-based: only the first epoch's)."""
    spec = tmp_path / "spec.yaml"
    import yaml

    slow = dict(SPEC, name="resume-me", train={"epochs": 12, "batch_size": 16, "lr": 0.01, "checkpoint_seconds": every})
    spec.write_text(yaml.safe_dump(slow))
    ref = ga.Pipeline.from_yaml(spec).run(runs_root=tmp_path / "ref", progress=False).metrics
    root = tmp_path / "runs"
    cmd = [sys.executable, "-m", "geoatlas.cli", "run", str(spec), "--runs-root", str(root), "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    ckpt = None
    deadline = time.time() + 120
    while time.time() < deadline:
        found = list(root.glob("spec/*/checkpoints/cnn.pt"))  # the run folder is named after the spec file
        if found:
            try:
                if torch.load(found[0], weights_only=True)["epoch"] >= (1 if every == 0 else 0):
                    ckpt = found[0]
                    break
            except Exception:
                pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert ckpt is not None, "the run never wrote a checkpoint"
    killed_at = torch.load(ckpt, weights_only=True)["epoch"]
    assert killed_at < 11, "the run finished before it could be killed"
    assert not (ckpt.parents[1] / "metrics.json").exists()
    out = subprocess.run(cmd + ["--resume"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    resumed = json.loads((ckpt.parents[1] / "metrics.json").read_text())
    assert resumed == ref
    assert "resumed from cnn.pt" in (ckpt.parents[1] / "log.txt").read_text()


def test_resume_refuses_a_changed_spec(tmp_path):
    ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path, progress=False)
    with pytest.raises(ga.SpecError, match="differs"):
        ga.Pipeline.from_dict(SPEC, overrides=["train.lr=0.5"]).run(runs_root=tmp_path, resume=True, progress=False)
    with pytest.raises(ga.SpecError, match="no earlier run"):
        ga.Pipeline.from_dict(SPEC, overrides=["name=never-ran"]).run(runs_root=tmp_path, resume=True, progress=False)


def test_riemannian_optimizer_keeps_manifold_parameters_on_the_ball(tmp_path):
    import geoopt

    from geoatlas.pipeline.models import optimizer_for
    from geoatlas.pipeline.spec import TrainSpec

    ball = ga.create("manifold", "poincare_ball", dim=2)
    p = geoopt.ManifoldParameter(ball.expmap0(torch.full((5, 2), 2.0)), manifold=ball)
    model = torch.nn.Module()
    model.p = p
    opt = optimizer_for(model, TrainSpec(optimizer="riemannian_adam", lr=0.5))
    for _ in range(20):
        opt.zero_grad()
        (-(p.norm(dim=-1)).sum()).backward()  # pushes points towards the boundary
        opt.step()
    assert torch.isfinite(p).all() and (p.norm(dim=-1) < 1).all()


def test_parallel_executor_matches_serial(tmp_path):
    from geoatlas.pipeline.executor import LocalExecutor
    from geoatlas.testing import check_descriptor  # noqa: F401  (import side-effect free)

    d = ga.create("descriptor", "d2_shape_distribution", bins=8)
    X = np.random.default_rng(0).normal(size=(24, 20, 3))
    np.testing.assert_allclose(LocalExecutor(2).transform(d, X), LocalExecutor(1).transform(d, X))


def test_perturbations_and_graph_nodes(tmp_path):
    spec = {
        "name": "shapes-rot",
        "data": {"dataset": "shapes_3d", "params": {"n_per_class": 12, "n_points": 32}},
        "models": {"mlp": {"encoder": "mlp", "params": {"hidden": [32]}}},
        "train": {"epochs": 3},
        "evaluate": {"perturbations": {"rotated": {"group": "so3"}}},
        "plots": False,
    }
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert "accuracy" in res["mlp"]["perturbations"]["rotated"]
    karate = {"name": "karate", "data": {"dataset": "karate_club", "params": {"labels_per_class": 2}},
              "model": {"encoder": "mlp", "params": {"hidden": [16]}}, "train": {"epochs": 30, "lr": 0.01}, "plots": False}
    res = ga.Pipeline.from_dict(karate).run(runs_root=tmp_path, progress=False)
    assert res.metrics["data"]["n_train"] == 8 and res.metrics["data"]["n_test"] == 26


def test_regression_reports_original_units(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3)).astype(np.float32)
    y = (100 + 50 * X[:, 0]).astype(np.float32)
    path = tmp_path / "reg.npz"
    np.savez(path, X=X, y=y)
    spec = {"name": "reg", "data": {"dataset": "local_arrays", "params": {"path": str(path), "task": "regression"}},
            "models": {"mlp": {"encoder": "mlp"}, "ridge": {"classifier": "ridge"}}, "train": {"epochs": 40, "lr": 0.01}, "plots": False}
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res["ridge"]["r2"] > 0.99 and res["ridge"]["mae"] < 1.0
    assert res["mlp"]["r2"] > 0.9


def test_same_seed_same_result_twice_in_one_process(tmp_path):
    """geoopt's TorchScript maths switches to optimised graphs (with their own autodiff) after a
    few calls; the runner keeps the optimising executor off so a second run in the same process
    (a sweep, a notebook, a test worker) repeats the first exactly."""
    spec = {
        "name": "twice", "seed": 0,
        "data": {"dataset": "sklearn_digits", "params": {"as_images": True, "n_samples": 600}},
        "model": {"encoder": "poincare_resnet", "params": {"channels": [4, 8], "blocks_per_stage": [1, 1], "c": 0.1}},
        "train": {"epochs": 2, "batch_size": 64, "optimizer": "riemannian_adam", "lr": 0.01},
        "plots": False,
    }
    first = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path / "a", progress=False).metrics["models"]
    second = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path / "b", progress=False).metrics["models"]
    assert first == second
