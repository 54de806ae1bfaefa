"""AR-GARCH(1, 1) one-step forecasts with the ``arch`` package: the volatility baseline (L5).

Daily returns have a conditional variance that clusters; a model with a constant
innovation variance (bsdl's default SparseRNN, AutoReg) then gives intervals too wide in
calm spans and too narrow in volatile ones. The field's standard answer is an
AR-GARCH(1, 1) (Bollerslev 1986),

    y_t = mu + sum_{j in L} phi_j y_{t-j} + eps_t,   eps_t = sigma_t z_t,
    sigma_t^2 = omega + a eps_{t-1}^2 + b sigma_{t-1}^2,

with ``z_t`` standardised Student-t (``nu`` degrees of freedom, unit variance) or
standard normal, fitted by maximum likelihood with :func:`arch.arch_model`. The lag set
``L`` comes from the caller (``bsdl.compare`` uses the global-BIC lags of
:func:`bsdl.baselines.baseline_bic_lags`, as for AutoReg). ``arch`` is an optional
dependency (the ``test`` and ``bench`` extras), imported only when a fit is made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from bsdl._validation import check_array, check_in_options, check_positive_int
from bsdl.baselines import _check_lags
from bsdl.results import PredictionIntervals

__all__ = ["GarchForecasts", "garch_forecasts"]

_DISTS = ("t", "normal")


def _arch_model():
    try:
        from arch import arch_model
    except ImportError as err:
        raise ImportError(
            "the GARCH baseline needs the optional package 'arch': install it with "
            "`pip install arch` (it is in bsdl's test and bench extras)"
        ) from err
    return arch_model


@dataclass
class GarchForecasts:
    """An AR-GARCH(1, 1) fit and its one-step forecasts (see :func:`garch_forecasts`).

    Attributes
    ----------
    lags : ndarray of int
        AR lags of the mean (empty: a constant mean).
    dist : str
        ``"t"`` (standardised Student-t) or ``"normal"``.
    params : pandas.Series
        arch's estimates on the original scale of the series (``Const``, ``y[1]``, ...,
        ``omega``, ``alpha[1]``, ``beta[1]`` and ``nu`` for the t).
    nu : float or None
        Degrees of freedom of the t innovations.
    persistence : float
        ``alpha[1] + beta[1]``.
    mean, sd : ndarray
        One-step conditional mean and sd at the positions ``n_fit .. len(series) - 1``.
    """

    lags: np.ndarray
    dist: str
    params: pd.Series
    nu: float | None
    persistence: float
    mean: np.ndarray
    sd: np.ndarray

    def intervals(self, alpha: float = 0.05) -> PredictionIntervals:
        """One-step intervals ``mean -+ q sd``, ``q`` the innovation quantile.

        For the t, ``q`` is the standardised t quantile ``t_nu^-1(1 - alpha/2) sqrt((nu -
        2) / nu)``, so the result is a :class:`~bsdl.PredictionIntervals` with
        ``df = nu`` and ``se = sd sqrt((nu - 2) / nu)``.
        """
        if self.nu is None:
            return PredictionIntervals(self.mean, self.sd, alpha)
        se = self.sd * np.sqrt((self.nu - 2.0) / self.nu)
        return PredictionIntervals(self.mean, se, alpha, df=self.nu)


def _two_step_start(z: np.ndarray, lags: list[int], n_fit: int, dist: str, arch_model):
    """Starting values ``(Const, AR coefficients, omega, alpha, beta[, nu])``: least squares
    for the AR mean on the fitting span, then a zero-mean GARCH(1, 1) on its residuals."""
    first = max(lags)
    rows = np.arange(first, n_fit)
    design = np.column_stack([np.ones(rows.size)] + [z[rows - lag] for lag in lags])
    coef, *_ = np.linalg.lstsq(design, z[rows], rcond=None)
    resid = z[rows] - design @ coef
    vol = arch_model(resid, mean="Zero", vol="GARCH", p=1, q=1, dist=dist, rescale=False)
    return np.concatenate([coef, vol.fit(disp="off", show_warning=False).params.to_numpy()])


def garch_forecasts(series, lags, n_fit: int, *, dist: str = "t") -> GarchForecasts:
    """Fit an AR-GARCH(1, 1) on ``series[:n_fit]``; one-step forecasts for the rest.

    The parameters are estimated once on the first ``n_fit`` values; the conditional
    mean and variance are then filtered along the remaining values with those parameters
    (no refit), each forecast using only the values before it, as the AutoReg baseline
    and bsdl's ``predict_interval(series=)`` do. The series is centred and scaled by the
    mean and sd of its fitting span for the optimiser (arch's advice) and the results are
    mapped back. With AR lags the fit is the largest likelihood among arch's fit from its
    own start, its fit from the two-step estimates (least-squares mean, GARCH on its
    residuals) and those estimates themselves: arch's optimiser can stop far below the
    maximum when the mean has many lags.

    Parameters
    ----------
    series : array-like of shape (n,)
        The whole series (fitting span first).
    lags : sequence of int
        1-based AR lags of the mean, e.g. ``[1, 2]``; empty for a constant mean.
    n_fit : int
        Length of the fitting span; at least ``max(lags) + 100`` values and fewer than ``n``.
    dist : {"t", "normal"}, default "t"
        Innovation distribution.

    Returns
    -------
    GarchForecasts
        ``mean`` and ``sd`` for the positions ``n_fit .. n - 1``; ``.intervals(alpha)``.

    Examples
    --------
    >>> import numpy as np
    >>> from bsdl.garch import garch_forecasts
    >>> rng = np.random.default_rng(0)
    >>> y = rng.standard_t(5, size=700)
    >>> fc = garch_forecasts(y, [1], n_fit=600)
    >>> fc.mean.shape, fc.intervals(0.1).lower.shape
    ((100,), (100,))
    """
    y, _ = check_array(series, "series", ndim=1)
    if not np.all(np.isfinite(y)):
        raise ValueError("series contains NaN or inf")
    lag_list = _check_lags(lags)
    dist = check_in_options(dist, "dist", _DISTS)
    n_fit = check_positive_int(n_fit, "n_fit")
    first = max(lag_list, default=0)
    if n_fit < first + 100 or n_fit >= y.size:
        raise ValueError(
            f"n_fit must leave at least max(lags) + 100 = {first + 100} fitting values and "
            f"one value to forecast in a series of {y.size}, got n_fit={n_fit}"
        )
    loc, scale = float(np.mean(y[:n_fit])), float(np.std(y[:n_fit]))
    if scale == 0.0:
        raise ValueError("series is constant over its fitting span: GARCH needs variation")
    z = pd.Series((y - loc) / scale, name="y")
    arch_model = _arch_model()
    mean_kind = {"mean": "AR", "lags": lag_list} if lag_list else {"mean": "Constant"}
    model = arch_model(z, vol="GARCH", p=1, q=1, dist=dist, rescale=False, **mean_kind)
    res = model.fit(last_obs=n_fit, disp="off", show_warning=False)
    if lag_list:
        # arch's optimiser (SLSQP) can stop, or wander, far below the maximum when the mean
        # has many lags (weekly, half-hourly series): the two-step estimates (least-squares
        # mean, GARCH on its residuals) are a second start and a candidate of their own, and
        # the largest likelihood of the three is kept
        start = _two_step_start(z.to_numpy(), lag_list, n_fit, dist, arch_model)
        second = model.fit(starting_values=start, last_obs=n_fit, disp="off", show_warning=False)
        for candidate in (second, model.fix(start, last_obs=n_fit)):
            if candidate.loglikelihood > res.loglikelihood:
                res = candidate
    fc = res.forecast(horizon=1, start=n_fit - 1, reindex=False)
    # row k holds the forecast made at origin n_fit - 1 + k for position n_fit + k
    mean = fc.mean.to_numpy()[: y.size - n_fit, 0] * scale + loc
    sd = np.sqrt(fc.variance.to_numpy()[: y.size - n_fit, 0]) * scale
    params = res.params.copy()
    nu = float(params["nu"]) if dist == "t" else None
    phi = sum(float(params[name]) for name in params.index if name.startswith("y["))
    for name in params.index:  # back to the series' location and scale
        if name == "Const":
            params[name] = params[name] * scale + loc * (1.0 - phi)
        elif name == "omega":
            params[name] *= scale**2
    return GarchForecasts(
        lags=np.asarray(lag_list, dtype=int),
        dist=dist,
        params=params,
        nu=nu,
        persistence=float(params["alpha[1]"] + params["beta[1]"]),
        mean=mean,
        sd=sd,
    )
