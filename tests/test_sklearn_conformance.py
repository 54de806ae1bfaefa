"""scikit-learn conformance of the MLP estimators: every check of ``check_estimator``.

Each check is one test (``parametrize_with_checks``). No check is skipped or expected to
fail: a check that could not apply would be declared in the estimator's
``__sklearn_tags__`` with its reason, and none is today.

``check_array_api_input`` needs ``SCIPY_ARRAY_API=1`` before scipy is imported, so in this
process scikit-learn itself skips it (with that reason); ``test_array_api_check`` runs it
in a fresh interpreter with the variable set.

The settings are small so that the whole file stays fast: one hidden layer of 4 units and
10 epochs. ``lr=0.03`` (instead of 3e-3) lets those 10 epochs reach the fit that
``check_regressors_train`` asks for (R^2 > 0.5 on its 200 x 10 design); with the defaults
(600 epochs there) the regressor also passes, at a hundred times the cost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from bsdl import SparseMLPClassifier, SparseMLPRegressor

SMALL = dict(hidden_layer_sizes=(4,), n_epochs=10, lr=0.03, random_state=0)
ESTIMATORS = [SparseMLPRegressor(**SMALL), SparseMLPClassifier(**SMALL)]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_check(estimator, check):
    with warnings.catch_warnings():
        # bsdl's informative warnings on these tiny fits (sparsity, singular Fisher, few
        # residual degrees of freedom) are not what the checks are about
        warnings.filterwarnings("ignore", module="bsdl")
        check(estimator)


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_every_constructor_argument_is_constrained(est):
    """scikit-learn validates each argument (the error names it) before any data check."""
    assert set(est._parameter_constraints) == set(est.get_params(deep=False))


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_sklearn_conventions_keep_bsdl_messages(est):
    """The sklearn wording is added to bsdl's messages, which still name the argument."""
    X = np.random.default_rng(0).standard_normal((20, 3))
    y = np.arange(20) % 2
    est = clone(est)
    with pytest.raises(ValueError, match="y is None"):
        est.fit(X, None)
    with pytest.raises(ValueError, match="Complex data not supported"):
        est.fit(X + 1j, y)
    with pytest.raises(ValueError, match=r"X has 0 features.*0 feature\(s\)"):
        est.fit(X[:, :0], y)
    with pytest.raises(ValueError, match="X must be 2-D.*Reshape your data"):
        est.fit(X[:, 0], y)
    from scipy import sparse

    with pytest.raises(TypeError, match="X is a scipy sparse csr_matrix.*not supported"):
        est.fit(sparse.csr_matrix(X), y)
    with pytest.raises(ValueError, match="lr"):
        clone(est).set_params(lr=-1.0).fit(X, y)


_ARRAY_API_SCRIPT = """
import warnings
from functools import partial
from sklearn.utils.estimator_checks import check_array_api_input
from bsdl import SparseMLPClassifier, SparseMLPRegressor
warnings.simplefilter("ignore")
for Est in (SparseMLPRegressor, SparseMLPClassifier):
    check_array_api_input(
        Est.__name__, Est(**{small}), array_namespace="numpy", expect_only_array_outputs=False
    )
print("array api checks passed")
"""


def test_array_api_check():
    """The one check skipped in-process, run where scikit-learn can run it."""
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", _ARRAY_API_SCRIPT.format(small=SMALL)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "array api checks passed" in done.stdout
