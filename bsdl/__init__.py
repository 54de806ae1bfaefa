"""bsdl: Bayesian sparse deep learning for statisticians.

Spike-and-slab (mixture-Gaussian) priors on neural-network weights, prior-annealed
training and SGHMC, consistent variable/structure selection and asymptotic-normal
prediction intervals.
"""

__version__ = "0.1.0"

from bsdl.exceptions import NotFittedError  # noqa: E402
from bsdl.models import SparseMLPClassifier, SparseMLPRegressor, SparseRNN  # noqa: E402
from bsdl.models.io import load  # noqa: E402
from bsdl.priors import MixtureGaussianPrior  # noqa: E402
from bsdl.results import PredictionIntervals  # noqa: E402

__all__ = [
    "MixtureGaussianPrior",
    "SparseMLPRegressor",
    "SparseMLPClassifier",
    "SparseRNN",
    "PredictionIntervals",
    "NotFittedError",
    "load",
    "__version__",
]
