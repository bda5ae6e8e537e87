"""Plugin discovery: isolation, manifests, API compatibility, collisions, strict mode, laziness."""

import json
import subprocess
import sys

import pytest

import geoatlas as ga
from geoatlas import hookimpl, plugins
from geoatlas.errors import NameCollisionError, PluginLoadError


def _plugin(manifest):
    class P:
        @hookimpl
        def geoatlas_manifest(self):
            return manifest

    return P()


@pytest.fixture
def cleanup():
    ids = []
    yield ids
    for i in ids:
        plugins.unregister(i)


def test_import_failure_is_isolated(cleanup):
    loader = plugins._LOADER
    plugins.catalog()
    st = plugins._LOADER.load_one("explodes", "explodes_mod", loader=lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    cleanup.append("explodes")
    assert st.state == "failed" and "RuntimeError: boom" in st.error
    assert ga.create("manifold", "sphere") is not None  # others unaffected
    del loader


def test_bad_manifest_is_reported(cleanup):
    st = plugins.register(_plugin({"id": "bad_manifest", "title": "x", "colour": "red"}), "bad_manifest")
    cleanup.append("bad_manifest")
    assert st.state == "failed" and "bad manifest" in st.error and "colour" in st.error
    st = plugins.register(_plugin({"id": "Bad-Id", "title": "x"}), "bad_id")
    cleanup.append("bad_id")
    assert st.state == "failed" and "snake_case" in st.error
    healthy, lines = ga.doctor()
    assert not healthy and any("[FAIL] bad_manifest" in line for line in lines)


def test_manifest_id_must_match_entry_point(cleanup):
    st = plugins.register(_plugin({"id": "other_name", "title": "x"}), "declared_name")
    cleanup.append("declared_name")
    assert st.state == "failed" and "differs from the entry-point name" in st.error


def test_incompatible_api_is_refused(cleanup):
    st = plugins.register(_plugin({"id": "future", "title": "x", "api": ">=2,<3",
                                   "components": {"group": {"future_group": "x:y"}}}), "future")
    cleanup.append("future")
    assert st.state == "incompatible" and "API >=2,<3" in st.error and ga.API_VERSION in st.error
    assert not ga.list_components("group", "future_group")


def test_name_collision_refuses_bare_name_but_full_names_work(cleanup):
    st = plugins.register(_plugin({"id": "my_spheres", "title": "x",
                                   "components": {"manifold": {"sphere": "geoatlas_plugins.geoopt_manifolds.manifolds:Sphere"}}}), "my_spheres")
    cleanup.append("my_spheres")
    assert st.state == "loaded"
    with pytest.raises(NameCollisionError, match="geoopt_manifolds/sphere, my_spheres/sphere"):
        ga.create("manifold", "sphere")
    assert ga.create("manifold", "my_spheres/sphere") is not None
    assert ga.create("manifold", "geoopt_manifolds/sphere") is not None
    healthy, lines = ga.doctor()
    assert not healthy and any("name collision" in line and "my_spheres" in line for line in lines)
    assert ga.create("manifold", "poincare_ball") is not None  # everything else keeps working


def test_duplicate_plugin_id_is_an_error(cleanup):
    st = plugins.register(_plugin({"id": "datasets", "title": "impostor"}), "datasets")
    assert st.state == "failed" and "already taken" in st.error
    assert ga.info("datasets")["title"] == "Built-in datasets"


def test_strict_mode_raises(monkeypatch):
    import importlib.metadata as md

    real = md.entry_points

    def fake(group=None):
        eps = list(real(group=group))
        eps.append(md.EntryPoint("ghost_plugin", "no_such_module_abc", "geoatlas"))
        return eps

    monkeypatch.setattr(plugins, "entry_points", fake)
    monkeypatch.setenv("GEOATLAS_STRICT", "1")
    plugins.reset()
    try:
        with pytest.raises(PluginLoadError, match="ghost_plugin"):
            plugins.catalog()
    finally:
        plugins.reset()
    monkeypatch.delenv("GEOATLAS_STRICT")
    plugins.reset()
    with pytest.warns(UserWarning, match="ghost_plugin"):
        cat = plugins.catalog()
    assert cat.statuses["ghost_plugin"].state == "failed"
    monkeypatch.setattr(plugins, "entry_points", real)
    plugins.reset()


def test_disable_and_allowlist(monkeypatch):
    monkeypatch.setenv("GEOATLAS_DISABLE_PLUGINS", "classical_groups")
    plugins.reset()
    try:
        assert plugins.catalog().statuses["classical_groups"].state == "disabled"
        assert not ga.list_components("group", "so3")
    finally:
        monkeypatch.delenv("GEOATLAS_DISABLE_PLUGINS")
        plugins.reset()


def test_listing_is_lazy():
    """Listing imports no torch and no plugin implementation module."""
    code = (
        "import sys, json, geoatlas as ga\n"
        "n = len(ga.list_components()); ga.info('poincare_ball', with_params=False)\n"
        "impl = sorted(m for m in sys.modules if m.startswith('geoatlas_plugins.') and m.count('.') >= 2)\n"
        "print(json.dumps({'n': n, 'torch': 'torch' in sys.modules, 'impl': impl}))\n"
    )
    out = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, check=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["n"] > 20
    assert res["torch"] is False, "listing imported torch"
    assert res["impl"] == [], f"listing imported implementation modules: {res['impl']}"


def test_lifecycle_hooks_are_called_and_isolated(cleanup, tmp_path):
    calls = []

    class Tracker:
        @hookimpl
        def geoatlas_manifest(self):
            return {"id": "tracker", "title": "t"}

        @hookimpl
        def before_step(self, step):
            calls.append(step)

        @hookimpl
        def after_pipeline(self, metrics):
            raise RuntimeError("a broken tracker must not fail the run")

    plugins.register(Tracker(), "tracker")
    cleanup.append("tracker")
    spec = {"name": "hooks", "data": {"dataset": "sklearn_iris"}, "model": {"classifier": "logistic_regression"}, "plots": False}
    with pytest.warns(UserWarning, match="tracker"):
        res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res["model"]["accuracy"] > 0.8
    assert calls[:2] == ["data", "steps"] and "train:model" in calls
