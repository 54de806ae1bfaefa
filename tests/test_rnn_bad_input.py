"""SparseRNN rejects bad input with errors that name the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bsdl import NotFittedError, SparseRNN
from bsdl.datasets import make_ar

SMALL = dict(lags=3, hidden_size=2, n_epochs=5, refit_epochs=1)


@pytest.fixture(scope="module")
def fitted():
    y = make_ar(120, {1: 0.5}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return y, SparseRNN(random_state=0, **SMALL).fit(y)


@pytest.mark.parametrize(
    "series, exc, match",
    [
        (np.arange(5.0), ValueError, "at least lags \\+ window"),
        (np.r_[np.arange(50.0), np.nan, np.arange(50.0)], ValueError, "NaN.*missing="),
        (np.r_[np.arange(50.0), np.inf], ValueError, "infinite"),
        (np.ones((60, 2)), ValueError, "multivariate targets are not supported"),
        (np.array(["a"] * 60), TypeError, "series must be numeric"),
        (pd.Series(np.arange(60.0), index=[0] * 60), ValueError, "duplicated index"),
        (pd.Series(np.arange(60.0), index=np.arange(60)[::-1]), ValueError, "unsorted"),
        (
            pd.Series(np.arange(60.0), index=pd.to_datetime(["2020-01-01"] * 60)),
            ValueError,
            "duplicated",
        ),
        (pd.Series(np.arange(60.0), index=[f"t{i}" for i in range(60)]), ValueError, "Index"),
        ("abc", TypeError, "series"),
    ],
)
def test_bad_series(series, exc, match):
    with pytest.raises(exc, match=match):
        SparseRNN(**SMALL).fit(series)


def test_irregular_dates_rejected():
    idx = pd.to_datetime(
        ["2020-01-01", "2020-01-02", "2020-01-05"] + [f"2020-02-{d:02d}" for d in range(1, 28)]
    )
    with pytest.raises(ValueError, match="regular frequency|gaps"):
        SparseRNN(**SMALL).fit(pd.Series(np.arange(30.0), index=idx))


def test_missing_interpolate_rejects_edges():
    y = np.r_[np.nan, np.arange(60.0)]
    with pytest.raises(ValueError, match="starts or ends with NaN"):
        SparseRNN(missing="interpolate", **SMALL).fit(y)


@pytest.mark.parametrize(
    "params, match",
    [
        (dict(lags=0), "lags"),
        (dict(window=0), "window"),
        (dict(window=4, burn_in=4), "burn_in must be smaller than window"),
        (dict(cell="transformer"), "cell"),
        (dict(hidden_size=0), "hidden_size"),
        (dict(missing="drop"), "missing"),
        (dict(skip="yes"), "skip"),
        (dict(lr=-1.0), "lr"),
    ],
)
def test_bad_params(params, match):
    y = make_ar(100, {1: 0.5}, random_state=1)
    with pytest.raises((ValueError, TypeError), match=match):
        SparseRNN(**{**SMALL, **params}).fit(y)


def test_exog_misaligned():
    y = pd.Series(make_ar(100, {1: 0.5}, random_state=1))
    with pytest.raises(ValueError, match="exog has 99 rows"):
        SparseRNN(**SMALL).fit(y, np.zeros((99, 1)))
    shifted = pd.DataFrame({"x": np.zeros(100)}, index=pd.RangeIndex(1, 101))
    with pytest.raises(ValueError, match="exog is not aligned"):
        SparseRNN(**SMALL).fit(y, shifted)
    with pytest.raises(TypeError, match="exog must be numeric"):
        SparseRNN(**SMALL).fit(y, pd.DataFrame({"x": ["a"] * 100}))
    # the rule of the series holds for exog too: text is never parsed
    with pytest.raises(TypeError, match="exog must be numeric"):
        SparseRNN(**SMALL).fit(y, [[str(v)] for v in range(100)])


def test_calls_before_fit():
    m = SparseRNN(**SMALL)
    for call in (m.predict, m.predict_interval, m.summary):
        with pytest.raises(NotFittedError, match="fit"):
            call()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(steps=0), ValueError, "steps"),
        (dict(steps=2.5), TypeError, "steps"),
        (dict(alpha=0.0), ValueError, "alpha"),
        (dict(alpha=1.5), ValueError, "alpha"),
        (dict(kind="tolerance"), ValueError, "kind"),
        (dict(joint="yes"), TypeError, "joint"),
        (dict(exog=np.zeros((1, 1))), ValueError, "without exog"),
    ],
)
def test_bad_predict_arguments(fitted, kwargs, exc, match):
    _, m = fitted
    with pytest.raises(exc, match=match):
        m.predict_interval(**kwargs)


def test_bad_series_argument(fitted):
    y, m = fitted
    with pytest.raises(ValueError, match="steps must be 1 when series"):
        m.predict_interval(steps=3, series=y)
    with pytest.raises(ValueError, match="too short"):
        m.predict_interval(series=pd.Series([1.0, 2.0], index=pd.RangeIndex(0, 2)))
    with pytest.raises(ValueError, match="contain or continue"):
        m.predict_interval(series=pd.Series(y, index=pd.RangeIndex(200, 320)))
    dated = pd.Series(y, index=pd.date_range("2000-01-01", periods=120, freq="D"))
    with pytest.raises(ValueError, match="frequency"):
        m.predict_interval(series=dated)
    with pytest.raises(ValueError, match="NaN"):
        m.predict_interval(series=np.r_[y, np.nan, 1.0])


def test_too_few_scored_points():
    # lags=3, window=8, burn_in=4: 12 points give one window, 4 scored points, not more
    # than the 4 coefficients (3 lags + level) of the linear start -> error
    with pytest.raises(ValueError, match="series is too short: only 4 time points are scored"):
        SparseRNN(**SMALL).fit(make_ar(12, {1: 0.5}, random_state=0))
    # 16 points: two windows, 8 scored, fewer than 3 per coefficient -> a warning, and a fit
    with pytest.warns(UserWarning, match="series is short: 8 scored time points"):
        SparseRNN(**SMALL).fit(make_ar(16, {1: 0.5}, random_state=0))
    # 20 points: 12 scored, three per coefficient -> no warning about the length
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        SparseRNN(**SMALL).fit(make_ar(20, {1: 0.5}, random_state=0))
    assert not [w for w in caught if "series is short" in str(w.message)]


@pytest.mark.parametrize(
    "series, ok",
    [
        ([str(v) for v in range(60)], False),  # text is never parsed, list or Series
        (pd.Series([str(v) for v in range(60)]), False),
        ([True, False] * 30, False),
        (np.arange(60.0) + 0j, False),
        (pd.Series(list(np.arange(60.0)), dtype=object), True),  # numbers in an object Series
        ([float(v) for v in range(60)], True),
    ],
)
def test_numeric_rules_are_the_same_for_lists_and_series(series, ok):
    model = SparseRNN(**SMALL)
    if ok:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert model.fit(series).n_obs_ == 60
    else:
        with pytest.raises(TypeError, match="series must be numeric"):
            model.fit(series)


def test_none_in_a_list_is_missing():
    y = list(make_ar(80, {1: 0.5}, random_state=2))
    y[40] = None
    with pytest.raises(ValueError, match="NaN"):
        SparseRNN(**SMALL).fit(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SparseRNN(missing="interpolate", random_state=0, **SMALL).fit(y)
    assert np.isfinite(m.predict(steps=2)).all()


@pytest.fixture(scope="module")
def dated_exog_fit():
    idx = pd.date_range("2001-01-01", periods=150, freq="MS")
    y, x = make_ar(150, {1: 0.5}, exog=1, random_state=3)
    y = pd.Series(y, index=idx)
    x = pd.DataFrame({"temp": x[:, 0]}, index=idx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return y, x, SparseRNN(random_state=0, **SMALL).fit(y, x)


def test_future_exog_must_sit_on_the_forecast_dates(dated_exog_fit):
    y, x, m = dated_exog_fit
    future = pd.date_range(y.index[-1], periods=4, freq="MS")[1:]
    good = pd.DataFrame({"temp": [0.1, 0.2, 0.3]}, index=future)
    assert m.predict(steps=3, exog=good).index.equals(future)
    np.testing.assert_array_equal(
        m.predict(steps=3, exog=good).to_numpy(), m.predict(steps=3, exog=good.to_numpy())
    )
    with pytest.raises(ValueError, match="exog is not aligned"):
        m.predict(steps=3, exog=good.set_axis(future + pd.offsets.MonthBegin(1)))
    with pytest.raises(ValueError, match="exog is not aligned"):
        m.predict(steps=3, exog=good.reset_index(drop=True))  # dates expected
    with pytest.raises(ValueError, match=r"columns \['rain'\].*fitted with exog columns"):
        m.predict(steps=3, exog=good.rename(columns={"temp": "rain"}))
    with pytest.raises(ValueError, match="exog has 2 columns, expected 1"):
        m.predict(series=y, exog=x.assign(rain=0.0))


def test_future_exog_positional_index_and_missing():
    y, x = make_ar(150, {1: 0.5}, exog=1, random_state=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SparseRNN(random_state=0, missing="interpolate", **SMALL).fit(y, x)
    plain = m.predict(steps=3, exog=np.array([[0.1], [0.2], [0.3]]))
    # positional labels: a default 0..steps-1 index and the forecast labels both work
    frame = pd.DataFrame({"x0": [0.1, 0.2, 0.3]})
    np.testing.assert_array_equal(m.predict(steps=3, exog=frame), plain)
    np.testing.assert_array_equal(m.predict(steps=3, exog=frame.set_axis([150, 151, 152])), plain)
    with pytest.raises(ValueError, match="exog is not aligned"):
        m.predict(steps=3, exog=frame.set_axis([151, 152, 153]))
    # missing="interpolate" also fills an interior gap of the future regressors
    gap = np.array([[0.1], [np.nan], [0.3]])
    np.testing.assert_array_equal(m.predict(steps=3, exog=gap), plain)


def test_short_dated_continuation_without_freq(dated_exog_fit):
    y, x, m = dated_exog_fit
    # two dates after the training data, no freq attribute: too short to infer one, the
    # training frequency is assumed (and checked: a gap is still refused)
    nxt = pd.DatetimeIndex(["2013-07-01", "2013-08-01"])
    assert nxt.freq is None and y.index[-1] == pd.Timestamp("2013-06-01")
    pi = m.predict_interval(series=pd.Series([0.0, 0.0], index=nxt), exog=x.iloc[:2].set_axis(nxt))
    assert list(pi.to_frame().index) == list(nxt)
    gap = pd.DatetimeIndex(["2013-07-01", "2013-09-01"])
    with pytest.raises(ValueError, match="gaps"):
        m.predict_interval(series=pd.Series([0.0, 0.0], index=gap), exog=x.iloc[:2].set_axis(gap))
