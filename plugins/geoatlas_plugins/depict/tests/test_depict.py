import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.depict.depict import depict_objective, depict_target


def _random_p(n, k, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.softmax(2 * torch.randn(n, k, generator=g, dtype=torch.float64), 1)


def test_sqrt_target_against_the_numerical_minimiser():
    """The paper's sqrt target solves the stationarity condition q ~ p / f(Q) of
    KL(Q||P) + KL(f||u) with the row normalisers treated as equal: it is close to, not equal to,
    the exact minimiser, and much closer than the code's square target."""
    from scipy.optimize import minimize

    P = _random_p(50, 5, 0)

    def obj(theta):
        t = torch.tensor(theta, dtype=torch.float64, requires_grad=True)
        v = depict_objective(torch.softmax(t.view(50, 5), 1), P)
        v.backward()
        return float(v.detach()), t.grad.numpy().copy()

    res = minimize(obj, torch.log(P).numpy().ravel(), jac=True, method="L-BFGS-B",
                   options={"maxiter": 5000, "gtol": 1e-12, "ftol": 1e-15})
    Q_num = torch.softmax(torch.tensor(res.x).view(50, 5), 1)
    # the minimiser is the exact fixed point q_ik ~ p_ik / f_k(Q)
    fixed = P / Q_num.mean(0, keepdim=True)
    assert float((Q_num - fixed / fixed.sum(1, keepdim=True)).abs().max()) < 1e-6
    Q_sqrt, Q_sq = depict_target(P, "sqrt"), depict_target(P, "square")
    gap_sqrt = float(depict_objective(Q_sqrt, P)) - res.fun
    gap_sq = float(depict_objective(Q_sq, P)) - res.fun
    assert 0 <= gap_sqrt < 1e-3 and gap_sq > 10 * gap_sqrt
    assert float((Q_num - Q_sqrt).abs().max()) < 2e-2  # measured 1.25e-2
    assert float((Q_num - Q_sq).abs().max()) > float((Q_num - Q_sqrt).abs().max())


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 20), st.integers(2, 6), st.sampled_from(["sqrt", "square"]), st.integers(0, 1000))
def test_targets_are_row_stochastic(n, k, kind, seed):
    Q = depict_target(_random_p(n, k, seed), kind)
    assert (Q >= 0).all()
    assert torch.allclose(Q.sum(1), torch.ones(n, dtype=torch.float64), atol=1e-12)


def test_balanced_target_with_a_dominant_cluster():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(200, 4, generator=g, dtype=torch.float64)
    logits[:, 0] += 2.0  # cluster 0 dominates
    P = torch.softmax(logits, 1)
    for kind in ("sqrt", "square"):
        Q = depict_target(P, kind)
        assert Q.mean(0).max() < P.mean(0).max()  # less mass on the dominant cluster
        assert Q.mean(0).std() < P.mean(0).std()


def test_training_flow_head_init_and_targets():
    torch.manual_seed(0)
    enc = ga.create("encoder", "depict", in_channels=1, num_classes=3, channels=[8, 8], pretrain_epochs=1)
    loss = ga.create("loss", "depict_loss", pretrain_epochs=1)
    x = torch.rand(30, 1, 8, 8)
    enc.train()
    out = enc(x)
    assert out["recon"].shape == x.shape
    assert [h.shape for h in out["hidden_recon"]] == [h.shape for h in out["hidden_clean"]]
    v0 = loss(out, {"index": torch.arange(30), "epoch": 0})
    assert torch.allclose(v0, loss.reconstruction(out))  # pre-training: reconstruction only
    enc.on_epoch_end(0)
    loss.on_epoch_end(0)
    w = enc.head.weight
    assert torch.allclose(w.norm(dim=1), torch.ones(3), atol=1e-6) and torch.equal(enc.head.bias, torch.zeros(3))
    out = enc(x)
    v1 = loss(out, {"index": torch.arange(30), "epoch": 1})
    q = depict_target(out["clean_probs"].double(), "sqrt").float()
    want = -(q * torch.log_softmax(out["logits"], 1)).sum(1).mean() + loss.reconstruction(out)
    assert torch.allclose(v1, want, atol=1e-5)
    loss.on_epoch_end(1)
    assert loss.Q.shape == (30, 3) and torch.allclose(loss.Q.sum(1), torch.ones(30), atol=1e-5)
    # state (targets) round-trips into a fresh loss, whatever the data size
    fresh = ga.create("loss", "depict_loss", pretrain_epochs=1)
    fresh.load_state_dict(loss.state_dict())
    assert torch.equal(fresh.Q, loss.Q)
    enc.eval()
    assert enc(x).shape == (30, 3)


def test_hungarian_accuracy_helper():
    from geoatlas_plugins.depict.reproduce import accuracy

    y = np.array([0, 0, 1, 1, 2, 2])
    assert accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0
    assert accuracy(y, np.array([0, 1, 1, 1, 2, 2])) == pytest.approx(5 / 6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="target"):
        depict_target(_random_p(3, 2, 0), "cube")
    with pytest.raises(ValueError, match="non-empty"):
        depict_target(torch.zeros(0, 3))
    with pytest.raises(ValueError, match="target"):
        ga.create("loss", "depict_loss", target="cube")
    with pytest.raises(ValueError, match="kernel"):
        ga.create("encoder", "depict", in_channels=1, num_classes=3, kernel=4)
    with pytest.raises(ValueError, match="dropout"):
        ga.create("encoder", "depict", in_channels=1, num_classes=3, dropout=1.5)
    enc = ga.create("encoder", "depict", in_channels=1, num_classes=3)
    with pytest.raises(ValueError, match="expects images"):
        enc(torch.rand(2, 1, 9, 9))
    with pytest.raises(ValueError, match="NaN"):
        enc(torch.full((2, 1, 8, 8), float("nan")))
    loss = ga.create("loss", "depict_loss")
    with pytest.raises(TypeError, match="training-mode output"):
        loss(torch.rand(2, 3), {})
    enc.train()
    with pytest.raises(ValueError, match="index"):
        loss(enc(torch.rand(4, 1, 8, 8)), {"epoch": 0})
