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
from numbers import Integral

import torch
from scipy.special import gammaln
from torch import nn

from bsdl.nn.structure import Group, Masks, check_structured

__all__ = ["bic_simplify", "simplify_with_bic", "log_choose"]


def log_choose(m: int, k):
    """``log C(m, k)``, the term of Chen & Chen's (2008) extended BIC, ``2 gamma log C(m,
    k)`` for ``k`` of ``m`` candidates kept; ``k`` may be an integer array.

    >>> round(float(log_choose(5, 2)), 6) == round(math.log(10), 6)
    True
    """
    return gammaln(m + 1) - gammaln(k + 1) - gammaln(m - k + 1)


def _check_groups(groups: list[Group], masks: Masks) -> None:
    if not isinstance(groups, (list, tuple)):
        raise TypeError("groups must be a list of (label, dict of name -> bool tensor)")
    for entry in groups:
        if not (isinstance(entry, tuple) and len(entry) == 2 and isinstance(entry[1], dict)):
            raise TypeError(
                f"groups must hold (label, dict of name -> bool tensor) pairs, got {entry!r}"
            )
        label, group = entry
        unknown = sorted(set(group) - set(masks))
        if unknown:
            raise ValueError(f"group {label!r} names parameters without a mask: {unknown}")


@torch.no_grad()
def bic_simplify(
    module: nn.Module,
    masks: Masks,
    groups: list[Group],
    mse: Callable[[nn.Module], torch.Tensor],
    n: int,
) -> tuple[Masks, list[str]]:
    """Remove weight groups while that lowers BIC; returns the masks and the removed labels.

    Works for any network and any groups: each round tries every group that still holds a
    surviving weight, and removes the one whose removal lowers BIC the most (the first such
    group in ``groups`` order on a tie).

    Parameters
    ----------
    module : torch.nn.Module
        Pruned network (``masks`` already applied); modified in place.
    masks : dict of name -> bool tensor
        Not modified; the updated masks are returned.
    groups : list of (label, dict of name -> bool tensor)
        Candidate groups, each naming only the parameters it touches (e.g. a network's
        ``prunable_groups()``, :class:`~bsdl.nn.structure.StructuredNetwork`).
    mse : callable
        ``mse(module)`` -> mean squared error over the ``n`` scored points (any positive
        multiple of it works: only ratios are used).
    n : int
        Number of scored points.

    Returns
    -------
    masks : dict of name -> bool tensor
    removed : list of str
        Labels of the removed groups, in removal order.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(500, 2, generator=g)
    >>> y = 2 * x[:, 0] + torch.randn(500, generator=g)        # x1 plays no part
    >>> lin = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[2.0, 0.01]])); _ = lin.bias.zero_()
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in lin.named_parameters()}
    >>> groups = [(f"x{i}", {"weight": torch.arange(2).eq(i).reshape(1, 2)}) for i in range(2)]
    >>> def mse(m):
    ...     return (m(x).squeeze(-1) - y).pow(2).mean()
    >>> new, removed = bic_simplify(lin, masks, groups, mse, n=500)
    >>> removed, new["weight"].tolist()
    (['x1'], [[True, False]])
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if isinstance(n, bool) or not isinstance(n, Integral) or n < 1:
        raise ValueError(f"n must be a positive integer (the number of scored points), got {n!r}")
    _check_groups(groups, masks)
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


def simplify_with_bic(
    module: nn.Module, masks: Masks, mse: Callable[[nn.Module], torch.Tensor], n: int
) -> Masks:
    """Structure clean-up, BIC elimination of the network's groups, clean-up again.

    ``module.simplify``, then :func:`bic_simplify` over ``module.prunable_groups()``, then
    ``module.simplify`` once more (a removed group can leave units dead). Works for any
    :class:`~bsdl.nn.structure.StructuredNetwork`; the network function changes only where
    BIC removed a group. Parameters are modified in place; the new masks are returned.

    Examples
    --------
    >>> import torch
    >>> from bsdl.nn import MLP
    >>> g = torch.Generator().manual_seed(0)
    >>> x = torch.randn(400, 3, generator=g)
    >>> y = torch.tanh(x[:, :1]) + 0.3 * torch.randn(400, 1, generator=g)
    >>> net = MLP(3, (2,))
    >>> masks = {name: torch.ones_like(p, dtype=torch.bool) for name, p in net.named_parameters()}
    >>> for p in net.parameters():
    ...     _ = p.requires_grad_(False).zero_()
    >>> first, _, readout, _ = net.parameters()
    >>> first[0, 0], readout[0, 0], first[1, 2], readout[0, 1] = 1.0, 1.0, 0.05, 0.05
    >>> new = simplify_with_bic(net, masks, lambda m: (m(x) - y).pow(2).mean(), n=400)
    >>> net.connected_inputs(new).tolist()              # the weak unit on x2 is gone
    [True, False, False]
    """
    check_structured(module)
    masks = module.simplify(masks)
    masks, _ = bic_simplify(module, masks, module.prunable_groups(), mse, n)
    return module.simplify(masks)
