"""Metrics for evaluating prediction intervals (coverage, width, interval score).

All functions take 1-D array-likes of shape ``(n,)`` (NumPy arrays, lists,
pandas Series), validate them, and never modify the caller's data. A point
that lies exactly on a bound counts as covered (``lower <= y <= upper``).

This module depends on NumPy only (pandas is used solely to pass a Series
index through :func:`rolling_coverage`). The per-point rules (covered, interval
score) are those of :class:`bsdl.results.Intervals`, whose ``coverage`` and
``interval_score`` methods give the same numbers for an intervals object.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from bsdl._validation import check_alpha, check_array, check_positive_int
from bsdl.results._base import _covered, _interval_scores

__all__ = [
    "coverage",
    "mean_width",
    "interval_score",
    "rolling_coverage",
    "width_ratio",
    "interval_metrics",
]


# ----------------------------------------------------------------------------- helpers


def _as_vector(x: Any, name: str) -> np.ndarray:
    """A fresh, finite, non-empty float64 vector of shape (n,)."""
    arr, _ = check_array(x, name, ndim=1, dtype=np.float64, min_samples=1)
    return arr


def _check_same_length(arrays: dict[str, np.ndarray], against: str) -> None:
    n = arrays[against].shape[0]
    for name, arr in arrays.items():
        if arr.shape[0] != n:
            raise ValueError(
                f"{against} has {n} values but {name} has {arr.shape[0]}; "
                "all inputs must have the same length"
            )


def _check_bounds(
    lower: Any, upper: Any, lower_name: str = "lower", upper_name: str = "upper"
) -> tuple[np.ndarray, np.ndarray]:
    lo = _as_vector(lower, lower_name)
    hi = _as_vector(upper, upper_name)
    _check_same_length({lower_name: lo, upper_name: hi}, lower_name)
    crossed = lo > hi
    if crossed.any():
        i = int(np.flatnonzero(crossed)[0])
        count = int(crossed.sum())
        raise ValueError(
            f"{lower_name} must be <= {upper_name} elementwise, but {lower_name} > "
            f"{upper_name} at {count} position{'s' if count > 1 else ''}; the first is index "
            f"{i} ({lower_name}={lo[i]!r}, {upper_name}={hi[i]!r})"
        )
    return lo, hi


def _check_intervals(y: Any, lower: Any, upper: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_arr = _as_vector(y, "y")
    lo = _as_vector(lower, "lower")
    hi = _as_vector(upper, "upper")
    _check_same_length({"y": y_arr, "lower": lo, "upper": hi}, "y")
    lo, hi = _check_bounds(lo, hi)
    return y_arr, lo, hi


# ------------------------------------------------------------------------ public API


def coverage(y: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Empirical coverage: the share of points with ``lower <= y <= upper``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed values.
    lower, upper : array-like of shape (n,)
        Interval bounds, with ``lower <= upper`` elementwise.

    Returns
    -------
    float
        A number in ``[0, 1]``. Points exactly on a bound count as covered.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Input not 1-D, empty, of different lengths, containing NaN or inf,
        or with ``lower > upper`` somewhere.

    Examples
    --------
    >>> from bsdl.conformal.metrics import coverage
    >>> coverage([0.0, 1.0, 2.0, 5.0], lower=[0, 0, 0, 0], upper=[1, 1, 3, 3])
    0.75
    """
    y_arr, lo, hi = _check_intervals(y, lower, upper)
    return float(np.mean(_covered(y_arr, lo, hi)))


def mean_width(lower: ArrayLike, upper: ArrayLike) -> float:
    """Mean interval width, ``mean(upper - lower)``.

    Parameters
    ----------
    lower, upper : array-like of shape (n,)
        Interval bounds, with ``lower <= upper`` elementwise.

    Returns
    -------
    float

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Input not 1-D, empty, of different lengths, containing NaN or inf,
        or with ``lower > upper`` somewhere.

    Examples
    --------
    >>> from bsdl.conformal.metrics import mean_width
    >>> mean_width([0.0, -1.0], [1.0, 2.0])
    2.0
    """
    lo, hi = _check_bounds(lower, upper)
    return float(np.mean(hi - lo))


