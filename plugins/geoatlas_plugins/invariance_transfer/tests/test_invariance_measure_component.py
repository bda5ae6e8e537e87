"""The `representational_invariance` measure component, the `family_augmented` encoder and the shipped pipeline."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.invariance_transfer.measure import (
    RepresentationalInvariance,
    representational_invariance,
)

PIPELINE = Path(__file__).resolve().parents[1] / "pipelines" / "rotation_invariance.yaml"


def _digits(n: int = 80, family: str = "none", size: int = 12) -> np.ndarray:
    return ga.create("dataset", "transformed_digits", family=family, size=size, seed=3).load().X[:n]


def _cnn(seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return ga.create("encoder", "cnn", in_channels=1, num_classes=10, channels=[8, 16])


class _FlipAveraged(torch.nn.Module):
    """Orbit average over {identity, horizontal mirror}: exactly invariant to the hflip family."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * (self.net.embed(x) + self.net.embed(torch.flip(x, [3])))


class _Constant(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ones(x.shape[0], 5)


def test_check_measure_and_registration() -> None:
    m = ga.create("measure", "representational_invariance", family="rotate", metrics=["l2", "cos"])
    assert isinstance(m, RepresentationalInvariance) and m.needs_model
    X = _digits()
    report = check_measure(m, model=_cnn(), data={"X": X, "y": None, "data_type": "image"})
    assert report["keys"] == ["cos_ratio", "d_T", "pair_distance", "random_pair_distance"]
    # (n, H, W) images are accepted and give the same numbers as (n, 1, H, W) through a model that adds the channel
    net = _cnn()
    flat = ga.create("measure", "representational_invariance", family="rotate")
    a = flat(model=lambda x: net.eval().embed(x[:, None]), data={"X": X[:, 0]})
    b = flat(model=net, data={"X": X})
    assert a["d_T"] == pytest.approx(b["d_T"], abs=1e-12)
    # another seed draws other transformations and another permutation
    c = ga.create("measure", "representational_invariance", family="rotate", seed=1)(model=net, data={"X": X})
    assert abs(c["d_T"] - b["d_T"]) > 1e-6


def test_measure_equals_the_function_and_a_numpy_recomputation() -> None:
    X, net = _digits(), _cnn(1)
    m = RepresentationalInvariance(family="translate", strength=0.2, seed=5)
    out = m(model=net, data={"X": X})
    v1, v2 = m.views(X)
    assert not torch.equal(v1, v2)
    assert out["d_T"] == pytest.approx(representational_invariance(net.embed, v1, v2, seed=5), rel=1e-12)
    net.eval()
    with torch.no_grad():
        z1, z2 = net.embed(v1).double().numpy(), net.embed(v2).double().numpy()
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(5)).numpy()
    same, rand = np.linalg.norm(z1 - z2, axis=1).mean(), np.linalg.norm(z1 - z1[perm], axis=1).mean()
    assert out["pair_distance"] == pytest.approx(same, rel=1e-9)
    assert out["random_pair_distance"] == pytest.approx(rand, rel=1e-9)
    assert out["d_T"] == pytest.approx(same / rand, rel=1e-9)


def test_identity_transformation_is_perfectly_invariant_for_any_model() -> None:
    X = _digits()
    for seed in range(3):  # random CNNs, nothing invariant about them
        out = RepresentationalInvariance(family="none", seed=seed)(model=_cnn(seed), data={"X": X})
        assert out["d_T"] == 0.0 and out["pair_distance"] == 0.0 and out["random_pair_distance"] > 1e-3
    # the same models are far from invariant to a real transformation
    assert RepresentationalInvariance(family="rotate")(model=_cnn(0), data={"X": X})["d_T"] > 0.3


def test_invariant_models_score_perfect_and_sensitive_ones_worse() -> None:
    X = _digits()
    net = _cnn(2).eval()
    m = RepresentationalInvariance(family="hflip")
    averaged = m(model=_FlipAveraged(net), data={"X": X})
    plain = m(model=net, data={"X": X})
    assert averaged["d_T"] < 1e-6 and averaged["random_pair_distance"] > 1e-3
    assert plain["d_T"] > 0.2  # the same network without the orbit average
    const = RepresentationalInvariance(family="rotate")(model=_Constant(), data={"X": X})
    assert const == {"d_T": 0.0, "pair_distance": 0.0, "random_pair_distance": 0.0}


