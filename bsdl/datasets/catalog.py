"""One name for every bundled real time series: :func:`load_series` and :func:`list_series`.

The comparison harness (:func:`bsdl.compare.compare_intervals`, ``bsdl compare``) and
the vignettes refer to series by these names. :data:`REAL_SERIES` need only bsdl's
dependencies; the daily returns of :data:`RETURN_SERIES` are read from the example data
of the optional package ``arch`` (:mod:`bsdl.datasets.returns`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd

from .bundled_series import (
    load_bjsales,
    load_gb_demand,
    load_nottem,
    load_seattle_temperature,
    load_wwwusage,
)
from .real_series import load_co2, load_elnino, load_macro, load_nile, load_sunspots
from .returns import load_nasdaq_returns, load_sp500_returns, load_wti_returns

__all__ = ["REAL_SERIES", "RETURN_SERIES", "load_series", "list_series"]

#: name -> (loader, sampling frequency, description)
REAL_SERIES: dict[str, tuple[Callable[[], pd.Series], str, str]] = {
    "sunspots": (load_sunspots, "yearly", "yearly sunspot numbers 1700-2008 (statsmodels)"),
    "nile": (load_nile, "yearly", "annual Nile flow at Aswan 1871-1970 (statsmodels)"),
    "gdp_growth": (
        partial(load_macro, "realgdp", "growth"),
        "quarterly",
        "US real GDP growth, % per quarter, 1959-2009 (statsmodels macrodata)",
    ),
    "elnino": (load_elnino, "monthly", "Nino 1+2 sea-surface temperature 1950-2010 (statsmodels)"),
    "nottem": (
        load_nottem,
        "monthly",
        "mean air temperature at Nottingham Castle, 1920-1939 (R datasets nottem)",
    ),
    "co2": (load_co2, "weekly", "Mauna Loa CO2, weekly 1958-2001 (statsmodels)"),
    "seattle_temperature": (
        load_seattle_temperature,
        "daily",
        "Seattle daily maximum temperature 2012-2015 (vega-datasets, NOAA)",
    ),
    "gb_demand": (
        load_gb_demand,
        "half-hourly",
        "Great Britain national electricity demand, Nov 2018 - Feb 2019 (UKgrid)",
    ),
    "wwwusage": (
        load_wwwusage,
        "minutely",
        "users connected to the Internet through a server, 100 minutes (R datasets WWWusage)",
    ),
    "bjsales": (
        load_bjsales,
        "regular, unit not stated",
        "Box & Jenkins sales data, 150 values (R datasets BJsales)",
    ),
}

#: Daily log-returns in percent (name -> loader, frequency, description); they need ``arch``.
RETURN_SERIES: dict[str, tuple[Callable[[], pd.Series], str, str]] = {
    "sp500": (
        load_sp500_returns,
        "daily (trading days)",
        "S&P 500 daily log-returns (%), 1999-2018 (arch example data)",
    ),
    "nasdaq": (
        load_nasdaq_returns,
        "daily (trading days)",
        "NASDAQ Composite daily log-returns (%), 1999-2018 (arch example data)",
    ),
    "wti": (
        load_wti_returns,
        "daily (priced days)",
        "WTI crude oil spot daily log-returns (%), 1986-2019 (arch example data, FRED)",
    ),
}


def load_series(name: str) -> pd.Series:
    """Load a real series by name (see :data:`REAL_SERIES` and :data:`RETURN_SERIES`).

    Examples
    --------
    >>> from bsdl.datasets import load_series
    >>> load_series("nile").shape
    (100,)
    >>> load_series("sp500").name
    'sp500'
    """
    catalog = REAL_SERIES | RETURN_SERIES
    if not isinstance(name, str) or name not in catalog:
        raise ValueError(f"series name must be one of {sorted(catalog)}, got {name!r}")
    return catalog[name][0]()


def list_series(returns: bool = False) -> pd.DataFrame:
    """A table of the bundled series: name, frequency, length, start, end, description.

    Parameters
    ----------
    returns : bool, default False
        Also list the daily returns of :data:`RETURN_SERIES` (needs ``arch``).

    Examples
    --------
    >>> from bsdl.datasets import list_series
    >>> list_series().loc["gb_demand", "frequency"]
    'half-hourly'
    >>> int(list_series(returns=True).loc["wti", "length"])
    8320
    """
    if not isinstance(returns, bool):
        raise TypeError(f"returns must be True or False, got {returns!r}")
    catalog = REAL_SERIES | RETURN_SERIES if returns else REAL_SERIES
    rows = []
    for name, (loader, freq, desc) in catalog.items():
        s = loader()
        rows.append(
            dict(
                name=name,
                frequency=freq,
                length=s.size,
                start=str(s.index[0]),
                end=str(s.index[-1]),
                description=desc,
            )
        )
    return pd.DataFrame(rows).set_index("name")
