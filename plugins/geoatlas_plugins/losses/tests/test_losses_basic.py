"""cross_entropy, mse and bce: equal to torch.nn.functional's in float64, check_loss, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import geoatlas as ga
from geoatlas.testing import check_loss

B, C = 8, 5


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _classification(n: int = 1):
    """Logits and class ids; ``n`` copies of one batch stacked (for batch-size independence)."""
    logits = torch.randn(B, C, dtype=torch.float64, generator=_gen(0))
    y = torch.randint(0, C, (B,), generator=_gen(1))
    out = logits.repeat(n, 1).requires_grad_(True)
    return out, {"x": torch.zeros(n * B, 3), "y": y.repeat(n)}


def _regression(n: int = 1):
    out = torch.randn(B, 3, dtype=torch.float64, generator=_gen(2))
    y = torch.randn(B, 3, dtype=torch.float64, generator=_gen(3))
    return out.repeat(n, 1).requires_grad_(True), {"x": torch.zeros(n * B, 3), "y": y.repeat(n, 1)}


def _binary(n: int = 1):
    out = torch.randn(B, dtype=torch.float64, generator=_gen(4))
    y = torch.randint(0, 2, (B,), generator=_gen(5))
    return out.repeat(n).requires_grad_(True), {"x": torch.zeros(n * B, 3), "y": y.repeat(n)}


CASES = {
    "cross_entropy": (_classification, lambda o, y: F.cross_entropy(o, y)),
    "mse": (_regression, lambda o, y: F.mse_loss(o, y)),
    "mae": (_regression, lambda o, y: F.l1_loss(o, y)),
    "bce": (_binary, lambda o, y: F.binary_cross_entropy_with_logits(o, y.to(o.dtype))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_equal_torch_functional_and_pass_check_loss(name: str) -> None:
    make, reference = CASES[name]
    loss = ga.create("loss", name)
    out, batch = make()
    value = loss(out, batch)
    assert value.dtype == torch.float64
    assert abs(float(value.detach()) - float(reference(out, batch["y"]).detach())) <= 1e-12
    # gradients agree too
    (g,) = torch.autograd.grad(value, out)
    (g_ref,) = torch.autograd.grad(reference(out, batch["y"]), out)
    assert torch.allclose(g, g_ref, rtol=0, atol=1e-12)
    report = check_loss(loss, out, batch, make_batch=lambda n: make(n), atol=1e-12)
    assert report["batch_size_gap"] <= 1e-12 and report["state_keys"] == []
    assert loss.requires == ("y",) and loss.batch_size_independent


def test_cross_entropy_label_smoothing() -> None:
    out, batch = _classification()
    loss = ga.create("loss", "cross_entropy", label_smoothing=0.1)
    assert abs(float(loss(out, batch)) - float(F.cross_entropy(out, batch["y"], label_smoothing=0.1))) <= 1e-12
    check_loss(loss, out, batch, make_batch=_classification)
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="label_smoothing"):
            ga.create("loss", "cross_entropy", label_smoothing=bad)


def test_shapes_the_trainer_gives() -> None:
    # a regression head of shape (B, 1) against targets (B,), and (B, 1) logits for bce
    out = torch.randn(B, 1, dtype=torch.float64, generator=_gen(6), requires_grad=True)
    y = torch.randn(B, dtype=torch.float64, generator=_gen(7))
    assert abs(float(ga.create("loss", "mse")(out, {"y": y})) - float(F.mse_loss(out[:, 0], y))) <= 1e-12
    y01 = (y > 0).long()
    expected = F.binary_cross_entropy_with_logits(out[:, 0], y01.double())
    assert abs(float(ga.create("loss", "bce")(out, {"y": y01})) - float(expected)) <= 1e-12
    # float32 outputs, as models give them
    o32 = torch.randn(B, C, generator=_gen(8))
    assert ga.create("loss", "cross_entropy")(o32, {"y": torch.zeros(B, dtype=torch.long)}).dtype == torch.float32


def test_mismatched_shapes_raise() -> None:
    out = torch.randn(B, 3, dtype=torch.float64)
    # one output per sample against two target columns: F.mse_loss would broadcast with a warning
    with pytest.raises(ValueError, match=r"mse: the model gives outputs of shape \(8, 1\)"):
        ga.create("loss", "mse")(out[:, :1], {"y": torch.randn(B, 2, dtype=torch.float64)})
    with pytest.raises(ValueError, match="mse"):
        ga.create("loss", "mse")(out, {"y": torch.randn(B, dtype=torch.float64)})
    with pytest.raises(ValueError, match="bce"):
        ga.create("loss", "bce")(out, {"y": torch.ones(B)})
    with pytest.raises((ValueError, RuntimeError, IndexError)):
        ga.create("loss", "cross_entropy")(out, {"y": torch.full((B,), 7)})  # class id out of range
