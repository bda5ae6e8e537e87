"""Sweeps with the local executor: parsing, one table row per setting, failures recorded while the
other runs go on, and a sweep killed halfway that finishes only the missing runs when rerun.
(The Ray executor's sweep is in test_ray.py, which starts Ray once.)"""

import json
import math
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

import geoatlas as ga
from geoatlas.cli import main
from geoatlas.errors import SpecError
from geoatlas.pipeline.sweep import parse_grid, parse_seeds, sweep

KNN = {
    "name": "sweep-knn",
    "seed": 0,
    "data": {"dataset": "sklearn_digits", "params": {"n_samples": 200}},
    "model": {"classifier": "knn", "params": {"n_neighbors": 3}},
    "evaluate": {"metrics": ["accuracy"]},
    "plots": False,
}


def test_parse_seeds_and_grid():
    assert parse_seeds("0-4") == [0, 1, 2, 3, 4]
    assert parse_seeds("0-2,7") == [0, 1, 2, 7]
    assert parse_seeds(3) == [3] and parse_seeds([5, 1]) == [5, 1]
    for bad in ("a", "3-1", "0,0", "1-"):
        with pytest.raises(ValueError, match="seed"):
            parse_seeds(bad)
    with pytest.raises(TypeError, match="seeds"):
        parse_seeds([1.5])
    g = parse_grid(["train.lr=1e-3,1.0e-2", "model.params.hidden=[64,64],[128]", "model.encoder=mlp"])
    assert g == {"train.lr": ["1e-3", 0.01], "model.params.hidden": [[64, 64], [128]], "model.encoder": ["mlp"]}
    for bad in (["train.lr"], ["train.lr=1,1"], ["=1,2"], ["train.lr=1,,2"], ["a=1", "a=2"]):
        with pytest.raises(ValueError, match="--grid"):
            parse_grid(bad)


def test_one_row_per_setting_failures_recorded_and_the_rest_go_on(tmp_path):
    grid = {"model.params.n_neighbors": [1, 1000], "data.split.test": [0.25, 1.5]}  # 1000 fails in fit, 1.5 in validation
    res = sweep(ga.Pipeline.from_dict(KNN), grid, "0-1", out=tmp_path / "sw", progress=False)
    assert len(res.runs) == 8 and len(res.rows) == 4
    ok = [r for r in res.runs if r.status == "ok"]
    assert [(r.setting["model.params.n_neighbors"], r.setting["data.split.test"]) for r in ok] == [(1, 0.25)] * 2
    assert len(res.failed) == 6
    fit_fail = next(r for r in res.failed if r.setting == {"model.params.n_neighbors": 1000, "data.split.test": 0.25})
    assert "n_neighbors" in fit_fail.error and (fit_fail.run_dir / "error.txt").exists()
    assert (fit_fail.run_dir / "log.txt").exists()  # the run itself logged where it failed
    invalid = next(r for r in res.failed if r.setting["data.split.test"] == 1.5)
    assert "split.test" in invalid.error
    row = {(r["model.params.n_neighbors"], r["data.split.test"]): r for r in res.rows}
    good = row[("1", "0.25")]
    assert good["ok"] == 2 and good["failed"] == 0 and 0.8 < good["model.accuracy mean"] <= 1.0
    assert row[("1000", "0.25")]["failed"] == 2 and math.isnan(row[("1000", "0.25")]["model.accuracy mean"])
    runs_csv = (tmp_path / "sw" / "runs.csv").read_text().splitlines()
    assert len(runs_csv) == 9 and sum(",failed," in line for line in runs_csv) == 6
    assert (tmp_path / "sw" / "main_metric.png").stat().st_size > 0
    # rerun: the finished runs are skipped, the failed ones tried again (and fail again)
    again = sweep(ga.Pipeline.from_dict(KNN), grid, "0-1", out=tmp_path / "sw", progress=False)
    assert [r.status for r in again.runs if r.status != "failed"] == ["done", "done"] and len(again.failed) == 6


def test_a_sweep_dir_of_another_spec_is_refused(tmp_path):
    sweep(ga.Pipeline.from_dict(KNN), {"model.params.n_neighbors": [1]}, [0], out=tmp_path / "sw", progress=False)
    other = ga.Pipeline.from_dict(KNN, overrides=["data.params.n_samples=150"])
    with pytest.raises(SpecError, match="another sweep"):
        sweep(other, {"model.params.n_neighbors": [1]}, [0], out=tmp_path / "sw", progress=False)


def test_killed_halfway_the_rerun_finishes_only_the_missing_runs(tmp_path):
    spec = {**KNN, "name": "sweep-kill", "model": {"encoder": "mlp", "params": {"hidden": [32]}},
            "train": {"epochs": 4, "batch_size": 16, "checkpoint_seconds": 0}}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    out = tmp_path / "sw"
    args = ["sweep", str(path), "--grid", "train.lr=0.001,0.01,0.1", "--seeds", "0-3", "--out", str(out), "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "geoatlas.cli", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True, env=env)
    deadline = time.time() + 90
    while time.time() < deadline and len(list(out.glob("runs/*/*/metrics.json"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.parent: p.stat().st_mtime_ns for p in out.glob("runs/*/*/metrics.json")}
    assert 3 <= len(finished) < 12, f"{len(finished)} runs finished before the kill"
    res = sweep(path, ["train.lr=0.001,0.01,0.1"], "0-3", out=out, progress=False)
    assert not res.failed and len(res.rows) == 3 and all(r["ok"] == 4 for r in res.rows)
    assert {r.run_dir for r in res.runs if r.status == "done"} == set(finished)
    assert len(res.ran) == 12 - len(finished)
    assert all(p.joinpath("metrics.json").stat().st_mtime_ns == t for p, t in finished.items())  # untouched
    # a resumed run gives what an uninterrupted one gives
    one = res.ran[0]
    fresh = ga.Pipeline.from_yaml(path, overrides=[f"train.lr={one.setting['train.lr']}", f"seed={one.seed}"])
    assert fresh.run(run_dir=tmp_path / "fresh", progress=False).metrics == json.loads((one.run_dir / "metrics.json").read_text())


def test_cli_sweep(tmp_path, capsys):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(KNN))
    rc = main(["sweep", str(path), "--grid", "model.params.n_neighbors=1,3", "--seeds", "0,1", "--out", str(tmp_path / "sw"), "--quiet"])
    text = capsys.readouterr().out
    assert rc == 0 and "model.params.n_neighbors" in text and "2/2" in text and "4 runs: 4 ran" in text
    rc = main(["sweep", str(path), "--grid", "model.params.n_neighbors=1,1000", "--seeds", "0", "--out", str(tmp_path / "sw2"), "--quiet"])
    captured = capsys.readouterr()
    assert rc == 1 and "1 failed" in captured.out
    rc = main(["sweep", str(path), "--grid", "model.params.n_neighbors", "--quiet"])
    assert rc == 2 and "--grid expects key=value1,value2" in capsys.readouterr().err
