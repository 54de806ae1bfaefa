"""Shared pieces of the conformal methods: the interval result (a
:class:`bsdl.results.Intervals`), the conformal quantile, input checks, estimator copies
and the lag-matrix helper (numpy only)."""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd

from bsdl._validation import check_alpha, check_array, check_positive_int
from bsdl.exceptions import NotFittedError
from bsdl.results import Intervals

__all__ = [
    "ConformalIntervals",
    "conformal_quantile",
    "min_calibration_size",
    "lag_matrix",
]


class ConformalIntervals(Intervals):
    """Conformal intervals ``[lower, upper]`` around point predictions ``mean``.

    A :class:`bsdl.results.Intervals` (``mean``, ``lower``, ``upper``, ``alpha``,
    ``width``, ``to_frame``, ``coverage``, ``interval_score``) that also records
    the method and, for adaptive methods, the level each row used. Conformal
    intervals need not be symmetric; unlike
    :class:`~bsdl.results.PredictionIntervals` they cannot be re-read at another
    ``alpha`` without recalibrating, so there is no ``se`` or ``conf_int``.

    Parameters
    ----------
    mean, lower, upper : array-like of shape (n,)
        Point predictions and interval ends (finite, ``lower <= upper``).
    alpha : float
        The target significance level in (0, 1).
    method : str, default ""
        Name of the method that built the intervals.
    alphas : array-like of shape (n,), optional
        The level each row used (adaptive methods such as ACI); it may leave
        (0, 1) along the path. ``to_frame`` shows it as an ``alpha`` column.
    index : sequence or pandas.Index, optional
        Row labels.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import ConformalIntervals
    >>> ci = ConformalIntervals(np.zeros(2), np.array([-1.0, -2.0]), np.array([1.0, 2.0]), 0.1)
    >>> ci.width
    array([2., 4.])
    >>> ci.coverage(np.array([0.5, 3.0]))
    0.5
    >>> from bsdl.results import Intervals
    >>> isinstance(ci, Intervals)
    True
    """

    def __init__(
        self, mean, lower, upper, alpha: float, method: str = "", alphas=None, index=None
    ) -> None:
        super().__init__(mean, lower, upper, alpha, index=index)
        if not isinstance(method, str):
            raise TypeError(f"method must be a str, got {type(method).__name__}")
        self._method = method
        if alphas is not None:
            alphas, _ = check_array(alphas, "alphas", ndim=1)
            if alphas.shape != self.shape:
                raise ValueError(
                    f"alphas has {alphas.size} values but mean has {len(self)}: one level per row"
                )
            alphas.setflags(write=False)
        self._alphas = alphas

    @property
    def method(self) -> str:
        """Name of the method that built the intervals."""
        return self._method

    @property
    def alphas(self) -> np.ndarray | None:
        """The level each row used (adaptive methods; read-only), or None."""
        return self._alphas

    def _frame_columns(self) -> dict[str, np.ndarray]:
        data = super()._frame_columns()
        if self._alphas is not None:
            data["alpha"] = self._alphas
        return data

    def _repr_parts(self) -> list[str]:
        parts = super()._repr_parts()
        return parts + [f"method={self._method!r}"] if self._method else parts


def min_calibration_size(alpha: float) -> int:
    """Smallest calibration set whose conformal quantile at level ``1 - alpha`` is finite.

    The quantile is the ``ceil((n + 1)(1 - alpha))``-th smallest score, which exists when
    ``n >= (1 - alpha) / alpha``.

    >>> from bsdl.conformal import min_calibration_size
    >>> min_calibration_size(0.1), min_calibration_size(0.05)
    (9, 19)
    """
    alpha = check_alpha(alpha)
    return int(math.ceil((1.0 - alpha) / alpha - 1e-9))


def _rank(n: int, alpha: float) -> int:
    return int(math.ceil((n + 1) * (1.0 - alpha) - 1e-9))


def conformal_quantile(scores, alpha: float, *, argname: str = "calibration set") -> float:
    """The split-conformal quantile: the ``ceil((n+1)(1-alpha))``-th smallest score.

    With exchangeable scores, ``score_{new} <= q`` has probability at least ``1 - alpha``
    (Vovk et al. 2005; Lei et al. 2018). Raises ValueError, with the minimum size, when
    the set is too small for ``alpha``.

    >>> import numpy as np
    >>> from bsdl.conformal import conformal_quantile
    >>> conformal_quantile(np.arange(1.0, 20.0), 0.1)  # 19 scores: the 18th smallest
    18.0
    """
    alpha = check_alpha(alpha)
    s = np.sort(np.asarray(scores, dtype=float).reshape(-1))
    k = _rank(s.size, alpha)
    if k > s.size:
        raise ValueError(
            f"{argname} has {s.size} points; at alpha={alpha:g} at least "
            f"{min_calibration_size(alpha)} are needed for a finite conformal quantile"
        )
    return float(s[max(k, 1) - 1])


