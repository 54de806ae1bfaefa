"""Result objects holding plain arrays (layer L0).

:class:`Intervals` is the one intervals protocol of bsdl: point predictions
``mean``, interval ends ``lower``/``upper`` at level ``1 - alpha``, ``width``,
``to_frame``, ``coverage`` and ``interval_score``. Its subclasses are
:class:`PredictionIntervals` (asymptotic, from a standard error) and
:class:`bsdl.conformal.ConformalIntervals` (conformal methods).

:class:`PredictionIntervals` follows statsmodels' ``PredictionResults``: the
predicted mean and its standard error are stored once, and intervals can be
read at any significance level without refitting. A result never keeps a
reference to the estimator that produced it.

Modules: ``_base`` (:class:`Intervals` and the array checks it shares with
:mod:`bsdl.conformal.metrics`), ``prediction`` (:class:`PredictionIntervals`).
"""

from bsdl.results._base import Intervals
from bsdl.results.prediction import PredictionIntervals

__all__ = ["Intervals", "PredictionIntervals"]
