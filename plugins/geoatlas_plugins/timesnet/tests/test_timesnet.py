import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas_plugins.timesnet.model import TimesBlock, fft_periods


def copy_block(ours: TimesBlock, theirs) -> None:
    """Copy our TimesBlock's Inception convolutions into neuralforecast's (same layout)."""
    with torch.no_grad():
        for mine, ref in ((ours.conv[0], theirs.conv[0]), (ours.conv[2], theirs.conv[2])):
            for a, b in zip(mine.kernels, ref.kernels, strict=True):
                b.weight.copy_(a.weight)
                b.bias.copy_(a.bias)


@pytest.mark.parametrize("L,H,C,F,k,nk", [(96, 24, 16, 32, 5, 6), (30, 7, 4, 8, 3, 2), (50, 50, 8, 8, 1, 3)])
def test_timesblock_equals_neuralforecast_with_copied_weights(L, H, C, F, k, nk):
    from neuralforecast.models.timesnet import TimesBlock as NFTimesBlock

    torch.manual_seed(0)
    ours = TimesBlock(C, F, k, nk)
    with torch.no_grad():
        for conv in ours.conv[0].kernels:
            conv.bias.normal_()  # non-zero biases so their copy matters
    theirs = NFTimesBlock(input_size=L, h=H, k=k, hidden_size=C, conv_hidden_size=F, num_kernels=nk)
    copy_block(ours, theirs)
    x = torch.randn(4, L + H, C)
    with torch.no_grad():
        diff = (ours(x) - theirs(x)).abs().max().item()
    assert diff < 1e-6, diff


def test_univariate_model_equals_neuralforecast_timesnet():
    from neuralforecast.models import TimesNet as NFTimesNet

    L, H = 48, 12
    torch.manual_seed(0)
    ours = ga.create("encoder", "timesnet", n_channels=1, input_length=L, horizon=H, d_model=16, d_ff=16, top_k=3,
                     num_kernels=3, e_layers=2, dropout=0.0, use_norm=False).eval()
    nf = NFTimesNet(h=H, input_size=L, hidden_size=16, conv_hidden_size=16, top_k=3, num_kernels=3, encoder_layers=2,
                    dropout=0.0, max_steps=1).eval()
    with torch.no_grad():
        nf.enc_embedding.value_embedding.tokenConv.weight.copy_(ours.token.weight)
        for a, b in zip(ours.blocks, nf.model, strict=True):
            copy_block(a, b)
        for name in ("predict_linear", "layer_norm", "projection"):
            getattr(nf, name).weight.copy_(getattr(ours, name).weight)
            getattr(nf, name).bias.copy_(getattr(ours, name).bias)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in nf.parameters())
    x = torch.randn(5, L, 1)
    with torch.no_grad():
        ref = nf({"insample_y": x, "futr_exog": torch.zeros(5, L + H, 0)})
        diff = (ours(x) - ref).abs().max().item()
    assert diff < 1e-5, diff


