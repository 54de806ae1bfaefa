"""Validation of time series and their regular time index (layer L0).

:func:`check_series` turns a 1-D array, list or pandas Series into a float64 copy and a
:class:`TimeIndex` that remembers how the series is labelled (positions, dates with a
frequency, or periods), so that forecasts continue the labels and a later series can be
placed relative to the training data.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = [
    "TimeIndex",
    "check_series",
    "check_exog",
    "default_exog_names",
    "seasonal_period",
    "default_lags",
    "MISSING",
]

MISSING = ("raise", "interpolate")


@dataclass(frozen=True)
class TimeIndex:
    """A regular time index: ``kind`` is "range", "datetime" or "period".

    Examples
    --------
    >>> import pandas as pd
    >>> ti = TimeIndex.from_index(pd.date_range("2020-01", periods=24, freq="MS"), "series")
    >>> [str(d.date()) for d in ti.labels(24, 26)]
    ['2022-01-01', '2022-02-01']
    >>> ti.position_of(pd.Timestamp("2021-01-01"))
    12
    """

    kind: str
    start: str
    freq: str | None
    step: int
    length: int
    name: str | None = None
    tz: str | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def default(cls, length: int) -> TimeIndex:
        return cls("range", "0", None, 1, int(length))

    @classmethod
    def from_index(cls, index: pd.Index, argname: str, freq: str | None = None) -> TimeIndex:
        """The regular index behind ``index``.

        ``freq``: the frequency to assume for a DatetimeIndex of one or two labels and no
        ``freq`` attribute, too short for :func:`pandas.infer_freq` (e.g. the training
        frequency when a short continuation is placed on the training grid).
        """
        n = len(index)
        name = None if index.name is None else str(index.name)
        is_int = index.dtype.kind in "iu" and not isinstance(index, pd.MultiIndex)
        if not isinstance(index, pd.DatetimeIndex | pd.PeriodIndex | pd.RangeIndex) and not is_int:
            raise ValueError(
                f"{argname} must have a DatetimeIndex, PeriodIndex or integer index, "
                f"got {type(index).__name__} of dtype {index.dtype}"
            )
        if index.has_duplicates:
            dup = index[index.duplicated()][0]
            raise ValueError(f"{argname} has a duplicated index label: {dup!r}")
        if n > 1 and not index.is_monotonic_increasing:
            raise ValueError(
                f"{argname} has an unsorted index: sort it first (e.g. {argname}.sort_index())"
            )
        if isinstance(index, pd.DatetimeIndex):
            hint = freq
            freq = index.freqstr if index.freq is not None else None
            if freq is None and n >= 3:
                freq = pd.infer_freq(index)
            if freq is None and n < 3:
                freq = hint
            if freq is None:
                raise ValueError(
                    f"{argname} has a DatetimeIndex without a regular frequency; give it one "
                    f"(e.g. {argname}.asfreq('D'), then missing='interpolate' for the gaps) "
                    "or drop the index"
                )
            tz = None if index.tz is None else str(index.tz)
            ti = cls("datetime", index[0].isoformat(), freq, 1, n, name, tz)
        elif isinstance(index, pd.PeriodIndex):
            ti = cls("period", str(index[0]), index.freqstr, 1, n, name)
        else:
            values = np.asarray(index, dtype=np.int64)
            step = int(values[1] - values[0]) if n > 1 else 1
            if n > 2 and not np.all(np.diff(values) == step):
                raise ValueError(f"{argname} has an integer index with gaps: it must be regular")
            ti = cls("range", str(int(values[0]) if n else 0), None, step, n, name)
        if ti.kind != "range" and n and not ti.labels(0, n).equals(index):
            raise ValueError(
                f"{argname} has gaps in its {ti.freq!r} index: reindex it to a regular "
                f"frequency (e.g. {argname}.asfreq({ti.freq!r})) and use missing='interpolate'"
            )
        return ti

    def to_dict(self) -> dict:
        return asdict(self)

    # ------------------------------------------------------------------ labels
    def labels(self, start: int, stop: int) -> pd.Index:
        """Labels of positions ``start .. stop-1`` (0 = first training point; may exceed it)."""
        if self.kind == "range":
            first = int(self.start)
            index = pd.RangeIndex(first + start * self.step, first + stop * self.step, self.step)
        elif self.kind == "datetime":
            index = pd.date_range(self.start, periods=max(stop, 0), freq=self.freq, tz=self.tz)
            index = index[start:stop]
        else:
            index = pd.period_range(self.start, periods=max(stop, 0), freq=self.freq)
            index = index[start:stop]
        index.name = self.name
        return index

    def position_of(self, label) -> int | None:
        """Position of ``label`` relative to the first training point, or None if off-grid."""
        if self.kind == "range":
            try:
                offset = int(label) - int(self.start)
            except (TypeError, ValueError):
                return None
            return offset // self.step if offset % self.step == 0 else None
        if self.kind == "period":
            try:
                p = pd.Period(label, freq=self.freq)
            except (TypeError, ValueError):
                return None
            first = pd.Period(self.start, freq=self.freq)
            return int(p.ordinal - first.ordinal) // max(first.freq.n, 1)
        try:
            ts = pd.Timestamp(label)
            first = pd.Timestamp(self.start)
            lo, hi = sorted((first, ts))
            span = pd.date_range(lo, hi, freq=self.freq)
        except (TypeError, ValueError):
            return None
        if len(span) == 0 or span[-1] != hi or span[0] != lo:
            return None
        return (len(span) - 1) * (1 if ts >= first else -1)

    def same_frequency(self, other: TimeIndex) -> bool:
        return self.kind == other.kind and self.freq == other.freq and self.step == other.step


def _numeric(arr: np.ndarray, argname: str) -> np.ndarray:
    """``arr`` as float64 when it holds numbers; strings, booleans and objects are refused.

    Lists, arrays and pandas objects follow the same rule: numeric dtypes pass, an object
    array passes only when every element is a real number (or None/NaN), and text is never
    parsed (``["1", "2"]`` is a TypeError, as it is for a pandas Series of strings).
    """
    if arr.dtype.kind in "iuf":
        return arr
    if arr.dtype.kind == "O":
        flat = arr.ravel()
        bad = [v for v in flat if v is not None and not _is_real_number(v)]
        if not bad:
            return np.array([np.nan if v is None else v for v in flat], dtype=np.float64).reshape(
                arr.shape
            )
        raise TypeError(
            f"{argname} must be numeric, got a non-numeric value {bad[0]!r} "
            f"({type(bad[0]).__name__})"
        )
    raise TypeError(f"{argname} must be numeric, got values of dtype {arr.dtype}")


def _is_real_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _as_1d(values, argname: str) -> np.ndarray:
    if isinstance(values, pd.DataFrame):
        if values.shape[1] != 1:
            raise ValueError(
                f"multivariate targets are not supported yet: {argname} must be 1-D (one "
                f"series), got a DataFrame with {values.shape[1]} columns"
            )
        values = values.iloc[:, 0]
    if isinstance(values, pd.Series):
        if pd.api.types.is_numeric_dtype(values.dtype) and values.dtype != bool:
            return values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        if values.dtype != object:
            raise TypeError(f"{argname} must be numeric, got dtype {values.dtype}")
        values = values.to_numpy(dtype=object, na_value=None)
    if isinstance(values, str | bytes) or values is None:
        raise TypeError(f"{argname} must be a 1-D array-like of numbers, got {values!r}")
    try:
        arr = np.asarray(values)
    except ValueError:
        raise ValueError(f"{argname} must be a 1-D array-like of numbers (ragged input)") from None
    arr = _numeric(arr, argname)
    arr = np.array(arr, dtype=np.float64, copy=True)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise ValueError(
            f"multivariate targets are not supported yet: {argname} must be 1-D, "
            f"got shape {arr.shape}"
        )
    return arr


def _fill_missing(arr: np.ndarray, argname: str, missing: str) -> np.ndarray:
    if np.isinf(arr).any():
        raise ValueError(
            f"{argname} contains {int(np.isinf(arr).sum())} infinite value(s); "
            f"the first is at position {int(np.flatnonzero(np.isinf(arr))[0])}"
        )
    nan = np.isnan(arr)
    if not nan.any():
        return arr
    if missing == "raise":
        raise ValueError(
            f"{argname} contains {int(nan.sum())} NaN value(s) (first at position "
            f"{int(np.flatnonzero(nan)[0])}); fill them, or pass missing='interpolate' to "
            "interpolate interior gaps linearly"
        )
    if nan[0] or nan[-1]:
        raise ValueError(
            f"{argname} starts or ends with NaN; missing='interpolate' fills interior gaps "
            "only: trim the series first"
        )
    pos = np.arange(arr.size)
    arr[nan] = np.interp(pos[nan], pos[~nan], arr[~nan])
    return arr


def check_series(
    series,
    argname: str = "series",
    *,
    missing: str = "raise",
    min_length: int = 1,
    freq: str | None = None,
) -> tuple[np.ndarray, TimeIndex | None, str | None]:
    """Validate a univariate series.

    Returns a float64 copy, its :class:`TimeIndex` (None for arrays and lists, which are
    labelled by position) and its name. ``freq`` is passed to
    :meth:`TimeIndex.from_index` for dated series too short to infer a frequency.

    Examples
    --------
    >>> import pandas as pd
    >>> y, ti, name = check_series(pd.Series([1.0, 2.0, 3.0], name="y"))
    >>> y.tolist(), ti.kind, name
    ([1.0, 2.0, 3.0], 'range', 'y')
    """
    if missing not in MISSING:
        raise ValueError(f"missing must be one of {list(MISSING)}, got {missing!r}")
    arr = _as_1d(series, argname)
    if arr.size < min_length:
        raise ValueError(f"{argname} has {arr.size} observation(s); at least {min_length} needed")
    arr = _fill_missing(arr, argname, missing)
    index = series.index if isinstance(series, pd.Series | pd.DataFrame) else None
    ti = TimeIndex.from_index(index, argname, freq) if index is not None else None
    name = getattr(series, "name", None) if isinstance(series, pd.Series) else None
    return arr, ti, None if name is None else str(name)


def check_exog(
    exog, n: int, argname: str = "exog", *, index: pd.Index | None = None, missing: str = "raise"
) -> tuple[np.ndarray, list[str]]:
    """Validate exogenous regressors: ``(n, m)`` float64 copy and column names.

    ``index``: when both it and ``exog`` are pandas objects their indexes must match.
    """
    names = None
    if isinstance(exog, pd.Series):
        exog = exog.to_frame()
    if isinstance(exog, pd.DataFrame):
        if index is not None and not exog.index.equals(index):
            raise ValueError(
                f"{argname} is not aligned with the series: its index differs (first labels "
                f"{list(exog.index[:2])} vs {list(index[:2])})"
            )
        bad = [c for c in exog.columns if not pd.api.types.is_numeric_dtype(exog[c].dtype)]
        if bad:
            raise TypeError(f"{argname} must be numeric; non-numeric columns: {bad}")
        names = [str(c) for c in exog.columns]
        arr = exog.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
    else:
        try:
            raw = np.asarray(exog)
        except ValueError:
            raise ValueError(
                f"{argname} must be a 2-D array-like of numbers (ragged input)"
            ) from None
        arr = np.array(_numeric(raw, argname), dtype=np.float64, copy=True)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{argname} must be 2-D (n, m), got shape {arr.shape}")
    if arr.shape[0] != n:
        raise ValueError(f"{argname} has {arr.shape[0]} rows but the series has {n} observations")
    for j in range(arr.shape[1]):
        arr[:, j] = _fill_missing(arr[:, j], f"{argname} column {j}", missing)
    return arr, names or default_exog_names(arr.shape[1])


def default_exog_names(m: int) -> list[str]:
    """Names given to the ``m`` columns of an ``exog`` without column names (an array)."""
    return [f"x{j}" for j in range(m)]


# periods per seasonal cycle of the calendar offsets: a year of months, quarters, weeks; a
# week of days or business days (sub-daily offsets: a day, see seasonal_period)
_CYCLES = {
    "MonthBegin": 12,
    "MonthEnd": 12,
    "SemiMonthBegin": 24,
    "SemiMonthEnd": 24,
    "BusinessMonthBegin": 12,
    "BusinessMonthEnd": 12,
    "QuarterBegin": 4,
    "QuarterEnd": 4,
    "BusinessQuarterBegin": 4,
    "BusinessQuarterEnd": 4,
    "Week": 52,
    "Day": 7,
    "BusinessDay": 5,
}
_DAY_NS = 86_400 * 10**9


def seasonal_period(freq: str | None) -> int | None:
    """Observations per seasonal cycle of a pandas frequency, or None.

    Monthly 12, quarterly 4, weekly 52 (a year); daily 7, business-daily 5 (a week);
    hourly 24, half-hourly 48 and any sub-daily frequency that divides a day (a day);
    yearly and anything else: None. Multiples divide the cycle (``"2MS"``: 6) when they
    divide it evenly.

    Examples
    --------
    >>> [seasonal_period(f) for f in ["MS", "QE-DEC", "W-SUN", "D", "h", "30min", "YS", None]]
    [12, 4, 52, 7, 24, 48, None, None]
    >>> seasonal_period("M"), seasonal_period("Q-DEC")          # PeriodIndex spellings
    (12, 4)
    """
    if not freq:
        return None
    try:
        offset = pd.tseries.frequencies.to_offset(freq)
    except ValueError:
        try:  # a PeriodIndex's freqstr ("M", "Q-DEC") in recent pandas
            offset = pd.Period("2000-01-01", freq=freq).freq
        except (TypeError, ValueError):
            return None
    mult = max(int(getattr(offset, "n", 1)), 1)
    name = type(offset).__name__
    if name in _CYCLES:
        cycle = _CYCLES[name]
    elif isinstance(offset, pd.offsets.Tick):
        nanos = int(offset.nanos) // mult
        if nanos <= 0 or _DAY_NS % nanos:
            return None
        cycle = _DAY_NS // nanos
    else:
        return None
    if cycle % mult:
        return None
    period = cycle // mult
    return period if period > 1 else None


#: The most candidate lags ``lags="auto"`` gives a seasonal series (15-minute data, a
#: cycle of 96 per day, is the finest frequency whose daily cycle it reaches).
MAX_SEASONAL_LAGS = 100


def default_lags(n: int, freq: str | None = None) -> int:
    """The default number of candidate lags of a sequence forecaster (``lags="auto"``).

    With a seasonal frequency of period ``s`` (:func:`seasonal_period`) the candidates
    reach one cycle and one step past it, ``max(10, s + 1)`` (lags ``s`` and ``s + 1`` of a
    multiplicative seasonal AR), when the series has at least ``5 (s + 1)`` points and
    ``s + 1 <=`` :data:`MAX_SEASONAL_LAGS` (a cycle of seconds or minutes in a day is too
    long to enter as single lags: give ``lags=`` or aggregate the series); otherwise 10.
    Never more than ``n // 5``, so that every candidate lag has at least five
    observations behind it (and the least-squares start stays well determined).

    Examples
    --------
    >>> default_lags(240, "MS"), default_lags(2000, "30min"), default_lags(500), default_lags(30)
    (13, 49, 10, 6)
    >>> default_lags(10**6, "min")  # a daily cycle of 1440 minutes: not as single lags
    10
    """
    s = seasonal_period(freq)
    seasonal = s is not None and 5 * (s + 1) <= n and s + 1 <= MAX_SEASONAL_LAGS
    lags = max(10, s + 1) if seasonal else 10
    return max(1, min(lags, n // 5))
