"""The anneal -> prune -> refit pipeline and the restart runner (layer L2).

:class:`FitSpec` holds everything one restart needs (picklable, so joblib can ship it to
workers, also on a dask cluster); :func:`run_restart` fits one seed; :func:`run_restarts`
fits several through joblib, so ``joblib.parallel_config(backend="dask")`` runs them on a
cluster with the same numbers as ``n_jobs=1`` (each restart's seed is drawn before dispatch).
Choosing among restarts (BIC or Laplace evidence) needs the likelihood and the Laplace
approximation, so it happens one layer up, in the estimator.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import torch
from joblib import Parallel, delayed
from torch import nn

from bsdl.inference.config import TrainConfig
from bsdl.inference.engine import train
from bsdl.inference.schedules import ConstantSchedule
from bsdl.nn import reset_parameters, unpenalized_names
from bsdl.sparsify import apply_masks, count_nonzero, flat_mask, get_masks, threshold_masks

__all__ = ["FitSpec", "RestartResult", "run_restart", "run_restarts"]


@dataclass
class FitSpec:
    """Everything one restart needs.

    Parameters
    ----------
    build_module : callable
        ``build_module()`` -> a fresh network (its weights are re-drawn from the seed).
    loss_fn : callable
        ``loss_fn(module, x_batch, y_batch)`` -> mean loss (see :func:`~bsdl.inference.train`).
    full_loss : callable
        ``full_loss(module)`` -> mean loss over all the training data.
    inputs, targets : Tensor
        Training data on ``device``.
    config : TrainConfig
        The annealing run: prior, schedule, epochs, batch size, kernel, noise estimate,
        ``n_obs``. The refit reuses it without the prior.
    refit_epochs : int
        Epochs of the refit with the mask fixed (0: no refit).
    refit_optimizer : str
        Kernel of the refit.
    device : torch.device
    simplify : callable, optional
        ``simplify(module, masks)`` -> masks: structural clean-up after threshold pruning
        (see the network's structure description).
    init_module : callable, optional
        ``init_module(module)`` run after the random initialisation (e.g. a least-squares
        start).
    finish : callable, optional
        ``finish(module)`` run after the refit with the module's masks fixed, before the
        loss is recorded (e.g. exact least squares for parameters the refit leaves
        linear); it must keep pruned weights at 0.
    alternative : callable, optional
        ``alternative(module, masks)`` -> masks or None: a smaller structure worth a fit
        of its own (e.g. the network without its recurrence: its other weights must learn
        from the start to do without it). The same seed is fitted again with the weights
        outside those masks fixed at 0, and the fit with the smaller ``criterion`` kept.
    criterion : callable, optional
        ``criterion(module)`` -> float, smaller is better (e.g. BIC); needed with
        ``alternative``.
    alternative_simplify : callable, optional
        ``simplify`` of the alternative's fit (default: ``simplify``), e.g. without the
        choice of the weights that the alternative holds at 0.
    hold : callable, optional
        ``hold(module, masks)`` -> masks: weights (those outside the returned masks) held
        at 0 through annealing, pruning and ``simplify``'s input, which may switch them on
        for the refit (e.g. a linear path chosen by a criterion after the network is
        trained, so that it does not compete with the network during annealing).
    """

    build_module: Callable[[], nn.Module]
    loss_fn: Callable
    full_loss: Callable
    inputs: torch.Tensor
    targets: torch.Tensor
    config: TrainConfig
    refit_epochs: int
    refit_optimizer: str
    device: torch.device
    simplify: Callable | None = None
    init_module: Callable | None = None
    finish: Callable | None = None
    alternative: Callable | None = None
    criterion: Callable | None = None
    hold: Callable | None = None
    alternative_simplify: Callable | None = None

    @property
    def prior(self):
        return self.config.prior

    @property
    def n(self) -> int:
        """Likelihood terms in the full loss (``config.n_obs``, default the samples)."""
        n_obs = self.config.n_obs
        return int(self.inputs.shape[0]) if n_obs is None else int(n_obs)

    def with_prior(self, prior) -> FitSpec:
        """The same spec under another prior."""
        return replace(self, config=replace(self.config, prior=prior))


@dataclass
class RestartResult:
    """What one seed produced (plain tensors and numbers, picklable for joblib)."""

    seed: int
    state_dict: dict
    inclusion: dict  # parameter name -> inclusion probabilities before pruning
    history: list
    loss: float  # mean training loss of the refitted network
    n_nonzero: int
    n_params: int
    prior: Any = None  # the MixtureGaussianPrior this restart was trained under
    n_free: int = 0  # parameters outside the prior (always kept; counted in n_nonzero/n_params)
    criteria: dict = field(default_factory=dict)


def _refit(spec: FitSpec, module: nn.Module, config, gen, seed: int, offset: int) -> list:
    """Refit ``module`` with its masks fixed and no prior for ``spec.refit_epochs`` epochs;
    its history rows (epochs counted from ``offset``)."""
    if spec.refit_epochs <= 0 or count_nonzero(module) == 0:
        return []
    refit_config = replace(
        config,
        n_epochs=spec.refit_epochs,
        prior=None,
        schedule=ConstantSchedule(prior_weight=0.0),
        optimizer=spec.refit_optimizer,
        optimizer_options=None,
        mask=flat_mask(module),
        desc=f"seed {seed}: refit",
    )
    refit = train(module, spec.loss_fn, spec.inputs, spec.targets, refit_config, generator=gen)
    for row in refit:
        row["epoch"] += offset
        row["phase"] = "refit"
    return refit


def run_restart(spec: FitSpec, seed: int) -> RestartResult:
    """Fit one network from ``seed``: anneal under the prior, prune, refit with the mask.

    The network is initialised on the CPU from ``seed`` (so a seed gives the same start on
    any device), optionally adjusted by ``spec.init_module``, trained with ``spec.config``,
    pruned at the prior threshold (``|w| > prior.threshold``; parameters outside the prior
    are kept), simplified by ``spec.simplify``, refitted with the mask fixed and no
    prior for ``spec.refit_epochs`` epochs and finished by ``spec.finish``. With
    ``spec.alternative`` the same seed is fitted again with the alternative's weights
    fixed at 0 from the start, and the fit with the smaller ``spec.criterion`` is kept.
    """
    template = spec.build_module()
    held = None if spec.hold is None else spec.hold(template, get_masks(template))
    fixed = None
    if spec.alternative is not None and spec.criterion is not None:
        fixed = spec.alternative(template, get_masks(template))
    annealed = _anneal(spec, seed, held)
    # an alternative that holds exactly the same weights at 0 anneals exactly the same
    # way (same seed, same masks): it continues from a copy instead of annealing again
    shared = fixed is not None and _same_masks(held, fixed)
    other_start = _copy_annealed(annealed) if shared else None
    result, module = _fit_once(spec, seed, held, annealed=annealed)
    if fixed is None:
        return result
    other, other_module = _fit_once(spec, seed, fixed, keep_fixed=True, annealed=other_start)
    with torch.no_grad():
        better = spec.criterion(other_module) < spec.criterion(module)
    return other if better else result


def _same_masks(a: dict | None, b: dict | None) -> bool:
    if a is None or b is None or set(a) != set(b):
        return False
    return all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


def _copy_annealed(annealed: tuple) -> tuple:
    module, history, inclusion, gen, config = annealed
    twin = torch.Generator(device=gen.device)
    twin.set_state(gen.get_state())
    return copy.deepcopy(module), copy.deepcopy(history), inclusion, twin, config


def _anneal(spec: FitSpec, seed: int, fixed: dict | None) -> tuple:
    """Initialise from ``seed`` and anneal under the prior with the weights outside
    ``fixed`` held at 0: ``(module, history, inclusion, generator, config)``."""
    device = spec.device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    module: nn.Module = spec.build_module()
    # initialise on CPU from a CPU generator so a seed gives the same start on any device
    reset_parameters(module, torch.Generator().manual_seed(int(seed)))
    if spec.init_module is not None:
        spec.init_module(module)
    module.to(device)
    config = replace(spec.config, desc=f"seed {seed}: anneal")
    if fixed is not None:
        fixed = {k: m.to(device) for k, m in fixed.items()}
        apply_masks(module, fixed, warn=False)
        config = replace(config, mask=flat_mask(module), desc=f"seed {seed}: anneal (fixed)")
    history = train(module, spec.loss_fn, spec.inputs, spec.targets, config, generator=gen)
    free = unpenalized_names(module)
    with torch.no_grad():
        inclusion = {
            name: (
                torch.ones_like(p.detach())
                if name in free
                else spec.prior.inclusion_probability(p.detach())
            ).cpu()
            for name, p in module.named_parameters()
        }
    return module, history, inclusion, gen, config


def _fit_once(
    spec: FitSpec,
    seed: int,
    fixed: dict | None,
    keep_fixed: bool = False,
    annealed: tuple | None = None,
) -> tuple[RestartResult, nn.Module]:
    """One anneal -> prune -> simplify -> refit -> finish run; ``fixed``: masks of weights
    kept at 0 through annealing and pruning (None: none), and with ``keep_fixed`` also
    after ``simplify`` (which may otherwise switch them on: ``FitSpec.hold``);
    ``annealed``: the result of :func:`_anneal` with the same ``fixed`` (None: anneal)."""
    if annealed is None:
        annealed = _anneal(spec, seed, fixed)
    module, history, inclusion, gen, config = annealed
    free = unpenalized_names(module)
    if fixed is not None:
        fixed = {k: m.to(spec.device) for k, m in fixed.items()}
    masks = threshold_masks(module, spec.prior)
    if fixed is not None:
        masks = {k: m & fixed[k] for k, m in masks.items()}
    simplify = spec.simplify
    if keep_fixed and spec.alternative_simplify is not None:
        simplify = spec.alternative_simplify
    if simplify is not None:
        masks = simplify(module, masks)
        if keep_fixed:
            masks = {k: m & fixed[k] for k, m in masks.items()}
    apply_masks(module, masks, warn=False)
    history += _refit(spec, module, config, gen, seed, len(history))
    if spec.finish is not None:
        spec.finish(module)
    with torch.no_grad():
        loss = float(spec.full_loss(module))
    if not math.isfinite(loss):
        loss = math.inf
    n_params = sum(p.numel() for p in module.parameters())
    n_free = sum(p.numel() for name, p in module.named_parameters() if name in free)
    result = RestartResult(
        seed=int(seed),
        state_dict={k: v.detach().cpu().clone() for k, v in module.state_dict().items()},
        inclusion=inclusion,
        history=history,
        loss=loss,
        n_nonzero=count_nonzero(module),
        n_params=n_params,
        prior=spec.prior,
        n_free=n_free,
    )
    return result, module


def run_restarts(
    spec: FitSpec, seed: int, n_restarts: int, priors: list | None = None, n_jobs=None
) -> list[RestartResult]:
    """Fit ``n_restarts`` seeds drawn from ``seed``; restart ``i`` uses
    ``priors[i % len(priors)]`` (default: the spec's prior).

    ``n_jobs=None`` defers to an active :func:`joblib.parallel_config` (e.g. a dask
    backend), as :class:`joblib.Parallel` does; it resolves to one process when no
    configuration asks for parallelism. The seeds are drawn before dispatch, so the
    results do not depend on ``n_jobs`` or the backend.
    """
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_restarts)
    priors = [spec.prior] if not priors else priors
    specs = [spec.with_prior(priors[i % len(priors)]) for i in range(n_restarts)]
    if n_restarts > 1:
        parallel = Parallel(n_jobs=n_jobs)
        if parallel.n_jobs != 1:
            return parallel(delayed(run_restart)(sp, int(s)) for sp, s in zip(specs, seeds))
    return [run_restart(sp, int(s)) for sp, s in zip(specs, seeds)]
