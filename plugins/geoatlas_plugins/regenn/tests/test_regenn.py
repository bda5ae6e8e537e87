import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics.pairwise import cosine_similarity

import geoatlas as ga
from geoatlas_plugins.regenn.model import (
    autoregression_loop,
    cooccurrence,
    cooccurrence_loop,
    mix_loop,
    row_cosine,
)


def _model(**kw):
    torch.manual_seed(0)
    args = dict(n_channels=5, input_length=14, horizon=7, dropout=0.0)
    args.update(kw)
    return ga.create("encoder", "regenn", **args)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**31 - 1))
def test_cooccurrence_loop_and_vectorised_agree_exactly(S, W, V, seed):
    g = torch.Generator().manual_seed(seed)
    # integer values (some zero, some negative): every sum is exact in float64, so equality is exact
    x = torch.randint(-3, 6, (S, W, V), generator=g).double()
    assert torch.equal(cooccurrence(x), cooccurrence_loop(x))
    # real values: the same up to the order of the float64 sums
    xr = torch.rand(S, W, V, generator=g, dtype=torch.float64) - 0.3
    assert torch.allclose(cooccurrence(xr), cooccurrence_loop(xr), atol=1e-12, rtol=0)


def test_cooccurrence_closed_form_small_case():
    # one sample, two steps, two variables: A_raw[b, c] = sum_t x[t, b] 1[x[t, c] > 0]
    x = torch.tensor([[[2.0, 0.0], [1.0, 3.0]]], dtype=torch.float64)
    raw = torch.tensor([[3.0, 1.0], [3.0, 3.0]], dtype=torch.float64)
    diag = torch.clamp(2 * torch.diagonal(raw) - raw.sum(1), min=0)  # [2, 0]
    expected = torch.tensor([[2.0, 1.0], [3.0, 0.0]], dtype=torch.float64)
    assert torch.equal(torch.diag(diag), torch.diag(torch.diagonal(expected)))
    assert torch.equal(cooccurrence(x), expected)


@settings(max_examples=20, deadline=None)
@given(st.integers(2, 6), st.integers(0, 2**31 - 1))
def test_mixing_and_autoregression_loops_agree(V, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 4, V, generator=g, dtype=torch.float64)
    m = torch.randn(V, V, generator=g, dtype=torch.float64)
    assert torch.allclose(torch.einsum("ij,stj->sti", m, x), mix_loop(m, x), atol=1e-12, rtol=0)
    w, b = torch.randn(2, 4, generator=g, dtype=torch.float64), torch.randn(2, generator=g, dtype=torch.float64)
    lin = torch.nn.Linear(4, 2).double()
    with torch.no_grad():
        lin.weight.copy_(w)
        lin.bias.copy_(b)
        assert torch.allclose(lin(x.transpose(1, 2)).transpose(1, 2), autoregression_loop(w, b, x), atol=1e-12, rtol=0)


def test_row_cosine_against_sklearn_and_identity_mixing():
    a = torch.randn(6, 6, dtype=torch.float64)
    assert np.abs(row_cosine(a).numpy() - cosine_similarity(a.numpy())).max() < 1e-12
    m = _model().double()
    gse = m.target
    with torch.no_grad():
        gse.w_adj.copy_(torch.eye(5))
        gse.b_adj.zero_()
        gse.w_cos.fill_(1.0)
        gse.b_cos.zero_()
        q, _ = torch.linalg.qr(torch.randn(5, 5, dtype=torch.float64))  # orthogonal rows -> C = I -> identity mixing
        x = torch.randn(2, 3, 5, dtype=torch.float64)
        y, ahat = gse(x, q * torch.tensor([1.0, 2, 3, 4, 5], dtype=torch.float64)[:, None])
    assert torch.allclose(y, x, atol=1e-12)
    assert not ahat.requires_grad


def test_model_forward_in_the_module_equals_the_loop_forms():
    """The vectorised forward, rebuilt stage by stage from the loop references, in float64."""
    m = _model(time_encoder=False).double().eval()
    x = torch.rand(3, 14, 5, dtype=torch.float64)
    m.fit_graph(x.numpy())
    assert torch.allclose(m.adjacency, cooccurrence_loop(x), atol=1e-12)
    with torch.no_grad():
        M, ahat = m.source.mixing(m.adjacency)
        h = m.source.time(mix_loop(M, x).transpose(1, 2))  # (S, V, W)
        g, _ = m.time_gate(h)
        g = (g[..., :7] + g[..., 7:]).transpose(1, 2)
        s, _ = m.sequencer(g)
        M2, _ = m.target.mixing(ahat)
        out = mix_loop(M2, g + s) + autoregression_loop(m.ar.weight, m.ar.bias, x)
        assert torch.allclose(m(x), torch.relu(out), atol=1e-12)


