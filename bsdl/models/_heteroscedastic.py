"""``noise="heteroscedastic"`` for the sequence forecasters: the estimator's side (layer L4).

:class:`HeteroscedasticMixin` fits the conditional-variance recursion of
:mod:`bsdl.models._noise` to the innovations of the fitted mean, stores it under
trailing-underscore attributes, turns the mean's delta-method covariance into its
heteroscedastic (sandwich) form, and gives the innovation variances that the one-step and
recursive intervals use. With ``noise="constant"`` (the default) none of it runs and the
intervals use the constant ``sigma_``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import StrOptions

from bsdl._validation import check_in_options, check_is_fitted
from bsdl.intervals import per_sample_jacobian
from bsdl.models._noise import (
    INNOVATION_OPTIONS,
    NOISE,
    VarianceModel,
    fit_t_df,
    fit_variance,
    forecast_variance,
    variance_log_likelihood,
    variance_path,
)
from bsdl.models._windows import lag_windows

__all__ = [
    "HeteroscedasticMixin",
    "NOISE_CONSTRAINTS",
    "NOISE_PARAMETER_DOC",
    "NOISE_ATTRIBUTES_DOC",
]

#: The ``noise`` and ``innovations`` arguments' constraints, for a forecaster that offers
#: them (SparseRNN, SparseTransformer: with the docstring lines ``{noise parameter}`` and
#: ``{noise attributes}``); a forecaster without them has constant normal noise.
NOISE_CONSTRAINTS: dict = {
    "noise": [StrOptions(set(NOISE))],
    "innovations": [StrOptions(set(INNOVATION_OPTIONS))],
}

NOISE_PARAMETER_DOC = """\
noise : {"constant", "heteroscedastic"}, default "constant"
    The innovation variance. ``"constant"``: one variance (``sigma_``).
    ``"heteroscedastic"``: after the mean is fitted, its innovations get a sparse
    GJR-GARCH(``lags``, 1) conditional variance on the same lag window (squared
    innovations and their negative part at lags ``1..lags``, a persistence term), fitted
    by the likelihood of ``innovations`` with the mean's spike-and-slab prior on the square
    roots of its coefficients beyond the GARCH(1, 1) core (pruned at the prior's threshold,
    then by the extended BIC with ``prune="bic"``).
    One-step intervals use the predicted conditional variance, ``steps``-ahead intervals
    its forecast recursion; the mean's covariance becomes the sandwich form. Needs
    ``method="map"``.
innovations : {"auto", "normal", "t"}, default "auto"
    The distribution of the standardised innovations (innovation over its sd), which
    gives the prediction intervals' critical values. ``"auto"``: ``"t"`` with
    ``noise="heteroscedastic"``, ``"normal"`` with constant noise (``innovations_`` holds
    the choice). ``"normal"``: Student-t with the
    residual degrees of freedom ``df_resid_`` (about normal). ``"t"``: a unit-variance
    Student-t whose degrees of freedom ``nu > 2`` are estimated by maximum likelihood
    (``innovation_df_``): with ``noise="heteroscedastic"`` jointly with the variance
    recursion, which is then fitted by the Student-t likelihood; with constant noise on
    the residuals over ``sigma_``. The interval is then ``mean -+ t_nu(1 - alpha/2)
    sqrt((nu - 2) / nu) sd`` (``se`` holds ``sqrt((nu - 2) / nu) sd``, the scale of the t).
    The mean's fit does not depend on it."""

NOISE_ATTRIBUTES_DOC = """\
noise_ : str
    The fitted noise model.
variance_selected_lags_ : ndarray of int
    With ``noise="heteroscedastic"``: lags whose squared innovation (or its negative
    part) enters the conditional variance (lag 1, the GARCH(1, 1) core, unless its
    fitted coefficient is 0).
variance_inclusion_probabilities_ : ndarray of shape (lags,)
    Per lag, the largest inclusion probability of its two variance weights at the MAP
    fit (before pruning); 1 at lag 1, whose symmetric term (the GARCH(1, 1) core) is
    outside the prior and always kept.
variance_arch_, variance_asym_ : ndarray of shape (lags,)
    Coefficients of the squared innovations and of their negative part, per lag
    (standardised scale; 0 where pruned).
variance_omega_, variance_beta_, variance_backcast_ : float
    Level (standardised scale), persistence and pre-sample variance of the recursion.
variance_persistence_ : float
    ``beta + sum(arch) + sum(asym) / 2``.
variance_bic_ : float
    BIC of the variance model on the innovations (plain BIC; the search uses the extended
    BIC, docs/CONVENTIONS.md).
innovations_ : str
    The fitted innovation distribution, ``"normal"`` or ``"t"``.
innovation_df_ : float or None
    With ``innovations_ == "t"``: the estimated degrees of freedom ``nu``."""


