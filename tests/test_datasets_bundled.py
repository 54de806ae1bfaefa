"""Tests for the real time series bundled as CSV files in ``data/`` (bundled_series)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bsdl.datasets import bundled_series, load_gb_demand, load_seattle_temperature

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
