"""Frame averaging: exact invariance/equivariance, frame properties, degenerate frames, bad input."""

from __future__ import annotations

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_equivariance, check_group
from geoatlas_plugins.frame_averaging.frames import DegenerateFrameError, pca_frames, sign_patterns

GROUPS = [("o3", "o_n"), ("so3", "so3"), ("son", "son"), ("se3", "se3"), ("e3", "e_n")]


def _clouds(b: int = 4, p: int = 20, n: int = 3, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    scale = torch.arange(n, 0, -1, dtype=dtype)  # anisotropic: distinct eigenvalues
    return torch.randn(b, p, n, generator=gen, dtype=dtype) * scale + 0.5


@pytest.mark.parametrize("fa_group,core_group", GROUPS)
@pytest.mark.parametrize("output", ["invariant", "equivariant"])
def test_equivariance_with_core_groups(fa_group: str, core_group: str, output: str) -> None:
    torch.manual_seed(0)
    m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=20, group=fa_group, output=output, out_features=5).double()
    X = _clouds()
    rep = check_equivariance(m, ga.create("group", core_group), X, output=output, n_elements=8, atol=1e-9, rtol=1e-9)
    assert rep["max_error"] < 1e-9
    # the backbone alone is far from invariant: the check above can fail
    base = m.backbone
    R = ga.create("group", "so3").sample(1, torch.Generator().manual_seed(1), dtype=torch.float64)[0]
    if output == "invariant":
        assert (base(X @ R.T) - base(X)).abs().max() > 1e-3


def test_equivariant_vector_output_and_float32() -> None:
    torch.manual_seed(0)
    m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=16, group="se3", output="equivariant", output_type="vector", out_vectors=2)
    X = _clouds(p=16, dtype=torch.float32)
    y = m(X)
    assert y.shape == (4, 2, 3)
    rep = check_equivariance(m, ga.create("group", "se3"), X, output="equivariant", output_type="vector")
    assert rep["max_error"] < 1e-4
    # translations act on points but not on vectors: a point-output model must follow them
    mp = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=16, group="e3", output="equivariant")
    check_equivariance(mp, ga.create("group", "translations"), X, output="equivariant")


def test_two_dimensional_groups() -> None:
    torch.manual_seed(0)
    X = _clouds(n=2, p=12)
    for g, core in [("so2", "so2"), ("o2", "o_n"), ("se2", "se2")]:
        G = ga.create("group", core, n=2) if core == "o_n" else ga.create("group", core)
        m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=12, in_features=2, group=g, num_classes=3).double()
        assert check_equivariance(m, G, X)["max_error"] < 1e-10


def test_frame_properties() -> None:
    X = _clouds(b=3)
    for group, size in [("o_n", 8), ("son", 4), ("e_n", 8), ("se_n", 4)]:
        R, t = pca_frames(X, group)
        assert R.shape == (3, size, 3, 3)
        eye = torch.eye(3, dtype=X.dtype)
        assert (R.transpose(-1, -2) @ R - eye).abs().max() < 1e-12
        if group in ("son", "se_n"):
            assert (torch.linalg.det(R) - 1).abs().max() < 1e-12
        if group in ("e_n", "se_n"):
            assert torch.allclose(t, X.mean(1))
        else:
            assert t.abs().max() == 0
        # canonicalised clouds have diagonal covariance (axes = principal directions), compare numpy
        Xc = (X - t.unsqueeze(1)).unsqueeze(1) @ R
        C = Xc.transpose(-1, -2) @ Xc
        off = C - torch.diag_embed(torch.diagonal(C, dim1=-2, dim2=-1))
        assert off.abs().max() < 1e-9
    # frame equivariance F(gX) = g F(X) as sets: the sorted canonical clouds coincide
    G = ga.create("group", "e_n")
    g = G.sample(1, torch.Generator().manual_seed(3), dtype=torch.float64)[0]
    R1, t1 = pca_frames(X, "e_n")
    R2, t2 = pca_frames(G.act(g, X, "point_cloud"), "e_n")
    assert torch.allclose(t2, t1 @ g[:3, :3].T + g[:3, 3])
    Q = g[:3, :3]
    a = sorted(map(tuple, (Q @ R1[0]).reshape(8, -1).round(decimals=8).tolist()))
    b = sorted(map(tuple, R2[0].reshape(8, -1).round(decimals=8).tolist()))
    assert a == b


def test_sign_patterns() -> None:
    assert sign_patterns(3, special=False).shape == (8, 3)
    assert sign_patterns(3, special=True).shape == (4, 3)
    assert (sign_patterns(4, special=True).prod(-1) == 1).all()


