"""vae_passive_variables: a synthetic encoder with known active / passive / mixed dimensions, the
Gaussian total correlation in closed form and against scipy's entropies, the beta-VAE loss's KL
against torch.distributions, the measure's contract, bad input, the pipeline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import geoatlas as ga
from geoatlas.testing import check_measure
from geoatlas_plugins.vae_passive_variables.vae import gaussian_total_correlation

HERE = Path(__file__).resolve().parent.parent
PLUGIN = HERE.name


class SyntheticEncoder(torch.nn.Module):
    """mu = [W x (3 active), 0.05 U x (3 passive, correlated through U), mixed]; sigma^2 = 0.01
    (active), 1 (passive), and for one mixed dim 0.01 on half the inputs and 1 on the other half."""

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.W = torch.randn(5, 3, generator=g, dtype=torch.float64)
        u = torch.randn(5, 1, generator=g, dtype=torch.float64)
        self.U = u @ torch.ones(1, 3, dtype=torch.float64) + 0.1 * torch.randn(5, 3, generator=g, dtype=torch.float64)

    def encode(self, x):
        x = x.double()
        mu = torch.cat([x @ self.W, 0.05 * x @ self.U, x[:, :1]], 1)
        logvar = torch.cat([torch.full((len(x), 3), np.log(0.01)), torch.zeros(len(x), 3),
                            torch.where(x[:, 1:2] > 0, np.log(0.01), 0.0)], 1)
        return mu, logvar


def test_synthetic_encoder_known_dimensions():
    X = np.random.default_rng(0).normal(size=(4000, 5)).astype(np.float32)
    r = ga.create("measure", f"{PLUGIN}/passive_variables")(SyntheticEncoder(), {"X": X})
    assert r["labels"] == [0, 0, 0, 1, 1, 1, 2]
    assert (r["n_active"], r["n_passive"], r["n_mixed"]) == (3, 3, 1)
    # passive block: strongly correlated in the mean, not in samples (noise sd 1 >> 0.05 signal)
    assert r["passive_abs_corr_mean"] > 0.9 and r["passive_abs_corr_sampled"] < 0.05
    assert r["tc_mean"] > r["tc_sampled"]
    assert r["tc_mean"] - r["tc_mean_without_passive"] > 1.0  # most of the mean's TC is in the passive block


def test_without_model_takes_mu_logvar_columns_and_permutation_invariance():
    X = np.random.default_rng(1).normal(size=(500, 5)).astype(np.float32)
    mu, lv = SyntheticEncoder().encode(torch.tensor(X))
    A = torch.cat([mu, lv], 1).numpy()
    meas = ga.create("measure", f"{PLUGIN}/passive_variables")
    r = check_measure(meas, data={"X": A})
    assert "n_passive" in r["keys"]
    perm = np.array([6, 3, 0, 5, 1, 4, 2])
    a, b = meas(data={"X": A}), meas(data={"X": np.concatenate([A[:, :7][:, perm], A[:, 7:][:, perm]], 1)})
    assert np.array(b["labels"]).tolist() == np.array(a["labels"])[perm].tolist()
    assert b["tc_mean"] == pytest.approx(a["tc_mean"], rel=1e-9)


def test_gaussian_total_correlation_closed_forms():
    from scipy.stats import multivariate_normal, norm

    for rho in (0.0, 0.3, -0.8, 0.99):
        C = np.array([[1.0, rho], [rho, 1.0]])
        assert gaussian_total_correlation(C) == pytest.approx(-0.5 * np.log(1 - rho**2), abs=1e-12)
    A = np.random.default_rng(0).normal(size=(6, 6))
    S = A @ A.T + 0.5 * np.eye(6)
    ref = sum(norm(scale=np.sqrt(S[j, j])).entropy() for j in range(6)) - multivariate_normal(cov=S).entropy()
    assert gaussian_total_correlation(S) == pytest.approx(float(ref), abs=1e-10)
    assert gaussian_total_correlation(np.diag([1.0, 2.0, 3.0])) == pytest.approx(0.0, abs=1e-15)
    assert gaussian_total_correlation(np.ones((2, 2))) == float("inf")
    # the measure's TC of samples (-1/2 log det of the correlation matrix) = the covariance form
    from geoatlas_plugins.vae_passive_variables.vae import _tc

    Z = np.random.default_rng(2).multivariate_normal(np.zeros(6), S, size=3000)
    assert _tc(Z) == pytest.approx(gaussian_total_correlation(np.cov(Z, rowvar=False)), abs=1e-10)


def test_beta_vae_loss_matches_torch_kl_and_modes():
    torch.manual_seed(0)
    vae = ga.create("encoder", f"{PLUGIN}/beta_vae", in_features=8, out_features=3, hidden=[16])
    x = torch.randn(5, 8)
    vae.train()
    mu, logvar, xr = vae(x)
    loss = ga.create("loss", f"{PLUGIN}/beta_vae_elbo", beta=2.5)
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    kl = torch.distributions.kl_divergence(q, p).sum(1)
    ref = (0.5 * ((x - xr) ** 2).sum(1) + 2.5 * kl).mean()
    assert float(loss((mu, logvar, xr), {"x": x})) == pytest.approx(float(ref), abs=1e-5)
    assert float(loss([(mu, logvar, xr)], {"x": x, "views": [x]})) == pytest.approx(float(ref), abs=1e-5)
    vae.eval()
    assert torch.equal(vae(x), vae.encode(x)[0])


def test_bad_input_is_refused():
    meas = ga.create("measure", f"{PLUGIN}/passive_variables")
    with pytest.raises(ValueError, match="data="):
        meas(None, None)
    with pytest.raises(ValueError, match="2L"):
        meas(data={"X": np.zeros((5, 3))})
    with pytest.raises(ValueError, match="at least 3"):
        meas(data={"X": np.zeros((2, 4))})
    with pytest.raises(ValueError, match="NaN or Inf"):
        meas(data={"X": np.array([[0.0, np.nan], [1.0, 0.0], [1.0, 0.0]])})
    with pytest.raises(TypeError, match="encode"):
        meas(torch.nn.Linear(2, 2), {"X": np.zeros((4, 2), dtype=np.float32)})
    with pytest.raises(ValueError, match="passive_var"):
        ga.create("measure", f"{PLUGIN}/passive_variables", passive_var=0.0)
    with pytest.raises(ValueError, match="fraction"):
        ga.create("measure", f"{PLUGIN}/passive_variables", fraction=0.3)
    with pytest.raises(ValueError, match="beta"):
        ga.create("loss", f"{PLUGIN}/beta_vae_elbo", beta=-1.0)
    with pytest.raises(TypeError, match="mu, logvar, reconstruction"):
        ga.create("loss", f"{PLUGIN}/beta_vae_elbo")(torch.zeros(3, 2), {"x": torch.zeros(3, 2)})
    with pytest.raises(ValueError, match="hidden"):
        ga.create("encoder", f"{PLUGIN}/beta_vae", in_features=4, hidden=[0])
    with pytest.raises(ValueError, match="input features"):
        ga.create("encoder", f"{PLUGIN}/beta_vae", in_features=4).encode(torch.zeros(2, 5))


def test_pipeline_runs(tmp_path):
    for spec in sorted((HERE / "pipelines").glob("*.yaml")):
        text = spec.read_text()
        for kind, name in (("measure", "passive_variables"), ("encoder", "beta_vae"), ("name", "beta_vae_elbo")):
            text = text.replace(f"{kind}: {name}", f"{kind}: {PLUGIN}/{name}")
        text = text.replace("epochs: 30", "epochs: 8")
        res = ga.Pipeline.from_yaml(text).run(runs_root=tmp_path, progress=False)
        (m,) = res.metrics["measures"].values()
        (r,) = m.values()
        assert r["n_active"] + r["n_passive"] + r["n_mixed"] == 10
        assert r["tc_mean"] > r["tc_sampled"]
