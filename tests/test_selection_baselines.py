"""bsdl.baselines: statsmodels' lag searches and AutoReg forecasts at fixed lags; and
``select_ar_order``'s choice of network (``model=``; its RNN path is tested in test_rnn.py).

The criteria and forecasts are checked against least squares and the AR recursion written
out here with numpy, not against statsmodels' own output alone.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.tsa.ar_model import ar_select_order

from bsdl import SparseRNN, SparseTransformer
from bsdl.baselines import (
    GLOBAL_SEARCH_AUTO_MAX_LAG,
    GLOBAL_SEARCH_MAX_LAG,
    ar_lag_search,
    autoreg_forecasts,
    resolve_global_search,
)
from bsdl.datasets import make_ar
from bsdl.selection import MODELS, select_ar_order


def _ols_bic(y: np.ndarray, lags: tuple[int, ...], max_lag: int) -> float:
    """BIC of y_t on (1, y_{t-j}, j in lags), t = max_lag..n-1, Gaussian MLE variance."""
    target = y[max_lag:]
    X = np.column_stack([np.ones(target.size)] + [y[max_lag - j : y.size - j] for j in lags])
    coef, *_ = np.linalg.lstsq(X, target, rcond=None)
    rss = np.sum((target - X @ coef) ** 2)
    n = target.size
    loglik = -n / 2 * (np.log(2 * np.pi * rss / n) + 1)
    return -2 * loglik + np.log(n) * X.shape[1]  # the constant and the lags


def test_global_search_matches_brute_force_least_squares():
    y = make_ar(400, {1: 0.5, 3: -0.4}, random_state=5)  # AIC and BIC differ on this one
    res = ar_lag_search(y, 4, glob=True)
    assert res.search == "global" and len(res.criteria) == 2**4
    subsets = [s for r in range(5) for s in itertools.combinations(range(1, 5), r)]
    assert sorted(res.criteria["lags"]) == sorted(subsets)
    by_hand = {s: _ols_bic(y, s, 4) for s in subsets}
    for row in res.criteria.itertuples():
        assert row.bic == pytest.approx(by_hand[row.lags], rel=1e-9)
        assert row.n_lags == len(row.lags)
    assert tuple(res.bic_lags) == min(by_hand, key=by_hand.get)
    assert res.criteria["bic"].is_monotonic_increasing
    aic_by_hand = {s: v + (2 - np.log(396)) * (len(s) + 1) for s, v in by_hand.items()}
    assert tuple(res.aic_lags) == min(aic_by_hand, key=aic_by_hand.get) == (1, 2, 3)
    assert tuple(res.bic_lags) == (1, 3)
    # the AIC choice read from the same table is statsmodels' ic="aic" answer
    for ic, lags in (("aic", res.aic_lags), ("bic", res.bic_lags)):
        expected = ar_select_order(y, maxlag=4, ic=ic, glob=True, trend="c").ar_lags
        assert lags.tolist() == list(expected if expected is not None else [])


def test_contiguous_search_and_gapped_truth():
    # true lags {1, 3, 7}; |t| of each coefficient is above 6 at n = 1000, so BIC keeps
    # them, while an order p must keep every lag up to 7
    y = make_ar(1000, random_state=0)
    contiguous = ar_lag_search(y, 8)
    assert contiguous.search == "contiguous" and len(contiguous.criteria) == 9
    assert contiguous.bic_lags.tolist() == list(range(1, 8))
    assert ar_lag_search(y, 8, glob=True).bic_lags.tolist() == [1, 3, 7]


def test_white_noise_selects_no_lag_as_empty_array():
    y = np.random.default_rng(0).standard_normal(300)
    res = ar_lag_search(y, 3, glob=True)
    assert res.bic_lags.dtype.kind == "i" and res.bic_lags.size == 0
    assert () in set(res.criteria["lags"])


def test_resolve_global_search_guard():
    assert resolve_global_search("auto", GLOBAL_SEARCH_AUTO_MAX_LAG) == (True, "")
    run, note = resolve_global_search("auto", GLOBAL_SEARCH_AUTO_MAX_LAG + 1)
    assert not run and f"max_lag={GLOBAL_SEARCH_AUTO_MAX_LAG + 1}" in note
    assert resolve_global_search(True, GLOBAL_SEARCH_MAX_LAG) == (True, "")
    assert resolve_global_search(False, 3)[0] is False
    with pytest.raises(ValueError, match="global_search=True with max_lag=17"):
        resolve_global_search(True, GLOBAL_SEARCH_MAX_LAG + 1)
    with pytest.raises(ValueError, match="global_search must be"):
        resolve_global_search("yes", 3)
    with pytest.raises(ValueError, match="global_search=True"):
        ar_lag_search(np.zeros(100), GLOBAL_SEARCH_MAX_LAG + 1, glob=True)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(max_lag=0), ValueError, "max_lag"),
        (dict(max_lag=3, trend="x"), ValueError, "trend"),
        (dict(max_lag=3, glob="yes"), TypeError, "glob"),
        (dict(max_lag=30), ValueError, "too few"),
    ],
)
def test_ar_lag_search_bad_input(kwargs, error, match):
    y = make_ar(50, {1: 0.5}, random_state=0)
    with pytest.raises(error, match=match):
        ar_lag_search(y, **kwargs)


def test_ar_lag_search_refuses_missing_values():
    y = make_ar(100, {1: 0.5}, random_state=0)
    y[10] = np.nan
    with pytest.raises(ValueError, match="series"):
        ar_lag_search(y, 3)


def test_autoreg_forecasts_against_least_squares_and_recursion():
    y = make_ar(320, {1: 0.6, 3: -0.3}, random_state=1)
    train = y[:300]
    fc = autoreg_forecasts(train, [3, 1], series=y, steps=4, alpha=0.1)
    assert fc.lags.tolist() == [1, 3] and fc.nobs == 297
    # least squares on the training sample (the first 3 values held back)
    X = np.column_stack([np.ones(297), train[2:299], train[0:297]])
    coef, *_ = np.linalg.lstsq(X, train[3:], rcond=None)
    np.testing.assert_allclose(fc.params.to_numpy(), coef, rtol=1e-8)
    assert fc.params.index.tolist() == ["const", "y.L1", "y.L3"]
    sigma = np.sqrt(np.mean((train[3:] - X @ coef) ** 2))
    assert fc.sigma == pytest.approx(sigma, rel=1e-8)
    # one-step forecasts along the whole series with the training coefficients
    expected = coef[0] + coef[1] * y[2:-1] + coef[2] * y[:-3]
    np.testing.assert_allclose(fc.one_step.mean, expected, rtol=1e-8)
    np.testing.assert_allclose(fc.one_step.se, sigma)
    assert fc.one_step.index.tolist() == list(range(3, 320))
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(fc.one_step.upper - fc.one_step.mean, z * sigma)
    # the recursive path and its MA(infinity) standard errors: psi_1 = phi_1,
    # psi_2 = phi_1^2, psi_3 = phi_1^3 + phi_3
    hist = list(train)
    for _ in range(4):
        hist.append(coef[0] + coef[1] * hist[-1] + coef[2] * hist[-3])
    np.testing.assert_allclose(fc.path.mean, hist[300:], rtol=1e-8)
    phi1, phi3 = coef[1], coef[2]
    psi = np.array([1.0, phi1, phi1**2, phi1**3 + phi3])
    np.testing.assert_allclose(fc.path.se, sigma * np.sqrt(np.cumsum(psi**2)), rtol=1e-8)
    # joint over the 4 horizons by Bonferroni
    zj = stats.norm.ppf(1 - 0.1 / (2 * 4))
    np.testing.assert_allclose(fc.path.upper - fc.path.mean, zj * fc.path.se, rtol=1e-8)
    assert fc.path.index.tolist() == [300, 301, 302, 303]


def test_autoreg_forecasts_labels_and_mean_model():
    idx = pd.period_range("1800", periods=120, freq="Y", name="year")
    y = pd.Series(make_ar(120, {1: 0.5}, random_state=2), index=idx)
    fc = autoreg_forecasts(y.iloc[:100], [1], series=y, steps=3, joint=False)
    assert fc.path.to_frame().index.tolist() == list(pd.period_range("1900", periods=3, freq="Y"))
    assert fc.one_step.to_frame().index[0] == pd.Period("1801", freq="Y")
    z = stats.norm.ppf(0.975)
    np.testing.assert_allclose(fc.path.upper - fc.path.mean, z * fc.path.se, rtol=1e-8)
    mean_model = autoreg_forecasts(y.iloc[:100], [], series=y, steps=2)
    np.testing.assert_allclose(mean_model.one_step.mean, y.iloc[:100].mean())
    np.testing.assert_allclose(mean_model.path.mean, y.iloc[:100].mean())
    assert mean_model.lags.size == 0 and mean_model.one_step.mean.size == 120


@pytest.mark.parametrize(
    ("lags", "kwargs", "error", "match"),
    [
        ("1", {}, TypeError, "lags"),
        (2, {}, TypeError, "lags"),
        ([0, 1], {}, ValueError, "positive integer"),
        ([1.5], {}, ValueError, "positive integer"),
        ([1, 1], {}, ValueError, "repeated"),
        ([1], dict(steps=-1), ValueError, "steps"),
        ([1], dict(alpha=1.5), ValueError, "alpha"),
        ([1], dict(trend="x"), ValueError, "trend"),
        ([1], dict(joint="yes"), TypeError, "joint"),
        ([40], {}, ValueError, "too few"),
    ],
)
def test_autoreg_forecasts_bad_input(lags, kwargs, error, match):
    y = make_ar(40, {1: 0.5}, random_state=0)
    with pytest.raises(error, match=match):
        autoreg_forecasts(y, lags, **kwargs)


def test_autoreg_forecasts_does_not_mutate_input():
    y = make_ar(100, {1: 0.5}, random_state=0)
    before = y.copy()
    autoreg_forecasts(y[:80], [1, 2], series=y, steps=3)
    np.testing.assert_array_equal(y, before)


# ----------------------------------------------------------------------------- select_ar_order


def test_select_ar_order_with_the_transformer():
    y = make_ar(800, {1: 0.6, 2: -0.3}, random_state=7)
    res = select_ar_order(
        y, max_lag=5, model="transformer", n_restarts=2, n_epochs=60, random_state=0
    )
    # the true lag set (t-statistics of both lags > 8 at n = 800, as in test_rnn.py's
    # select_ar_order test), inclusion probabilities on the right side of 1/2
    assert res.model == "SparseTransformer"
    np.testing.assert_array_equal(res.selected_lags, [1, 2])
    assert res.ar_order == 2
    probs = res.inclusion_probabilities
    assert (probs.loc[[1, 2]] > 0.5).all() and (probs.loc[[3, 4, 5]] < 0.5).all()
    assert len(res.restarts) == 2 and res.restarts["chosen"].sum() == 1
    frame = res.to_frame()
    assert frame.index[0] == "bsdl SparseTransformer"
    assert frame.loc["bsdl SparseTransformer", "lags"] == "1, 2"
    assert "bsdl SparseRNN" not in frame.index
    # the statsmodels side does not depend on the network
    np.testing.assert_array_equal(res.global_bic_lags, [1, 2])
    assert res.criteria["search"].value_counts().to_dict() == {"global": 32, "contiguous": 6}
    text = str(res.summary())
    assert "SparseTransformer" in text and "bsdl SparseTransformer" in text
    assert "model='SparseTransformer'" in repr(res)


def test_select_ar_order_model_instance_is_a_template():
    y = make_ar(300, {1: 0.6}, random_state=3)
    small = dict(d_model=4, n_heads=1, dim_feedforward=4, n_epochs=20)
    template = SparseTransformer(lags=99, n_restarts=9, random_state=5, **small)
    before = template.get_params()
    res = select_ar_order(y, max_lag=3, model=template, n_restarts=1, random_state=0)
    # the template is cloned, never fitted, and keeps its parameters
    assert not hasattr(template, "selected_lags_") and template.get_params() == before
    # max_lag, n_restarts and random_state win over the template's; the rest is the
    # template's: the same fit as the name with the same parameters
    by_name = select_ar_order(
        y, max_lag=3, model="transformer", n_restarts=1, random_state=0, **small
    )
    assert res.model == "SparseTransformer" and len(res.restarts) == 1
    assert res.inclusion_probabilities.index.tolist() == [1, 2, 3]
    pd.testing.assert_frame_equal(res.restarts, by_name.restarts)
    # an RNN instance gives the RNN's row
    rnn = select_ar_order(
        y,
        max_lag=3,
        model=SparseRNN(hidden_size=2, n_epochs=5),
        n_restarts=1,
        global_search=False,
        random_state=0,
    )
    assert rnn.model == "SparseRNN" and rnn.to_frame().index[0] == "bsdl SparseRNN"
    # a class is the same as its name
    by_class = select_ar_order(
        y, max_lag=3, model=SparseTransformer, n_restarts=1, random_state=0, **small
    )
    pd.testing.assert_frame_equal(by_class.restarts, by_name.restarts)
    assert set(MODELS) == {"rnn", "transformer"}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (dict(model="lstm"), ValueError, "model"),
        (dict(model=int), TypeError, "sequence forecaster class or an unfitted instance"),
        (dict(model=object()), TypeError, "model must be one of"),
        (dict(model="rnn", d_model=4), TypeError, r"SparseRNN has no parameter\(s\) \['d_model'\]"),
        (dict(model="transformer", cell="gru"), TypeError, "SparseTransformer has no parameter"),
        (dict(lags=3), TypeError, "from max_lag; drop lags="),
    ],
)
def test_select_ar_order_bad_model(kwargs, error, match):
    # refused before any fit: the series here would fail the fit with another message
    with pytest.raises(error, match=match):
        select_ar_order(np.array([1.0, np.nan]), max_lag=3, **kwargs)
