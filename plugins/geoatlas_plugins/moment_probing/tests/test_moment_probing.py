import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_equivariance
from geoatlas_plugins.moment_probing.mp import cross_covariance, head_pairs


def _head(**kw):
    torch.manual_seed(0)
    args = dict(in_features=12, num_classes=5, hidden_dim=64, num_heads=4)
    args.update(kw)
    return ga.create("encoder", "moment_probing_head", **args).double()


def test_linear_probing_is_the_first_order_branch():
    torch.manual_seed(1)
    x = torch.randn(6, 9, 12, dtype=torch.float64)
    lp = _head(second_order=False, first_order="mean")
    ref = x.mean(1) @ lp.classifier1.weight.T + lp.classifier1.bias
    assert torch.allclose(lp(x), ref, atol=1e-12)
    # the default is the paper's ViT protocol: the class token x[:, 0]
    lp_cls = _head(second_order=False)
    assert lp_cls.first_order == "cls"
    assert torch.allclose(lp_cls(x), x[:, 0] @ lp_cls.classifier1.weight.T + lp_cls.classifier1.bias, atol=1e-12)
    mp = _head(first_order="mean")
    # MP = average of the first-order logits (same classifier) and the second-order logits
    s = mp.down(mp.second_moment(x)).flatten(1)
    l1 = mp.classifier1(x.mean(1))
    assert torch.allclose(mp(x), (l1 + mp.classifier2(s)) / 2, atol=1e-12)
    assert mp.second_order_dim == 3 * 3 * 3  # 3 'near' pairs, d=16 -> 7 -> 3


def test_cross_covariance_against_torch_cov_and_reference_formula():
    torch.manual_seed(2)
    a = torch.randn(3, 20, 5, dtype=torch.float64)
    b = torch.randn(3, 20, 4, dtype=torch.float64)
    c = cross_covariance(a, b, "channel")
    for i in range(3):
        full = torch.cov(torch.cat([a[i], b[i]], 1).T, correction=0)
        assert torch.allclose(c[i], full[:5, 5:], atol=1e-12)
    g = cross_covariance(a, b, "global")
    # reference: subtract the scalar mean over (tokens, channels) of each sample, then X^T Y / T
    for i in range(3):
        A = a[i] - a[i].mean()
        B = b[i] - b[i].mean()
        assert torch.allclose(g[i], A.T @ B / 20, atol=1e-12)


def test_head_pairs():
    assert head_pairs(4, "near") == [(0, 1), (1, 2), (2, 3)]
    assert head_pairs(4, "n/2") == [(0, 2), (1, 3)]
    assert head_pairs(4, "one") == [(0, 1), (0, 2), (0, 3)]
    assert len(head_pairs(4, "cn2")) == 6
    with pytest.raises(ValueError, match="cross_type"):
        head_pairs(4, "all")


def test_token_permutation_invariance():
    torch.manual_seed(3)
    x = torch.randn(4, 10, 12, dtype=torch.float64)
    G = ga.create("group", "permutations", n=10)
    for ct in ("near", "cn2"):
        head = _head(cross_type=ct, first_order="mean").eval()
        assert head.invariant_to == ("permutations",)
        rep = check_equivariance(head, G, x, input_type="point_cloud", output="invariant", atol=1e-10)
        assert rep["max_error"] < 1e-10
    # a class token breaks that symmetry on purpose: permuting it changes the output, while
    # permuting the other tokens does not
    m = _head().eval()
    assert m.invariant_to == ()
    perm = torch.cat([torch.tensor([1, 0]), torch.arange(2, 10)])
    assert not torch.allclose(m(x), m(x[:, perm]))
    rest = torch.cat([torch.tensor([0]), 1 + torch.randperm(9)])
    assert torch.allclose(m(x), m(x[:, rest]), atol=1e-10)


