"""MMA image / landscape: equal to an independent numpy implementation of the paper's formulas."""

import multipers as mp
import numpy as np
import pytest
import torch
from sklearn.neighbors import KernelDensity

import geoatlas as ga
from geoatlas.testing import check_descriptor

BIG = 1e6


def _summands(mod, degree):
    out = []
    for s in mod:
        if s.degree != degree:
            continue
        B = np.clip(np.asarray(s.get_birth_list(), dtype=float), -BIG, BIG)
        D = np.clip(np.asarray(s.get_death_list(), dtype=float), -BIG, BIG)
        out.append((B, D))
    return out


def _cube(B, D, lo, hi):
    """Side of the largest l_inf cube in the support of the interval clipped to [lo, hi]."""
    best = 0.0
    for b in B:
        for d in D:
            best = max(best, float(np.min(np.minimum(d, hi) - np.maximum(b, lo))))
    return best


def _image(mod, degree, box, res, delta, p, normalize):
    lo, hi = box
    axes = [np.linspace(lo[i], hi[i], res[i]) for i in range(2)]
    S = _summands(mod, degree)
    w = np.array([_cube(B, D, lo, hi) for B, D in S])
    img = np.zeros(res)
    for i, a in enumerate(axes[0]):
        for j, b in enumerate(axes[1]):
            xpt = np.array([a, b])
            nu = np.array([_cube(B, D, xpt - delta, xpt + delta) / (2 * delta) for B, D in S])
            img[i, j] = np.sum(w**p * nu)
    if normalize:
        img /= np.sum(w[(w > 0) & np.isfinite(w)] ** p)
    return img


def _landscape(mod, degree, box, res, ks):
    lo, hi = box
    S = _summands(mod, degree)
    L = np.zeros((len(ks), *res))
    for i in range(res[0]):
        for j in range(res[1]):
            xpt = lo + np.array([i, j]) * (hi - lo) / np.array(res)
            vals = []
            for B, D in S:
                v = 0.0
                for b in B:
                    for d in D:
                        v = max(v, min(np.min(xpt - b), np.min(d - xpt)))
                vals.append(v)
            vals = sorted(vals, reverse=True) + [0.0] * (max(ks) + 1)
            L[:, i, j] = [vals[k] for k in ks]
    return L


@pytest.fixture(scope="module")
def cloud():
    return np.random.default_rng(0).normal(size=(25, 2))


def test_module_equals_direct_multipers_call(cloud) -> None:
    d = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.4}).fit([cloud])
    ours = d.module(cloud)
    # the plugin's vertex numbering: points sorted lexicographically, then by filtration value
    c = cloud[np.lexsort(cloud.T[::-1])]
    f = -KernelDensity(bandwidth=0.4).fit(c).score_samples(c)
    o = np.argsort(f, kind="stable")
    st = mp.filtrations.RipsLowerstar(points=c[o], function=f[o])
    st.collapse_edges(-1)
    st.expansion(2)
    ref = mp.module_approximation(st, box=d.box_, nlines=200, n_jobs=1, ignore_warnings=True)
    img_o = ours.representation(degrees=[0, 1], bandwidth=0.1, resolution=[8, 8], kernel="linear", box=d.box_)
    img_r = ref.representation(degrees=[0, 1], bandwidth=0.1, resolution=[8, 8], kernel="linear", box=d.box_)
    assert len(ours) == len(ref)
    assert np.abs(img_o - img_r).max() < 1e-10


def test_image_equals_numpy_formula(cloud) -> None:
    d = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.4}, resolution=[6, 7], bandwidth=0.3, p=1.0).fit([cloud])
    mod = d.module(cloud)
    F = d.transform([cloud])[0].reshape(2, 6, 7)
    for deg in (0, 1):
        ref = _image(mod, deg, d.box_, (6, 7), 0.3, 1.0, True)
        assert np.abs(F[deg] - ref).max() < 1e-10, deg


def test_landscape_equals_numpy_formula(cloud) -> None:
    d = ga.create("descriptor", "mma_landscape", filtration_params={"bandwidth": 0.4}, resolution=[5, 6], ks=[0, 1]).fit([cloud])
    mod = d.module(cloud)
    F = d.transform([cloud])[0].reshape(2, 2, 5, 6)
    for deg in (0, 1):
        ref = _landscape(mod, deg, d.box_, (5, 6), [0, 1])
        assert np.abs(F[deg] - ref).max() < 1e-10, deg


@pytest.mark.parametrize("name", ["mma_image", "mma_landscape"])
def test_check_descriptor(clouds, name) -> None:
    d = ga.create("descriptor", name, filtration_params={"bandwidth": 0.4}, resolution=6)
    check_descriptor(d, np.stack(clouds))


