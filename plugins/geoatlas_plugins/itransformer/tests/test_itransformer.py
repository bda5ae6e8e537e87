import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga


def _model(**kw):
    torch.manual_seed(0)
    args = dict(n_channels=5, input_length=24, horizon=8, d_model=32, n_heads=4, e_layers=2, d_ff=48, dropout=0.0)
    args.update(kw)
    return ga.create("encoder", "itransformer", **args).eval()


def copy_into_neuralforecast(ours, nf):
    """Copy our weights into neuralforecast's iTransformer (its module names, our parameters)."""
    with torch.no_grad():
        nf.enc_embedding.value_embedding.weight.copy_(ours.embedding.weight)
        nf.enc_embedding.value_embedding.bias.copy_(ours.embedding.bias)
        for theirs, mine in zip(nf.encoder.attn_layers, ours.layers, strict=True):
            a = theirs.attention
            for tp, mp in ((a.query_projection, mine.q), (a.key_projection, mine.k), (a.value_projection, mine.v), (a.out_projection, mine.out)):
                tp.weight.copy_(mp.weight)
                tp.bias.copy_(mp.bias)
            theirs.conv1.weight.copy_(mine.ff1.weight[:, :, None])
            theirs.conv1.bias.copy_(mine.ff1.bias)
            theirs.conv2.weight.copy_(mine.ff2.weight[:, :, None])
            theirs.conv2.bias.copy_(mine.ff2.bias)
            for tn, mn in ((theirs.norm1, mine.norm1), (theirs.norm2, mine.norm2)):
                tn.weight.copy_(mn.weight)
                tn.bias.copy_(mn.bias)
        nf.encoder.norm.weight.copy_(ours.norm.weight)
        nf.encoder.norm.bias.copy_(ours.norm.bias)
        nf.projector.weight.copy_(ours.projector.weight)
        nf.projector.bias.copy_(ours.projector.bias)


@pytest.mark.parametrize("N,L,S,E,H,K,F,norm", [(7, 96, 24, 64, 8, 2, 128, True), (3, 20, 5, 16, 2, 3, 32, False), (1, 12, 12, 8, 1, 1, 8, True)])
def test_equals_neuralforecast_itransformer_with_copied_weights(N, L, S, E, H, K, F, norm):
    from neuralforecast.models import iTransformer

    ours = _model(n_channels=N, input_length=L, horizon=S, d_model=E, n_heads=H, e_layers=K, d_ff=F, use_norm=norm)
    nf = iTransformer(h=S, input_size=L, n_series=N, hidden_size=E, n_heads=H, e_layers=K, d_ff=F, dropout=0.0,
                      use_norm=norm, max_steps=1)
    nf.eval()
    # random (non-default) LayerNorm affine parameters so the copy of every tensor matters
    with torch.no_grad():
        for p in ours.parameters():
            p.add_(0.05 * torch.randn_like(p))
    copy_into_neuralforecast(ours, nf)
    n_ours = sum(p.numel() for p in ours.parameters())
    assert n_ours == sum(p.numel() for p in nf.parameters())  # nothing left uncopied
    torch.manual_seed(1)
    x = 3.0 * torch.randn(4, L, N) + 1.0
    with torch.no_grad():
        diff = (ours(x) - nf.forecast(x.clone())).abs().max().item()
    assert diff < 1e-5, diff


@settings(max_examples=20, deadline=None)
@given(st.integers(1, 9), st.integers(0, 2**31 - 1))
def test_permuting_channels_permutes_outputs(n, seed):
    m = _model(n_channels=None)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(3, 24, n, generator=g)
    perm = torch.randperm(n, generator=g)
    with torch.no_grad():
        y, yp = m(x), m(x[:, :, perm])
    assert torch.allclose(yp, y[:, :, perm], atol=1e-5, rtol=0)
    md = m.double()
    with torch.no_grad():
        assert (md(x.double()[:, :, perm]) - md(x.double())[:, :, perm]).abs().max() < 1e-12


def test_affine_equivariance_of_the_normalisation():
    m = _model().double()
    torch.manual_seed(3)
    x = torch.randn(2, 24, 5, dtype=torch.float64) * 5
    a = torch.tensor([0.5, 2.0, 3.0, 1.0, 7.0], dtype=torch.float64)
    b = torch.tensor([1.0, -4.0, 0.0, 10.0, 3.0], dtype=torch.float64)
    with torch.no_grad():
        y, ya = m(x), m(a * x + b)
    # exact up to the 1e-5 variance floor, relative to the per-channel variance (>= 1 here)
    assert torch.allclose(ya, a * y + b, atol=1e-4 * float(a.max()), rtol=1e-4)


