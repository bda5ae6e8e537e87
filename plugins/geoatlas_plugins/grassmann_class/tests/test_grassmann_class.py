"""GCR: O(k) invariance, geoopt Stiefel gradient = Grassmann horizontal gradient, geodesic
(principal angles vs scipy.linalg.subspace_angles), k = 1 limit, optimiser, errors."""

import geoopt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.linalg import subspace_angles

import geoatlas as ga
from geoatlas_plugins.grassmann_class.gcr import (
    GrassmannSGD,
    grassmann_geodesic,
    horizontal,
    random_stiefel,
)


def _head(k=4, D=12, C=5, **kw):
    torch.manual_seed(0)
    head = ga.create("encoder", "gcr_head", in_features=D, num_classes=C, k=k, **kw).double()
    with torch.no_grad():  # re-orthonormalise in float64
        head.S.copy_(torch.linalg.qr(head.S)[0])
    return head


def _loss_grad(head, x, y):
    head.S.grad = None
    F.cross_entropy(head(x), y).backward()
    return head.S.grad.clone()


def test_invariance_under_Ok():
    head = _head()
    x = torch.randn(9, 12, dtype=torch.float64)
    out = head(x)
    Q = torch.stack([torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64))[0] for _ in range(5)])
    with torch.no_grad():
        head.S.copy_(head.S @ Q)
    assert float((head(x) - out).abs().max()) < 1e-12


@pytest.mark.parametrize("manifold", [geoopt.EuclideanStiefel(), geoopt.CanonicalStiefel()])
def test_geoopt_stiefel_gradient_is_grassmann_horizontal(manifold):
    head = _head()
    x, y = torch.randn(16, 12, dtype=torch.float64), torch.arange(16) % 5
    G = _loss_grad(head, x, y)
    S = head.S.detach()
    StG = S.transpose(-1, -2) @ G
    assert float((StG - StG.transpose(-1, -2)).abs().max()) < 1e-12  # S^T G symmetric for this loss
    rgrad = manifold.egrad2rgrad(S, G)
    assert float((rgrad - horizontal(S, G)).abs().max()) < 1e-12
    assert float((head.manifold.egrad2rgrad(S, G) - horizontal(S, G)).abs().max()) < 1e-12


def test_geodesic_principal_angles_match_scipy():
    g = torch.Generator().manual_seed(1)
    S = random_stiefel(20, 3, generator=g, dtype=torch.float64)
    H = horizontal(S, 0.3 * torch.randn(20, 3, generator=g, dtype=torch.float64))
    S1 = grassmann_geodesic(S, H)
    assert float((S1.T @ S1 - torch.eye(3, dtype=torch.float64)).abs().max()) < 1e-12
    angles = np.sort(subspace_angles(S.numpy(), S1.numpy()))
    sig = np.sort(torch.linalg.svdvals(H).numpy())
    assert np.abs(angles - sig).max() < 1e-10  # the geodesic moves by exactly the singular values
    # and the SVD of S^T S1 gives the same principal angles
    cosines = np.sort(np.arccos(np.clip(torch.linalg.svdvals(S.T @ S1).numpy(), -1, 1)))
    assert np.abs(cosines - angles).max() < 1e-7
    # first order: geodesic(S, tH) = S + t H + O(t^2)
    for t in (1e-2, 1e-3):
        err = float((grassmann_geodesic(S, H, t) - (S + t * H)).abs().max())
        assert err < 5 * t * t


def test_k1_is_absolute_cosine_head():
    head = _head(k=1)
    x = torch.randn(7, 12, dtype=torch.float64)
    s = head.S[:, :, 0]
    ref = 25.0 * (F.normalize(x, dim=1) @ F.normalize(s, dim=1).T).abs()
    assert float((head(x) - ref).abs().max()) < 1e-12


@pytest.mark.parametrize("opt", ["geoopt", "paper"])
def test_optimisers_stay_on_manifold_and_learn(opt):
    head = _head(k=2, D=12, C=3, hidden=[16])
    g = torch.Generator().manual_seed(0)
    x = torch.randn(60, 12, generator=g, dtype=torch.float64)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    o = geoopt.optim.RiemannianSGD(head.parameters(), lr=0.05, momentum=0.9, stabilize=10) if opt == "geoopt" else GrassmannSGD(head.parameters(), lr=0.05)
    first = None
    for _ in range(60):
        o.zero_grad()
        loss = F.cross_entropy(head(x), y)
        first = first if first is not None else float(loss)
        loss.backward()
        o.step()
        StS = head.S.transpose(-1, -2) @ head.S
        assert float((StS - torch.eye(2, dtype=torch.float64)).abs().max()) < 1e-10
    assert float(loss) < 0.7 * first


def test_grassmann_sgd_is_the_papers_update():
    # the paper's RSGD, written per class in block form: buf <- mu buf + G (raw gradient, no weight
    # decay on S); H = buf - S S^T buf = U diag(s) V^T; S <- [S V, U] [diag cos(-lr s); diag sin(-lr s)] V^T
    head = _head(k=3, D=10, C=4)
    x, y = torch.randn(20, 10, dtype=torch.float64), torch.arange(20) % 4
    lr, mu = 0.07, 0.9
    opt = GrassmannSGD([head.S], lr=lr, momentum=mu, weight_decay=0.5, qr_every=100)
    S_ref, buf = head.S.detach().clone(), None
    for _ in range(3):
        G = _loss_grad(head, x, y)
        buf = G.clone() if buf is None else mu * buf + G
        new = []
        for c in range(4):
            S, B = S_ref[c], buf[c]
            H = B - S @ (S.T @ B)
            U, sv, Vt = torch.linalg.svd(H, full_matrices=False)
            trig = torch.cat((torch.diag(torch.cos(-lr * sv)), torch.diag(torch.sin(-lr * sv))), 0)
            new.append(torch.cat((S @ Vt.T, U), 1) @ trig @ Vt)
        S_ref = torch.stack(new)
        opt.step()
        assert float((head.S.detach() - S_ref).abs().max()) < 1e-12
    # a wrong rule (weight decay on S, or the step sign flipped) is far from it
    assert float((grassmann_geodesic(S_ref, horizontal(S_ref, buf), lr) - S_ref).abs().max()) > 1e-3


def test_bad_input():
    with pytest.raises(ValueError, match="k=9"):
        ga.create("encoder", "gcr_head", in_features=8, num_classes=3, k=9)
    with pytest.raises((ValueError, TypeError), match="gamma"):
        ga.create("encoder", "gcr_head", in_features=8, num_classes=3, gamma=-1.0)
    head = ga.create("encoder", "gcr_head", in_features=8, num_classes=3, k=2)
    with pytest.raises(ValueError, match="in_features"):
        head(torch.randn(2, 7))
    with pytest.raises(ValueError, match="NaN"):
        head(torch.full((2, 8), float("inf")))
    with pytest.raises(ValueError, match="lr"):
        GrassmannSGD(head.parameters(), lr=-1.0)
