import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import geoatlas as ga
from geoatlas.testing import check_descriptor
from geoatlas_plugins.schur_complement_entropy.sce import (
    KernelFeatures,
    schur_complement_entropy,
    schur_complement_entropy_from_kernels,
    schur_decomposition,
    schur_entropy_from_eigenvalues,
)


def _pairs(n=60, d=6, n_prompts=5, modes=3, seed=0):
    rng = np.random.default_rng(seed)
    prompts = rng.normal(size=(n_prompts, d))
    idx = rng.integers(0, n_prompts, n)
    T = prompts[idx] + 0.01 * rng.normal(size=(n, d))
    mode_dirs = rng.normal(size=(modes, d))
    I_ = T + 0.8 * mode_dirs[rng.integers(0, modes, n)] + 0.1 * rng.normal(size=(n, d))
    return T, I_


@pytest.mark.parametrize("kernel", ["cosine", "gaussian"])
def test_complement_is_regression_residual_covariance(kernel):
    T, I_ = _pairs()
    # 2 * rff_dim = 20 features < n = 60 pairs: C_TT is well conditioned, so the pseudo-inverse
    # and numpy's least squares agree to round-off
    dec = schur_decomposition(T, I_, kernel=kernel, sigma=2.0, rff_dim=10)
    phi = KernelFeatures(kernel, 2.0, 10, 0)
    FT, FI = phi(T), phi(I_)
    B, *_ = np.linalg.lstsq(FT, FI, rcond=None)  # uncentred least squares, no intercept
    R = FI - FT @ B
    assert np.abs(dec.complement - R.T @ R / len(T)).max() < 1e-10
    # the explicit Schur complement of the joint covariance (numpy block matrix)
    J = np.block([[FT.T @ FT, FT.T @ FI], [FI.T @ FT, FI.T @ FI]]) / len(T)
    k = FT.shape[1]
    S = J[k:, k:] - J[k:, :k] @ np.linalg.pinv(J[:k, :k], rcond=1e-10) @ J[:k, k:]
    assert np.abs(dec.complement - S).max() < 1e-10
    assert np.linalg.eigvalsh(dec.complement).min() > -1e-12
    assert np.abs(dec.complement + dec.text_part - dec.C_II).max() < 1e-9
    # k(x, x) = 1  =>  trace of the image covariance is 1
    assert abs(np.trace(dec.C_II) - 1) < 1e-12


@given(seed=st.integers(0, 1000), n=st.integers(5, 40))
@settings(max_examples=25, deadline=None)
def test_feature_and_kernel_routes_agree(seed, n):
    T, I_ = _pairs(n=n, seed=seed)
    # feature side (2m x 2m covariances) against the n x n kernel side (projector form)
    dec = schur_decomposition(T, I_, kernel="gaussian", sigma=1.5, rff_dim=30, seed=seed)
    img = schur_entropy_from_eigenvalues(np.linalg.eigvalsh(dec.complement), ref_scale=1.0)
    txt = schur_entropy_from_eigenvalues(np.linalg.eigvalsh(dec.text_part), ref_scale=1.0)
    phi = KernelFeatures("gaussian", 1.5, 30, seed)
    FT, FI = phi(T), phi(I_)
    s2 = schur_complement_entropy_from_kernels(FT @ FT.T, FI @ FI.T)
    assert abs(img - s2.image) < 1e-6 * img
    assert abs(txt - s2.text) < 1e-6 * txt
    s1 = schur_complement_entropy(T, I_, kernel="gaussian", sigma=1.5, rff_dim=30, seed=seed)
    assert abs(s1.image - img) < 1e-6 * img


def test_rff_approximates_exact_gaussian_kernel():
    T, I_ = _pairs(n=80, seed=1)
    sig = 3.0
    sq = lambda A: ((A[:, None] - A[None]) ** 2).sum(-1)  # noqa: E731
    exact = schur_complement_entropy_from_kernels(np.exp(-sq(T) / (2 * sig**2)), np.exp(-sq(I_) / (2 * sig**2)), rcond=1e-6)
    approx = schur_complement_entropy(T, I_, kernel="gaussian", sigma=sig, rff_dim=3000, seed=0, rcond=1e-6)
    assert abs(approx.image - exact.image) / exact.image < 0.1


def test_special_cases():
    rng = np.random.default_rng(0)
    I_ = rng.normal(size=(50, 4))
    # a single prompt: the complement is the centred covariance of the image features
    T = np.tile(rng.normal(size=(1, 4)), (50, 1))
    dec = schur_decomposition(T, I_, kernel="cosine")
    phi = I_ / np.linalg.norm(I_, axis=1, keepdims=True)
    assert np.abs(dec.complement - np.cov(phi, rowvar=False, ddof=0)).max() < 1e-12
    # images identical to their prompts: nothing left, SCE = 1, all variance is text-induced
    s = schur_complement_entropy(I_, I_, kernel="gaussian", sigma=1.0, rff_dim=50)
    assert abs(s.image - 1.0) < 1e-6
    # entropy functional: uniform spectrum l_i = 1/k gives exp(log k / 1) ... = k^(sum l) = k
    assert abs(schur_entropy_from_eigenvalues(np.full(4, 0.25)) - 4.0) < 1e-12
    with pytest.raises(ValueError, match="positive semi-definite"):
        schur_entropy_from_eigenvalues([1.0, -0.5])


def test_sce_grows_with_model_modes_at_fixed_prompts():
    vals = []
    for m in (1, 2, 4, 8):
        rng = np.random.default_rng(0)
        prompts = rng.normal(size=(4, 8))
        idx = rng.integers(0, 4, 300)
        T = prompts[idx]
        modes = 2.0 * rng.normal(size=(m, 8))
        I_ = T + modes[rng.integers(0, m, 300)] + 0.05 * rng.normal(size=(300, 8))
        vals.append(schur_complement_entropy(T, I_, kernel="gaussian", sigma=2.0, rff_dim=100).image)
    assert all(a < b for a, b in zip(vals[:-1], vals[1:], strict=True)), vals


