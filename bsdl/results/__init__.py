"""Result objects holding plain arrays (layer L0).

:class:`Intervals` (``_base.py``) is the one intervals protocol of bsdl: point predictions
``mean``, interval ends ``lower``/``upper`` at level ``1 - alpha``, ``width``, ``to_frame``,
``coverage`` and ``interval_score``. Its subclasses are :class:`PredictionIntervals`
(``prediction.py``: asymptotic, from a standard error, readable at any ``alpha``) and
:class:`bsdl.conformal.ConformalIntervals` (conformal methods). A result never keeps a
reference to the estimator that produced it. :class:`PosteriorDraws` (``posterior.py``)
holds SG-MCMC draws and builds their ArviZ ``InferenceData``;
:class:`PosteriorIntervals` (``posterior.py``) reads equal-tailed intervals off
posterior-predictive draws.
"""

from bsdl.results._base import Intervals
from bsdl.results.posterior import PosteriorDraws, PosteriorIntervals
from bsdl.results.prediction import PredictionIntervals

__all__ = ["Intervals", "PosteriorDraws", "PosteriorIntervals", "PredictionIntervals"]
