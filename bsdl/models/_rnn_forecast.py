"""Prediction side of :class:`~bsdl.models.rnn.SparseRNN` (layer L4): placing a series on
the training time grid, one-step predictions along it and recursive forecasts beyond it.

:class:`RecurrentForecastMixin` holds the steps that turn a fitted network and its training
series into lag windows, network outputs and delta-method variances on the standardised
scale; the public ``predict`` / ``predict_interval`` of the estimator put them on the
original scale.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import torch

from bsdl._series import TimeIndex, check_exog, check_series
from bsdl.intervals import delta_variance
from bsdl.models._windows import forecast_jacobians, lag_windows, last_steps

__all__ = ["RecurrentForecastMixin"]


class RecurrentForecastMixin:
    """Alignment, one-step predictions and recursive forecasts of a fitted SparseRNN.

    Expects the estimator's fitted state: ``module_``, ``n_obs_``, ``missing``, the
    training series ``_y`` / ``_x``, ``_index_json``, ``_k`` (lags, window),
    ``_scaled``, ``_delta_var``, ``_selected_index`` and ``_covariance``.
    """

    @property
    def _time_index(self) -> TimeIndex:
        return TimeIndex(**json.loads(self._index_json))

    def _check_future_exog(self, exog, steps: int) -> np.ndarray | None:
        if self._x is None:
            if exog is not None:
                raise ValueError("exog was given, but the model was fitted without exog")
            return None
        if exog is None:
            raise ValueError(
                f"the model was fitted with exog: pass exog with the {steps} future row(s)"
            )
        x, _ = check_exog(exog, steps, "exog")
        if x.shape[1] != self._x.shape[1]:
            raise ValueError(f"exog has {x.shape[1]} columns, expected {self._x.shape[1]}")
        return x

    def _align(self, series, exog) -> tuple[np.ndarray, np.ndarray | None, int, int]:
        """Place ``series`` on the training time grid: combined history, its offset."""
        s, ti_s, _ = check_series(series, "series", missing=self.missing)
        train_ti = self._time_index
        offset = 0
        if ti_s is not None:
            if not train_ti.same_frequency(ti_s):
                raise ValueError(
                    f"series has a {ti_s.kind} index with frequency {ti_s.freq!r} (step "
                    f"{ti_s.step}), but the model was fitted on a {train_ti.kind} index with "
                    f"frequency {train_ti.freq!r} (step {train_ti.step})"
                )
            offset = train_ti.position_of(series.index[0])
            if offset is None:
                raise ValueError(
                    f"series starts at {series.index[0]!r}, which is not on the training "
                    "data's time grid"
                )
        n_train = self.n_obs_
        if offset < 0 or offset > n_train:
            raise ValueError(
                f"series must contain or continue the training data: it starts at position "
                f"{offset} of the training grid, outside 0..{n_train} (0 = first training "
                f"point, {n_train} = the point right after the last)"
            )
        y = np.concatenate([self._y[:offset], s])
        x = None
        if self._x is not None:
            if exog is None:
                raise ValueError("the model was fitted with exog: pass exog aligned with series")
            xs, _ = check_exog(
                exog,
                s.size,
                "exog",
                index=series.index if isinstance(series, pd.Series) else None,
                missing=self.missing,
            )
            x = np.concatenate([self._x[:offset], xs])
        elif exog is not None:
            raise ValueError("exog was given, but the model was fitted without exog")
        return y, x, offset, s.size

    def _one_step(self, series, exog, *, with_var: bool):
        lags, window = self._k
        y, x, offset, m = self._align(series, exog)
        first = max(offset, lags + window - 1)
        stop = offset + m
        if first >= stop:
            raise ValueError(
                f"series is too short: one-step predictions need lags + window - 1 = "
                f"{lags + window - 1} earlier observations (combined with the training data)"
            )
        z, xz = self._scaled(y, x)
        ends = torch.arange(first, stop, device=z.device)
        inputs = lag_windows(z, xz, lags, window, ends)
        with torch.no_grad():
            mean = self.module_(inputs)[:, -1].cpu().numpy().astype(np.float64)
        var = self._delta_var(inputs, partial(last_steps, count=1))[:, 0] if with_var else None
        return mean, var, self._time_index.labels(first, stop)

    def _forecast(self, steps: int, exog, *, with_var: bool):
        lags, window = self._k
        x_future = self._check_future_exog(exog, steps)
        x = None if self._x is None else np.concatenate([self._x, x_future])
        z, xz = self._scaled(self._y, x)
        index = self._selected_index if self._covariance is not None else {}
        mean, jac_theta, jac_shock = forecast_jacobians(
            self.module_, index, z, xz, lags, window, steps
        )
        mean = mean.cpu().numpy().astype(np.float64)
        conf = np.zeros(steps)
        if self._covariance is not None and with_var:
            cov = self._covariance.to(jac_theta.device)
            conf = delta_variance(jac_theta.unsqueeze(1), cov).cpu().numpy()[:, 0]
        # innovations fed back through the recursion (MA(infinity)-type weights)
        propagated = jac_shock.double().pow(2).sum(dim=1).cpu().numpy()
        labels = self._time_index.labels(self.n_obs_, self.n_obs_ + steps)
        return mean, conf, propagated, labels
