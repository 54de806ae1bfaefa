"""Parameter initialisation driven by a local ``torch.Generator`` (never the global RNG)."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["reset_parameters"]


@torch.no_grad()
def reset_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Re-initialise every ``nn.Linear`` and recurrent layer of ``module`` from ``generator``.

    Uses the PyTorch default scheme ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` for weights and
    biases, but draws from the given generator so that results depend only on the seed.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import MLP, reset_parameters
    >>> a = reset_parameters(MLP(3, (4,)), torch.Generator().manual_seed(0))
    >>> b = reset_parameters(MLP(3, (4,)), torch.Generator().manual_seed(0))
    >>> all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    True
    """
    for sub in module.modules():
        if isinstance(sub, nn.Linear):
            bound = 1.0 / math.sqrt(max(sub.in_features, 1))
            _uniform_(sub.weight, bound, generator)
            if sub.bias is not None:
                _uniform_(sub.bias, bound, generator)
        elif isinstance(sub, nn.RNNBase):
            bound = 1.0 / math.sqrt(max(sub.hidden_size, 1))
            for p in sub.parameters(recurse=False):
                _uniform_(p, bound, generator)
    return module


def _uniform_(p: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    draw = torch.rand(p.shape, generator=generator, dtype=p.dtype, device=generator.device)
    p.copy_(draw.mul_(2 * bound).sub_(bound))