def test_both_feed_forward_paths_compute_the_same_map():
    m = _model()
    x = torch.randn(3, 24, 5)
    with torch.no_grad():
        y = m(x)
        for layer in m.layers:
            layer.ffn_conv = not layer.ffn_conv
        assert (m(x) - y).abs().max() < 1e-5
    assert _model(d_model=512, d_ff=2048, e_layers=1).layers[0].ffn_conv


def test_shapes_attention_maps_and_any_number_of_variates():
    m = _model(n_channels=None)
    x = torch.randn(2, 24, 11)
    assert m(x).shape == (2, 8, 11)
    maps = m.attention_maps(x)
    assert len(maps) == 2 and maps[0].shape == (2, 4, 11, 11)
    assert torch.allclose(maps[0].sum(-1), torch.ones(2, 4, 11), atol=1e-6)


def test_seasonal_naive_closed_form():
    sn = ga.create("encoder", "seasonal_naive", input_length=10, horizon=7, season=3)
    x = torch.arange(2 * 10 * 2, dtype=torch.float32).reshape(2, 10, 2)
    y = sn(x)
    for h in range(7):
        assert torch.equal(y[:, h], x[:, 7 + h % 3])
    naive = ga.create("encoder", "seasonal_naive", input_length=10, horizon=4, season=1)
    assert torch.equal(naive(x), x[:, -1:].expand(2, 4, 2))
    assert sum(p.numel() for p in sn.parameters()) == 0


def test_coupled_series_is_seeded_and_coupled():
    a = ga.create("dataset", "coupled_series", n_channels=6, length=500, seed=1).load()
    b = ga.create("dataset", "coupled_series", n_channels=6, length=500, seed=1).load()
    assert a.X.shape == (500, 6) and np.array_equal(a.X, b.X) and a.data_type == "series"
    # noise-free: undoing each channel's lag leaves mixtures of the same 3 drivers, a rank-3
    # matrix, while the lagged channels themselves are not (the coupling is through the lags)
    c = ga.create("dataset", "coupled_series", n_channels=6, length=500, max_lag=12, noise=0.0, seed=1).load()
    lags = np.asarray(c.meta["lags"])
    assert lags.max() > lags.min()
    aligned = np.stack([c.X[lags[k] : lags[k] + 480, k] for k in range(6)], 1)
    sv = np.linalg.svd(aligned, compute_uv=False)
    assert sv[3] < 1e-9 * sv[0] and sv[2] > 1e-3 * sv[0]
    sv_raw = np.linalg.svd(c.X[:480], compute_uv=False)
    assert sv_raw[3] > 1e-3 * sv_raw[0]


def test_bad_input_is_refused():
    m = _model()
    with pytest.raises(ValueError, match="input_length"):
        m(torch.randn(2, 23, 5))
    with pytest.raises(ValueError, match="n_channels"):
        m(torch.randn(2, 24, 4))
    with pytest.raises(ValueError, match="shape"):
        m(torch.randn(24, 5))
    with pytest.raises(ValueError, match="NaN|Inf|finite"):
        m(torch.full((2, 24, 5), float("nan")))
    with pytest.raises(ValueError, match="n_heads"):
        ga.create("encoder", "itransformer", d_model=30, n_heads=4)
    with pytest.raises(ValueError, match="dropout"):
        ga.create("encoder", "itransformer", dropout=1.5)
    with pytest.raises(ValueError, match="horizon"):
        ga.create("encoder", "itransformer", horizon=0)
    with pytest.raises(ValueError, match="season"):
        ga.create("encoder", "seasonal_naive", input_length=10, season=11)
    with pytest.raises(ValueError, match="max_lag"):
        ga.create("dataset", "coupled_series", length=10, max_lag=12)
    with pytest.raises(TypeError, match="use_norm"):
        ga.create("encoder", "itransformer", use_norm="yes")


def test_trains_and_is_deterministic():
    data = ga.create("dataset", "coupled_series", n_channels=4, length=300, seed=0).load().X.astype(np.float32)
    L, S = 24, 8
    idx = np.arange(0, 300 - L - S, 4)
    X = torch.as_tensor(np.stack([data[i : i + L] for i in idx]))
    Y = torch.as_tensor(np.stack([data[i + L : i + L + S] for i in idx]))
    losses = []
    for _ in range(2):
        m = _model(n_channels=4).train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        first = None
        for _ in range(30):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(m(X), Y)
            loss.backward()
            opt.step()
            first = first if first is not None else loss.item()
        losses.append((first, loss.item()))
    assert losses[0] == losses[1]
    assert losses[0][1] < 0.7 * losses[0][0]
