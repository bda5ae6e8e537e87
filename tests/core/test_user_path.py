"""The user's path: what a run records (environment, curves, CSV), reloading a trained model,
comparing runs, citing, and the run folder named after the spec file."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import geoatlas as ga

BIN = Path(sys.executable).parent
SPEC = {
    "name": "digits-small",
    "seed": 3,
    "data": {"dataset": "sklearn_digits", "params": {"as_images": True, "n_samples": 300}},
    "models": {"cnn": {"encoder": "cnn", "params": {"channels": [8, 8]}}, "logreg": {"classifier": "logistic_regression"}},
    "train": {"epochs": 2, "batch_size": 32, "lr": 0.05},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return ga.Pipeline.from_dict(SPEC).run(runs_root=tmp_path_factory.mktemp("runs"), progress=False)


def test_environment_is_recorded(run):
    env = json.loads((run.run_dir / "environment.json").read_text())
    assert env["torch_threads"] == 1 and env["seed"] == 3
    assert env["libraries"]["torch"] == torch.__version__ and "numpy" in env["libraries"]
    assert env["geoatlas"] == ga.__version__ and env["python"].count(".") == 2 and env["platform"]
    assert isinstance(env["command"], list) and "cnn" not in env["plugins"] and "tasks" in env["plugins"]


def test_default_thread_count_is_fixed():
    spec = ga.Pipeline.from_dict(SPEC).validate()
    assert spec.executor.threads == 1


def test_curves_log_and_csv(run):
    state = torch.load(run.run_dir / "checkpoints" / "cnn.pt", weights_only=True)
    hist = state["history"]
    assert [set(h) for h in hist] == [{"epoch", "train_loss", "test_accuracy"}] * 2
    # the last epoch's watched accuracy is the reported test accuracy (same model, same split)
    assert hist[-1]["test_accuracy"] == pytest.approx(run["cnn"]["accuracy"], abs=1e-6)
    log = (run.run_dir / "log.txt").read_text()
    assert "cnn: epoch 2/2 train_loss=" in log and "test_accuracy=" in log
    with open(run.run_dir / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == ["cnn", "logreg"]
    assert float(rows[0]["accuracy"]) == pytest.approx(run["cnn"]["accuracy"])


def test_curves_can_be_turned_off_and_do_not_change_training(tmp_path, run):
    off = ga.Pipeline.from_dict({**SPEC, "evaluate": {"curves": False}}).run(runs_root=tmp_path, progress=False)
    assert off["cnn"]["accuracy"] == run["cnn"]["accuracy"]
    assert off["cnn"]["final_train_loss"] == run["cnn"]["final_train_loss"]
    hist = torch.load(off.run_dir / "checkpoints" / "cnn.pt", weights_only=True)["history"]
    assert set(hist[-1]) == {"epoch", "train_loss"}


def test_load_model_reproduces_the_trained_model(run):
    again = ga.RunResult.open(run.run_dir)
    assert again.metrics == run.metrics
    model = again.load_model("cnn")
    X = torch.randn(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(model(X), run.models["cnn"](X))
    with pytest.raises(ga.GeoatlasError, match="reloadable models: cnn"):
        again.load_model("logreg")


def test_cli_load_compare_cite(run, tmp_path):
    out = subprocess.run([str(BIN / "geoatlas"), "load", str(run.run_dir), "cnn"], capture_output=True, text=True)
    assert out.returncode == 0 and "parameters" in out.stdout, out.stderr
    cmp = subprocess.run([str(BIN / "geoatlas"), "compare", str(run.run_dir), str(run.run_dir), "--csv", str(tmp_path / "c.csv")],
                         capture_output=True, text=True)
    assert cmp.returncode == 0, cmp.stderr
    rows = list(csv.DictReader(open(tmp_path / "c.csv", newline="")))
    assert len(rows) == 4 and {r["model"] for r in rows} == {"cnn", "logreg"}
    bad = subprocess.run([str(BIN / "geoatlas"), "compare", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no metrics.json" in bad.stderr
    cite = subprocess.run([str(BIN / "geoatlas"), "cite", "ponita"], capture_output=True, text=True)
    assert cite.returncode == 0 and cite.stdout.startswith("@inproceedings{bekkers2024") and "eprint = {2310.02970}" in cite.stdout
    assert cite.stdout.count("{") == cite.stdout.count("}")
    own = subprocess.run([str(BIN / "geoatlas"), "cite", "geoatlas"], capture_output=True, text=True)
    assert own.returncode == 0 and "@software{geoatlas" in own.stdout


def test_run_folder_is_named_after_the_spec_file(tmp_path):
    spec = tmp_path / "my_experiment.yaml"
    import yaml

    spec.write_text(yaml.safe_dump({**SPEC, "models": {"logreg": {"classifier": "logistic_regression"}}}))
    res = ga.Pipeline.from_yaml(spec).run(runs_root=tmp_path / "runs", progress=False)
    assert res.run_dir.parent.name == "my_experiment"
    again = ga.Pipeline.from_yaml(spec).run(runs_root=tmp_path / "runs", resume=True, progress=False)
    assert again.run_dir == res.run_dir


def test_every_plugin_can_be_cited():
    from geoatlas.cite import bibtex_for
    from geoatlas.layout import builtin_ids

    for pid in builtin_ids():
        st = ga.plugin_statuses()
        manifest = next(s.manifest for s in st if s.id == pid)
        if manifest.papers:
            text = bibtex_for(pid)
            assert text.count("\n@") + 1 == len(manifest.papers), pid
            assert text.count("{") == text.count("}") and f"year = {{{manifest.papers[0].year}}}" in text, pid
