"""The adaptive asymptotic interval: bsdl's delta-method interval whose level moves as ACI's.

A hybrid of the two ideas the comparison harness sets side by side: the interval keeps
the model's asymptotic shape, ``f(x) -+ c(alpha_t) se(x)`` with ``se`` the model's one-step
standard error and ``c`` its critical value (Student-t with the model's residual degrees of
freedom, or normal), while the level ``alpha_t`` follows the update of adaptive conformal
inference (Gibbs & Candès 2021; :func:`~bsdl.conformal.aci_walk`, shared with
:class:`~bsdl.conformal.ACI`). By default several such levels, one per step size and one
held at the nominal level, are aggregated online as AgACI aggregates ACI experts
(Zaffran et al. 2022; :func:`~bsdl.conformal.aggregated_walk`, shared with
:class:`~bsdl.conformal.AgACI`), so no step size has to be chosen. It needs no
calibration set: the model can be fitted on everything before the test span, and the
level adapts to a shift in the noise online.
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
from .adaptive import DEFAULT_GAMMAS, _check_gamma, aci_walk, aggregated_walk, check_gammas

__all__ = ["AdaptiveAsymptotic", "HYBRID_GAMMAS"]

#: The default experts of :class:`AdaptiveAsymptotic`: the model's own interval held at the
#: nominal level (step size 0) and one ACI level per step size of :data:`DEFAULT_GAMMAS`.
HYBRID_GAMMAS: tuple[float, ...] = (0.0, *DEFAULT_GAMMAS)


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

    **Aggregated (the default).** One fixed ``gamma`` must trade speed for noise: on a
    short test span a small step cannot correct a standard error that is much too small
    before the span ends, and a large step makes every width noisy. With a
    sequence ``gamma`` each step size runs its own level (an expert; step 0 keeps the
    model's interval at the nominal level) and the lower and upper bounds are aggregated
    online by exponential weights on the pinball loss, exactly as :class:`AgACI`
    aggregates ACI experts (:func:`~bsdl.conformal.aggregated_walk`). The aggregate's
    pinball loss is close to that of the best expert in hindsight (the regret bound of
    exponential weights), so where the model's intervals are calibrated it stays near
    them, and where they are not it follows the experts that correct them. An expert
    whose level asks for the whole line (``alpha_t <= 0``) contributes, as AgACI's do,
    the largest error seen so far: the largest ``|y_s - f(x_s)| / se(x_s)`` revealed
    before step ``t`` (at least ``c(alpha)``) times ``se(x_t)``.

    ``alpha_t <= 0`` asks for the whole real line: such a step never misses, so the update
    counts no error (as :class:`~bsdl.conformal.ACI` does); with a single ``gamma`` the
    *reported* interval is the one at level ``min_alpha``. ``alpha_t >= 1`` gives the
    zero-width interval at ``f``. The critical value grows slowly as the level falls
    (``c`` is about ``sqrt(2 log(1 / alpha_t))``), so with a single ``gamma`` a noise sd
    more than about three times the model's keeps ``alpha_t`` near 0 and the reported
    intervals miss more often than the nominal ones.

    Unlike the split-conformal methods it needs no calibration set: ``predict_online``
    follows :meth:`fit` (or ``prefit=True``) directly.

    Parameters
    ----------
    estimator : object
        A model with ``fit(X, y)`` and ``predict_interval(X)`` returning an object with
        ``mean`` and ``se`` (every bsdl model; for a :class:`~bsdl.SparseRNN` wrap it in
        :class:`bsdl.compare.OneStepForecaster`), and optionally ``df``.
    gamma : float or sequence of float, default :data:`HYBRID_GAMMAS`
        ACI's step size in (0, 1), or a sequence of step sizes in [0, 1) whose levels
        are aggregated (0: the nominal level held fixed).
    prefit : bool, default True
        Use ``estimator`` as it is (already fitted).
    min_alpha : float, default 1e-6
        The smallest level turned into a critical value; with a single ``gamma`` also
        the level of the reported interval when ``alpha_t <= 0``.

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
    >>> agg = AdaptiveAsymptotic(Model()).predict_online(X, y, alpha=0.1)  # aggregated
    >>> bool(abs(agg.coverage(y) - 0.9) < 0.02)
    True
    """

    method_name = "adaptive asymptotic"

    def __init__(
        self,
        estimator,
        *,
        gamma: float | tuple[float, ...] = HYBRID_GAMMAS,
        prefit: bool = True,
        min_alpha: float = 1e-6,
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
        self._gammas()
        _check_min_alpha(self.min_alpha)
        if not isinstance(self.prefit, bool):
            raise TypeError(f"prefit must be True or False, got {self.prefit!r}")

    def _gammas(self) -> np.ndarray | None:
        """The aggregated step sizes, or None for a single ``gamma``."""
        if isinstance(self.gamma, int | float | np.floating | bool):
            _check_gamma(self.gamma)
            return None
        return check_gammas(self.gamma, "gamma", allow_zero=True)

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
        repeated. With a single ``gamma``, ``alphas`` of the result holds the level of
        each step (None when levels are aggregated).
        """
        est = self._fitted_estimator()
        alpha = check_alpha(alpha)
        index = row_index(X)
        X = check_rows(X)
        y = check_target(y, len(X))
        floor = float(self.min_alpha)
        mean, se, df = self._mean_se_df(est, X)
        dist = stats.norm if df is None else stats.t(df)
        gammas = self._gammas()
        if gammas is None:
            lower, upper, alphas = self._single(y, mean, se, dist, alpha, self.gamma, floor)
        else:
            lower, upper = self._aggregated(y, mean, se, dist, alpha, gammas, floor)
            alphas = None
        return ConformalIntervals(mean, lower, upper, alpha, self.method_name, alphas, index=index)

    @staticmethod
    def _single(y, mean, se, dist, alpha, gamma, floor):
        gamma = float(gamma)

        def interval_at(t, a_t):
            if a_t >= 1.0:
                return mean[t], mean[t], False
            c = float(dist.ppf(1.0 - max(a_t, floor) / 2.0))
            return mean[t] - c * se[t], mean[t] + c * se[t], a_t <= 0.0

        return aci_walk(y, alpha, gamma, interval_at)

    @staticmethod
    def _aggregated(y, mean, se, dist, alpha, gammas, floor):
        # the largest standardized error revealed so far (at least c(alpha)): the bound an
        # expert asking for the whole line contributes, as AgACI's capped experts do
        largest = [float(dist.ppf(1.0 - alpha / 2.0))]

        def bounds_at(t, a_t):
            if t > 0 and se[t - 1] > 0:
                largest[0] = max(largest[0], abs(y[t - 1] - mean[t - 1]) / se[t - 1])
            infinite = a_t <= 0.0
            c = dist.ppf(1.0 - np.clip(a_t, floor, 1.0) / 2.0)
            c = np.where(infinite, largest[0], c)
            return mean[t] - c * se[t], mean[t] + c * se[t], infinite

        return aggregated_walk(y, alpha, gammas, bounds_at)

    def __repr__(self) -> str:
        return f"AdaptiveAsymptotic(estimator={self.estimator!r}, gamma={self.gamma!r})"
