"""One folder per plugin: discovery by walking the collection, the built-in scaffold, paper echo."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import geoatlas as ga
from geoatlas.layout import all_builtin_pipelines, builtin_ids, plugin_dir

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "plugins" / "geoatlas_plugins"
BIN = Path(sys.executable).parent


def test_every_plugin_folder_is_a_loaded_plugin():
    folders = sorted(p.name for p in COLLECTION.iterdir() if (p / "__init__.py").exists() and not p.name.startswith("_"))
    assert folders == builtin_ids()
    for pid in folders:
        assert plugin_dir(pid) == COLLECTION / pid


def test_ponita_lives_in_one_folder():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if not files:
        pytest.skip("not a git checkout")  # CI and developers always have one
    outside = [f for f in files if "ponita" in f.lower() and not f.startswith("plugins/geoatlas_plugins/ponita/")
               and f not in ("registry.yaml", "NOTICE")]
    assert outside == []
    inside = {f.split("/", 3)[3] for f in files if f.startswith("plugins/geoatlas_plugins/ponita/")}
    for needed in ("__init__.py", "README.md", "reproduce.py", "benchmark.py", "results.json"):
        assert needed in inside
    assert any(f.startswith("pipelines/") for f in inside) and any(f.startswith("tests/test_") for f in inside)


def test_plugin_pipelines_are_found():
    found = {pid for pid, _ in all_builtin_pipelines()}
    assert {"ponita", "multiparameter_persistence", "poincare_resnet"} <= found


def _env(shadow: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(shadow) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("GEOATLAS_STRICT", None)
    return env


def test_scaffolded_and_copied_plugin_is_found_listed_tested_documented(tmp_path):
    """A plugin folder copied under a new name, with only its manifest id changed, is found,
    listed, tested, echoed and documented with no other edit. The collection is shadowed in a
    temporary folder (its __path__ extends to the real one) so the source tree is not touched."""
    shadow = tmp_path / "shadow"
    coll = shadow / "geoatlas_plugins"
    coll.mkdir(parents=True)
    (coll / "__init__.py").write_text(f"GEOATLAS_PLUGIN_COLLECTION = True\n__path__.append({str(COLLECTION)!r})\n")
    env = _env(shadow)
    run = lambda *a, **k: subprocess.run([str(x) for x in a], capture_output=True, text=True, env=env, cwd=tmp_path, **k)  # noqa: E731
    made = run(BIN / "geoatlas", "new", "plugin", "demo_method", "--builtin", "--directory", coll)
    assert made.returncode == 0, made.stderr
    shutil.copytree(coll / "demo_method", coll / "demo_copy")
    init = coll / "demo_copy" / "__init__.py"
    init.write_text(init.read_text().replace('"id": "demo_method"', '"id": "demo_copy"'))
    listed = run(BIN / "geoatlas", "list", "--json")
    plugins = {c["plugin"] for c in json.loads(listed.stdout)}
    assert {"demo_method", "demo_copy", "ponita"} <= plugins, listed.stderr
    tested = run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--import-mode=importlib", coll / "demo_copy", coll / "demo_method")
    assert tested.returncode == 0, tested.stdout[-2000:]
    assert " passed" in tested.stdout and "failed" not in tested.stdout
    rep = run(sys.executable, coll / "demo_copy" / "reproduce.py")
    assert rep.returncode == 0, rep.stderr
    res = json.loads((coll / "demo_copy" / "results.json").read_text())
    assert res["plugin"] == "demo_copy" and res["claims"]["rotation_invariance"]["holds"] is True
    echo = run(BIN / "geoatlas", "echo", "demo_copy", "demo_method", "--json")
    rows = {(r["plugin"], r["holds"]) for r in json.loads(echo.stdout)}
    assert rows == {("demo_copy", "yes"), ("demo_method", "not run")}
    docs = run(BIN / "geoatlas", "docs", "--docs-dir", tmp_path / "docs")
    assert docs.returncode == 0, docs.stderr
    page = (tmp_path / "docs" / "plugins" / "demo_copy.md").read_text()
    assert "Demo method" in page and "rotation_invariance" not in page and "holds?" in page
    assert "demo_copy" in (tmp_path / "docs" / "echo.md").read_text()


def test_scaffold_refuses_existing_and_bad_names(tmp_path):
    from geoatlas.scaffold import new_builtin_plugin

    new_builtin_plugin("ok_name", tmp_path)
    with pytest.raises(FileExistsError):
        new_builtin_plugin("ok_name", tmp_path)
    with pytest.raises(ValueError, match="snake_case"):
        new_builtin_plugin("Bad-Name", tmp_path)


def test_manifest_claims_are_validated():
    from pydantic import ValidationError

    from geoatlas.registry import PluginManifest

    base = {"id": "x", "title": "x"}
    claim = {"id": "c1", "claim": "a", "paper": "0.9", "where": "Table 1", "metric": "acc", "direction": "higher"}
    assert PluginManifest.model_validate({**base, "claims": [claim]}).claims[0].id == "c1"
    with pytest.raises(ValidationError, match="repeated: c1"):
        PluginManifest.model_validate({**base, "claims": [claim, claim]})
    with pytest.raises(ValidationError):
        PluginManifest.model_validate({**base, "claims": [{**claim, "direction": "up"}]})


def test_echo_covers_the_built_papers():
    from geoatlas.echo import echo_rows

    rows = echo_rows(builtin_ids())
    with_claims = {r.plugin for r in rows}
    papers = {pid for pid in builtin_ids() if ga.info(pid)["papers"]}
    assert papers <= with_claims, f"plugins with a paper but no claims: {sorted(papers - with_claims)}"
    assert all(r.holds != "not run" for r in rows), [f"{r.plugin}/{r.claim_id}" for r in rows if r.holds == "not run"]


def test_a_broken_plugin_folder_is_isolated(tmp_path):
    """A built-in folder that fails to import, or has a bad manifest, is reported by `doctor`;
    every other plugin of the collection still loads."""
    shadow = tmp_path / "shadow"
    coll = shadow / "geoatlas_plugins"
    coll.mkdir(parents=True)
    (coll / "__init__.py").write_text(f"GEOATLAS_PLUGIN_COLLECTION = True\n__path__.append({str(COLLECTION)!r})\n")
    (coll / "broken_import").mkdir()
    (coll / "broken_import" / "__init__.py").write_text("import not_a_module_anywhere\n")
    (coll / "bad_manifest").mkdir()
    (coll / "bad_manifest" / "__init__.py").write_text(
        "from geoatlas import hookimpl\n\n@hookimpl\ndef geoatlas_manifest():\n    return {'id': 'bad_manifest', 'title': 't', 'components': {'encoder': {'x': 'no_colon'}}}\n")
    env = _env(shadow)
    doctor = subprocess.run([str(BIN / "geoatlas"), "doctor"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert doctor.returncode == 1
    assert "[FAIL] broken_import" in doctor.stdout and "not_a_module_anywhere" in doctor.stdout
    assert "[FAIL] bad_manifest" in doctor.stdout and "bad manifest" in doctor.stdout
    assert "[ok] ponita" in doctor.stdout and "[ok] tasks" in doctor.stdout
    listed = subprocess.run([str(BIN / "geoatlas"), "list", "--json"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert listed.returncode == 0 and "ponita" in listed.stdout
    strict = subprocess.run([str(BIN / "geoatlas"), "list"], capture_output=True, text=True, env={**env, "GEOATLAS_STRICT": "1"}, cwd=tmp_path)
    assert strict.returncode != 0 and "broken_import" in strict.stderr
