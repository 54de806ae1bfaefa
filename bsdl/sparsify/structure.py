"""Which inputs stay connected to the output through surviving weights."""

from __future__ import annotations

import torch

__all__ = ["connected_inputs", "reachable_units"]


def reachable_units(weight_masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """For a chain of layers with masks ``(out_l, in_l)`` (input layer first), return for
    each layer a boolean vector over its *inputs*: True when that input unit has a path of
    surviving weights to some output unit."""
    alive = torch.ones(weight_masks[-1].shape[0], dtype=torch.bool, device=weight_masks[-1].device)
    result = []
    for m in reversed(weight_masks):
        alive = (m.float().T @ alive.float()) > 0
        result.append(alive)
    return result[::-1]


def connected_inputs(weight_masks: list[torch.Tensor]) -> torch.Tensor:
    """Boolean vector over the network's inputs: True when an input reaches the output.

    An input counts only if a path of non-zero weights links it to an output, so a
    surviving first-layer weight into a hidden unit that is itself cut off does not
    select that input.

    Examples
    --------
    >>> import torch
    >>> m1 = torch.tensor([[1, 0, 0], [0, 1, 0]], dtype=torch.bool)   # 3 inputs -> 2 hidden
    >>> m2 = torch.tensor([[1, 0]], dtype=torch.bool)                  # only hidden 0 feeds out
    >>> connected_inputs([m1, m2]).tolist()
    [True, False, False]
    """
    return reachable_units(weight_masks)[0]
