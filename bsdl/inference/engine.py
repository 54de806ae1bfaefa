"""The training driver: one minibatch loop, everything else in callbacks.

Minimises ``mean_loss(theta) - (sigma2/n) * w_t * log pi(theta)`` where ``w_t`` is the
schedule's prior weight and ``sigma2`` the noise variance (estimated on the fly for
Gaussian likelihoods, so that the likelihood/prior balance does not depend on the scale
of the response). The loss functions return ``0.5 * MSE`` for regression, i.e. the
Gaussian negative log-likelihood times ``sigma2``; multiplying the whole objective by
``sigma2`` keeps the data-gradient scale (and the learning rate) independent of the noise.

The loop itself only draws minibatches, calls ``backward`` and steps the kernel; the
schedule, the prior gradient, the mask, the noise estimate, the history and the progress
bar are callbacks (:mod:`bsdl.inference.callbacks`), built from one
:class:`~bsdl.inference.TrainConfig`.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import replace

import torch
from torch import nn

from bsdl.exceptions import TrainingDivergedError
from bsdl.inference.builtin_callbacks import (
    ApplyMask,
    History,
    NoiseEstimate,
    ProgressBar,
    ScheduleUpdate,
)
from bsdl.inference.callbacks import (
    Callback,
    TrainState,
    ambient_callbacks,
    bound_hooks,
    check_callbacks,
)
from bsdl.inference.config import TrainConfig
from bsdl.inference.flat import FlatParameters
from bsdl.inference.kernels import make_kernel
from bsdl.inference.prior_grad import PriorGradient
from bsdl.nn.penalty import penalized_flat

__all__ = ["train", "LossFn", "limit_threads", "auto_threads"]

LossFn = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]

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
    config: TrainConfig | None = None,
    *,
    generator: torch.Generator,
    callbacks: Sequence[Callback] | None = None,
    **options,
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
    config : TrainConfig, optional
        The run's settings. Without it, the keyword ``options`` build one.
    generator : torch.Generator
        On the data's device; drives the minibatch order and the SGHMC noise.
    callbacks : list of Callback, optional
        Called after the built-in callbacks, in order (see
        :mod:`bsdl.inference.callbacks` for the hooks and their order).
    **options
        Fields of :class:`TrainConfig` (``prior``, ``schedule``, ``n_epochs``,
        ``batch_size``, ``lr``, ``optimizer``, ``optimizer_options``, ``mask``,
        ``estimate_noise``, ``n_obs``, ``n_threads``, ``verbose``, ``desc``); with
        ``config`` they override its fields.

    Returns
    -------
    list of dict
        One row per epoch (see :class:`bsdl.inference.builtin_callbacks.History`).

    Raises
    ------
    TrainingDivergedError
        When the epoch loss or a weight stops being finite.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl import MixtureGaussianPrior
    >>> from bsdl.inference import PriorAnnealing, TrainConfig, train
    >>> x, y = torch.randn(64, 3), torch.randn(64)
    >>> loss = lambda m, xb, yb: 0.5 * (m(xb).squeeze(-1) - yb).pow(2).mean()
    >>> cfg = TrainConfig(n_epochs=10, batch_size=16, lr=1e-2,
    ...                   prior=MixtureGaussianPrior(1e-3, 0.01, 1.0), schedule=PriorAnnealing())
    >>> history = train(nn.Linear(3, 1), loss, x, y, cfg,
    ...                 generator=torch.Generator().manual_seed(0))
    >>> [row["phase"] for row in history][:3], len(history)
    (['warmup', 'ramp', 'anneal'], 10)
    """
    config = _resolve_config(config, options)
    user = check_callbacks(callbacks)
    if any(isinstance(cb, PriorGradient) for cb in user):
        raise ValueError(
            "callbacks must not contain a PriorGradient: train adds the prior gradient "
            "itself when given prior=..."
        )
    n_threads = config.n_threads
    if n_threads == "auto":
        n_params = sum(p.numel() for p in module.parameters() if p.requires_grad)
        n_threads = auto_threads(
            n_params, min(int(config.batch_size), inputs.shape[0]), inputs.device
        )
    with limit_threads(n_threads):
        return _run(module, loss_fn, inputs, targets, config, generator, user)


def _resolve_config(config: TrainConfig | None, options: dict) -> TrainConfig:
    unknown = sorted(set(options) - set(TrainConfig.field_names()))
    if unknown:
        raise TypeError(
            f"train() got unknown option(s) {unknown}; the options are the fields of "
            f"TrainConfig: {list(TrainConfig.field_names())}"
        )
    if config is None:
        return TrainConfig(**options)
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    return replace(config, **options) if options else config


