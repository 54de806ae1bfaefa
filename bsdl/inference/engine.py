"""The training driver: minibatch loop with the (1/n)-scaled prior gradient.

Minimises ``mean_loss(theta) - (sigma2/n) * w_t * log pi(theta)`` where ``w_t`` is the
schedule's prior weight and ``sigma2`` the noise variance (estimated on the fly for
Gaussian likelihoods, so that the likelihood/prior balance does not depend on the scale
of the response). The loss functions return ``0.5 * MSE`` for regression, i.e. the
Gaussian negative log-likelihood times ``sigma2``; multiplying the whole objective by
``sigma2`` keeps the data-gradient scale (and the learning rate) independent of the noise.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable

import torch
from torch import nn
from tqdm.auto import tqdm

from bsdl.exceptions import TrainingDivergedError
from bsdl.inference.flat import FlatParameters
from bsdl.inference.kernels import make_kernel
from bsdl.inference.schedules import ConstantSchedule, PriorAnnealing
from bsdl.nn.penalty import penalized_flat
from bsdl.priors import MixtureGaussianPrior

__all__ = ["train", "LossFn", "limit_threads"]

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

_NOISE_VAR_BOUNDS = (1e-4, 1e2)
# below this many multiply-adds per step, extra intra-op threads cost more than they give
_SMALL_STEP_WORK = 2_000_000


@contextlib.contextmanager
def limit_threads(n_threads: int | None):
    """Run the block with ``torch.set_num_threads(n_threads)``, restoring the old value.

    ``None`` leaves the setting alone. Small networks train many times faster on one
    thread: OpenMP workers spin and contend when the per-step work is tiny, worst on a
    loaded machine.
    """
    if n_threads is None:
        yield
        return
    old = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(old)


def auto_threads(n_params: int, batch_size: int, device: torch.device) -> int | None:
    """One thread for small CPU workloads, else leave torch's setting alone."""
    if device.type == "cpu" and n_params * batch_size < _SMALL_STEP_WORK:
        return 1
    return None


def train(
    module: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    prior: MixtureGaussianPrior | None,
    schedule: PriorAnnealing | ConstantSchedule,
    n_epochs: int,
    batch_size: int,
    lr: float,
    generator: torch.Generator,
    optimizer: str = "adam",
    optimizer_options: dict | None = None,
    mask: torch.Tensor | None = None,
    estimate_noise: bool = False,
    verbose: bool = False,
    desc: str = "training",
    n_threads: int | str | None = "auto",
    n_obs: int | None = None,
) -> list[dict]:
    """Train ``module`` in place and return one history row (a dict) per epoch.

    Parameters
    ----------
    module : nn.Module
        Its trainable parameters are subject to the prior, except those it names in an
        ``unpenalized`` attribute (see :mod:`bsdl.nn.penalty`), which are trained
        without it.
    loss_fn : callable
        ``loss_fn(module, x_batch, y_batch)`` -> scalar mean loss over the batch.
    inputs, targets : Tensor
        Training data, first dimension = samples, already on the module's device.
    prior : MixtureGaussianPrior or None
        ``None`` trains without a prior (dense training, or a refit of a pruned net).
    schedule : PriorAnnealing or ConstantSchedule
    n_epochs, batch_size : int
    lr : float
    generator : torch.Generator
        On the data's device; drives the minibatch order and the SGHMC noise.
    optimizer : {"adam", "sgd", "sghmc"}
    mask : Tensor, optional
        Flat 0/1 tensor over ``module.parameters()``; pruned weights stay exactly 0.
    estimate_noise : bool
        Gaussian likelihood with ``loss = 0.5*MSE``: scale the prior term by the running
        residual variance (twice the previous epoch's mean loss).
    verbose : bool
        Show a tqdm progress bar over epochs.
    n_threads : int, "auto" or None
        Intra-op CPU threads during training (restored afterwards). "auto" uses one
        thread when a step is small (see :func:`auto_threads`); None leaves torch's setting.
    n_obs : int, optional
        Number of likelihood terms the mean loss averages over (the ``n`` of the
        ``(1/n) log pi`` prior scaling and of the SGHMC noise). Defaults to the number of
        samples ``inputs.shape[0]``; a sequence model whose samples are windows of several
        scored time steps passes the number of scored steps.
    """
    if n_threads == "auto":
        n_params = sum(p.numel() for p in module.parameters() if p.requires_grad)
        n_threads = auto_threads(n_params, min(int(batch_size), inputs.shape[0]), inputs.device)
    with limit_threads(n_threads):
        return _train(
            module,
            loss_fn,
            inputs,
            targets,
            prior=prior,
            schedule=schedule,
            n_epochs=n_epochs,
            batch_size=batch_size,
            lr=lr,
            generator=generator,
            optimizer=optimizer,
            optimizer_options=optimizer_options,
            mask=mask,
            estimate_noise=estimate_noise,
            verbose=verbose,
            desc=desc,
            n_obs=n_obs,
        )


