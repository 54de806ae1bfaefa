"""Tests for bsdl.datasets time-series simulators and the statsmodels-backed real series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsdl.datasets import (
    EVEN_AR_LAGS,
    NONLINEAR_AR_LAGS,
    load_co2,
    load_elnino,
    load_macro,
    load_nile,
    load_sunspots,
    make_ar,
    make_even_ar,
    make_nonlinear_ar,
)

SIMULATORS = [make_ar, make_nonlinear_ar]


def lagged(y, lags):
    """Design matrix of y_{t-j} for j in lags, rows t = max(lags), ..., n-1, and the response."""
    p = max(lags)
    X = np.column_stack([y[p - j : y.size - j] for j in lags])
    return X, y[p:]


def ols(X, y):
    """OLS coefficients and their classical standard errors sqrt(diag(s^2 (X'X)^-1))."""
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ beta
    s2 = resid @ resid / (X.shape[0] - X.shape[1])
    se = np.sqrt(s2 * np.diag(np.linalg.inv(X.T @ X)))
    return beta, se


def roots_min_modulus(coefs):
    """Smallest modulus of the roots of 1 - sum_j c_j z^j (coefs[j-1] = lag j)."""
    return np.abs(np.polynomial.polynomial.polyroots(np.r_[1.0, -np.asarray(coefs)])).min()


# --------------------------------------------------------------------------- shapes, types
@pytest.mark.parametrize("make", SIMULATORS)
def test_shapes_dtypes_finite(make):
    y = make(123, random_state=0)
    assert isinstance(y, np.ndarray) and y.shape == (123,) and y.dtype == np.float64
    assert np.all(np.isfinite(y))
    y, X = make(50, exog=3, random_state=0)
    assert y.shape == (50,) and X.shape == (50, 3) and X.dtype == np.float64
    assert make(1, burn=0, random_state=0).shape == (1,)


@pytest.mark.parametrize("make", SIMULATORS)
def test_as_series(make):
    y = make(20, random_state=0, as_series=True)
    assert isinstance(y, pd.Series) and y.name == "y" and y.dtype == np.float64
    assert isinstance(y.index, pd.RangeIndex) and y.index.equals(pd.RangeIndex(20))
    np.testing.assert_array_equal(y.to_numpy(), make(20, random_state=0))
    y, X = make(20, exog=2, random_state=0, as_series=True)
    assert isinstance(X, pd.DataFrame) and list(X.columns) == ["x0", "x1"]
    assert X.index.equals(y.index)


def test_return_coefs():
    y, truth = make_ar(30, random_state=0, return_coefs=True)
    assert truth == {"ar": {1: 0.5, 3: -0.3, 7: 0.2}, "exog": {}}
    y, X, truth = make_ar(30, exog=2, random_state=0, return_coefs=True)
    assert X.shape == (30, 2) and truth["exog"] == {(0, 0): 1.0}
    # return_coefs does not change the draw
    np.testing.assert_array_equal(y, make_ar(30, exog=2, random_state=0)[0])


# --------------------------------------------------------------------------- randomness
@pytest.mark.parametrize("make", SIMULATORS)
def test_reproducible_and_seed_dependent(make):
    a, b, c = (make(200, exog=1, random_state=s)[0] for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    g1 = make(50, random_state=np.random.default_rng(3))
    g2 = make(50, random_state=np.random.default_rng(3))
    np.testing.assert_array_equal(g1, g2)
    r1 = make(50, random_state=np.random.RandomState(3))
    r2 = make(50, random_state=np.random.RandomState(3))
    np.testing.assert_array_equal(r1, r2)


@pytest.mark.parametrize("make", SIMULATORS)
@pytest.mark.parametrize("seed", [0, None, "generator"])
def test_global_rng_untouched(make, seed):
    np.random.seed(12345)  # noqa: NPY002
    state = np.random.get_state()  # noqa: NPY002
    rs = np.random.default_rng(0) if seed == "generator" else seed
    make(100, exog=2, random_state=rs)
    after = np.random.get_state()  # noqa: NPY002
    assert state[0] == after[0] and state[2:] == after[2:]
    np.testing.assert_array_equal(state[1], after[1])


def test_drawn_coefs_from_lags():
    y1, t1 = make_ar(100, lags=[5, 1, 2], random_state=4, return_coefs=True)
    y2, t2 = make_ar(100, lags=(1, 2, 5), random_state=4, return_coefs=True)
    _, t3 = make_ar(100, lags=[1, 2, 5], random_state=5, return_coefs=True)
    assert t1 == t2 and t1 != t3
    np.testing.assert_array_equal(y1, y2)
    ar = t1["ar"]
    assert list(ar) == [1, 2, 5]
    assert [np.sign(c) for c in ar.values()] == [1.0, -1.0, 1.0]  # alternating signs
    np.testing.assert_allclose(sum(abs(c) for c in ar.values()), 0.8)
    vec = np.zeros(5)
    vec[[0, 1, 4]] = list(ar.values())
    assert roots_min_modulus(vec) > 1.0


# --------------------------------------------------------------------------- AR coefficients
def test_default_coefs_stationary():
    assert roots_min_modulus([0.5, 0, -0.3, 0, 0, 0, 0.2]) > 1.05


def test_dict_and_array_coefs_equivalent():
    coefs = {1: 0.4, 3: -0.25, 6: 0.1}
    arr = [0.4, 0.0, -0.25, 0.0, 0.0, 0.1]
    y_dict, t_dict = make_ar(300, coefs, random_state=2, return_coefs=True)
    y_arr, t_arr = make_ar(300, np.array(arr), random_state=2, return_coefs=True)
    np.testing.assert_array_equal(y_dict, y_arr)
    assert t_dict == t_arr == {"ar": coefs, "exog": {}}
    # default = {1: 0.5, 3: -0.3, 7: 0.2}
    np.testing.assert_array_equal(
        make_ar(100, random_state=1), make_ar(100, {1: 0.5, 3: -0.3, 7: 0.2}, random_state=1)
    )


def test_recursion_exact():
    """With burn=0 the series follows the AR recursion from zero starting values."""
    y = make_ar(60, {1: 0.5, 3: -0.3}, burn=0, noise=0.5, random_state=0)
    eps = 0.5 * np.random.RandomState(0).standard_normal(60)
    z = np.zeros(63)
    for t in range(60):
        z[t + 3] = 0.5 * z[t + 2] - 0.3 * z[t] + eps[t]
    np.testing.assert_allclose(y, z[3:], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "coefs", [{1: 1.0}, {1: 1.2}, {2: -1.05}, [0.6, 0.5], {1: 0.5, 2: 0.5}, [2.0]]
)
def test_nonstationary_coefs_rejected(coefs):
    with pytest.raises(ValueError, match="coefs.*non-stationary"):
        make_ar(10, coefs, random_state=0)


def test_ols_recovers_ar_coefficients():
    """OLS of y_t on y_{t-1..t-9}: each estimate within 4 classical OLS standard errors
    (sqrt(diag(s^2 (X'X)^-1))) of the truth, including the zero coefficients of absent lags."""
    coefs = {1: 0.5, 3: -0.3, 7: 0.2}
    y = make_ar(20000, coefs, noise=0.7, random_state=11)
    lags = list(range(1, 10))
    X, target = lagged(y, lags)
    beta, se = ols(X, target)
    truth = np.array([coefs.get(j, 0.0) for j in lags])
    assert np.all(np.abs(beta - truth) < 4 * se), (beta, se)
    assert np.all(se < 0.02)  # the test has power: SEs are small compared with 0.2
    resid_sd = np.std(target - X @ beta)
    assert abs(resid_sd - 0.7) < 0.02


# --------------------------------------------------------------------------- nonlinear AR
def test_nonlinear_ar_lags_constant():
    assert NONLINEAR_AR_LAGS == (1, 2, 5)


def test_nonlinear_recursion_exact():
    y = make_nonlinear_ar(40, burn=0, noise=0.3, random_state=5)
    eps = 0.3 * np.random.RandomState(5).standard_normal(40)
    z = np.zeros(45)
    for t in range(5, 45):
        z[t] = 0.5 * z[t - 1] - 0.7 * np.tanh(z[t - 2]) + 0.3 * np.sin(z[t - 5]) + eps[t - 5]
    np.testing.assert_allclose(y, z[5:], rtol=1e-12, atol=1e-12)


def test_ols_recovers_nonlinear_ar():
    """Regress y_t on [y_{t-1}, tanh(y_{t-2}), sin(y_{t-5})] plus irrelevant features at lags
    3 and 4; estimates within 4 OLS standard errors of (0.5, -0.7, 0.3, 0, 0)."""
    y = make_nonlinear_ar(20000, random_state=3)
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 20
    L, target = lagged(y, [1, 2, 3, 4, 5])
    X = np.column_stack([L[:, 0], np.tanh(L[:, 1]), np.sin(L[:, 4]), L[:, 2], L[:, 3]])
    beta, se = ols(X, target)
    truth = np.array([0.5, -0.7, 0.3, 0.0, 0.0])
    assert np.all(np.abs(beta - truth) < 4 * se), (beta, se)
    # a linear AR(5) fit cannot see the nonlinearity exactly but lag 2 matters strongly
    beta_lin, se_lin = ols(L, target)
    assert abs(beta_lin[1] / se_lin[1]) > 10


def test_nonlinear_exog_effect():
    y, X = make_nonlinear_ar(20000, exog=2, random_state=9)
    L, target = lagged(y, [1, 2, 5])
    Z = np.column_stack(
        [L[:, 0], np.tanh(L[:, 1]), np.sin(L[:, 2]), np.tanh(X[5:, 0]), np.tanh(X[5:, 1])]
    )
    beta, se = ols(Z, target)
    assert np.all(np.abs(beta - [0.5, -0.7, 0.3, 0.8, 0.0]) < 4 * se), (beta, se)


# --------------------------------------------------------------------------- even AR
def test_even_ar_shapes_series_and_seeds():
    assert EVEN_AR_LAGS == (1, 3)
    y = make_even_ar(123, random_state=0)
    assert isinstance(y, np.ndarray) and y.shape == (123,) and y.dtype == np.float64
    assert np.all(np.isfinite(y)) and make_even_ar(1, burn=0, random_state=0).shape == (1,)
    s = make_even_ar(20, random_state=0, as_series=True)
    assert isinstance(s, pd.Series) and s.name == "y" and s.index.equals(pd.RangeIndex(20))
    np.testing.assert_array_equal(s.to_numpy(), make_even_ar(20, random_state=0))
    a, b, c = (make_even_ar(200, random_state=k) for k in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    g1, g2 = (make_even_ar(50, random_state=np.random.default_rng(3)) for _ in range(2))
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("seed", [0, None, "generator"])
def test_even_ar_global_rng_untouched(seed):
    np.random.seed(12345)  # noqa: NPY002
    state = np.random.get_state()  # noqa: NPY002
    make_even_ar(100, random_state=np.random.default_rng(0) if seed == "generator" else seed)
    after = np.random.get_state()  # noqa: NPY002
    np.testing.assert_array_equal(state[1], after[1])


def test_even_ar_innovations_recovered_exactly():
    # with burn=0 the residuals of the stated equation are the drawn innovations
    y = make_even_ar(60, burn=0, noise=0.4, random_state=5)
    eps = 0.4 * np.random.RandomState(5).standard_normal(60)
    z = np.r_[0.0, 0.0, 0.0, y]  # the three zero starting values
    t = np.arange(3, 63)
    resid = z[t] - 0.5 * z[t - 1] - 2.0 * (np.exp(-(z[t - 3] ** 2)) - 0.43)
    np.testing.assert_allclose(resid, eps, rtol=1e-12, atol=1e-12)


def test_even_ar_lag_three_is_nonlinear_only():
    """OLS on [y_{t-1}, exp(-y_{t-3}^2)] (plus lag 2) recovers (0.5, 2, 0) within 4 se;
    a linear AR(3) fit gives lag 3 a coefficient near 0 although the even term moves
    the series by 2 * (range of the bump)."""
    y = make_even_ar(20000, random_state=3)
    assert np.all(np.isfinite(y)) and np.abs(y).max() < 20
    L, target = lagged(y, [1, 2, 3])
    X = np.column_stack([np.ones(target.size), L[:, 0], np.exp(-(L[:, 2] ** 2)), L[:, 1]])
    beta, se = ols(X, target)
    assert np.all(np.abs(beta[1:] - [0.5, 2.0, 0.0]) < 4 * se[1:]), (beta, se)
    # the constant of the stated equation: -2 * 0.43
    assert abs(beta[0] + 0.86) < 4 * se[0], (beta, se)
    beta_lin, se_lin = ols(np.column_stack([np.ones(target.size), L]), target)
    # a linear trace of lag 3 comes only from the skew of the stationary law: a
    # coefficient within +-0.06 (the even term's coefficient is 2, |t| > 50 above)
    assert abs(beta_lin[3]) < 0.06 and abs(beta[2] / se[2]) > 50, (beta_lin, se_lin)
    assert abs(y.mean()) < 0.1  # the centring constant puts the mean near 0


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n": 0}, ValueError, "n must"),
        ({"n": 2.5}, TypeError, "n must"),
        ({"noise": 0.0}, ValueError, "noise"),
        ({"burn": -1}, ValueError, "burn"),
        ({"random_state": "seed"}, ValueError, "random_state"),
        ({"as_series": "yes"}, TypeError, "as_series"),
    ],
)
def test_even_ar_bad_inputs(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        make_even_ar(**{"n": 10, **kwargs})
    with pytest.raises(TypeError):
        make_even_ar(10, 1.0)  # noise is keyword-only


# --------------------------------------------------------------------------- AR exog
def test_ar_exog_default_effect():
    y, X = make_ar(20000, {1: 0.5}, exog=2, random_state=6)
    L, target = lagged(y, [1])
    Z = np.column_stack([L[:, 0], X[1:, 0], X[1:, 1]])
    beta, se = ols(Z, target)
    assert np.all(np.abs(beta - [0.5, 1.0, 0.0]) < 4 * se), (beta, se)
    assert np.all(np.abs(X.mean(axis=0)) < 0.05) and np.allclose(X.std(axis=0), 1, atol=0.05)


def test_ar_exog_custom_lags():
    exog_coefs = {(1, 2): -0.6, (0, 0): 0.3}
    y, X, truth = make_ar(
        20000, {2: 0.3}, exog=3, exog_coefs=exog_coefs, random_state=8, return_coefs=True
    )
    assert truth["exog"] == {(0, 0): 0.3, (1, 2): -0.6}
    t = np.arange(2, y.size)
    Z = np.column_stack([y[t - 2], X[t, 0], X[t - 2, 1], X[t, 1], X[t, 2]])
    beta, se = ols(Z, y[t])
    assert np.all(np.abs(beta - [0.3, 0.3, -0.6, 0.0, 0.0]) < 4 * se), (beta, se)


# --------------------------------------------------------------------------- bad inputs
@pytest.mark.parametrize("make", SIMULATORS)
@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"n": 0}, ValueError, "n must"),
        ({"n": 2.5}, TypeError, "n must"),
        ({"n": True}, TypeError, "n must"),
        ({"noise": 0.0}, ValueError, "noise"),
        ({"noise": -1.0}, ValueError, "noise"),
        ({"noise": float("nan")}, ValueError, "noise"),
        ({"noise": float("inf")}, ValueError, "noise"),
        ({"burn": -1}, ValueError, "burn"),
        ({"burn": 1.5}, TypeError, "burn"),
        ({"exog": 0}, ValueError, "exog"),
        ({"exog": "2"}, TypeError, "exog"),
        ({"random_state": "seed"}, ValueError, "random_state"),
        ({"as_series": "yes"}, TypeError, "as_series"),
    ],
)
def test_bad_inputs(make, kwargs, exc, name):
    args = {"n": 10, **kwargs}
    with pytest.raises(exc, match=name):
        make(**args)


