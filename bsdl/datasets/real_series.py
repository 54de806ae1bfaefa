"""Real time series that ship with statsmodels, as float64 Series with a regular index.

Every loader reads a data set bundled inside ``statsmodels.datasets`` (nothing
is downloaded) and returns a :class:`pandas.Series` of float64 without missing
values whose index carries its frequency:

============================  =======  ====================  ======================
loader                        length   span                  index (freq)
============================  =======  ====================  ======================
:func:`load_sunspots`         309      1700-2008             PeriodIndex (Y-DEC)
:func:`load_co2`              2284     1958-03-29 - 12-29    DatetimeIndex (W-SAT)
``load_co2(weekly=False)``    526      1958-03 - 2001-12     DatetimeIndex (MS)
:func:`load_elnino`           732      1950-01 - 2010-12     PeriodIndex (M)
:func:`load_nile`             100      1871-1970             PeriodIndex (Y-DEC)
:func:`load_macro`            203      1959Q1 - 2009Q3       PeriodIndex (Q-DEC)
============================  =======  ====================  ======================

(``load_macro`` with the default ``transform="growth"`` has 202 values from
1959Q2.) The data are public domain according to statsmodels' ``COPYRIGHT``
attributes; see ``data/README.md`` for sources and references.

statsmodels is imported only when a loader is called.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["load_sunspots", "load_co2", "load_elnino", "load_nile", "load_macro"]

#: Columns of statsmodels' macrodata that :func:`load_macro` accepts.
MACRO_COLUMNS: tuple[str, ...] = (
    "realgdp",
    "realcons",
    "realinv",
    "realgovt",
    "realdpi",
    "cpi",
    "m1",
    "tbilrate",
    "unemp",
    "pop",
    "infl",
    "realint",
)

_MACRO_TRANSFORMS = ("level", "log", "growth")


def _sm_data(name: str) -> pd.DataFrame:
    """``statsmodels.datasets.<name>.load_pandas().data`` (a copy)."""
    from statsmodels import datasets as sm_datasets

    return getattr(sm_datasets, name).load_pandas().data.copy()


def _annual(values: Any, years: Any, name: str) -> pd.Series:
    years = np.asarray(years, dtype=np.float64)
    index = pd.period_range(start=str(int(years[0])), periods=years.size, freq="Y", name="year")
    if not np.array_equal(index.year, years):  # guard against a changed statsmodels file
        raise RuntimeError(f"statsmodels' {name} data are not consecutive years.")
    return pd.Series(np.asarray(values, dtype=np.float64), index=index, name=name)


def load_sunspots() -> pd.Series:
    """Yearly sunspot numbers, 1700-2008.

    Annual mean sunspot activity (Wolf / Zurich sunspot number) from the
    National Geophysical Data Center, as shipped in
    :mod:`statsmodels.datasets.sunspots`. 309 values, no missing values.
    A classic nonlinear series with an approximately 11-year cycle.

    Returns
    -------
    y : Series of float64, length 309
        Named ``"sunactivity"``, indexed by a :class:`pandas.PeriodIndex` of
        annual frequency (``"Y-DEC"``) named ``"year"``.

    Notes
    -----
    Source: NOAA National Geophysical Data Center,
    http://www.ngdc.noaa.gov/stp/solar/solarda3.html (via statsmodels).
    statsmodels states: "This data is public domain."

    References
    ----------
    H. Tong (1990). *Non-linear Time Series: A Dynamical System Approach*.
    Oxford University Press (sunspot numbers as a benchmark nonlinear series).

    Examples
    --------
    >>> from bsdl.datasets import load_sunspots
    >>> y = load_sunspots()
    >>> y.shape, y.name, y.index.freqstr
    ((309,), 'sunactivity', 'Y-DEC')
    >>> str(y.index[0]), str(y.index[-1])
    ('1700', '2008')
    """
    df = _sm_data("sunspots")
    return _annual(df["SUNACTIVITY"], df["YEAR"], "sunactivity")


def load_co2(weekly: bool = True) -> pd.Series:
    """Weekly (or monthly mean) atmospheric CO2 at Mauna Loa, March 1958 - December 2001.

    CO2 concentration in ppmv from continuous air samples at Mauna Loa
    Observatory, Hawaii, as shipped in :mod:`statsmodels.datasets.co2`
    (weekly averages dated on Saturdays). Of the 2284 weeks from 1958-03-29 to
    2001-12-29, 59 have no measurement (2225 observed); **these 59 missing
    weeks are filled by linear interpolation** between the neighbouring
    observed weeks (no missing value lies at either end, so no extrapolation
    is needed).

    Parameters
    ----------
    weekly : bool, default=True
        If True, return the 2284 weekly values (index frequency ``"W-SAT"``).
        If False, return the 526 calendar-month means (March 1958 - December
        2001, index frequency ``"MS"``, dated at the first of the month) of
        the interpolated weekly series; March 1958 contains one week only.

    Returns
    -------
    y : Series of float64
        Named ``"co2"``, indexed by a :class:`pandas.DatetimeIndex` named
        ``"date"``.

    Notes
    -----
    Source: C. D. Keeling and T. P. Whorf, Scripps Institution of
    Oceanography, via the Carbon Dioxide Information Analysis Center (CDIAC),
    http://cdiac.ornl.gov/trends/co2/sio-keel-flask/sio-keel-flaskmlo_c.html,
    obtained by statsmodels on 3/15/2014. statsmodels states: "This is public
    domain."

    References
    ----------
    C. D. Keeling and T. P. Whorf (2004). Atmospheric CO2 concentrations
    derived from flask air samples at sites in the SIO network. In *Trends: A
    Compendium of Data on Global Change*. Carbon Dioxide Information Analysis
    Center, Oak Ridge National Laboratory, U.S. Department of Energy, Oak
    Ridge, Tennessee, U.S.A.

    Examples
    --------
    >>> from bsdl.datasets import load_co2
    >>> y = load_co2()
    >>> y.shape, y.index.freqstr, int(y.isna().sum())
    ((2284,), 'W-SAT', 0)
    >>> m = load_co2(weekly=False)
    >>> m.shape, m.index.freqstr
    ((526,), 'MS')
    """
    if not isinstance(weekly, bool | np.bool_):
        raise TypeError(f"weekly must be True or False, got {weekly!r}.")
    raw = _sm_data("co2")["co2"].astype(np.float64)
    y = raw.interpolate(method="linear", limit_area="inside")
    if y.isna().any():  # guard against a changed statsmodels file
        raise RuntimeError("statsmodels' co2 data have missing values at an end.")
    if not weekly:
        y = y.resample("MS").mean()
    y.index = pd.DatetimeIndex(y.index, freq=y.index.freq, name="date")
    return y.rename("co2")


def load_elnino() -> pd.Series:
    """Monthly sea-surface temperature of the Nino 1+2 region, January 1950 - December 2010.

    Average sea-surface temperature in degrees Celsius of the Pacific Ocean
    between 0-10 degrees South and 90-80 degrees West (NOAA ERSST.V3B, Nino
    1+2), as shipped in :mod:`statsmodels.datasets.elnino`. statsmodels
    stores one row per year and one column per month; here the 61 x 12 table
    is unrolled into one chronological series of 732 months.

    Returns
    -------
    y : Series of float64, length 732
        Named ``"temperature"``, indexed by a :class:`pandas.PeriodIndex` of
        monthly frequency (``"M"``) named ``"month"``.

    Notes
    -----
    Source: National Oceanic and Atmospheric Administration's National
    Weather Service, ERSST.V3B data set, Nino 1+2,
    http://www.cpc.ncep.noaa.gov/data/indices/ (via statsmodels). statsmodels
    states: "This data is in the public domain."

    References
    ----------
    T. M. Smith, R. W. Reynolds, T. C. Peterson and J. Lawrimore (2008).
    Improvements to NOAA's historical merged land-ocean surface temperature
    analysis (1880-2006). *Journal of Climate*, 21(10), 2283-2296.

    Examples
    --------
    >>> from bsdl.datasets import load_elnino
    >>> y = load_elnino()
    >>> y.shape, y.index.freqstr
    ((732,), 'M')
    >>> str(y.index[0]), str(y.index[-1])
    ('1950-01', '2010-12')
    """
    df = _sm_data("elnino")
    years = df["YEAR"].to_numpy(dtype=np.float64)
    values = df.drop(columns="YEAR").to_numpy(dtype=np.float64)  # (years, 12), JAN..DEC
    if values.shape[1] != 12 or not np.array_equal(years, years[0] + np.arange(years.size)):
        raise RuntimeError("statsmodels' elnino data are not a consecutive year x month table.")
    index = pd.period_range(
        start=f"{int(years[0])}-01", periods=values.size, freq="M", name="month"
    )
    return pd.Series(values.reshape(-1), index=index, name="temperature")


def load_nile() -> pd.Series:
    """Annual flow of the Nile at Aswan, 1871-1970.

    Annual discharge in :math:`10^8\\,m^3`, as shipped in
    :mod:`statsmodels.datasets.nile`; 100 values with an apparent change
    point near 1898.

    Returns
    -------
    y : Series of float64, length 100
        Named ``"volume"``, indexed by a :class:`pandas.PeriodIndex` of annual
        frequency (``"Y-DEC"``) named ``"year"``.

    Notes
    -----
    statsmodels states: "This is public domain."

    References
    ----------
    G. W. Cobb (1978). The problem of the Nile: conditional solution to a
    changepoint problem. *Biometrika*, 65(2), 243-251.

    Examples
    --------
    >>> from bsdl.datasets import load_nile
    >>> y = load_nile()
    >>> y.shape, y.index.freqstr, str(y.index[0])
    ((100,), 'Y-DEC', '1871')
    """
    df = _sm_data("nile")
    return _annual(df["volume"], df["year"], "volume")


def load_macro(column: str = "realgdp", transform: str = "growth") -> pd.Series:
    """One quarterly US macroeconomic series, 1959Q1 - 2009Q3.

    From :mod:`statsmodels.datasets.macrodata` (203 quarters), compiled by
    Skipper Seabold from FRED (Federal Reserve Bank of St. Louis) and, for the
    unemployment rate, the Bureau of Labor Statistics, both accessed December
    15, 2009.

    Parameters
    ----------
    column : str, default="realgdp"
        One of :data:`MACRO_COLUMNS`: ``"realgdp"``, ``"realcons"``,
        ``"realinv"``, ``"realgovt"``, ``"realdpi"`` (billions of chained 2005
        US dollars, seasonally adjusted annual rate), ``"cpi"``, ``"m1"``,
        ``"tbilrate"``, ``"unemp"``, ``"pop"``, ``"infl"`` or ``"realint"``.
    transform : {"growth", "level", "log"}, default="growth"
        ``"level"``: the series as stored (203 values); ``"log"``: its natural
        logarithm (203 values); ``"growth"``: the quarterly growth rate in
        percent, ``100 * diff(log(x))``, with the first quarter dropped (202
        values from 1959Q2). ``"log"`` and ``"growth"`` need a strictly
        positive series, which excludes ``"infl"`` and ``"realint"``.

    Returns
    -------
    y : Series of float64
        Named after ``column``, indexed by a :class:`pandas.PeriodIndex` of
        quarterly frequency (``"Q-DEC"``) named ``"quarter"``.

    Notes
    -----
    Sources (as documented by statsmodels): FRED, Federal Reserve Economic
    Data, Federal Reserve Bank of St. Louis, http://research.stlouisfed.org/fred2/;
    Bureau of Labor Statistics, U.S. Department of Labor, http://www.bls.gov/data/.
    statsmodels states: "This is public domain."

    Examples
    --------
    >>> from bsdl.datasets import load_macro
    >>> g = load_macro()
    >>> g.shape, g.name, g.index.freqstr, str(g.index[0])
    ((202,), 'realgdp', 'Q-DEC', '1959Q2')
    >>> load_macro("unemp", transform="level").shape
    (203,)
    """
    if not isinstance(column, str) or column not in MACRO_COLUMNS:
        raise ValueError(f"column must be one of {list(MACRO_COLUMNS)}, got {column!r}.")
    if not isinstance(transform, str) or transform not in _MACRO_TRANSFORMS:
        raise ValueError(f"transform must be one of {list(_MACRO_TRANSFORMS)}, got {transform!r}.")
    df = _sm_data("macrodata")
    start = f"{int(df['year'].iloc[0])}Q{int(df['quarter'].iloc[0])}"
    index = pd.period_range(start=start, periods=len(df), freq="Q", name="quarter")
    if not (
        np.array_equal(index.year, df["year"]) and np.array_equal(index.quarter, df["quarter"])
    ):
        raise RuntimeError("statsmodels' macrodata are not consecutive quarters.")
    y = pd.Series(df[column].to_numpy(dtype=np.float64), index=index, name=column)
    if transform == "level":
        return y
    if (y <= 0).any():
        raise ValueError(
            f"transform={transform!r} needs a strictly positive series, but column "
            f"{column!r} has minimum {y.min()}; use transform='level'."
        )
    y = np.log(y)
    if transform == "growth":
        y = (100.0 * y.diff()).iloc[1:]
    return y
