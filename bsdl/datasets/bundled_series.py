"""Real time series bundled as CSV files in the repository's ``data/`` folder.

Nothing is downloaded: every loader reads a small CSV file shipped in the
``data/`` folder at the root of the bsdl repository (next to ``bsdl/``) and
returns a :class:`pandas.Series` of float64 without missing values. The dated
series have a regular :class:`pandas.DatetimeIndex` that carries its
frequency; the two short classics from R's ``datasets`` package have no dates
and are labelled by position ``1..n``, as in R (a :class:`pandas.RangeIndex`):

================================  ======  ===================================  ===========
loader                            length  span                                 index
================================  ======  ===================================  ===========
:func:`load_seattle_temperature`  1461    2012-01-01 - 2015-12-31              ``"D"``
:func:`load_gb_demand`            5760    2018-11-01 00:00 - 2019-02-28 23:30  ``"30min"``
:func:`load_wwwusage`             100     minutes 1 - 100                      1..100
:func:`load_bjsales`              150     time points 1 - 150                  1..150
================================  ======  ===================================  ===========

The files are complete (no missing time stamp, no missing value), so nothing
is interpolated. A dated loader would nevertheless fill a gap inside the span
by linear interpolation, and raises :class:`RuntimeError` if a file is not on
its regular time grid; a positional file must hold the positions ``1..n`` in
order and no missing value. Sources, licences and how the files were cut are
recorded in ``data/README.md``.

The files are not part of the installed wheel: the loaders work from a
checkout of the repository and raise :class:`FileNotFoundError` otherwise.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["load_seattle_temperature", "load_gb_demand", "load_wwwusage", "load_bjsales"]

#: Folder holding the bundled CSV files (``data/`` at the repository root).
_DATA_DIR: Path = Path(__file__).resolve().parents[2] / "data"

_SEATTLE_FILE = "seattle_temp_max_daily.csv"
_GB_DEMAND_FILE = "gb_national_demand_halfhourly.csv"
_WWWUSAGE_FILE = "wwwusage.csv"
_BJSALES_FILE = "bjsales.csv"
_NOTTEM_FILE = "nottem.csv"


def _data_path(filename: str) -> Path:
    """Path of a bundled file, or a clear :class:`FileNotFoundError`."""
    path = _DATA_DIR / filename
    if not path.is_file():
        raise FileNotFoundError(
            f"Bundled data file {filename!r} not found at {path}. It ships with the "
            "bsdl repository's data/ folder (next to the bsdl/ package) and is not "
            "downloaded at run time; use a full checkout of the repository."
        )
    return path


def _read_regular(
    filename: str,
    time_column: str,
    value_column: str,
    time_format: str,
    freq: str,
    name: str,
    index_name: str,
) -> pd.Series:
    """Read a two-column CSV into a float64 Series on a regular ``freq`` grid.

    Gaps inside the span (missing rows or empty values) are filled by linear
    interpolation; a time stamp off the grid, a duplicate or a missing value
    at either end raises :class:`RuntimeError`.
    """
    path = _data_path(filename)
    df = pd.read_csv(path, usecols=[time_column, value_column], dtype={value_column: "float64"})
    times = pd.DatetimeIndex(pd.to_datetime(df[time_column], format=time_format))
    if times.size == 0 or not (times.is_unique and times.is_monotonic_increasing):
        raise RuntimeError(f"{filename}: time stamps are empty, duplicated or unsorted.")
    grid = pd.date_range(start=times[0], end=times[-1], freq=freq, name=index_name)
    if not times.isin(grid).all():
        raise RuntimeError(f"{filename}: time stamps are not on a regular {freq!r} grid.")
    y = pd.Series(df[value_column].to_numpy(dtype="float64"), index=times).reindex(grid)
    y = y.interpolate(method="linear", limit_area="inside")
    if y.isna().any():
        raise RuntimeError(f"{filename}: missing values at the start or end of the series.")
    return y.rename(name)


def _read_positional(
    filename: str, position_column: str, value_column: str, name: str
) -> pd.Series:
    """Read a two-column CSV labelled by the positions ``1..n`` into a float64 Series.

    The positions must be exactly ``1, 2, ..., n`` and no value may be missing
    (:class:`RuntimeError` otherwise). The index is ``RangeIndex(1, n + 1)`` named
    ``position_column``.
    """
    path = _data_path(filename)
    df = pd.read_csv(path, usecols=[position_column, value_column])
    n = len(df)
    positions = df[position_column].to_numpy()
    if n == 0 or not np.array_equal(positions, np.arange(1, n + 1)):
        raise RuntimeError(f"{filename}: the {position_column!r} column must be 1, 2, ..., n.")
    values = pd.to_numeric(df[value_column], errors="coerce").to_numpy(dtype="float64")
    if not np.all(np.isfinite(values)):
        raise RuntimeError(f"{filename}: missing or non-numeric values.")
    return pd.Series(values, index=pd.RangeIndex(1, n + 1, name=position_column), name=name)


def load_seattle_temperature() -> pd.Series:
    """Daily maximum temperature in Seattle, 1 January 2012 - 31 December 2015.

    Daily maximum air temperature in degrees Celsius (NOAA National Climatic
    Data Center daily records for Seattle, converted from tenths of a degree),
    the ``temp_max`` column of ``seattle-weather.csv`` from the vega-datasets
    package. 1461 consecutive days without gaps (so nothing is interpolated),
    ranging from -1.6 to 35.6 degrees Celsius, with a strong annual cycle.

    Returns
    -------
    y : Series of float64, length 1461
        Named ``"temp_max"``, indexed by a :class:`pandas.DatetimeIndex` of
        daily frequency (``"D"``) named ``"date"``.

    Raises
    ------
    FileNotFoundError
        If ``data/seattle_temp_max_daily.csv`` is not in the repository's
        ``data/`` folder.

    Notes
    -----
    Source: vega-datasets (https://github.com/vega/vega-datasets), file
    ``data/seattle-weather.csv``; its metadata give the source "NOAA National
    Climatic Data Center" (https://www.ncdc.noaa.gov/cdo-web/datatools/records)
    and the licence "U.S. Government Dataset" (``other-pd``, public domain);
    the vega-datasets code is BSD-3-Clause. Only the ``date`` and
    ``temp_max`` columns are kept (``data/seattle_temp_max_daily.csv``).

    References
    ----------
    Vega Datasets, ``seattle-weather.csv`` (v3.2.1), data from the NOAA
    National Climatic Data Center, Climate Data Online.

    Examples
    --------
    >>> from bsdl.datasets import load_seattle_temperature
    >>> y = load_seattle_temperature()
    >>> y.shape, y.name, str(y.dtype), y.index.freqstr
    ((1461,), 'temp_max', 'float64', 'D')
    >>> str(y.index[0].date()), str(y.index[-1].date()), int(y.isna().sum())
    ('2012-01-01', '2015-12-31', 0)
    """
    return _read_regular(
        _SEATTLE_FILE,
        time_column="date",
        value_column="temp_max",
        time_format="%Y-%m-%d",
        freq="D",
        name="temp_max",
        index_name="date",
    )


def load_gb_demand() -> pd.Series:
    """Half-hourly national electricity demand in Great Britain, November 2018 - February 2019.

    National Demand (ND) in megawatts published by National Grid: the sum of
    generation metered by National Grid's operational metering, i.e. the
    transmission-level demand excluding station load, pumped-storage pumping
    and interconnector exports (embedded wind and solar generation are not
    seen and lower it). One value per half-hour settlement period, dated at
    the start of the period: 120 days x 48 = 5760 values from 2018-11-01 00:00
    to 2019-02-28 23:30, without gaps (so nothing is interpolated), ranging
    from 19191 to 47198 MW. Daily and weekly cycles plus the Christmas dip
    make it a multiple-seasonality series.

    The whole span lies in Greenwich Mean Time (British Summer Time ended on
    2018-10-28 and began on 2019-03-31), so the time-zone-naive time stamps are
    both UK local time and UTC, and every day has 48 periods.

    Returns
    -------
    y : Series of float64, length 5760
        Named ``"national_demand"``, indexed by a :class:`pandas.DatetimeIndex`
        of half-hourly frequency (``"30min"``) named ``"timestamp"``.

    Raises
    ------
    FileNotFoundError
        If ``data/gb_national_demand_halfhourly.csv`` is not in the
        repository's ``data/`` folder.

    Notes
    -----
    Source: the ``ND`` column of the ``UKgrid`` data frame in the R package
    UKgrid 0.1.3 by R. Krispin and L. Krispin
    (https://github.com/RamiKrispin/UKgrid, MIT licence), which compiles
    National Grid's yearly "DemandData" files (April 2005 - October 2019);
    only the span above is kept (``data/gb_national_demand_halfhourly.csv``).
    The UKgrid repository states no separate licence for the data; see
    ``data/README.md``.

    References
    ----------
    R. Krispin and L. Krispin (2020). *UKgrid: The UK National Electricity
    Transmission System Dataset*. R package version 0.1.3.
    Data: National Grid (Great Britain), historic demand data.

    Examples
    --------
    >>> from bsdl.datasets import load_gb_demand
    >>> y = load_gb_demand()
    >>> y.shape, y.name, str(y.dtype), y.index.freqstr
    ((5760,), 'national_demand', 'float64', '30min')
    >>> str(y.index[0]), str(y.index[-1]), int(y.isna().sum())
    ('2018-11-01 00:00:00', '2019-02-28 23:30:00', 0)
    """
    return _read_regular(
        _GB_DEMAND_FILE,
        time_column="timestamp",
        value_column="national_demand_mw",
        time_format="%Y-%m-%d %H:%M",
        freq="30min",
        name="national_demand",
        index_name="timestamp",
    )


def load_wwwusage() -> pd.Series:
    """Number of users connected to the Internet through a server, every minute (R ``WWWusage``).

    A time series of 100 consecutive minutes (integer counts, 83 to 228 users),
    the ``WWWusage`` data set of R's ``datasets`` package. It wanders without a
    fixed level (the example of R's help page compares ARIMA(p, 1, q) models
    of it by AIC). No dates are recorded, so it is labelled by the minute ``1..100``, as R's
    ``time(WWWusage)``.

    Returns
    -------
    y : Series of float64, length 100
        Named ``"users"``, indexed by ``RangeIndex(1, 101)`` named ``"minute"``.

    Raises
    ------
    FileNotFoundError
        If ``data/wwwusage.csv`` is not in the repository's ``data/`` folder.

    Notes
    -----
    Source: R's ``datasets`` package (R Core Team, licence GPL (>= 2)), file
    ``src/library/datasets/data/WWWusage.R`` of the R sources; its help page
    gives the source Durbin & Koopman (2001) and the reference Makridakis,
    Wheelwright & Hyndman (1998). Only the 100 values are copied
    (``data/wwwusage.csv``); see ``data/README.md`` for provenance and licence.

    References
    ----------
    J. Durbin and S. J. Koopman (2001). *Time Series Analysis by State Space
    Methods*. Oxford University Press.
    S. Makridakis, S. C. Wheelwright and R. J. Hyndman (1998). *Forecasting:
    Methods and Applications*, 3rd ed. Wiley.

    Examples
    --------
    >>> from bsdl.datasets import load_wwwusage
    >>> y = load_wwwusage()
    >>> y.shape, y.name, y.index.name, int(y.index[0]), int(y.index[-1])
    ((100,), 'users', 'minute', 1, 100)
    >>> float(y.iloc[0]), float(y.iloc[-1])
    (88.0, 220.0)
    """
    return _read_positional(_WWWUSAGE_FILE, "minute", "users", "users")


def load_bjsales() -> pd.Series:
    """Box & Jenkins' sales series, 150 observations (R ``BJsales``).

    The sales series of Box & Jenkins' "sales data with leading indicator",
    the ``BJsales`` data set of R's ``datasets`` package: 150 values from
    198.6 to 263.3, published with one decimal, with a slowly drifting level.
    The time unit is not stated by the source, so the series is
    labelled by position ``1..150``, as R's ``time(BJsales)``. The leading
    indicator (R's ``BJsales.lead``) is not bundled.

    Returns
    -------
    y : Series of float64, length 150
        Named ``"sales"``, indexed by ``RangeIndex(1, 151)`` named ``"time"``.

    Raises
    ------
    FileNotFoundError
        If ``data/bjsales.csv`` is not in the repository's ``data/`` folder.

    Notes
    -----
    Source: R's ``datasets`` package (R Core Team, licence GPL (>= 2)), file
    ``src/library/datasets/data/BJsales.R`` of the R sources; its help page
    says "The data are given in Box & Jenkins (1976), p. 537", obtained from
    R. J. Hyndman's Time Series Data Library, and refers to Brockwell & Davis
    (1991), p. 414. Only the 150 sales values are copied
    (``data/bjsales.csv``); see ``data/README.md`` for provenance and licence.

    References
    ----------
    G. E. P. Box and G. M. Jenkins (1976). *Time Series Analysis, Forecasting
    and Control*, revised ed. Holden-Day, p. 537.
    P. J. Brockwell and R. A. Davis (1991). *Time Series: Theory and Methods*,
    2nd ed. Springer, p. 414.

    Examples
    --------
    >>> from bsdl.datasets import load_bjsales
    >>> y = load_bjsales()
    >>> y.shape, y.name, y.index.name, int(y.index[0]), int(y.index[-1])
    ((150,), 'sales', 'time', 1, 150)
    >>> float(y.iloc[0]), float(y.iloc[-1])
    (200.1, 262.7)
    """
    return _read_positional(_BJSALES_FILE, "time", "sales", "sales")


def load_nottem() -> pd.Series:
    """Monthly mean air temperature at Nottingham Castle, 1920-1939 (R ``nottem``).

    Average air temperatures in degrees Fahrenheit, 240 months from January 1920
    to December 1939 (31.3 to 66.5 F), the ``nottem`` data set of R's ``datasets``
    package: a strong annual cycle (period 12) around a stable level, the classic
    monthly seasonal series of that length.

    Returns
    -------
    y : Series of float64, length 240
        Named ``"temperature"``, indexed by a monthly :class:`pandas.DatetimeIndex`
        (``"MS"``, month start) named ``"month"``.

    Raises
    ------
    FileNotFoundError
        If ``data/nottem.csv`` is not in the repository's ``data/`` folder.

    Notes
    -----
    Source: R's ``datasets`` package (R Core Team, licence GPL (>= 2)), file
    ``src/library/datasets/data/nottem.R`` of the R sources (``ts(..., start=1920,
    frequency=12)``); its help page gives Anderson (1976) as the source. Only the
    240 values are copied (``data/nottem.csv``); see ``data/README.md``.

    References
    ----------
    O. D. Anderson (1976). *Time Series Analysis and Forecasting: The Box-Jenkins
    Approach*. Butterworths, Series R.

    Examples
    --------
    >>> from bsdl.datasets import load_nottem
    >>> y = load_nottem()
    >>> y.shape, y.name, y.index.freqstr, str(y.index[0].date()), str(y.index[-1].date())
    ((240,), 'temperature', 'MS', '1920-01-01', '1939-12-01')
    >>> float(y.iloc[0]), float(y.min()), float(y.max())
    (40.6, 31.3, 66.5)
    """
    return _read_regular(
        _NOTTEM_FILE,
        time_column="month",
        value_column="temperature_f",
        time_format="%Y-%m",
        freq="MS",
        name="temperature",
        index_name="month",
    )
