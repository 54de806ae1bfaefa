"""Split conformal prediction, its adaptive online variants (ACI, AgACI) and the
conformalized asymptotic interval (numpy only)."""

from __future__ import annotations

import numpy as np

from bsdl._validation import check_alpha, check_positive_int

from ._core import (
    ConformalIntervals,
    check_estimator,
    check_fitted,
    check_rows,
    check_target,
    checked_predictions,
    clone_estimator,
    conformal_quantile,
    min_calibration_size,
    quantile_or_max,
    row_index,
)
from .scores import ConformityScore, ScaledScore, check_score

__all__ = ["SplitConformal", "ConformalizedAsymptotic"]


class SplitConformal:
    """Split (inductive) conformal intervals around any fitted regressor or forecaster.

    ``fit`` trains a copy of ``estimator`` on a training set (skipped with
    ``prefit=True``), ``calibrate`` scores a separate calibration set, and
    ``predict_interval`` returns ``prediction -+ q`` with ``q`` the
    ``ceil((n+1)(1-alpha))``-th smallest calibration score. With exchangeable data the
    coverage is at least ``1 - alpha`` (Lei et al. 2018). ``predict_online`` walks a
    test span in time order and, with ``window`` set, adds each revealed residual to a
    sliding calibration window (the usual time-series variant).

    Parameters
    ----------
    estimator : object
        Anything with ``fit(X, y)`` and ``predict(X)``: a bsdl model, a scikit-learn
        regressor on a :func:`~bsdl.conformal.lag_matrix`, or a forecaster adapter.
    score : {"absolute", "scaled"} or ConformityScore, default "absolute"
        ``"scaled"`` divides residuals by the estimator's standard error
        (``predict_interval(X).se``).
    prefit : bool, default False
        Use ``estimator`` as it is (already fitted); ``fit`` is then not needed.
    window : int, optional
        In :meth:`predict_online`, keep the ``window`` most recent scores (calibration
        scores first, then revealed test residuals). None: calibration scores only.

    Attributes
    ----------
    estimator_ : object
        The fitted estimator.
    scores_ : ndarray
        Calibration conformity scores.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from bsdl.conformal import SplitConformal
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = X @ [1.0, -1.0] + rng.normal(size=400)
    >>> sc = SplitConformal(LinearRegression()).fit(X[:200], y[:200])
    >>> sc = sc.calibrate(X[200:300], y[200:300])
    >>> pi = sc.predict_interval(X[300:], alpha=0.1)
    >>> 0.8 < pi.coverage(y[300:]) <= 1.0
    True
    """

    method_name = "split"
    _window_scores = True  # ``window`` counts conformity scores (SPCI: residual history)

    def __init__(
        self,
        estimator,
        *,
        score: str | ConformityScore = "absolute",
        prefit: bool = False,
        window: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.score = score
        self.prefit = prefit
        self.window = window

    # ------------------------------------------------------------------ fit / calibrate
    def _check_params(self) -> None:
        check_estimator(self.estimator)
        self._score = check_score(self.score)
        if self.window is not None:
            check_positive_int(self.window, "window")

    def fit(self, X, y):
        """Fit a copy of the estimator on the training set (not with ``prefit=True``)."""
        self._check_params()
        X = check_rows(X)
        y = check_target(y, len(X))
        if self.prefit:
            raise ValueError("prefit=True: the estimator is already fitted; call calibrate()")
        for stale in ("scores_", "residuals_", "n_calibration_"):  # a refit needs new scores
            self.__dict__.pop(stale, None)
        self.estimator_ = clone_estimator(self.estimator).fit(X, y)
        return self

    def _fitted_estimator(self, method: str):
        if self.prefit:
            self._check_params()
            return self.estimator
        check_fitted(self, "estimator_", method, "fit(X, y)")
        return self.estimator_

    def _predict(self, X) -> tuple[np.ndarray, np.ndarray | None]:
        est = self._fitted_estimator("predict")
        pred = checked_predictions(est, X)
        scale = self._score.get_scale(est, X)
        return pred, scale

    def calibrate(self, X, y):
        """Score the calibration set ``(X, y)`` (held out from the training set)."""
        self._fitted_estimator("calibrate")
        X = check_rows(X)
        y = check_target(y, len(X))
        pred, scale = self._predict(X)
        self.scores_ = self._score.score(y, pred, scale)
        self.n_calibration_ = int(self.scores_.size)
        return self

    # ------------------------------------------------------------------ intervals
    def _ready(self, method: str) -> None:
        check_fitted(self, "scores_", method, "calibrate(X_cal, y_cal)")

    def predict_interval(self, X, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals at level ``1 - alpha`` from the calibration scores (no updates)."""
        self._ready("predict_interval")
        alpha = check_alpha(alpha)
        index = row_index(X)
        X = check_rows(X)
        q = conformal_quantile(self.scores_, alpha)
        pred, scale = self._predict(X)
        lower, upper = self._score.interval(pred, q, scale)
        return ConformalIntervals(pred, lower, upper, alpha, self.method_name, index=index)

    def predict_online(self, X, y, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals along a test span in time order, revealing ``y[t]`` after interval t.

        No refit: the estimator is fixed, the state (scores, and the level of adaptive
        methods) is updated with each revealed residual. The fitted object is left as it
        was: online runs can be repeated.
        """
        self._ready("predict_online")
        alpha = check_alpha(alpha)
        index = row_index(X)
        X = check_rows(X)
        y = check_target(y, len(X))
        conformal_quantile(self.scores_, alpha)  # a clear error if the set is too small
        if (
            self._window_scores
            and self.window is not None
            and int(self.window) < min_calibration_size(alpha)
        ):
            raise ValueError(
                f"window={self.window} is too small for alpha={alpha:g}: the conformal "
                f"quantile needs at least {min_calibration_size(alpha)} scores"
            )
        pred, scale = self._predict(X)
        test_scores = self._score.score(y, pred, scale)
        lower, upper, alphas = self._online(pred, scale, y, test_scores, alpha)
        return ConformalIntervals(pred, lower, upper, alpha, self.method_name, alphas, index=index)

    def _score_windows(self, test_scores: np.ndarray):
        """Yield the sorted score set in force at each test step."""
        if self.window is None:
            base = np.sort(self.scores_)
            for _ in range(test_scores.size):
                yield base
            return
        hist = np.concatenate([self.scores_, test_scores])
        w = int(self.window)
        m = self.scores_.size
        for t in range(test_scores.size):
            yield np.sort(hist[max(0, m + t - w) : m + t])

    def _online(self, pred, scale, y, test_scores, alpha):
        lower = np.empty_like(pred)
        upper = np.empty_like(pred)
        for t, sorted_scores in enumerate(self._score_windows(test_scores)):
            q = quantile_or_max(sorted_scores, alpha)
            s = None if scale is None else scale[t : t + 1]
            lo, up = self._score.interval(pred[t : t + 1], q, s)
            lower[t], upper[t] = lo[0], up[0]
        return lower, upper, None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(estimator={self.estimator!r}, score={self.score!r})"


class ConformalizedAsymptotic(SplitConformal):
    """bsdl's asymptotic interval with a conformal finite-sample calibration.

    The conformity score is the standardised residual ``|y - f(x)| / se(x)``, with
    ``se`` the delta-method standard error of the fitted bsdl model (prediction part,
    ``predict_interval(X).se``). The interval ``f(x) -+ q * se(x)`` keeps the asymptotic
    shape (wider where the network is uncertain), while ``q``, the conformal quantile of
    the calibration scores, replaces the normal ``z_{1-alpha/2}``: if the asymptotic
    intervals are calibrated, ``q`` is close to ``z``; if not, ``q`` corrects them and
    the split-conformal guarantee holds. :meth:`z_ratio` reports ``q / z``.

    Parameters
    ----------
    estimator : object
        A model whose ``predict_interval(X)`` returns an object with ``.se`` (every bsdl
        model), fitted already (``prefit=True``, the default) or fitted by :meth:`fit`.
    prefit : bool, default True
    window : int, optional
        As in :class:`SplitConformal`.

    Examples
    --------
    For a :class:`~bsdl.SparseRNN` (whose ``predict_interval`` reads a series, not rows)
    wrap the fit in :class:`bsdl.compare.OneStepForecaster` first.

    >>> import numpy as np
    >>> from bsdl.conformal import ConformalizedAsymptotic
    >>> class Model:  # any model with predict and predict_interval(X).se
    ...     def fit(self, X, y): return self
    ...     def predict(self, X): return np.zeros(len(X))
    ...     def predict_interval(self, X):
    ...         return type("PI", (), {"se": np.full(len(X), 2.0)})()
    >>> rng = np.random.default_rng(0)
    >>> X = np.zeros((600, 1)); y = rng.normal(scale=2.0, size=600)
    >>> ca = ConformalizedAsymptotic(Model()).calibrate(X[:300], y[:300])
    >>> bool(abs(ca.z_ratio(0.1) - 1) < 0.15)  # se is right: q is close to z
    True
    """

    method_name = "conformalized asymptotic"

    def __init__(self, estimator, *, prefit: bool = True, window: int | None = None) -> None:
        super().__init__(estimator, score=ScaledScore(), prefit=prefit, window=window)

    def z_ratio(self, alpha: float = 0.1) -> float:
        """``q / z_{1-alpha/2}``: 1 when the asymptotic intervals are already calibrated."""
        from statistics import NormalDist

        self._ready("z_ratio")
        q = conformal_quantile(self.scores_, alpha)
        return q / NormalDist().inv_cdf(1.0 - check_alpha(alpha) / 2.0)

    def __repr__(self) -> str:
        return f"ConformalizedAsymptotic(estimator={self.estimator!r})"
