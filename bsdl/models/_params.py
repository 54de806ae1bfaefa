"""The constructor parameters every sparse estimator shares, written once (layer L4).

Each estimator keeps an explicit ``__init__`` (scikit-learn reads the parameters from its
signature), but the checks and the documentation of the shared parameters live here:

* :data:`SHARED_CONSTRAINTS` is scikit-learn's declarative check of each shared parameter
  (``_parameter_constraints``); an estimator adds its own entries to it, and its ``fit``
  starts with ``self._validate_params()``.
* :data:`SHARED_PARAMETERS_DOC` is their numpydoc text. An estimator's docstring holds the
  line ``{shared parameters}`` in its Parameters section, and the class decorator
  :func:`fill_doc` puts the text there (at that line's indentation), so ``help()``, the
  rendered docs and the doctests see the complete docstring.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval, StrOptions

from bsdl.inference import ConstantSchedule, PriorAnnealing
from bsdl.inference.kernels import KERNELS
from bsdl.priors import MixtureGaussianPrior

__all__ = [
    "METHODS",
    "SAMPLING_CONSTRAINTS",
    "SAMPLING_PARAMETERS_DOC",
    "RESTART_CRITERIA",
    "SHARED_CONSTRAINTS",
    "SHARED_PARAMETERS_DOC",
    "fill_doc",
]

RESTART_CRITERIA = ("bic", "evidence")

# how the selected network's weights are estimated after the MAP fit (models/_posterior.py)
METHODS = ("map", "sghmc", "sgld", "nuts")

# scikit-learn's checks of the shared constructor arguments (run first in fit; the error names
# the argument). What they cannot express (the temperature needing sghmc, a device that
# exists, n_jobs != 0) is checked after them in SparseEstimatorBase._check_common_params.
SHARED_CONSTRAINTS: dict = {
    "prior": [MixtureGaussianPrior, None],
    "annealing": [PriorAnnealing, ConstantSchedule, None],
    "optimizer": [StrOptions(set(KERNELS))],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "n_epochs": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "refit_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
    "n_restarts": [Interval(Integral, 1, None, closed="left")],
    "restart_criterion": [StrOptions(set(RESTART_CRITERIA))],
    "n_jobs": [Integral, None],
    "random_state": [
        Interval(Integral, 0, 2**64 - 1, closed="both"),
        np.random.RandomState,
        np.random.Generator,
        None,
    ],
    "device": [str, torch.device],
    "verbose": ["verbose"],
}

# the posterior-sampling parameters of bsdl's own estimators (models/_posterior.py); kept
# apart from the shared ones so that a user's forecaster built on the sequence base need
# not take them (its sampling then stays "map")
SAMPLING_CONSTRAINTS: dict = {
    "method": [StrOptions(set(METHODS))],
    "n_chains": [Interval(Integral, 1, None, closed="left")],
    "n_samples": [Interval(Integral, 1, None, closed="left")],
    "thin": [Interval(Integral, 1, None, closed="left")],
}

# ``prior`` is shared too, but its default differs between estimators, so each documents it.
SHARED_PARAMETERS_DOC = """\
annealing : PriorAnnealing or ConstantSchedule, optional
    Default ``PriorAnnealing()`` (10 % warm-up, 10 % prior ramp, 40 % sigma0 annealing).
optimizer : {"adam", "sgd", "sghmc", "sgld"}, default "adam"
    ``"sghmc"`` or ``"sgld"`` with an annealing temperature > 0 sample (SGHMC, SGLD);
    at temperature 0 they are prior-annealed SGD (with and without momentum).
lr : float, default 3e-3
n_epochs, batch_size, refit_epochs : int or "auto"
    "auto": batch ``clip(n/20, 32, 512)``, about 6000 steps, a refit of 20 % of that
    (``n`` training samples; for a series, training windows).
n_restarts : int, default 1
    Independent seeds; the one with the smallest ``restart_criterion`` is kept.
restart_criterion : {"bic", "evidence"}, default "bic"
    BIC ``n log(RSS/n) + log(n) k`` or the Laplace evidence of the selected subnetwork.
n_jobs : int, optional
    Restarts in parallel with joblib (None: one at a time, unless an active
    ``joblib.parallel_config`` says otherwise).
random_state : int, numpy Generator or None
    Seeds local torch generators only; results are reproducible for an int.
device : str, default "cpu"
verbose : bool, default False
    Show a tqdm progress bar."""

SAMPLING_PARAMETERS_DOC = """\
method : {"map", "sghmc", "sgld", "nuts"}, default "map"
    ``"map"``: the point estimate only. Otherwise, after the MAP fit (anneal, prune,
    refit) the selected subnetwork (mask fixed) is sampled at temperature 1 from the MAP
    point: SGHMC or SGLD chains, or pyro's NUTS (at most a few hundred selected weights).
    Draws give ``posterior_``, ``predict_interval(kind="posterior")``,
    ``inclusion_frequencies_`` and ``to_inference_data()``.
n_chains : int, default 4
    Chains (run through joblib with ``n_jobs``); ignored for ``method="map"``.
n_samples : int, default 200
    Draws kept per chain, after as many warm-up steps as the chain keeps
    (``n_samples * thin``); ignored for ``method="map"``.
thin : int, default 5
    Keep every ``thin``-th state of the chain; ignored for ``method="map"``."""

_MARKER = re.compile(r"^([ \t]*)\{([a-z][a-z ]*)\}[ \t]*$", re.MULTILINE)


def fill_doc(**fragments: str) -> Callable[[type], type]:
    """Class decorator: replace each docstring line ``{name with spaces}`` by a fragment.

    The keyword ``shared_parameters`` fills the line ``{shared parameters}`` (underscores
    in the keyword stand for spaces). Each fragment is indented like its marker line. A
    marker left without a fragment, or a fragment without its marker, raises at import.

    Examples
    --------
    >>> @fill_doc(extra_text="b : int\\n    Second.")
    ... class A:
    ...     '''Parameters
    ...     ----------
    ...     a : int
    ...     {extra text}
    ...     '''
    >>> A.__doc__.splitlines()[2:5]
    ['    a : int', '    b : int', '        Second.']
    """

    def decorate(cls: type) -> type:
        doc = cls.__doc__
        if doc is None:  # python -OO strips docstrings
            return cls
        wanted = {key.replace("_", " "): text for key, text in fragments.items()}
        used: set[str] = set()

        def fill(match: re.Match) -> str:
            indent, name = match.group(1), match.group(2)
            if name not in wanted:
                raise ValueError(f"{cls.__name__} docstring: no fragment for {{{name}}}")
            used.add(name)
            return "\n".join(indent + line if line else line for line in wanted[name].split("\n"))

        cls.__doc__ = _MARKER.sub(fill, doc)
        missing = set(wanted) - used
        if missing:
            raise ValueError(f"{cls.__name__} docstring has no line for {sorted(missing)}")
        return cls

    return decorate
