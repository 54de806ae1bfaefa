"""Public estimators (layer L4)."""

from bsdl.models.mlp import SparseMLPClassifier, SparseMLPRegressor
from bsdl.models.rnn import SparseRNN

__all__ = ["SparseMLPRegressor", "SparseMLPClassifier", "SparseRNN"]
