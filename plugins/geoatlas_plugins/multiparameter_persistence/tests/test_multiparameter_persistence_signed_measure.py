"""The signed_measure descriptor: conventions, oracles (multipers, POT), invariance, stability, gradients."""

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.multiparameter_persistence.filtrations import RipsCodensity
from geoatlas_plugins.multiparameter_persistence.signed_measures import (
    _directions,
    compute_signed_measures,
    convolve_signed_measure,
    sliced_wasserstein,
    zero_mass,
)

PARAMS = {"filtration_params": {"bandwidth": 0.4}, "resolution": 8, "bandwidth": 0.1}


@pytest.mark.parametrize("vec", ["convolution", "sliced_wasserstein"])
def test_check_descriptor(clouds, vec) -> None:
    d = ga.create("descriptor", "signed_measure", vectorization=vec, n_references=3, **PARAMS)
    report = check_descriptor(d, np.stack(clouds))
    assert report["n_samples"] == len(clouds)


def test_euler_and_list_input(clouds) -> None:
    d = ga.create("descriptor", "signed_measure", invariant="euler", **PARAMS).fit(clouds[:3])
    F = d.transform(clouds[:3])
    assert F.shape == (3, 64) and np.isfinite(F).all()


def test_convolution_equals_multipers_sklearn_backend() -> None:
    from multipers.filtrations.density import convolution_signed_measures

    x = np.random.default_rng(0).normal(size=(25, 2))
    sms = compute_signed_measures(RipsCodensity(0.4).build(x), "hilbert", (0, 1))
    box = np.array([[0.0, 0.5], [2.0, 3.0]])
    grid = [np.linspace(0, 2, 7), np.linspace(0.5, 3, 9)]
    checked = 0
    for pts, w in sms:
        pos, neg = w > 0, w < 0
        if pos.sum() == 0 or neg.sum() == 0:
            continue
        # multipers' sklearn backend returns KDE(mu+) - KDE(mu-), each part divided by its mass
        ours = convolve_signed_measure((pts[pos], w[pos]), box, (7, 9), 0.3) / w[pos].sum()
        ours = ours - convolve_signed_measure((pts[neg], -w[neg]), box, (7, 9), 0.3) / (-w[neg]).sum()
        ref = np.asarray(convolution_signed_measures([[(pts.numpy(), w.numpy())]], grid, 0.3, backend="sklearn")).reshape(-1)
        assert np.allclose(ours.numpy(), ref, rtol=1e-3, atol=1e-6)
        checked += 1
    assert checked >= 1


def test_sliced_wasserstein_equals_pot() -> None:
    import ot

    rng = np.random.default_rng(1)
    a = compute_signed_measures(RipsCodensity(0.4).build(rng.normal(size=(20, 2))), "hilbert", (1,))[0]
    b = compute_signed_measures(RipsCodensity(0.4).build(rng.normal(size=(20, 2))), "hilbert", (1,))[0]
    corner = np.array([3.0, 4.0])
    mu, nu = zero_mass(a, corner), zero_mass(b, corner)
    dirs = _directions(2, 7, 0)
    ours = float(sliced_wasserstein(mu, nu, dirs))
    # SW between mu+ + nu- and nu+ + mu- (unsigned, same mass) with POT and the same directions
    P = torch.cat([mu[0][mu[1] > 0], nu[0][nu[1] < 0]]).numpy()
    wp = torch.cat([mu[1][mu[1] > 0], -nu[1][nu[1] < 0]]).numpy()
    Q = torch.cat([nu[0][nu[1] > 0], mu[0][mu[1] < 0]]).numpy()
    wq = torch.cat([nu[1][nu[1] > 0], -mu[1][mu[1] < 0]]).numpy()
    mass = wp.sum()
    assert abs(mass - wq.sum()) < 1e-9
    ref = ot.sliced_wasserstein_distance(P, Q, wp / mass, wq / mass, p=1, projections=dirs.numpy().T) * mass
    assert abs(ours - ref) < 1e-9 * max(1.0, ref)
    assert float(sliced_wasserstein(mu, mu, dirs)) == 0.0


