"""Magnitude pruners: gradual magnitude pruning (GMP) and dynamic pruning with feedback (DPF)."""

from __future__ import annotations

import torch

from bsdl.pruning.base import Pruner

__all__ = ["GMP", "DPF"]


class GMP(Pruner):
    """Gradual magnitude pruning (Zhu & Gupta 2017): keep the largest ``|w|``.

    On the cubic schedule of :class:`~bsdl.pruning.schedule.CubicSchedule`, the smallest
    weights in magnitude are removed (over all targeted tensors with ``ranking="global"``,
    the default), and pruned weights stay zero. :class:`~bsdl.pruning.MGPP` is the same
    pruner with the spike-and-slab prior's gradient added before each step.

    Parameters
    ----------
    model, final_sparsity, total_steps, **options
        See :class:`~bsdl.pruning.base.Pruner`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import GMP
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(64, 8, generator=g)
    >>> y = X[:, :2].sum(1, keepdim=True)
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> pruner = GMP(net, final_sparsity=0.75, total_steps=40, pruning_interval=5)
    >>> opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    >>> for step in range(40):
    ...     opt.zero_grad()
    ...     loss = (net(X) - y).pow(2).mean()
    ...     loss.backward()
    ...     pruner.before_step()
    ...     opt.step()
    ...     pruner.after_step()
    >>> pruner.targets, pruner.sparsity()  # the head (last Linear) is left dense
    (['0.weight'], 0.75)
    """

    def _scores(self) -> list[torch.Tensor]:
        return [p.detach().abs() for p in self._params]


class DPF(Pruner):
    """Dynamic pruning with feedback (Lin et al., ICLR 2020).

    The pruner keeps a dense copy of the targeted weights. The forward and backward passes
    use the pruned weights ``m * w``; :meth:`before_step` puts the dense weights back so
    that the optimiser applies that gradient to them (the error feedback:
    ``w <- w - lr * g(m * w)``), and :meth:`after_step` stores the new dense weights,
    recomputes the mask from their magnitudes on schedule (so a pruned weight can come
    back) and prunes the model again. After the last pruning step (``t_end``) the mask is
    fixed, the dense copy is dropped and the pruned weights are zero for good: the final
    fine-tuning is that of the other pruners.

    Between ``after_step`` and the next ``before_step`` the model holds the pruned weights,
    which is what evaluation should use.

    Parameters
    ----------
    model, final_sparsity, total_steps, **options
        See :class:`~bsdl.pruning.base.Pruner`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import DPF
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> X, y = torch.randn(64, 8), torch.randn(64, 1)
    >>> pruner = DPF(net, final_sparsity=0.5, total_steps=20, final_warmup=5,
    ...              pruning_interval=2)
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

    regrow = True
    _tensor_lists = ("_pruned", "_dense")

    def __init__(self, model, final_sparsity, total_steps, **options) -> None:
        super().__init__(model, final_sparsity, total_steps, **options)
        self._dense: list[torch.Tensor] | None = None

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if self._dense is not None:  # gradient taken at m * w: step the dense weights
            for p, d in zip(self._params, self._dense):
                p.copy_(d)

    @torch.no_grad()
    def _after_update(self, t: int) -> None:
        sched = self.schedule
        if sched.phase(t) == "pruning":
            if self._dense is None:
                self._dense = [p.detach().clone() for p in self._params]
            else:
                for p, d in zip(self._params, self._dense):
                    d.copy_(p)
            if sched.prunes_at(t):
                self._update_masks(t)
            if t == sched.t_end:
                self._dense = None  # the mask is fixed from here on
        if self._n_pruned:
            self._apply_masks()

    def _scores(self) -> list[torch.Tensor]:
        return [d.abs() for d in self._dense]

    def metrics(self) -> dict:
        """:meth:`Pruner.metrics` and ``feedback`` (whether the dense copy is in use)."""
        out = super().metrics()
        out["feedback"] = self._dense is not None
        return out
