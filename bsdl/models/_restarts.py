"""One restart of the sparse-training pipeline: anneal, prune at the threshold, refit."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn

from bsdl.inference import ConstantSchedule, TrainConfig, train
from bsdl.nn import reset_parameters, unpenalized_names
from bsdl.sparsify import apply_masks, count_nonzero, flat_mask, threshold_masks

__all__ = ["RestartResult", "run_restart"]


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


def run_restart(spec, seed: int) -> RestartResult:
    """Fit one network from ``seed`` following ``spec`` (an estimator's ``_TrainSpec``)."""
    device = spec.device
    gen = torch.Generator(device=device).manual_seed(int(seed))
    module: nn.Module = spec.build_module()
    # initialise on CPU from a CPU generator so a seed gives the same start on any device
    reset_parameters(module, torch.Generator().manual_seed(int(seed)))
    if spec.init_module is not None:
        spec.init_module(module)
    module.to(device)
    config = TrainConfig(
        n_epochs=spec.n_epochs,
        batch_size=spec.batch_size,
        lr=spec.lr,
        prior=spec.prior,
        schedule=spec.schedule,
        optimizer=spec.optimizer,
        optimizer_options=spec.optimizer_options,
        estimate_noise=spec.estimate_noise,
        verbose=spec.verbose,
        n_obs=spec.n_obs,
        desc=f"seed {seed}: anneal",
    )
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
    masks = threshold_masks(module, spec.prior)
    if spec.simplify is not None:
        masks = spec.simplify(module, masks)
    apply_masks(module, masks, warn=False)
    if spec.refit_epochs > 0 and count_nonzero(module) > 0:
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
            row["epoch"] += len(history)
            row["phase"] = "refit"
        history += refit
    with torch.no_grad():
        loss = float(spec.full_loss(module))
    if not math.isfinite(loss):
        loss = math.inf
    n_params = sum(p.numel() for p in module.parameters())
    n_free = sum(p.numel() for name, p in module.named_parameters() if name in free)
    return RestartResult(
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
