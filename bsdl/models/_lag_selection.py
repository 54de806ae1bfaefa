"""Lag selection of the sequence forecasters beyond the prior's threshold (layer L4).

With ``prune="bic"`` and ``skip=True`` each restart's simplification ends with the linear
path (the skip weights on the lag vector) and the level chosen by BIC jointly with backward
elimination of the network's groups (:func:`bsdl.sparsify.choose_linear_path`), before the
refit. BIC, ``-2 log L + k log n`` over the scored time points, is the criterion: it is
consistent for the finite family of candidate structures (see the module docstring of
:mod:`bsdl.sparsify.linear_path`), and on the linear path it is statsmodels' global subset
search by BIC on the partial residual of the network. The prior's inclusion probabilities
no longer decide the lags alone: they decide which weights of the *network* survive
annealing; BIC then decides the linear part and whether each surviving group pays.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from bsdl.sparsify import choose_linear_path

__all__ = ["scored_points", "simplify_joint", "LINEAR", "LEVEL"]

#: The sequence networks' convention: the linear (skip) path and the level
LINEAR, LEVEL = "skip.weight", "head.bias"


def scored_points(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The lag vectors ``(n_scored, n_features)`` of the scored steps of the windows."""
    return inputs[:, inputs.shape[1] - targets.shape[1] :, :].reshape(-1, inputs.shape[-1])


def _scored_predictions(inputs: torch.Tensor, targets: torch.Tensor, module: nn.Module):
    return module(inputs)[:, inputs.shape[1] - targets.shape[1] :].reshape(-1)


def simplify_joint(base: Callable, inputs: torch.Tensor, targets: torch.Tensor, module, masks):
    """A restart's simplification with ``prune="bic"`` and ``skip=True``: ``base`` (the
    structure clean-up and BIC elimination), then the linear path (``skip.weight``) and the
    level (``head.bias``) chosen by BIC jointly with backward elimination of the network's
    groups (:func:`bsdl.sparsify.choose_linear_path`): each hidden unit or head, each
    input's network column, the recurrence (a network's optional ``memory_groups()``) and
    the whole network at once. Runs before the refit."""
    masks = base(module, masks)
    skip, level = LINEAR, LEVEL
    groups = []
    for label, group in module.prunable_groups():
        group = {k: m for k, m in group.items() if k != skip}
        if group:
            groups.append((label, group))
    groups += getattr(module, "memory_groups", list)()
    whole = {k: torch.ones_like(m) for k, m in masks.items() if k not in (skip, level)}
    groups.append(("network", whole))
    masks, _ = choose_linear_path(
        module,
        masks,
        x=scored_points(inputs, targets),
        y=targets.reshape(-1),
        predict=partial(_scored_predictions, inputs, targets),
        linear=skip,
        level=level,
        groups=groups,
    )
    return module.simplify(masks)
