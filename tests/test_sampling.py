"""SG-MCMC chains (bsdl.inference.sampling) against closed-form posteriors, with ArviZ.

Tolerances come from the chains themselves: the Monte Carlo standard errors of the mean and
of the sd are ArviZ's (from the effective sample size), plus the step-size bias of the
kernel, which is of order ``lr`` in relative terms (stated at each use).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bsdl import MixtureGaussianPrior
from bsdl.exceptions import TrainingDivergedError
from bsdl.inference import sample_chains
from bsdl.results import PosteriorDraws

az = pytest.importorskip("arviz")

N, SIGMA2, SLAB = 200, 0.25, 2.0


def _loss(module, x, y):
    return 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()


def _problem(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(N, 3, generator=g, dtype=torch.float64)
    w = torch.tensor([1.0, -0.5, 0.0], dtype=torch.float64)
    y = x @ w + SIGMA2**0.5 * torch.randn(N, generator=g, dtype=torch.float64)
    return x, y


def _exact(x, y):
    """Posterior of w in y = x w + N(0, SIGMA2) with w ~ N(0, SLAB^2 I): mean, covariance."""
    xn, yn = x.numpy(), y.numpy()
    precision = xn.T @ xn / SIGMA2 + np.eye(3) / SLAB**2
    cov = np.linalg.inv(precision)
    return cov @ xn.T @ yn / SIGMA2, cov


def _start(x, y) -> nn.Module:
    lin = nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        lin.weight.copy_(torch.linalg.lstsq(x, y.unsqueeze(1)).solution.T)
    return lin


# a spike-and-slab prior that is the slab N(0, SLAB^2) up to 1e-9 of its mass
GAUSSIAN_PRIOR = MixtureGaussianPrior(lambda_=1 - 1e-9, sigma0=1e-3, sigma1=SLAB)


@pytest.mark.slow
@pytest.mark.parametrize("kernel", ["sgld", "sghmc"])
def test_chains_reproduce_the_conjugate_posterior(kernel):
    x, y = _problem()
    mean, cov = _exact(x, y)
    post = sample_chains(
        _start(x, y), _loss, x, y,
        prior=GAUSSIAN_PRIOR, kernel=kernel, lr=4e-2 if kernel == "sgld" else 4e-3,
        n_samples=400, thin=10, burn_in=500, n_chains=4, noise_var=SIGMA2, seed=1,
    )  # fmt: skip
    idata = post.to_inference_data()
    summary = az.summary(idata, kind="all", round_to="none")
    est_mean = summary["mean"].to_numpy()
    est_sd = summary["sd"].to_numpy()
    # Monte Carlo error from ArviZ (ESS-based), 4 se. The step-size bias: with x'x ~ n I the
    # kernel's step on the log posterior is h * curvature ~ lr (SGLD; lr / (1 - momentum) for
    # SGHMC), which inflates the variance by about that share / 2, the sd by lr / 4 < 1 %:
    # allow 2 % of the sd on top of the Monte Carlo error.
    assert np.all(np.abs(est_mean - mean) < 4 * summary["mcse_mean"].to_numpy() + 1e-4)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(est_sd - sd) < 4 * summary["mcse_sd"].to_numpy() + 0.02 * sd)
    # converged chains: R-hat near 1 (4 chains of about 80 effective draws each)
    assert np.all(summary["r_hat"].to_numpy() < 1.03)
    assert np.all(summary["ess_bulk"].to_numpy() > 150)


def test_r_hat_flags_chains_started_apart_and_stopped_early():
    x, y = _problem()

    def far(module, gen):  # starts 20 posterior sd apart, chain by chain
        module.weight.add_(torch.randn(module.weight.shape, generator=gen, dtype=torch.float64))

    common = dict(prior=GAUSSIAN_PRIOR, kernel="sgld", noise_var=SIGMA2, n_chains=4, seed=2)
    early = sample_chains(_start(x, y), _loss, x, y, lr=1e-4, n_samples=50, init=far, **common)
    rhat_early = az.rhat(early.to_inference_data())["theta"].to_numpy()
    assert rhat_early.max() > 1.5
    # step lr = 0.03 on a curvature ~ 1 relaxes in ~ 1/lr = 33 steps: 1000 burn-in steps
    # forget the start; 4000 more give ~ 60 effective draws per chain
    mixed = sample_chains(
        _start(x, y), _loss, x, y, lr=3e-2, n_samples=400, thin=10, burn_in=1000, init=far,
        **common,
    )  # fmt: skip
    rhat_mixed = az.rhat(mixed.to_inference_data())["theta"].to_numpy()
    assert rhat_mixed.max() < 1.05


def test_chains_are_reproducible_and_independent_of_n_jobs():
    x, y = _problem()
    kw = dict(prior=GAUSSIAN_PRIOR, kernel="sghmc", lr=1e-3, n_samples=20, n_chains=2,
              noise_var=SIGMA2, seed=5, batch_size=50)  # fmt: skip
    a = sample_chains(_start(x, y), _loss, x, y, n_jobs=1, **kw)
    b = sample_chains(_start(x, y), _loss, x, y, n_jobs=2, **kw)
    c = sample_chains(_start(x, y), _loss, x, y, n_jobs=1, **{**kw, "seed": 6})
    # Same seed, same draws whatever n_jobs: the joblib worker processes may round the last
    # bit of a float64 differently from the main process (BLAS paths), so the comparison
    # allows 1e-9 relative, far below any seed-to-seed difference (checked next).
    np.testing.assert_allclose(a["theta"], b["theta"], rtol=1e-9, atol=1e-12)
    assert not np.allclose(a["theta"], c["theta"], rtol=1e-3)
    assert not np.array_equal(a["theta"][0], a["theta"][1])  # chains differ


def test_mask_keeps_pruned_weights_at_zero_and_index_selects():
    x, y = _problem()
    start = _start(x, y)
    with torch.no_grad():
        start.weight[0, 2] = 0.0
    post = sample_chains(
        start, _loss, x, y, prior=GAUSSIAN_PRIOR, kernel="sgld", lr=5e-3, n_samples=30,
        noise_var=SIGMA2, mask=torch.tensor([1.0, 1.0, 0.0]), index=torch.tensor([0, 2]),
    )  # fmt: skip
    assert post["theta"].shape == (1, 30, 2)
    assert np.all(post["theta"][..., 1] == 0.0)
    assert np.all(post["theta"][..., 0] != 0.0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_chains=0), "n_chains"),
        (dict(n_samples=0), "n_samples"),
        (dict(thin=0), "thin"),
        (dict(burn_in=-1), "burn_in"),
        (dict(temperature=0.0), "temperature"),
        (dict(temperature=-1.0), "temperature"),
        (dict(kernel="adam"), "kernel"),
        (dict(noise_var=0.0), "noise_var"),
    ],
)
def test_bad_arguments_name_themselves(kwargs, match):
    x, y = _problem()
    base = dict(n_samples=5, lr=1e-3)
    with pytest.raises(ValueError, match=match):
        sample_chains(_start(x, y), _loss, x, y, **{**base, **kwargs})


def test_a_nan_during_sampling_names_the_chain_and_step():
    x, y = _problem()
    with pytest.raises(TrainingDivergedError, match="chain 0"):
        sample_chains(
            _start(x, y), _loss, x, y, kernel="sgld", lr=50.0, n_samples=200, noise_var=SIGMA2
        )


def test_posterior_draws_checks_shapes_and_builds_inference_data():
    rng = np.random.default_rng(0)
    post = PosteriorDraws(
        {"w": rng.normal(size=(2, 40, 3)), "sigma": rng.gamma(2.0, size=(2, 40))},
        sample_stats={"loss": rng.normal(size=(2, 40))},
    )
    idata = post.to_inference_data()
    summary = az.summary(idata)
    assert len(summary) == 4  # 3 weights and sigma
    assert "loss" in idata.sample_stats
    with pytest.raises(ValueError, match="same"):
        PosteriorDraws({"a": np.zeros((2, 5)), "b": np.zeros((3, 5))})
    with pytest.raises(ValueError, match="non-finite"):
        PosteriorDraws({"a": np.full((1, 3), np.nan)})
    with pytest.raises(ValueError, match="sample_stats"):
        PosteriorDraws({"a": np.zeros((1, 3))}, sample_stats={"loss": np.zeros(3)})