def test_invariance_permutations_and_rigid_motions() -> None:
    rng = np.random.default_rng(2)
    X = [rng.normal(size=(22, 2)) for _ in range(3)]
    d = ga.create("descriptor", "signed_measure", **PARAMS).fit(X)
    F = d.transform(X)
    so2 = ga.create("group", "so2")
    R = so2.sample(4, torch.Generator().manual_seed(0), dtype=torch.float64).numpy()
    errs = []
    for k in range(4):
        Y = [x[rng.permutation(len(x))] @ R[k].T + rng.normal(size=(1, 2)) * 3 for x in X]
        errs.append(np.abs(d.transform(Y) - F).max())
    assert max(errs) < 1e-8 * max(1.0, np.abs(F).max()), errs


def test_empirical_stability() -> None:
    """Small perturbation of the points -> proportionally small change of the vector."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(25, 2))
    d = ga.create("descriptor", "signed_measure", **PARAMS).fit([x])
    F0 = d.transform([x])[0]
    xi = rng.normal(size=x.shape)
    eps = (1e-2, 1e-3, 1e-4)
    ratios = [np.abs(d.transform([x + e * xi])[0] - F0).max() / e for e in eps]
    # measured 208, 207, 207 (|F0| up to 83); a jump J would give J / eps, growing 100x over eps
    assert _lipschitz_like(ratios, bound=300.0), ratios
    assert not _lipschitz_like([0.05 / e for e in eps], bound=300.0)  # the check rejects a jump of 0.05
    assert not _lipschitz_like([400.0] * 3, bound=300.0)


def _lipschitz_like(ratios, bound: float) -> bool:
    """Difference quotients (eps decreasing) that stay below ``bound`` and do not grow as eps -> 0."""
    r = np.asarray(ratios, dtype=float)
    return bool(np.isfinite(r).all() and r.max() < bound and r[-1] < 2.0 * max(r[0], 1e-12))


def test_gradients_equal_multipers_autodiff() -> None:
    """Atoms and point gradients against multipers' own torch path (exact torch grid, ``signed_measure``
    with a torch ``grid``): Rips x distance-to-mean, 25 points, H0 and H1. Measured: atoms identical,
    gradients 2.2e-16 apart (scale 1.2); tolerance 1e-12."""
    import gudhi as gd
    import multipers as mp
    from multipers.torch.diff_grids import get_grid

    from geoatlas_plugins.multiparameter_persistence.filtrations import RipsFunction

    x0 = np.random.default_rng(5).normal(size=(25, 2))
    a = torch.tensor([0.7, -1.3], dtype=torch.float64)

    def loss(sms):
        return sum((torch.as_tensor(w, dtype=torch.float64) * torch.sin(p @ a)).sum() for p, w in sms)

    x1 = torch.tensor(x0, requires_grad=True)
    f = (x1 - x1.mean(0)).norm(dim=1)
    D = torch.cdist(x1, x1)
    thr = D.max(dim=1).values.min()
    dist = D.ravel()[D.ravel() <= thr]
    grid = get_grid("exact")((dist, f), None)
    st = mp.SimplexTreeMulti(gd.SimplexTree.create_from_array(D.detach().numpy(), max_filtration=float(thr)), num_parameters=2)
    st.fill_lowerstar(f.detach().numpy(), parameter=1)
    st.expansion(2)
    theirs = mp.signed_measure(st.grid_squeeze(grid), grid=grid, degrees=[0, 1])
    x2 = torch.tensor(x0, requires_grad=True)
    ours = compute_signed_measures(RipsFunction("distance_to_mean").build(x2, collapse=False), degrees=(0, 1))
    assert len(theirs) == len(ours) == 2
    for (p1, w1), (p2, w2) in zip(theirs, ours, strict=True):
        a1 = np.c_[p1.detach().numpy(), np.asarray(w1, dtype=float)]
        a2 = np.c_[p2.detach().numpy(), w2.detach().numpy()]
        assert len(a1) == len(a2) > 0
        np.testing.assert_allclose(a1[np.lexsort(a1.T[::-1])], a2[np.lexsort(a2.T[::-1])], atol=1e-12)
    (g1,) = torch.autograd.grad(loss(theirs), x1)
    (g2,) = torch.autograd.grad(loss(ours), x2)
    assert g1.abs().max() > 0.1
    assert (g1 - g2).abs().max().item() < 1e-12


def test_torch_path_equals_numpy_and_gradients_reach_points() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(20, 2))
    d = ga.create("descriptor", "signed_measure", **PARAMS).fit([x])
    xt = torch.tensor(x, requires_grad=True)
    Ft = d.transform([xt])
    assert isinstance(Ft, torch.Tensor) and Ft.requires_grad
    assert np.allclose(Ft.detach().numpy(), d.transform([x]), atol=1e-12)
    (Ft**2).sum().backward()
    g = xt.grad
    assert g.abs().sum() > 0
    # translation invariance: the gradient sums to zero over the points
    assert g.sum(0).abs().max() < 1e-8 * g.abs().max()


@pytest.mark.parametrize("vec", ["convolution", "sliced_wasserstein"])
def test_gradcheck_finite_differences(vec) -> None:
    rng = np.random.default_rng(5)
    x = rng.normal(size=(9, 2))
    d = ga.create("descriptor", "signed_measure", vectorization=vec, filtration_params={"bandwidth": 0.5}, resolution=5, bandwidth=0.2)
    # references are other clouds: SW(mu, mu) = 0 sits on the kink of |.| (not differentiable)
    d.fit([rng.normal(size=(9, 2)), rng.normal(size=(9, 2))])
    weights = torch.as_tensor(rng.normal(size=d.transform([x]).shape[1]))

    def f(pts: torch.Tensor) -> torch.Tensor:
        return (d.transform_one(pts) * weights).sum()

    xt = torch.tensor(x, requires_grad=True)
    assert torch.autograd.gradcheck(f, (xt,), eps=1e-6, atol=1e-5, rtol=1e-4)


def test_bad_parameters(clouds) -> None:
    with pytest.raises(ValueError, match="invariant"):
        ga.create("descriptor", "signed_measure", invariant="rank").fit(clouds)
    with pytest.raises(ValueError, match="bandwidth"):
        ga.create("descriptor", "signed_measure", bandwidth=0.0).fit(clouds)
    with pytest.raises(ValueError, match="filtration"):
        ga.create("descriptor", "signed_measure", filtration="nope")
    with pytest.raises(ValueError, match="box"):
        ga.create("descriptor", "signed_measure", box=[[0, 0], [0, 1]]).fit(clouds)
    with pytest.raises(ValueError, match="empty"):
        ga.create("descriptor", "signed_measure").fit([])
    with pytest.raises(RuntimeError, match="fit"):
        ga.create("descriptor", "signed_measure").transform(clouds)


def test_gradients_reach_graph_node_features_and_image_pixels() -> None:
    """Filtration values themselves (node features, pixel values) receive exact gradients."""
    from torch_geometric.data import Data

    g = torch.Generator().manual_seed(0)
    e = torch.tensor([[0, 1, 2, 3, 4, 0, 1], [1, 2, 3, 4, 0, 2, 3]])
    feats = torch.randn(5, 2, dtype=torch.float64, generator=g)
    base = Data(x=feats, edge_index=torch.cat([e, e.flip(0)], 1), num_nodes=5)
    d = ga.create("descriptor", "signed_measure", filtration="graph_function_bifiltration",
                  filtration_params={"node_functions": ["x:0", "x:1"]}, resolution=5, bandwidth=0.2).fit([base])

    def f_graph(x: torch.Tensor) -> torch.Tensor:
        return d.transform([Data(x=x, edge_index=base.edge_index, num_nodes=5)]).sum()

    assert torch.autograd.gradcheck(f_graph, (feats.clone().requires_grad_(True),), eps=1e-6, atol=1e-5, rtol=1e-4)
    img = torch.rand(2, 5, 5, dtype=torch.float64, generator=g)
    di = ga.create("descriptor", "signed_measure", filtration="cubical_bifiltration", resolution=5, bandwidth=0.2).fit([img.numpy()])
    assert di.input_type == "image"
    assert torch.autograd.gradcheck(lambda im: di.transform([im]).sum(), (img.clone().requires_grad_(True),), eps=1e-6, atol=1e-5, rtol=1e-4)


def _atoms(sm):
    """A signed measure as a sorted array of rows (x, y, weight): comparable across numberings."""
    pts, w = sm
    a = np.column_stack([pts.detach().numpy(), w.numpy()])
    return a[np.lexsort(a.T[::-1])]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("collapse", [True, False])
def test_input_numbering_gives_the_measures_of_the_function_value_numbering(seed, collapse) -> None:
    # issue 22: signed measures keep the caller's vertex numbering (the collapse is faster than on
    # the density-sorted numbering that MMA needs); the Hilbert decomposition and the Euler
    # characteristic do not depend on it: the same atoms and weights, exactly
    rng = np.random.default_rng(seed)
    x = np.concatenate([rng.normal(size=(40, 2)), rng.uniform(-3, 3, size=(8, 2))])
    x[5] = x[6]  # a duplicated point: equal function values, ties in the numbering
    filt = RipsCodensity(0.3)
    for invariant, degrees in (("hilbert", (0, 1)), ("euler", (0,))):
        c = collapse and invariant == "hilbert"
        before = compute_signed_measures(filt.build(x, collapse=c, order_vertices=True), invariant, degrees)
        after = compute_signed_measures(filt.build(x, collapse=c, order_vertices=False), invariant, degrees)
        assert len(before) == len(after)
        for b, a in zip(before, after, strict=True):
            assert len(b[1]) > 0
            np.testing.assert_array_equal(_atoms(b), _atoms(a))


def test_descriptor_features_equal_the_function_value_numbering(clouds) -> None:
    # the descriptor's features against the path it had before (numbering by function value)
    d = ga.create("descriptor", "signed_measure", **PARAMS).fit(clouds)
    F = d.transform(clouds)
    filt = RipsCodensity(0.4)
    res = [8, 8]
    old = np.stack([np.concatenate([convolve_signed_measure(d._scaled(sm), d._vec_box(), res, 0.1).numpy()
                                    for sm in compute_signed_measures(filt.build(c, max_dim=2, order_vertices=True), "hilbert", (0, 1))])
                    for c in clouds])
    np.testing.assert_allclose(F, old, rtol=0, atol=1e-12 * np.abs(old).max())


@pytest.mark.parametrize("res", [[9], [7, 5], [16, 16], [4, 5, 6]])
def test_separable_gaussian_convolution_equals_the_direct_sum(res) -> None:
    # issue 22: the Gaussian image is computed axis by axis; the previous code summed
    # w_k exp(-|g - p_k|^2 / 2 s^2) / (s sqrt(2 pi))^n over the full grid, as here
    n = len(res)
    rng = np.random.default_rng(n)
    pts = torch.tensor(rng.uniform(size=(23, n)))
    w = torch.tensor(rng.integers(-3, 4, size=23).astype(float))
    box = np.stack([np.zeros(n) - 0.1, np.ones(n) + 0.2])
    axes = [np.linspace(box[0, q], box[1, q], res[q]) for q in range(n)]
    grid = np.stack([m.reshape(-1) for m in np.meshgrid(*axes, indexing="ij")], 1)
    s = 0.07
    sq = ((grid[:, None, :] - pts.numpy()[None]) ** 2).sum(-1)
    direct = (np.exp(-sq / (2 * s**2)) / (s * np.sqrt(2 * np.pi)) ** n) @ w.numpy()
    got = convolve_signed_measure((pts, w), box, res, s, "gaussian")
    np.testing.assert_allclose(got.numpy(), direct, rtol=0, atol=1e-13 * np.abs(direct).max())
    assert convolve_signed_measure((pts[:0], w[:0]), box, res, s).shape == (int(np.prod(res)),)
    # gradients reach the points through the separable form as through the direct one
    p = pts.clone().requires_grad_(True)
    g, = torch.autograd.grad(convolve_signed_measure((p, w), box, res, s).pow(2).sum(), p)
    p2 = pts.clone().requires_grad_(True)
    sq_t = ((torch.as_tensor(grid)[:, None, :] - p2[None]) ** 2).sum(-1)
    g2, = torch.autograd.grad(((torch.exp(-sq_t / (2 * s**2)) / (s * np.sqrt(2 * np.pi)) ** n) @ w).pow(2).sum(), p2)
    np.testing.assert_allclose(g.numpy(), g2.numpy(), rtol=1e-10, atol=1e-12 * float(g2.abs().max()))


@pytest.mark.parametrize("invariant", ["hilbert", "euler"])
def test_complex_grid_gives_the_atoms_of_the_sources_grid(clouds, invariant) -> None:
    # issue 22: multipers squeezes the complex onto the values it takes; the previous code squeezed
    # it onto every source value (all pairwise distances) itself. Same atoms, same weights.
    import multipers as mp

    degrees = (0, 1) if invariant == "hilbert" else (0,)
    for c in clouds[:3]:
        bif = RipsCodensity(0.4).build(c, collapse=invariant == "hilbert", order_vertices=False)
        grids = [g.detach().numpy() for g in bif.grids()]
        degs = [None] if invariant == "euler" else list(degrees)
        old = mp.signed_measure(bif.squeezed(grids), degrees=degs, invariant=invariant, coordinate_measure=True, n_jobs=1)
        new = compute_signed_measures(bif, invariant, degrees)
        for (idx, w), sm in zip(old, new, strict=True):
            idx, w = np.asarray(idx, dtype=np.int64).reshape(-1, 2), np.asarray(w, dtype=float)
            keep = (idx < [len(g) for g in grids]).all(1) & (w != 0)
            pts = np.stack([grids[p][idx[keep, p]] for p in range(2)], 1)
            np.testing.assert_array_equal(_atoms((torch.as_tensor(pts), torch.as_tensor(w[keep]))), _atoms(sm))
            assert len(sm[1]) > 0


def test_complex_values_outside_the_sources_fall_back_to_the_sources_grid(clouds) -> None:
    # a complex whose filtration values its sources do not hold (here: sources shifted by 1e-9)
    # is squeezed onto the sources' grid, as before issue 22, instead of being mapped wrongly
    import multipers as mp

    from geoatlas_plugins.multiparameter_persistence.filtrations import Bifiltration

    bif = RipsCodensity(0.4).build(clouds[0], order_vertices=False)
    moved = Bifiltration(bif.complex, [bif.sources[0] + 1e-9, bif.sources[1]])
    grids = [g.detach().numpy() for g in moved.grids()]
    old = mp.signed_measure(moved.squeezed(grids), degrees=[0, 1], invariant="hilbert", coordinate_measure=True, n_jobs=1)
    new = compute_signed_measures(moved, "hilbert", (0, 1))
    for (idx, w), sm in zip(old, new, strict=True):
        idx, w = np.asarray(idx, dtype=np.int64).reshape(-1, 2), np.asarray(w, dtype=float)
        keep = (idx < [len(g) for g in grids]).all(1) & (w != 0)
        pts = np.stack([grids[p][idx[keep, p]] for p in range(2)], 1)
        np.testing.assert_array_equal(_atoms((torch.as_tensor(pts), torch.as_tensor(w[keep]))), _atoms(sm))