def interval_score(y: ArrayLike, lower: ArrayLike, upper: ArrayLike, alpha: float) -> float:
    """Mean interval (Winkler) score of central ``(1 - alpha)`` intervals.

    For one point the score is (Gneiting & Raftery, 2007, eq. 43)

    .. math::

        S_\\alpha(l, u; y) = (u - l) + \\frac{2}{\\alpha}(l - y)\\,1\\{y < l\\}
                            + \\frac{2}{\\alpha}(y - u)\\,1\\{y > u\\},

    i.e. the width plus a penalty proportional to how far ``y`` falls outside.
    Lower is better; the score is proper: in expectation it is minimised by
    the ``alpha/2`` and ``1 - alpha/2`` quantiles of the distribution of ``y``.

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed values.
    lower, upper : array-like of shape (n,)
        Interval bounds, with ``lower <= upper`` elementwise.
    alpha : float
        Significance level in ``(0, 1)``: ``0.1`` scores 90% intervals.

    Returns
    -------
    float
        The mean score over the ``n`` points.

    Raises
    ------
    TypeError
        Non-numeric input or ``alpha`` not a real number.
    ValueError
        Input not 1-D, empty, of different lengths, containing NaN or inf,
        ``lower > upper`` somewhere, or ``alpha`` outside ``(0, 1)``.

    References
    ----------
    Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules,
    prediction, and estimation. *JASA* 102(477), 359-378.

    See Also
    --------
    bsdl.results.Intervals.interval_score : the same score as a method of an
        intervals object.

    Examples
    --------
    With ``alpha = 0.5`` the penalty factor is ``2 / alpha = 4``: the scores of
    the three points are ``2``, ``2 + 4 * 1`` and ``2 + 4 * 0.5``.

    >>> from bsdl.conformal.metrics import interval_score
    >>> interval_score([0.0, -2.0, 1.5], [-1, -1, -1], [1, 1, 1], alpha=0.5)
    4.0
    """
    a = check_alpha(alpha)
    y_arr, lo, hi = _check_intervals(y, lower, upper)
    return float(np.mean(_interval_scores(y_arr, lo, hi, a)))


def rolling_coverage(
    y: ArrayLike, lower: ArrayLike, upper: ArrayLike, window: int
) -> np.ndarray | pd.Series:
    """Coverage over each run of ``window`` consecutive points.

    Computed in O(n) from a cumulative count of covered points, so it is
    exact (integer counts) and cheap for long series.

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed values, in time order. If a pandas Series, its index is
        passed through to the result.
    lower, upper : array-like of shape (n,)
        Interval bounds, with ``lower <= upper`` elementwise.
    window : int
        Window length, an integer in ``[1, n]``.

    Returns
    -------
    ndarray of shape (n - window + 1,) or pandas.Series
        Element ``i`` is the coverage of points ``i, ..., i + window - 1``.
        If ``y`` is a Series, a Series named ``"rolling_coverage"`` indexed by
        the label of each window's last point.

    Raises
    ------
    TypeError
        Non-numeric input or ``window`` not an integer.
    ValueError
        Input not 1-D, empty, of different lengths, containing NaN or inf,
        ``lower > upper`` somewhere, or ``window`` outside ``[1, n]``.

    Examples
    --------
    >>> from bsdl.conformal.metrics import rolling_coverage
    >>> rolling_coverage([0, 5, 0, 0, 5], [-1] * 5, [1] * 5, window=2)
    array([0.5, 0.5, 1. , 0.5])
    """
    y_arr, lo, hi = _check_intervals(y, lower, upper)
    n = y_arr.shape[0]
    w = check_positive_int(window, "window")
    if w > n:
        raise ValueError(f"window must be an integer in [1, n] = [1, {n}], got {w}")
    hits = _covered(y_arr, lo, hi).astype(np.int64)
    csum = np.concatenate(([0], np.cumsum(hits)))
    out = (csum[w:] - csum[:-w]) / w
    if isinstance(y, pd.Series):
        return pd.Series(out, index=y.index[w - 1 :], name="rolling_coverage")
    return out


