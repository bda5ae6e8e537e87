import pytest
import torch

import geoatlas as ga
from geoatlas.errors import ComponentImportError, UnknownComponentError


def test_list_components_by_kind_and_pattern():
    manifolds = {c.name for c in ga.list_components("manifold")}
    assert {"euclidean", "sphere", "poincare_ball", "lorentz", "stiefel", "spd"} <= manifolds
    groups = {c.name for c in ga.list_components("group")}
    assert {"so2", "so3", "son", "o_n", "se2", "se3", "translations", "permutations"} <= groups
    assert [c.name for c in ga.list_components("manifold", "poincare*")] == ["poincare_ball"]
    assert all(c.plugin == "classical_groups" for c in ga.list_components("group", "classical_groups/*"))
    with pytest.raises(ValueError, match="the kinds are"):
        ga.list_components("manifolds")


def test_create_every_kind():
    ball = ga.create("manifold", "poincare_ball", dim=3, c=0.5)
    assert isinstance(ball, ga.Manifold) and ball.curvature == pytest.approx(-0.5)
    assert ga.create("manifold", "geoopt_manifolds/poincare_ball").curvature == -1.0  # full name
    g = ga.create("group", "so3")
    R = g.sample(4, torch.Generator().manual_seed(0))
    assert torch.allclose(R @ R.transpose(-1, -2), torch.eye(3).expand(4, 3, 3), atol=1e-5)
    enc = ga.create("encoder", "mlp", in_features=4, out_features=3)
    assert isinstance(enc, torch.nn.Module) and enc(torch.zeros(2, 4)).shape == (2, 3)
    bundle = ga.create("dataset", "sklearn_iris").load()
    assert bundle.X.shape == (150, 4) and bundle.data_type == "vector"


def test_unknown_names_suggest_close_matches():
    with pytest.raises(UnknownComponentError, match="Did you mean 'poincare_ball'"):
        ga.create("manifold", "poincare_bal")
    with pytest.raises(UnknownComponentError, match="exists as a group"):
        ga.create("manifold", "so3")
    with pytest.raises(UnknownComponentError, match="unknown component kind"):
        ga.create("manfold", "so3")


def test_bad_params_name_the_valid_ones():
    with pytest.raises(TypeError, match=r"unknown parameter 'curvature'.*Valid parameters: dim, c, learnable"):
        ga.create("manifold", "poincare_ball", curvature=1.0)
    with pytest.raises(TypeError, match="missing required parameter"):
        ga.create("encoder", "mlp")
    with pytest.raises(ValueError, match="c must be > 0"):
        ga.create("manifold", "poincare_ball", c=-1.0)


def test_info_includes_paper_and_parameters():
    info = ga.info("poincare_ball")
    assert info["full_name"] == "geoopt_manifolds/poincare_ball"
    assert info["papers"][0]["arxiv"] == "1810.00760"
    assert set(info["params"]) == {"dim", "c", "learnable"}
    plugin = ga.info("classical_groups")
    assert plugin["state"] == "loaded" and "so3" in plugin["components"]["group"]


def test_component_import_error_gives_install_hint():
    from geoatlas import plugins

    mod = type("M", (), {})()
    from geoatlas import hookimpl

    class Plug:
        @hookimpl
        def geoatlas_manifest(self):
            return {"id": "needs_extra", "title": "t", "extras": ["tda"],
                    "components": {"descriptor": {"ghost": "not_a_real_module_xyz:Thing"}}}

    del mod
    plugins.register(Plug(), "needs_extra")
    try:
        with pytest.raises(ComponentImportError, match=r"missing module 'not_a_real_module_xyz'.*geoatlas\[tda\]"):
            ga.create("descriptor", "ghost")
    finally:
        plugins.unregister("needs_extra")
