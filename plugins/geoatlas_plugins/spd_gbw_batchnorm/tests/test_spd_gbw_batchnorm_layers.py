"""GBWBN, AIRM BN and the SPDNet layers: normalisation properties, reductions, gradients, errors."""

from __future__ import annotations

import geoopt
import numpy as np
import pytest
import scipy.linalg
import torch

import geoatlas as ga

DT = torch.float64
torch.set_num_threads(1)


def _batch(n: int = 5, k: int = 16, seed: int = 0, cond: float = 1e3) -> torch.Tensor:
    b = ga.create("dataset", "synthetic_spd", n=n, n_samples=k, n_times=4 * n + 8, cond=cond, seed=seed).load()
    return torch.tensor(b.X)


def _bw(n: int):
    return ga.create("manifold", "spd", n=n, metric="bures_wasserstein")


def test_gbwbn_train_output_is_centred_and_unit_dispersion() -> None:
    # BW geometry is not complete: the property holds when every normalised tangent vector U_i
    # keeps I + U_i / 2 positive-definite (Exp_I(U) = (I + U/2)^2 folds otherwise); a moderately
    # conditioned batch satisfies it (checked below), an ill-conditioned outlier may not.
    x = _batch(cond=10.0)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, mean_iters=300, learn_metric=False, eps=0.0, variance_about="mean")
    out = bn(x).detach()
    bw = _bw(5)
    mean = bw.frechet_mean(out, max_iter=1000, tol=1e-14)
    assert float((mean - torch.eye(5, dtype=DT)).abs().max()) < 1e-8
    disp = float(bw.sqdist(out, torch.eye(5, dtype=DT)).mean())
    assert abs(disp - 1.0) < 1e-8
    assert float(torch.linalg.eigvalsh(out).min()) > 0


def test_gbwbn_bias_and_metric_matrix_move_the_mean() -> None:
    """With bias B and general M (theta = 1), the output's GBW_M mean is B and its dispersion s^2."""
    x = _batch(seed=1, cond=10.0)
    g = torch.Generator().manual_seed(5)
    a = torch.randn(5, 5, generator=g, dtype=DT)
    bias = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=DT)
    a = torch.randn(5, 5, generator=g, dtype=DT)
    mm = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=DT)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, mean_iters=300, eps=0.0, variance_about="mean", fold="none")
    with torch.no_grad():
        bn.bias.copy_(bias)
        bn.geom.metric_matrix.copy_(mm)
        bn.shift.fill_(0.7)
    out = bn(x).detach()
    gbw = ga.create("manifold", "spd", n=5, metric="generalized_bures_wasserstein", metric_matrix=mm)
    mean = gbw.frechet_mean(out, max_iter=1000, tol=1e-14)
    assert float((mean - bias).abs().max()) < 1e-7
    assert abs(float(gbw.frechet_variance(out, mean)) - 0.49) < 1e-7


def test_gbwbn_theta_one_identity_metric_is_plain_bw_bn() -> None:
    """M = I, theta = 1: the layer equals BW batch norm computed directly with the bw manifold."""
    x = _batch(seed=2)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, theta=1.0, learn_metric=False, eps=1e-5, variance_about="mean", fold="none")
    out = bn(x).detach()
    bw = _bw(5)
    g = bw.frechet_mean(x, max_iter=1, tol=0.0)
    var = bw.sqdist(x, g).mean()
    v = bw.logmap(g, x)
    lam, q = torch.linalg.eigh(g)
    vt = q.T @ v @ q * torch.sqrt(2 / (lam[:, None] + lam[None, :]))
    u = q @ vt @ q.T / torch.sqrt(var + 1e-5)
    ref = (torch.eye(5, dtype=DT) + u / 2) @ (torch.eye(5, dtype=DT) + u / 2)  # Exp_I(U)
    assert torch.allclose(out, ref, atol=1e-10)


