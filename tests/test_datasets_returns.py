"""The daily return series read from arch's example data (bsdl.datasets.returns)."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from bsdl.datasets import (
    RETURN_SERIES,
    list_series,
    load_nasdaq_returns,
    load_series,
    load_sp500_returns,
    load_wti_returns,
)

arch_data = pytest.importorskip("arch.data")  # arch is a test extra

EXPECTED = {  # name -> (length, first date, last date)
    "sp500": (5030, "1999-01-05", "2018-12-31"),
    "nasdaq": (5030, "1999-01-05", "2018-12-31"),
    "wti": (8320, "1986-01-03", "2019-01-03"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_return_series_shape_dates_and_values(name):
    y = load_series(name)
    n, first, last = EXPECTED[name]
    assert y.name == name and y.dtype == np.float64 and y.size == n
    assert isinstance(y.index, pd.DatetimeIndex) and y.index.name == "date"
    assert y.index.is_unique and y.index.is_monotonic_increasing
    assert (str(y.index[0].date()), str(y.index[-1].date())) == (first, last)
    assert np.all(np.isfinite(y.to_numpy()))
    # daily percent returns: a few percent at most on typical days, mean near 0
    assert 0.5 < y.std() < 5.0 and abs(y.mean()) < 0.2
    pd.testing.assert_series_equal(y, RETURN_SERIES[name][0]())


def test_returns_match_the_prices_by_hand():
    # independent check: log of the ratio of consecutive adjusted closes, in percent
    prices = __import__("arch.data.sp500", fromlist=["load"]).load()["Adj Close"]
    y = load_sp500_returns()
    assert y.iloc[0] == pytest.approx(100 * np.log(prices.iloc[1] / prices.iloc[0]), rel=1e-12)
    assert y.index[10] == prices.index[11]
    wti = __import__("arch.data.wti", fromlist=["load"]).load()["DCOILWTICO"]
    assert load_wti_returns().size == wti.notna().sum() - 1  # holidays dropped, not filled


def test_loaders_return_fresh_copies():
    a = load_nasdaq_returns()
    a.iloc[0] = 1e6
    assert load_nasdaq_returns().iloc[0] != 1e6


def test_list_series_with_returns():
    plain = list_series()
    assert not set(RETURN_SERIES) & set(plain.index)
    table = list_series(returns=True)
    assert table.loc["sp500", "length"] == 5030 and table.loc["wti", "length"] == 8320
    with pytest.raises(TypeError, match="returns must be True or False"):
        list_series(returns="yes")


def test_load_series_names_returns_in_the_error():
    with pytest.raises(ValueError, match="sp500"):
        load_series("dow")


def test_without_arch_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "arch.data.sp500", None)  # import now fails
    with pytest.raises(ImportError, match="optional package 'arch'"):
        load_sp500_returns()
