"""SPCI: sequential predictive conformal inference (Xu & Xie, ICML 2023)."""

from __future__ import annotations

import numpy as np

from bsdl._validation import check_alpha, check_positive_int

from ._core import ConformalIntervals, check_rows, check_target, row_index
from .split import SplitConformal

__all__ = ["SPCI", "linear_quantile_regression"]


def linear_quantile_regression(X, y, tau: float) -> np.ndarray:
    """Coefficients (intercept first) of the linear ``tau``-quantile regression of y on X.

    The exact minimiser of the pinball loss, as the linear programme of Koenker &
    Bassett (1978) solved by HiGHS (:func:`scipy.optimize.linprog`): minimise
    ``tau * sum(u) + (1 - tau) * sum(v)`` subject to ``A b + u - v = y``, ``u, v >= 0``.

    >>> import numpy as np
    >>> from bsdl.conformal import linear_quantile_regression
    >>> x = np.linspace(0, 1, 2001)[:, None]
    >>> y = 2 * x[:, 0] + np.random.default_rng(0).uniform(-1, 1, 2001)
    >>> np.round(linear_quantile_regression(x, y, 0.5))  # median line: about 0 + 2 x
    array([0., 2.])
    """
    from scipy import sparse
    from scipy.optimize import linprog

    A = np.column_stack([np.ones(len(X)), np.asarray(X, float)])
    y = np.asarray(y, float)
    n, k = A.shape
    cost = np.concatenate([np.zeros(k), np.full(n, tau), np.full(n, 1.0 - tau)])
    eye = sparse.identity(n, format="csc")
    res = linprog(
        cost,
        A_eq=sparse.hstack([sparse.csc_matrix(A), eye, -eye], format="csc"),
        b_eq=y,
        bounds=[(None, None)] * k + [(0, None)] * (2 * n),
        method="highs",
    )
    if res.status != 0:  # pragma: no cover - the LP is always feasible and bounded
        raise RuntimeError(f"quantile regression failed: {res.message}")
    return res.x[:k]