def test_variance_about_identity_is_the_reference_code_variant() -> None:
    x = _batch(seed=2, cond=10.0)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, learn_metric=False, eps=0.0, variance_about="identity")
    bn(x)
    expected = float(_bw(5).sqdist(x, torch.eye(5, dtype=DT)).mean())
    assert abs(float(bn.running_var) - (0.9 + 0.1 * expected)) < 1e-10
    with pytest.raises(ValueError, match="variance_about"):
        ga.create("encoder", "spd_gbw_batchnorm", n=5, variance_about="batch")


def test_theta_deformation_matches_power_chart() -> None:
    x = _batch(seed=3, cond=10.0)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, theta=0.5, learn_metric=False, mean_iters=200, eps=0.0, variance_about="mean")
    out = bn(x).detach()
    # out^theta is the plain BW-normalised batch of x^theta: BW mean I
    lam, q = torch.linalg.eigh(out)
    outp = q @ torch.diag_embed(lam**0.5) @ q.transpose(-1, -2)
    mean = _bw(5).frechet_mean(outp, max_iter=1000, tol=1e-14)
    assert float((mean - torch.eye(5, dtype=DT)).abs().max()) < 1e-7


def test_running_stats_follow_bw_geodesic_and_eval_uses_them() -> None:
    x = _batch(seed=4)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, momentum=0.25, learn_metric=False)
    bn(x)
    bw = _bw(5)
    g = bw.frechet_mean(x, max_iter=1, tol=0.0)
    expected = bw.geodesic(torch.eye(5, dtype=DT), g, 0.25)
    assert torch.allclose(bn.running_mean, expected, atol=1e-10)
    bn.eval()
    a = bn(x[:3])
    b = bn(x[:5])[:3]
    assert torch.allclose(a, b, atol=1e-12)  # eval mode: per-sample, batch-independent


def test_airm_bn_centres_to_bias() -> None:
    x = _batch(seed=5)
    bn = ga.create("encoder", "spd_airm_batchnorm", n=5, mean_iters=100)
    g = torch.Generator().manual_seed(2)
    a = torch.randn(5, 5, generator=g, dtype=DT)
    bias = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=DT)
    with torch.no_grad():
        bn.bias.copy_(bias)
    out = bn(x).detach()
    airm = ga.create("manifold", "spd", n=5)
    mean = airm.frechet_mean(out, max_iter=500, tol=1e-13)
    assert float((mean - bias).abs().max()) < 1e-8


def test_spdnet_layers_and_gradcheck() -> None:
    torch.manual_seed(0)
    x = _batch(n=5, k=6, seed=6)
    bimap = ga.create("encoder", "spd_bimap", n=5, out_n=3)
    assert isinstance(bimap.weight, geoopt.ManifoldParameter)
    w = bimap.weight.detach()
    assert torch.allclose(w.T @ w, torch.eye(3, dtype=DT), atol=1e-12)
    reeig = ga.create("encoder", "spd_reeig", n=3, eps=1e-2)
    logeig = ga.create("encoder", "spd_logeig", n=3)
    y = reeig(bimap(x))
    assert float(torch.linalg.eigvalsh(y).min()) >= 1e-2 - 1e-12
    assert logeig(y).shape == (6, 9)
    gbw = ga.create("encoder", "spd_gbw_batchnorm", n=3, theta=0.5)
    airm = ga.create("encoder", "spd_airm_batchnorm", n=3)
    xs = x.detach().requires_grad_(True)

    def sym(a: torch.Tensor) -> torch.Tensor:
        return 0.5 * (a + a.transpose(-1, -2))

    for bn in (gbw, airm):
        bn(bimap(x))  # one training batch: non-trivial running statistics
        bn.eval()  # batch statistics are detached in train mode (as in the reference code)
        assert torch.autograd.gradcheck(lambda a, bn=bn: logeig(reeig(bn(bimap(sym(a))))), (xs[:3],), atol=1e-6)
        bn.train()
    # gradients reach the learnable metric matrix, the bias, the shift and the Stiefel weights
    loss = logeig(gbw(bimap(x))).pow(2).sum()
    loss.backward()
    for p in (gbw.geom.metric_matrix, gbw.bias, gbw.shift, bimap.weight):
        assert p.grad is not None and torch.isfinite(p.grad).all() and float(p.grad.abs().max()) > 0


