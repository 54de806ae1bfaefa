"""The adaptive asymptotic interval: bsdl's delta-method interval whose level moves as ACI's.

A hybrid of the two ideas the comparison harness sets side by side: the interval keeps
the model's asymptotic shape, ``f(x) -+ c(alpha_t) se(x)`` with ``se`` the model's one-step
standard error and ``c`` its critical value (Student-t with the model's residual degrees of
freedom, or normal), while the level ``alpha_t`` follows the update of adaptive conformal
inference (Gibbs & Candès 2021; :func:`~bsdl.conformal.aci_walk`, shared with
:class:`~bsdl.conformal.ACI`). It needs no calibration set: the model can be fitted on
everything before the test span, and the level adapts to a shift in the noise online.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from bsdl._validation import check_alpha

from ._core import (
    ConformalIntervals,
    check_estimator,
    check_fitted,
    check_rows,
    check_target,
    clone_estimator,
    row_index,
)
from .adaptive import _check_gamma, aci_walk

__all__ = ["AdaptiveAsymptotic"]


def _check_min_alpha(min_alpha) -> float:
    if isinstance(min_alpha, bool) or not isinstance(min_alpha, int | float | np.floating):
        raise TypeError(f"min_alpha must be a float in (0, 1), got {min_alpha!r}")
    if not 0.0 < float(min_alpha) < 1.0:
        raise ValueError(f"min_alpha must be in (0, 1), got {min_alpha!r}")
    return float(min_alpha)


class AdaptiveAsymptotic:
    """bsdl's asymptotic prediction interval with the level adapted online as in ACI.

    At test step ``t`` the interval is ``f(x_t) -+ c(alpha_t) se(x_t)``: ``f`` and ``se``
    are the fitted model's point forecast and standard error (its
    ``predict_interval(X)``: for bsdl's forecasters the delta-method variance plus the
    noise), ``c(a)`` the critical value at level ``a`` (Student-t with the interval's
    ``df`` when it has one, as bsdl's intervals do, else normal). After ``y_t`` is revealed,
    ``alpha_{t+1} = alpha_t + gamma (alpha - err_t)`` (:func:`~bsdl.conformal.aci_update`).
    If the model's intervals are calibrated the level stays near ``alpha``; if the noise
    grows, misses push ``alpha_t`` down and ``c`` up until the coverage is restored.
    Gibbs & Candès' bound holds for the nominal intervals:
    ``|mean(err) - alpha| <= (max(alpha, 1 - alpha) + gamma) / (gamma T)``.

    ``alpha_t <= 0`` asks for the whole real line: such a step never misses, so the update
    counts no error (as :class:`~bsdl.conformal.ACI` does), and the *reported* interval is
    the one at level ``min_alpha``. ``alpha_t >= 1`` gives the zero-width interval at
    ``f``. The critical value grows slowly as the level falls (``c`` is about
    ``sqrt(2 log(1 / alpha_t))``), so a noise sd more than about three times the model's
    keeps ``alpha_t`` near 0 and the reported intervals miss more often than the nominal
    ones.

    Unlike the split-conformal methods it needs no calibration set: ``predict_online``
    follows :meth:`fit` (or ``prefit=True``) directly.

    Parameters
    ----------
    estimator : object
        A model with ``fit(X, y)`` and ``predict_interval(X)`` returning an object with
        ``mean`` and ``se`` (every bsdl model; for a :class:`~bsdl.SparseRNN` wrap it in
        :class:`bsdl.compare.OneStepForecaster`), and optionally ``df``.
    gamma : float, default 0.01
        ACI's step size in (0, 1).
    prefit : bool, default True
        Use ``estimator`` as it is (already fitted).
    min_alpha : float, default 1e-6
        The level of the reported interval when ``alpha_t <= 0``.

    Attributes
    ----------
    estimator_ : object
        The fitted estimator (after :meth:`fit`).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import AdaptiveAsymptotic
    >>> class Model:  # standard error 1, but the noise sd doubles halfway
    ...     def fit(self, X, y): return self
    ...     def predict(self, X): return np.zeros(len(X))
    ...     def predict_interval(self, X):
    ...         return type("PI", (), {"mean": np.zeros(len(X)), "se": np.ones(len(X))})()
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=4000) * np.repeat([1.0, 2.0], 2000)
    >>> X = np.zeros((4000, 1))
    >>> pi = AdaptiveAsymptotic(Model(), gamma=0.02).predict_online(X, y, alpha=0.1)
    >>> bool(abs(pi.coverage(y) - 0.9) < 0.02)  # the plain interval covers 0.68
    True
    """

    method_name = "adaptive asymptotic"

    def __init__(
        self, estimator, *, gamma: float = 0.01, prefit: bool = True, min_alpha: float = 1e-6
    ) -> None:
        self.estimator = estimator
        self.gamma = gamma
        self.prefit = prefit
        self.min_alpha = min_alpha

    def _check_params(self) -> None:
        check_estimator(self.estimator)
        if not callable(getattr(self.estimator, "predict_interval", None)):
            raise TypeError(
                f"estimator must have predict_interval(X) returning mean and se; "
                f"{type(self.estimator).__name__} has no predict_interval()"
            )
        _check_gamma(self.gamma)
        _check_min_alpha(self.min_alpha)
        if not isinstance(self.prefit, bool):
            raise TypeError(f"prefit must be True or False, got {self.prefit!r}")

    def fit(self, X, y):
        """Fit a copy of the estimator (not with ``prefit=True``)."""
        self._check_params()
        X = check_rows(X)
        y = check_target(y, len(X))
        if self.prefit:
            raise ValueError("prefit=True: the estimator is already fitted; call predict_online()")
        self.estimator_ = clone_estimator(self.estimator).fit(X, y)
        return self

    def _fitted_estimator(self):
        self._check_params()
        if self.prefit:
            return self.estimator
        check_fitted(self, "estimator_", "predict_online", "fit(X, y)")
        return self.estimator_

    def _mean_se_df(self, est, X) -> tuple[np.ndarray, np.ndarray, float | None]:
        pi = est.predict_interval(X)
        mean = getattr(pi, "mean", None)
        mean = est.predict(X) if mean is None else mean
        mean = np.asarray(mean, dtype=float).reshape(-1)
        se = np.asarray(pi.se, dtype=float).reshape(-1)
        if mean.size != len(X) or se.size != len(X):
            raise ValueError(
                f"the estimator returned {mean.size} means and {se.size} standard errors "
                f"for {len(X)} rows"
            )
        if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(se)) and np.all(se >= 0)):
            raise ValueError("the estimator returned non-finite means or invalid standard errors")
        df = getattr(pi, "df", None)
        return mean, se, None if df is None else float(df)

    def predict_online(self, X, y, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals along a test span in time order, revealing ``y[t]`` after interval t.

        The model is not refitted; the object is left as it was, so online runs can be
        repeated. ``alphas`` of the result holds the level of each step.
        """
        est = self._fitted_estimator()
        alpha = check_alpha(alpha)
        index = row_index(X)
        X = check_rows(X)
        y = check_target(y, len(X))
        gamma, floor = float(self.gamma), float(self.min_alpha)
        mean, se, df = self._mean_se_df(est, X)
        dist = stats.norm if df is None else stats.t(df)

        def interval_at(t, a_t):
            if a_t >= 1.0:
                return mean[t], mean[t], False
            c = float(dist.ppf(1.0 - max(a_t, floor) / 2.0))
            return mean[t] - c * se[t], mean[t] + c * se[t], a_t <= 0.0

        lower, upper, alphas = aci_walk(y, alpha, gamma, interval_at)
        return ConformalIntervals(mean, lower, upper, alpha, self.method_name, alphas, index=index)

    def __repr__(self) -> str:
        return f"AdaptiveAsymptotic(estimator={self.estimator!r}, gamma={self.gamma!r})"
