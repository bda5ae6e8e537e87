"""Registry agreement, dependency pins, third-party and broken plugin packages, scaffold, examples."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import geoatlas as ga

ROOT = Path(__file__).resolve().parents[2]
GEOATLAS = [sys.executable, "-m", "geoatlas.cli"]


def test_registry_yaml_agrees_with_code():
    from geoatlas.registry_sync import check_registry

    ok, msgs = check_registry(ROOT / "registry.yaml")
    assert ok, "\n".join(msgs)


def test_pins_multipers_gudhi():
    from importlib.metadata import version

    from packaging.version import Version

    from geoatlas.pins import check_pins

    ok, msgs = check_pins()
    assert ok, msgs
    assert version("multipers") == "2.3.2"
    assert Version("3.11") <= Version(version("gudhi")) < Version("3.12")
    import multipers  # noqa: F401  (must import without crashing next to this gudhi)


def test_third_party_plugin_is_discovered_listed_and_created():
    comps = {c.full_name for c in ga.list_components("descriptor")}
    assert "d2_shape/d2_shape_distribution" in comps, "run `make venv` (installs examples/third_party_plugin)"
    d = ga.create("descriptor", "d2_shape_distribution", bins=4)
    assert d.transform([[[0, 0, 0], [1, 0, 0], [0, 1, 0]]]).shape == (1, 4)


def _pip_target(pkg: Path, target: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--target", str(target), str(pkg)],
        check=True, capture_output=True, text=True,
    )


def test_broken_plugin_package_is_isolated(tmp_path):
    target = tmp_path / "site"
    _pip_target(ROOT / "examples" / "broken_plugin", target)
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("GEOATLAS_STRICT", None)
    doc = subprocess.run(GEOATLAS + ["doctor"], capture_output=True, text=True, env=env)
    assert doc.returncode == 1
    assert "[FAIL] broken_demo" in doc.stdout and "a_module_that_does_not_exist" in doc.stdout
    assert "[ok] geoopt_manifolds" in doc.stdout and "[ok] d2_shape" in doc.stdout
    lst = subprocess.run(GEOATLAS + ["list", "--components", "--kind", "manifold"], capture_output=True, text=True, env=env)
    assert lst.returncode == 0 and "poincare_ball" in lst.stdout
    assert "broken_demo" in lst.stderr and "Traceback" not in lst.stderr
    strict = subprocess.run(GEOATLAS + ["list"], capture_output=True, text=True, env=dict(env, GEOATLAS_STRICT="1"))
    assert strict.returncode == 2 and "broken_demo" in strict.stderr


def test_new_plugin_scaffold_passes_its_own_tests(tmp_path):
    out = subprocess.run(GEOATLAS + ["new", "plugin", "my_method", "--directory", str(tmp_path)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    pkg = tmp_path / "geoatlas-my-method"
    assert (pkg / "pyproject.toml").exists() and (pkg / "src" / "geoatlas_my_method" / "__init__.py").exists()
    target = tmp_path / "site"
    _pip_target(pkg, target)
    env = dict(os.environ, PYTHONPATH=str(target))
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(pkg / "tests")],
                         capture_output=True, text=True, env=env, cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 passed" in res.stdout
    again = subprocess.run(GEOATLAS + ["new", "plugin", "my_method", "--directory", str(tmp_path)], capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr
    bad = subprocess.run(GEOATLAS + ["new", "plugin", "My-Method", "--directory", str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "snake_case" in bad.stderr


def test_cli_commands(tmp_path):
    assert "poincare_ball" in subprocess.run(GEOATLAS + ["list", "--components", "poincare*"], capture_output=True, text=True).stdout
    plugins = subprocess.run(GEOATLAS + ["list", "poincare*"], capture_output=True, text=True, env=dict(os.environ, COLUMNS="80"))
    assert plugins.returncode == 0 and "poincare_resnet" in plugins.stdout and "geoopt_manifolds" in plugins.stdout
    assert max(len(line) for line in plugins.stdout.splitlines()) <= 80
    found = subprocess.run(GEOATLAS + ["search", "rotation", "--json"], capture_output=True, text=True)
    ids = {r["plugin"] for r in json.loads(found.stdout)}
    assert {"ponita", "frame_averaging", "gaunt_tensor_product", "eqmotion"} <= ids, ids
    none = subprocess.run(GEOATLAS + ["search", "hyprbolic"], capture_output=True, text=True)
    assert none.returncode == 1 and "Did you mean 'hyperbolic'" in none.stderr and "Traceback" not in none.stderr
    both = subprocess.run(GEOATLAS + ["info", "poincare_resnet"], capture_output=True, text=True)
    assert both.returncode == 0 and "encoder poincare_resnet" in both.stdout and "num_classes: int (required)" in both.stdout
    est = subprocess.run(GEOATLAS + ["info", "logistic_regression"], capture_output=True, text=True)
    assert est.returncode == 0 and "scikit-learn" in est.stdout and "C = 1.0" in est.stdout
    info = subprocess.run(GEOATLAS + ["info", "so3"], capture_output=True, text=True)
    assert info.returncode == 0 and "classical_groups/so3" in info.stdout
    schema = subprocess.run(GEOATLAS + ["schema"], capture_output=True, text=True)
    assert schema.returncode == 0 and '"sklearn_digits"' in schema.stdout
    unknown = subprocess.run(GEOATLAS + ["info", "poincare_bal"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "poincare_ball" in unknown.stderr and "Traceback" not in unknown.stderr


def _all_pipelines() -> list[Path]:
    """Cross-plugin pipelines in examples/ and every pipeline in every plugin folder (found by
    walking the plugin collection, so a new plugin's pipelines run with no edit here)."""
    from geoatlas.layout import all_builtin_pipelines

    return sorted((ROOT / "examples" / "pipelines").glob("*.yaml")) + [p for _, p in all_builtin_pipelines()]


EXAMPLES = _all_pipelines()


def _pipeline_id(p: Path) -> str:
    return p.stem if p.parent.name != "pipelines" or p.parent.parent.name == "examples" else f"{p.parent.parent.name}/{p.stem}"


@pytest.mark.parametrize("spec", EXAMPLES, ids=[_pipeline_id(p) for p in EXAMPLES])
def test_example_pipeline_runs(spec, tmp_path):
    res = ga.Pipeline.from_yaml(spec).run(runs_root=tmp_path, progress=False)
    assert res.metrics["models"], "no model results"
    task = ga.create("task", res.metrics["task"])
    names = ga.Pipeline.from_yaml(spec).spec.evaluate.metrics or list(task.default_metrics)
    for label, m in res.metrics["models"].items():
        vals = [m[k] for k in names if k in m]
        assert vals and all(v == v for v in vals), f"{label}: missing or NaN metrics {m}"
    pinned = PINNED.get(str(spec.relative_to(ROOT)))
    if pinned is not None:  # numbers change only on purpose: tests/core/data/pin_metrics.py re-pins them
        assert res.metrics["models"] == pinned
    # every trained encoder reloads from its checkpoint (what --resume and load_model do), also
    # those whose parameters or buffers are sized at the first training step
    opened = ga.RunResult.open(res.run_dir)
    for done in sorted((res.run_dir / "checkpoints").glob("*.done.json")):
        label = done.name[: -len(".done.json")]
        if "encoder" in json.loads(done.read_text()) and (done.parent / f"{label}.pt").exists():
            opened.load_model(label)
    shutil.rmtree(tmp_path, ignore_errors=True)


PINNED = json.loads((ROOT / "tests" / "core" / "data" / "pinned_metrics.json").read_text())["pipelines"]
BEFORE_V2 = json.loads((ROOT / "tests" / "core" / "data" / "metrics_before_core_v2.json").read_text())["pipelines"]


def test_every_spec_from_before_core_v2_is_still_pinned():
    """The 22 specs that predate core v2 gave identical metrics under it (checked against
    metrics_before_core_v2.json, produced by the pre-v2 code); they stay pinned."""
    assert len(BEFORE_V2) == 22 and all((ROOT / p).exists() and p in PINNED for p in BEFORE_V2)