class HeteroscedasticMixin:
    """The noise model of a :class:`~bsdl.models.sequence.SequenceForecaster`."""

    # ---------------------------------------------------------------- checks
    def _check_noise(self) -> str:
        # a forecaster without the argument (a user's own subclass) has constant noise
        noise = check_in_options(getattr(self, "noise", "constant"), "noise", list(NOISE))
        method = getattr(self, "method", "map")
        if noise == "heteroscedastic" and method != "map":
            raise ValueError(
                f"noise='heteroscedastic' needs method='map' (got method={method!r}): "
                "posterior draws with a conditional variance are not implemented"
            )
        check_in_options(
            getattr(self, "innovations", "auto"), "innovations", list(INNOVATION_OPTIONS)
        )
        return noise

    @staticmethod
    def _check_noise_data(y: np.ndarray) -> None:
        if not np.ptp(y) > 0:
            raise ValueError(
                "noise='heteroscedastic' needs a series that varies: this one is constant, "
                "so its innovations have no variance to model (use noise='constant')"
            )

    @property
    def _heteroscedastic(self) -> bool:
        return getattr(self, "noise_", "constant") == "heteroscedastic"

    # ---------------------------------------------------------------- the fit
    def _residuals(self, z: torch.Tensor, xz: torch.Tensor | None) -> np.ndarray:
        """Standardised one-step innovations at positions ``lags + window - 1 .. n - 1``."""
        first = self.lags_ + self.window_ - 1
        ends = torch.arange(first, z.shape[0], device=z.device)
        with torch.no_grad():
            mean = self.module_(lag_windows(z, xz, self.lags_, self.window_, ends))[:, -1]
        return (z[first:] - mean).double().cpu().numpy()

    def _fit_noise(self, z, xz, inputs: torch.Tensor, ends: torch.Tensor) -> None:
        """Fit the innovations' distribution: with ``noise="heteroscedastic"`` the variance
        recursion on the training innovations and the sandwich covariance; with constant
        noise and ``innovations="t"`` the degrees of freedom of the residuals over ``sigma``."""
        innovations = str(getattr(self, "innovations", "auto"))
        if innovations == "auto":  # docs/CONVENTIONS.md: fat tails where the variance moves
            innovations = "t" if self._heteroscedastic else "normal"
        self.innovations_ = innovations
        self.innovation_df_ = None
        if not self._heteroscedastic:
            if self.innovations_ == "t":
                e = self._residuals(z, xz)
                self.innovation_df_ = fit_t_df(e / self._sigma_std)
            return
        e = self._residuals(z, xz)
        if not np.any(np.abs(e) > 1e-12):
            raise ValueError(
                "noise='heteroscedastic': the fitted mean reproduces the series exactly, so "
                "its innovations have no variance to model (use noise='constant')"
            )
        model = fit_variance(
            e, self.lags_, self.prior_, prune=self.prune, innovations=self.innovations_
        )
        self.innovation_df_ = model.nu
        lags = np.arange(1, self.lags_ + 1)
        self.variance_arch_ = np.asarray(model.arch, dtype=float)
        self.variance_asym_ = np.asarray(model.asym, dtype=float)
        self.variance_omega_ = float(model.omega)
        self.variance_beta_ = float(model.beta)
        self.variance_backcast_ = float(model.backcast)
        self.variance_persistence_ = model.persistence
        self.variance_inclusion_probabilities_ = model.inclusion.max(axis=0)
        self.variance_selected_lags_ = lags[(model.arch > 0) | (model.asym > 0)]
        k = int(np.count_nonzero(model.arch) + np.count_nonzero(model.asym)) + 2
        k += model.nu is not None
        self.variance_bic_ = float(
            -2 * variance_log_likelihood(model, e.size)
            + 2 * e.size * np.log(self.y_scale_)
            + k * np.log(e.size)
        )
        self._sandwich(inputs, ends, variance_path(model, e))

    def _sandwich(self, inputs: torch.Tensor, ends: torch.Tensor, s2: np.ndarray) -> None:
        """``A^+ (sum_i s2_i J_i^T J_i) A^+`` with ``A = sum_i J_i^T J_i`` over the scored
        points (``A^+ = covariance / sigma^2`` of the constant-noise fit), scaled by
        ``n / (n - k)`` as the constant-noise covariance is."""
        if self._covariance is None:
            return
        count = self.window_ - self.burn_in_
        jac = per_sample_jacobian(
            self.module_, inputs, self._selected_index, output_fn=self._output_fn()
        )
        jac = jac.reshape(-1, jac.shape[-1]).double()
        first = self.lags_ + self.window_ - 1
        steps = torch.arange(count, device=ends.device)
        times = (ends.reshape(-1, 1) - (count - 1) + steps).reshape(-1).cpu().numpy()
        weights = torch.as_tensor(s2[times - first], dtype=torch.float64, device=jac.device)
        pinv = self._covariance.double() / self._sigma_std**2
        meat = jac.T @ (jac * weights.reshape(-1, 1))
        scale = self.n_scored_ / max(self.df_resid_, 1)
        self._covariance = (pinv @ meat @ pinv * scale).to(self._covariance.dtype)

    # ---------------------------------------------------------------- prediction
    @property
    def _variance_model(self) -> VarianceModel:
        return VarianceModel(
            omega=self.variance_omega_,
            beta=self.variance_beta_,
            arch=np.asarray(self.variance_arch_, dtype=float),
            asym=np.asarray(self.variance_asym_, dtype=float),
            backcast=self.variance_backcast_,
            inclusion=np.empty((2, 0)),
            mean_nll=float("nan"),
            nu=getattr(self, "innovation_df_", None),
        )

    def _interval_form(self, kind: str) -> tuple[float, float | None]:
        """``(factor, df)`` of the intervals ``mean -+ t_df(1 - alpha/2) factor sd``.

        Prediction intervals with Student-t innovations: ``df = nu`` and ``factor =
        sqrt((nu - 2) / nu)`` (a unit-variance t's quantile). The predictive error is the
        mean's estimation error plus the innovation, so its variance ``Var f + s2`` is exact;
        taking its quantile as the innovation's, scaled to that variance, is exact when
        ``Var f = 0`` and off by a term of order ``Var f / s2`` (``O(k / n)``) otherwise.
        Else (normal innovations, or a confidence interval for the mean): ``(1, df_resid_)``.
        """
        nu = getattr(self, "innovation_df_", None)
        if kind == "prediction" and nu is not None:
            return float(np.sqrt((nu - 2.0) / nu)), float(nu)
        return 1.0, self._interval_df()

    def _noise_along(self, z, xz, first: int, stop: int) -> np.ndarray:
        """Innovation variances (standardised scale) at positions ``first .. stop - 1`` of
        the history ``z``, or the constant one."""
        if not self._heteroscedastic:
            return np.full(stop - first, self._sigma_std**2)
        e = self._residuals(z[:stop], None if xz is None else xz[:stop])
        s2 = variance_path(self._variance_model, e)[:-1]
        return s2[first - (self.lags_ + self.window_ - 1) :]

    def _noise_ahead(self, z, xz, steps: int) -> np.ndarray:
        """Innovation variances of the ``steps`` times after the history ``z``."""
        if not self._heteroscedastic:
            return np.full(steps, self._sigma_std**2)
        n = z.shape[0]
        e = self._residuals(z, None if xz is None else xz[:n])
        return forecast_variance(self._variance_model, e, steps)

    def conditional_sd(self, series=None, *, exog=None) -> pd.Series:
        """Fitted innovation sd on the original scale, one value per one-step prediction.

        Parameters
        ----------
        series : array-like or pandas Series, optional
            As ``predict_interval(series=)``; default the training series.
        exog : array-like or DataFrame, optional
            Regressors aligned with ``series``.

        Returns
        -------
        pandas.Series
            Named ``"sd"``: the conditional sd with ``noise="heteroscedastic"`` (the
            predicted variance before each value is revealed), ``sigma_`` at every time
            with ``noise="constant"``.

        Examples
        --------
        >>> import numpy as np
        >>> from bsdl import SparseRNN
        >>> y = np.random.default_rng(0).standard_normal(300) * np.repeat([1.0, 3.0], 150)
        >>> r = SparseRNN(lags=3, window=4, n_epochs=20, noise="heteroscedastic",
        ...               random_state=0).fit(y)
        >>> sd = r.conditional_sd()
        >>> bool(sd.iloc[-50:].mean() > sd.iloc[:50].mean())
        True
        """
        check_is_fitted(self, "module_", method="conditional_sd")
        series = self._y if series is None else series
        if exog is None and series is self._y:
            exog = self._x
        y, x, offset, m = self._align(series, exog)
        first = max(offset, self.lags_ + self.window_ - 1)
        stop = offset + m
        if first >= stop:
            raise ValueError(
                f"series is too short: one-step predictions need lags + window - 1 = "
                f"{self.lags_ + self.window_ - 1} earlier observations"
            )
        z, xz = self._scaled(y, x)
        s2 = self._noise_along(z, xz, first, stop)
        labels = self._time_index.labels(first, stop)
        return pd.Series(np.sqrt(s2) * self.y_scale_, index=labels, name="sd")

    # ---------------------------------------------------------------- reporting
    def _noise_rows(self) -> list[tuple[str, object]]:
        nu = getattr(self, "innovation_df_", None)
        dist = [("Innovations:", "normal" if nu is None else f"Student-t, nu {nu:.2f}")]
        if not self._heteroscedastic:
            return [("Noise:", "constant"), *dist]
        lags = ", ".join(map(str, self.variance_selected_lags_)) or "none"
        return [
            ("Noise:", "heteroscedastic (GJR-GARCH)"),
            *dist,
            ("Variance lags:", lags),
            ("Variance persistence:", f"{self.variance_persistence_:.3f}"),
        ]

    def _noise_table(self) -> pd.DataFrame | None:
        if not self._heteroscedastic:
            return None
        lag_ids = np.arange(1, self.lags_ + 1)
        return pd.DataFrame(
            {
                "e^2 coef.": self.variance_arch_,
                "e^2 [e<0] coef.": self.variance_asym_,
                "inclusion prob.": self.variance_inclusion_probabilities_,
                "selected": np.isin(lag_ids, self.variance_selected_lags_),
            },
            index=pd.Index([f"lag {j}" for j in lag_ids]),
        )
