"""EnbPI: ensemble batch prediction intervals for time series (Xu & Xie, ICML 2021)."""

from __future__ import annotations

import numpy as np
from joblib import Parallel, delayed

from bsdl._validation import check_alpha, check_positive_int, check_random_state

from ._core import (
    ConformalIntervals,
    check_estimator,
    check_fitted,
    check_rows,
    check_target,
    checked_predictions,
    clone_estimator,
    row_index,
)

__all__ = ["EnbPI", "block_bootstrap"]


def block_bootstrap(n: int, block_length: int, n_resamplings: int, rng=None) -> list[np.ndarray]:
    """Row indices of ``n_resamplings`` non-overlapping block bootstrap samples of ``n`` rows.

    The rows are cut into consecutive blocks of ``block_length`` (the last may be
    shorter); each sample draws blocks with replacement until it holds ``n`` indices
    and keeps the first ``n``, so serial dependence within a block is preserved.
    ``rng`` is a :class:`numpy.random.Generator` or anything ``random_state`` accepts.

    >>> import numpy as np
    >>> from bsdl.conformal import block_bootstrap
    >>> idx = block_bootstrap(10, 5, 2, np.random.default_rng(0))
    >>> [len(i) for i in idx]
    [10, 10]
    """
    n = check_positive_int(n, "n")
    block_length = check_positive_int(block_length, "block_length")
    n_resamplings = check_positive_int(n_resamplings, "n_resamplings")
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(check_random_state(rng))
    starts = np.arange(0, n, block_length)
    out = []
    for _ in range(n_resamplings):
        pieces, total = [], 0
        while total < n:  # the last block may be short: draw until n indices are reached
            s = int(starts[rng.integers(0, starts.size)])
            block = np.arange(s, min(s + block_length, n))
            pieces.append(block)
            total += block.size
        out.append(np.concatenate(pieces)[:n])
    return out


def _fit_one(estimator, X, y, idx):
    return clone_estimator(estimator).fit(X[idx], y[idx])


