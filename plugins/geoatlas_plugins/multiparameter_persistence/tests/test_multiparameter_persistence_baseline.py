"""persistence_image_1p (gudhi) and the outlier_point_clouds dataset."""

import gudhi as gd
import numpy as np
import pytest

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.multiparameter_persistence.baseline import rips_diagrams


def test_collapsed_diagrams_equal_plain_gudhi_rips() -> None:
    x = np.random.default_rng(0).normal(size=(30, 2))
    ours = rips_diagrams(x, (0, 1))
    D = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    st = gd.RipsComplex(distance_matrix=D, max_edge_length=float(np.min(D.max(1)))).create_simplex_tree(max_dimension=2)
    st.compute_persistence()
    for d in (0, 1):
        ref = np.asarray(st.persistence_intervals_in_dimension(d)).reshape(-1, 2)
        ref = ref[np.isfinite(ref).all(1)]
        assert gd.bottleneck_distance(ours[d], ref) < 1e-12


def test_persistence_image_descriptor(clouds) -> None:
    d = ga.create("descriptor", "persistence_image_1p", resolution=5)
    report = check_descriptor(d, np.stack(clouds))
    assert report["n_features"] == 50


def test_dataset_is_seeded_and_well_formed() -> None:
    a = ga.create("dataset", "outlier_point_clouds", n_per_class=3, n_points=20).load()
    b = ga.create("dataset", "outlier_point_clouds", n_per_class=3, n_points=20).load()
    assert a.X.shape == (9, 20, 2) and a.data_type == "point_cloud"
    assert np.array_equal(a.X, b.X) and sorted(a.y.tolist()) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    with pytest.raises(ValueError, match="outlier_fraction"):
        ga.create("dataset", "outlier_point_clouds", outlier_fraction=1.5)
    with pytest.raises(ValueError, match="shapes"):
        ga.create("dataset", "outlier_point_clouds", shapes=["square"])


def test_filtration_step_then_signed_measure(clouds) -> None:
    """A filtration descriptor's output (bifiltrations) feeds signed_measure / mma as a step would."""
    filt = ga.create("descriptor", "rips_codensity", bandwidth=0.4)
    bifs = filt.fit(clouds).transform(clouds)
    sm = ga.create("descriptor", "signed_measure", resolution=6).fit(bifs)
    direct = ga.create("descriptor", "signed_measure", filtration_params={"bandwidth": 0.4}, resolution=6).fit(clouds)
    assert np.allclose(sm.transform(bifs), direct.transform(clouds), atol=1e-10)
    import pickle

    assert len(pickle.loads(pickle.dumps(bifs))) == len(clouds)
