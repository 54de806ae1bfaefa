"""Asymptotic intervals from a standard error: :class:`PredictionIntervals` (layer L0).

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
from bsdl.results._base import (
    Intervals,
    _as_float_array,
    _first,
    _pandas_labels,
    _readonly,
)

__all__ = ["PredictionIntervals"]

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
        index, columns = _pandas_labels(mean, index, columns)
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
