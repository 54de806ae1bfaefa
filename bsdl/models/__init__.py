"""Public estimators (layer L4)."""

from bsdl.models.mlp import SparseMLPClassifier, SparseMLPRegressor
from bsdl.models.rnn import SparseRNN
from bsdl.models.transformer import SparseTransformer

__all__ = ["SparseMLPRegressor", "SparseMLPClassifier", "SparseRNN", "SparseTransformer"]
