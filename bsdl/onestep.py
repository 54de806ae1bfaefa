"""A series forecaster seen as a regressor on time positions (layer L5).

:class:`OneStepForecaster` lets the conformal wrappers of :mod:`bsdl.conformal` (which
take any ``fit(X, y)`` / ``predict(X)`` model) use bsdl's sequence forecasters
(:class:`~bsdl.SparseRNN`, :class:`~bsdl.SparseTransformer`): the rows ``X`` are time
positions in one series. :func:`bsdl.compare.compare_intervals` builds every
model-based method on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone

from bsdl._validation import check_alpha
from bsdl.results import PredictionIntervals

__all__ = ["OneStepForecaster"]


class OneStepForecaster:
    """A series forecaster seen as a regressor on time positions, for conformal wrappers.

    ``X`` holds integer positions in ``series``. ``fit(X, y)`` fits a copy of ``model``
    (e.g. :class:`~bsdl.SparseRNN`) to the values ``y`` in the order given (a
    block-bootstrap sample is a concatenation of blocks); ``predict(X)`` and
    ``predict_interval(X)`` are the one-step-ahead forecasts at those positions from
    the observed past of ``series``, without refitting.

    Parameters
    ----------
    model : SparseRNN, SparseTransformer or any model with ``fit(series)``,
        ``predict(series=)``, ``predict_interval(series=, alpha=)`` and the attributes
        ``lags`` and ``window``
    series : array-like of shape (n,)
        The whole observed series (training, calibration and test spans).

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl import SparseRNN
    >>> from bsdl.onestep import OneStepForecaster
    >>> y = np.sin(np.arange(120) / 3.0)
    >>> f = OneStepForecaster(SparseRNN(lags=3, window=4, n_epochs=20, random_state=0), y)
    >>> f = f.fit(np.arange(80), y[:80])
    >>> f.predict(np.array([100, 101])).shape
    (2,)
    """

    def __init__(self, model, series) -> None:
        self.model = model
        self.series = series

    def get_params(self, deep: bool = False) -> dict:
        return {"model": self.model, "series": self.series}

    def fit(self, X, y):
        pos = np.asarray(X).reshape(-1).astype(np.int64)
        self._y = np.asarray(self.series, dtype=float).reshape(-1)
        self.model_ = clone(self.model).fit(np.asarray(y, dtype=float))
        # fitted on the series' own prefix (not a bootstrap sample): the model's history is
        # the true past, so forecasts can start at the first requested position
        self._prefix = bool(np.array_equal(pos, np.arange(pos.size)))
        return self

    def _positions(self, X) -> np.ndarray:
        pos = np.asarray(X).reshape(-1).astype(np.int64)
        lags, window = int(self.model_.lags_), int(self.model_.window_)
        first = lags + window - 1
        if pos.size == 0:
            raise ValueError("X holds no positions")
        if pos.min() < first or pos.max() >= self._y.size:
            raise ValueError(
                f"positions must lie in [{first}, {self._y.size}) (one-step forecasts need "
                f"lags + window - 1 = {first} earlier values), got {pos.min()}..{pos.max()}"
            )
        return pos

    def _along(self, pos: np.ndarray):
        """The series handed to the model (starting as late as its history allows) and
        the position of its first one-step forecast."""
        stop = int(pos.max()) + 1
        if self._prefix:
            lo = int(min(pos.min(), self.model_.n_obs_))
            return pd.Series(self._y[lo:stop], index=pd.RangeIndex(lo, stop))
        return self._y[:stop]

    def predict(self, X) -> np.ndarray:
        pos = self._positions(X)
        path = self.model_.predict(series=self._along(pos)).to_numpy()
        return path[pos - (int(pos.max()) + 1 - path.size)]

    def predict_interval(self, X, alpha: float = 0.05) -> PredictionIntervals:
        """The model's one-step prediction intervals at the positions ``X`` (the index).

        The rows of the model's :class:`~bsdl.results.PredictionIntervals` at those
        positions, with its settings (critical value, link, bounds); a model that
        returns another object with ``mean`` and ``se`` gets normal intervals.
        """
        alpha = check_alpha(alpha)
        pos = self._positions(X)
        pi = self.model_.predict_interval(series=self._along(pos), alpha=alpha)
        mean, se = np.asarray(pi.mean, dtype=float), np.asarray(pi.se, dtype=float)
        idx = pos - (int(pos.max()) + 1 - mean.size)
        opts = {}
        if isinstance(pi, PredictionIntervals):
            opts = dict(bounds=pi.bounds, kind=pi.kind, df=pi.df, link=pi.link)
        return PredictionIntervals(mean[idx], se[idx], alpha, index=pos, **opts)
