"""Structure read-outs through the network's own description (layer L2).

Everything here is generic: a network says which inputs are connected, which weights read
each input and how to simplify itself by implementing
:class:`~bsdl.nn.structure.StructuredNetwork`; these functions only call it. Reachability on
a plain chain of masks (:func:`connected_inputs`, :func:`reachable_units`) lives in
:mod:`bsdl.nn.structure` so that the networks (layer L1) can use it too.
"""

from __future__ import annotations

import torch
from torch import nn

from bsdl.nn.structure import (
    Masks,
    chain_connected_inputs,
    check_structured,
    reachable_units,
)

__all__ = ["connected_inputs", "reachable_units", "input_inclusion", "simplify_structure"]


def connected_inputs(weight_masks: list[torch.Tensor]) -> torch.Tensor:
    """Boolean vector over the inputs of a chain of weight masks ``(out_l, in_l)`` (input
    layer first): True when a path of surviving weights links the input to an output.

    For a whole network use its own ``module.connected_inputs(masks)``.

    Examples
    --------
    >>> import torch
    >>> m1 = torch.tensor([[1, 0, 0], [0, 1, 0]], dtype=torch.bool)   # 3 inputs -> 2 hidden
    >>> m2 = torch.tensor([[1, 0]], dtype=torch.bool)                  # only hidden 0 feeds out
    >>> connected_inputs([m1, m2]).tolist()
    [True, False, False]
    """
    return chain_connected_inputs(weight_masks)


def input_inclusion(module: nn.Module, values: dict[str, torch.Tensor]) -> torch.Tensor:
    """Per input of ``module``, the largest of ``values`` over the weights that read it.

    With ``values`` the inclusion probabilities of the weights (before pruning), this is the
    inclusion probability of each input: the weights that read an input are the module's
    ``input_groups()`` (:class:`~bsdl.nn.structure.StructuredNetwork`).

    Parameters
    ----------
    module : StructuredNetwork
    values : dict of parameter name -> tensor
        One tensor of the parameter's shape for (at least) every parameter that reads an
        input.

    Returns
    -------
    Tensor of shape ``(n_inputs,)``, on the device and with the dtype of ``values``.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import MLP
    >>> net = MLP(3, (2,))
    >>> q = {name: torch.zeros_like(p) for name, p in net.named_parameters()}
    >>> first = next(iter(q))                    # the first layer's weight, (2, 3)
    >>> q[first] = torch.tensor([[0.1, 0.9, 0.2], [0.7, 0.3, 0.0]])
    >>> input_inclusion(net, q)
    tensor([0.7000, 0.9000, 0.2000])
    """
    check_structured(module)
    if not isinstance(values, dict):
        raise TypeError("values must be a dict of parameter name -> tensor")
    out = []
    for i, group in enumerate(module.input_groups()):
        missing = sorted(set(group) - set(values))
        if missing:
            raise ValueError(f"values lacks the parameters {missing} that read input {i}")
        parts = [values[k][m.to(values[k].device)] for k, m in group.items()]
        out.append(torch.cat([p.reshape(-1) for p in parts]).max())
    return torch.stack(out)


def simplify_structure(module: nn.Module, masks: Masks) -> Masks:
    """``module.simplify(masks)`` after checking that ``module`` describes its structure.

    Removes dead units and folds constant ones without changing the network function
    (parameters are modified in place); the new masks are returned. This is the
    ``simplify`` hook of a restart (:class:`~bsdl.inference.pipeline.FitSpec`) for any
    :class:`~bsdl.nn.structure.StructuredNetwork`.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import MLP
    >>> net = MLP(2, (2,))
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> readout = list(masks)[2]                 # the read-out weight, (1, 2)
    >>> masks[readout][0, 1] = False             # hidden unit 1 reaches no output
    >>> new = simplify_structure(net, masks)     # its input weights and bias go too
    >>> [int(m.sum()) for m in new.values()]
    [2, 1, 1, 1]
    """
    check_structured(module)
    return module.simplify(masks)