def _train(
    module,
    loss_fn,
    inputs,
    targets,
    *,
    prior,
    schedule,
    n_epochs,
    batch_size,
    lr,
    generator,
    optimizer,
    optimizer_options,
    mask,
    estimate_noise,
    verbose,
    desc,
    n_obs=None,
) -> list[dict]:
    n_samples = inputs.shape[0]
    if n_samples != targets.shape[0]:
        raise ValueError(f"inputs and targets differ in length: {n_samples} != {targets.shape[0]}")
    n = n_samples if n_obs is None else int(n_obs)
    schedule.validate(n_epochs)
    params = [p for p in module.parameters() if p.requires_grad]
    flat = FlatParameters(params)
    kernel = make_kernel(optimizer, flat, generator, **(optimizer_options or {}))
    if schedule.max_temperature > 0 and not kernel.supports_temperature:
        raise ValueError(
            f"optimizer={optimizer!r} cannot sample at a positive temperature; "
            "use optimizer='sghmc' or an annealing schedule with temperature=0"
        )
    if mask is not None:
        mask = mask.to(flat.data)
        flat.data.mul_(mask)
    penalized = penalized_flat(module)
    free_idx = None
    if penalized is not None:
        penalized = penalized.to(flat.data.device)
        free_idx = torch.nonzero(~penalized).reshape(-1)

    batch_size = min(int(batch_size), n_samples)
    steps = max(1, math.ceil(n_samples / batch_size))
    noise_var = 1.0
    history: list[dict] = []
    current_prior = prior
    bar = tqdm(range(n_epochs), desc=desc, disable=not verbose, leave=False)
    try:
        for epoch in bar:
            perm = torch.randperm(n_samples, generator=generator, device=inputs.device)
            loss_sum = torch.zeros((), device=inputs.device, dtype=flat.data.dtype)
            for i in range(steps):
                state = schedule.at(
                    epoch + i / steps,
                    n_epochs,
                    prior.sigma0 if prior else 1.0,
                    prior.sigma1 if prior else None,
                )
                idx = perm[i * batch_size : (i + 1) * batch_size]
                flat.zero_grad()
                loss = loss_fn(module, inputs[idx], targets[idx])
                loss.backward()
                # weight each batch mean by its size: the epoch loss is the mean over samples
                loss_sum += loss.detach() * idx.numel()
                if prior is not None and state.prior_weight > 0.0:
                    if abs(state.sigma0 - current_prior.sigma0) > 1e-3 * state.sigma0:
                        current_prior = prior.with_sigma0(state.sigma0)
                    free_grad = flat.grad[free_idx] if free_idx is not None else None
                    current_prior.add_grad_(
                        flat.data, flat.grad, state.prior_weight * noise_var / n
                    )
                    if free_grad is not None:  # unpenalised parameters: data gradient only
                        flat.grad[free_idx] = free_grad
                kernel.step(lr, state.temperature * noise_var, n)
                if mask is not None:
                    flat.data.mul_(mask)
            epoch_loss = float(loss_sum) / n_samples
            if not math.isfinite(epoch_loss) or not bool(torch.isfinite(flat.data).all()):
                raise TrainingDivergedError(
                    f"{desc}: the loss became {epoch_loss} at epoch {epoch + 1}/{n_epochs}. "
                    "Try a smaller lr, optimizer='adam', or check the inputs' scale."
                )
            if estimate_noise:
                noise_var = min(max(2.0 * epoch_loss, _NOISE_VAR_BOUNDS[0]), _NOISE_VAR_BOUNDS[1])
            row = {
                "epoch": epoch + 1,
                "phase": state.phase,
                "loss": epoch_loss,
                "prior_weight": state.prior_weight,
                "sigma0": state.sigma0 if prior is not None else math.nan,
                "temperature": state.temperature,
                "noise_var": noise_var if estimate_noise else math.nan,
            }
            if prior is not None:
                t = current_prior if state.prior_weight > 0 else prior.with_sigma0(state.sigma0)
                small = flat.data.abs() <= t.threshold
                small = small if penalized is None else small[penalized]
                row["sparsity"] = float(small.float().mean())
            elif mask is not None:
                row["sparsity"] = 1.0 - float(mask.mean())
            else:
                row["sparsity"] = 0.0
            history.append(row)
            if verbose:
                bar.set_postfix(loss=f"{epoch_loss:.4g}", sparsity=f"{row['sparsity']:.3f}")
    finally:
        bar.close()
        flat.release()
    return history
