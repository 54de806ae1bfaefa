"""``noise="heteroscedastic"``: the variance recursion, its intervals and bad input (issue 15)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
from scipy import special, stats

import bsdl
from bsdl import SparseRNN, SparseTransformer
from bsdl.likelihoods import HeteroscedasticGaussian, HeteroscedasticStudentT
from bsdl.models._noise import (
    VarianceModel,
    fit_t_df,
    fit_variance,
    forecast_variance,
    variance_path,
)
from bsdl.priors import MixtureGaussianPrior

SMALL = dict(lags=2, window=4, n_epochs=20, random_state=0)


def _garch(n: int, seed: int, omega=0.05, arch=0.2, beta=0.75):
    """A GARCH(1, 1) series and its true conditional sd (unconditional variance 1)."""
    rng = np.random.default_rng(seed)
    y, sd, s2 = np.zeros(n), np.zeros(n), omega / (1 - arch - beta)
    for t in range(n):
        sd[t] = np.sqrt(s2)
        y[t] = sd[t] * rng.standard_normal()
        s2 = omega + arch * y[t] ** 2 + beta * s2
    return y, sd


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def garch_fits():
    y, sd = _garch(1600, seed=5)
    het = _quiet(SparseRNN(noise="heteroscedastic", **SMALL).fit, y[:800])
    const = _quiet(SparseRNN(**SMALL).fit, y[:800])
    return y, sd, het, const


# ----------------------------------------------------------------------------- the recursion
def _loop_path(m: VarianceModel, e: np.ndarray) -> np.ndarray:
    """The recursion written out step by step."""
    lags, out, s2 = m.lags, [], m.backcast
    for t in range(e.size + 1):
        s = m.omega + m.beta * s2
        for j in range(1, lags + 1):
            past = e[t - j] if t - j >= 0 else None
            e2 = m.backcast if past is None else past**2
            neg = m.backcast / 2 if past is None else past**2 * (past < 0)
            s += m.arch[j - 1] * e2 + m.asym[j - 1] * neg
        out.append(s)
        s2 = s
    return np.asarray(out)


def _model(**kw) -> VarianceModel:
    base = dict(
        omega=0.1,
        beta=0.8,
        arch=np.array([0.05, 0.0, 0.03]),
        asym=np.array([0.08, 0.02, 0.0]),
        backcast=1.3,
        inclusion=np.zeros((2, 3)),
        mean_nll=0.0,
    )
    return VarianceModel(**(base | kw))


def test_variance_path_is_the_recursion():
    e = np.random.default_rng(0).standard_normal(50) * 1.5
    m = _model()
    np.testing.assert_allclose(variance_path(m, e), _loop_path(m, e), rtol=1e-10)


def test_variance_forecast_feeds_back_expected_squares():
    e = np.random.default_rng(1).standard_normal(40)
    m = _model()
    fc = forecast_variance(m, e, 6)
    assert fc[0] == pytest.approx(variance_path(m, e)[-1])
    # by hand: E e^2 = s2 and E e^2 [e < 0] = s2 / 2 for the future innovations
    hist2, neg = list(e**2), list(e**2 * (e < 0))
    want = [fc[0]]
    for _ in range(5):
        hist2.append(want[-1])
        neg.append(want[-1] / 2)
        s = m.omega + m.beta * want[-1]
        s += sum(m.arch[j - 1] * hist2[-j] + m.asym[j - 1] * neg[-j] for j in (1, 2, 3))
        want.append(s)
    np.testing.assert_allclose(fc, want, rtol=1e-12)
    # persistence < 1: the forecasts approach the unconditional variance
    far = forecast_variance(m, e, 400)[-1]
    assert far == pytest.approx(m.omega / (1 - m.persistence), rel=1e-3)


def test_heteroscedastic_likelihood_is_the_gaussian_nll():
    mean, var, y = torch.tensor([0.5, -1.0]), torch.tensor([2.0, 0.3]), torch.tensor([1.0, 0.0])
    nll = -torch.distributions.Normal(mean, var.sqrt()).log_prob(y).mean()
    loss = HeteroscedasticGaussian().loss((mean, var), y)
    assert float(loss) == pytest.approx(float(nll) - 0.5 * np.log(2 * np.pi))


def test_fit_variance_selects_the_true_lag():
    # GARCH(1, 1): only lag 1 of the squared innovations matters; 3000 points
    e, _ = _garch(3000, seed=0)
    m = fit_variance(e, 4, MixtureGaussianPrior(0.01, 1 / np.sqrt(3000), 1.0))
    assert m.arch[0] > 0.1 and 0.6 < m.beta < 0.9
    assert np.count_nonzero(m.arch[1:]) + np.count_nonzero(m.asym[1:]) == 0
    assert m.inclusion.shape == (2, 4) and m.inclusion.max(axis=0)[0] > 0.5


def test_garch11_core_matches_arch_maximum_likelihood():
    # Independent answer: arch's Gaussian GARCH(1, 1) with a zero mean on the same
    # innovations. When BIC keeps only the core, fit_variance maximises the same likelihood
    # (up to the pre-sample backcast, whose effect decays as beta^t), so the estimates agree
    # to well within their standard errors (about 0.01-0.03 at n = 3000).
    arch = pytest.importorskip("arch")
    e, _ = _garch(3000, seed=1)
    m = fit_variance(e, 3, MixtureGaussianPrior(0.01, 1 / np.sqrt(3000), 1.0))
    assert np.count_nonzero(m.arch[1:]) + np.count_nonzero(m.asym) == 0  # the core alone
    ref = arch.arch_model(e, mean="Zero", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    params = ref.fit(disp="off").params
    assert abs(m.arch[0] - params["alpha[1]"]) < 0.01
    assert abs(m.beta - params["beta[1]"]) < 0.01
    assert abs(m.omega - params["omega"]) < 0.005


def test_core_arch_term_is_kept_outside_the_prior():
    # Only a negative-part term at lag 2 drives the variance: the search may add it, but the
    # GARCH(1, 1) core's lag-1 symmetric term is never a removal candidate, and its
    # inclusion probability is reported as 1 (outside the prior)
    rng = np.random.default_rng(3)
    n, e, s2 = 3000, np.zeros(3000), 1.0
    for t in range(n):
        e[t] = np.sqrt(s2) * rng.standard_normal()
        neg2 = e[t - 1] ** 2 * (e[t - 1] < 0) if t >= 1 else 0.5
        s2 = 0.1 + 0.3 * neg2 + 0.6 * s2  # lag 2 of the new s2's e
    m = fit_variance(e, 3, MixtureGaussianPrior(0.01, 1 / np.sqrt(n), 1.0))
    assert m.inclusion[0, 0] == 1.0
    assert m.asym[1] > 0.1  # the true term is found
    # with white noise nothing beyond the core is kept and the core's coefficient is small
    # (its MLE is weakly identified there, beta anywhere in [0, 1): bounded, not 0)
    for seed in range(100, 105):
        white = np.random.default_rng(seed).standard_normal(n)
        w = fit_variance(white, 3, MixtureGaussianPrior(0.01, 1 / np.sqrt(n), 1.0))
        assert w.arch[0] < 0.05
        assert np.count_nonzero(w.arch[1:]) + np.count_nonzero(w.asym) == 0


def test_refit_leaves_a_saturated_persistence():
    # a warm start with the persistence run to 0 (its logistic saturated) stays there; the
    # refit's fresh starts find the GARCH(1, 1) basin (true beta 0.75) with a better fit
    from bsdl.models import _noise

    e, _ = _garch(3000, seed=0)
    et = torch.as_tensor(e / np.sqrt(np.mean(e**2)))
    e2, neg = _noise._design(et, 1, 1.0)
    mask = torch.tensor([[1.0], [0.0]], dtype=torch.float64)
    zeros = torch.zeros_like(et)

    def nll(raw, m):
        return HeteroscedasticGaussian().loss((zeros, raw.variances(e2[:-1], neg[:-1], 1.0, m)), et)

    stuck = _noise._Raw(1, 0.5, 0.5, np.array([0.4]), np.array([0.0]), False)
    with torch.no_grad():
        stuck.logit_beta.fill_(-40.0)
    warm = copy.deepcopy(stuck)
    warm_value = _noise._minimise(warm, lambda: nll(warm, mask))
    value = _noise._refit(stuck, mask, nll)
    assert float(torch.sigmoid(warm.logit_beta)) < 1e-6
    assert 0.6 < float(torch.sigmoid(stuck.logit_beta)) < 0.9 and value < warm_value - 0.01


# ----------------------------------------------------------------------------- the estimator
def test_heteroscedastic_covers_in_the_volatile_span_where_constant_fails(garch_fits):
    y, sd, het, const = garch_fits
    test = np.arange(800, 1600)
    volatile = test[sd[test] > np.quantile(sd[test], 0.75)]  # 200 points
    pi_het = het.predict_interval(series=y, alpha=0.1)
    pi_const = const.predict_interval(series=y, alpha=0.1)
    first = 1600 - len(pi_het.mean)
    at = volatile - first

    def covered(pi):
        return float(np.mean((y[volatile] >= pi.lower[at]) & (y[volatile] <= pi.upper[at])))

    # binomial se of a 90 % coverage over 200 points: sqrt(0.9 * 0.1 / 200) = 0.021; the
    # heteroscedastic intervals are within 3 se of 0.9, the constant ones more than 3 se
    # below (their width follows the average variance, not the high one)
    se = np.sqrt(0.9 * 0.1 / volatile.size)
    assert abs(covered(pi_het) - 0.9) < 3 * se, covered(pi_het)
    assert covered(pi_const) < 0.9 - 3 * se, covered(pi_const)
    # the fitted conditional sd follows the true one
    fitted = het.conditional_sd(y).to_numpy()
    assert np.corrcoef(fitted[800 - first :], sd[800:])[0, 1] > 0.8


def test_mean_and_lag_selection_do_not_change(garch_fits):
    y, _, het, const = garch_fits
    np.testing.assert_array_equal(het.selected_lags_, const.selected_lags_)
    np.testing.assert_array_equal(het.predict(series=y), const.predict(series=y))
    assert het.bic_ == const.bic_ and het.noise_ == "heteroscedastic"
    assert const.noise_ == "constant" and not hasattr(const, "variance_arch_")


def test_variance_read_outs_and_summary(garch_fits):
    _, _, het, _ = garch_fits
    assert het.variance_inclusion_probabilities_.shape == (2,)
    assert 1 in het.variance_selected_lags_
    assert het.variance_arch_.shape == het.variance_asym_.shape == (2,)
    text = str(het.summary())
    assert "Conditional variance" in text and "heteroscedastic" in text


def test_steps_ahead_use_the_variance_forecast(garch_fits):
    _, _, het, _ = garch_fits
    pi = het.predict_interval(steps=30, alpha=0.1, joint=False)
    one = het.predict_interval(alpha=0.1)
    assert pi.se[0] == pytest.approx(one.se[0])
    # the forecast variance moves towards the unconditional one (with t innovations se
    # would hold the t's scale, sqrt((nu - 2) / nu) times the sd)
    z_resid = het._residuals(*het._scaled(het._y, None))
    s2 = forecast_variance(het._variance_model, z_resid, 30) * het.y_scale_**2
    factor, _ = het._interval_form("prediction")
    assert np.all((pi.se / factor) ** 2 >= s2 - 1e-9)
    uncond = het.variance_omega_ / (1 - het.variance_persistence_) * het.y_scale_**2
    assert abs(s2[-1] - uncond) < abs(s2[0] - uncond)


def test_save_load_and_set_params_keep_the_noise_model(garch_fits, tmp_path):
    y, _, het, _ = garch_fits
    before = het.predict_interval(series=y, alpha=0.1).to_frame()
    ahead = het.predict_interval(steps=4).to_frame()
    est = copy.deepcopy(het).set_params(noise="constant")
    loaded = bsdl.load(est.save(tmp_path / "het.safetensors"))
    for model in (est, loaded):
        assert model.predict_interval(series=y, alpha=0.1).to_frame().equals(before)
        assert model.predict_interval(steps=4).to_frame().equals(ahead)
    np.testing.assert_array_equal(loaded.variance_arch_, het.variance_arch_)


def test_transformer_accepts_the_noise_model():
    y, _ = _garch(500, seed=1)
    t = _quiet(SparseTransformer(noise="heteroscedastic", **SMALL).fit, y)
    pi = t.predict_interval(series=y, alpha=0.1)
    assert np.all(np.isfinite(pi.se)) and t.variance_inclusion_probabilities_.shape == (2,)


# ----------------------------------------------------------------------------- t innovations
def _garch_t(n: int, seed: int, nu=4.0, omega=0.05, arch=0.1, beta=0.85):
    """A GARCH(1, 1) series with standardised Student-t innovations (unit variance)."""
    rng = np.random.default_rng(seed)
    z = rng.standard_t(nu, size=n) * np.sqrt((nu - 2) / nu)
    y, s2 = np.zeros(n), omega / (1 - arch - beta)
    for t in range(n):
        y[t] = np.sqrt(s2) * z[t]
        s2 = omega + arch * y[t] ** 2 + beta * s2
    return y


def test_student_t_likelihood_is_scipys():
    mean, var = torch.tensor([0.5, -1.0], dtype=torch.float64), torch.tensor([2.0, 0.3])
    y, nu = torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor(4.5)
    scale = np.sqrt(var.numpy() * (4.5 - 2) / 4.5)  # unit-variance t times sqrt(var)
    want = -stats.t.logpdf(y.numpy(), 4.5, loc=mean.numpy(), scale=scale).mean()
    lik = HeteroscedasticStudentT()
    assert float(lik.loss((mean, var.double(), nu.double()), y)) == pytest.approx(want)
    assert lik.log_likelihood(want, 2) == pytest.approx(-2 * want)


def test_t_degrees_of_freedom_agree_with_scipy():
    # 20000 unit-variance t(5) draws; with the scale known the ML nu has asymptotic se
    # 1 / sqrt(n I(nu)), I(nu) = (psi'(nu/2) - psi'((nu+1)/2)) / 4 - (nu+5) / (2 nu (nu+1)
    # (nu+3)) (0.13 here); scipy.stats.t.fit with a free scale estimates the same nu
    nu, n = 5.0, 20000
    info = (special.polygamma(1, nu / 2) - special.polygamma(1, (nu + 1) / 2)) / 4
    info -= (nu + 5) / (2 * nu * (nu + 1) * (nu + 3))
    se = 1 / np.sqrt(n * info)
    z = np.random.default_rng(3).standard_t(nu, size=n) * np.sqrt((nu - 2) / nu)
    ours = fit_t_df(z)
    assert abs(ours - nu) < 3 * se
    assert abs(ours - stats.t.fit(z, floc=0)[0]) < 3 * se
    # the variance recursion's joint fit on the same (homoscedastic) draws: nu alike
    joint = fit_variance(z, 1, MixtureGaussianPrior(0.01, 1 / np.sqrt(n), 1.0), innovations="t")
    assert abs(joint.nu - ours) < 3 * se


@pytest.fixture(scope="module")
def garch_t_fits():
    y = _garch_t(6000, seed=1)
    fits = {
        inn: _quiet(
            SparseRNN(
                lags=1,
                window=4,
                n_epochs=20,
                random_state=0,
                noise="heteroscedastic",
                innovations=inn,
            ).fit,
            y[:2000],
        )
        for inn in ("normal", "t")
    }
    return y, fits


def test_t_innovations_cover_where_normal_ones_fail_at_99(garch_t_fits):
    # GARCH(1, 1) with t(4) innovations, 4000 test points: binomial se of a 99 % coverage
    # sqrt(0.99 * 0.01 / 4000) = 0.0016, of a 95 % one 0.0034. The t intervals are within
    # 3 se at both levels; the normal ones miss the tails at 99 % (a unit-variance t(4)
    # puts 2.2 % outside the normal 99 % quantile) by more than 4 se
    y, fits = garch_t_fits

    def coverage(model, alpha):
        pi = model.predict_interval(series=y, alpha=alpha)
        return float(np.mean((y[2000:] >= pi.lower[-4000:]) & (y[2000:] <= pi.upper[-4000:])))

    for alpha in (0.05, 0.01):
        se = np.sqrt(alpha * (1 - alpha) / 4000)
        assert abs(coverage(fits["t"], alpha) - (1 - alpha)) < 3 * se, alpha
    assert coverage(fits["normal"], 0.01) < 0.99 - 4 * np.sqrt(0.99 * 0.01 / 4000)
    assert 2.5 < fits["t"].innovation_df_ < 8 and fits["normal"].innovation_df_ is None


def test_t_interval_is_the_unit_variance_t_quantile(garch_t_fits):
    y, fits = garch_t_fits
    t, normal = fits["t"], fits["normal"]
    nu = t.innovation_df_
    pi = t.predict_interval(series=y[:2500], alpha=0.1)
    sd = t.predict_interval(series=y[:2500], alpha=0.1, kind="confidence")  # no noise
    s2 = t.conditional_sd(y[:2500]).to_numpy() ** 2
    total = np.sqrt(sd.se**2 + s2)  # delta-method variance of the mean + innovation
    q = stats.t.ppf(0.95, nu) * np.sqrt((nu - 2) / nu)
    np.testing.assert_allclose(pi.upper - pi.mean, q * total, rtol=1e-6)
    # confidence intervals for the mean keep the residual degrees of freedom
    assert sd.df == t.df_resid_ and pi.df == pytest.approx(nu)
    # the mean's fit does not depend on the innovations
    np.testing.assert_array_equal(t.predict(series=y[:2500]), normal.predict(series=y[:2500]))
    assert t.innovations_ == "t" and "Student-t" in str(t.summary())


def test_constant_noise_keeps_normal_innovations_by_default():
    y = _garch_t(600, seed=2)
    base = _quiet(SparseRNN(**SMALL).fit, y)
    t = _quiet(SparseRNN(innovations="t", **SMALL).fit, y)
    assert base.innovations_ == "normal" and base.innovation_df_ is None
    assert base.predict_interval(alpha=0.1).df == base.df_resid_
    nu = t.innovation_df_
    assert t.innovations_ == "t" and 2 < nu < 30
    z = base._residuals(*base._scaled(base._y, None)) / base._sigma_std
    assert nu == pytest.approx(fit_t_df(z))
    a, b = base.predict_interval(alpha=0.01), t.predict_interval(alpha=0.01)
    ratio = stats.t.ppf(0.995, nu) * np.sqrt((nu - 2) / nu) / stats.t.ppf(0.995, base.df_resid_)
    assert float(b.width[0] / a.width[0]) == pytest.approx(ratio)


def test_auto_innovations_are_t_with_a_conditional_variance(garch_fits):
    # "auto" (the default): t where the variance is modelled, normal with constant noise;
    # an explicit "normal" keeps the Gaussian quantile with a conditional variance
    y, _, het, const = garch_fits
    assert het.innovations == const.innovations == "auto"
    assert het.innovations_ == "t" and het.innovation_df_ > 2
    assert const.innovations_ == "normal" and const.innovation_df_ is None
    normal = _quiet(SparseRNN(noise="heteroscedastic", innovations="normal", **SMALL).fit, y[:800])
    assert normal.innovations_ == "normal" and normal.innovation_df_ is None
    assert normal.predict_interval(alpha=0.1).df == normal.df_resid_
    assert het.predict_interval(alpha=0.1).df == pytest.approx(het.innovation_df_)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("Est", [SparseRNN, SparseTransformer])
def test_unknown_innovations_names_the_argument(Est):
    with pytest.raises(ValueError, match="innovations"):
        Est(innovations="cauchy", **SMALL).fit(np.random.default_rng(0).standard_normal(100))


def test_fit_variance_unknown_innovations():
    with pytest.raises(ValueError, match="innovations must be one of"):
        fit_variance(np.ones(50), 1, MixtureGaussianPrior(0.01, 0.1, 1.0), innovations="cauchy")


@pytest.mark.parametrize(
    "lags, error",
    [(0, ValueError), (-1, ValueError), (1.5, TypeError), (True, TypeError), ("2", TypeError)],
)
def test_fit_variance_needs_a_lag_for_its_core(lags, error):
    # a count out of range is a ValueError, a value that is no integer a TypeError
    with pytest.raises(error, match="lags must be an integer >= 1"):
        fit_variance(np.ones(50), lags, MixtureGaussianPrior(0.01, 0.1, 1.0))


@pytest.mark.parametrize("Est", [SparseRNN, SparseTransformer])
def test_unknown_noise_names_the_argument(Est):
    with pytest.raises(ValueError, match="noise"):
        Est(noise="garch", **SMALL).fit(np.random.default_rng(0).standard_normal(100))


@pytest.mark.parametrize("Est", [SparseRNN, SparseTransformer])
def test_constant_series_with_heteroscedastic_noise(Est):
    with pytest.raises(ValueError, match="noise='heteroscedastic'.*constant"):
        Est(noise="heteroscedastic", **SMALL).fit(np.full(100, 2.5))


def test_heteroscedastic_needs_the_map_fit():
    with pytest.raises(ValueError, match="noise='heteroscedastic' needs method='map'"):
        SparseRNN(noise="heteroscedastic", method="sghmc", **SMALL).fit(np.arange(100.0) % 7)