def test_rigid_invariance_and_stability(cloud) -> None:
    d = ga.create("descriptor", "mma_image", filtration_params={"bandwidth": 0.4}, resolution=8, max_error=0.05).fit([cloud])
    F0 = d.transform([cloud])[0]
    R = ga.create("group", "so2").sample(3, torch.Generator().manual_seed(1), dtype=torch.float64).numpy()
    rng = np.random.default_rng(2)
    for k in range(3):
        y = cloud[rng.permutation(len(cloud))] @ R[k].T + 5.0
        assert np.abs(d.transform([y])[0] - F0).max() < 1e-6
    xi = rng.normal(size=cloud.shape)
    xi /= np.abs(xi).max()
    ratios = [np.abs(d.transform([cloud + eps * xi])[0] - F0).max() / eps for eps in (1e-2, 1e-3, 1e-4)]
    # stability (Lipschitz): the difference quotient stays bounded as eps -> 0 (measured ~0.9)
    assert max(ratios) < 10.0, ratios


def test_mma_on_graphs_and_images() -> None:
    from torch_geometric.data import Data

    e = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]])
    g = Data(x=torch.randn(4, 2), edge_index=torch.cat([e, e.flip(0)], 1), num_nodes=4)
    d = ga.create("descriptor", "mma_image", filtration="graph_function_bifiltration", resolution=5, max_error=0.05).fit([g, g])
    assert d.input_type == "graph" and d.transform([g]).shape == (1, 50)
    imgs = np.random.default_rng(0).random((2, 1, 6, 6))
    d = ga.create("descriptor", "mma_landscape", filtration="cubical_bifiltration", resolution=4, ks=[0]).fit(imgs)
    assert d.input_type == "image" and d.transform(imgs).shape == (2, 32)


def test_bad_parameters(cloud) -> None:
    with pytest.raises(ValueError, match="vectorization"):
        ga.create("descriptor", "mma", vectorization="bogus").fit([cloud])
    with pytest.raises(ValueError, match="kernel"):
        ga.create("descriptor", "mma_image", kernel="bogus").fit([cloud])
    with pytest.raises(ValueError, match="ks"):
        ga.create("descriptor", "mma_landscape", ks=[-1]).fit([cloud])
    with pytest.raises(ValueError, match="NaN"):
        d = ga.create("descriptor", "mma_image").fit([cloud])
        d.transform([np.full((5, 2), np.nan)])


def test_mma_refuses_multicritical_degree_rips(cloud) -> None:
    d = ga.create("descriptor", "mma_image", filtration="degree_rips", filtration_params={"ks": [1, 2]}).fit([cloud])
    with pytest.raises(ValueError, match="multi-critical"):
        d.transform([cloud])


def _rel(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


@pytest.mark.parametrize("seed", [0, 1, 4])
def test_invariant_to_point_order_and_rigid_motions(seed) -> None:
    """Default MMA image of 60-point Gaussian clouds (no symmetry): relabelling the points must not change it.

    Before the canonical vertex numbering the image changed by up to 7.4e-2 (relative, max norm) for
    these seeds; now a permutation gives bit-identical input to multipers (tolerance 1e-12 relative), and
    a rotation + translation changes only rounding (tolerance 1e-9 relative; measured < 4e-15).
    """
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(60, 2)) for _ in range(3)]
    d = ga.create("descriptor", "mma_image").fit(X)
    F0 = d.transform(X[:1])[0]
    perms = [X[0][rng.permutation(60)] for _ in range(3)]
    errs = [_rel(d.transform([y])[0], F0) for y in perms]
    assert max(errs) <= 1e-12, errs
    R = ga.create("group", "so2").sample(2, torch.Generator().manual_seed(seed), dtype=torch.float64).numpy()
    errs = [_rel(d.transform([X[0][rng.permutation(60)] @ R[k].T + 1.5])[0], F0) for k in range(2)]
    assert max(errs) <= 1e-9, errs


def test_non_finite_vectorisation_raises(cloud, monkeypatch) -> None:
    d = ga.create("descriptor", "mma_image", resolution=4).fit([cloud])
    mod = d.module(cloud)
    ok = d.vectorize(mod)
    assert np.isfinite(ok).all()

    class _Bad:
        def representation(self, **kw):
            out = np.zeros(2 * 4 * 4)
            out[3] = np.nan
            return out

    with pytest.raises(ValueError, match="NaN/Inf"):
        d.vectorize(_Bad())


def test_empty_degree_is_zero_not_nan(cloud) -> None:
    """A degree without summands (H2 of a planar cloud) is multipers' 0/0 case: it returns zeros."""
    d = ga.create("descriptor", "mma_image", degrees=[0, 2], resolution=4).fit([cloud])
    F = d.transform([cloud])[0]
    assert np.isfinite(F).all() and np.abs(F[:16]).max() > 0 and np.abs(F[16:]).max() == 0


def test_all_duplicate_points_message(cloud) -> None:
    d = ga.create("descriptor", "mma_image").fit([cloud])
    with pytest.raises(ValueError, match="coincide"):
        d.transform([np.ones((6, 2))])
