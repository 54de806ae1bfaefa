"""The callbacks :func:`bsdl.inference.train` installs from its :class:`TrainConfig`.

* :class:`ScheduleUpdate` -- the schedule's state at each minibatch;
* :class:`~bsdl.inference.PriorGradient` (in :mod:`bsdl.inference.prior_grad`) -- the
  prior term of the gradient;
* :class:`ApplyMask` -- pruned weights zeroed at the start and after every step;
* :class:`NoiseEstimate` -- the residual variance that scales the prior term;
* :class:`History` -- one row per epoch, what ``train`` returns;
* :class:`ProgressBar` -- a tqdm bar over epochs (``verbose=True``).

They are public so that their behaviour is documented and can be reused, but ``train``
builds them itself; pass only your own callbacks in ``callbacks=``.
"""

from __future__ import annotations

import math

import torch
from tqdm.auto import tqdm

from bsdl.inference.callbacks import Callback, TrainState

__all__ = ["ScheduleUpdate", "ApplyMask", "NoiseEstimate", "History", "ProgressBar"]

NOISE_VAR_BOUNDS = (1e-4, 1e2)


class ScheduleUpdate(Callback):
    """Set ``state.schedule_state`` from the schedule at each minibatch.

    The schedule is evaluated at ``state.progress`` (fractional epochs) with the spike and
    slab widths of the run's prior (spike 1 and no slab without a prior).

    Parameters
    ----------
    schedule : PriorAnnealing or ConstantSchedule
    prior : MixtureGaussianPrior or None
    """

    def __init__(self, schedule, prior=None) -> None:
        self.schedule = schedule
        self.prior = prior

    def on_train_begin(self, state: TrainState) -> None:
        self._n_epochs = state.config.n_epochs
        self._sigma0 = self.prior.sigma0 if self.prior else 1.0
        self._sigma1 = self.prior.sigma1 if self.prior else None
        self._steps = state.steps_per_epoch

    def on_batch_begin(self, state: TrainState) -> None:
        state.schedule_state = self.schedule.at(
            state.epoch + state.step / self._steps, self._n_epochs, self._sigma0, self._sigma1
        )


class ApplyMask(Callback):
    """Keep masked weights exactly zero: multiply the parameters by the mask after each step.

    Parameters
    ----------
    mask : Tensor
        Flat 0/1 tensor over the trainable parameters; moved to their device and dtype.
    """

    def __init__(self, mask: torch.Tensor) -> None:
        self.mask = mask

    def on_train_begin(self, state: TrainState) -> None:
        if self.mask.numel() != state.flat.data.numel():
            raise ValueError(
                f"mask must have one entry per trainable weight ({state.flat.data.numel()}), "
                f"got {self.mask.numel()}"
            )
        state.mask = self.mask.reshape(-1).to(state.flat.data)
        self._mask = state.mask
        state.flat.data.mul_(self._mask)

    def after_step(self, state: TrainState) -> None:
        state.flat.data.mul_(self._mask)


class NoiseEstimate(Callback):
    """Set ``state.noise_var`` to twice the epoch's mean loss (``loss = 0.5*MSE``), clipped.

    The variance used during an epoch is the previous epoch's estimate (1 in the first),
    clipped to ``NOISE_VAR_BOUNDS``.
    """

    def on_epoch_end(self, state: TrainState) -> None:
        low, high = NOISE_VAR_BOUNDS
        state.noise_var = min(max(2.0 * state.epoch_loss, low), high)


class History(Callback):
    """Build ``state.row`` at each epoch end and append it to ``state.history``.

    Keys: ``epoch`` (from 1), ``phase``, ``loss`` (mean over the epoch's samples),
    ``prior_weight``, ``sigma0`` (NaN without a prior), ``temperature``, ``noise_var``
    (NaN unless estimated) and ``sparsity``: the share of penalised weights within the
    prior's threshold (with a prior), the masked share (with a mask only), else 0.
    """

    def on_train_begin(self, state: TrainState) -> None:
        self._prior = state.config.prior
        self._estimate_noise = bool(state.config.estimate_noise)

    def on_epoch_end(self, state: TrainState) -> None:
        sched = state.schedule_state
        prior = self._prior
        row = {
            "epoch": state.epoch + 1,
            "phase": sched.phase,
            "loss": state.epoch_loss,
            "prior_weight": sched.prior_weight,
            "sigma0": sched.sigma0 if prior is not None else math.nan,
            "temperature": sched.temperature,
            "noise_var": state.noise_var if self._estimate_noise else math.nan,
        }
        if prior is not None:
            t = state.prior if sched.prior_weight > 0 else prior.with_sigma0(sched.sigma0)
            small = state.flat.data.abs() <= t.threshold
            small = small if state.penalized is None else small[state.penalized]
            row["sparsity"] = float(small.float().mean())
        elif state.mask is not None:
            row["sparsity"] = 1.0 - float(state.mask.mean())
        else:
            row["sparsity"] = 0.0
        state.row = row
        state.history.append(row)


class ProgressBar(Callback):
    """A tqdm progress bar over epochs with the loss and sparsity of the last one."""

    def on_train_begin(self, state: TrainState) -> None:
        self._bar = tqdm(total=state.config.n_epochs, desc=state.config.desc, leave=False)

    def on_epoch_end(self, state: TrainState) -> None:
        self._bar.update(1)
        self._bar.set_postfix(
            loss=f"{state.epoch_loss:.4g}", sparsity=f"{state.row.get('sparsity', math.nan):.3f}"
        )

    def on_train_end(self, state: TrainState) -> None:
        self._bar.close()