@pytest.mark.parametrize("bn", ["none", "airm", "gbw"])
def test_spdnet_trains_with_riemannian_adam(bn: str) -> None:
    torch.manual_seed(0)
    data = ga.create("dataset", "synthetic_spd", n=8, n_samples=48, n_times=40, seed=1).load()
    x, y = torch.tensor(data.X, dtype=torch.float32), torch.tensor(data.y)
    net = ga.create("encoder", "spdnet", n=8, num_classes=2, hidden=[4], bn=bn, theta=0.5)
    opt = geoopt.optim.RiemannianAdam(net.parameters(), lr=3e-2, stabilize=10)
    losses = []
    for _ in range(15):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(net(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    w = net.features[0].weight.detach()
    assert torch.allclose(w.T @ w, torch.eye(4, dtype=DT), atol=1e-8)  # stayed on the Stiefel manifold
    net.eval()
    assert net(x).shape == (48, 2)


def test_dataset_is_ill_conditioned_and_deterministic() -> None:
    a = ga.create("dataset", "synthetic_spd", n_samples=20, seed=3).load()
    b = ga.create("dataset", "synthetic_spd", n_samples=20, seed=3).load()
    assert np.array_equal(a.X, b.X) and a.data_type == "spd" and a.X.shape == (20, 16, 16)
    assert np.median(np.linalg.cond(a.X)) > 1e4
    assert np.linalg.eigvalsh(a.X).min() > 0


def test_bad_input() -> None:
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=4)
    with pytest.raises(ValueError, match="4 x 4"):
        bn(torch.eye(3, dtype=DT).expand(2, 3, 3))
    with pytest.raises(ValueError, match="NaN"):
        bn(torch.full((2, 4, 4), float("nan"), dtype=DT))
    with pytest.raises(ValueError, match="empty"):
        bn(torch.zeros(0, 4, 4, dtype=DT))
    with pytest.raises(ValueError, match="shape"):
        bn(torch.eye(4, dtype=DT))
    with pytest.raises(TypeError):
        bn(np.eye(4)[None])
    with pytest.raises(ValueError, match="theta"):
        ga.create("encoder", "spd_gbw_batchnorm", n=4, theta=-1.0)
    with pytest.raises(ValueError, match="momentum"):
        ga.create("encoder", "spd_gbw_batchnorm", n=4, momentum=2.0)
    with pytest.raises(ValueError, match="bn"):
        ga.create("encoder", "spdnet", n=4, bn="batch")
    with pytest.raises(ValueError, match="out_n"):
        ga.create("encoder", "spd_bimap", n=4, out_n=6)
    with pytest.raises(ValueError, match="dtype"):
        ga.create("encoder", "spd_reeig", n=4, dtype="float16")
    with pytest.raises(ValueError, match="n_times"):
        ga.create("dataset", "synthetic_spd", n=8, n_times=8)


# ---------------------------------------------------------------------------- the authors' computation
def _npow(a: np.ndarray, p: float) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * w**p) @ v.T


