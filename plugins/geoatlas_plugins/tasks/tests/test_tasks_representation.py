"""The representation task: pre-training helps the probes, seeded views, split, clear spec errors."""

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.errors import GeoatlasError, SpecError
from geoatlas.pipeline.runner import Pipeline
from geoatlas.pipeline.spec import SplitSpec
from geoatlas.testing.kinds import check_task
from geoatlas_plugins.tasks.representation import make_views

AFFINE = {"name": "affine_sl", "params": {"spd_scale": 0.1, "translation_scale": 0.15, "rotation_range": 0.3}}


def _spec(epochs, **over):
    spec = {
        "name": "rep_test", "seed": 0,
        "task": {"name": "representation", "params": {"embedding_dim": 32}},
        "data": {"dataset": "sklearn_digits", "params": {"n_samples": 500}},
        "model": {"encoder": "cnn", "params": {"channels": [8, 16]}},
        "pretrain": {"loss": "info_nce", "views": {"group": AFFINE, "noise": 0.05, "n_views": 2},
                     "epochs": epochs, "batch_size": 64, "lr": 3e-3, "probes": ["linear", "knn"]},
        "plots": False,
    }
    spec.update(over)
    return spec


def test_pretraining_beats_random_encoder(tmp_path):
    runs = {e: Pipeline.from_dict(_spec(e, executor={"threads": 1})).run(runs_root=tmp_path, progress=False)["model"]
            for e in (0, 6)}
    rand, pre = runs[0], runs[6]
    assert set(pre["probes"]) == {"linear", "knn"}
    assert pre["accuracy"] == pre["probes"]["linear"]["accuracy"]  # the first probe's predictions
    # measured: linear 0.776 -> 0.904, chance 0.1
    assert pre["probes"]["linear"]["accuracy"] > rand["probes"]["linear"]["accuracy"] + 0.05
    assert pre["probes"]["linear"]["accuracy"] > 0.8
    assert pre["epochs"] == 6 and pre["final_train_loss"] > 0


def test_views_are_seeded():
    x = torch.rand(5, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    views = make_views(ga.create("group", AFFINE["name"], **AFFINE["params"]), "image", 0.1, 3)
    a = views(x, torch.Generator().manual_seed(7))
    b = views(x, torch.Generator().manual_seed(7))
    c = views(x, torch.Generator().manual_seed(8))
    assert len(a) == 3 and all(v.shape == x.shape for v in a)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    assert not torch.equal(a[0], c[0]) and not torch.equal(a[0], a[1])
    # noise only, and ragged point clouds acted on one by one
    pts = [torch.randn(4, 3), torch.randn(6, 3)]
    pv = make_views(ga.create("group", "so3"), "point_cloud", 0.0, 2)(pts, torch.Generator().manual_seed(1))
    assert [p.shape for p in pv[0]] == [(4, 3), (6, 3)]
    assert torch.allclose(pv[0][1].norm(dim=1), pts[1].norm(dim=1), atol=1e-5)  # rotations keep norms
    nv = make_views(None, "image", 0.5, 2)(x, torch.Generator().manual_seed(2))
    assert not torch.equal(nv[0], x) and torch.allclose((nv[0] - x).std(), torch.tensor(0.5), atol=0.05)


def test_views_reject_a_group_that_cannot_act(tmp_path):
    with pytest.raises(TypeError, match="'so2' does not act on 'image'"):
        make_views(ga.create("group", "so2"), "image", 0.0, 2)
    spec = _spec(1)
    spec["pretrain"]["views"]["group"] = "so2"
    with pytest.raises(GeoatlasError, match="does not act on 'image'"):
        Pipeline.from_dict(spec).run(runs_root=tmp_path, progress=False)


def test_split():
    task = ga.create("task", "representation")
    bundle = ga.create("dataset", "sklearn_digits", n_samples=200).load()
    rep = check_task(task, bundle, SplitSpec(test=0.25), seed=3)
    assert rep == {"n_train": 150, "n_test": 50}
    part = task.split(bundle, SplitSpec(test=0.25), 3)
    assert np.bincount(part["y_test"]).min() >= 4  # stratified


def test_bad_specs():
    no_pretrain = _spec(1)
    del no_pretrain["pretrain"]
    with pytest.raises(SpecError, match="needs a `pretrain:` section"):
        Pipeline.from_dict(no_pretrain).validate()
    on_classification = _spec(1, task="classification")
    with pytest.raises(SpecError, match="has no pre-training stage"):
        Pipeline.from_dict(on_classification).validate()
    typo = _spec(1)
    typo["task"]["params"] = {"embeding_dim": 32}
    with pytest.raises(SpecError, match="embeding_dim"):
        Pipeline.from_dict(typo).validate()
    regression = _spec(1)
    regression["data"] = {"dataset": "local_arrays", "params": {"path": "x.npz", "task": "regression"}}
    with pytest.raises(SpecError):
        Pipeline.from_dict(regression).validate()
    with pytest.raises(ValueError, match="embedding_dim"):
        ga.create("task", "representation", embedding_dim=0)
