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
