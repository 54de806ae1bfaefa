"""Real daily and half-hourly time series bundled as CSV files in the repository's ``data/``.

Nothing is downloaded: every loader reads a small CSV file shipped in the
``data/`` folder at the root of the bsdl repository (next to ``bsdl/``) and
returns a :class:`pandas.Series` of float64 without missing values whose
:class:`pandas.DatetimeIndex` is regular and carries its frequency:

================================  ======  ===================================  ===========
loader                            length  span                                 index freq
================================  ======  ===================================  ===========
:func:`load_seattle_temperature`  1461    2012-01-01 - 2015-12-31              ``"D"``
:func:`load_gb_demand`            5760    2018-11-01 00:00 - 2019-02-28 23:30  ``"30min"``
================================  ======  ===================================  ===========

Both files are complete (no missing time stamp, no missing value), so nothing
is interpolated. A loader would nevertheless fill a gap inside the span by
linear interpolation, and raises :class:`RuntimeError` if a file is not on its
regular time grid. Sources, licences and how the files were cut are recorded
in ``data/README.md``.

The files are not part of the installed wheel: the loaders work from a
checkout of the repository and raise :class:`FileNotFoundError` otherwise.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["load_seattle_temperature", "load_gb_demand"]

#: Folder holding the bundled CSV files (``data/`` at the repository root).
_DATA_DIR: Path = Path(__file__).resolve().parents[2] / "data"

_SEATTLE_FILE = "seattle_temp_max_daily.csv"
_GB_DEMAND_FILE = "gb_national_demand_halfhourly.csv"


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
