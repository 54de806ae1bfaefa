"""Bad input: the sequence forecasters' shared battery, run against SparseRNN and
SparseTransformer, and the transformer's own heads/width checks."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from bsdl import NotFittedError, SparseRNN, SparseTransformer
from bsdl.datasets import make_ar

SMALL = {
    SparseRNN: dict(lags=3, hidden_size=2, n_epochs=5, refit_epochs=1),
    SparseTransformer: dict(
        lags=3, d_model=2, n_heads=1, dim_feedforward=2, n_epochs=5, refit_epochs=1
    ),
}
BOTH = pytest.mark.parametrize("cls", list(SMALL), ids=lambda c: c.__name__)


def _small(cls, **params):
    return cls(**{**SMALL[cls], **params})


@pytest.fixture(scope="module", params=list(SMALL), ids=lambda c: c.__name__)
def fitted(request):
    y = make_ar(120, {1: 0.5}, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return y, _small(request.param, random_state=0).fit(y)


@BOTH
@pytest.mark.parametrize(
    "series, exc, match",
    [
        (np.arange(5.0), ValueError, "at least lags \\+ window"),
        (np.r_[np.arange(50.0), np.nan, np.arange(50.0)], ValueError, "NaN.*missing="),
        (np.r_[np.arange(50.0), np.inf], ValueError, "infinite"),
        (np.ones((60, 2)), ValueError, "multivariate targets are not supported"),
        (np.array(["a"] * 60), TypeError, "series must be numeric"),
        ([str(v) for v in range(60)], TypeError, "series must be numeric"),
        (pd.Series(np.arange(60.0), index=[0] * 60), ValueError, "duplicated index"),
        (pd.Series(np.arange(60.0), index=np.arange(60)[::-1]), ValueError, "unsorted"),
        (pd.Series(np.arange(60.0), index=[f"t{i}" for i in range(60)]), ValueError, "Index"),
        ("abc", TypeError, "series"),
    ],
)
def test_bad_series(cls, series, exc, match):
    with pytest.raises(exc, match=match):
        _small(cls).fit(series)


@BOTH
def test_irregular_dates_and_missing_edges(cls):
    idx = pd.to_datetime(
        ["2020-01-01", "2020-01-02", "2020-01-05"] + [f"2020-02-{d:02d}" for d in range(1, 28)]
    )
    with pytest.raises(ValueError, match="regular frequency|gaps"):
        _small(cls).fit(pd.Series(np.arange(30.0), index=idx))
    with pytest.raises(ValueError, match="starts or ends with NaN"):
        _small(cls, missing="interpolate").fit(np.r_[np.nan, np.arange(60.0)])


@BOTH
@pytest.mark.parametrize(
    "params, match",
    [
        (dict(lags=0), "lags"),
        (dict(window=0), "window"),
        (dict(window=4, burn_in=4), "burn_in must be smaller than window"),
        (dict(missing="drop"), "missing"),
        (dict(skip="yes"), "skip"),
        (dict(lr=-1.0), "lr"),
        (dict(prune="all"), "prune"),
        (dict(n_restarts=0), "n_restarts"),
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(prior="spike"), "prior"),
    ],
)
def test_bad_shared_params(cls, params, match):
    y = make_ar(100, {1: 0.5}, random_state=1)
    with pytest.raises((ValueError, TypeError), match=match):
        _small(cls, **params).fit(y)


@pytest.mark.parametrize(
    "params, exc, match",
    [
        (dict(d_model=6, n_heads=4), ValueError, "d_model must be a multiple of n_heads"),
        (dict(d_model=3, n_heads=2), ValueError, "got d_model=3 and n_heads=2"),
        (dict(d_model=0), ValueError, "'d_model' parameter of SparseTransformer"),
        (dict(n_heads=0), ValueError, "'n_heads' parameter of SparseTransformer"),
        (dict(n_heads=1.5), ValueError, "'n_heads' parameter of SparseTransformer"),
        (dict(num_layers=0), ValueError, "'num_layers' parameter of SparseTransformer"),
        (dict(dim_feedforward=0), ValueError, "'dim_feedforward' parameter"),
        (dict(norm="yes"), ValueError, "'norm' parameter of SparseTransformer"),
        (dict(d_model=1, n_heads=1, norm=True), ValueError, "norm=True needs d_model >= 2"),
    ],
)
def test_bad_heads_and_width(params, exc, match):
    # refused before the data are looked at: a three-point series cannot be fitted anyway
    with pytest.raises(exc, match=match):
        SparseTransformer(**params).fit([1.0, 2.0, 3.0])


@BOTH
def test_exog_misaligned(cls):
    y = pd.Series(make_ar(100, {1: 0.5}, random_state=1))
    with pytest.raises(ValueError, match="exog has 99 rows"):
        _small(cls).fit(y, np.zeros((99, 1)))
    shifted = pd.DataFrame({"x": np.zeros(100)}, index=pd.RangeIndex(1, 101))
    with pytest.raises(ValueError, match="exog is not aligned"):
        _small(cls).fit(y, shifted)
    with pytest.raises(TypeError, match="exog must be numeric"):
        _small(cls).fit(y, [[str(v)] for v in range(100)])


@BOTH
def test_calls_before_fit(cls):
    m = _small(cls)
    for call in (m.predict, m.predict_interval, m.summary):
        with pytest.raises(NotFittedError, match="fit"):
            call()
    with pytest.raises(NotFittedError, match="fit"):
        m.save("never.safetensors")


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
    with pytest.raises(ValueError, match="NaN"):
        m.predict_interval(series=np.r_[y, np.nan, 1.0])


@BOTH
def test_too_few_scored_points(cls):
    # lags=3, window=8, burn_in=4: 12 points give 4 scored points, not more than the
    # 4 coefficients of the linear start -> error; 16 points (8 scored) -> a warning
    with pytest.raises(ValueError, match="series is too short: only 4 time points are scored"):
        _small(cls).fit(make_ar(12, {1: 0.5}, random_state=0))
    with pytest.warns(UserWarning, match="series is short: 8 scored time points"):
        _small(cls).fit(make_ar(16, {1: 0.5}, random_state=0))


@BOTH
def test_input_not_mutated_and_none_is_missing(cls):
    y = list(make_ar(80, {1: 0.5}, random_state=2))
    y[40] = None
    with pytest.raises(ValueError, match="NaN"):
        _small(cls).fit(y)
    arr = np.array(y, dtype=float)
    before = arr.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = _small(cls, missing="interpolate", random_state=0).fit(arr)
    np.testing.assert_array_equal(arr, before)
    assert np.isfinite(m.predict(steps=2)).all()


@BOTH
def test_future_exog_checked(cls):
    idx = pd.date_range("2001-01-01", periods=150, freq="MS")
    y, x = make_ar(150, {1: 0.5}, exog=1, random_state=3)
    y = pd.Series(y, index=idx)
    x = pd.DataFrame({"temp": x[:, 0]}, index=idx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = _small(cls, random_state=0).fit(y, x)
    future = pd.date_range(y.index[-1], periods=4, freq="MS")[1:]
    good = pd.DataFrame({"temp": [0.1, 0.2, 0.3]}, index=future)
    assert m.predict(steps=3, exog=good).index.equals(future)
    with pytest.raises(ValueError, match="fitted with exog"):
        m.predict(steps=3)
    with pytest.raises(ValueError, match="exog is not aligned"):
        m.predict(steps=3, exog=good.reset_index(drop=True))
    with pytest.raises(ValueError, match=r"columns \['rain'\].*fitted with exog columns"):
        m.predict(steps=3, exog=good.rename(columns={"temp": "rain"}))
