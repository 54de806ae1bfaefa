"""Tests of the mixture-Gaussian spike-and-slab prior (``bsdl.priors``).

Every reference value is computed independently of the code under test, in float64, from
scipy's normal densities (``scipy.stats.norm``), root finding (``brentq``) and quadrature
(``quad``). Random draws use fixed seeds inside ``torch.random.fork_rng`` so the global RNG
is left as it was found.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pyro
import pyro.distributions as dist
import pytest
import torch
from scipy import integrate, optimize, stats

from bsdl.priors import MixtureGaussianPrior

# (lambda_, sigma0, sigma1), all with a positive threshold:
CASES = [
    (1e-5, 1e-2, 1e-1),  # the example of the public API
    (1e-7, 1e-3, 1e-1),  # the papers' values: from_variances(1e-7, 1e-6, 1e-2)
    (0.5, 0.3, 2.0),  # moderate values (used for NUTS below)
    (0.1, 1e-4, 1.0),
    (1e-3, 0.05, 0.06),  # spike and slab of nearly the same width: threshold far in the tail
    (0.3, 1e-8, 1.0),  # the narrowest spike the prior promises to handle
]
CASE_IDS = [f"lam={lam:g},s0={s0:g},s1={s1:g}" for lam, s0, s1 in CASES]


def _log_slab_minus_log_spike(w, lam, s0, s1):
    """log[lambda phi(w; s1)] - log[(1-lambda) phi(w; s0)] from scipy's log densities."""
    return (math.log(lam) + stats.norm.logpdf(w, 0.0, s1)) - (
        math.log1p(-lam) + stats.norm.logpdf(w, 0.0, s0)
    )


def _direct_log_mixture(w, lam, s0, s1):
    """log(lambda phi1 + (1-lambda) phi0) from raw float64 densities (may underflow to -inf)."""
    with np.errstate(divide="ignore"):
        return np.log(lam * stats.norm.pdf(w, 0.0, s1) + (1 - lam) * stats.norm.pdf(w, 0.0, s0))


def _grid(lam, s0, s1):
    """Points across the spike, around the threshold and in the slab, both signs."""
    t = MixtureGaussianPrior(lam, s0, s1).threshold
    pos = [0.0, s0 / 2, s0, 3 * s0, t * (1 - 1e-3), t, t * (1 + 1e-3), s1, 3 * s1, 50.0, 1e3]
    return np.array(sorted({*pos, *(-p for p in pos)}))


