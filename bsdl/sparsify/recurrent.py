"""Structure read-outs of a pruned :class:`~bsdl.nn.LagRNN`: live units, selected inputs.

A hidden unit is *live* when a path of surviving weights leads from it to the output:
directly through the read-out, through the recurrent weights of its own layer (to a live
unit at a later step) or through the next layer's input weights. An input (a lag) is
selected when a surviving first-layer weight connects it to a live unit.
"""

from __future__ import annotations

import torch

from bsdl.nn.rnn import CELLS

__all__ = [
    "live_units",
    "recurrent_connected_inputs",
    "simplify_recurrent",
    "unit_weights",
]


def _unit_links(mask: torch.Tensor, gates: int, hidden: int) -> torch.Tensor:
    """``(gates*H, m)`` weight mask -> ``(H, m)``: does source ``j`` feed unit ``i`` at all?"""
    return mask.reshape(gates, hidden, -1).any(dim=0)


def live_units(module, masks: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """Per layer, a boolean vector over hidden units: True when the unit reaches the output."""
    gates, hidden = CELLS[module.cell], module.hidden_size
    need = masks["head.weight"].reshape(-1).clone()
    live: list[torch.Tensor] = [need] * module.num_layers
    for l in reversed(range(module.num_layers)):
        rec = _unit_links(masks[f"recurrent_layers.{l}.weight"], gates, hidden)
        alive = need.clone()
        while True:  # closure over the recurrence: j is live if it feeds a live unit
            grown = alive | rec[alive].any(dim=0)
            if torch.equal(grown, alive):
                break
            alive = grown
        live[l] = alive
        if l > 0:
            need = _unit_links(masks[f"input_layers.{l}.weight"], gates, hidden)[alive].any(dim=0)
    return live


def recurrent_connected_inputs(module, masks: dict[str, torch.Tensor]) -> torch.Tensor:
    """Boolean vector over the ``n_inputs`` features: True when one reaches the output.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import LagRNN
    >>> from bsdl.sparsify import get_masks
    >>> net = LagRNN(3, hidden_size=2, cell="rnn")
    >>> masks = get_masks(net)
    >>> masks["input_layers.0.weight"][:, 1] = False        # cut lag 2 everywhere
    >>> recurrent_connected_inputs(net, masks).tolist()
    [True, False, True]
    """
    gates, hidden = CELLS[module.cell], module.hidden_size
    alive = live_units(module, masks)[0]
    links = _unit_links(masks["input_layers.0.weight"], gates, hidden)
    keep = links[alive].any(dim=0)
    if "skip.weight" in masks:  # linear path straight to the output
        keep = keep | masks["skip.weight"].reshape(-1)
    return keep


def unit_weights(module, layer: int, units: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean masks (by parameter name) of every weight into or out of ``units`` of
    ``layer``: their gate rows (input weights, biases, recurrent weights), the recurrent
    weights out of them and the next layer's (or the read-out's) weights from them."""
    gates = CELLS[module.cell]
    out = {name: torch.zeros_like(p, dtype=torch.bool) for name, p in module.named_parameters()}
    units = units.to(out["head.weight"].device)
    rows = units.repeat(gates)  # the gate rows of the units
    out[f"input_layers.{layer}.weight"][rows] = True
    out[f"input_layers.{layer}.bias"][rows] = True
    out[f"recurrent_layers.{layer}.weight"][rows] = True
    out[f"recurrent_layers.{layer}.weight"][:, units] = True
    if layer + 1 < module.num_layers:
        out[f"input_layers.{layer + 1}.weight"][:, units] = True
    else:
        out["head.weight"][:, units] = True
    return out


@torch.no_grad()
def simplify_recurrent(module, masks: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Mask every weight into or out of a unit that cannot reach the output.

    The network function is unchanged (such units only feed other dead units), and the
    likelihood-flat directions they would add to the Fisher information are removed.
    Parameters are zeroed in place; the updated masks are returned.
    """
    masks = {k: v.clone() for k, v in masks.items()}
    for layer, alive in enumerate(live_units(module, masks)):
        if alive.all():
            continue
        for name, cut in unit_weights(module, layer, ~alive).items():
            masks[name] &= ~cut.to(masks[name].device)
    for name, p in module.named_parameters():
        p.mul_(masks[name])
    return masks