def test_score_grows_with_the_strength_of_the_transformation() -> None:
    """Raw pixels as the representation: a wider rotation range moves them further."""
    X = _digits(150)
    pixels = torch.nn.Flatten()
    d = [RepresentationalInvariance(family="rotate", strength=s)(model=pixels, data={"X": X})["d_T"] for s in (0.0, 10.0, 30.0, 90.0)]
    assert d[0] < 1e-5 and all(a < b for a, b in zip(d, d[1:], strict=False)), d
    assert d[-1] > 0.5


def test_measure_errors() -> None:
    X, net = _digits(10), _cnn()
    m = RepresentationalInvariance()
    with pytest.raises(ValueError, match="trained model"):
        m(model=None, data={"X": X})
    with pytest.raises(ValueError, match="data"):
        m(model=net, data=None)
    with pytest.raises(ValueError, match="data_type"):
        m(model=net, data={"X": X, "data_type": "vector"})
    with pytest.raises(ValueError, match="shape"):
        m(model=net, data={"X": X.reshape(10, -1)})
    with pytest.raises(ValueError, match="at least 2"):
        m(model=net, data={"X": X[:1]})
    bad = X.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        m(model=net, data={"X": bad})
    with pytest.raises(TypeError, match="callable"):
        m(model=object(), data={"X": X})
    with pytest.raises(ValueError, match="strength"):
        RepresentationalInvariance(family="hflip", strength=0.5)
    with pytest.raises(ValueError, match="strength"):
        RepresentationalInvariance(family="scale", strength=1.0)
    with pytest.raises(ValueError, match="strength"):
        RepresentationalInvariance(family="rotate", strength=-5)
    with pytest.raises(ValueError, match="family"):
        RepresentationalInvariance(family="shear")
    with pytest.raises(ValueError, match="metrics"):
        RepresentationalInvariance(metrics=["cka"])
    with pytest.raises(ValueError, match="metrics"):
        RepresentationalInvariance(metrics=[])


def test_family_augmented_trains_on_transformed_batches() -> None:
    X = torch.tensor(_digits(32))
    y = torch.arange(32) % 10
    aug = ga.create("encoder", "family_augmented", in_channels=1, num_classes=10, family="rotate",
                    backbone_params={"channels": [8]}).eval()
    assert torch.equal(aug.embed(X), aug.backbone.embed(X)) and torch.equal(aug(X), aug.backbone(X))
    torch.manual_seed(7)
    a = aug.augment(X)
    torch.manual_seed(7)
    assert torch.equal(aug.augment(X), a)  # reseeding the global state (as the pipeline does per epoch) repeats it
    assert (a - X).abs().amax(dim=(1, 2, 3)).min() > 0  # every image is moved
    loss = torch.nn.functional.cross_entropy
    torch.manual_seed(7)
    assert float(aug.training_step(X, y, loss).detach()) == pytest.approx(float(loss(aug(a), y)), rel=1e-6)
    plain = ga.create("encoder", "family_augmented", in_channels=1, num_classes=10, family="none",
                      backbone_params={"channels": [8]}).eval()
    assert torch.equal(plain.augment(X), X)
    with pytest.raises(ValueError, match="family"):
        ga.create("encoder", "family_augmented", in_channels=1, num_classes=10, family="blur")
    with pytest.raises(ValueError, match="strength"):
        ga.create("encoder", "family_augmented", in_channels=1, num_classes=10, family="none", strength=3.0)
    with pytest.raises(ValueError, match="backbone"):
        ga.create("encoder", "family_augmented", in_channels=1, num_classes=10, backbone="transformed_digits")


def test_pipeline_rotation_training_makes_the_model_rotation_invariant(tmp_path: Path) -> None:
    """The shipped pipeline, shortened to 3 epochs: the model trained under random rotations has the
    lower d_T to rotations; the translate control does not favour it."""
    t0 = time.perf_counter()
    res = ga.Pipeline.from_yaml(PIPELINE, overrides=["train.epochs=3"]).run(runs_root=tmp_path, progress=False)
    rot, trans = res.metrics["measures"]["representational_invariance"], res.metrics["measures"]["representational_invariance_1"]
    assert rot["cnn_rotate"]["d_T"] < rot["cnn"]["d_T"] - 0.2, rot
    assert trans["cnn_rotate"]["d_T"] > trans["cnn"]["d_T"] - 0.05, trans
    assert time.perf_counter() - t0 < 60
