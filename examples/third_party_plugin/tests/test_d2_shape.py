import numpy as np
import torch

import geoatlas as ga
from geoatlas.testing import check_descriptor, check_equivariance


def test_discovered_through_entry_point():
    comps = {c.full_name: c for c in ga.list_components("descriptor")}
    assert "d2_shape/d2_shape_distribution" in comps
    assert ga.info("d2_shape")["state"] == "loaded"


def test_conventions_and_invariance():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 30, 3))
    d = ga.create("descriptor", "d2_shape_distribution", bins=16)
    report = check_descriptor(d, X)
    assert report["n_features"] == 16
    rows = d.transform(X)
    np.testing.assert_allclose(rows.sum(1), 1.0)

    def f(pts: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(d.transform(pts.numpy()[None]))

    x = torch.as_tensor(X[0])
    check_equivariance(f, ga.create("group", "se3"), x, output="invariant", atol=1e-12, rtol=0)
    check_equivariance(f, ga.create("group", "permutations", n=30), x, output="invariant", atol=1e-12, rtol=0)