def _nabs(a: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(a)
    return (v * np.abs(w)) @ v.T


def _reference_gbwbn(X: np.ndarray, M: np.ndarray, B: np.ndarray, theta: float, shift: float, eps: float) -> tuple[np.ndarray, int]:
    """The GBWBN training forward as the authors' code computes it, written out in numpy/scipy from
    the maths (chart, one BW fixed-point step from the arithmetic mean, variance about I / theta^2,
    BW Log at G, transport to I in G's eigenbasis, Exp_I/Log_I round trip, scaling, round trip,
    transport to phi(B), BW Exp by a Lyapunov solve, chart back). Returns (output, #folded)."""
    n = len(M)
    eye = np.eye(n)
    mi, mr = _npow(M, -0.5), _npow(M, 0.5)
    Y = np.stack([mi @ _npow(x, theta) @ mi for x in X])
    Bc = mi @ _npow(B, theta) @ mi
    G0 = Y.mean(0)
    r0, ri0 = _npow(G0, 0.5), _npow(G0, -0.5)
    H = np.mean([_npow(r0 @ y @ r0, 0.5) for y in Y], axis=0)
    G = ri0 @ H @ H @ ri0
    var = np.mean([np.trace(y) + n - 2 * np.trace(_npow(y, 0.5)) for y in Y]) / theta**2
    rg, rgi = _npow(G, 0.5), _npow(G, -0.5)
    g, q = np.linalg.eigh(G)
    b, pb = np.linalg.eigh(Bc)
    out, folded = [], 0
    for y in Y:
        c = rg @ _npow(rg @ y @ rg, 0.5) @ rgi
        v = c + c.T - 2 * G
        u = q @ ((q.T @ v @ q) * np.sqrt(2 / (g[:, None] + g[None, :]))) @ q.T
        folded += int(np.linalg.eigvalsh(eye + u / 2).min() <= 0)
        u = 2 * _nabs(eye + u / 2) - 2 * eye
        u = u * shift / np.sqrt(var + eps)
        folded += int(np.linalg.eigvalsh(eye + u / 2).min() <= 0)
        u = 2 * _nabs(eye + u / 2) - 2 * eye
        w = pb @ ((pb.T @ u @ pb) * np.sqrt((b[:, None] + b[None, :]) / 2)) @ pb.T
        lyap = scipy.linalg.solve_continuous_lyapunov(Bc, w)
        z = Bc + w + lyap @ Bc @ lyap
        out.append(_npow(mr @ z @ mr, 1.0 / theta))
    return np.stack(out), folded


@pytest.mark.parametrize(("theta", "cond", "shift"), [(1.0, 10.0, 0.7), (0.5, 10.0, 0.7), (1.0, 1e5, 6.0), (0.5, 1e5, 3.0)])
def test_default_gbwbn_is_the_authors_computation(theta: float, cond: float, shift: float) -> None:
    """Defaults (variance about I, the Exp_I/Log_I folds, one barycenter step) against an independent
    numpy transcription of the authors' forward; the last cases make I + U/2 indefinite for some
    samples, where the folds matter. (The former default, variance about the batch mean, differed
    from the authors' output by O(1).)"""
    x = _batch(seed=7, cond=cond)
    g = torch.Generator().manual_seed(11)
    a = torch.randn(5, 5, generator=g, dtype=DT)
    bias = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=DT)
    a = torch.randn(5, 5, generator=g, dtype=DT)
    mm = a @ a.T / 5 + 0.5 * torch.eye(5, dtype=DT)
    bn = ga.create("encoder", "spd_gbw_batchnorm", n=5, theta=theta)
    assert (bn.variance_about, bn.fold, bn.mean_iters, bn.eps) == ("identity", "reference", 1, 1e-5)
    with torch.no_grad():
        bn.bias.copy_(bias)
        bn.geom.metric_matrix.copy_(mm)
        bn.shift.fill_(shift)
        out = bn(x).numpy()
    ref, folded = _reference_gbwbn(x.numpy(), mm.numpy(), bias.numpy(), theta, shift, 1e-5)
    err = np.abs(out - ref).max() / np.abs(ref).max()
    assert err < (1e-10 if cond < 1e3 else 1e-8), err  # relative; the 1e5 batches lose digits in X^theta
    if shift > 5:
        assert folded > 0  # the folds were exercised
        nofold = ga.create("encoder", "spd_gbw_batchnorm", n=5, theta=theta, fold="none")
        with torch.no_grad():
            nofold.bias.copy_(bias)
            nofold.geom.metric_matrix.copy_(mm)
            nofold.shift.fill_(shift)
            assert np.abs(nofold(x).numpy() - ref).max() > 1e-3