def width_ratio(
    lower: ArrayLike, upper: ArrayLike, ref_lower: ArrayLike, ref_upper: ArrayLike
) -> float:
    """Mean width of the intervals relative to the mean width of reference intervals.

    Parameters
    ----------
    lower, upper : array-like of shape (n,)
        Interval bounds to assess.
    ref_lower, ref_upper : array-like of shape (n,)
        Reference interval bounds on the same points (e.g. a baseline method).

    Returns
    -------
    float
        ``mean_width(lower, upper) / mean_width(ref_lower, ref_upper)``; below
        1 means the intervals are narrower than the reference on average.

    Raises
    ------
    TypeError
        Non-numeric input.
    ValueError
        Input not 1-D, empty, of different lengths, containing NaN or inf,
        a lower bound above its upper bound, or reference intervals whose
        mean width is 0 (the ratio is undefined).

    Examples
    --------
    >>> from bsdl.conformal.metrics import width_ratio
    >>> width_ratio([0, 0], [1, 2], ref_lower=[-1, -1], ref_upper=[1, 1])
    0.75
    """
    lo, hi = _check_bounds(lower, upper)
    rlo, rhi = _check_bounds(ref_lower, ref_upper, "ref_lower", "ref_upper")
    _check_same_length({"lower": lo, "ref_lower": rlo}, "lower")
    ref_width = float(np.mean(rhi - rlo))
    if ref_width == 0.0:
        raise ValueError(
            "the reference intervals have mean width 0 (ref_lower == ref_upper everywhere), "
            "so width_ratio is undefined"
        )
    return float(np.mean(hi - lo)) / ref_width


def interval_metrics(
    y: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    alpha: float,
    *,
    reference: tuple[ArrayLike, ArrayLike] | None = None,
) -> dict[str, float]:
    """All interval metrics at once.

    Parameters
    ----------
    y : array-like of shape (n,)
        Observed values.
    lower, upper : array-like of shape (n,)
        Interval bounds, with ``lower <= upper`` elementwise.
    alpha : float
        Nominal significance level in ``(0, 1)``: the intervals target
        ``1 - alpha`` coverage.
    reference : (ref_lower, ref_upper), optional
        Bounds of reference intervals on the same points; adds ``width_ratio``.

    Returns
    -------
    dict of str to float
        ``coverage``, ``width`` (mean width), ``interval_score`` (mean),
        ``miscoverage_gap`` (``coverage - (1 - alpha)``: negative means
        under-coverage) and, with ``reference``, ``width_ratio``.

    Raises
    ------
    TypeError
        Non-numeric input, ``alpha`` not a real number, or ``reference`` not
        a pair of array-likes.
    ValueError
        As for the individual metrics.

    Examples
    --------
    >>> from bsdl.conformal.metrics import interval_metrics
    >>> interval_metrics([0.0, 3.0], [-1, -1], [1, 1], alpha=0.5,
    ...                  reference=([-2, -2], [2, 2]))
    {'coverage': 0.5, 'width': 2.0, 'interval_score': 6.0, 'miscoverage_gap': 0.0, \
'width_ratio': 0.5}
    """
    a = check_alpha(alpha)
    y_arr, lo, hi = _check_intervals(y, lower, upper)
    cov = coverage(y_arr, lo, hi)
    out = {
        "coverage": cov,
        "width": mean_width(lo, hi),
        "interval_score": interval_score(y_arr, lo, hi, a),
        "miscoverage_gap": cov - (1.0 - a),
    }
    if reference is not None:
        if isinstance(reference, str | bytes | np.ndarray | pd.Series) or not (
            isinstance(reference, tuple | list) and len(reference) == 2
        ):
            raise TypeError(
                "reference must be a pair (ref_lower, ref_upper) of array-likes, "
                f"got {type(reference).__name__}"
            )
        out["width_ratio"] = width_ratio(lo, hi, reference[0], reference[1])
    return out
