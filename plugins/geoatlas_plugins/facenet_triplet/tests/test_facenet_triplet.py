"""FaceNet triplet loss: pytorch-metric-learning oracle (semi-hard miner + TripletMarginLoss), brute force, errors."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_loss


def _batch(seed, b=24, d=6, k=4, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(b) % k
    z = torch.randn(b, d, generator=g, dtype=dtype) + 1.5 * torch.randn(k, d, generator=g, dtype=dtype)[y]
    return z, y


def _pml(z, y, reducer=None, indices=None, mining="semihard"):
    from pytorch_metric_learning import distances, losses, miners, reducers

    dist = distances.LpDistance(normalize_embeddings=True, p=2, power=2)
    kw = {} if reducer is None else {"reducer": getattr(reducers, reducer)()}
    loss = losses.TripletMarginLoss(margin=0.2, distance=dist, **kw)
    if indices is None:
        indices = miners.TripletMarginMiner(margin=0.2, type_of_triplets=mining, distance=dist)(z, y)
    return loss(z, y, indices), indices


@pytest.mark.parametrize("seed", range(6))
def test_semihard_equals_pytorch_metric_learning(seed):
    z, y = _batch(seed)
    ours = ga.create("loss", "triplet")  # margin 0.2, semihard, all semi-hard negatives, mean
    value = float(ours(z, {"y": y}))
    ref, (a, p, n) = _pml(z, y)
    assert ours.last_n_triplets == len(a) > 0
    assert value == pytest.approx(float(ref), abs=1e-6)
    # the same index triplets, as sets
    from geoatlas_plugins.facenet_triplet.triplet import mine_triplets, squared_distances

    zz = torch.nn.functional.normalize(z, dim=1)
    mine = set(zip(*(t.tolist() for t in mine_triplets(squared_distances(zz), y, 0.2)), strict=True))
    assert mine == set(zip(a.tolist(), p.tolist(), n.tolist(), strict=True))
    # the paper's sum (eq. 3) = PML's SumReducer
    s = float(ga.create("loss", "triplet", reduction="sum")(z, {"y": y}))
    assert s == pytest.approx(float(_pml(z, y, "SumReducer")[0]), abs=1e-6)


def test_pml_default_distance_is_not_facenets():
    """PML's default LpDistance is not squared: its semi-hard set and loss differ from FaceNet's."""
    from pytorch_metric_learning import losses, miners

    z, y = _batch(0)
    idx = miners.TripletMarginMiner(margin=0.2, type_of_triplets="semihard")(z, y)
    ref = float(losses.TripletMarginLoss(margin=0.2)(z, y, idx))
    assert abs(ref - float(ga.create("loss", "triplet")(z, {"y": y}))) > 1e-3


def brute(z, y, margin, mining, selection):
    z = torch.nn.functional.normalize(z, dim=1)
    def d2(i, j):
        return float(((z[i] - z[j]) ** 2).sum())

    out = []
    for a, p in itertools.permutations(range(len(y)), 2):
        if y[a] != y[p]:
            continue
        c = [n for n in range(len(y)) if y[n] != y[a]]
        if mining == "semihard":
            c = [n for n in c if d2(a, p) < d2(a, n) < d2(a, p) + margin]
        elif mining == "hard":
            c = [n for n in c if d2(a, n) <= d2(a, p)]
        if not c:
            continue
        if selection == "hardest":
            c = [min(c, key=lambda n: d2(a, n))]
        out += [max(0.0, d2(a, p) - d2(a, n) + margin) for n in c]
    return out


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), b=st.integers(4, 12), k=st.integers(2, 4),
       mining=st.sampled_from(["semihard", "hard", "all"]), selection=st.sampled_from(["all", "hardest"]),
       margin=st.sampled_from([0.2, 0.5, 1.0]))
def test_against_brute_force(seed, b, k, mining, selection, margin):
    z, y = _batch(seed, b=b, d=3, k=k)
    ref = brute(z, y, margin, mining, selection)
    loss = ga.create("loss", "triplet", margin=margin, mining=mining, selection=selection, reduction="sum")
    assert float(loss(z, {"y": y})) == pytest.approx(sum(ref), abs=1e-12)
    assert loss.last_n_triplets == len(ref)


def test_random_selection_picks_a_semihard_candidate():
    from geoatlas_plugins.facenet_triplet.triplet import mine_triplets, squared_distances

    z, y = _batch(3)
    d2 = squared_distances(torch.nn.functional.normalize(z, dim=1))
    a, p, n = mine_triplets(d2, y, 0.2, "semihard", "random", torch.Generator().manual_seed(0))
    ap, an = d2[a, p], d2[a, n]
    assert len(a) > 0 and bool(((an > ap) & (an < ap + 0.2)).all()) and bool((y[a] != y[n]).all())
    pairs = set(zip(*(t.tolist() for t in mine_triplets(d2, y, 0.2)[:2]), strict=True))
    assert set(zip(a.tolist(), p.tolist(), strict=True)) == pairs  # one triplet per pair that has a candidate


def test_views_share_identity_and_unit_sphere():
    g = torch.Generator().manual_seed(0)
    z1 = torch.randn(8, 5, generator=g, dtype=torch.float64)
    z2 = z1 + 0.3 * torch.randn(8, 5, generator=g, dtype=torch.float64)
    loss = ga.create("loss", "triplet", mining="all")
    via_views = float(loss([z1, z2], {}))
    via_labels = float(loss(torch.cat([z1, z2]), {"y": torch.arange(8).repeat(2)}))
    assert via_views == pytest.approx(via_labels, abs=1e-12)
    assert float(loss([3 * z1, 0.1 * z2], {})) == pytest.approx(via_views, abs=1e-12)  # scale-free: on the sphere
    # with labels in the batch, the views use them
    y = torch.arange(8) % 2
    assert float(loss([z1, z2], {"y": y})) == pytest.approx(float(loss(torch.cat([z1, z2]), {"y": y.repeat(2)})), abs=1e-12)


def test_check_loss_and_no_triplet():
    z, y = _batch(1, b=12)
    z = z.float().requires_grad_(True)
    check_loss(ga.create("loss", "triplet"), z, {"x": z, "y": y})
    # well-separated clusters: no semi-hard triplet, loss 0 with a zero gradient
    e = torch.eye(4, dtype=torch.float64).repeat_interleave(3, 0).requires_grad_(True)
    out = ga.create("loss", "triplet")(e, {"y": torch.arange(4).repeat_interleave(3)})
    assert float(out) == 0.0
    out.backward()
    assert float(e.grad.abs().max()) == 0.0


def test_bad_input():
    with pytest.raises(ValueError, match="margin"):
        ga.create("loss", "triplet", margin=0)
    with pytest.raises(TypeError, match="margin"):
        ga.create("loss", "triplet", margin="big")
    with pytest.raises(ValueError, match="mining"):
        ga.create("loss", "triplet", mining="hardest")
    with pytest.raises(ValueError, match="selection"):
        ga.create("loss", "triplet", selection="semihard")
    with pytest.raises(ValueError, match="reduction"):
        ga.create("loss", "triplet", reduction="max")
    loss = ga.create("loss", "triplet")
    z = torch.randn(6, 4)
    with pytest.raises(ValueError, match="batch\\['y'\\]"):
        loss(z, {})
    with pytest.raises(ValueError, match="shape"):
        loss(z, {"y": torch.zeros(5, dtype=torch.long)})
    with pytest.raises(TypeError, match="integer"):
        loss(z, {"y": torch.zeros(6)})
    with pytest.raises(ValueError, match="NaN"):
        loss(torch.full((6, 4), float("nan")), {"y": torch.arange(6)})
    with pytest.raises(ValueError, match="same shape"):
        loss([z, torch.randn(5, 4)], {})
    with pytest.raises(ValueError, match="n_views"):
        loss([z], {})
    with pytest.raises(ValueError, match="at least 2"):
        loss(z[:1], {"y": torch.zeros(1, dtype=torch.long)})
    with pytest.raises(TypeError, match="outputs"):
        loss("z", {"y": torch.arange(6)})