class EnbPI:
    """Ensemble batch prediction intervals (Xu & Xie, ICML 2021).

    ``fit`` trains ``n_bootstraps`` copies of the estimator on block-bootstrap samples of
    the training rows; the residual of training row i is taken against the mean of the
    models whose sample left i out (leave-one-out, no calibration set is spent). A test
    point gets the mean prediction of all models, and the interval
    ``mean -+ q_{1-alpha}(|residuals|)``. ``predict_online`` reveals each test value
    after its interval and slides the residual window (drop the oldest residual, add the
    new one), which is how EnbPI tracks changing noise without refitting.

    Parameters
    ----------
    estimator : object
        Anything with ``fit(X, y)`` and ``predict(X)``.
    n_bootstraps : int, default 20
        Number of bootstrap models B.
    block_length : int, optional
        Block length of the bootstrap; default ``max(1, round(n ** (1/3)))``.
    symmetric : bool, default True
        Intervals ``mean -+ q`` from absolute residuals. False: asymmetric intervals
        ``[mean + q_beta(e), mean + q_{1-alpha+beta}(e)]`` from signed residuals, with
        ``beta`` in [0, alpha] chosen for the smallest width (the paper's beta search).
    update_every : int, default 1
        In :meth:`predict_online`, slide the residual window every ``update_every`` steps.
    random_state : int, optional
    n_jobs : int, optional
        Bootstrap models fitted in parallel with joblib.

    Attributes
    ----------
    estimators_ : list
        The B fitted models.
    residuals_ : ndarray
        Signed leave-one-out residuals of the training rows that some model left out.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from bsdl.conformal import EnbPI
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2)); y = X @ [1.0, -1.0] + rng.normal(size=500)
    >>> e = EnbPI(LinearRegression(), n_bootstraps=10, random_state=0).fit(X[:300], y[:300])
    >>> pi = e.predict_online(X[300:], y[300:], alpha=0.1)
    >>> bool(0.85 < pi.coverage(y[300:]) < 0.95)
    True
    """

    method_name = "EnbPI"

    def __init__(
        self,
        estimator,
        *,
        n_bootstraps: int = 20,
        block_length: int | None = None,
        symmetric: bool = True,
        update_every: int = 1,
        random_state=None,
        n_jobs: int | None = None,
    ) -> None:
        self.estimator = estimator
        self.n_bootstraps = n_bootstraps
        self.block_length = block_length
        self.symmetric = symmetric
        self.update_every = update_every
        self.random_state = random_state
        self.n_jobs = n_jobs

    def fit(self, X, y):
        """Fit the bootstrap ensemble and compute the leave-one-out residuals."""
        check_estimator(self.estimator)
        b = check_positive_int(self.n_bootstraps, "n_bootstraps", minimum=2)
        check_positive_int(self.update_every, "update_every")
        X = check_rows(X)
        y = check_target(y, len(X))
        n = len(X)
        if n < 4:
            raise ValueError(f"X has {n} rows; EnbPI needs at least 4 training rows")
        if self.block_length is None:
            length = max(1, round(n ** (1.0 / 3.0)))
        else:
            length = check_positive_int(self.block_length, "block_length")
            if length >= n:
                raise ValueError(f"block_length must be < the {n} training rows, got {length}")
        rng = np.random.default_rng(check_random_state(self.random_state))
        samples = block_bootstrap(n, length, b, rng)
        self.estimators_ = Parallel(n_jobs=self.n_jobs)(
            delayed(_fit_one)(self.estimator, X, y, idx) for idx in samples
        )
        preds = np.stack([checked_predictions(est, X) for est in self.estimators_])
        left_out = np.ones((b, n), dtype=bool)
        for k, idx in enumerate(samples):
            left_out[k, idx] = False
        counts = left_out.sum(axis=0)
        keep = counts > 0
        if keep.sum() < 2:
            raise ValueError(
                "too few training rows were left out of any bootstrap sample; increase n_bootstraps"
            )
        loo = (preds * left_out).sum(axis=0)[keep] / counts[keep]
        self.residuals_ = y[keep] - loo
        self.block_length_ = int(length)
        self.n_left_out_ = int(keep.sum())
        return self

    def predict(self, X) -> np.ndarray:
        """Ensemble mean prediction."""
        check_fitted(self, "estimators_", "predict", "fit(X, y)")
        X = check_rows(X)
        return np.mean([checked_predictions(est, X) for est in self.estimators_], axis=0)

    def _bounds(self, residuals: np.ndarray, alpha: float) -> tuple[float, float]:
        if self.symmetric:
            q = float(np.quantile(np.abs(residuals), 1.0 - alpha, method="higher"))
            return -q, q
        betas = np.linspace(0.0, alpha, 21)
        lo = np.quantile(residuals, betas, method="lower")
        up = np.quantile(residuals, 1.0 - alpha + betas, method="higher")
        best = int(np.argmin(up - lo))
        return float(lo[best]), float(up[best])

    def predict_interval(self, X, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals from the training residuals (no online update)."""
        alpha = check_alpha(alpha)
        mean = self.predict(X)
        lo, up = self._bounds(self.residuals_, alpha)
        return ConformalIntervals(
            mean, mean + lo, mean + up, alpha, self.method_name, index=row_index(X)
        )

    def predict_online(self, X, y, alpha: float = 0.1) -> ConformalIntervals:
        """Intervals along a test span in time order; ``y[t]`` is revealed after interval t
        and its residual enters the sliding window (the fitted state is not changed)."""
        alpha = check_alpha(alpha)
        mean = self.predict(X)
        y = check_target(y, mean.size)
        every = check_positive_int(self.update_every, "update_every")
        window = self.residuals_.copy()
        m = window.size
        hist = np.concatenate([window, y - mean])
        lower = np.empty_like(mean)
        upper = np.empty_like(mean)
        start = 0  # test residuals admitted so far
        lo, up = self._bounds(window, alpha)
        for t in range(mean.size):
            if t - start >= every:
                start = t
                lo, up = self._bounds(hist[start : start + m], alpha)
            lower[t], upper[t] = mean[t] + lo, mean[t] + up
        return ConformalIntervals(mean, lower, upper, alpha, self.method_name, index=row_index(X))

    def __repr__(self) -> str:
        return f"EnbPI(estimator={self.estimator!r}, n_bootstraps={self.n_bootstraps})"