def test_first_epoch_accumulation_equals_fit_graph():
    x = torch.rand(10, 14, 5)
    a = _model().train()
    for i in range(0, 10, 4):
        a(x[i : i + 4])
    a.on_epoch_end(0)
    frozen = a.adjacency.clone()
    a(x[:3])  # after the first epoch the graph no longer changes
    b = _model().fit_graph(x.numpy(), chunk=4)
    assert torch.allclose(a.adjacency, b.adjacency, atol=1e-4) and torch.equal(a.adjacency, frozen)


def test_ablation_and_shapes():
    x = torch.rand(4, 14, 5)
    for kw in ({}, {"ablation": True}, {"bidirectional": False, "time_encoder": False, "autoregression": False}):
        y = _model(**kw)(x)
        assert y.shape == (4, 7, 5) and (y >= 0).all()
    y = _model(output_activation="identity").eval()(x)
    assert y.shape == (4, 7, 5)
    assert sum(p.numel() for p in _model(ablation=True).source.parameters()) > 0  # present, unused


def test_trains_and_is_deterministic():
    X = ga.create("dataset", "evolving_panel", n_channels=5, length=300, seed=0).load().X.astype(np.float32)
    idx = np.arange(0, 300 - 21, 3)
    xs = torch.as_tensor(np.stack([X[i : i + 14] for i in idx]))
    ys = torch.as_tensor(np.stack([X[i + 14 : i + 21] for i in idx]))
    res = []
    for _ in range(2):
        m = _model(time_encoder=False)
        m.fit_graph(xs.numpy())
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        first = None
        for _ in range(25):
            opt.zero_grad()
            loss = (m(xs) - ys).abs().mean()
            loss.backward()
            opt.step()
            first = first if first is not None else loss.item()
        res.append((first, loss.item()))
    assert res[0] == res[1] and res[0][1] < 0.6 * res[0][0]


def test_dataset_is_seeded_nonnegative_and_follows_its_graph():
    a = ga.create("dataset", "evolving_panel", n_channels=6, length=400, noise=0.0, seed=3).load()
    b = ga.create("dataset", "evolving_panel", n_channels=6, length=400, noise=0.0, seed=3).load()
    assert np.array_equal(a.X, b.X) and (a.X >= 0).all()
    G = np.asarray(a.meta["graph"])
    assert np.allclose(G.sum(0), 1.0) and (np.count_nonzero(G, axis=0) == 2).all()
    # noise-free, the recursion is exact: x_{t+1} = relu(x_t (0.6 I + 0.3 G) + drive_t)
    t = 10
    drive = np.zeros(6)
    drive[0] = 0.5 * (1 + np.sin(2 * np.pi * t / 7))
    assert np.allclose(a.X[t + 1], np.maximum(a.X[t] @ (0.6 * np.eye(6) + 0.3 * G) + drive, 0))


def test_bad_input_is_refused():
    m = _model()
    with pytest.raises(ValueError, match="input_length"):
        m(torch.rand(2, 13, 5))
    with pytest.raises(ValueError, match="n_channels"):
        m(torch.rand(2, 14, 4))
    with pytest.raises(ValueError, match="shape"):
        m(torch.rand(14, 5))
    with pytest.raises(ValueError, match="NaN|Inf|finite"):
        m(torch.full((2, 14, 5), float("nan")))
    with pytest.raises(ValueError, match="output_activation"):
        ga.create("encoder", "regenn", output_activation="tanh")
    with pytest.raises(TypeError, match="ablation"):
        ga.create("encoder", "regenn", ablation="no")
    with pytest.raises(ValueError, match="dropout"):
        ga.create("encoder", "regenn", dropout=-0.1)
    with pytest.raises(ValueError, match="decay"):
        ga.create("dataset", "evolving_panel", decay=0.8, strength=0.3)
    with pytest.raises(ValueError, match="degree"):
        ga.create("dataset", "evolving_panel", n_channels=3, degree=3)
