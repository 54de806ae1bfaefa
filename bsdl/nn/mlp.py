"""Multilayer perceptron whose linear layers can carry pruning masks."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

__all__ = ["MLP", "ACTIVATIONS"]

ACTIVATIONS = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "gelu": nn.GELU,
    "softplus": nn.Softplus,
}


class MLP(nn.Module):
    """Fully connected network ``in -> hidden... -> out`` with one activation throughout.

    The layers are plain ``nn.Linear`` modules kept in ``self.linears`` (input layer first),
    so pruning masks can be attached to them as buffers by :mod:`bsdl.sparsify`. The
    read-out bias is listed in ``unpenalized``: the prior never prunes it.

    Parameters
    ----------
    in_features : int
    hidden_layer_sizes : sequence of int
    out_features : int, default 1
    activation : {"tanh", "relu", "sigmoid", "gelu", "softplus"}, default "tanh"
        Smooth activations (tanh, softplus, gelu, sigmoid) give well-defined Fisher
        information for the delta-method intervals.

    Examples
    --------
    >>> import torch
    >>> net = MLP(5, (6, 4, 3))
    >>> net(torch.zeros(2, 5)).shape
    torch.Size([2, 1])
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (16,),
        out_features: int = 1,
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        sizes = [int(in_features), *[int(h) for h in hidden_layer_sizes], int(out_features)]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.activation = ACTIVATIONS[activation]()
        self.activation_name = activation

    @property
    def unpenalized(self) -> tuple[str, ...]:
        """The read-out bias (the level of each output) is outside the prior: never pruned,
        estimated freely, and part of the Fisher information (see :mod:`bsdl.nn.penalty`)."""
        return (f"linears.{len(self.linears) - 1}.bias",)

    @property
    def in_features(self) -> int:
        return self.linears[0].in_features

    @property
    def out_features(self) -> int:
        return self.linears[-1].out_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.linears) - 1
        for i, layer in enumerate(self.linears):
            x = layer(x)
            if i < last:
                x = self.activation(x)
        return x
