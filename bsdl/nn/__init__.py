"""Plain, maskable network architectures (layer L1)."""

from bsdl.nn.init import reset_parameters
from bsdl.nn.mlp import MLP
from bsdl.nn.penalty import penalized_flat, unpenalized_names
from bsdl.nn.rnn import CELLS, LagRNN

__all__ = [
    "MLP",
    "LagRNN",
    "CELLS",
    "reset_parameters",
    "penalized_flat",
    "unpenalized_names",
]