def test_invariant_backbone_unchanged() -> None:
    """Averaging an already invariant function over any frame returns it unchanged."""

    class PairwiseDistances(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d = torch.cdist(x, x)
            return torch.stack([d.mean((1, 2)), d.amax((1, 2)), (d**2).sum((1, 2))], -1)

    f = PairwiseDistances()
    X = _clouds()
    fa = ga.create("encoder", "frame_averaging", backbone=f, group="e3", out_features=3)
    assert torch.allclose(fa(X), f(X), atol=1e-12)


def test_degenerate_frames_detected() -> None:
    cube = torch.tensor([[a, b, c] for a in (-1.0, 1.0) for b in (-1.0, 1.0) for c in (-1.0, 1.0)], dtype=torch.float64)
    X = torch.stack([cube, _clouds(b=1, p=8)[0]])
    with pytest.raises(DegenerateFrameError, match=r"indices \[0\]"):
        pca_frames(X, "se3")
    with pytest.raises(ValueError, match="repeated eigenvalues"):
        m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=8, group="se3", out_features=2).double()
        m(X)
    m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=8, group="se3", out_features=2, on_degenerate="warn").double()
    with pytest.warns(RuntimeWarning, match="degenerate PCA frame"):
        out = m(X)
    assert torch.isfinite(out).all()
    m.on_degenerate = "ignore"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m(X)
    # a single repeated point: all eigenvalues are zero
    with pytest.raises(DegenerateFrameError):
        pca_frames(torch.ones(1, 5, 3), "e_n")


def test_bad_input() -> None:
    m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=10, group="se3", out_features=2)
    with pytest.raises(ValueError, match="shape"):
        m(torch.randn(10, 3))
    with pytest.raises(ValueError, match="in_features"):
        m(torch.randn(2, 10, 2))
    with pytest.raises(ValueError, match="n_points"):
        m(torch.randn(2, 11, 3))
    with pytest.raises(ValueError, match="NaN"):
        x = torch.randn(2, 10, 3)
        x[0, 0, 0] = float("nan")
        m(x)
    with pytest.raises(TypeError, match="tensor"):
        m([torch.randn(10, 3)])
    with pytest.raises(ValueError, match="group"):
        ga.create("encoder", "frame_averaging", backbone="mlp", n_points=10, group="sl3", out_features=2)
    with pytest.raises(ValueError, match="output"):
        ga.create("encoder", "frame_averaging", backbone="mlp", n_points=10, output="covariant", out_features=2)
    with pytest.raises(ValueError, match="n_points"):
        ga.create("encoder", "frame_averaging", backbone="mlp", out_features=2)
    with pytest.raises(ValueError, match="out_features"):
        ga.create("encoder", "frame_averaging", backbone="mlp", n_points=10)
    with pytest.raises(TypeError, match="backbone"):
        ga.create("encoder", "frame_averaging", backbone=3, out_features=2)
    with pytest.raises(ValueError, match="on_degenerate"):
        ga.create("encoder", "frame_averaging", backbone="mlp", n_points=10, out_features=2, on_degenerate="maybe")
    G = ga.create("group", "e_n")
    with pytest.raises(TypeError, match="does not act on 'image'"):
        G.act(G.identity(), torch.randn(1, 1, 4, 4), "image")


def test_e_n_group_laws() -> None:
    check_group(ga.create("group", "e_n"))
    check_group(ga.create("group", "e_n", n=2))
    g = ga.create("group", "e_n").sample(64, torch.Generator().manual_seed(0), dtype=torch.float64)
    det = torch.linalg.det(g[:, :3, :3])
    assert (det.abs() - 1).abs().max() < 1e-12 and (det < 0).any() and (det > 0).any()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(4, 12))
def test_hypothesis_invariance(seed: int, p: int) -> None:
    torch.manual_seed(seed)
    X = _clouds(b=2, p=p, seed=seed)
    m = ga.create("encoder", "frame_averaging", backbone="mlp", n_points=p, group="e3", out_features=3, backbone_params={"hidden": [16]}).double()
    G = ga.create("group", "e_n")
    g = G.sample(1, torch.Generator().manual_seed(seed + 1), dtype=torch.float64)[0]
    assert (m(G.act(g, X, "point_cloud")) - m(X)).abs().max() < 1e-8


def test_point_mlp_backbone() -> None:
    torch.manual_seed(0)
    X = _clouds(p=16)
    base = ga.create("encoder", "point_mlp", num_classes=3).double()
    perm = torch.randperm(16)
    assert torch.allclose(base(X[:, perm]), base(X), atol=1e-12)  # permutation invariant
    fa = ga.create("encoder", "frame_averaging", backbone="point_mlp", group="se3", num_classes=3).double()
    assert check_equivariance(fa, ga.create("group", "se3"), X, atol=1e-9, rtol=1e-9)["max_error"] < 1e-9
    with pytest.raises(ValueError, match="num_classes"):
        ga.create("encoder", "point_mlp")
    with pytest.raises(ValueError, match="point clouds"):
        base(torch.randn(2, 5, 2))
