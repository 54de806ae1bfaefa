"""Masks: which parameters survive pruning, kept as ``<name>_mask`` buffers on the module."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from bsdl.exceptions import SparsityWarning
from bsdl.nn.penalty import unpenalized_names
from bsdl.priors import MixtureGaussianPrior

__all__ = ["threshold_masks", "apply_masks", "get_masks", "flat_mask", "count_nonzero"]

_SUFFIX = "_mask"


def threshold_masks(module: nn.Module, prior: MixtureGaussianPrior) -> dict[str, torch.Tensor]:
    """Keep each parameter whose inclusion probability exceeds 1/2 (``|w| > prior.threshold``).

    Parameters outside the prior (named in the module's ``unpenalized`` attribute, see
    :mod:`bsdl.nn.penalty`) are always kept.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl import MixtureGaussianPrior
    >>> lin = nn.Linear(2, 1)
    >>> with torch.no_grad():
    ...     _ = lin.weight.copy_(torch.tensor([[1.0, 1e-4]])); _ = lin.bias.zero_()
    >>> threshold_masks(lin, MixtureGaussianPrior(1e-5, 1e-3, 1.0))["weight"].tolist()
    [[True, False]]
    """
    t = prior.threshold
    free = unpenalized_names(module)
    return {
        name: torch.ones_like(p, dtype=torch.bool) if name in free else p.detach().abs() > t
        for name, p in module.named_parameters()
        if p.requires_grad
    }


def _owner(module: nn.Module, name: str) -> tuple[nn.Module, str]:
    *path, leaf = name.split(".")
    owner = module.get_submodule(".".join(path)) if path else module
    return owner, leaf


@torch.no_grad()
def apply_masks(
    module: nn.Module, masks: dict[str, torch.Tensor], *, warn: bool = True
) -> nn.Module:
    """Zero the pruned parameters and store each mask as a boolean buffer ``<param>_mask``.

    Warns (:class:`~bsdl.exceptions.SparsityWarning`) when every weight or none is pruned.
    """
    params = dict(module.named_parameters())
    total = kept = 0
    for name, mask in masks.items():
        if name not in params:
            raise ValueError(f"masks names a parameter the module lacks: {name!r}")
        p = params[name]
        if mask.shape != p.shape:
            raise ValueError(
                f"mask for {name!r} has shape {tuple(mask.shape)}, expected {tuple(p.shape)}"
            )
        mask = mask.to(device=p.device, dtype=torch.bool)
        p.mul_(mask)
        owner, leaf = _owner(module, name)
        owner.register_buffer(leaf + _SUFFIX, mask.clone())
        total += mask.numel()
        kept += int(mask.sum())
    if warn and total:
        if kept == 0:
            warnings.warn(
                "pruning removed every weight: the prior is too strong for this data "
                "(try a larger lambda_ or a smaller sigma0)",
                SparsityWarning,
                stacklevel=2,
            )
        elif kept == total:
            warnings.warn(
                "pruning removed no weight: the prior is too weak (try a smaller lambda_, "
                "a larger sigma0, or more epochs)",
                SparsityWarning,
                stacklevel=2,
            )
    return module


def get_masks(module: nn.Module) -> dict[str, torch.Tensor]:
    """The stored masks, by parameter name (parameters without a mask are all-True)."""
    out = {}
    for name, p in module.named_parameters():
        owner, leaf = _owner(module, name)
        m = getattr(owner, leaf + _SUFFIX, None)
        out[name] = m if m is not None else torch.ones_like(p, dtype=torch.bool)
    return out


def flat_mask(module: nn.Module) -> torch.Tensor:
    """All masks concatenated in ``module.parameters()`` order (float 0/1)."""
    return torch.cat([m.reshape(-1).float() for m in get_masks(module).values()])


def count_nonzero(module: nn.Module) -> int:
    """Number of parameters that survive pruning."""
    return int(sum(int(m.sum()) for m in get_masks(module).values()))
