"""The shared base of every interval result: :class:`Intervals` (layer L0).

:class:`Intervals` is the one intervals protocol of bsdl: point predictions
``mean``, interval ends ``lower``/``upper`` at level ``1 - alpha``, ``width``,
``to_frame``, ``coverage`` and ``interval_score``. Its subclasses are
:class:`~bsdl.results.PredictionIntervals` (asymptotic, from a standard error)
and :class:`bsdl.conformal.ConformalIntervals` (conformal methods). The array
checks and the per-point coverage and interval score here are shared with
:mod:`bsdl.conformal.metrics`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from bsdl._validation import check_alpha

__all__ = ["Intervals"]


def _as_float_array(value, name: str) -> np.ndarray:
    if value is None:
        raise TypeError(f"{name} must be array-like, got None")
    if isinstance(value, pd.DataFrame | pd.Series):
        try:
            value = value.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from None
    try:
        arr = np.array(value, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array-like: {exc}") from None
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim not in (1, 2):
        raise ValueError(
            f"{name} must be 1-D of shape (n,) or 2-D of shape (n, k), got shape {arr.shape}"
        )
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty: at least one row is required")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ValueError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf); "
            f"the first is at {_first(bad)}"
        )
    return arr


def _pandas_labels(mean, index, columns):
    """``(index, columns)``, each taken from a pandas ``mean`` where not given."""
    if index is None and isinstance(mean, pd.Series | pd.DataFrame):
        index = mean.index
    if columns is None and isinstance(mean, pd.DataFrame):
        columns = mean.columns
    return index, columns


def _first(mask: np.ndarray):
    """Position of the first True of ``mask``: an int in 1-D, a tuple in 2-D."""
    first = tuple(int(i) for i in np.argwhere(mask)[0])
    return first[0] if len(first) == 1 else first


def _readonly(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def _covered(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Whether each ``y`` lies in its interval; a point on an end counts as covered."""
    return (lower <= y) & (y <= upper)


def _interval_scores(y: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float):
    """Interval (Winkler) score of each point (Gneiting & Raftery 2007, eq. 43)."""
    below = np.maximum(lower - y, 0.0)
    above = np.maximum(y - upper, 0.0)
    return (upper - lower) + (2.0 / alpha) * (below + above)