@pytest.mark.parametrize(
    ("kwargs", "exc", "name"),
    [
        ({"coefs": {0: 0.5}}, ValueError, "coefs"),
        ({"coefs": {1.5: 0.5}}, ValueError, "coefs"),
        ({"coefs": {1: float("nan")}}, ValueError, "coefs"),
        ({"coefs": [[0.1, 0.2]]}, ValueError, "coefs"),
        ({"coefs": ["a"]}, TypeError, "coefs"),
        ({"coefs": {1: 0.5}, "lags": [1]}, ValueError, "lags"),
        ({"lags": [0, 1]}, ValueError, "lags"),
        ({"lags": []}, ValueError, "lags"),
        ({"lags": 3}, TypeError, "lags"),
        ({"exog_coefs": {(0, 0): 1.0}}, ValueError, "exog_coefs"),
        ({"exog": 2, "exog_coefs": {(2, 0): 1.0}}, ValueError, "exog_coefs"),
        ({"exog": 2, "exog_coefs": {(0, -1): 1.0}}, ValueError, "exog_coefs"),
        ({"exog": 2, "exog_coefs": {0: 1.0}}, ValueError, "exog_coefs"),
        ({"exog": 2, "exog_coefs": [1.0]}, TypeError, "exog_coefs"),
        ({"return_coefs": 1}, TypeError, "return_coefs"),
    ],
)
def test_bad_ar_inputs(kwargs, exc, name):
    with pytest.raises(exc, match=name):
        make_ar(10, **kwargs)


