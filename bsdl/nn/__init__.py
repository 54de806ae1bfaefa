"""Plain, maskable network architectures (layer L1)."""

from bsdl.nn.init import reset_parameters
from bsdl.nn.mlp import MLP
from bsdl.nn.rnn import CELLS, LagRNN

__all__ = ["MLP", "LagRNN", "CELLS", "reset_parameters"]