class Intervals:
    """Intervals ``[lower, upper]`` around point predictions ``mean`` at level ``1 - alpha``.

    The base of every interval result in bsdl: :class:`PredictionIntervals`
    (asymptotic, ``mean -+ crit * se``) and
    :class:`~bsdl.conformal.ConformalIntervals` (conformal methods) are
    subclasses, so code that evaluates intervals (coverage, width, interval
    score, a table) reads any of them the same way. It can also hold intervals
    from any other source. Both ends are stored, so intervals need not be
    symmetric.

    Parameters
    ----------
    mean : array-like of shape (n,) or (n, k)
        Point predictions (finite).
    lower, upper : array-like, same shape as ``mean``
        Interval ends (finite), ``lower <= upper`` elementwise.
    alpha : float, default 0.05
        Significance level in (0, 1) the intervals were built for; 0.05 gives
        95% intervals.
    index : sequence or pandas.Index, optional
        Row labels (e.g. forecast dates). If omitted and ``mean`` is a pandas
        object, its index is used.
    columns : sequence, optional
        Column names of a 2-D ``mean`` (e.g. class labels). If omitted and
        ``mean`` is a DataFrame, its columns are used.

    Attributes
    ----------
    mean, lower, upper, width : ndarray (read-only)
        Float64 copies of the inputs; ``width = upper - lower``.
    alpha, level : float
        Significance level and nominal coverage ``1 - alpha``.
    index, columns : pandas.Index or None
        Row and column labels.

    Examples
    --------
    >>> from bsdl.results import Intervals
    >>> iv = Intervals([0.0, 1.0], [-1.0, 0.0], [2.0, 1.5], alpha=0.5)
    >>> iv.width
    array([3. , 1.5])
    >>> iv.coverage([1.9, 2.0])
    0.5
    >>> iv.interval_score([1.9, 2.0])  # (3 + (1.5 + 4 * 0.5)) / 2
    3.25
    >>> iv.to_frame()
       mean  lower  upper
    0   0.0   -1.0    2.0
    1   1.0    0.0    1.5
    """

    def __init__(self, mean, lower, upper, alpha: float = 0.05, *, index=None, columns=None):
        index, columns = _pandas_labels(mean, index, columns)
        mean_arr = _as_float_array(mean, "mean")
        ends = {"lower": _as_float_array(lower, "lower"), "upper": _as_float_array(upper, "upper")}
        for name, arr in ends.items():
            if arr.shape != mean_arr.shape:
                raise ValueError(
                    f"{name} must have the same shape as mean: mean has shape "
                    f"{mean_arr.shape}, {name} has shape {arr.shape}"
                )
        crossed = ends["lower"] > ends["upper"]
        if crossed.any():
            raise ValueError(
                f"lower must be <= upper elementwise; lower > upper at {int(crossed.sum())} "
                f"position(s), the first at {_first(crossed)}"
            )
        n = mean_arr.shape[0]
        if index is not None:
            index = pd.Index(index)
            if len(index) != n:
                raise ValueError(f"index has length {len(index)} but mean has {n} rows")
        if columns is not None:
            if mean_arr.ndim != 2:
                raise ValueError("columns can only be given for a 2-D mean of shape (n, k)")
            columns = pd.Index(columns)
            if len(columns) != mean_arr.shape[1]:
                raise ValueError(
                    f"columns has length {len(columns)} but mean has {mean_arr.shape[1]} columns"
                )
        self._mean = _readonly(mean_arr)
        self._lower = _readonly(ends["lower"])
        self._upper = _readonly(ends["upper"])
        self._alpha = check_alpha(alpha)
        self._index = index
        self._columns = columns

    # ------------------------------------------------------------ properties
    @property
    def mean(self) -> np.ndarray:
        """Point predictions (read-only float64 array)."""
        return self._mean

    @property
    def lower(self) -> np.ndarray:
        """Lower interval ends at ``alpha`` (read-only)."""
        return self._lower

    @property
    def upper(self) -> np.ndarray:
        """Upper interval ends at ``alpha`` (read-only)."""
        return self._upper

    @property
    def width(self) -> np.ndarray:
        """``upper - lower`` at ``alpha``."""
        return self._upper - self._lower

    @property
    def alpha(self) -> float:
        """Significance level of ``lower``/``upper``."""
        return self._alpha

    @property
    def level(self) -> float:
        """Nominal coverage ``1 - alpha``."""
        return 1.0 - self._alpha

    @property
    def index(self) -> pd.Index | None:
        """Row labels, or None."""
        return self._index

    @property
    def columns(self) -> pd.Index | None:
        """Column labels of a 2-D result, or None."""
        return self._columns

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``mean``."""
        return self._mean.shape

    # --------------------------------------------------------------- methods
    def _frame_columns(self) -> dict[str, np.ndarray]:
        """The statistics :meth:`to_frame` shows, in order (subclasses add theirs)."""
        return {"mean": self._mean, "lower": self._lower, "upper": self._upper}

    def to_frame(self) -> pd.DataFrame:
        """The intervals as a DataFrame, one row per prediction.

        Returns
        -------
        DataFrame
            For a 1-D result, one column per statistic: ``mean, lower, upper``
            here, ``mean, se, lower, upper`` for :class:`PredictionIntervals`,
            plus ``alpha`` for adaptive conformal methods. The index is
            ``self.index`` or a RangeIndex. For a 2-D result, MultiIndex
            columns ``(stat, column)`` with ``stat`` in that same order.

        Examples
        --------
        >>> from bsdl.results import PredictionIntervals
        >>> pi = PredictionIntervals([[0.2, 0.8]], [[0.1, 0.1]],
        ...                          columns=["a", "b"], bounds=(0, 1))
        >>> frame = pi.to_frame()
        >>> frame.columns.get_level_values("stat").unique().tolist()
        ['mean', 'se', 'lower', 'upper']
        >>> frame["upper"].round(3)
               a      b
        0  0.396  0.996
        """
        index = self._index if self._index is not None else pd.RangeIndex(len(self))
        stats_ = self._frame_columns()
        if self._mean.ndim == 1:
            return pd.DataFrame({k: np.array(v) for k, v in stats_.items()}, index=index)
        cols = self._columns if self._columns is not None else pd.RangeIndex(self._mean.shape[1])
        data = np.concatenate(list(stats_.values()), axis=1)
        mi = pd.MultiIndex.from_product([list(stats_), cols], names=["stat", cols.name])
        return pd.DataFrame(data, index=index, columns=mi)

    def _check_y(self, y) -> np.ndarray:
        if self._mean.ndim != 1:
            raise ValueError("y can only be scored against 1-D results (mean of shape (n,))")
        y_arr = _as_float_array(y, "y")
        if y_arr.ndim == 2 and y_arr.shape[1] == 1:
            y_arr = y_arr.ravel()
        if y_arr.shape != self._mean.shape:
            got = f"{y_arr.size} values" if y_arr.ndim == 1 else f"shape {y_arr.shape}"
            raise ValueError(
                f"y has {got} but lower has {len(self)}: y must have shape {self._mean.shape} "
                "to match the intervals"
            )
        return y_arr

    def coverage(self, y) -> float:
        """Fraction of observations ``y`` inside ``[lower, upper]`` (1-D results only).

        A point on an interval end counts as covered, as in
        :func:`bsdl.conformal.metrics.coverage`.

        Parameters
        ----------
        y : array-like of shape (n,)
            Observed values aligned with the rows; ``(n, 1)`` is accepted.

        Returns
        -------
        float

        Examples
        --------
        >>> from bsdl.results import PredictionIntervals
        >>> pi = PredictionIntervals([0.0, 0.0], [1.0, 1.0])
        >>> pi.coverage([0.5, 3.0])
        0.5
        """
        y_arr = self._check_y(y)
        return float(np.mean(_covered(y_arr, self._lower, self._upper)))

    def interval_score(self, y) -> float:
        """Mean interval (Winkler) score at the nominal ``alpha`` (1-D results only).

        The same score as :func:`bsdl.conformal.metrics.interval_score`: the
        width plus ``2 / alpha`` times how far ``y`` falls outside. Lower is
        better. Adaptive conformal methods are scored at their target
        ``alpha``, not at the level each row used.

        Parameters
        ----------
        y : array-like of shape (n,)
            Observed values aligned with the rows; ``(n, 1)`` is accepted.

        Returns
        -------
        float

        Examples
        --------
        >>> from bsdl.results import Intervals
        >>> Intervals([0.0, 0.0], [-1.0, -1.0], [1.0, 1.0], alpha=0.5).interval_score([0.0, 2.0])
        4.0
        """
        y_arr = self._check_y(y)
        return float(np.mean(_interval_scores(y_arr, self._lower, self._upper, self._alpha)))

    # ---------------------------------------------------------------- dunder
    def __len__(self) -> int:
        return self._mean.shape[0]

    def _repr_parts(self) -> list[str]:
        pct = f"{100 * (1 - self._alpha):.10g}%"
        parts = [f"n={len(self)}"]
        if self._mean.ndim == 2:
            parts.append(f"k={self._mean.shape[1]}")
        parts.append(f"alpha={self._alpha:.10g} ({pct})")
        return parts

    def _caption(self) -> str:
        return f"{100 * (1 - self._alpha):.10g}% intervals (alpha={self._alpha:.10g})"

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({', '.join(self._repr_parts())})"
        body = self.to_frame().to_string(max_rows=10, float_format=lambda v: f"{v:.4g}")
        return f"{head}\n{body}"

    def _repr_html_(self) -> str:
        html = self.to_frame().to_html(float_format=lambda v: f"{v:.4g}")
        return f"<p><b>{type(self).__name__}</b>: {self._caption()}</p>\n{html}"