def test_keyword_only():
    with pytest.raises(TypeError):
        make_ar(10, None, [1, 2])  # lags is keyword-only
    with pytest.raises(TypeError):
        make_nonlinear_ar(10, 1.0)  # noise is keyword-only


# --------------------------------------------------------------------------- real series
REAL = [
    # loader, kwargs, length, index class, freqstr, first, last, name
    (load_sunspots, {}, 309, pd.PeriodIndex, "Y-DEC", "1700", "2008", "sunactivity"),
    (load_co2, {}, 2284, pd.DatetimeIndex, "W-SAT", "1958-03-29", "2001-12-29", "co2"),
    (load_co2, {"weekly": False}, 526, pd.DatetimeIndex, "MS", "1958-03-01", "2001-12-01", "co2"),
    (load_elnino, {}, 732, pd.PeriodIndex, "M", "1950-01", "2010-12", "temperature"),
    (load_nile, {}, 100, pd.PeriodIndex, "Y-DEC", "1871", "1970", "volume"),
    (load_macro, {}, 202, pd.PeriodIndex, "Q-DEC", "1959Q2", "2009Q3", "realgdp"),
    (load_macro, {"column": "unemp", "transform": "level"}, 203, pd.PeriodIndex, "Q-DEC",
     "1959Q1", "2009Q3", "unemp"),
]  # fmt: skip


