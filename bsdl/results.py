"""Result objects holding plain arrays (layer L0).

:class:`Intervals` is the one intervals protocol of bsdl: point predictions
``mean``, interval ends ``lower``/``upper`` at level ``1 - alpha``, ``width``,
``to_frame``, ``coverage`` and ``interval_score``. Its subclasses are
:class:`PredictionIntervals` (asymptotic, from a standard error) and
:class:`bsdl.conformal.ConformalIntervals` (conformal methods).

:class:`PredictionIntervals` follows statsmodels' ``PredictionResults``: the
predicted mean and its standard error are stored once, and intervals can be
read at any significance level without refitting. A result never keeps a
reference to the estimator that produced it.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
from scipy import special, stats

from bsdl._validation import check_alpha

__all__ = ["Intervals", "PredictionIntervals"]

_KINDS = ("prediction", "confidence")
_LINKS = ("identity", "logit")
# A logit-link mean is clipped to [_LOGIT_EPS, 1 - _LOGIT_EPS] only to compute logit(mean).
_LOGIT_EPS = 1e-12


def _check_df(df) -> float | None:
    if df is None:
        return None
    if isinstance(df, bool) or not isinstance(df, Real):
        raise TypeError(f"df must be a positive real number or None, got {type(df).__name__}")
    value = float(df)
    if not (math.isfinite(value) and value > 0.0):
        raise ValueError(
            f"df must be a positive finite number (Student-t degrees of freedom) or None, "
            f"got {value!r}"
        )
    return value


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
        if index is None and isinstance(mean, pd.Series | pd.DataFrame):
            index = mean.index
        if columns is None and isinstance(mean, pd.DataFrame):
            columns = mean.columns
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


class PredictionIntervals(Intervals):
    """Intervals ``mean -+ crit * se`` (normal or Student-t) at any significance level.

    The critical value ``crit`` is the normal quantile ``z_{1 - a/2}``, or the
    Student-t quantile ``t_{df, 1 - a/2}`` when ``df`` is given, with
    ``a = alpha`` (or ``alpha / n`` when ``joint``). With ``link="logit"`` the
    interval is built on the logit scale and mapped back:
    ``expit(logit(mean) -+ crit * se)``.

    Parameters
    ----------
    mean : array-like of shape (n,) or (n, k)
        Point predictions, e.g. one per horizon, or class probabilities with
        ``k`` columns.
    se : array-like, same shape as ``mean``
        Standard errors (non-negative, finite). For prediction intervals this
        includes the noise: ``sqrt(sigma^2 + Var[f(x)])``.
    alpha : float, default 0.05
        Significance level in (0, 1); 0.05 gives 95% intervals.
    index : sequence or pandas.Index, optional
        Row labels (e.g. forecast dates). If omitted and ``mean`` is a pandas
        object, its index is used.
    columns : sequence, optional
        Column names of a 2-D ``mean`` (e.g. class labels). If omitted and
        ``mean`` is a DataFrame, its columns are used.
    joint : bool, default False
        If True, the ``n`` rows are covered jointly by a Bonferroni correction:
        each row uses the level ``alpha / n``.
    bounds : tuple (lo, hi), optional
        Clip the interval ends to ``[lo, hi]``, e.g. ``(0, 1)`` for
        probabilities. Either end may be None (no bound on that side).
    kind : {"prediction", "confidence"}, default "prediction"
        Whether ``se`` covers a new observation (prediction) or only the
        regression function (confidence).
    df : float, optional
        Degrees of freedom (positive, finite). If given, the critical value is
        the Student-t quantile ``t_{df, 1 - a/2}`` instead of the normal
        ``z_{1 - a/2}``.
    link : {"identity", "logit"}, default "identity"
        Scale on which the interval is symmetric. With ``"logit"``, ``mean``
        is a probability in [0, 1] (still on the response scale) and ``se`` is
        the standard error of ``logit(mean)``; the ends are
        ``expit(logit(mean) -+ crit * se)``, so they lie in [0, 1] and are
        asymmetric around ``mean``. For this computation only, ``mean`` is
        clipped to ``[1e-12, 1 - 1e-12]`` (so a mean of exactly 0 or 1 is
        accepted), and the ends are widened by at most rounding error so
        that ``lower <= mean <= upper`` always holds.

    Attributes
    ----------
    mean, se : ndarray (read-only)
        The stored predictions and standard errors, float64 copies.
    alpha, level : float
        The significance level used by ``lower``/``upper`` and ``1 - alpha``.
    lower, upper, width : ndarray (read-only)
        Interval ends and ``upper - lower`` at ``alpha``.
    z : float
        The critical value used at ``alpha``: ``z_{1 - a/2}``, or
        ``t_{df, 1 - a/2}`` when ``df`` is given, with ``a = alpha`` (or
        ``alpha / n`` when ``joint``).
    df : float or None
        Student-t degrees of freedom, or None for the normal.
    link : str
        ``"identity"`` or ``"logit"``.
    index, columns : pandas.Index or None
        Row and column labels.
    joint : bool
    bounds : tuple of float or None
    kind : str

    See Also
    --------
    Intervals : the base: ``to_frame``, ``coverage``, ``interval_score``.
    statsmodels.tsa.base.prediction.PredictionResults

    Examples
    --------
    >>> from bsdl.results import PredictionIntervals
    >>> pi = PredictionIntervals([1.0, 2.0], [0.5, 1.0], alpha=0.05)
    >>> pi.lower.round(3)
    array([0.02, 0.04])
    >>> pi.conf_int(alpha=0.1).round(3)
    array([[0.178, 1.822],
           [0.355, 3.645]])
    >>> pi.to_frame().round(3)
       mean   se  lower  upper
    0   1.0  0.5   0.02   1.98
    1   2.0  1.0   0.04   3.96

    Joint (Bonferroni) intervals over 2 horizons use ``alpha / 2`` per row:

    >>> round(PredictionIntervals([1.0, 2.0], [0.5, 1.0], joint=True).z, 4)
    2.2414

    Student-t critical value with 5 degrees of freedom:

    >>> round(PredictionIntervals([0.0], [1.0], df=5).z, 4)
    2.5706

    A probability with a standard error on the logit scale gives an
    asymmetric interval inside (0, 1):

    >>> PredictionIntervals([0.9], [0.5], link="logit").conf_int().round(3)
    array([[0.772, 0.96 ]])
    """

    def __init__(
        self,
        mean,
        se,
        alpha: float = 0.05,
        *,
        index=None,
        columns=None,
        joint: bool = False,
        bounds: tuple[float | None, float | None] | None = None,
        kind: str = "prediction",
        df: float | None = None,
        link: str = "identity",
    ) -> None:
        mean_arr = _as_float_array(mean, "mean")
        se_arr = _as_float_array(se, "se")
        if se_arr.shape != mean_arr.shape:
            raise ValueError(
                f"se must have the same shape as mean: mean has shape {mean_arr.shape}, "
                f"se has shape {se_arr.shape}"
            )
        if (se_arr < 0).any():
            raise ValueError(
                f"se must be non-negative; found {int((se_arr < 0).sum())} negative value(s), "
                f"the first at {_first(se_arr < 0)}"
            )
        if not isinstance(joint, bool | np.bool_):
            raise TypeError(f"joint must be a bool, got {type(joint).__name__}")
        if not isinstance(kind, str) or kind not in _KINDS:
            raise ValueError(f"kind must be one of {', '.join(map(repr, _KINDS))}; got {kind!r}")
        if not isinstance(link, str) or link not in _LINKS:
            raise ValueError(f"link must be one of {', '.join(map(repr, _LINKS))}; got {link!r}")
        outside = (mean_arr < 0) | (mean_arr > 1)
        if link == "logit" and outside.any():
            raise ValueError(
                f"mean must be a probability in [0, 1] when link='logit'; found "
                f"{int(outside.sum())} value(s) outside, the first at {_first(outside)}"
            )
        self._se = _readonly(se_arr)
        self._joint = bool(joint)
        self._bounds = self._check_bounds(bounds)
        self._kind = kind
        self._df = _check_df(df)
        self._link = link
        lower, upper = self._interval(check_alpha(alpha), mean_arr)
        if index is None and isinstance(mean, pd.Series | pd.DataFrame):
            index = mean.index
        if columns is None and isinstance(mean, pd.DataFrame):
            columns = mean.columns
        super().__init__(mean_arr, lower, upper, alpha, index=index, columns=columns)

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_bounds(bounds):
        if bounds is None:
            return None
        try:
            lo, hi = bounds
        except (TypeError, ValueError):
            raise ValueError(f"bounds must be a pair (lo, hi), got {bounds!r}") from None
        out = []
        for side, value in (("lo", lo), ("hi", hi)):
            if value is None:
                out.append(None)
                continue
            if isinstance(value, bool) or not isinstance(value, Real) or math.isnan(value):
                raise ValueError(f"bounds {side} must be a real number or None, got {value!r}")
            out.append(float(value))
        if out[0] is not None and out[1] is not None and not out[0] < out[1]:
            raise ValueError(f"bounds must satisfy lo < hi, got {tuple(out)!r}")
        return tuple(out)

    # ------------------------------------------------------------- the math
    def _critical_value(self, alpha: float) -> float:
        a = alpha / self._se.shape[0] if self._joint else alpha
        if self._df is None:
            return float(stats.norm.ppf(1.0 - a / 2.0))
        return float(stats.t.ppf(1.0 - a / 2.0, self._df))

    def _interval(self, alpha: float, mean=None) -> tuple[np.ndarray, np.ndarray]:
        mean = self._mean if mean is None else mean
        z = self._critical_value(alpha)
        if self._link == "logit":
            eta = special.logit(np.clip(mean, _LOGIT_EPS, 1.0 - _LOGIT_EPS))
            # expit is monotone, so lower <= mean <= upper holds exactly; min/max only
            # absorb rounding (and the clipping of a mean of exactly 0 or 1).
            lower = np.minimum(special.expit(eta - z * self._se), mean)
            upper = np.maximum(special.expit(eta + z * self._se), mean)
        else:
            lower = mean - z * self._se
            upper = mean + z * self._se
        if self._bounds is not None:
            lo, hi = self._bounds
            lower = np.clip(lower, lo, hi)
            upper = np.clip(upper, lo, hi)
        return lower, upper

    # ------------------------------------------------------------ properties
    @property
    def se(self) -> np.ndarray:
        """Standard errors (read-only float64 array); on the logit scale when ``link="logit"``."""
        return self._se

    @property
    def z(self) -> float:
        """The critical value used at ``alpha``: normal, or Student-t when ``df`` is given.

        Bonferroni-adjusted (``alpha / n``) when ``joint``.
        """
        return self._critical_value(self._alpha)

    @property
    def joint(self) -> bool:
        """Whether rows are covered jointly (Bonferroni over the ``n`` rows)."""
        return self._joint

    @property
    def bounds(self) -> tuple[float | None, float | None] | None:
        """Clipping bounds ``(lo, hi)``, or None."""
        return self._bounds

    @property
    def kind(self) -> str:
        """``"prediction"`` or ``"confidence"``."""
        return self._kind

    @property
    def df(self) -> float | None:
        """Student-t degrees of freedom of the critical value, or None (normal)."""
        return self._df

    @property
    def link(self) -> str:
        """``"identity"`` or ``"logit"``: the scale on which ``se`` is measured."""
        return self._link

    # --------------------------------------------------------------- methods
    def conf_int(self, alpha: float | None = None):
        """Interval ends at any significance level, without refitting.

        Parameters
        ----------
        alpha : float, optional
            Significance level in (0, 1); defaults to ``self.alpha``. The
            Bonferroni correction and bounds of this result still apply.

        Returns
        -------
        ndarray of shape ``mean.shape + (2,)`` or DataFrame
            ``[..., 0]`` is the lower and ``[..., 1]`` the upper end. A 1-D
            result with an ``index`` gives a DataFrame with columns
            ``lower`` and ``upper``.

        Examples
        --------
        >>> from bsdl.results import PredictionIntervals
        >>> pi = PredictionIntervals([0.0], [1.0])
        >>> pi.conf_int(alpha=0.32).round(2)
        array([[-0.99,  0.99]])
        """
        alpha = self._alpha if alpha is None else check_alpha(alpha)
        lower, upper = self._interval(alpha)
        ci = np.stack([lower, upper], axis=-1)
        if self._mean.ndim == 1 and self._index is not None:
            return pd.DataFrame(ci, index=self._index, columns=["lower", "upper"])
        return ci

    def with_alpha(self, alpha: float) -> PredictionIntervals:
        """A new result with the same mean and standard errors at another ``alpha``.

        Examples
        --------
        >>> from bsdl.results import PredictionIntervals
        >>> pi = PredictionIntervals([0.0], [1.0]).with_alpha(0.1)
        >>> pi.alpha, pi.upper.round(3)
        (0.1, array([1.645]))
        """
        return PredictionIntervals(
            self._mean,
            self._se,
            alpha,
            index=self._index,
            columns=self._columns,
            joint=self._joint,
            bounds=self._bounds,
            kind=self._kind,
            df=self._df,
            link=self._link,
        )

    def _frame_columns(self) -> dict[str, np.ndarray]:
        return {"mean": self._mean, "se": self._se, "lower": self._lower, "upper": self._upper}

    def _repr_parts(self) -> list[str]:
        parts = super()._repr_parts()
        if self._joint:
            parts[-1] = parts[-1][:-1] + " joint)"
        parts.append(f"kind={self._kind!r}")
        if self._df is not None:
            parts.append(f"df={self._df:.10g}")
        if self._link != "identity":
            parts.append(f"link={self._link!r}")
        if self._bounds is not None:
            parts.append(f"bounds={self._bounds!r}")
        return parts

    def _caption(self) -> str:
        crit = "z" if self._df is None else "t"
        extra = "" if self._df is None else f", df={self._df:.10g}"
        extra += "" if self._link == "identity" else f", link={self._link}"
        return (
            f"{100 * (1 - self._alpha):.10g}% {'joint ' if self._joint else ''}{self._kind} "
            f"intervals (alpha={self._alpha:.10g}, {crit}={self.z:.4f}{extra})"
        )
