"""One name for every bundled real time series: :func:`load_series` and :func:`list_series`.

The comparison harness (:func:`bsdl.compare.compare_intervals`, ``bsdl compare``) and
the vignettes refer to series by these names.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import pandas as pd

from .bundled_series import load_bjsales, load_gb_demand, load_seattle_temperature, load_wwwusage
from .real_series import load_co2, load_elnino, load_macro, load_nile, load_sunspots

__all__ = ["REAL_SERIES", "load_series", "list_series"]

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


def load_series(name: str) -> pd.Series:
    """Load a bundled real series by name (see :data:`REAL_SERIES`).

    Examples
    --------
    >>> from bsdl.datasets import load_series
    >>> load_series("nile").shape
    (100,)
    """
    if not isinstance(name, str) or name not in REAL_SERIES:
        raise ValueError(f"series name must be one of {sorted(REAL_SERIES)}, got {name!r}")
    return REAL_SERIES[name][0]()


def list_series() -> pd.DataFrame:
    """A table of the bundled series: name, frequency, length, start, end, description.

    Examples
    --------
    >>> from bsdl.datasets import list_series
    >>> list_series().loc["gb_demand", "frequency"]
    'half-hourly'
    """
    rows = []
    for name, (loader, freq, desc) in REAL_SERIES.items():
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
