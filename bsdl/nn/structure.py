"""How a network describes its own structure to the pruning algorithms (layer L1).

The algorithms of :mod:`bsdl.sparsify` (threshold masks, BIC elimination of weight groups,
selection of inputs) are generic: they never name a parameter of a particular network.
What they need to know about a network, it says itself by implementing
:class:`StructuredNetwork`:

* :meth:`~StructuredNetwork.connected_inputs` -- which inputs still reach the output
  through surviving weights (the selected inputs, lags or features);
* :meth:`~StructuredNetwork.input_groups` -- the weights that read each input (how an
  input's inclusion probability is read off its weights, and the input groups of BIC);
* :meth:`~StructuredNetwork.prunable_groups` -- the structure groups (hidden units,
  inputs; later attention heads) that BIC elimination may remove as a whole;
* :meth:`~StructuredNetwork.simplify` -- remove dead units and fold constant ones,
  leaving the network function unchanged.

Masks are dictionaries ``{parameter name: bool tensor of the parameter's shape}``, True
where the weight survives, as :func:`bsdl.sparsify.get_masks` returns them. A group is a
dictionary of the same kind that names only the parameters it touches.

:class:`~bsdl.nn.MLP` and :class:`~bsdl.nn.LagRNN` implement the protocol; a new network
does the same (see ``docs/ARCHITECTURE.md``, "Where to add: a network"). The helpers below
(:func:`reachable_units`, :func:`chain_connected_inputs`, :func:`check_masks`) are for
such implementations.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = [
    "Masks",
    "Group",
    "StructuredNetwork",
    "check_masks",
    "check_structured",
    "reachable_units",
    "chain_connected_inputs",
]

#: ``{parameter name: bool tensor}``; True where the weight survives
Masks = dict[str, torch.Tensor]
#: ``(label, masks of the weights in the group)``; the masks name only the parameters touched
Group = tuple[str, Masks]


@runtime_checkable
class StructuredNetwork(Protocol):
    """A network that describes its structure to :mod:`bsdl.sparsify`.

    Implemented by :class:`~bsdl.nn.MLP` and :class:`~bsdl.nn.LagRNN`. Every method takes
    and returns masks keyed by the names of ``named_parameters()``; none of them modifies
    the masks it is given.

    Examples
    --------
    >>> from bsdl.nn import MLP, LagRNN
    >>> isinstance(MLP(3, (4,)), StructuredNetwork), isinstance(LagRNN(3), StructuredNetwork)
    (True, True)
    >>> [label for label, _ in MLP(2, (3,)).prunable_groups()]
    ['unit 0.0', 'unit 0.1', 'unit 0.2', 'input 0', 'input 1']
    """

    def connected_inputs(self, masks: Masks) -> torch.Tensor:
        """Boolean vector over the network's inputs: True when a path of surviving weights
        links the input to an output."""
        ...

    def input_groups(self) -> list[Masks]:
        """One group per input, in input order: the weights that read that input."""
        ...

    def prunable_groups(self) -> list[Group]:
        """The structure groups that BIC elimination may remove, each with a label such as
        ``"unit 0.3"`` or ``"input 2"``; candidates are tried in this order."""
        ...

    def simplify(self, masks: Masks) -> Masks:
        """Mask dead units and fold constant ones without changing the network function.

        The parameters are modified in place (pruned ones are zeroed, folded constants
        moved); the new masks are returned.
        """
        ...


def check_structured(module: object, name: str = "module") -> None:
    """Raise ``TypeError`` naming ``name`` unless ``module`` implements the protocol.

    Examples
    --------
    >>> from torch import nn
    >>> check_structured(nn.Linear(2, 1))
    Traceback (most recent call last):
    ...
    TypeError: module must implement bsdl.nn.structure.StructuredNetwork (connected_inputs, \
input_groups, prunable_groups, simplify); got Linear
    """
    if not isinstance(module, StructuredNetwork):
        raise TypeError(
            f"{name} must implement bsdl.nn.structure.StructuredNetwork (connected_inputs, "
            f"input_groups, prunable_groups, simplify); got {type(module).__name__}"
        )


def check_masks(module: torch.nn.Module, masks: Masks, name: str = "masks") -> None:
    """Raise ``ValueError`` naming ``name`` unless ``masks`` holds a mask of the right shape
    for every parameter of ``module``.

    Examples
    --------
    >>> from torch import nn
    >>> check_masks(nn.Linear(2, 1), {})
    Traceback (most recent call last):
    ...
    ValueError: masks lacks a mask for the parameters ['bias', 'weight']
    """
    if not isinstance(masks, dict):
        raise TypeError(f"{name} must be a dict of parameter name -> bool tensor")
    params = dict(module.named_parameters())
    missing = sorted(set(params) - set(masks))
    if missing:
        raise ValueError(f"{name} lacks a mask for the parameters {missing}")
    for key, p in params.items():
        if tuple(masks[key].shape) != tuple(p.shape):
            raise ValueError(
                f"{name}[{key!r}] has shape {tuple(masks[key].shape)}, expected {tuple(p.shape)}"
            )


def reachable_units(weight_masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Reachability on a chain of masks.

    For a chain of layers with weight masks ``(out_l, in_l)`` (input layer first), return
    for each layer a boolean vector over its *inputs*: True when that input unit has a path
    of surviving weights to some output unit.

    Examples
    --------
    >>> import torch
    >>> m1 = torch.tensor([[1, 1, 0], [0, 0, 1]], dtype=torch.bool)  # 3 inputs -> 2 units
    >>> m2 = torch.tensor([[0, 1]], dtype=torch.bool)                 # only unit 1 -> out
    >>> [v.tolist() for v in reachable_units([m1, m2])]
    [[False, False, True], [False, True]]
    """
    alive = torch.ones(weight_masks[-1].shape[0], dtype=torch.bool, device=weight_masks[-1].device)
    result = []
    for m in reversed(weight_masks):
        alive = (m.float().T @ alive.float()) > 0
        result.append(alive)
    return result[::-1]


def chain_connected_inputs(weight_masks: list[torch.Tensor]) -> torch.Tensor:
    """Boolean vector over a chain's inputs: True when an input reaches the output.

    An input counts only if a path of non-zero weights links it to an output, so a
    surviving first-layer weight into a hidden unit that is itself cut off does not
    select that input.

    Examples
    --------
    >>> import torch
    >>> m1 = torch.tensor([[1, 0, 0], [0, 1, 0]], dtype=torch.bool)   # 3 inputs -> 2 hidden
    >>> m2 = torch.tensor([[1, 0]], dtype=torch.bool)                  # only hidden 0 feeds out
    >>> chain_connected_inputs([m1, m2]).tolist()
    [True, False, False]
    """
    return reachable_units(weight_masks)[0]
