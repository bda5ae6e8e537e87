import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas_plugins.dynamic_subspace.adsl import (
    margin_loss,
    nearest_negative_triplets,
    recall_at_1,
    split_learner,
    taylor_scores,
)


def test_margin_loss_equals_pytorch_metric_learning():
    from pytorch_metric_learning.losses import MarginLoss

    g = torch.Generator().manual_seed(0)
    z = torch.randn(16, 8, generator=g)
    y = torch.arange(16) % 4
    ref = MarginLoss(margin=0.2, beta=1.2)(z, y)
    assert abs(float(margin_loss(z, y, 1.2, 0.2)) - float(ref)) < 1e-6
    assert float(margin_loss(z, torch.arange(16), 1.2, 0.2)) == 0.0  # no positives: no triplets


def test_taylor_scores_are_min_max_scaled():
    g = torch.Generator().manual_seed(1)
    a, gr = torch.randn(20, 12, generator=g), torch.randn(20, 12, generator=g)
    s = taylor_scores(a, gr)
    raw = (a * gr).mean(0).abs()
    raw = raw / raw.norm()
    assert torch.allclose(s, (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-7)
    assert float(s.min()) == 0.0 and float(s.max()) == pytest.approx(1.0)


def test_splitting_rule_as_corrected_in_the_notes():
    s = torch.tensor([0.9, 0.1, 0.8, 0.2, 0.7, 0.6, 0.0, 0.55, 0.3, 0.4, 1.0, 0.05])
    kept, moved = split_learner(s, 0.5, 10, 5)
    assert list(kept) == [0, 2, 4, 5, 7, 10]  # the high-score neurons stay
    assert list(moved) == [1, 3, 6, 8, 9, 11]
    assert split_learner(s[:10], 0.5, 10, 5) is None  # not more than 10 neurons
    assert split_learner(torch.tensor([0.9] * 4 + [0.1] * 8), 0.5, 10, 5) is None  # fewer than 5 high


def test_encoder_split_keeps_weights_and_reinitialises_the_rest():
    torch.manual_seed(0)
    enc = ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3, channels=[4, 8], embedding_dim=16)
    w0, b0 = enc.embedding.weight.detach().clone(), enc.embedding.bias.detach().clone()
    scores = torch.zeros(16)
    high = [3, 5, 7, 9, 11, 13]
    scores[high] = 1.0
    assert enc.split(scores)
    assert enc.bounds.tolist() == [0, 6, 16]
    assert torch.equal(enc.embedding.weight[:6], w0[high]) and torch.equal(enc.embedding.bias[:6], b0[high])
    assert torch.equal(enc.embedding.bias[6:], torch.zeros(10))
    blocks = enc.blocks()
    assert blocks == [(0, 6), (6, 16)]  # disjoint, covering range(16)
    enc.train()
    z = enc(torch.rand(5, 1, 8, 8))
    for s, t in blocks:
        assert torch.allclose(z[:, s:t].norm(dim=1), torch.ones(5), atol=1e-6)


def test_training_step_and_epoch_end():
    torch.manual_seed(1)
    enc = ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3, channels=[4, 8], embedding_dim=16,
                    patience=1, min_neurons=4, min_high=2)
    x, y = torch.rand(30, 1, 8, 8), torch.arange(30) % 3
    enc.train()
    opt = torch.optim.SGD(enc.parameters(), lr=0.01)
    for epoch in range(4):
        loss = enc.training_step(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        enc.on_epoch_end(epoch)
    assert len(enc.history) == 4 and enc.n_learners >= 1
    enc.eval()
    scores = enc(x)
    assert scores.shape == (30, 3)


def test_recall_at_1():
    z = torch.tensor([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    assert recall_at_1(z, torch.tensor([0, 0, 1, 1])) == 1.0
    assert recall_at_1(z, torch.tensor([0, 1, 0, 1])) == 0.0


def test_bad_inputs():
    with pytest.raises(ValueError, match="score_threshold"):
        ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3, score_threshold=2.0)
    with pytest.raises(ValueError, match="margin"):
        ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3, margin=-0.1)
    enc = ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3)
    with pytest.raises(ValueError, match="expects images"):
        enc(torch.rand(2, 3, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        enc(torch.full((2, 1, 8, 8), float("nan")))
    assert np.isfinite(float(margin_loss(torch.rand(4, 3), torch.tensor([0, 0, 1, 1]), 1.2)))


def test_split_trigger_follows_the_authors_nmi_rule(monkeypatch):
    """The authors' loop: the monitored metric is the NMI of k-means; a split needs `patience`
    epochs since the best epoch, and after a split exploration waits for a NEW best (not merely
    another `patience` epochs)."""
    import geoatlas_plugins.dynamic_subspace.adsl as adsl

    torch.manual_seed(0)
    enc = ga.create("encoder", "dynamic_subspace", in_channels=1, num_classes=3, channels=[4, 8], embedding_dim=32,
                    patience=2, min_neurons=4, min_high=2, recluster_every=100)
    splits = []
    monkeypatch.setattr(enc, "split", lambda scores: splits.append(1) or True)
    nmis = iter([0.5, 0.4, 0.4, 0.45, 0.45, 0.45, 0.6, 0.5, 0.5])  # best at epochs 0 and 6
    monkeypatch.setattr(adsl, "kmeans_nmi", lambda z, y, k, seed=0: next(nmis))
    x, y = torch.rand(12, 1, 8, 8), torch.arange(12) % 3
    enc.train()
    fired = []
    for epoch in range(9):
        enc.training_step(x, y).backward()
        enc.on_epoch_end(epoch)
        fired.append(len(splits))
    # first split 2 epochs after the best (epoch 2); none at epochs 3-5 although no improvement;
    # the new best at epoch 6 re-enables it, split again at epoch 8
    assert fired == [0, 0, 1, 1, 1, 1, 1, 1, 2]
    assert [h["train_nmi"] for h in enc.history][:3] == [0.5, 0.4, 0.4]


def test_authors_sampler_nearest_negatives_beyond_cutoff():
    """lib/loss/sampler.py: K = #positive pairs / batch = 1 here; each anchor's nearest negative at
    distance >= 0.5 (closer ones passed over), paired with its positive. Worked out by hand on the circle."""
    ang = torch.tensor([0.0, 0.1, 0.2, 1.0, 3.0, 3.1], dtype=torch.float64)
    z = torch.stack([ang.cos(), ang.sin()], dim=1)
    y = torch.tensor([0, 0, 1, 1, 2, 2])
    a, p, n = nearest_negative_triplets(z, y, 0.5)
    assert a.tolist() == [0, 1, 2, 3, 4, 5]
    assert p.tolist() == [1, 0, 3, 2, 5, 4]
    assert n.tolist() == [3, 3, 4, 1, 3, 3]  # e.g. anchor 0 passes over node 2 (distance 0.20 < 0.5)
    d = lambda i, j: float((z[i] - z[j]).norm())  # noqa: E731
    ref = sum(max(0.0, d(i, j) - 1.2 + 0.2) + max(0.0, 1.2 - d(i, k) + 0.2) for i, j, k in zip(a, p, n, strict=True))
    cnt = sum((d(i, j) - 1.2 + 0.2 > 0) + (1.2 - d(i, k) + 0.2 > 0) for i, j, k in zip(a, p, n, strict=True))
    assert abs(float(margin_loss(z, y, 1.2, 0.2, "nearest")) - ref / cnt) < 1e-12
    with pytest.raises(ValueError, match="triplets"):
        margin_loss(z, y, 1.2, 0.2, "semi")
