"""Pruners that rank weights by a score accumulated from gradients: movement pruning and
PLATON."""

from __future__ import annotations

from numbers import Real

import torch

from bsdl.pruning.base import Pruner

__all__ = ["MovementPruning", "PLATON"]


class MovementPruning(Pruner):
    """Movement pruning (Sanh, Wolf & Rush 2020) with accumulated first-order scores.

    Before each optimiser step of the warm-up and pruning phases the score of every
    targeted weight grows by ``-w * dL/dw``: weights that the gradient pushes away from
    zero gain score, weights moving towards zero lose it. The weights with the lowest
    accumulated score are pruned on the cubic schedule (the hard, top-k variant); a
    pruned weight's score no longer changes.

    Parameters
    ----------
    model, final_sparsity, total_steps, **options
        See :class:`~bsdl.pruning.base.Pruner`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import MovementPruning
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> X, y = torch.randn(64, 8), torch.randn(64, 1)
    >>> pruner = MovementPruning(net, final_sparsity=0.5, total_steps=20, initial_warmup=4)
    >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    >>> for step in range(20):
    ...     opt.zero_grad()
    ...     (net(X) - y).pow(2).mean().backward()
    ...     pruner.before_step()
    ...     opt.step()
    ...     pruner.after_step()
    >>> pruner.sparsity()
    0.5
    """

    _tensor_lists = ("_pruned", "_score")

    def __init__(self, model, final_sparsity, total_steps, **options) -> None:
        super().__init__(model, final_sparsity, total_steps, **options)
        self._score = [torch.zeros_like(p, dtype=torch.float32) for p in self._params]

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if t > self.schedule.t_end:
            return
        for p, s in zip(self._params, self._score):
            if p.grad is not None:
                s.addcmul_(p.detach().float(), p.grad.float(), value=-1.0)

    def _scores(self) -> list[torch.Tensor]:
        return self._score


def _check_beta(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a float in [0, 1), got {type(value).__name__}")
    out = float(value)
    if not 0.0 <= out < 1.0:
        raise ValueError(f"{name} must be in [0, 1), got {out!r}")
    return out


class PLATON(Pruner):
    """PLATON (Zhang et al., ICML 2022): importance times its uncertainty.

    Before each optimiser step of the warm-up and pruning phases, with ``I = |w * dL/dw|``
    the sensitivity of the loss to removing the weight,

        Ibar <- beta1 * Ibar + (1 - beta1) * I         (smoothed importance)
        U    <- beta2 * U    + (1 - beta2) * |I - Ibar|  (its local variation)

    and the weights with the lowest ``Ibar * U`` (the upper confidence bound of the
    paper) are pruned on the cubic schedule.

    Parameters
    ----------
    model, final_sparsity, total_steps, **options
        See :class:`~bsdl.pruning.base.Pruner`.
    beta1 : float, default 0.85
        Smoothing of the importance.
    beta2 : float, default 0.95
        Smoothing of the uncertainty (the paper's defaults for BERT).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import PLATON
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> X, y = torch.randn(64, 8), torch.randn(64, 1)
    >>> pruner = PLATON(net, final_sparsity=0.5, total_steps=20, initial_warmup=4)
    >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    >>> for step in range(20):
    ...     opt.zero_grad()
    ...     (net(X) - y).pow(2).mean().backward()
    ...     pruner.before_step()
    ...     opt.step()
    ...     pruner.after_step()
    >>> pruner.sparsity()
    0.5
    """

    _tensor_lists = ("_pruned", "_importance", "_uncertainty")

    def __init__(
        self, model, final_sparsity, total_steps, *, beta1=0.85, beta2=0.95, **options
    ) -> None:
        super().__init__(model, final_sparsity, total_steps, **options)
        self.beta1 = _check_beta(beta1, "beta1")
        self.beta2 = _check_beta(beta2, "beta2")
        self._importance = [torch.zeros_like(p, dtype=torch.float32) for p in self._params]
        self._uncertainty = [torch.zeros_like(p, dtype=torch.float32) for p in self._params]

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if t > self.schedule.t_end:
            return
        b1, b2 = self.beta1, self.beta2
        for p, ibar, unc in zip(self._params, self._importance, self._uncertainty):
            if p.grad is None:
                ipt = torch.zeros_like(ibar)
            else:
                ipt = (p.detach().float() * p.grad.float()).abs_()
            ibar.mul_(b1).add_(ipt, alpha=1.0 - b1)
            unc.mul_(b2).add_(ipt.sub_(ibar).abs_(), alpha=1.0 - b2)

    def _scores(self) -> list[torch.Tensor]:
        return [ibar * unc for ibar, unc in zip(self._importance, self._uncertainty)]
