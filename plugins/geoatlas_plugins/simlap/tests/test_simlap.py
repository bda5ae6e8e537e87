"""SimLAP: identical pairs + open gate = multi-positive InfoNCE (loops; PML SupConLoss where it matches),
masks, gate range, centring invariance, gradcheck, labels through the representation task, errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss
from geoatlas_plugins.simlap.simlap import multipositive_nce, simlap_masks


def _views(seed, b=12, d=6, k=3, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(b) % k
    z1 = torch.randn(b, d, generator=g, dtype=dtype)
    z2 = z1 + 0.5 * torch.randn(b, d, generator=g, dtype=dtype)
    return z1, z2, y


def multipos_loops(z1, z2, y, t):
    """Multi-positive InfoNCE written out: anchor i (view 1), positives j with y_j == y_i (view 2,
    itself included), negatives k with y_k != y_i; each positive against the negatives only; the
    positives of an anchor averaged, then the anchors (the authors' multipos_ce_loss)."""
    z1, z2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    n = len(y)
    total = 0.0
    for i in range(n):
        neg = sum(math.exp(float(z1[i] @ z2[k]) / t) for k in range(n) if y[k] != y[i])
        row, count = 0.0, 0
        for j in range(n):
            if y[j] == y[i]:
                lij = float(z1[i] @ z2[j]) / t
                row += math.log(math.exp(lij) + neg) - lij
                count += 1
        total += row / count
    return total / n


def test_anchor_mean_differs_from_pair_mean():
    """Unequal class counts: the per-anchor mean (the authors') is not the mean over all pairs."""
    z1, z2, _ = _views(3, b=7, k=3)
    y = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    loss = ga.create("loss", "simlap", num_classes=3, embed_dim=6, pairing="identical", gate="open")
    ours = float(loss([z1, z2], {"y": y}))
    assert ours == pytest.approx(multipos_loops(z1, z2, y, 0.1), abs=1e-12)
    logits = 10.0 * F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T
    pos, exc = simlap_masks(y, y, y)
    neg = torch.logsumexp(logits.masked_fill(exc, float("-inf")), dim=1, keepdim=True)
    pair_mean = float(((torch.logaddexp(logits, neg.expand_as(logits)) - logits) * pos).sum() / pos.sum())
    assert abs(ours - pair_mean) > 1e-3


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.integers(2, 12), k=st.integers(1, 4), t=st.sampled_from([0.1, 0.5, 1.0]))
def test_identical_open_gate_is_multipositive_infonce(seed, b, k, t):
    z1, z2, y = _views(seed, b=b, k=k)
    loss = ga.create("loss", "simlap", num_classes=4, embed_dim=6, pairing="identical", gate="open", temperature=t)
    assert float(loss([z1, z2], {"y": y})) == pytest.approx(multipos_loops(z1, z2, y, t), abs=1e-12)


def test_equals_pml_supcon_with_one_positive_per_anchor():
    from pytorch_metric_learning.losses import SupConLoss

    for seed in range(4):
        z1, z2, _ = _views(seed, b=10, d=8)
        y = torch.arange(10)  # every class once per view: one positive (the other view) per anchor
        ours = ga.create("loss", "simlap", num_classes=10, embed_dim=8, pairing="identical", gate="open")
        ref = SupConLoss(temperature=0.1)(z1, y, ref_emb=z2, ref_labels=y.clone())  # a distinct object: PML drops the diagonal when ref_labels is labels
        assert float(ours([z1, z2], {"y": y})) == pytest.approx(float(ref), abs=1e-6)
        # = the cross-view InfoNCE (cross-entropy of the similarity matrix)
        ce = F.cross_entropy(10.0 * F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T, y)
        assert float(ours([z1, z2], {"y": y})) == pytest.approx(float(ce), abs=1e-10)


def test_differs_from_pml_supcon_with_several_positives():
    """SupCon's denominator holds every other sample (the other positives too); SimLAP's holds the
    positive and the negatives only, so with several positives per anchor SimLAP is smaller."""
    from pytorch_metric_learning.losses import SupConLoss

    z1, z2, y = _views(0, b=12, k=3)
    ours = float(ga.create("loss", "simlap", num_classes=3, embed_dim=6, pairing="identical", gate="open")([z1, z2], {"y": y}))
    ref = float(SupConLoss(temperature=0.1)(z1, y, ref_emb=z2, ref_labels=y.clone()))
    assert ours < ref - 1e-3


def test_masks_and_gate():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 5, (20,), generator=g)
    y2 = y[torch.randperm(20, generator=g)]
    pos, exc = simlap_masks(y, y, y2)
    assert bool((pos <= exc).all())  # P subset of E
    assert bool(pos.any(1).all())  # an arbitrary partner class is in the batch: every anchor has a positive
    for i in range(20):
        for j in range(20):
            assert bool(exc[i, j]) == (int(y[j]) in (int(y[i]), int(y2[i])))
    loss = ga.create("loss", "simlap", num_classes=5, embed_dim=6, gate_in_dim=16, gate_mlp_dim=32)
    gate = loss.gates(y, y2, torch.float32)
    assert gate.shape == (20, 6) and bool(((gate > 0) & (gate < 1)).all())


