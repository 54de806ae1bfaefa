"""``noise="heteroscedastic"``: the variance recursion, its intervals and bad input (issue 15)."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch

import bsdl
from bsdl import SparseRNN, SparseTransformer
from bsdl.likelihoods import HeteroscedasticGaussian
from bsdl.models._noise import VarianceModel, fit_variance, forecast_variance, variance_path
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
    # the forecast variance moves towards the unconditional one
    z_resid = het._residuals(*het._scaled(het._y, None))
    s2 = forecast_variance(het._variance_model, z_resid, 30) * het.y_scale_**2
    assert np.all(pi.se**2 >= s2 - 1e-9)
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


# ----------------------------------------------------------------------------- bad input
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
