"""Shared fixtures: small simulated data sets and fitted estimators reused across test files.

Fitting is the expensive part of the suite, so every fitted estimator here is
session-scoped and built once. Tests must treat them as read-only: never call ``fit``,
``set_params`` or anything else that mutates them (clone them first).
"""

from __future__ import annotations

import socket
import warnings

import numpy as np
import pytest

from bsdl import SparseMLPClassifier, SparseMLPRegressor
from bsdl.datasets import (
    make_sparse_classification,
    make_sparse_regression,
)

# A fast configuration: small network, few epochs. Enough for API/contract checks,
# not for statistical ones (those use the defaults and live in the slow tests).
FAST = dict(hidden_layer_sizes=(8,), n_epochs=60, lr=1e-2, random_state=0)


def _quiet_fit(est, X, y):
    """Fit ignoring bsdl's informative warnings (sparsity, singular Fisher) of tiny fits."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return est.fit(X, y)


@pytest.fixture(scope="session")
def fast_params():
    """Constructor arguments of a quick fit (a fresh dict each time it is requested)."""
    return dict(FAST)


@pytest.fixture(scope="session")
def reg_data():
    """(X, y, X_new, y_new) from the JASA design, n=500, p=8 (inputs 0..4 informative)."""
    X, y = make_sparse_regression(500, 8, random_state=0)
    X_new, y_new = make_sparse_regression(200, 8, random_state=1)
    return X, y, X_new, y_new


@pytest.fixture(scope="session")
def reg_frame():
    """The same design as DataFrames with columns x1..x8, and a fresh test frame."""
    X, y = make_sparse_regression(500, 8, random_state=0, as_frame=True)
    X_new, _ = make_sparse_regression(50, 8, random_state=1, as_frame=True)
    return X, y, X_new


@pytest.fixture(scope="session")
def fitted_regressor(reg_data):
    """A quickly fitted SparseMLPRegressor on ``reg_data`` (read-only!)."""
    X, y, _, _ = reg_data
    return _quiet_fit(SparseMLPRegressor(**FAST), X, y)


@pytest.fixture(scope="session")
def fitted_regressor_df(reg_frame):
    """A quickly fitted SparseMLPRegressor on DataFrame input (read-only!)."""
    X, y, _ = reg_frame
    return _quiet_fit(SparseMLPRegressor(**FAST), X, y)


@pytest.fixture(scope="session")
def clf_data():
    """(X, y, X_new, y_new): balanced binary JASA classification design, n=600, p=8."""
    X, y = make_sparse_classification(600, 8, random_state=0)
    X_new, y_new = make_sparse_classification(200, 8, random_state=1)
    return X, y, X_new, y_new


@pytest.fixture(scope="session")
def fitted_classifier(clf_data):
    """A quickly fitted binary SparseMLPClassifier (read-only!)."""
    X, y, _, _ = clf_data
    return _quiet_fit(SparseMLPClassifier(**FAST), X, y)


@pytest.fixture(scope="session")
def multiclass_data():
    """Three classes with *string* labels, from thresholds of a sparse signal (n=600, p=6).

    The label is the tercile of ``x0 + x1 - x2`` plus a little noise, so a linear-ish
    network separates the classes well and inputs 3..5 are pure noise.
    """
    rng = np.random.default_rng(0)

    def draw(n):
        X = rng.standard_normal((n, 6))
        score = X[:, 0] + X[:, 1] - X[:, 2] + 0.2 * rng.standard_normal(n)
        labels = np.array(["low", "mid", "high"])
        y = labels[np.digitize(score, [-0.75, 0.75])]
        return X, y

    X, y = draw(600)
    X_new, y_new = draw(600)
    return X, y, X_new, y_new


@pytest.fixture(scope="session")
def fitted_multiclass(multiclass_data):
    """A fitted 3-class SparseMLPClassifier with string labels (read-only!)."""
    X, y, _, _ = multiclass_data
    return _quiet_fit(SparseMLPClassifier((4,), n_epochs=60, lr=1e-2, random_state=0), X, y)


@pytest.fixture(scope="session")
def jasa_fit():
    """Memoised default fits on the JASA design ``make_sparse_regression(2000, 50)``.

    ``jasa_fit(seed)`` returns ``(model, X, y)`` for
    ``SparseMLPRegressor(random_state=seed).fit(*make_sparse_regression(2000, 50,
    random_state=seed))``; each seed is fitted at most once per session.
    """
    cache: dict[int, tuple] = {}

    def get(seed: int):
        if seed not in cache:
            X, y = make_sparse_regression(2000, 50, random_state=seed)
            cache[seed] = (_quiet_fit(SparseMLPRegressor(random_state=seed), X, y), X, y)
        return cache[seed]

    return get


@pytest.fixture
def no_network(monkeypatch):
    """Make any attempt to open a network connection fail (the loaders must work offline)."""

    def refuse(*args, **kwargs):
        raise OSError("network access attempted during a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
