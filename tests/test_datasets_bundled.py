"""Tests for the real time series bundled as CSV files in ``data/`` (bundled_series)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsdl.datasets import (
    bundled_series,
    load_bjsales,
    load_gb_demand,
    load_seattle_temperature,
    load_wwwusage,
)

# loader, length, name, freq, index name, first, last, plausible (min, max)
CASES = [
    (
        load_seattle_temperature,
        1461,
        "temp_max",
        "D",
        "date",
        "2012-01-01",
        "2015-12-31",
        (-20.0, 45.0),  # daily maximum air temperature in Seattle, degrees C
    ),
    (
        load_gb_demand,
        5760,
        "national_demand",
        "30min",
        "timestamp",
        "2018-11-01 00:00",
        "2019-02-28 23:30",
        (10_000.0, 65_000.0),  # GB national demand, MW
    ),
]
IDS = ["seattle_temperature", "gb_demand"]


@pytest.mark.parametrize(
    ("loader", "length", "name", "freq", "index_name", "first", "last", "bounds"), CASES, ids=IDS
)
def test_bundled_series_shape_index_and_values(
    loader, length, name, freq, index_name, first, last, bounds
):
    y = loader()
    assert isinstance(y, pd.Series)
    assert y.shape == (length,)
    assert y.dtype == np.float64
    assert y.name == name
    assert isinstance(y.index, pd.DatetimeIndex)
    assert y.index.freqstr == freq
    assert y.index.freq == pd.tseries.frequencies.to_offset(freq)
    assert y.index.name == index_name
    assert y.index.tz is None
    assert y.index.is_monotonic_increasing
    assert y.index.is_unique
    assert y.index[0] == pd.Timestamp(first)
    assert y.index[-1] == pd.Timestamp(last)
    # regular grid: the index equals the full date range of its frequency
    pd.testing.assert_index_equal(y.index, pd.date_range(first, last, freq=freq, name=index_name))
    assert not y.isna().any()
    assert np.isfinite(y.to_numpy()).all()
    lo, hi = bounds
    assert lo <= y.min() and y.max() <= hi


def test_seattle_temperature_values():
    y = load_seattle_temperature()
    assert y.iloc[0] == pytest.approx(12.8)  # 2012-01-01 in seattle-weather.csv
    assert y.min() == pytest.approx(-1.6)
    assert y.max() == pytest.approx(35.6)
    # annual cycle: July is warmer than January in every year
    monthly = y.groupby([y.index.year, y.index.month]).mean()
    for year in range(2012, 2016):
        assert monthly[(year, 7)] > monthly[(year, 1)] + 8.0


def test_gb_demand_values():
    y = load_gb_demand()
    assert y.iloc[0] == 26651.0  # 2018-11-01 00:00, settlement period 1
    assert y.min() == 19191.0
    assert y.max() == 47198.0
    assert (y == np.round(y)).all()  # published as whole megawatts
    # daily cycle: the evening peak is well above the night trough
    by_time = y.groupby(y.index.time).mean()
    assert by_time.max() > 1.3 * by_time.min()
    assert (y.groupby(y.index.date).size() == 48).all()


@pytest.mark.parametrize("loader", [load_seattle_temperature, load_gb_demand], ids=IDS)
def test_bundled_series_fresh_object_each_call(loader):
    first = loader()
    expected = first.copy()
    first.iloc[:10] = -1.0e9
    first.index.name = "changed"
    first.name = "changed"
    second = loader()
    assert second is not first
    pd.testing.assert_series_equal(second, expected)
    assert second.index.freq == expected.index.freq


@pytest.mark.parametrize(
    ("loader", "filename"),
    [
        (load_seattle_temperature, "seattle_temp_max_daily.csv"),
        (load_gb_demand, "gb_national_demand_halfhourly.csv"),
    ],
    ids=IDS,
)
def test_bundled_series_missing_file(loader, filename, monkeypatch, tmp_path):
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path / "no_data_here")
    with pytest.raises(FileNotFoundError, match=filename) as info:
        loader()
    assert "data/" in str(info.value)
    assert "repository" in str(info.value)


def test_bundled_series_gap_is_interpolated(monkeypatch, tmp_path):
    """A missing row and an empty value inside the span are filled linearly."""
    (tmp_path / "seattle_temp_max_daily.csv").write_text(
        "date,temp_max\n2020-01-01,1.0\n2020-01-02,\n2020-01-04,7.0\n2020-01-05,8.0\n"
    )
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path)
    y = load_seattle_temperature()
    assert y.index.freqstr == "D"
    np.testing.assert_allclose(y.to_numpy(), [1.0, 3.0, 5.0, 7.0, 8.0])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,temp_max\n2020-01-01,\n2020-01-02,2.0\n", "missing values"),
        ("date,temp_max\n2020-01-02,1.0\n2020-01-01,2.0\n", "unsorted"),
    ],
)
def test_bundled_series_bad_file(text, message, monkeypatch, tmp_path):
    (tmp_path / "seattle_temp_max_daily.csv").write_text(text)
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=message):
        load_seattle_temperature()


def test_gb_demand_off_grid_time_raises(monkeypatch, tmp_path):
    (tmp_path / "gb_national_demand_halfhourly.csv").write_text(
        "timestamp,national_demand_mw\n2020-01-01 00:00,1\n2020-01-01 00:45,2\n2020-01-01 01:00,3\n"
    )
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path)
    with pytest.raises(RuntimeError, match="regular"):
        load_gb_demand()


# --------------------------------------------------------------------------- R datasets classics
# loader, length, name, index name, first value, last value, (min, max), sum of the values
SHORT = [
    (load_wwwusage, 100, "users", "minute", 88.0, 220.0, (83.0, 228.0), 13708.0),
    (load_bjsales, 150, "sales", "time", 200.1, 262.7, (198.6, 263.3), 34496.7),
]
SHORT_IDS = ["wwwusage", "bjsales"]


@pytest.mark.parametrize(
    ("loader", "length", "name", "index_name", "first", "last", "bounds", "total"),
    SHORT,
    ids=SHORT_IDS,
)
def test_r_classics_values_length_and_index(
    loader, length, name, index_name, first, last, bounds, total
):
    # values from R's src/library/datasets/data/{WWWusage,BJsales}.R (see data/README.md)
    y = loader()
    assert isinstance(y, pd.Series) and y.dtype == np.float64
    assert y.shape == (length,) and y.name == name
    pd.testing.assert_index_equal(y.index, pd.RangeIndex(1, length + 1, name=index_name))
    assert y.iloc[0] == first and y.iloc[-1] == last
    assert (y.min(), y.max()) == bounds
    assert y.sum() == pytest.approx(total, abs=1e-9)
    assert not y.isna().any()


def test_r_classics_spot_values():
    www = load_wwwusage()
    assert www.loc[[12, 50, 91]].tolist() == [99.0, 175.0, 193.0]
    assert (www == np.round(www)).all()  # whole numbers of users
    bj = load_bjsales()
    assert bj.loc[[40, 96, 143]].tolist() == [215.0, 246.0, 259.6]
    np.testing.assert_allclose(bj * 10, np.round(bj * 10), atol=1e-9)  # one decimal


@pytest.mark.parametrize("name", ["wwwusage", "bjsales"])
def test_r_classics_in_the_catalog(name):
    from bsdl.datasets import REAL_SERIES, load_series

    assert name in REAL_SERIES
    pd.testing.assert_series_equal(load_series(name), REAL_SERIES[name][0]())


def test_r_classics_fit_a_sparse_rnn_index():
    # the positional index 1..n is a regular integer index that SparseRNN accepts
    from bsdl._series import check_series

    _, ti, name = check_series(load_bjsales())
    assert (ti.kind, ti.start, ti.step, name) == ("range", "1", 1, "sales")
    assert ti.labels(150, 152).tolist() == [151, 152]


@pytest.mark.parametrize(
    ("loader", "filename"),
    [(load_wwwusage, "wwwusage.csv"), (load_bjsales, "bjsales.csv")],
    ids=SHORT_IDS,
)
def test_r_classics_missing_file(loader, filename, monkeypatch, tmp_path):
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path / "no_data_here")
    with pytest.raises(FileNotFoundError, match=filename):
        loader()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("minute,users\n1,3\n3,4\n", "1, 2, ..., n"),
        ("minute,users\n2,3\n3,4\n", "1, 2, ..., n"),
        ("minute,users\n1,3\n2,\n", "missing"),
        ("minute,users\n1,3\n2,abc\n", "non-numeric"),
    ],
)
def test_r_classics_bad_file(text, message, monkeypatch, tmp_path):
    (tmp_path / "wwwusage.csv").write_text(text)
    monkeypatch.setattr(bundled_series, "_DATA_DIR", tmp_path)
    with pytest.raises(RuntimeError, match=message):
        load_wwwusage()


def test_r_classics_fresh_object_each_call():
    first = load_wwwusage()
    first.iloc[:5] = -1.0
    assert load_wwwusage().iloc[0] == 88.0


def test_nottem_values_and_monthly_index():
    # values of R's src/library/datasets/data/nottem.R (see data/README.md)
    from bsdl.datasets import load_nottem, load_series

    y = load_nottem()
    assert y.shape == (240,) and y.dtype == np.float64 and y.name == "temperature"
    assert y.index.freqstr == "MS" and y.index.name == "month"
    assert str(y.index[0].date()) == "1920-01-01" and str(y.index[-1].date()) == "1939-12-01"
    assert y.iloc[[0, 11, 109, 239]].tolist() == [40.6, 39.8, 31.3, 37.8]
    assert y.sum() == pytest.approx(11769.5, abs=1e-9)
    pd.testing.assert_series_equal(load_series("nottem"), y)
    # an annual cycle: July is warmer than January in every year
    assert (y[y.index.month == 7].to_numpy() > y[y.index.month == 1].to_numpy()).all()
