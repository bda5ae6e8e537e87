"""Loss hooks the training loop calls: ``bind(model)`` before the optimiser is built (momentum
copies of the encoder), and labels given to a pre-training loss (``pretrain.labels``)."""

import copy

import numpy as np
import pytest
import torch

from geoatlas.interfaces import Loss
from geoatlas.pipeline.models import Trainer
from geoatlas.pipeline.spec import TrainSpec


class EmaLoss(Loss):
    requires = ()

    def __init__(self) -> None:
        super().__init__()
        self.bound = 0
        self.seen_y: list[torch.Tensor] = []

    def bind(self, model: torch.nn.Module) -> None:
        self.bound += 1
        self.teacher = copy.deepcopy(model)
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def forward(self, outputs, batch):
        if "y" in batch:
            self.seen_y.append(batch["y"])
        with torch.no_grad():
            t = self.teacher(batch["views"][0] if "views" in batch else batch["x"])
        out = outputs[0] if isinstance(outputs, list) else outputs
        return ((out - t) ** 2).mean() + out.pow(2).mean()


def test_bind_runs_once_before_the_optimiser_and_the_copy_is_not_optimised(tmp_path):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    loss = EmaLoss()
    tr = Trainer(model, TrainSpec(epochs=2, batch_size=4), None, "vector", 0, tmp_path / "c.pt", lambda m: None, loss=loss)
    assert loss.bound == 1
    optimised = {id(p) for g in tr.opt.param_groups for p in g["params"]}
    assert optimised == {id(p) for p in model.parameters()}
    before = [p.clone() for p in loss.teacher.parameters()]
    tr.fit(torch.randn(8, 3), None)
    assert all(torch.equal(a, b) for a, b in zip(before, loss.teacher.parameters(), strict=True))
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert any(k.startswith("teacher.") for k in state["loss"])


def test_views_batches_carry_labels_when_given(tmp_path):
    model = torch.nn.Linear(3, 2)
    loss = EmaLoss()
    tr = Trainer(model, TrainSpec(epochs=1, batch_size=4), "classification", "vector", 0, tmp_path / "c.pt",
                 lambda m: None, loss=loss)
    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    tr.fit(torch.randn(8, 3), y, views=lambda xb, g: [xb, xb + 0.1])
    assert len(loss.seen_y) == 2 and sorted(torch.cat(loss.seen_y).tolist()) == sorted(y.tolist())


def test_lr_decay_is_exponential_per_epoch_and_resumes(tmp_path):
    model = torch.nn.Linear(3, 1)
    spec = TrainSpec(epochs=3, batch_size=4, lr=0.1, lr_decay=0.5, checkpoint_seconds=0)
    tr = Trainer(model, spec, "raw", "vector", 0, tmp_path / "c.pt", lambda m: None)
    tr.fit(torch.randn(8, 3), np.zeros((8, 1)))
    assert tr.opt.param_groups[0]["lr"] == pytest.approx(0.1 * 0.5**3)
    state = torch.load(tmp_path / "c.pt", weights_only=True)
    assert state["optimizer"]["param_groups"][0]["lr"] == pytest.approx(0.1 * 0.5**3)
