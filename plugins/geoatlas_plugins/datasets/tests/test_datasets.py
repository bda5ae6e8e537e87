import numpy as np
import pytest

import geoatlas as ga


@pytest.mark.parametrize(
    "name,params,data_type,n",
    [
        ("sklearn_digits", {}, "image", 1797),
        ("sklearn_digits", {"as_images": False}, "vector", 1797),
        ("sklearn_iris", {}, "vector", 150),
        ("sklearn_wine", {}, "vector", 178),
        ("karate_club", {}, "graph_nodes", 34),
        ("karate_club", {"source": "networkx"}, "graph_nodes", 34),
        ("shapes_3d", {"n_per_class": 3, "n_points": 16, "rotate": True}, "point_cloud", 18),
        ("manifold_samples", {"n_per_class": 2, "n_points": 20, "outliers": 0.1}, "point_cloud", 6),
        ("graph_families", {"n_per_class": 2, "n_nodes": 12}, "graph", 8),
        ("hyperbolic_tree", {"branching": 2, "depth": 3}, "graph_nodes", 15),
    ],
)
def test_datasets_load(name, params, data_type, n):
    b = ga.create("dataset", name, **params).load()
    assert b.data_type == data_type and len(b) == n
    if isinstance(b.X, np.ndarray):
        assert np.isfinite(b.X).all()


def test_synthetic_is_deterministic():
    a = ga.create("dataset", "shapes_3d", n_per_class=2, n_points=8, rotate=True, seed=5).load()
    b = ga.create("dataset", "shapes_3d", n_per_class=2, n_points=8, rotate=True, seed=5).load()
    np.testing.assert_array_equal(a.X, b.X)
    c = ga.create("dataset", "shapes_3d", n_per_class=2, n_points=8, rotate=True, seed=6).load()
    assert not np.array_equal(a.X, c.X)


def test_graph_families_have_matched_density():
    b = ga.create("dataset", "graph_families", n_per_class=10, n_nodes=40, avg_degree=4.0).load()
    deg = {}
    for g, y in zip(b.X, b.y, strict=True):
        deg.setdefault(int(y), []).append(g.edge_index.shape[1] / g.num_nodes)
    means = [np.mean(v) for v in deg.values()]
    assert max(means) / min(means) < 1.6


def test_local_arrays(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    np.savez(tmp_path / "d.npz", X=X, y=np.array([0, 1, 0, 1]))
    b = ga.create("dataset", "local_arrays", path=str(tmp_path / "d.npz")).load()
    np.testing.assert_array_equal(b.X, X)
    np.savetxt(tmp_path / "d.csv", np.c_[X, [0, 1, 0, 1]], delimiter=",")
    b = ga.create("dataset", "local_arrays", path=str(tmp_path / "d.csv")).load()
    assert b.X.shape == (4, 3) and list(b.y) == [0, 1, 0, 1]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ga.create("dataset", "local_arrays", path=str(tmp_path / "none.npz")).load()
    with pytest.raises(KeyError, match="has no array 'Z'"):
        ga.create("dataset", "local_arrays", path=str(tmp_path / "d.npz"), X_key="Z").load()
    bad = X.copy()
    bad[0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", X=bad, y=np.zeros(4))
    with pytest.raises(ValueError, match="NaN"):
        ga.create("dataset", "local_arrays", path=str(tmp_path / "nan.npz")).load()


def test_pyg_local_never_downloads(tmp_path):
    with pytest.raises(FileNotFoundError, match="never downloads"):
        ga.create("dataset", "pyg_local", root=str(tmp_path), name="MUTAG").load()


def test_bad_dataset_params():
    with pytest.raises(ValueError, match="unknown shape"):
        ga.create("dataset", "shapes_3d", shapes=["sphere", "blob"])
    with pytest.raises(ValueError, match="n_per_class"):
        ga.create("dataset", "graph_families", n_per_class=0)
