"""Public estimators (layer L4)."""

from bsdl.models.mlp import SparseMLPClassifier, SparseMLPRegressor

__all__ = ["SparseMLPRegressor", "SparseMLPClassifier"]
