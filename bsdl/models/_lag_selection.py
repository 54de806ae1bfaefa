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

import math
from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from bsdl.models._windows import lag_windows
from bsdl.sparsify import (
    choose_linear_path,
    count_nonzero,
    get_masks,
    linear_path_bic,
    linear_path_fit,
    nonlinear_groups,
)

__all__ = [
    "LEVEL",
    "LINEAR",
    "bic_of",
    "drop_memory",
    "finish_linear",
    "linear_sample",
    "scored_points",
    "simplify_joint",
]

#: The sequence networks' convention: the linear (skip) path and the level
LINEAR, LEVEL = "skip.weight", "head.bias"


def scored_points(inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The lag vectors ``(n_scored, n_features)`` of the scored steps of the windows."""
    return inputs[:, inputs.shape[1] - targets.shape[1] :, :].reshape(-1, inputs.shape[-1])


def linear_sample(
    z: torch.Tensor, x: torch.Tensor | None, lags: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The lag vectors and targets of every time point with a full lag vector,
    ``t = lags .. n - 1`` (the sample of statsmodels' ``ar_select_order(maxlag=lags)``;
    the windows score fewer points, they leave out a burn-in)."""
    ends = torch.arange(lags, z.shape[0], device=z.device)
    feats = lag_windows(z, x, lags, 1, ends).reshape(ends.numel(), -1)
    return feats, z[lags:]


def _selected_sample(
    z: torch.Tensor, x: torch.Tensor | None, lags: int, columns: list[int]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The design of the lag-vector ``columns`` (series lags ``1..lags``, then each
    regressor's lags ``0..lags-1``) on every time point where they all exist: from the
    largest selected lag on, as statsmodels' AutoReg fits at those lags."""
    need = [c + 1 if c < lags else (c - lags) % lags for c in columns]
    t = torch.arange(max(need, default=0), z.shape[0], device=z.device)
    cols = []
    for c in columns:
        if c < lags:
            cols.append(z[t - (c + 1)])
        else:
            m, lag = divmod(c - lags, lags)
            cols.append(x[t - lag, m])
    design = torch.stack(cols, dim=1) if cols else z.new_zeros((t.numel(), 0))
    return design, z[t]


def _linear_only(masks) -> bool:
    return not any(bool(m.any()) for k, m in masks.items() if k not in (LINEAR, LEVEL))


def _scored_predictions(inputs: torch.Tensor, targets: torch.Tensor, module: nn.Module):
    return module(inputs)[:, inputs.shape[1] - targets.shape[1] :].reshape(-1)


def simplify_joint(
    base: Callable,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    module,
    masks,
    series: tuple[torch.Tensor, torch.Tensor | None, int] | None = None,
):
    """A restart's simplification with ``prune="bic"`` and ``skip=True``: ``base`` (the
    structure clean-up and BIC elimination), then the linear path (``skip.weight``) and the
    level (``head.bias``) chosen by BIC jointly with backward elimination of the network's
    groups (:func:`bsdl.sparsify.choose_linear_path`): each hidden unit or head, each
    input's network column, the recurrence (a network's optional ``memory_groups()``) and
    the whole network at once. Runs before the refit.

    When the whole network goes, the model is a linear AR: with ``series`` (the scaled
    series, the scaled regressors or None, and ``lags``) its lags are re-chosen on every
    time point with a full lag vector (:func:`linear_sample`), as statsmodels' global BIC
    search does, instead of on the windows' scored points only (the restart's ``finish``
    hook, :func:`finish_linear`, fits them after the refit)."""
    masks = base(module, masks)
    skip, level = LINEAR, LEVEL
    groups = nonlinear_groups(module, masks, skip, level, getattr(module, "memory_groups", list)())
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
    masks = module.simplify(masks)
    if series is not None and _linear_only(masks):
        keep = torch.zeros(masks[skip].numel(), dtype=torch.bool)
        keep[list(linear_path_bic(*linear_sample(*series))[1])] = True
        masks[skip] = keep.reshape(masks[skip].shape).to(masks[skip].device)
    return masks


@torch.no_grad()
def finish_linear(
    series: tuple[torch.Tensor, torch.Tensor | None, int], module, masks=None
) -> None:
    """If ``module`` is linear only (every weight but the linear path and the level is
    pruned), set its linear path and level to least squares at the selected lags on every
    time point where they exist (``series``: the scaled series, regressors or None, and
    ``lags``): the conditional maximum-likelihood AR fit, which statsmodels' AutoReg
    computes and a gradient refit on the windows only approaches. Otherwise nothing
    changes."""
    masks = get_masks(module) if masks is None else masks
    if not _linear_only(masks):
        return
    params = dict(module.named_parameters())
    w, b = params[LINEAR], params[LEVEL]
    cols = masks[LINEAR].reshape(-1).nonzero().flatten().tolist()
    design, target = _selected_sample(*series, cols)
    coef, level = linear_path_fit(design.cpu(), target.cpu(), range(len(cols)))
    weights = torch.zeros(w.numel(), dtype=torch.float64)
    weights[cols] = torch.as_tensor(coef, dtype=torch.float64)
    w.copy_(weights.reshape(w.shape).to(w))
    b.fill_(level)


def drop_memory(module, masks):
    """The masks without the network's recurrence (every group of its optional
    ``memory_groups()``), or None when none of it survives: the alternative structure a
    restart refits (``FitSpec.alternative``). Removing a recurrence without a refit loses
    what the other weights learned to read through it (a unit can read lag ``j + 1``
    through lag ``j`` one step earlier), so BIC elimination alone rarely removes it."""
    groups = getattr(module, "memory_groups", list)()
    live = [g for _, g in groups if any(bool((m & masks[k]).any()) for k, m in g.items())]
    if not live:
        return None
    out = {k: v.clone() for k, v in masks.items()}
    for group in live:
        for k, m in group.items():
            out[k] &= ~m.to(out[k].device)
    return out


def bic_of(mse: Callable, n: int, module) -> float:
    """``n log(mse) + k log n`` of ``module`` (``k`` its non-zero parameters): the BIC of
    the scored points up to a constant, to compare structures (``FitSpec.criterion``)."""
    return n * math.log(max(float(mse(module)), 1e-300)) + count_nonzero(module) * math.log(n)
