"""Backward elimination of weight groups by BIC, after threshold pruning (layer L2).

Prior-annealed MAP training can leave weights in the slab that the data barely use: they
grew during the dense warm-up beyond the reach of the spike, and the flat slab never pulls
them back (a local trap of the optimisation, not a feature of the posterior). For a
Gaussian likelihood with the noise variance profiled out, removing a group of ``k`` weights
changes BIC by ``N log(RSS_without / RSS) - k log N``; :func:`bic_simplify` removes, one at
a time, the group whose removal lowers BIC the most, until no removal does. The fit is not
redone between removals, so the loss of fit is overstated and the rule keeps rather than
drops when in doubt.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .recurrent import simplify_recurrent, unit_weights

__all__ = ["bic_simplify", "recurrent_groups", "simplify_recurrent_bic"]


def recurrent_groups(module) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """Weight groups of a :class:`~bsdl.nn.LagRNN`: each hidden unit and each input.

    A unit's group holds its gate rows (input weights, biases, recurrent weights), the
    recurrent weights out of it and its read-out (or next-layer) weights; an input's group
    holds its first-layer column and its skip weight.
    """
    hidden = module.hidden_size
    shapes = {name: p.shape for name, p in module.named_parameters()}

    def empty() -> dict[str, torch.Tensor]:
        return {name: torch.zeros(shape, dtype=torch.bool) for name, shape in shapes.items()}

    groups = []
    for layer in range(module.num_layers):
        for j in range(hidden):
            unit = torch.zeros(hidden, dtype=torch.bool)
            unit[j] = True
            cut = unit_weights(module, layer, unit)
            groups.append((f"unit {layer}.{j}", {k: v.cpu() for k, v in cut.items()}))
    for i in range(shapes["input_layers.0.weight"][1]):
        g = empty()
        g["input_layers.0.weight"][:, i] = True
        if "skip.weight" in g:
            g["skip.weight"][:, i] = True
        groups.append((f"input {i}", g))
    return groups


@torch.no_grad()
def bic_simplify(
    module,
    masks: dict[str, torch.Tensor],
    groups: list[tuple[str, dict[str, torch.Tensor]]],
    mse: Callable[[torch.nn.Module], torch.Tensor],
    n: int,
) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Remove weight groups while that lowers BIC; returns the masks and the removed labels.

    Parameters
    ----------
    module : torch.nn.Module
        Pruned network (``masks`` already applied); modified in place.
    masks : dict of name -> bool tensor
    groups : list of (label, dict of name -> bool tensor)
        Candidate groups (e.g. :func:`recurrent_groups`).
    mse : callable
        ``mse(module)`` -> mean squared error over the ``n`` scored points (any positive
        multiple of it works: only ratios are used).
    n : int
        Number of scored points.
    """
    masks = {k: v.clone() for k, v in masks.items()}
    params = dict(module.named_parameters())
    log_n = math.log(n)
    base = float(mse(module))
    removed: list[str] = []
    while base > 0:
        best = None
        for label, group in groups:
            live = {k: group[k].to(masks[k].device) & masks[k] for k in group}
            k_live = int(sum(int(m.sum()) for m in live.values()))
            if k_live == 0:
                continue
            saved = {k: params[k][m].clone() for k, m in live.items() if m.any()}
            for k in saved:
                params[k][live[k]] = 0.0
            without = float(mse(module))
            for k, values in saved.items():
                params[k][live[k]] = values
            change = n * math.log(max(without, 1e-300) / base) - k_live * log_n
            if change < 0 and (best is None or change < best[0]):
                best = (change, label, live)
        if best is None:
            break
        _, label, live = best
        for k, m in live.items():
            masks[k] &= ~m
            params[k][m] = 0.0
        removed.append(label)
        base = float(mse(module))
    return masks, removed


def simplify_recurrent_bic(
    module, masks: dict[str, torch.Tensor], mse: Callable, n: int
) -> dict[str, torch.Tensor]:
    """:func:`~bsdl.sparsify.simplify_recurrent`, then :func:`bic_simplify` over the
    units and inputs of the :class:`~bsdl.nn.LagRNN`, then the dead-unit clean-up again."""
    masks = simplify_recurrent(module, masks)
    masks, _ = bic_simplify(module, masks, recurrent_groups(module), mse, n)
    return simplify_recurrent(module, masks)