@pytest.mark.parametrize(("load", "kwargs", "length", "cls", "freq", "first", "last", "name"), REAL)
def test_real_series(no_network, load, kwargs, length, cls, freq, first, last, name):
    y = load(**kwargs)
    assert isinstance(y, pd.Series) and y.name == name
    assert len(y) == length and y.dtype == np.float64
    assert not y.isna().any() and np.all(np.isfinite(y.to_numpy()))
    assert type(y.index) is cls and y.index.freqstr == freq
    assert y.index.is_monotonic_increasing and y.index.is_unique
    assert y.index[0] == cls([first], freq=freq)[0] and y.index[-1] == cls([last], freq=freq)[0]
    if cls is pd.DatetimeIndex:  # regular: the index is its own date_range
        pd.testing.assert_index_equal(
            y.index, pd.date_range(y.index[0], periods=length, freq=freq, name=y.index.name),
            exact=False,
        )  # fmt: skip


def test_real_values_spot_checks():
    s = load_sunspots()
    assert s[pd.Period("1700", "Y")] == 5.0 and s.iloc[-1] == 2.9
    assert load_nile().iloc[0] == 1120.0
    e = load_elnino()
    assert e[pd.Period("1950-01", "M")] == 23.11 and e[pd.Period("1950-02", "M")] == 24.20
    assert e[pd.Period("2010-12", "M")] == 22.07
    assert load_macro("realgdp", "level").iloc[0] == 2710.349


