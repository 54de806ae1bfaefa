"""Tiny stand-in models for the conformal tests (no training, exact outputs)."""

from __future__ import annotations

import numpy as np


class Zero:
    """A 'fitted' forecaster predicting 0: the conformity scores are the series itself."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


class StandardErrors:
    """What ``predict_interval`` returns, reduced to the ``se`` the scaled score reads."""

    def __init__(self, se):
        self.se = se
