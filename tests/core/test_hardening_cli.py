"""Issue 21, class 3: the CLI never shows a traceback for a user mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from geoatlas.cli import main
from geoatlas.errors import SpecError
from geoatlas.pipeline.yamlio import apply_overrides

SPEC = "name: t\ndata: {dataset: sklearn_digits, params: {n_samples: 200}}\nmodel: {classifier: logistic_regression}\n"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    rc = main(argv)
    return rc, capsys.readouterr().err


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    p = tmp_path / "spec.yaml"
    p.write_text(SPEC, encoding="utf-8")
    return p


@pytest.mark.parametrize("item,expect", [
    ("steps.0.descriptor=x", "--set steps.0.descriptor=x: steps does not exist, so it has no item 0"),
    ("name.sub=1", "--set name.sub=1: name is a str ('t'), not a mapping or list, so it has no 'sub'"),
    ("data.params.n_samples.deeper=1", "data.params.n_samples is a int (200)"),
    ("model..x=1", "has an empty part"),
    (".x=1", "has an empty part"),
    ("=1", "has an empty part"),
    ("noequals", "--set expects key=value"),
    ("name=[unclosed", "the value is not valid YAML"),
    ("name=" + "[" * 5000, "the value is not valid YAML"),
])
def test_bad_set_items_name_the_item(spec: Path, item: str, expect: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run(["validate", str(spec), "--set", item], capsys)
    assert rc == 2 and expect in err and "Traceback" not in err and "line " not in err.split(":", 2)[1], err


def test_set_into_lists_and_new_keys() -> None:
    """Controls: valid --set items still work (existing list index, new nested mapping key)."""
    data = {"models": {"a": {"steps": [{"descriptor": "x"}]}}}
    apply_overrides(data, ["models.a.steps.0.params.k=3", "train.epochs=2", "models.a.steps.0.descriptor=y"])
    assert data == {"models": {"a": {"steps": [{"descriptor": "y", "params": {"k": 3}}]}}, "train": {"epochs": 2}}
    with pytest.raises(SpecError, match=r"index 5 is out of range \(models\.a\.steps has 1 item"):
        apply_overrides(data, ["models.a.steps.5.descriptor=z"])
    with pytest.raises(SpecError, match="is a list; the next key must be an index"):
        apply_overrides(data, ["models.a.steps.first=z"])


@pytest.mark.parametrize("cmd", ["validate", "run"])
def test_missing_spec_and_folder_say_so(tmp_path: Path, cmd: str, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run([cmd, str(tmp_path / "nope.yaml")], capsys)
    assert rc == 2 and "does not exist" in err
    rc, err = _run([cmd, str(tmp_path / "no_suffix")], capsys)
    assert rc == 2 and "does not exist" in err  # not read as YAML text
    rc, err = _run([cmd, str(tmp_path)], capsys)
    assert rc == 2 and "is a folder, not a spec file" in err


def test_validate_and_run_resolve_relative_data_paths_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    spec_dir = tmp_path / "project"
    spec_dir.mkdir()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3)).astype(np.float32)
    np.savez(spec_dir / "data.npz", X=X, y=(X[:, 0] > 0).astype(np.int64))
    spec = spec_dir / "spec.yaml"
    spec.write_text("name: rel\ndata: {dataset: local_arrays, params: {path: data.npz}}\nmodel: {classifier: logistic_regression}\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    rc, err = _run(["validate", str(spec)], capsys)
    assert rc == 0, err
    rc, err = _run(["run", str(spec), "--run-dir", str(tmp_path / "run"), "--quiet"], capsys)
    assert rc == 0, err
    assert (tmp_path / "run" / "metrics.json").exists()
    # a relative path that exists in neither place fails in both, naming the parameter
    spec.write_text(spec.read_text().replace("data.npz", "missing.npz"))
    for cmd in (["validate", str(spec)], ["run", str(spec), "--run-dir", str(tmp_path / "run2"), "--quiet"]):
        rc, err = _run(cmd, capsys)
        assert rc == 2 and "data.params.path" in err and "missing.npz" in err


@pytest.mark.parametrize("name", ["Foo", "class", "my-plugin", "1abc", "x\n", "a__b", "a_", "", "a" * 65, "match", "ok name"])
def test_new_plugin_refuses_names_that_are_not_identifiers(tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    for extra in ([], ["--builtin"]):
        rc, err = _run(["new", "plugin", name, "--directory", str(tmp_path), *extra], capsys)
        assert rc == 2 and "plugin name" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_new_plugin_accepts_a_good_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, err = _run(["new", "plugin", "my_method2", "--directory", str(tmp_path)], capsys)
    assert rc == 0, err


def test_unexpected_errors_are_one_paragraph_and_debug_shows_the_traceback(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import geoatlas.cli as cli

    def raising(exc: BaseException):  # noqa: ANN202
        def fn(args: object) -> int:
            raise exc
        return fn

    monkeypatch.delenv("GEOATLAS_DEBUG", raising=False)
    monkeypatch.setattr(cli, "cmd_schema", raising(RuntimeError("x" * 100_000)))
    rc, err = _run(["schema"], capsys)
    assert rc == 1 and "RuntimeError" in err and "GEOATLAS_DEBUG=1" in err and "Traceback" not in err
    assert len(err) < 2500  # the 100 000-character message is cut
    for exc in (RecursionError("deep"), MemoryError(), IndexError("i"), AttributeError("a"), LookupError("l")):
        monkeypatch.setattr(cli, "cmd_schema", raising(exc))
        rc, err = _run(["schema"], capsys)
        assert rc == 2 and err.startswith("error: ") and "Traceback" not in err
    monkeypatch.setenv("GEOATLAS_DEBUG", "1")
    monkeypatch.setattr(cli, "cmd_schema", raising(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        main(["schema"])


def test_debug_env_shows_traceback_for_spec_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("name: x\nmodel: {encoder: mlp, params: {hidden: [-5]}}\ndata: {dataset: sklearn_digits}\n")
    env = {**os.environ, "GEOATLAS_DEBUG": "1", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "geoatlas.cli", "validate", str(p)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode != 0 and "Traceback" in r.stderr and "hidden" in r.stderr
