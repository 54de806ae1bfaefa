"""Which parameters the spike-and-slab prior covers (layer L1).

A network may declare parameters that are *not* under the prior by listing their names in
an ``unpenalized`` attribute, e.g. the read-out intercept of a regression network (the
level of the response). Such a parameter is estimated by plain least squares inside the
prior-annealed objective, is never pruned, and enters the Fisher information (and so the
delta-method intervals) like any selected weight. Everything else in the network is under
the prior, which is the default for any ``nn.Module`` without the attribute.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["unpenalized_names", "penalized_flat"]


def unpenalized_names(module: nn.Module) -> frozenset[str]:
    """Names of the parameters of ``module`` that the prior leaves out.

    Examples
    --------
    >>> from bsdl.nn import LagRNN
    >>> sorted(unpenalized_names(LagRNN(3, hidden_size=2)))
    ['head.bias']
    """
    names = frozenset(getattr(module, "unpenalized", ()))
    known = {name for name, _ in module.named_parameters()}
    unknown = names - known
    if unknown:
        raise ValueError(
            f"{type(module).__name__}.unpenalized names parameters the module lacks: "
            f"{sorted(unknown)}"
        )
    return names


def penalized_flat(module: nn.Module) -> torch.Tensor | None:
    """Boolean vector over the trainable parameters (``module.parameters()`` order, as in
    a flat buffer): True where the prior applies. ``None`` when it applies everywhere."""
    free = unpenalized_names(module)
    if not free:
        return None
    parts = [
        torch.full((p.numel(),), name not in free, dtype=torch.bool, device=p.device)
        for name, p in module.named_parameters()
        if p.requires_grad
    ]
    return torch.cat(parts)
