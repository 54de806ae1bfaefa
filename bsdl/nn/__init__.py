"""Plain, maskable network architectures (layer L1)."""

from bsdl.nn.init import reset_parameters
from bsdl.nn.mlp import MLP

__all__ = ["MLP", "reset_parameters"]