def test_eigenbasis_transport_equals_the_kronecker_operator_and_its_gradient() -> None:
    from geoatlas_plugins.spd_gbw_batchnorm.layers import bw_tangent_transport

    n = 4
    eye = torch.eye(n, dtype=DT)
    spd = ga.create("manifold", "spd", n=n * n)

    def kron_route(p: torch.Tensor, v: torch.Tensor, power: float) -> torch.Tensor:  # the O(n^6) operator
        op = 0.5 * (torch.kron(p, eye) + torch.kron(eye, p))
        return (spd.matrix_function(op, "pow", power) @ v.reshape(*v.shape[:-2], n * n, 1)).reshape(v.shape)

    g = torch.Generator().manual_seed(3)
    a = torch.randn(n, n, generator=g, dtype=DT)
    for p in (a @ a.T / n + 0.3 * eye, eye.clone(), torch.diag(torch.tensor([1.0, 1.0, 2.0, 3.0], dtype=DT))):
        v = torch.randn(6, n, n, generator=g, dtype=DT)
        v = v + v.transpose(-1, -2)
        for power in (-0.5, 0.5):
            assert torch.allclose(bw_tangent_transport(p, v, power), kron_route(p, v, power), atol=1e-12)
            pp, vv = p.clone().requires_grad_(True), v.clone().requires_grad_(True)
            w = torch.randn(6, n, n, generator=g, dtype=DT)
            (bw_tangent_transport(pp, vv, power) * w).sum().backward()
            gp, gv = pp.grad.clone(), vv.grad.clone()
            pp.grad = vv.grad = None
            (kron_route(0.5 * (pp + pp.T), vv, power) * w).sum().backward()
            assert torch.allclose(gv, vv.grad, atol=1e-10)
            assert torch.allclose(0.5 * (gp + gp.T), 0.5 * (pp.grad + pp.grad.T), atol=1e-10)  # finite at p = I too
    p = (a @ a.T / n + 0.3 * eye).requires_grad_(True)
    v = torch.randn(2, n, n, generator=g, dtype=DT)
    v = (v + v.transpose(-1, -2)).requires_grad_(True)
    assert torch.autograd.gradcheck(lambda p, v: bw_tangent_transport(0.5 * (p + p.T), v, -0.5), (p, v))


def test_non_spd_input_is_refused_by_every_spd_layer() -> None:
    """Before: torch's _LinAlgError (eigh failed to converge) from GBWBN, AIRM BN and SPDNet, NaN from LogEig."""
    x = _batch(n=4, k=6, seed=8).clone()
    x[2] = torch.diag(torch.tensor([1.0, -0.5, 2.0, 1.0], dtype=DT))
    layers = {
        "spd_gbw_batchnorm": dict(n=4),
        "spd_airm_batchnorm": dict(n=4),
        "spd_logeig": dict(n=4),
        "spd_bimap": dict(n=4, out_n=2),
        "spdnet": dict(n=4, num_classes=2, hidden=[2]),
    }
    for name, params in layers.items():
        layer = ga.create("encoder", name, **params)
        with pytest.raises(ValueError, match="positive-definite: matrix 2 has smallest eigenvalue -5"):
            layer(x)
        asym = _batch(n=4, k=3, seed=9).clone()
        asym[1, 0, 3] += 1.0
        with pytest.raises(ValueError, match="symmetric: matrix 1"):
            layer(asym)
        with pytest.raises(TypeError, match="floating"):
            layer(torch.ones(2, 4, 4, dtype=torch.int64))
    # ReEig is defined for any symmetric matrix: it is what makes an indefinite one SPD
    out = ga.create("encoder", "spd_reeig", n=4, eps=1e-3)(x)
    assert float(torch.linalg.eigvalsh(out).min()) >= 1e-3 - 1e-12


def test_spdnet_passes_the_gbwbn_options() -> None:
    net = ga.create("encoder", "spdnet", n=6, hidden=[4], variance_about="mean", fold="none", mean_iters=3, bn_eps=1e-3)
    bn = net.features[1]
    assert (bn.variance_about, bn.fold, bn.mean_iters, bn.eps) == ("mean", "none", 3, 1e-3)
    default = ga.create("encoder", "spdnet", n=6, hidden=[4]).features[1]
    assert (default.variance_about, default.fold, default.mean_iters, default.eps) == ("identity", "reference", 1, 1e-5)
    with pytest.raises(ValueError, match="fold"):
        ga.create("encoder", "spdnet", n=6, hidden=[4], fold="twice")