def test_row_centring_leaves_the_loss_unchanged():
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(8, 8, generator=g, dtype=torch.float64)
    y = torch.arange(8) % 3
    pos, exc = simlap_masks(y, y, y[torch.randperm(8, generator=g)])
    shifted = logits - logits.mean(1, keepdim=True)
    assert float(multipositive_nce(logits, pos, exc)) == pytest.approx(float(multipositive_nce(shifted, pos, exc)), abs=1e-12)


def test_gate_squared_on_anchor_only():
    """With a constant gate c the logits are s * c^2 * cos: the loss equals the open-gate loss at temperature t / c^2."""
    z1, z2, y = _views(2)
    loss = ga.create("loss", "simlap", num_classes=3, embed_dim=6, pairing="identical", gate="open", temperature=0.1)
    loss.gates = lambda y1, y2, dtype: torch.full((len(y1), 6), 0.5, dtype=dtype)
    ref = ga.create("loss", "simlap", num_classes=3, embed_dim=6, pairing="identical", gate="open", temperature=0.4)
    assert float(loss([z1, z2], {"y": y})) == pytest.approx(float(ref([z1, z2], {"y": y})), abs=1e-12)


def test_gradcheck_and_check_loss():
    z1, z2, y = _views(3, b=6, d=4)
    z1.requires_grad_(True)
    z2.requires_grad_(True)
    loss = ga.create("loss", "simlap", num_classes=3, embed_dim=4, pairing="identical", gate="open", learn_scale=False)
    assert torch.autograd.gradcheck(lambda a, b: loss([a, b], {"y": y}), (z1, z2))
    torch.manual_seed(0)
    learned = ga.create("loss", "simlap", num_classes=3, embed_dim=4, pairing="identical", gate_in_dim=8, gate_mlp_dim=8).eval()
    check_loss(learned, [z1.float(), z2.float()], {"x": z1, "y": y})
    assert any(p.requires_grad for p in learned.parameters())  # the gate and the scale are trained with the model


def test_representation_task_gives_labels(tmp_path):
    """pretrain.labels: true hands the training labels to the loss (batch['y']); without it simlap refuses."""
    spec = {
        "name": "simlap_labels", "seed": 0, "task": {"name": "representation", "params": {"embedding_dim": 8}},
        "data": {"dataset": "sklearn_digits", "split": {"test": 0.25, "stratify": True}},
        "models": {"mlp": {"encoder": "mlp", "params": {"hidden": [16]}}},
        "pretrain": {"labels": True, "loss": {"name": "simlap", "params": {"num_classes": 10, "embed_dim": 8, "gate_in_dim": 8, "gate_mlp_dim": 8}},
                     "views": {"noise": 0.1, "n_views": 2}, "epochs": 1, "batch_size": 256, "probes": ["linear"]},
        "plots": False,
    }
    res = ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)
    assert res["mlp"]["probes"]["linear"]["accuracy"] > 0.5
    spec["pretrain"]["labels"] = False
    with pytest.raises(Exception, match="supervised|labels|requires"):
        ga.Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)


def test_bad_input():
    with pytest.raises(ValueError, match="pairing"):
        ga.create("loss", "simlap", num_classes=3, embed_dim=4, pairing="same")
    with pytest.raises(ValueError, match="gate"):
        ga.create("loss", "simlap", num_classes=3, embed_dim=4, gate="closed")
    with pytest.raises(ValueError, match="temperature"):
        ga.create("loss", "simlap", num_classes=3, embed_dim=4, temperature=0)
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("loss", "simlap", num_classes=0, embed_dim=4)
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("loss", "simlap", num_classes=1, embed_dim=4, pairing="distinct")
    loss = ga.create("loss", "simlap", num_classes=3, embed_dim=4, gate="open")
    z = torch.randn(6, 4)
    y = torch.arange(6) % 3
    with pytest.raises(TypeError, match="two view"):
        loss(z, {"y": y})
    with pytest.raises(ValueError, match="supervised"):
        loss([z, z], {})
    with pytest.raises(ValueError, match="embed_dim"):
        loss([torch.randn(6, 5), torch.randn(6, 5)], {"y": y})
    with pytest.raises(ValueError, match="num_classes"):
        loss([z, z], {"y": torch.arange(6)})
    with pytest.raises(TypeError, match="integer"):
        loss([z, z], {"y": y.float()})
    with pytest.raises(ValueError, match="shape"):
        loss([z, z], {"y": y[:5]})
    with pytest.raises(ValueError, match="NaN"):
        loss([z, torch.full((6, 4), float("nan"))], {"y": y})
    with pytest.raises(ValueError, match="at least 2"):
        loss([z[:1], z[:1]], {"y": y[:1]})
