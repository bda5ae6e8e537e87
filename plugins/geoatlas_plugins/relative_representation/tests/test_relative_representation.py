"""Relative representations: invariance (exact), isometry, head vs descriptor, errors."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_descriptor


def _orth(d, seed):
    g = torch.Generator().manual_seed(seed)
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


@settings(max_examples=20, deadline=None)
@given(d=st.integers(2, 40), k=st.integers(1, 30), scale=st.floats(1e-3, 1e3), seed=st.integers(0, 10**6))
def test_invariance_orthogonal_and_scale(d, k, scale, seed):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(15, d, generator=g, dtype=torch.float64)
    A = torch.randn(k, d, generator=g, dtype=torch.float64)
    Q = _orth(d, seed)
    r = ga.create("descriptor", "relative_projection").fit(A).transform(X)
    r2 = ga.create("descriptor", "relative_projection").fit(scale * A @ Q.T).transform(scale * X @ Q.T)
    assert float((r - r2).abs().max()) < 1e-12


def test_translation_breaks_invariance():
    g = torch.Generator().manual_seed(0)
    X, A = torch.randn(20, 8, generator=g, dtype=torch.float64), torch.randn(10, 8, generator=g, dtype=torch.float64)
    b = torch.ones(8, dtype=torch.float64)
    r = ga.create("descriptor", "relative_projection").fit(A).transform(X)
    r2 = ga.create("descriptor", "relative_projection").fit(A + b).transform(X + b)
    assert float((r - r2).abs().max()) > 0.1


def test_orthonormal_anchors_isometry():
    Q = _orth(6, 3)
    X = torch.randn(9, 6, dtype=torch.float64)
    r = ga.create("descriptor", "relative_projection").fit(Q).transform(X)
    xh = X / X.norm(dim=1, keepdim=True)
    assert torch.allclose(r, xh @ Q.T, atol=1e-12)
    assert torch.allclose(r.norm(dim=1), torch.ones(9, dtype=torch.float64), atol=1e-12)


def test_descriptor_conventions_and_stratified_anchors():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 5))
    y = np.repeat(np.arange(3), 20)
    d = ga.create("descriptor", "relative_projection", num_anchors=12, seed=1).fit(X, y)
    assert np.bincount(y[d.anchor_indices_]).tolist() == [4, 4, 4]
    assert d.transform(X).shape == (60, 12)
    check_descriptor(ga.create("descriptor", "relative_projection"), X)


def test_head_matches_descriptor_and_trains():
    torch.manual_seed(0)
    head = ga.create("encoder", "relative_head", in_features=10, num_classes=3, num_anchors=20, latent_dim=8)
    x = torch.randn(40, 10)
    y = torch.arange(40) % 3
    loss = head.training_step(x, y, torch.nn.functional.cross_entropy)  # sets stratified anchors
    assert head.anchors.shape == (20, 10) and torch.isfinite(loss)
    r = head.relative(x[:5])
    ref = ga.create("descriptor", "relative_projection").fit(head.encoder(head.anchors)).transform(head.encoder(x[:5]))
    assert torch.allclose(r, ref, atol=1e-6)
    loss.backward()
    assert head.encoder[0].weight.grad is not None  # gradients flow through the batch latents
    assert head(x).shape == (40, 3)


def test_reference_linear_decoder():
    # decoder_hidden=0: LayerNorm over the anchors, then one linear layer (the reference RelResNet)
    torch.manual_seed(0)
    head = ga.create("encoder", "relative_head", in_features=6, num_classes=4, num_anchors=5, decoder_hidden=0)
    head.set_anchors(torch.randn(5, 6))
    x = torch.randn(7, 6)
    assert len(head.decoder) == 1 and isinstance(head.decoder[0], torch.nn.Linear)
    r = head.relative(x)
    lin = head.decoder[0]
    expected = torch.nn.functional.layer_norm(r, (5,), head.norm.weight, head.norm.bias) @ lin.weight.T + lin.bias
    assert torch.allclose(head(x), expected, atol=1e-6)
    with pytest.raises((ValueError, TypeError), match="decoder_hidden"):
        ga.create("encoder", "relative_head", in_features=6, num_classes=4, decoder_hidden=-1)


def test_bad_input():
    d = ga.create("descriptor", "relative_projection")
    with pytest.raises(ValueError, match="not fitted"):
        d.transform(np.ones((2, 3)))
    with pytest.raises(ValueError, match="empty"):
        d.fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        d.fit(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError, match="zero vector"):
        d.fit(np.zeros((2, 3)))
    d.fit(np.eye(3))
    with pytest.raises(ValueError, match="features"):
        d.transform(np.ones((2, 4)))
    with pytest.raises(ValueError, match="num_anchors"):
        ga.create("descriptor", "relative_projection", num_anchors=10).fit(np.ones((5, 3)))
    head = ga.create("encoder", "relative_head", in_features=4, num_classes=2, num_anchors=3)
    with pytest.raises(ValueError, match="no anchors"):
        head(torch.randn(2, 4))
    with pytest.raises(ValueError, match="anchors must have shape"):
        head.set_anchors(torch.randn(2, 4))
    with pytest.raises(ValueError, match="output_normalization"):
        ga.create("encoder", "relative_head", in_features=4, num_classes=2, output_normalization="zscore")
    with pytest.raises(ValueError, match="first training batch"):
        head.training_step(torch.randn(2, 4), torch.tensor([0, 1]), torch.nn.functional.cross_entropy)


def test_a_checkpoint_restores_the_anchors_set_in_training(tmp_path):
    """The anchors are drawn at the first training step; a checkpoint of the trained head (as the
    trainer writes it, loaded weights-only) loads into a fresh head — whose anchor buffer is still
    empty — and gives the same outputs; nested in another module too (resume, load_model)."""
    torch.manual_seed(0)
    kw = {"in_features": 10, "num_classes": 3, "num_anchors": 12, "latent_dim": 6}
    head = ga.create("encoder", "relative_head", **kw)
    x, y = torch.randn(40, 10), torch.randint(0, 3, (40,))
    head.training_step(x, y, torch.nn.functional.cross_entropy)
    torch.save({"model": head.state_dict()}, tmp_path / "ckpt.pt")
    fresh = ga.create("encoder", "relative_head", **kw)
    assert fresh.anchors.shape[0] == 0
    fresh.load_state_dict(torch.load(tmp_path / "ckpt.pt", weights_only=True)["model"])
    head.eval()
    fresh.eval()
    assert torch.equal(fresh.anchors, head.anchors) and torch.equal(fresh(x), head(x))
    outer = torch.nn.Sequential(ga.create("encoder", "relative_head", **kw))
    outer.load_state_dict(torch.nn.Sequential(head).state_dict())
    assert torch.equal(outer[0].anchors, head.anchors)
