"""Plain, maskable network architectures that describe their own structure (layer L1)."""

from bsdl.nn.init import reset_parameters
from bsdl.nn.mlp import MLP
from bsdl.nn.penalty import penalized_flat, unpenalized_names
from bsdl.nn.rnn import CELLS, LagRNN
from bsdl.nn.structure import StructuredNetwork
from bsdl.nn.transformer import LagTransformer

__all__ = [
    "MLP",
    "LagRNN",
    "LagTransformer",
    "CELLS",
    "StructuredNetwork",
    "reset_parameters",
    "penalized_flat",
    "unpenalized_names",
]