def test_default_head_equals_reference_vit_forward():
    """Independent transcription of the reference ViT head (class token, patch tokens only in MHC^3)."""
    torch.manual_seed(5)
    x = torch.randn(3, 11, 12, dtype=torch.float64)
    m = _head().eval()
    W1, b1 = m.classifier1.weight, m.classifier1.bias
    z = x[:, 1:] @ m.proj.weight.T + m.proj.bias  # patch tokens only
    heads = z.reshape(3, 10, 4, 16)
    mats = []
    for a, b in ((0, 1), (1, 2), (2, 3)):
        ha = torch.nn.functional.layer_norm(heads[:, :, a], (16,), m.ln.weight, m.ln.bias, m.ln.eps)
        hb = torch.nn.functional.layer_norm(heads[:, :, b], (16,), m.ln.weight, m.ln.bias, m.ln.eps)
        ha = ha - ha.mean(dim=(1, 2), keepdim=True)
        hb = hb - hb.mean(dim=(1, 2), keepdim=True)
        c = torch.einsum("btd,bte->bde", ha, hb) / 10
        mats.append(c / c.norm(dim=1, keepdim=True).clamp_min(1e-12))
    s = torch.stack(mats, 1)
    s = torch.nn.functional.conv2d(s, m.down[0].weight, stride=2)
    s = torch.nn.functional.conv2d(torch.nn.functional.gelu(s), m.down[2].weight, stride=2)
    ref = (x[:, 0] @ W1.T + b1 + s.flatten(1) @ m.classifier2.weight.T + m.classifier2.bias) / 2
    assert torch.allclose(m(x), ref, atol=1e-12)


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_training_improves_and_gradients_flow(one_thread):
    torch.manual_seed(4)
    # classes differ only in the correlation between channels, not in the mean: LP cannot see it
    n, T, D = 120, 16, 12
    y = torch.arange(n) % 2
    z = torch.randn(n, T, D)
    z[y == 1, :, 1] = z[y == 1, :, 0]  # channels 0 and 1 equal for class 1
    z = torch.cat([z.mean(1, keepdim=True), z], dim=1)  # class token = patch average (same mean in both classes)
    mp = ga.create("encoder", "moment_probing_head", in_features=D, num_classes=2, hidden_dim=32, num_heads=2, cross_type="near")
    lp = ga.create("encoder", "moment_probing_head", in_features=D, num_classes=2, hidden_dim=32, num_heads=2, second_order=False)
    accs = []
    for m in (lp, mp):
        opt = torch.optim.Adam(m.parameters(), lr=1e-2)
        for _ in range(60):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(m(z), y)
            loss.backward()
            opt.step()
        accs.append(float((m(z).argmax(1) == y).float().mean()))
    assert accs[1] > 0.95 and accs[0] < 0.8, accs
    assert all(p.grad is not None for p in mp.parameters())


def test_bad_input():
    m = _head()
    with pytest.raises(ValueError, match="in_features"):
        m(torch.randn(2, 5, 7, dtype=torch.float64))
    with pytest.raises(ValueError, match="shape"):
        m(torch.randn(2, 12, dtype=torch.float64))
    with pytest.raises(ValueError, match="NaN"):
        m(torch.full((2, 5, 12), float("nan"), dtype=torch.float64))
    with pytest.raises(ValueError, match="divisible"):
        _head(hidden_dim=30)
    with pytest.raises(ValueError, match="too small"):
        _head(hidden_dim=16)
    with pytest.raises(ValueError, match="num_heads"):
        _head(num_heads=1)
    with pytest.raises(ValueError, match="first_order"):
        _head(first_order="max")
    with pytest.raises(ValueError, match="centering"):
        _head(centering="none")
    with pytest.raises(ValueError, match="even"):
        _head(cross_type="n/2", num_heads=3, hidden_dim=63)
    with pytest.raises(ValueError, match="tokens"):
        _head(first_order="cls")(torch.randn(2, 1, 12, dtype=torch.float64))


def test_dataset():
    b = ga.create("dataset", "digit_patch_tokens", patch=2, dim=16, n_samples=50).load()
    assert b.X.shape == (50, 17, 16) and b.data_type == "sequence"
    assert np.allclose(b.X[:, 0], b.X[:, 1:].astype(np.float64).mean(1), atol=1e-6)  # class token = patch average
    b0 = ga.create("dataset", "digit_patch_tokens", patch=2, dim=16, n_samples=50, class_token=False).load()
    assert b0.X.shape == (50, 16, 16) and np.array_equal(b0.X, b.X[:, 1:])
    b2 = ga.create("dataset", "digit_patch_tokens", patch=2, dim=16, n_samples=50).load()
    assert np.array_equal(b.X, b2.X) and np.isfinite(b.X).all()
    with pytest.raises(ValueError, match="patch"):
        ga.create("dataset", "digit_patch_tokens", patch=3)
