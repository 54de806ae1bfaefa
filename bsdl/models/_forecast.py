"""Prediction side of the sequence forecasters (layer L4): placing a series on the training
time grid, one-step predictions along it and recursive forecasts beyond it.

:class:`SequenceForecastMixin` is the prediction half of
:class:`~bsdl.models.sequence.SequenceForecaster`: it turns a fitted network and its training
series into lag windows, network outputs and delta-method variances on the standardised
scale, and gives the public ``predict`` / ``predict_interval``, which put them on the
original scale. Nothing in it depends on the network.
"""

from __future__ import annotations

import json
from functools import partial

import numpy as np
import pandas as pd
import torch

from bsdl._series import TimeIndex, check_exog, check_series, default_exog_names
from bsdl._validation import check_alpha, check_in_options, check_is_fitted, check_positive_int
from bsdl.intervals import delta_variance
from bsdl.models._windows import forecast_jacobians, forecast_path, lag_windows, last_steps
from bsdl.results import PredictionIntervals
from bsdl.results.posterior import PosteriorIntervals

__all__ = ["SequenceForecastMixin"]


class SequenceForecastMixin:
    """Alignment, one-step predictions and recursive forecasts of a fitted sequence forecaster.

    Reads the state that :meth:`SequenceForecaster.fit
    <bsdl.models.sequence.SequenceForecaster.fit>` stores: the network ``module_``, the
    fitted structure (``n_obs_``, ``lags_``, ``window_``, ``missing_``), the training series
    (``_y``, ``_x``, ``_index_json``, ``exog_names_``), its scaling (``y_mean_``,
    ``y_scale_``, ``_scaled``) and the delta-method state of
    :class:`~bsdl.models.base.SparseEstimatorBase` (``_covariance``, ``_selected_index``,
    ``_delta_var``, ``_sigma_std``).
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
        index = None
        if isinstance(exog, pd.Series | pd.DataFrame):
            labels = self._time_index.labels(self.n_obs_, self.n_obs_ + steps)
            # a pandas exog must sit on the forecast dates; a default 0..steps-1 index is
            # accepted for series labelled by position (arrays, RangeIndex)
            default = pd.RangeIndex(steps)
            positional = self._time_index.kind == "range" and exog.index.equals(default)
            index = None if positional else labels
        x, names = check_exog(exog, steps, "exog", index=index, missing=self.missing_)
        self._check_exog_columns(exog, x, names)
        return x

    def _check_exog_columns(self, exog, x: np.ndarray, names: list[str]) -> None:
        """``exog`` must have the fitted number of columns, and a DataFrame their names."""
        if x.shape[1] != self._x.shape[1]:
            raise ValueError(f"exog has {x.shape[1]} columns, expected {self._x.shape[1]}")
        fitted = [str(c) for c in self.exog_names_]
        if fitted == default_exog_names(len(fitted)):
            return  # fitted on an array: columns are matched by position
        if isinstance(exog, pd.DataFrame) and names != fitted:
            raise ValueError(
                f"exog has columns {names}, but the model was fitted with exog columns "
                f"{fitted} (same names in the same order)"
            )

    def _align(self, series, exog) -> tuple[np.ndarray, np.ndarray | None, int, int]:
        """Place ``series`` on the training time grid: combined history, its offset."""
        train_ti = self._time_index
        hint = train_ti.freq if train_ti.kind == "datetime" else None
        s, ti_s, _ = check_series(series, "series", missing=self.missing_, freq=hint)
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
            xs, names = check_exog(
                exog,
                s.size,
                "exog",
                index=series.index if isinstance(series, pd.Series) else None,
                missing=self.missing_,
            )
            self._check_exog_columns(exog, xs, names)
            x = np.concatenate([self._x[:offset], xs])
        elif exog is not None:
            raise ValueError("exog was given, but the model was fitted without exog")
        return y, x, offset, s.size

    def _one_step(self, series, exog, *, with_var: bool, with_noise: bool = False):
        lags, window = self.lags_, self.window_
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
        labels = self._time_index.labels(first, stop)
        if with_noise:  # the innovation variance of each step (constant or conditional)
            return mean, var, self._noise_along(z, xz, first, stop), labels
        return mean, var, labels

    def _forecast(self, steps: int, exog, *, with_var: bool):
        lags, window = self.lags_, self.window_
        x_future = self._check_future_exog(exog, steps)
        x = None if self._x is None else np.concatenate([self._x, x_future])
        z, xz = self._scaled(self._y, x)
        index = self._selected_index if self._covariance is not None else {}
        mean, jac_theta, jac_shock = forecast_jacobians(
            self.module_, index, z, xz, lags, window, steps, jacobians=with_var
        )
        mean = mean.cpu().numpy().astype(np.float64)
        conf = np.zeros(steps)
        noise = np.zeros(steps)
        labels = self._time_index.labels(self.n_obs_, self.n_obs_ + steps)
        if not with_var:  # point forecasts only: no Jacobian is computed
            return mean, conf, noise, labels
        if self._covariance is not None:
            cov = self._covariance.to(jac_theta.device)
            conf = delta_variance(jac_theta.unsqueeze(1), cov).cpu().numpy()[:, 0]
        # each horizon's own innovation plus the earlier ones fed back through the
        # recursion (MA(infinity)-type weights psi_hj = d forecast_h / d shock_j), each
        # with its (constant or forecast conditional) variance
        s2 = self._noise_ahead(z[: self.n_obs_], xz, steps)
        psi2 = jac_shock.double().pow(2).cpu().numpy()
        noise = s2 + psi2 @ s2
        return mean, conf, noise, labels

    # ---------------------------------------------------------------- posterior draws
    def _public_inclusion(self, freq: np.ndarray) -> None:
        """Per lag ``1..lags`` (and per regressor lag with ``exog``), as the probabilities."""
        lags = self.lags_
        self.inclusion_frequencies_ = freq[:lags]
        names = list(getattr(self, "exog_names_", []))
        if names:
            self.exog_inclusion_frequencies_ = freq[lags:].reshape(len(names), lags)

    def _predictive_samples(self, steps: int = 1, *, series=None, exog=None) -> np.ndarray:
        """Posterior-predictive draws on the original scale, ``(S, rows)``: one-step along
        ``series``, or one simulated path of ``steps`` per weight draw (each draw's own
        innovations fed back through the recursion)."""
        return self._posterior_paths(steps, series, exog)[0]

    def _posterior_paths(self, steps, series, exog):
        self._check_posterior("posterior predictive draws")
        steps = self._check_predict_args(steps, series, "predict_interval")
        sigma = self.posterior_.pooled("sigma") / self.y_scale_  # standardised scale
        rng = self._noise_rng()
        lags, window = self.lags_, self.window_
        if series is not None:
            y, x, offset, m = self._align(series, exog)
            first = max(offset, lags + window - 1)
            if first >= offset + m:
                raise ValueError(
                    f"series is too short: one-step predictions need lags + window - 1 = "
                    f"{lags + window - 1} earlier observations (combined with the training data)"
                )
            z, xz = self._scaled(y, x)
            ends = torch.arange(first, offset + m, device=z.device)
            inputs = lag_windows(z, xz, lags, window, ends)
            mean = self._network_draws(lambda net: net(inputs)[:, -1].double().cpu().numpy())
            out = mean + rng.standard_normal(mean.shape) * sigma[:, None]
            labels = self._time_index.labels(first, offset + m)
        else:
            x_future = self._check_future_exog(exog, steps)
            x = None if self._x is None else np.concatenate([self._x, x_future])
            z, xz = self._scaled(self._y, x)
            shocks = rng.standard_normal((len(sigma), steps)) * sigma[:, None]
            it = iter(torch.as_tensor(shocks, dtype=z.dtype, device=z.device))

            def path(net):
                shock = next(it)
                preds = forecast_path(net, z, xz, lags, window, steps, shock)
                return (preds + shock).double().cpu().numpy()

            out = self._network_draws(path)
            labels = self._time_index.labels(self.n_obs_, self.n_obs_ + steps)
        return out * self.y_scale_ + self.y_mean_, labels

    # ---------------------------------------------------------------- public
    def _check_predict_args(self, steps, series, method: str) -> int:
        check_is_fitted(self, "module_", method=method)
        steps = check_positive_int(steps, "steps")
        if series is not None and steps != 1:
            raise ValueError(
                "steps must be 1 when series= is given: series= asks for one-step-ahead "
                "predictions along the series"
            )
        return steps

    def predict(self, steps: int = 1, *, series=None, exog=None) -> pd.Series:
        """Point forecasts on the original scale.

        Parameters
        ----------
        steps : int, default 1
            ``predict(steps=h)``: the recursive forecasts for the ``h`` times after the
            training data (plug-in path: each forecast is fed back as the next lag).
        series : array-like or pandas Series, optional
            ``predict(series=S)``: one-step-ahead predictions along ``S`` from its
            observed past, without refitting (see :meth:`predict_interval`).
        exog : array-like or DataFrame, optional
            With a model fitted on ``exog``: the ``steps`` future rows, or the rows
            aligned with ``series``.

        Returns
        -------
        pandas.Series
            Named ``"mean"``, indexed by the forecast times (continuing the training
            index) or by the times of ``series`` that have a prediction.
        """
        steps = self._check_predict_args(steps, series, "predict")
        with torch.no_grad():
            if series is not None:
                mean, _, labels = self._one_step(series, exog, with_var=False)
            else:
                mean, _, _, labels = self._forecast(steps, exog, with_var=False)
        return pd.Series(mean * self.y_scale_ + self.y_mean_, index=labels, name="mean")

    def predict_interval(
        self,
        steps: int = 1,
        alpha: float = 0.05,
        *,
        series=None,
        exog=None,
        joint: bool | None = None,
        kind: str = "prediction",
    ) -> PredictionIntervals:
        """Asymptotic-normal forecast intervals (delta method on the selected weights).

        Parameters
        ----------
        steps : int, default 1
            Horizons ``1..steps`` beyond the training data. The variance of horizon
            ``h`` is ``g_h^T (n I)^{-1} g_h`` (``g_h`` the gradient of the recursive
            ``h``-step forecast in the selected weights) plus
            ``sigma^2 (1 + sum_j psi_{hj}^2)``, the innovations propagated through the
            recursion (``psi`` = derivative of the forecast path in earlier shocks). With
            ``noise="heteroscedastic"`` each innovation has its forecast conditional
            variance instead: ``s2_h + sum_j psi_{hj}^2 s2_j``; one-step intervals along
            ``series`` use the predicted conditional variance of each step.
        alpha : float, default 0.05
            Significance level (0.05: 95 % intervals).
        series : array-like or pandas Series, optional
            One-step-ahead intervals along ``series`` from its observed past; no refit.
            A pandas Series is placed on the training time grid by its index (same
            frequency); it may contain the training series or start anywhere inside it
            or right after it, and training values fill the past before its first
            label. An array or list carries no labels: it is placed at the first
            training point (its labels are the training index from there on) and its
            predictions use its own values only. Pass the whole history (e.g.
            ``np.concatenate([train, new])``), not a held-out tail alone, which would
            be labelled as if it began with the training data. The first
            ``lags + window - 1`` points of the combined history get no prediction.
        exog : array-like or DataFrame, optional
            Future regressors (``steps`` rows; a DataFrame indexed by the forecast times,
            or by ``0 .. steps-1`` for a positionally labelled series, with the fitted
            columns), or regressors aligned with ``series``.
        joint : bool, optional
            Bonferroni over the rows (``alpha / rows`` each). Default: True for a
            multi-step forecast, False for ``series=``.
        kind : {"prediction", "confidence", "posterior"}, default "prediction"
            "confidence" leaves out the innovation variance: an interval for the
            conditional mean. "posterior" (after ``fit`` with ``method`` "sghmc",
            "sgld" or "nuts"): equal-tailed posterior-predictive quantiles
            (:class:`~bsdl.results.posterior.PosteriorIntervals`), one-step along
            ``series`` as ``f_theta + sigma * eps`` per draw, or ``steps`` ahead from one
            simulated path per draw (its own innovations fed back through the
            recursion); Bonferroni over the horizons as above. The series level (the
            read-out intercept, outside the prior) is estimated with the selected
            weights, so its uncertainty is part of the confidence variance.

        Returns
        -------
        PredictionIntervals
            ``mean``, ``se``, ``lower``, ``upper`` on the original scale; ``to_frame()``
            is indexed by the forecast times or the times of ``series``.

        Raises
        ------
        ValueError
            ``steps`` < 1, ``alpha`` outside (0, 1), an unknown ``kind``, ``series`` on
            another frequency or off the training grid, or ``exog`` that does not match.
        """
        steps = self._check_predict_args(steps, series, "predict_interval")
        alpha = check_alpha(alpha)
        kind = check_in_options(kind, "kind", ("prediction", "confidence", "posterior"))
        if joint is not None and not isinstance(joint, bool | np.bool_):
            raise TypeError(f"joint must be True, False or None, got {joint!r}")
        if kind == "posterior":
            self._check_posterior("predict_interval(kind='posterior')")
            samples, labels = self._posterior_paths(steps, series, exog)
            joint = (series is None) if joint is None else bool(joint)
            return PosteriorIntervals(samples, alpha, index=labels, joint=joint)
        self._check_intervals_defined()
        if series is not None:
            mean, var, noise, labels = self._one_step(series, exog, with_var=True, with_noise=True)
            joint = False if joint is None else bool(joint)
        else:
            mean, var, noise, labels = self._forecast(steps, exog, with_var=True)
            joint = True if joint is None else bool(joint)
        if kind == "prediction":
            var = var + noise
        factor, df = self._interval_form(kind)  # the innovations' quantile (_heteroscedastic)
        return PredictionIntervals(
            mean * self.y_scale_ + self.y_mean_,
            np.sqrt(var) * self.y_scale_ * factor,
            alpha,
            index=labels,
            joint=joint and len(mean) > 1,
            kind=kind,
            df=df,
        )