def builtin_callbacks(config: TrainConfig) -> list[Callback]:
    """The callbacks ``train`` installs for ``config``, in the order they run."""
    cbs: list[Callback] = [ScheduleUpdate(config.schedule, config.prior)]
    if config.prior is not None:
        cbs.append(PriorGradient(config.prior))
    if config.mask is not None:
        cbs.append(ApplyMask(config.mask))
    if config.estimate_noise:
        cbs.append(NoiseEstimate())
    cbs.append(History())
    if config.verbose:
        cbs.append(ProgressBar())
    return cbs


def _run(module, loss_fn, inputs, targets, config: TrainConfig, generator, user) -> list[dict]:
    n_samples = inputs.shape[0]
    if n_samples != targets.shape[0]:
        raise ValueError(f"inputs and targets differ in length: {n_samples} != {targets.shape[0]}")
    n_epochs = config.n_epochs
    config.schedule.validate(n_epochs)
    params = [p for p in module.parameters() if p.requires_grad]
    flat = FlatParameters(params)
    try:
        kernel = make_kernel(config.optimizer, flat, generator, **(config.optimizer_options or {}))
        if config.schedule.max_temperature > 0 and not kernel.supports_temperature:
            raise ValueError(
                f"optimizer={config.optimizer!r} cannot sample at a positive temperature; "
                "use optimizer='sghmc' or an annealing schedule with temperature=0"
            )
        penalized = penalized_flat(module)
        if penalized is not None:
            penalized = penalized.to(flat.data.device)
        batch_size = min(int(config.batch_size), n_samples)
        steps = max(1, math.ceil(n_samples / batch_size))
        state = TrainState(
            module=module,
            flat=flat,
            config=config,
            kernel=kernel,
            generator=generator,
            n=n_samples if config.n_obs is None else int(config.n_obs),
            n_samples=n_samples,
            batch_size=batch_size,
            steps_per_epoch=steps,
            penalized=penalized,
            prior=config.prior,
        )
    except BaseException:
        flat.release()
        raise
    callbacks = [*builtin_callbacks(config), *user, *ambient_callbacks()]
    hooks = {name: bound_hooks(callbacks, name) for name in ("on_train_begin", "on_train_end")}
    try:
        for hook in hooks["on_train_begin"]:
            hook(state)
        _loop(state, loss_fn, inputs, targets, callbacks)
    except BaseException as exc:
        state.error = exc
        raise
    finally:
        try:
            for hook in hooks["on_train_end"]:
                hook(state)
        finally:
            flat.release()
    return state.history


def _loop(state: TrainState, loss_fn, inputs, targets, callbacks) -> None:
    """The hot loop: only the hooks some callback overrides are called."""
    epoch_begin = bound_hooks(callbacks, "on_epoch_begin")
    batch_begin = bound_hooks(callbacks, "on_batch_begin")
    after_backward = bound_hooks(callbacks, "after_backward")
    after_step = bound_hooks(callbacks, "after_step")
    epoch_end = bound_hooks(callbacks, "on_epoch_end")
    module, flat, kernel, generator = state.module, state.flat, state.kernel, state.generator
    n_samples, batch_size, steps = state.n_samples, state.batch_size, state.steps_per_epoch
    n = state.n
    lr = state.config.lr
    n_epochs = state.config.n_epochs
    desc = state.config.desc
    device = inputs.device
    for epoch in range(n_epochs):
        state.epoch, state.step = epoch, 0
        for hook in epoch_begin:
            hook(state)
        perm = torch.randperm(n_samples, generator=generator, device=device)
        loss_sum = torch.zeros((), device=device, dtype=flat.data.dtype)
        for i in range(steps):
            state.step = i
            for hook in batch_begin:
                hook(state)
            idx = perm[i * batch_size : (i + 1) * batch_size]
            flat.zero_grad()
            loss = loss_fn(module, inputs[idx], targets[idx])
            loss.backward()
            batch_loss = state.batch_loss = loss.detach()
            # weight each batch mean by its size: the epoch loss is the mean over samples
            loss_sum += batch_loss * idx.numel()
            for hook in after_backward:
                hook(state)
            kernel.step(lr, state.schedule_state.temperature * state.noise_var, n)
            state.global_step += 1
            for hook in after_step:
                hook(state)
        epoch_loss = state.epoch_loss = float(loss_sum) / n_samples
        if not math.isfinite(epoch_loss) or not bool(torch.isfinite(flat.data).all()):
            raise TrainingDivergedError(
                f"{desc}: the loss became {epoch_loss} at epoch {epoch + 1}/{n_epochs}. "
                "Try a smaller lr, optimizer='adam', or check the inputs' scale."
            )
        for hook in epoch_end:
            hook(state)
        if state.stop_training:
            break
