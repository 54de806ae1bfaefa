"""One object for the settings of a training run: :class:`TrainConfig`.

:func:`bsdl.inference.train` takes either a ``TrainConfig`` or its fields as keywords;
the estimators build one per restart and derive the refit's with
:func:`dataclasses.replace`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from numbers import Integral, Real
from typing import Any

import torch

from bsdl.inference.kernels import KERNELS
from bsdl.inference.schedules import ConstantSchedule

__all__ = ["TrainConfig"]


def _check_int(value, name: str, low: int) -> None:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < low:
        raise ValueError(f"{name} must be >= {low}, got {value!r}")


@dataclass(frozen=True, eq=False)
class TrainConfig:
    """Settings of one training run of :func:`bsdl.inference.train`.

    Parameters
    ----------
    n_epochs : int
        Passes over the data (0 trains nothing).
    batch_size : int
        Minibatch size (capped at the number of samples).
    lr : float
        Learning rate (step size of the kernel), >= 0.
    prior : MixtureGaussianPrior or None, default None
        ``None`` trains without a prior (dense training, or a refit of a pruned net).
    schedule : PriorAnnealing or ConstantSchedule, default ConstantSchedule()
        Prior weight, spike width and temperature as functions of training progress.
    optimizer : {"adam", "sgd", "sghmc"}, default "adam"
        The kernel that moves the flat parameter buffer (see :mod:`bsdl.inference.kernels`).
    optimizer_options : dict, optional
        Keyword arguments of the kernel (``momentum`` for SGD/SGHMC, ``betas``/``eps`` for
        Adam).
    mask : Tensor, optional
        Flat 0/1 tensor over the trainable parameters (``module.parameters()`` order);
        masked weights stay exactly 0.
    estimate_noise : bool, default False
        Gaussian likelihood with ``loss = 0.5*MSE``: scale the prior term (and the SGHMC
        temperature) by the running residual variance, twice the previous epoch's mean
        loss.
    n_obs : int, optional
        Number of likelihood terms the mean loss averages over (the ``n`` of the
        ``(1/n) log pi`` prior scaling and of the SGHMC noise); default the number of
        samples. A sequence model whose samples are windows of several scored time steps
        passes the number of scored steps.
    n_threads : int, "auto" or None, default "auto"
        Intra-op CPU threads during training (restored afterwards). "auto" uses one
        thread when a step is small (see :func:`bsdl.inference.engine.auto_threads`);
        None leaves torch's setting.
    verbose : bool, default False
        Show a tqdm progress bar over epochs.
    desc : str, default "training"
        Label of the run (progress bar, error messages; callbacks read it from
        ``state.config.desc``).

    Examples
    --------
    >>> from dataclasses import replace
    >>> cfg = TrainConfig(n_epochs=100, batch_size=32, lr=1e-3)
    >>> refit = replace(cfg, n_epochs=20, desc="refit")
    >>> refit.n_epochs, refit.optimizer
    (20, 'adam')
    >>> TrainConfig(n_epochs=10, batch_size=0, lr=1e-3)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be >= 1, got 0
    """

    n_epochs: int
    batch_size: int
    lr: float
    prior: Any = None
    schedule: Any = field(default_factory=ConstantSchedule)
    optimizer: str = "adam"
    optimizer_options: dict | None = None
    mask: torch.Tensor | None = None
    estimate_noise: bool = False
    n_obs: int | None = None
    n_threads: int | str | None = "auto"
    verbose: bool = False
    desc: str = "training"

    def __post_init__(self) -> None:
        _check_int(self.n_epochs, "n_epochs", 0)
        _check_int(self.batch_size, "batch_size", 1)
        if isinstance(self.lr, bool) or not isinstance(self.lr, Real):
            raise TypeError(f"lr must be a real number, got {type(self.lr).__name__}")
        if not (math.isfinite(self.lr) and self.lr >= 0.0):
            raise ValueError(f"lr must be finite and >= 0, got {self.lr!r}")
        if self.prior is not None and not (
            hasattr(self.prior, "add_grad_") and hasattr(self.prior, "with_sigma0")
        ):
            raise TypeError(
                f"prior must be a MixtureGaussianPrior or None, got {type(self.prior).__name__}"
            )
        if not (hasattr(self.schedule, "at") and hasattr(self.schedule, "validate")):
            raise TypeError(
                "schedule must be a PriorAnnealing or ConstantSchedule, "
                f"got {type(self.schedule).__name__}"
            )
        if self.optimizer not in KERNELS:
            raise ValueError(f"optimizer must be one of {sorted(KERNELS)}, got {self.optimizer!r}")
        if self.optimizer_options is not None and not isinstance(self.optimizer_options, dict):
            raise TypeError(
                "optimizer_options must be a dict or None, "
                f"got {type(self.optimizer_options).__name__}"
            )
        if self.mask is not None and not isinstance(self.mask, torch.Tensor):
            raise TypeError(f"mask must be a torch.Tensor or None, got {type(self.mask).__name__}")
        if self.n_obs is not None:
            _check_int(self.n_obs, "n_obs", 1)
        if self.n_threads not in ("auto", None):
            _check_int(self.n_threads, "n_threads (or 'auto' or None)", 1)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The names :func:`bsdl.inference.train` accepts as keyword options.

        Examples
        --------
        >>> TrainConfig.field_names()[:3]
        ('n_epochs', 'batch_size', 'lr')
        """
        return tuple(f.name for f in fields(cls))