# ---------------------------------------------------------------------------------- threshold
@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_threshold_is_root_of_half_inclusion(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    # q(w) = 1/2 <=> lambda phi1 = (1-lambda) phi0; solved in log space so that the bracket
    # [0, 100 s1] can reach far into the tails without both densities underflowing to 0.
    g = lambda w: _log_slab_minus_log_spike(w, lam, s0, s1)  # noqa: E731
    assert g(0.0) < 0 < g(100 * s1)
    root = optimize.brentq(g, 0.0, 100 * s1, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    # The closed form is a log, a few products and a sqrt: a few ulps. brentq stops at 4 eps
    # relative. 1e-10 leaves five orders of magnitude of slack and still catches any slip in the
    # formula (a missing factor 2 or a variance-for-sd mix-up changes t by O(1) relatively).
    assert prior.threshold == pytest.approx(root, rel=1e-10)
    # At the root, the raw densities give q = 1/2 where they are representable.
    d1 = lam * stats.norm.pdf(root, 0.0, s1)
    d0 = (1 - lam) * stats.norm.pdf(root, 0.0, s0)
    if d0 + d1 > 1e-250:
        assert d1 / (d1 + d0) == pytest.approx(0.5, abs=1e-8)
    # ...and the code's own inclusion probability switches there.
    q = prior.inclusion_probability(torch.tensor(root, dtype=torch.float64)).item()
    assert q == pytest.approx(0.5, abs=1e-8)


def test_threshold_papers_values_from_variances():
    prior = MixtureGaussianPrior.from_variances(1e-7, 1e-6, 1e-2)
    assert (prior.lambda_, prior.sigma0, prior.sigma1) == pytest.approx((1e-7, 1e-3, 1e-1))
    g = lambda w: _log_slab_minus_log_spike(w, 1e-7, 1e-3, 1e-1)  # noqa: E731
    root = optimize.brentq(g, 0.0, 10.0, xtol=1e-300, rtol=4 * np.finfo(float).eps)
    assert prior.threshold == pytest.approx(root, rel=1e-10)
    # Hand value: t^2 = 2e-6*1e-2/(1e-2-1e-6) * log((1-1e-7)/1e-7 * 100).
    assert prior.threshold == pytest.approx(0.006438219982, rel=1e-9)


@pytest.mark.parametrize(
    ("lam", "s0", "s1"),
    [(0.9, 0.5, 1.0), (0.99, 0.1, 1.0), (0.95, 0.3, 0.31)],
)
def test_threshold_zero_when_log_ratio_nonpositive(lam, s0, s1):
    assert math.log((1 - lam) / lam * s1 / s0) <= 0  # the regime under test
    prior = MixtureGaussianPrior(lam, s0, s1)
    assert prior.threshold == 0.0
    # Every weight, even w = 0, is then more likely slab than spike.
    w = torch.tensor([0.0, 1e-3, 1.0, -5.0], dtype=torch.float64)
    assert bool((prior.inclusion_probability(w) >= 0.5).all())


def test_threshold_at_the_boundary_is_zero():
    # (1 - 2/3)/(2/3) * 1/0.5 = 1 exactly in real arithmetic, so t = 0; rounding of the log
    # may leave ~1e-16, whose square root scaled by sigma0 is ~1e-8: allow that much.
    prior = MixtureGaussianPrior(2 / 3, 0.5, 1.0)
    assert prior.threshold == pytest.approx(0.0, abs=1e-7)


# ---------------------------------------------------------------------- inclusion probability
@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_inclusion_probability_matches_direct_formula(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    w = np.concatenate([_grid(lam, s0, s1), np.linspace(-4 * s1, 4 * s1, 401)])
    d1 = lam * stats.norm.pdf(w, 0.0, s1)
    d0 = (1 - lam) * stats.norm.pdf(w, 0.0, s0)
    ok = d0 + d1 > 1e-250  # away from subnormals, the direct formula is accurate to ~1e-15
    assert ok.sum() > 100
    direct = d1[ok] / (d1[ok] + d0[ok])
    got = prior.inclusion_probability(torch.tensor(w[ok], dtype=torch.float64)).numpy()
    # The sigmoid of the log odds has an absolute logit error of ~eps * |w^2/(2 s0^2)| <= ~700
    # eps ~ 2e-13 where the densities are representable, so |dq| <= q(1-q) * 2e-13 < 1e-13.
    np.testing.assert_allclose(got, direct, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_inclusion_probability_bounded_symmetric_monotone(lam, s0, s1, dtype):
    prior = MixtureGaussianPrior(lam, s0, s1)
    mag = torch.cat([torch.zeros(1), torch.logspace(-10, 3, 400)]).to(dtype)  # up to |w| = 1e3
    q = prior.inclusion_probability(mag)
    assert q.dtype == dtype
    assert bool(torch.isfinite(q).all())
    assert bool(((q >= 0) & (q <= 1)).all())
    assert torch.equal(q, prior.inclusion_probability(-mag))
    # Non-decreasing in |w| (exactly: the logit is a monotone function computed elementwise).
    assert bool((q[1:] >= q[:-1]).all())
    # Far out every weight is slab; at 0 the prior odds times sigma0/sigma1.
    assert q[-1].item() == 1.0
    q0 = lam * s0 / (lam * s0 + (1 - lam) * s1)
    assert q[0].item() == pytest.approx(q0, rel=1e-5 if dtype == torch.float32 else 1e-12)


def test_inclusion_logit_and_probability_accept_python_floats():
    prior = MixtureGaussianPrior(0.5, 0.3, 2.0)
    t = prior.threshold
    assert prior.inclusion_logit(t).item() == pytest.approx(0.0, abs=1e-6)
    assert prior.inclusion_probability(0.0).item() < 0.5 < prior.inclusion_probability(1.0).item()


# ------------------------------------------------------------------------------------ log_prob
@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_log_prob_matches_direct_mixture(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    w = np.concatenate([_grid(lam, s0, s1), np.linspace(-5 * s1, 5 * s1, 301)])
    got = prior.log_prob(torch.tensor(w, dtype=torch.float64)).numpy()
    direct = _direct_log_mixture(w, lam, s0, s1)
    ok = direct > -690  # mixture density > 1e-300: the direct float64 formula is representable
    assert ok.sum() > 100
    # Both are log of a sum of two positive terms: relative error a few eps of the larger
    # term's log. 1e-12 (relative, plus 1e-12 absolute near log pi = 0) is ~5000 eps.
    np.testing.assert_allclose(got[ok], direct[ok], rtol=1e-12, atol=1e-12)
    # Where the direct formula underflows the slab term dominates by a factor exp(>40): there
    # log pi = log(lambda) + log phi(w; s1) to within exp(-40) ~ 4e-18 absolute.
    far = ~ok
    if far.any():
        slab = math.log(lam) + stats.norm.logpdf(w[far], 0.0, s1)
        spike = math.log1p(-lam) + stats.norm.logpdf(w[far], 0.0, s0)
        assert np.all(slab - spike > 40)
        np.testing.assert_allclose(got[far], slab, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("s0", [1e-8, 1e-6, 1e-3])
def test_log_prob_and_gradient_finite_at_extremes(s0, dtype):
    prior = MixtureGaussianPrior(1e-5, s0, 1.0)
    mags = [0.0, 1e-12, 1e-9, s0, prior.threshold, 1e-2, 1.0, 10.0, 1e2, 1e3]
    w = torch.tensor(sorted({*mags, *(-m for m in mags)}), dtype=dtype, requires_grad=True)
    lp = prior.log_prob(w)
    assert lp.dtype == dtype
    assert bool(torch.isfinite(lp).all())
    (g,) = torch.autograd.grad(lp.sum(), w)
    assert bool(torch.isfinite(g).all())
    # float32 agrees with float64: the spike's log density at w = 0 is ~ +17 and the slab's at
    # |w| = 1e3 is ~ -5e5; float32 carries ~6e-8 relative, 1e-5 leaves ample slack.
    ref = prior.log_prob(w.detach().double())
    np.testing.assert_allclose(lp.detach().double().numpy(), ref.numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_log_prob_integrates_to_one(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    t = prior.threshold

    def density(w):
        return math.exp(prior.log_prob(torch.tensor(w, dtype=torch.float64)).item())

    # Split at 0, at +-t and at +-20 sd of each component, so that every piece is finite
    # except the two outer ones (mass < 1e-80) and quad never hunts for a narrow spike
    # inside an infinite interval.
    cuts = sorted({0.0, t, -t, 20 * s0, -20 * s0, 20 * s1, -20 * s1})
    edges = [-np.inf, *cuts, np.inf]
    total = sum(
        integrate.quad(density, a, b, epsabs=1e-11, epsrel=1e-10, limit=200)[0]
        for a, b in zip(edges[:-1], edges[1:], strict=True)
    )
    # quad is asked for 1e-10 relative per piece; 1e-8 absolute on the total is generous
    # yet catches any normalising-constant slip (a missing 1/sqrt(2 pi) is a factor 2.5).
    assert total == pytest.approx(1.0, abs=1e-8)


# ----------------------------------------------------------------------------------- gradients
def _autograd_neg_log_prob(prior, w):
    w = w.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(-prior.log_prob(w).sum(), w)
    return g


@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_grad_neg_log_prob_matches_autograd_float64(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    w = torch.tensor(_grid(lam, s0, s1), dtype=torch.float64)
    ref = _autograd_neg_log_prob(prior, w)
    got = prior.grad_neg_log_prob(w)
    assert got.dtype == torch.float64
    # Both are w * (positive weights / variances): no cancellation, so a relative 1e-10 (far
    # above the ~1e-14 from the logit's rounding) is safe; w = 0 must give exactly 0.
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=0.0)
    # The formula in the docstring: w * (s/s0^2 + (1-s)/s1^2), s = 1 - q(w).
    s = 1 - prior.inclusion_probability(w)
    torch.testing.assert_close(got, w * (s / s0**2 + (1 - s) / s1**2), rtol=1e-10, atol=0.0)


@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_grad_neg_log_prob_matches_autograd_float32(lam, s0, s1):
    prior = MixtureGaussianPrior(lam, s0, s1)
    w64 = torch.tensor(_grid(lam, s0, s1), dtype=torch.float64)
    w = w64.float()
    got = prior.grad_neg_log_prob(w)
    assert got.dtype == torch.float32
    # Near the threshold the slab/spike weight s comes from a logit that is the difference of
    # two O(10) numbers: float32 absolute error ~ 10 * 6e-8, relative error in s ~ 2e-6. The
    # gradient has no further cancellation. rtol 1e-4 covers that with a 50x margin.
    torch.testing.assert_close(got, _autograd_neg_log_prob(prior, w), rtol=1e-4, atol=0.0)
    ref64 = prior.grad_neg_log_prob(w.double())  # same float32 inputs, float64 arithmetic
    torch.testing.assert_close(got.double(), ref64, rtol=1e-4, atol=0.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("lam", "s0", "s1"), CASES, ids=CASE_IDS)
def test_add_grad_matches_autograd(lam, s0, s1, dtype):
    prior = MixtureGaussianPrior(lam, s0, s1)
    params = torch.tensor(_grid(lam, s0, s1), dtype=dtype)
    params_before = params.clone()
    gen = torch.Generator().manual_seed(1)
    grad0 = torch.randn(params.shape, generator=gen, dtype=dtype)
    grad = grad0.clone()
    scale = 0.37
    prior.add_grad_(params, grad, scale)
    assert torch.equal(params, params_before)  # params are read, never written
    expected = grad0 + scale * _autograd_neg_log_prob(prior, params)
    # Same tolerances as the grad_neg_log_prob tests (see there); the O(1) grad0 added to
    # O(w/s0^2) terms only helps. A small atol covers entries where grad0 + scale*g ~ 0.
    rtol = 1e-10 if dtype == torch.float64 else 1e-4
    torch.testing.assert_close(grad, expected, rtol=rtol, atol=rtol)


def test_add_grad_on_parameter_keeps_grad_a_leaf():
    # Regression: add_grad_ used to record autograd history into p.grad when p requires grad.
    prior = MixtureGaussianPrior(0.1, 0.01, 1.0)
    p = torch.nn.Parameter(torch.linspace(-2, 2, 9))
    p.grad = torch.zeros_like(p)
    prior.add_grad_(p, p.grad, 1.0)
    assert p.grad.grad_fn is None and not p.grad.requires_grad and p.grad.is_leaf
    torch.testing.assert_close(p.grad, prior.grad_neg_log_prob(p.detach()))


# ---------------------------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"sigma0": 1.0, "sigma1": 1.0}, ValueError, "sigma0"),  # equal widths
        ({"sigma0": 2.0, "sigma1": 1.0}, ValueError, "sigma0"),  # spike wider than slab
        ({"lambda_": 0.0}, ValueError, "lambda_"),
        ({"lambda_": 1.0}, ValueError, "lambda_"),
        ({"lambda_": -0.1}, ValueError, "lambda_"),
        ({"lambda_": 1.5}, ValueError, "lambda_"),
        ({"lambda_": float("nan")}, ValueError, "lambda_"),
        ({"sigma0": float("nan")}, ValueError, "sigma0"),
        ({"sigma1": float("inf")}, ValueError, "sigma1"),
        ({"sigma0": float("-inf")}, ValueError, "sigma0"),
        ({"sigma0": -1e-3}, ValueError, "sigma0"),
        ({"sigma0": 0.0}, ValueError, "sigma0"),
        ({"sigma1": -1.0}, ValueError, "sigma1"),
        ({"lambda_": "0.1"}, TypeError, "lambda_"),
        ({"sigma0": "1e-2"}, TypeError, "sigma0"),
        ({"sigma1": None}, TypeError, "sigma1"),
        ({"lambda_": True}, TypeError, "lambda_"),
        ({"sigma1": True}, TypeError, "sigma1"),
        ({"sigma0": [1e-2]}, TypeError, "sigma0"),
    ],
)
def test_constructor_validation_names_the_argument(kwargs, exc, name):
    args = {"lambda_": 1e-5, "sigma0": 1e-2, "sigma1": 1e-1, **kwargs}
    with pytest.raises(exc, match=name):
        MixtureGaussianPrior(**args)


def test_numpy_scalars_accepted():
    prior = MixtureGaussianPrior(np.float64(0.1), np.float32(0.01), np.int64(1))
    assert prior.to_dict() == pytest.approx({"lambda_": 0.1, "sigma0": 0.01, "sigma1": 1.0})
    assert all(type(v) is float for v in prior.to_dict().values())


def test_from_variances_and_with_sigma0_validate():
    with pytest.raises(ValueError, match="var0"):
        MixtureGaussianPrior.from_variances(1e-7, -1e-6, 1e-2)
    with pytest.raises(TypeError, match="var1"):
        MixtureGaussianPrior.from_variances(1e-7, 1e-6, "1e-2")
    with pytest.raises(ValueError, match="lambda_"):
        MixtureGaussianPrior.from_variances(2.0, 1e-6, 1e-2)
    with pytest.raises(ValueError, match="sigma0"):
        MixtureGaussianPrior.from_variances(1e-7, 1e-2, 1e-2)
    prior = MixtureGaussianPrior(1e-5, 1e-2, 1e-1)
    with pytest.raises(ValueError, match="sigma0"):
        prior.with_sigma0(0.5)
    with pytest.raises(TypeError, match="sigma0"):
        prior.with_sigma0("small")


def test_to_dict_with_sigma0_expand_round_trip():
    prior = MixtureGaussianPrior(1e-5, 1e-2, 1e-1)
    assert prior.to_dict() == {"lambda_": 1e-5, "sigma0": 1e-2, "sigma1": 1e-1}
    assert MixtureGaussianPrior(**prior.to_dict()).threshold == prior.threshold
    annealed = prior.expand((4,)).with_sigma0(1e-3)
    assert annealed.to_dict() == {"lambda_": 1e-5, "sigma0": 1e-3, "sigma1": 1e-1}
    assert annealed.batch_shape == (4,)
    assert annealed.threshold < prior.threshold  # narrower spike, smaller threshold
    assert prior.sigma0 == 1e-2  # the original is untouched
    assert "sigma0=0.01" in repr(prior)
    assert prior.variance.item() == pytest.approx(1e-5 * 1e-2 + (1 - 1e-5) * 1e-4)


# ------------------------------------------------------------------------------------ sampling
def _truncated_second_moment(s, c):
    """E[w^2; |w| < c] for w ~ N(0, s^2)."""
    z = c / s
    return s**2 * ((2 * stats.norm.cdf(z) - 1) - 2 * z * stats.norm.pdf(z))


def test_sample_slab_fraction_and_component_widths():
    lam, s0, s1, n = 0.3, 1e-3, 1.0, 20_000
    prior = MixtureGaussianPrior(lam, s0, s1)
    with torch.random.fork_rng():
        torch.manual_seed(12345)
        w = prior.sample((n,)).double().numpy()
    assert w.shape == (n,)
    # Classify by |w| > c with c = 6 s0: a spike draw exceeds it with prob 2e-9; a slab draw
    # falls below it with prob 0.005. The expected fraction above c is exact, not ~lambda:
    c = 6 * s0
    p_above = lam * 2 * stats.norm.sf(c / s1) + (1 - lam) * 2 * stats.norm.sf(c / s0)
    assert abs(p_above - lam) < 0.01 * lam
    above = np.abs(w) > c
    frac = above.mean()
    se = math.sqrt(p_above * (1 - p_above) / n)  # binomial standard error, ~0.0032
    assert abs(frac - p_above) < 4 * se, (frac, p_above, se)
    assert abs(frac - lam) < 4 * se + abs(p_above - lam)

    # Mean of w^2 within each class against its exact value under the mixture; 4 standard
    # errors of a mean of m iid draws. This pins the spike and slab standard deviations
    # (sd ~ sqrt of these) to about 4 * sqrt(1/(2m)) ~ 2 % (spike) / 3 % (slab).
    m_below = lam * _truncated_second_moment(s1, c) + (1 - lam) * _truncated_second_moment(s0, c)
    m_above = lam * (s1**2 - _truncated_second_moment(s1, c)) + (1 - lam) * (
        s0**2 - _truncated_second_moment(s0, c)
    )
    for sel, exact_total, p in ((~above, m_below, 1 - p_above), (above, m_above, p_above)):
        sq = w[sel] ** 2
        exact = exact_total / p
        se = sq.std(ddof=1) / math.sqrt(sq.size)
        assert abs(sq.mean() - exact) < 4 * se, (sq.mean(), exact, se)
    # Readable form of the same check on the spike: its sd is s0 up to the few slab draws
    # that land below c (they lift it by ~0.1 %).
    assert np.sqrt((w[~above] ** 2).mean()) == pytest.approx(s0, rel=0.03)
    assert np.sqrt((w[above] ** 2).mean()) == pytest.approx(s1, rel=0.05)


def test_sample_shapes_and_seed():
    prior = MixtureGaussianPrior(0.3, 1e-3, 1.0).expand((2, 3))
    with torch.random.fork_rng():
        torch.manual_seed(0)
        a = prior.sample((5,))
        torch.manual_seed(0)
        b = prior.sample((5,))
    assert a.shape == (5, 2, 3) and a.dtype == torch.get_default_dtype()
    assert torch.equal(a, b) and not a.requires_grad
    assert prior.log_prob(a).shape == (5, 2, 3)


# --------------------------------------------------------------------------------------- pyro
Y_OBS = [0.9, 1.4, 0.3, 1.1, 0.6]


def _exact_posterior(lam, s0, s1, y, t):
    """Posterior mean and P(|w| > t | y) for w ~ prior, y_i ~ N(w, 1), by 1-D quadrature."""
    y = np.asarray(y)

    def log_unnorm(w):
        return _direct_log_mixture(w, lam, s0, s1) + stats.norm.logpdf(y, w, 1.0).sum()

    shift = log_unnorm(y.mean())  # avoid under/overflow

    def dens(w):
        return math.exp(log_unnorm(w) - shift)

    def integral(f, a, b):
        return integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0]

    edges = [-np.inf, -t, 0.0, t, np.inf]
    pieces = list(zip(edges[:-1], edges[1:], strict=True))
    z = sum(integral(dens, a, b) for a, b in pieces)
    mean = sum(integral(lambda w: w * dens(w), a, b) for a, b in pieces) / z
    p_out = (integral(dens, -np.inf, -t) + integral(dens, t, np.inf)) / z
    return mean, p_out


@pytest.mark.filterwarnings("ignore:`torch.jit.trace` is deprecated:DeprecationWarning")
def test_pyro_nuts_matches_quadrature_posterior():
    from pyro.infer import MCMC, NUTS

    with warnings.catch_warnings():  # arviz announces a refactor on import
        warnings.simplefilter("ignore")
        import arviz as az

    lam, s0, s1 = 0.5, 0.3, 2.0
    prior = MixtureGaussianPrior(lam, s0, s1)
    y = torch.tensor(Y_OBS)

    def model():
        w = pyro.sample("w", prior)
        with pyro.plate("obs", len(Y_OBS)):
            pyro.sample("y", dist.Normal(w, 1.0), obs=y)

    with torch.random.fork_rng():  # NUTS draws from torch's global RNG: restore it after
        torch.manual_seed(2024)
        kernel = NUTS(model, jit_compile=True, ignore_jit_warnings=True)
        mcmc = MCMC(kernel, num_samples=1000, warmup_steps=400, disable_progbar=True)
        mcmc.run()
    w = mcmc.get_samples()["w"].double().numpy()
    assert w.shape == (1000,) and np.isfinite(w).all()

    t = prior.threshold
    mean, p_out = _exact_posterior(lam, s0, s1, Y_OBS, t)
    # Sanity of the setting: the posterior puts real mass on both sides of the threshold.
    assert 0.2 < p_out < 0.95
    out = (np.abs(w) > t).astype(float)
    # Monte Carlo standard errors from arviz (autocorrelation-aware), one chain; quadrature
    # error (~1e-10) is negligible. 4 MCSE: a false alarm about 1 run in 16,000 per check.
    mcse_mean = float(np.squeeze(az.mcse(w[None, :], method="mean")))
    mcse_out = float(np.squeeze(az.mcse(out[None, :], method="mean")))
    assert 0 < mcse_mean < 0.1 and 0 < mcse_out < 0.1  # the chain did mix
    assert abs(w.mean() - mean) < 4 * mcse_mean, (w.mean(), mean, mcse_mean)
    assert abs(out.mean() - p_out) < 4 * mcse_out, (out.mean(), p_out, mcse_out)


def test_pyro_plate_and_expand_batch_shapes():
    prior = MixtureGaussianPrior(0.3, 0.1, 1.0)

    def model():
        with pyro.plate("units", 3):
            a = pyro.sample("a", prior.expand((3,)))
            b = pyro.sample("b", prior)  # pyro broadcasts an unexpanded prior over the plate
        c = pyro.sample("c", prior.expand((2, 3)).to_event(2))
        return a, b, c

    with torch.random.fork_rng():
        torch.manual_seed(0)
        tr = pyro.poutine.trace(model).get_trace()
    tr.compute_log_prob()
    for name in ("a", "b"):
        site = tr.nodes[name]
        assert site["value"].shape == (3,)
        assert site["fn"].batch_shape == (3,)
        assert site["log_prob"].shape == (3,)
        torch.testing.assert_close(site["log_prob"], prior.log_prob(site["value"]))
    c = tr.nodes["c"]
    assert c["value"].shape == (2, 3) and c["log_prob"].shape == ()
    torch.testing.assert_close(c["log_prob"], prior.log_prob(c["value"]).sum())
    assert math.isfinite(tr.log_prob_sum().item())