def test_co2_interpolation():
    import statsmodels.datasets as smd

    raw = smd.co2.load_pandas().data["co2"]
    assert raw.isna().sum() == 59  # as documented in load_co2
    y = load_co2()
    observed = raw.notna()
    np.testing.assert_array_equal(y[observed].to_numpy(), raw[observed].to_numpy())
    # a filled week lies on the straight line between its observed neighbours
    i = int(np.flatnonzero(raw.isna().to_numpy())[0])
    lo, hi = i - 1, i + 1
    while raw.isna().iloc[hi]:
        hi += 1
    expected = raw.iloc[lo] + (raw.iloc[hi] - raw.iloc[lo]) * (i - lo) / (hi - lo)
    assert y.iloc[i] == pytest.approx(expected)
    m = load_co2(weekly=False)
    assert m.iloc[-1] == pytest.approx(y["2001-12"].mean())
    assert 310 < m.min() < m.max() < 380


def test_macro_transforms():
    level = load_macro("realcons", "level")
    log = load_macro("realcons", "log")
    growth = load_macro("realcons", "growth")
    np.testing.assert_allclose(log.to_numpy(), np.log(level.to_numpy()))
    np.testing.assert_allclose(growth.to_numpy(), 100 * np.diff(np.log(level.to_numpy())))
    assert growth.index.equals(level.index[1:])
    assert 0.0 < growth.mean() < 2.0  # average quarterly real consumption growth, percent


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"column": "gdp"}, "column"),
        ({"column": "year"}, "column"),
        ({"transform": "diff"}, "transform"),
        ({"column": "realint", "transform": "log"}, "strictly positive"),
        ({"column": "infl"}, "strictly positive"),
    ],
)
def test_macro_bad_inputs(kwargs, name):
    with pytest.raises(ValueError, match=name):
        load_macro(**kwargs)


def test_co2_bad_weekly():
    with pytest.raises(TypeError, match="weekly"):
        load_co2(weekly="yes")