class SPCI(SplitConformal):
    """Sequential predictive conformal inference (Xu & Xie, ICML 2023).

    The residuals of a time series forecaster are serially dependent, so SPCI predicts
    the *conditional* quantiles of the next residual from the last ``n_lags`` residuals
    with a quantile regression, fitted on the most recent ``window`` residuals (the
    unconditional empirical quantiles while fewer than ``10 (n_lags + 1)`` are known). The
    interval is ``[f(x_t) + Q_beta, f(x_t) + Q_{1-alpha+beta}]`` with ``beta`` in
    ``[0, alpha]`` chosen for the smallest width. The paper uses quantile random forests;
    here the quantile regression is linear (:func:`linear_quantile_regression`, exact,
    numpy + scipy: no model library needed). Residuals come from a calibration set (split), then
    each revealed test residual joins the history.

    Parameters
    ----------
    estimator, prefit
        As in :class:`SplitConformal` (the score is the signed residual).
    n_lags : int, default 10
        Past residuals used as features.
    window : int, default 300
        Most recent residuals the quantile regression is fitted on.
    n_betas : int, default 1
        1: equal tails, ``beta = alpha / 2``. More: the paper's search for the narrowest
        interval over ``n_betas`` values of ``beta`` on ``[0, alpha]``. With in-sample
        quantile fits that search under-covers (choosing the narrowest of several fitted
        intervals favours those whose fit is too narrow), so equal tails are the default;
        BENCHMARKS.md ("Design measurements") quantifies it.
    refit_every : int, default 1
        Refit the quantile regressions every ``refit_every`` test steps.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.conformal import SPCI
    >>> class Zero:
    ...     def fit(self, X, y): return self
    ...     def predict(self, X): return np.zeros(len(X))
    >>> rng = np.random.default_rng(0)
    >>> e = np.zeros(1400)
    >>> for t in range(1, 1400):  # AR(1) residuals: predictable from the last one
    ...     e[t] = 0.8 * e[t - 1] + rng.normal()
    >>> X = np.zeros((1400, 1))
    >>> sp = SPCI(Zero(), prefit=True, n_lags=1, refit_every=5).calibrate(X[:400], e[:400])
    >>> pi = sp.predict_online(X[400:], e[400:], alpha=0.1)
    >>> bool(0.85 < pi.coverage(e[400:]) < 0.95), bool(pi.width.mean() < 4.0)
    (True, True)
    """

    method_name = "SPCI"
    _window_scores = False  # window = residual history of the quantile regressions

    def __init__(
        self,
        estimator,
        *,
        prefit: bool = False,
        n_lags: int = 10,
        window: int = 300,
        n_betas: int = 1,
        refit_every: int = 1,
    ) -> None:
        super().__init__(estimator, score="absolute", prefit=prefit, window=window)
        self.n_lags = n_lags
        self.n_betas = n_betas
        self.refit_every = refit_every

    def _check_params(self) -> None:
        super()._check_params()
        lags = check_positive_int(self.n_lags, "n_lags")
        window = check_positive_int(self.window, "window")
        check_positive_int(self.n_betas, "n_betas")
        check_positive_int(self.refit_every, "refit_every")
        if window < 2 * (lags + 1):
            raise ValueError(f"window must be >= 2 * (n_lags + 1) = {2 * (lags + 1)}, got {window}")

    def calibrate(self, X, y):
        """Store the signed calibration residuals (the start of the residual history)."""
        self._fitted_estimator("calibrate")
        X = check_rows(X)
        y = check_target(y, len(X))
        need = 2 * (int(self.n_lags) + 1) + 1
        if len(X) < need:
            raise ValueError(
                f"calibration set has {len(X)} points; SPCI with n_lags="
                f"{self.n_lags} needs at least {need}"
            )
        pred, _ = self._predict(X)
        self.residuals_ = y - pred
        self.scores_ = np.abs(self.residuals_)
        self.n_calibration_ = int(self.residuals_.size)
        return self

    def _betas(self, alpha: float) -> np.ndarray:
        k = int(self.n_betas)
        return np.linspace(0.0, alpha, k) if k > 1 else np.array([alpha / 2.0])

    def _fit_quantiles(self, hist: np.ndarray, alpha: float) -> list:
        """Quantile-regression coefficients (lower, upper) for each beta on [0, alpha].

        With fewer than ``10 (n_lags + 1)`` rows the regression would interpolate its
        few points and under-cover, so the unconditional empirical quantiles of the
        recent residuals are used instead (intercept-only coefficients).
        """
        p = int(self.n_lags)
        recent = hist[-int(self.window) :]
        rows = recent.size - p
        conditional = rows >= 10 * (p + 1)
        if conditional:
            feats = np.lib.stride_tricks.sliding_window_view(recent[:-1], p)
            target = recent[p:]
        coefs = []
        for beta in self._betas(alpha):
            lo_tau = max(beta, 1e-3)
            up_tau = min(1.0 - alpha + beta, 1.0 - 1e-3)
            if conditional:
                lo = linear_quantile_regression(feats, target, lo_tau)
                up = linear_quantile_regression(feats, target, up_tau)
            else:
                lo = np.quantile(recent, [lo_tau], method="lower")
                up = np.quantile(recent, [up_tau], method="higher")
            coefs.append((lo, up))
        return coefs

    def _quantiles(self, coefs: list, hist: np.ndarray) -> tuple[float, float]:
        """The narrowest (lower, upper) residual quantiles given the last residuals."""
        x_new = np.concatenate([[1.0], hist[-int(self.n_lags) :]])
        bounds = np.array([(x_new[: lo.size] @ lo, x_new[: up.size] @ up) for lo, up in coefs])
        best = int(np.argmin(bounds[:, 1] - bounds[:, 0]))
        lo, up = bounds[best]
        return float(min(lo, up)), float(max(lo, up))

    def predict_interval(self, X, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals from the calibration residuals only: each row gets the same
        conditional quantiles (those of the step after the calibration set)."""
        self._ready("predict_interval")
        alpha = check_alpha(alpha)
        index = row_index(X)
        X = check_rows(X)
        pred, _ = self._predict(X)
        lo, up = self._quantiles(self._fit_quantiles(self.residuals_, alpha), self.residuals_)
        return ConformalIntervals(pred, pred + lo, pred + up, alpha, self.method_name, index=index)

    def _online(self, pred, scale, y, test_scores, alpha):
        every = int(self.refit_every)
        hist = np.concatenate([self.residuals_, y - pred])
        m = self.residuals_.size
        lower = np.empty_like(pred)
        upper = np.empty_like(pred)
        coefs = []
        for t in range(pred.size):
            if t % every == 0:
                coefs = self._fit_quantiles(hist[: m + t], alpha)
            lo, up = self._quantiles(coefs, hist[: m + t])
            lower[t], upper[t] = pred[t] + lo, pred[t] + up
        return lower, upper, None
