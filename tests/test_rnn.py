"""SparseRNN: lag selection, one-step and multi-step intervals, indexes, save/load."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from statsmodels.tsa.ar_model import ar_select_order

import bsdl
from bsdl import SparseRNN
from bsdl.datasets import make_ar
from bsdl.selection import select_ar_order

SMALL = dict(lags=4, hidden_size=4, n_epochs=60)
SMALL_NET = dict(lags=4, hidden_size=4)


def _quiet_fit(model, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def ar2_fits():
    """AR(2) y_t = 0.6 y_{t-1} - 0.3 y_{t-2} + e_t, n = 1000, five seeds."""
    fits = []
    for seed in range(5):
        y = make_ar(3000, {1: 0.6, 2: -0.3}, random_state=seed)
        model = _quiet_fit(SparseRNN(lags=6, n_epochs=150, random_state=seed), y[:1000])
        fits.append((y, model))
    return fits


def test_ar2_lags_selected(ar2_fits):
    exact = [set(m.selected_lags_.tolist()) == {1, 2} for _, m in ar2_fits]
    assert sum(exact) >= 4, [m.selected_lags_.tolist() for _, m in ar2_fits]
    for _, m in ar2_fits:
        assert m.ar_order_ == (m.selected_lags_.max() if m.selected_lags_.size else 0)
        assert m.inclusion_probabilities_.shape == (6,)
        # a selected lag kept a weight that passed the threshold (inclusion probability
        # > 1/2 at the end of annealing), through the cell or the linear skip path
        assert np.all(m.inclusion_probabilities_[m.selected_lags_ - 1] > 0.5)


def test_one_step_coverage_in_binomial_band(ar2_fits):
    # 5 fits x 2000 held-out one-step intervals at 90 %. One-step errors are the iid
    # innovations, so the 10000 indicators are independent given the fits: the binomial
    # sd is sqrt(.9 * .1 / 10000) = 0.003; allow 4 sd plus 0.01 for estimation error.
    hits = []
    for y, m in ar2_fits:
        pi = m.predict_interval(series=y, alpha=0.1)
        tail = slice(-2000, None)
        hits.append((y[tail] >= pi.lower[tail]) & (y[tail] <= pi.upper[tail]))
    coverage = np.concatenate(hits).mean()
    assert abs(coverage - 0.9) < 4 * np.sqrt(0.09 / 10000) + 0.01, coverage


def test_level_is_kept_and_in_the_fisher_information(ar2_fits):
    """The read-out intercept (the series level) is outside the prior: never pruned, and
    one of the selected parameters whose covariance the intervals use."""
    for _, model in ar2_fits:
        assert model.mask_["head.bias"].all()
        assert "head.bias" in model._selected_index


def test_intercept_only_model_has_the_standard_error_of_a_mean():
    """A prior that prunes every weight leaves y_t = mu + e_t. The confidence se of the
    one-step mean must then be that of a sample mean, sigma / sqrt(n_scored) (the level's
    uncertainty, which a model with a fixed level would report as 0), and the mean is the
    least-squares level (the mean of the scored targets), up to the refit's optimisation
    error, far below one se."""
    y = np.random.default_rng(3).normal(5.0, 2.0, size=400)
    strong = bsdl.MixtureGaussianPrior(lambda_=1e-8, sigma0=0.1, sigma1=1.0)
    model = SparseRNN(lags=3, hidden_size=2, n_epochs=40, prior=strong, random_state=0)
    with pytest.warns(bsdl.exceptions.SparsityWarning, match="removed every weight"):
        model.fit(y)
    assert model.selected_lags_.size == 0 and model.n_nonzero_ == 1
    conf = model.predict_interval(series=y[-50:], kind="confidence")
    se_mean = model.sigma_ / np.sqrt(model.n_scored_)
    np.testing.assert_allclose(conf.se, se_mean, rtol=1e-3)
    scored_mean = y[model.lags + model.burn_in_ :].mean()
    assert np.all(np.abs(conf.mean - scored_mean) < 0.2 * se_mean)


def test_sigma_close_to_innovation_sd(ar2_fits):
    # innovation sd is 1; the residual sd from 1000 points has sd ~ 1/sqrt(2000)
    for _, m in ar2_fits:
        assert 0.9 < m.sigma_ < 1.1


def test_one_step_forecast_matches_series_prediction(ar2_fits):
    y, m = ar2_fits[0]
    ahead = m.predict(steps=1)
    along = m.predict(series=np.append(y[:1000], 0.0))
    assert ahead.index[0] == 1000 and along.index[-1] == 1000
    np.testing.assert_allclose(ahead.iloc[0], along.iloc[-1], rtol=1e-5, atol=1e-6)
    # the value appended at time 1000 does not enter its own prediction
    other = m.predict(series=np.append(y[:1000], 50.0))
    assert other.iloc[-1] == along.iloc[-1]


def test_continuation_equals_contained_series(ar2_fits):
    y, m = ar2_fits[1]
    full = m.predict_interval(series=pd.Series(y), alpha=0.05).to_frame()
    cont = m.predict_interval(
        series=pd.Series(y[1000:], index=pd.RangeIndex(1000, 3000)), alpha=0.05
    ).to_frame()
    pd.testing.assert_frame_equal(full.loc[1000:], cont, rtol=1e-5, atol=1e-6)


def test_multistep_variance_follows_ar_recursion():
    # AR(1) phi = 0.7: the h-step forecast error variance is sigma^2 sum_{j<h} phi^(2j)
    # plus an O(1/n) estimation term; with n = 4000 the ratio se_h / se_1 must match
    # sqrt(sum phi^(2j)) to within a few per cent.
    phi = 0.7
    y = make_ar(4000, {1: phi}, random_state=3)
    m = _quiet_fit(SparseRNN(lags=3, hidden_size=4, n_epochs=200, random_state=0), y)
    assert 1 in m.selected_lags_
    pi = m.predict_interval(steps=6, alpha=0.05, joint=False)
    theory = np.sqrt(np.cumsum(phi ** (2 * np.arange(6))))
    np.testing.assert_allclose(pi.se / pi.se[0], theory, rtol=0.05)
    # the forecast decays towards the mean like phi^h
    dev = pi.mean - y.mean()
    np.testing.assert_allclose(dev[1:] / dev[:-1], phi, atol=0.08)
    joint = m.predict_interval(steps=6, alpha=0.05)
    assert joint.joint and np.all(joint.width > pi.width)
    conf = m.predict_interval(steps=6, kind="confidence", joint=False)
    assert np.all(conf.se < pi.se)


@pytest.fixture(scope="module")
def monthly_fit():
    idx = pd.date_range("1990-01-01", periods=240, freq="MS")
    y = pd.Series(make_ar(240, {1: 0.5}, random_state=1) + 10.0, index=idx, name="sales")
    return y, _quiet_fit(SparseRNN(random_state=0, **SMALL), y)


def test_forecast_index_continues_monthly_dates(monthly_fit):
    y, m = monthly_fit
    fc = m.predict_interval(steps=3).to_frame()
    expected = pd.date_range("2010-01-01", periods=3, freq="MS")
    assert fc.index.equals(expected)
    assert list(fc.columns) == ["mean", "se", "lower", "upper"]
    assert np.isfinite(fc.to_numpy()).all()
    assert m.predict(steps=3).index.equals(expected)


def test_period_index_forecast():
    idx = pd.period_range("1800", periods=150, freq="Y")
    y = pd.Series(make_ar(150, {1: 0.5}, random_state=2), index=idx)
    m = _quiet_fit(SparseRNN(random_state=0, **SMALL), y)
    fc = m.predict_interval(steps=2).to_frame()
    assert fc.index.equals(pd.period_range("1950", periods=2, freq="Y"))


def test_series_continuation_by_dates(monthly_fit):
    y, m = monthly_fit
    later = pd.Series(
        make_ar(12, {1: 0.5}, random_state=9) + 10,
        index=pd.date_range("2010-01-01", periods=12, freq="MS"),
    )
    pi = m.predict_interval(series=later, alpha=0.1)
    assert pi.to_frame().index.equals(later.index)
    with pytest.raises(ValueError, match="frequency"):
        m.predict_interval(series=later.asfreq("D").interpolate())
    gap = later.copy()
    gap.index = pd.date_range("2011-01-01", periods=12, freq="MS")
    with pytest.raises(ValueError, match="contain or continue"):
        m.predict_interval(series=gap)


def test_reproducible_and_global_rng_untouched(monthly_fit):
    y, m = monthly_fit
    state = torch.get_rng_state()
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 (checks the global state)
    again = _quiet_fit(SparseRNN(random_state=0, **SMALL), y)
    assert torch.equal(torch.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    pd.testing.assert_series_equal(m.predict(steps=4), again.predict(steps=4))


def test_input_not_mutated():
    y = make_ar(200, {1: 0.5}, random_state=4)
    y[50] = np.nan
    before = y.copy()
    m = _quiet_fit(SparseRNN(missing="interpolate", random_state=0, **SMALL), y)
    np.testing.assert_array_equal(y, before)
    assert np.isfinite(m.predict(steps=2)).all()


def test_exogenous_lags_selected(tmp_path):
    y, X = make_ar(1500, {1: 0.5}, exog=2, random_state=5)  # y depends on x0 at lag 0
    m = _quiet_fit(SparseRNN(lags=3, hidden_size=4, n_epochs=80, random_state=0), y, X)
    assert 0 in m.selected_exog_lags_["x0"]
    assert m.selected_exog_lags_["x1"].size == 0
    assert m.exog_inclusion_probabilities_.shape == (2, 3)
    future = np.zeros((4, 2))
    assert m.predict_interval(steps=4, exog=future).mean.shape == (4,)
    with pytest.raises(ValueError, match="exog"):
        m.predict(steps=4)
    with pytest.raises(ValueError, match="exog"):
        m.predict(steps=4, exog=np.zeros((3, 2)))
    assert "Exogenous" in str(m.summary())
    back = bsdl.load(m.save(tmp_path / "exog.safetensors"))
    np.testing.assert_array_equal(back.selected_exog_lags_["x0"], m.selected_exog_lags_["x0"])
    pd.testing.assert_series_equal(
        back.predict(steps=4, exog=future), m.predict(steps=4, exog=future)
    )


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_other_cells_fit_and_predict(cell):
    y = make_ar(300, {1: 0.6}, random_state=6)
    m = _quiet_fit(SparseRNN(cell=cell, num_layers=2, random_state=0, **SMALL), y)
    pi = m.predict_interval(steps=3)
    assert np.isfinite(pi.mean).all() and np.all(pi.se > 0)


def test_summary_and_restarts(monthly_fit):
    _, m = monthly_fit
    text = str(m.summary())
    for key in ("Sparse RNN", "Selected lags", "AR order", "BIC", "lag 1"):
        assert key in text
    # the header carries the fitted values, not only their labels
    lags = ", ".join(map(str, m.selected_lags_)) or "none"
    for label, value in [
        ("Cell:", f"{m.cell} ({m.num_layers} x {m.hidden_size})"),
        ("Window / burn-in:", f"{m.window} / {m.burn_in_}"),
        ("Selected lags:", lags),
        ("Non-zero weights:", f"{m.n_nonzero_} / {m.n_params_}"),
        ("sigma (innovation sd):", f"{m.sigma_:.4g}"),
        ("BIC:", f"{m.bic_:.2f}"),
    ]:
        assert re.search(re.escape(label) + r"\s+" + re.escape(value), text), label
    assert "lags" in m.restarts_.columns
    assert m.history_.index.name == "epoch"


def test_default_prior_restarts_cycle_the_spike_scale():
    # prior=None: restart i uses sigma0 = a / sqrt(n_scored), a = (1, 0.5, 0.7)[i % 3];
    # the chosen restart has the smallest BIC and its prior is prior_
    y = make_ar(300, {1: 0.6}, random_state=8)
    m = _quiet_fit(SparseRNN(n_restarts=4, n_epochs=30, random_state=0, **SMALL_NET), y)
    s0 = m.restarts_["sigma0"].to_numpy()
    np.testing.assert_allclose(s0 / s0[0], [1.0, 0.5, 0.7, 1.0], rtol=1e-6)
    chosen = m.restarts_.loc[m.restarts_["chosen"]].iloc[0]
    assert chosen["bic"] == m.restarts_["bic"].min() == m.bic_
    assert m.prior_.sigma0 == pytest.approx(chosen["sigma0"])
    # an explicit prior is used by every restart
    prior = bsdl.MixtureGaussianPrior(lambda_=0.01, sigma0=0.05, sigma1=1.0)
    m2 = _quiet_fit(
        SparseRNN(n_restarts=3, n_epochs=30, prior=prior, random_state=0, **SMALL_NET), y
    )
    np.testing.assert_allclose(m2.restarts_["sigma0"], 0.05)


def test_save_load_round_trip(monthly_fit, tmp_path):
    y, m = monthly_fit
    path = m.save(tmp_path / "rnn.safetensors")
    back = bsdl.load(path)
    pd.testing.assert_frame_equal(
        back.predict_interval(steps=3).to_frame(), m.predict_interval(steps=3).to_frame()
    )
    np.testing.assert_array_equal(back.selected_lags_, m.selected_lags_)
    pd.testing.assert_series_equal(back.predict(series=y), m.predict(series=y))


def test_select_ar_order():
    y = make_ar(800, {1: 0.6, 2: -0.3}, random_state=7)
    res = select_ar_order(y, max_lag=5, n_restarts=2, n_epochs=100, random_state=0)
    assert res.bic_order == 2
    assert res.ar_order == (res.selected_lags.max() if res.selected_lags.size else 0)
    assert len(res.restarts) == 2 and res.restarts["chosen"].sum() == 1
    # bsdl finds the true lag set (t-statistics of both lags > 8 at n = 800), with
    # inclusion probabilities on the right side of 1/2, from the restart of smallest BIC
    np.testing.assert_array_equal(res.selected_lags, [1, 2])
    probs = res.inclusion_probabilities
    assert (probs.loc[[1, 2]] > 0.5).all() and (probs.loc[[3, 4, 5]] < 0.5).all()
    chosen = res.restarts.loc[res.restarts["chosen"]]
    assert chosen["bic"].iloc[0] == res.restarts["bic"].min()
    frame = res.to_frame()
    assert frame.loc["statsmodels BIC", "order"] == 2
    assert res.inclusion_probabilities.index.tolist() == [1, 2, 3, 4, 5]
    assert "AR order selection" in str(res.summary())
    # statsmodels' global subset search ran (5 <= 12 lags): 2**5 subsets beside the 6
    # orders, with the same trend; its BIC choice is {1, 2} (same t-statistics)
    assert res.global_search and res.global_search_note == ""
    np.testing.assert_array_equal(res.global_bic_lags, [1, 2])
    assert res.global_bic_order == 2
    for ic in ("aic", "bic"):
        direct = ar_select_order(y, maxlag=5, ic=ic, glob=True, trend="c").ar_lags
        assert getattr(res, f"global_{ic}_lags").tolist() == list(direct)
    counts = res.criteria["search"].value_counts()
    assert counts["global"] == 32 and counts["contiguous"] == 6
    assert frame.loc["statsmodels global BIC", "lags"] == "1, 2"
    assert frame.index.tolist()[-2:] == ["statsmodels global AIC", "statsmodels global BIC"]
    assert "statsmodels global BIC" in str(res.summary())


def test_select_ar_order_global_search_guard():
    y = make_ar(300, {1: 0.6}, random_state=0)
    # refused before any fit: 2**17 subsets
    with pytest.raises(ValueError, match="global_search=True with max_lag=17"):
        select_ar_order(y, max_lag=17, global_search=True)
    with pytest.raises(ValueError, match="global_search must be"):
        select_ar_order(y, max_lag=3, global_search="always")
    # "auto" skips it above 12 lags and says so; the result has no global rows
    res = select_ar_order(y, max_lag=13, n_restarts=1, n_epochs=5, hidden_size=2, random_state=0)
    assert not res.global_search and res.global_bic_lags is None
    assert res.global_bic_order is None
    assert "max_lag=13 > 12" in res.global_search_note
    assert "statsmodels global BIC" not in res.to_frame().index
    assert set(res.criteria["search"]) == {"contiguous"} and len(res.criteria) == 14
    assert res.global_search_note in str(res.summary())
    off = select_ar_order(
        y, max_lag=3, n_restarts=1, n_epochs=5, hidden_size=2, global_search=False, random_state=0
    )
    assert not off.global_search and "global_search=False" in off.global_search_note
