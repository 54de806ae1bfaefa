"""bsdl: Bayesian sparse deep learning for statisticians.

Spike-and-slab (mixture-Gaussian) priors on neural-network weights, prior-annealed
training and SGHMC, consistent variable/structure selection and asymptotic-normal
prediction intervals.
"""

from bsdl._version import __version__
from bsdl.exceptions import NotFittedError
from bsdl.models import SparseMLPClassifier, SparseMLPRegressor, SparseRNN, SparseTransformer
from bsdl.models.io import load
from bsdl.priors import MixtureGaussianPrior
from bsdl.results import Intervals, PredictionIntervals

__all__ = [
    "MixtureGaussianPrior",
    "SparseMLPRegressor",
    "SparseMLPClassifier",
    "SparseRNN",
    "SparseTransformer",
    "PredictionIntervals",
    "Intervals",
    "NotFittedError",
    "load",
    "__version__",
]
