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


@torch.no_grad()
def simplify_chain(
    linears: list, masks: dict[str, torch.Tensor], activation, prefix: str = "linears"
) -> dict[str, torch.Tensor]:
    """Remove hidden units that cannot affect the output, keeping the function unchanged.

    For a chain of ``nn.Linear`` layers ``linears`` separated by ``activation``:

    * a hidden unit with no path of surviving weights to the output is dropped (its
      incoming weights and bias are masked);
    * a hidden unit with no surviving incoming weight outputs the constant
      ``activation(bias)``; that constant is folded into the next layer's bias and the
      unit is dropped.

    Both leave the network function unchanged and remove directions in which the
    likelihood is flat, so the Fisher information of the remaining weights is not
    singular for these structural reasons. Parameters are modified in place; the
    updated masks are returned (``masks`` is not modified).
    """
    masks = {k: v.clone() for k, v in masks.items()}
    n_layers = len(linears)
    wkey = [f"{prefix}.{i}.weight" for i in range(n_layers)]
    bkey = [f"{prefix}.{i}.bias" for i in range(n_layers)]
    changed = True
    while changed:
        changed = False
        # 1. units (outputs of layer l < L-1) without a path to the output
        alive = torch.ones(
            linears[-1].out_features, dtype=torch.bool, device=masks[wkey[-1]].device
        )
        for l in range(n_layers - 1, 0, -1):
            alive = (masks[wkey[l]].float().T @ alive.float()) > 0
            dead = ~alive
            if dead.any() and (masks[wkey[l - 1]][dead].any() or masks[bkey[l - 1]][dead].any()):
                masks[wkey[l - 1]][dead] = False
                masks[bkey[l - 1]][dead] = False
                changed = True
        # 2. units without incoming weights: constant activation(bias), fold forward
        for l in range(n_layers - 1):
            no_input = ~masks[wkey[l]].any(dim=1)
            outgoing = masks[wkey[l + 1]][:, no_input]
            if outgoing.any():
                const = activation(linears[l].bias * masks[bkey[l]])[no_input]
                w_next = linears[l + 1].weight * masks[wkey[l + 1]]
                # a pruned next-layer bias may still hold its old value (masks are applied
                # after simplification): zero it before the fold switches its mask on
                linears[l + 1].bias.mul_(masks[bkey[l + 1]])
                linears[l + 1].bias += w_next[:, no_input] @ const
                masks[bkey[l + 1]] |= outgoing.any(dim=1)
                masks[wkey[l + 1]][:, no_input] = False
                masks[bkey[l]][no_input] = False
                changed = True
    for i in range(n_layers):
        linears[i].weight.mul_(masks[wkey[i]])
        linears[i].bias.mul_(masks[bkey[i]])
    return masks
