"""MMA's faster simplex-tree -> vineyard-slicer conversion (``mma._vine_slicer``) changes nothing.

The descriptor used to call ``multipers.module_approximation(simplex_tree)``, which builds the same
slicer through a deep copy of the blocks; it now builds the slicer itself. Pinned against the
previous path (computed live, bit for bit) and against values recorded from the previous code.
"""

import multipers as mp
import numpy as np
import pytest

import geoatlas as ga
from geoatlas_plugins.multiparameter_persistence.mma import _vine_slicer


def _clouds():
    rng = np.random.default_rng(2024)
    t = rng.uniform(0, 2 * np.pi, 50)
    return {
        "gaussian": rng.normal(size=(40, 2)),
        "noisy_circle": np.c_[np.cos(t), np.sin(t)] + 0.1 * rng.normal(size=(50, 2)),
        "outliers_3d": np.r_[rng.normal(size=(30, 3)) * 0.3, rng.uniform(-2, 2, size=(15, 3))],
    }


# (sum, max |.|, number of non-zeros) of the output before the change (multipers 2.3.2, gudhi 3.11)
PREVIOUS = {
    ("gaussian", "mma_image"): (56.97215627338029, 0.8903184802700199, 293),
    ("gaussian", "mma_landscape"): (181.92290059965302, 1.8124441997907041, 322),
    ("noisy_circle", "mma_image"): (72.03278925497847, 0.8996890769500293, 327),
    ("noisy_circle", "mma_landscape"): (109.44987486113342, 1.009361676901026, 357),
    ("outliers_3d", "mma_image"): (65.31304339925612, 0.9060749546106565, 286),
    ("outliers_3d", "mma_landscape"): (205.79513808749073, 2.417671426028168, 306),
}


@pytest.mark.parametrize("kind", ["mma_image", "mma_landscape"])
@pytest.mark.parametrize("name", ["gaussian", "noisy_circle", "outliers_3d"])
def test_output_equals_previous_path(name: str, kind: str) -> None:
    x = _clouds()[name]
    d = ga.create("descriptor", kind, filtration_params={"bandwidth": 0.3}).fit([x])
    new = d.transform([x])[0]
    # the previous path: multipers converts the simplex tree itself
    bif = d._bifiltration(x, max_dim=2, collapse=True)
    old = d.vectorize(mp.module_approximation(bif.complex, box=d.box_, nlines=200, n_jobs=1, ignore_warnings=True))
    np.testing.assert_array_equal(new, old)
    s, m, nnz = PREVIOUS[(name, kind)]
    assert float(new.sum()) == pytest.approx(s, rel=1e-12, abs=0)
    assert float(np.abs(new).max()) == pytest.approx(m, rel=1e-12, abs=0)
    assert int((new != 0).sum()) == nnz


def _tree(case: str):
    x = _clouds()["noisy_circle"]
    if case == "descriptor":  # the collapsed Rips x codensity tree the descriptor builds
        d = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.3}).fit([x])
        return d._bifiltration(x, max_dim=2, collapse=True).complex
    # 3 parameters, simplices up to dimension 3 (boundaries shifted by two block sizes)
    st = mp.filtrations.RipsLowerstar(points=x[:25], function=np.c_[x[:25, 0], np.linalg.norm(x[:25], axis=1)])
    st.expansion(3)
    return st


@pytest.mark.parametrize("case", ["descriptor", "three_parameters_dim3"])
def test_slicer_equals_multipers_conversion(case: str) -> None:
    st = _tree(case)
    ours = _vine_slicer(st)
    theirs = mp.Slicer(st, vineyard=True, backend="matrix")
    assert type(ours) is type(theirs) and ours.is_vine
    np.testing.assert_array_equal(ours.get_dimensions(), theirs.get_dimensions())
    np.testing.assert_array_equal(np.asarray(ours.get_filtrations()), np.asarray(theirs.get_filtrations()))
    assert [list(b) for b in ours.get_boundaries()] == [list(b) for b in theirs.get_boundaries()]
    assert len(st) > 0 and len(ours.get_dimensions()) == len(st)  # the tree is left intact


def test_non_simplex_tree_input_passes_through() -> None:
    from multipers.slicer import from_bitmap

    sl = from_bitmap(np.random.default_rng(0).normal(size=(6, 6, 2)))
    assert _vine_slicer(sl) is sl
    empty = mp.SimplexTreeMulti(num_parameters=2)
    assert _vine_slicer(empty) is empty
