"""Daily log-returns of two stock indices and of crude oil, from the example data of ``arch``.

Every loader reads a data set that ships inside the ``arch`` package
(``arch.data.<name>``, gzip CSV files in the installed package; nothing is downloaded)
and returns the daily log-returns in percent, ``100 * log(p_t / p_{t-1})``, as a float64
:class:`pandas.Series` without missing values:

==========================  ======  =========================  ===============================
loader                      length  span (returns)             price
==========================  ======  =========================  ===============================
:func:`load_sp500_returns`  5030    1999-01-05 - 2018-12-31    S&P 500, adjusted close
:func:`load_nasdaq_returns` 5030    1999-01-05 - 2018-12-31    NASDAQ Composite, adjusted close
:func:`load_wti_returns`    8320    1986-01-03 - 2019-01-03    WTI crude oil spot (FRED)
==========================  ======  =========================  ===============================

The index holds the trading days (a :class:`pandas.DatetimeIndex` named ``"date"``
without a frequency: weekends and holidays have no row, and nothing is interpolated).
bsdl's forecasters need a regular index, so fit them on the values
(``y.to_numpy()`` or ``y.reset_index(drop=True)``); :func:`bsdl.compare.compare_intervals`
keeps the dates for its interval frames only. The WTI file marks the days without a
price (holidays) as missing; they are dropped, so a return spans from one priced day to
the next.

``arch`` (an optional dependency: the ``test`` and ``bench`` extras) is imported only
when a loader is called; without it the loaders raise :class:`ImportError`. Sources and
licences are in ``data/README.md``.
"""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

__all__ = ["load_sp500_returns", "load_nasdaq_returns", "load_wti_returns"]


def _arch_prices(dataset: str, column: str) -> pd.Series:
    """``arch.data.<dataset>.load()[column]`` with the days that have no price dropped."""
    try:
        module = importlib.import_module(f"arch.data.{dataset}")
    except ImportError as err:
        raise ImportError(
            f"the {dataset} returns are read from the example data of the optional package "
            "'arch' (nothing is downloaded): install it with `pip install arch` "
            "(it is in bsdl's test and bench extras)"
        ) from err
    prices = module.load()[column].astype("float64").dropna()
    index = pd.DatetimeIndex(prices.index)
    if not (index.is_unique and index.is_monotonic_increasing):
        raise RuntimeError(f"arch.data.{dataset}: dates are duplicated or unsorted.")
    if not np.all(prices.to_numpy() > 0):
        raise RuntimeError(f"arch.data.{dataset}: prices must be positive for log-returns.")
    return pd.Series(prices.to_numpy(), index=index.rename("date"))


def _log_returns(prices: pd.Series, name: str) -> pd.Series:
    values = 100.0 * np.diff(np.log(prices.to_numpy()))
    return pd.Series(values, index=prices.index[1:], name=name)


def load_sp500_returns() -> pd.Series:
    """Daily log-returns (%) of the S&P 500 index, 5 January 1999 - 31 December 2018.

    From the adjusted close of ``arch.data.sp500`` (the data of arch's examples; Yahoo
    Finance prices). 5030 trading days.

    Returns
    -------
    y : Series of float64, length 5030
        Named ``"sp500"``, indexed by the trading days (``"date"``, no frequency).

    Examples
    --------
    >>> from bsdl.datasets import load_sp500_returns
    >>> y = load_sp500_returns()
    >>> y.shape, y.name, str(y.index[0].date()), str(y.index[-1].date())
    ((5030,), 'sp500', '1999-01-05', '2018-12-31')
    """
    return _log_returns(_arch_prices("sp500", "Adj Close"), "sp500")


def load_nasdaq_returns() -> pd.Series:
    """Daily log-returns (%) of the NASDAQ Composite index, 5 January 1999 - 31 December 2018.

    From the adjusted close of ``arch.data.nasdaq`` (the data of arch's examples; Yahoo
    Finance prices). 5030 trading days.

    Returns
    -------
    y : Series of float64, length 5030
        Named ``"nasdaq"``, indexed by the trading days (``"date"``, no frequency).

    Examples
    --------
    >>> from bsdl.datasets import load_nasdaq_returns
    >>> load_nasdaq_returns().shape
    (5030,)
    """
    return _log_returns(_arch_prices("nasdaq", "Adj Close"), "nasdaq")


def load_wti_returns() -> pd.Series:
    """Daily log-returns (%) of the WTI crude oil spot price, 3 January 1986 - 3 January 2019.

    From ``arch.data.wti`` (FRED series ``DCOILWTICO``, Cushing, Oklahoma, dollars per
    barrel). The 290 days the file marks as missing (holidays) are dropped, so each return
    runs from one priced day to the next: 8320 returns.

    Returns
    -------
    y : Series of float64, length 8320
        Named ``"wti"``, indexed by the priced days (``"date"``, no frequency).

    Examples
    --------
    >>> from bsdl.datasets import load_wti_returns
    >>> y = load_wti_returns()
    >>> y.shape, bool(y.notna().all())
    ((8320,), True)
    """
    return _log_returns(_arch_prices("wti", "DCOILWTICO"), "wti")
