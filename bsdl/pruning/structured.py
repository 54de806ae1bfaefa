"""Structured pruning: whole units, attention heads and recurrent hidden units.

:class:`StructuredGMP` (group-norm magnitude pruning) and :class:`StructuredMGPP` (the
same under the group spike-and-slab prior of :mod:`bsdl.pruning.group_prior`) remove whole
groups of :func:`bsdl.pruning.groups.find_groups` on the cubic schedule: at step ``t`` the
``round(s(t) * G)`` groups with the lowest score are pruned, ``G`` the number of groups
(over all families with ``ranking="global"``, within each family with
``"per_family"``). The score of a group is its root mean square
``||w_g|| / sqrt(m_g)``, so groups of different sizes (a unit of a wide layer, a head)
compare on one scale. A pruned group's weights are exact zeros from then on, and
:func:`bsdl.pruning.export` (with the same ``links``) removes the units and heads, so the
dense shapes shrink.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch

from bsdl._validation import check_in_options, check_positive_float, check_positive_int
from bsdl.exceptions import TrainingDivergedError
from bsdl.priors import MixtureGaussianPrior
from bsdl.pruning.base import Pruner, _lowest
from bsdl.pruning.group_prior import GroupMixtureGaussianPrior
from bsdl.pruning.groups import GroupFamily, find_groups
from bsdl.pruning.mgpp import MGPP, _check_anneal, default_mgpp_prior

__all__ = ["StructuredPruner", "StructuredGMP", "StructuredMGPP", "GROUP_RANKINGS"]

GROUP_RANKINGS = ("global", "per_family")


class StructuredPruner(Pruner):
    """Base of the structured pruners: the cubic schedule on the number of groups.

    Parameters
    ----------
    model : nn.Module
    final_sparsity : float
        Share of the groups removed at the end, in [0, 1).
    total_steps : int
        Optimiser steps of the whole run.
    groups : "auto" or list of {"unit", "head", "rnn_unit"}, default "auto"
        Kinds of groups (see :mod:`bsdl.pruning.groups`).
    links : dict, optional
        ``{producer module name: consumer module name}``: structures outside an
        ``nn.Sequential`` (a recurrent layer and the Linear that reads it, the two Linear
        layers of a transformer's feed-forward block). Pass the same to
        :func:`~bsdl.pruning.export`.
    exclude : str or list of str, default ()
        Glob patterns on the owning module names of families to leave out.
    ranking : {"global", "per_family"}, default "global"
    initial_sparsity, initial_warmup, final_warmup, pruning_interval
        See :class:`~bsdl.pruning.base.Pruner`.

    Attributes
    ----------
    families : list of GroupFamily
    links : dict
    """

    _tensor_lists = ("_pruned",)

    def __init__(
        self,
        model,
        final_sparsity,
        total_steps,
        *,
        groups: Sequence[str] | str = "auto",
        links: Mapping[str, str] | None = None,
        exclude: Sequence[str] | str = (),
        ranking: str = "global",
        initial_sparsity: float = 0.0,
        initial_warmup: int = 0,
        final_warmup: int = 0,
        pruning_interval: int = 10,
    ) -> None:
        self._group_spec = (groups, links, exclude)
        super().__init__(
            model,
            final_sparsity,
            total_steps,
            initial_sparsity=initial_sparsity,
            initial_warmup=initial_warmup,
            final_warmup=final_warmup,
            pruning_interval=pruning_interval,
        )
        self.ranking = check_in_options(ranking, "ranking", GROUP_RANKINGS)
        self._n_groups = sum(f.n_groups for f in self.families)
        self._group_pruned = [
            torch.zeros(f.n_groups, dtype=torch.bool, device=f.params[0].device)
            for f in self.families
        ]

    def _select_targets(self, model, targets, exclude, exclude_head) -> list:
        groups, links, excluded = self._group_spec
        self.families: list[GroupFamily] = find_groups(model, groups, links, excluded)
        self.links = dict(links or {})
        if not self.families:
            raise ValueError(
                f"groups={groups!r} (links={links!r}, exclude={excluded!r}) finds no group "
                "of trainable weights in the model: units need nn.Linear layers in an "
                "nn.Sequential or in links, heads nn.MultiheadAttention or q_proj/k_proj/"
                "v_proj/o_proj modules, recurrent units unidirectional nn.RNN/LSTM/GRU"
            )
        ids = {id(p) for f in self.families for p in f.params}
        return [(n, p) for n, p in model.named_parameters() if id(p) in ids]

    # ------------------------------------------------------------------ read-outs
    @torch.no_grad()
    def sparsity(self) -> float:
        """Measured share of the groups whose weights are all exactly zero."""
        return sum(int((f.sq_norms() == 0).sum()) for f in self.families) / self._n_groups

    @torch.no_grad()
    def weight_sparsity(self) -> float:
        """Measured share of exact zeros over the weights the groups cover."""
        return super().sparsity()

    def group_masks(self) -> dict[str, torch.Tensor]:
        """``{family name: bool tensor over its groups}``, True where the group is kept."""
        return {f"{f.kind}:{f.name}": ~m for f, m in zip(self.families, self._group_pruned)}

    def metrics(self) -> dict:
        """:meth:`Pruner.metrics` (``target_sparsity`` over groups, ``mask_sparsity`` over
        weights) and ``groups_pruned`` / ``groups``."""
        out = super().metrics()
        out["groups_pruned"] = sum(int(m.sum()) for m in self._group_pruned)
        out["groups"] = self._n_groups
        return out

    def load_state_dict(self, state: dict) -> None:
        """Restore a :meth:`state_dict`; the group masks are read from the weight masks."""
        super().load_state_dict(state)
        by_id = {id(p): m for p, m in zip(self._params, self._pruned)}
        self._group_pruned = []
        for f in self.families:
            g = torch.ones(f.n_groups, dtype=torch.bool, device=f.params[0].device)
            for p, idx in zip(f.params, f.index):
                g &= by_id[id(p)].reshape(-1)[idx].all(dim=1).to(g.device)
            self._group_pruned.append(g)

    # ------------------------------------------------------------------ mechanics
    def _group_scores(self) -> list[torch.Tensor]:
        """One score per group of each family (higher = keep): the RMS of its weights."""
        return [(f.sq_norms() / f.size).sqrt() for f in self.families]

    def _scores(self):  # pragma: no cover - the structured pruners rank groups
        raise NotImplementedError

    @torch.no_grad()
    def _update_masks(self, t: int) -> None:
        self._check_params()
        scores = []
        for f, s, m in zip(self.families, self._group_scores(), self._group_pruned):
            s = s.detach().float()
            if not bool(torch.isfinite(s).all()):
                raise TrainingDivergedError(
                    f"{type(self).__name__}: the group scores of {f.kind} {f.name!r} are not "
                    f"finite at step {t}; the weights diverged (try a smaller learning rate)"
                )
            scores.append(s.masked_fill(m.to(s.device), -math.inf))
        sched = self.schedule
        if self.ranking == "global":
            device = scores[0].device
            flat = torch.cat([s.to(device) for s in scores])
            pruned = _lowest(flat, sched.n_pruned(t, flat.numel()))
            new = list(pruned.split([f.n_groups for f in self.families]))
        else:
            new = [_lowest(s, sched.n_pruned(t, s.numel())) for s in scores]
        self._group_pruned = [g.to(f.params[0].device) for g, f in zip(new, self.families)]
        masks = {id(p): torch.zeros_like(p, dtype=torch.bool) for p in self._params}
        for f, g in zip(self.families, self._group_pruned):
            for p, m in zip(f.params, f.element_masks(g)):
                masks[id(p)] |= m
        self._pruned = [masks[id(p)] for p in self._params]
        self._keep = None
        self._n_pruned = sum(int(m.sum()) for m in self._pruned)
        self._target = sched.sparsity(t)


class StructuredGMP(StructuredPruner):
    """Group-norm magnitude pruning: remove the units, heads and recurrent hidden units with
    the smallest root mean square weight, on the cubic schedule.

    Parameters
    ----------
    model, final_sparsity, total_steps, **options
        See :class:`StructuredPruner`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import StructuredGMP, export
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> X = torch.randn(64, 8)
    >>> y = X[:, :2].sum(1, keepdim=True)
    >>> pruner = StructuredGMP(net, final_sparsity=0.5, total_steps=30, pruning_interval=5)
    >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    >>> for _ in range(30):
    ...     opt.zero_grad()
    ...     (net(X) - y).pow(2).mean().backward()
    ...     pruner.before_step(); opt.step(); pruner.after_step()
    >>> pruner.sparsity()        # 8 of the 16 hidden units are gone
    0.5
    >>> export(net, csr="never").report.layers[0]["shape_after"]
    [8, 8]
    """


class StructuredMGPP(StructuredPruner):
    r"""Structured MGPP: group-norm pruning under the group spike-and-slab prior.

    Before each optimiser step of the warm-up and pruning phases the gradient of
    ``-(w_p / n) sum_g log pi(w_g)`` (the group prior of
    :class:`~bsdl.pruning.group_prior.GroupMixtureGaussianPrior`, one spike responsibility
    per group) is added to the covered weights' gradients, so that groups whose norm falls
    below the group threshold are pulled to zero together; the mixing weight is annealed
    as in :class:`~bsdl.pruning.MGPP`. Groups are then removed by their RMS on the cubic
    schedule, as :class:`StructuredGMP` does (``prior_weight=0`` gives it exactly).

    Parameters
    ----------
    model, final_sparsity, total_steps
        See :class:`StructuredPruner`.
    n_obs : int
        Training-set size.
    prior : MixtureGaussianPrior, optional
        Per-weight spike and slab standard deviations and ``lambda_`` of each group;
        default :func:`~bsdl.pruning.default_mgpp_prior`.
    lambda_anneal : (float, float), default (1.0, 0.001)
    prior_weight : float, default 1.0
    **options
        ``groups``, ``links``, ``exclude``, ``ranking``, ``initial_sparsity``,
        ``initial_warmup``, ``final_warmup``, ``pruning_interval``.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import StructuredMGPP
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> attn = nn.MultiheadAttention(16, 4, batch_first=True)
    >>> pruner = StructuredMGPP(attn, final_sparsity=0.5, total_steps=20, n_obs=64,
    ...                         pruning_interval=5)
    >>> opt = torch.optim.Adam(attn.parameters(), lr=1e-2)
    >>> x = torch.randn(8, 5, 16)
    >>> for _ in range(20):
    ...     opt.zero_grad()
    ...     (attn(x, x, x)[0] - x).pow(2).mean().backward()
    ...     pruner.before_step(); opt.step(); pruner.after_step()
    >>> pruner.sparsity(), pruner.metrics()["groups_pruned"]   # 2 of the 4 heads removed
    (0.5, 2)
    """

    lambda_at = MGPP.lambda_at
    prior_at = MGPP.prior_at

    def __init__(
        self,
        model,
        final_sparsity,
        total_steps,
        n_obs: int,
        *,
        prior: MixtureGaussianPrior | None = None,
        lambda_anneal: tuple[float, float] = (1.0, 0.001),
        prior_weight: float = 1.0,
        **options,
    ) -> None:
        super().__init__(model, final_sparsity, total_steps, **options)
        self.n_obs = check_positive_int(n_obs, "n_obs")
        if prior is None:
            prior = default_mgpp_prior()
        if not isinstance(prior, MixtureGaussianPrior):
            raise TypeError(
                f"prior must be a bsdl.MixtureGaussianPrior or None, got {type(prior).__name__}"
            )
        self.prior = prior
        self.lambda_anneal = _check_anneal(lambda_anneal, prior)
        self.prior_weight = check_positive_float(prior_weight, "prior_weight", strict=False)
        self._current: MixtureGaussianPrior | None = None

    def group_prior_at(self, t: int) -> GroupMixtureGaussianPrior:
        """The group prior in force at step ``t``."""
        return GroupMixtureGaussianPrior(self.prior_at(t))

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if t > self.schedule.t_end or self.prior_weight == 0.0:
            return
        gp = self.group_prior_at(t)
        scale = self.prior_weight / self.n_obs
        coef = {id(p): torch.zeros(p.numel(), dtype=p.dtype, device=p.device) for p in self._params}
        for f in self.families:
            c = gp.grad_coefficient(f.sq_norms(), f.size)
            for p, idx in zip(f.params, f.index):
                src = c.to(device=p.device, dtype=p.dtype).repeat_interleave(idx.shape[1])
                coef[id(p)].index_add_(0, idx.reshape(-1), src)
        for p in self._params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            p.grad.addcmul_(p.detach(), coef[id(p)].view(p.shape), value=scale)

    def metrics(self) -> dict:
        """:meth:`StructuredPruner.metrics` and the prior's ``lambda_`` of the next step."""
        out = super().metrics()
        t = self.global_step
        on = t <= self.schedule.t_end and self.prior_weight > 0.0
        out["lambda_"] = self.lambda_at(t) if on else 0.0
        return out
