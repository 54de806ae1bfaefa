"""Conformal prediction baselines for regression and time series (layer L1, numpy only).

Every method wraps any model with ``fit(X, y)`` and ``predict(X)`` (bsdl models,
scikit-learn regressors on a :func:`lag_matrix`, or forecaster adapters) and returns
:class:`ConformalIntervals`, a :class:`bsdl.results.Intervals` like bsdl's own
:class:`~bsdl.results.PredictionIntervals`: both give ``mean``, ``lower``, ``upper``,
``alpha``, ``width``, ``to_frame``, ``coverage`` and ``interval_score``. None of them
imports torch or bsdl's models.

- :class:`SplitConformal`: split conformal (Lei et al. 2018), optionally with a
  sliding window of recent scores online;
- :class:`ACI`: adaptive conformal inference (Gibbs & Candès 2021);
- :class:`AgACI`: aggregated ACI over several step sizes (Zaffran et al. 2022);
- :class:`EnbPI`: block-bootstrap ensemble with leave-one-out residuals
  (Xu & Xie 2021);
- :class:`SPCI`: quantile regression on recent residuals (Xu & Xie 2023);
- :class:`ConformalizedAsymptotic`: bsdl's delta-method standard error as the scale of
  the conformity score, so the interval keeps its asymptotic shape and gains the
  split-conformal finite-sample calibration;
- :class:`AdaptiveAsymptotic`: bsdl's asymptotic interval (its standard error and
  critical value) whose level moves online by ACI's update (:func:`aci_walk`), by
  default with the levels of several step sizes aggregated as in AgACI
  (:func:`aggregated_walk`), without a calibration set.

Scores: :class:`AbsoluteScore`, :class:`ScaledScore`. Metrics:
:mod:`bsdl.conformal.metrics`.

Against MAPIE (``TimeSeriesRegressor``, >= 1.0), checked in
``tests/test_conformal_mapie.py``: with the same bootstrap samples EnbPI's leave-one-out
residuals are identical and the widths agree to one order statistic; ACI's alpha_t paths
are identical while alpha_t >= 1 / (n + 1). Deliberate differences: EnbPI centres on the
plain mean of the B models (MAPIE: a weighted mean) and uses the paper's empirical (1 - alpha)
quantile (MAPIE: the conformal rank, at most one order statistic higher); the block
bootstrap keeps exactly n rows (MAPIE drops the last n mod L rows from every sample);
where the conformal interval would be infinite (alpha_t < 1 / (n + 1)) ACI counts no
miss in its update but reports the interval capped at the largest score in force (MAPIE
clips alpha_t at 0 and returns an infinite interval or an error); a point on an
interval end counts as covered (MAPIE's ACI counts it as a miss).

Calling order: ``fit`` (or ``prefit=True``), then ``calibrate`` (except EnbPI, which
uses leave-one-out residuals), then ``predict_interval(X, alpha)`` or
``predict_online(X, y, alpha)`` (time order, each ``y[t]`` revealed after interval t).
"""

from ._core import ConformalIntervals, conformal_quantile, lag_matrix, min_calibration_size
from .adaptive import ACI, DEFAULT_GAMMAS, AgACI, aci_update, aci_walk, aggregated_walk
from .enbpi import EnbPI, block_bootstrap
from .hybrid import HYBRID_GAMMAS, AdaptiveAsymptotic
from .metrics import (
    coverage,
    interval_metrics,
    interval_score,
    mean_width,
    rolling_coverage,
    width_ratio,
)
from .scores import AbsoluteScore, ConformityScore, ScaledScore
from .spci import SPCI, linear_quantile_regression
from .split import ConformalizedAsymptotic, SplitConformal

__all__ = [
    "SplitConformal",
    "ACI",
    "AgACI",
    "EnbPI",
    "SPCI",
    "ConformalizedAsymptotic",
    "AdaptiveAsymptotic",
    "aci_update",
    "aci_walk",
    "aggregated_walk",
    "ConformalIntervals",
    "ConformityScore",
    "AbsoluteScore",
    "ScaledScore",
    "DEFAULT_GAMMAS",
    "HYBRID_GAMMAS",
    "conformal_quantile",
    "min_calibration_size",
    "lag_matrix",
    "block_bootstrap",
    "linear_quantile_regression",
    "coverage",
    "mean_width",
    "interval_score",
    "rolling_coverage",
    "width_ratio",
    "interval_metrics",
]