def test_fft_finds_known_periods():
    t = torch.arange(96, dtype=torch.float64)
    x = (torch.sin(2 * np.pi * t / 24) + 0.5 * torch.sin(2 * np.pi * t / 8))[None, :, None]
    periods, weights, freqs = fft_periods(x, 2)
    assert list(periods) == [24, 8] and list(freqs) == [4, 12]
    assert weights[0, 0] > weights[0, 1]
    # floor, not ceiling: T = 100 and frequency 3 gives 33
    x = torch.sin(2 * np.pi * 3 * torch.arange(100.0) / 100)[None, :, None]
    assert int(fft_periods(x, 1)[0][0]) == 33
    m = ga.create("measure", "fft_periods", k=2)
    out = m(data={"X": (5 + torch.sin(2 * np.pi * t / 24) + 0.5 * torch.sin(2 * np.pi * t / 8)).numpy()})
    assert out["periods"] == [24, 8] and out["frequencies"] == [4, 12]


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([2, 3, 4, 6, 8, 12, 16, 24, 32]), st.sampled_from([2, 3, 4, 6, 8, 12, 16, 24, 32]), st.floats(0, 6.28))
def test_fft_periods_property(f1, f2, phase):
    """Two sinusoids at integer frequencies of T = 192: the periods found are T // f (strongest first)."""
    if f1 == f2:
        f2 = f1 + 1
    T = 192
    t = torch.arange(T, dtype=torch.float64)
    x = (torch.sin(2 * np.pi * f1 * t / T + phase) + 0.4 * torch.cos(2 * np.pi * f2 * t / T))[None, :, None]
    periods, _, freqs = fft_periods(x, 2)
    assert list(freqs) == [f1, f2]
    assert list(periods) == [T // f1, T // f2]


def test_fold_round_trip_and_identity_with_zero_weights():
    torch.manual_seed(0)
    blk = TimesBlock(6, 8, 3, 2)
    x = torch.randn(2, 37, 6)
    for p in (1, 5, 7, 37):
        z = blk.fold(x, p)
        assert z.shape == (2, 6, -(-37 // p), p)
        assert torch.equal(blk.unfold(z, 37), x)
    with torch.no_grad():
        for m in blk.modules():
            if isinstance(m, torch.nn.Conv2d):
                m.weight.zero_()
                m.bias.zero_()
    assert torch.equal(blk(x), x)


def test_forecaster_shapes_training_and_determinism():
    t = np.arange(400)
    series = np.stack([np.sin(2 * np.pi * t / 12), np.cos(2 * np.pi * t / 20)], 1).astype(np.float32)
    L, H = 36, 12
    idx = np.arange(0, 400 - L - H, 3)
    X = torch.as_tensor(np.stack([series[i : i + L] for i in idx]))
    Y = torch.as_tensor(np.stack([series[i + L : i + L + H] for i in idx]))
    out = []
    for _ in range(2):
        torch.manual_seed(0)
        m = ga.create("encoder", "timesnet", n_channels=2, input_length=L, horizon=H, d_model=8, d_ff=8, top_k=2, num_kernels=2)
        assert m(X[:3]).shape == (3, H, 2)
        opt = torch.optim.Adam(m.parameters(), lr=3e-3)
        first = None
        for _ in range(15):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(m(X), Y)
            loss.backward()
            opt.step()
            first = first if first is not None else loss.item()
        out.append((first, loss.item()))
    assert out[0] == out[1] and out[0][1] < 0.5 * out[0][0]


def test_fixed_period_one_is_one_dimensional():
    torch.manual_seed(0)
    m = ga.create("encoder", "timesnet", n_channels=2, input_length=24, horizon=8, d_model=8, d_ff=8, top_k=1,
                  num_kernels=2, fixed_periods=[1]).eval()
    assert m.blocks[0].fold(torch.randn(1, 32, 8), 1).shape == (1, 8, 32, 1)
    assert m(torch.randn(3, 24, 2)).shape == (3, 8, 2)


def test_bad_input_is_refused():
    m = ga.create("encoder", "timesnet", n_channels=2, input_length=24, horizon=8, d_model=8, d_ff=8, top_k=2, num_kernels=2)
    with pytest.raises(ValueError, match="input_length"):
        m(torch.randn(2, 23, 2))
    with pytest.raises(ValueError, match="n_channels"):
        m(torch.randn(2, 24, 3))
    with pytest.raises(ValueError, match="shape"):
        m(torch.randn(24, 2))
    with pytest.raises(ValueError, match="NaN|Inf|finite"):
        m(torch.full((2, 24, 2), float("inf")))
    with pytest.raises(ValueError, match="top_k"):
        ga.create("encoder", "timesnet", input_length=6, horizon=2, top_k=5)
    with pytest.raises(ValueError, match="fixed_periods"):
        ga.create("encoder", "timesnet", input_length=6, horizon=2, top_k=1, fixed_periods=[0])
    with pytest.raises(ValueError, match="dropout"):
        ga.create("encoder", "timesnet", dropout=1.0)
    with pytest.raises(TypeError, match="use_norm"):
        ga.create("encoder", "timesnet", use_norm=1.5)
    with pytest.raises(ValueError, match="k must be"):
        fft_periods(torch.randn(1, 10, 1), 6)
    meas = ga.create("measure", "fft_periods", k=2)
    with pytest.raises(ValueError, match="NaN"):
        meas(data={"X": np.array([1.0, np.nan, 2.0, 3.0, 4.0])})
    with pytest.raises(ValueError, match="'X'"):
        meas(data=None)
    with pytest.raises(ValueError, match="non-empty"):
        meas(data={"X": np.zeros((0, 2))})