def quantile_or_max(sorted_scores: np.ndarray, alpha: float) -> float:
    """Conformal quantile for any ``alpha`` (adaptive methods): the largest score when
    ``alpha`` is too small for the set (instead of an infinite interval), 0 when
    ``alpha >= 1`` (an empty interval)."""
    n = sorted_scores.size
    if alpha >= 1.0:
        return 0.0
    if alpha <= 0.0:
        return float(sorted_scores[-1])
    k = _rank(n, alpha)
    return float(sorted_scores[min(max(k, 1), n) - 1])


def check_rows(X, name: str = "X") -> np.ndarray:
    """Rows of a design matrix as a fresh 2-D float array (1-D input: one column, e.g.
    the time positions a :class:`~bsdl.compare.OneStepForecaster` reads)."""
    out, _ = check_array(X, name, ndim=2, allow_1d_as_column=True)
    return out


def row_index(X):
    """The pandas index of ``X`` (DataFrame or Series), else None: intervals keep it."""
    index = getattr(X, "index", None)
    return index.copy() if isinstance(index, pd.Index) else None


def check_target(y, n: int | None = None, name: str = "y") -> np.ndarray:
    out, _ = check_array(y, name, ndim=1)
    if n is not None and out.size != n:
        raise ValueError(f"{name} has {out.size} values but X has {n} rows")
    return out


def check_fitted(obj, attribute: str, method: str, before: str) -> None:
    if not hasattr(obj, attribute):
        raise NotFittedError(
            f"This {type(obj).__name__} instance is not ready: call {before} before {method}"
        )


def clone_estimator(estimator):
    """An unfitted copy: ``type(est)(**get_params())`` for scikit-learn-style estimators."""
    if hasattr(estimator, "get_params"):
        return type(estimator)(**estimator.get_params(deep=False))
    return copy.deepcopy(estimator)


def checked_predictions(estimator, X) -> np.ndarray:
    """``estimator.predict(X)`` as a float vector, one finite value per row of ``X``."""
    pred = np.asarray(estimator.predict(X), dtype=float).reshape(-1)
    if pred.size != len(X):
        raise ValueError(f"the estimator returned {pred.size} predictions for {len(X)} rows")
    if not np.all(np.isfinite(pred)):
        raise ValueError("the estimator returned non-finite predictions")
    return pred


def check_estimator(estimator, name: str = "estimator"):
    for method in ("fit", "predict"):
        if not callable(getattr(estimator, method, None)):
            raise TypeError(
                f"{name} must have fit(X, y) and predict(X) methods; "
                f"{type(estimator).__name__} has no {method}()"
            )
    return estimator


def lag_matrix(series, lags: int, *, exog=None):
    """The lag design of a series: row t holds ``y[t-1], ..., y[t-lags]`` (and exog at t).

    Lets any scikit-learn regressor forecast one step ahead, so it can be wrapped by
    the conformal methods.

    Parameters
    ----------
    series : array-like of shape (n,)
    lags : int
        Number of past values per row; the first ``lags`` points have no full past and
        are dropped.
    exog : array-like of shape (n,) or (n, m), optional
        Regressors known at time t, appended to row t.

    Returns
    -------
    X : ndarray of shape (n - lags, lags [+ m])
    y : ndarray of shape (n - lags,)
        The targets ``series[lags:]``.

    Examples
    --------
    >>> from bsdl.conformal import lag_matrix
    >>> X, y = lag_matrix([1.0, 2.0, 3.0, 4.0], lags=2)
    >>> X
    array([[2., 1.],
           [3., 2.]])
    >>> y
    array([3., 4.])
    """
    z, _ = check_array(series, "series", ndim=1)
    lags = check_positive_int(lags, "lags")
    if z.size <= lags:
        raise ValueError(f"series has {z.size} values; more than lags={lags} are needed")
    cols = [z[lags - j : z.size - j] for j in range(1, lags + 1)]
    X = np.column_stack(cols)
    if exog is not None:
        x, _ = check_array(exog, "exog", ndim=2, allow_1d_as_column=True)
        if x.shape[0] != z.size:
            raise ValueError(f"exog has {x.shape[0]} rows but series has {z.size} values")
        X = np.hstack([X, x[lags:]])
    return X, z[lags:].copy()