def test_defocus_descriptor():
    T, I_ = _pairs(n=50)
    X = np.hstack([I_, T])
    d = ga.create("descriptor", "schur_defocus", text_dims=6, kernel="cosine")
    check_descriptor(d, X)
    F = d.fit(X).transform(X)
    phiT = T / np.linalg.norm(T, axis=1, keepdims=True)
    # defocused features are orthogonal (uncentred) to every text feature
    assert np.abs(phiT.T @ F / len(F)).max() < 1e-10
    dg = ga.create("descriptor", "schur_defocus", text_dims=6, kernel="gaussian", sigma=2.0, rff_dim=20).fit(X)
    assert dg.transform(X).shape == (50, 40)


def test_bad_input():
    T, I_ = _pairs(n=20)
    with pytest.raises(ValueError, match="same number of rows"):
        schur_decomposition(T[:10], I_)
    with pytest.raises(ValueError, match="NaN"):
        schur_decomposition(np.where(T > 1, np.nan, T), I_)
    with pytest.raises(ValueError, match="sigma"):
        schur_decomposition(T, I_, sigma=0)
    with pytest.raises(ValueError, match="kernel"):
        schur_decomposition(T, I_, kernel="rbf")
    with pytest.raises(ValueError, match="share the dimension"):
        schur_decomposition(T[:, :3], I_)
    with pytest.raises(ValueError, match="all-zero"):
        schur_decomposition(np.zeros_like(T), I_, kernel="cosine")
    with pytest.raises(ValueError, match="symmetric"):
        schur_complement_entropy_from_kernels(np.triu(np.ones((4, 4))), np.eye(4))
    with pytest.raises(ValueError, match="positive semi-definite"):
        schur_complement_entropy_from_kernels(-np.eye(4), np.eye(4))
    with pytest.raises(ValueError, match="text_dims"):
        ga.create("descriptor", "schur_defocus", text_dims=12).fit(np.hstack([I_, T]))
    with pytest.raises(RuntimeError, match="fitted"):
        ga.create("descriptor", "schur_defocus", text_dims=6).transform(np.hstack([I_, T]))


def test_reference_regularisation_is_the_authors_formula_and_differs_on_near_duplicates():
    """rcond='reference' = Lambda = C_II - C_IT (C_TT + 1e-12 I)^+ C_TI (the authors' code), written
    here with an eigendecomposition instead of pinv; on near-duplicate prompts with more features than
    pairs, C_TT is nearly singular and the default rcond gives a materially different score."""
    rng = np.random.default_rng(3)
    base = rng.normal(size=(5, 8))
    T = base[rng.integers(0, 5, 150)] + 0.01 * rng.normal(size=(150, 8))
    I_ = T + rng.normal(size=(4, 8))[rng.integers(0, 4, 150)] + 0.1 * rng.normal(size=(150, 8))
    def by_hand(dec, d):
        w, v = np.linalg.eigh(dec.C_TT + 1e-12 * np.eye(d))
        keep = np.abs(w) > d * np.finfo(float).eps * np.abs(w).max()  # pinv keeps |w| above the cut-off
        return dec.C_TI.T @ ((v[:, keep] / w[keep]) @ v[:, keep].T) @ dec.C_TI

    # moderately conditioned C_TT: the formula exactly
    T2, I2 = _pairs(n=200, d=6, n_prompts=50)
    dec2 = schur_decomposition(T2, I2, kernel="gaussian", sigma=2.0, rff_dim=10, seed=0, rcond="reference")
    tp2 = by_hand(dec2, 20)
    assert np.abs(dec2.text_part - tp2).max() < 1e-10 * np.abs(dec2.C_II).max()
    assert np.abs(dec2.complement - (dec2.C_II - tp2)).max() < 1e-10 * np.abs(dec2.C_II).max()
    # near-duplicate prompts: C_TT nearly singular; the authors' formula itself is only determined
    # to ~1e-5 here (inverted eigenvalues ~1e-13), and the default rcond moves the score by > 5 %
    kw = dict(kernel="gaussian", sigma=4.0, rff_dim=200, seed=0)
    dec = schur_decomposition(T, I_, **kw, rcond="reference")
    text_part = by_hand(dec, 400)
    assert np.abs(dec.text_part - text_part).max() < 1e-3 * np.abs(dec.text_part).max()
    lam = np.clip(np.linalg.eigvalsh(dec.complement), 0, None)
    ref = schur_complement_entropy(T, I_, **kw, rcond="reference")
    assert abs(ref.image - schur_entropy_from_eigenvalues(lam, ref_scale=np.trace(dec.C_II))) < 1e-8
    ours = schur_complement_entropy(T, I_, **kw)
    assert abs(ours.image - ref.image) / ref.image > 0.05  # the regularisation matters here (README)
    with pytest.raises(ValueError, match="rcond"):
        schur_complement_entropy(T, I_, **kw, rcond="ridge")
    with pytest.raises(ValueError, match="features"):
        schur_complement_entropy_from_kernels(np.eye(3), np.eye(3), rcond="reference")
    # moderately conditioned C_TT (fewer features than pairs, distinct prompts): both agree closely
    a = schur_complement_entropy(T2, I2, kernel="gaussian", sigma=2.0, rff_dim=10, seed=0)
    b = schur_complement_entropy(T2, I2, kernel="gaussian", sigma=2.0, rff_dim=10, seed=0, rcond="reference")
    assert abs(a.image - b.image) / b.image < 1e-6
