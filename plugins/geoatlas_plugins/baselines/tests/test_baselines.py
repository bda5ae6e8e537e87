import pytest
import torch

import geoatlas as ga


def test_output_shapes():
    assert ga.create("encoder", "mlp", in_features=12, out_features=5)(torch.zeros(3, 3, 4)).shape == (3, 5)
    cnn = ga.create("encoder", "cnn", in_channels=1, num_classes=10, channels=[4, 8])
    assert cnn(torch.zeros(2, 1, 8, 8)).shape == (2, 10)
    assert cnn.embed(torch.zeros(2, 1, 8, 8)).shape == (2, 8)


def test_training_reduces_loss_on_separable_data():
    torch.manual_seed(0)
    x = torch.randn(64, 2)
    y = (x[:, 0] > 0).long()
    m = ga.create("encoder", "mlp", in_features=2, out_features=2, hidden=[16])
    opt = torch.optim.Adam(m.parameters(), lr=0.05)
    first = None
    for _ in range(50):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        first = first if first is not None else float(loss)
        loss.backward()
        opt.step()
    assert float(loss) < 0.3 * first


def test_bad_inputs():
    with pytest.raises(ValueError, match="expects 4 input features"):
        ga.create("encoder", "mlp", in_features=4, out_features=2)(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="activation"):
        ga.create("encoder", "mlp", in_features=4, out_features=2, activation="swish")
    with pytest.raises(ValueError, match=r"images \(N, C, H, W\)"):
        ga.create("encoder", "cnn", in_channels=1, num_classes=2)(torch.zeros(2, 8, 8))
