"""Several SG-MCMC chains on a network: burn-in, thinning, draws (layer L2).

The kernels (:class:`~bsdl.inference.kernels.SGLD`, :class:`~bsdl.inference.kernels.SGHMC`)
only move the flat parameter buffer; this driver runs them through the training engine
(:func:`~bsdl.inference.train`) at a fixed temperature, with the prior and an optional
fixed mask, and keeps every ``thin``-th state after ``burn_in`` kernel steps with a
:class:`DrawCollector` callback -- as pyro keeps ``MCMCKernel`` apart from ``MCMC``.
Chains run through joblib with seeds drawn before dispatch, so ``n_jobs`` (or a dask
backend) does not change the draws.

The target is ``exp(-n U(theta) / (tau * noise_var))`` with ``U`` the mean loss minus
``(noise_var / n) log pi(theta)`` (see :mod:`bsdl.inference.engine`): at temperature
``tau = 1`` and with ``noise_var`` the noise variance of a Gaussian likelihood whose loss
is ``0.5 * MSE`` (1 for a loss that is already a negative log-likelihood), the posterior.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch
from joblib import Parallel, delayed
from torch import nn

from bsdl.exceptions import TrainingDivergedError
from bsdl.inference.callbacks import Callback
from bsdl.inference.config import TrainConfig
from bsdl.inference.engine import train
from bsdl.inference.kernels import KERNELS
from bsdl.inference.schedules import ConstantSchedule
from bsdl.results.posterior import PosteriorDraws

__all__ = ["DrawCollector", "sample_chains"]


class DrawCollector(Callback):
    """Keep ``flat.data[index]`` every ``thin`` kernel steps after ``burn_in`` steps.

    Stops training once ``n_samples`` draws are kept. ``noise_var`` fixes the noise
    variance that scales the prior term and the temperature for the whole run.

    Attributes (after a run)
    ------------------------
    draws : Tensor ``(n_samples, d)``
    losses : list of float
        The minibatch mean loss at each kept draw.
    """

    def __init__(
        self,
        n_samples: int,
        thin: int = 1,
        burn_in: int = 0,
        index: torch.Tensor | None = None,
        noise_var: float = 1.0,
    ) -> None:
        self.n_samples = int(n_samples)
        self.thin = int(thin)
        self.burn_in = int(burn_in)
        self.index = index
        self.noise_var = float(noise_var)

    def on_train_begin(self, state) -> None:
        state.noise_var = self.noise_var
        self._steps = 0
        self._kept: list[torch.Tensor] = []
        self.losses: list[float] = []
        self._index = None if self.index is None else self.index.to(state.flat.data.device)

    def after_step(self, state) -> None:
        self._steps += 1
        past = self._steps - self.burn_in
        if past <= 0 or past % self.thin or len(self._kept) >= self.n_samples:
            return
        data = state.flat.data
        if not bool(torch.isfinite(data).all()):
            raise TrainingDivergedError(
                f"{state.config.desc}: a parameter became NaN or inf at kernel step "
                f"{self._steps} (draw {len(self._kept) + 1}); try a smaller lr"
            )
        self._kept.append((data if self._index is None else data[self._index]).detach().clone())
        self.losses.append(float(state.batch_loss) if state.batch_loss is not None else math.nan)
        if len(self._kept) >= self.n_samples:
            state.stop_training = True

    @property
    def draws(self) -> torch.Tensor:
        return torch.stack(self._kept) if self._kept else torch.zeros(0)


def _check_count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _run_chain(
    module: nn.Module,
    loss_fn: Callable,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    config: TrainConfig,
    collector: DrawCollector,
    seed: int,
    chain: int,
    init: Callable | None,
) -> tuple[np.ndarray, np.ndarray]:
    module = copy.deepcopy(module)
    gen = torch.Generator(device=inputs.device).manual_seed(int(seed))
    if init is not None:
        with torch.no_grad():
            init(module, torch.Generator().manual_seed(int(seed)))
    collector = copy.deepcopy(collector)
    cfg = replace(config, desc=f"chain {chain}")
    train(module, loss_fn, inputs, targets, cfg, generator=gen, callbacks=[collector])
    draws = collector.draws
    if draws.shape[0] < collector.n_samples:  # pragma: no cover - guarded by n_epochs
        raise RuntimeError(f"chain {chain} kept {draws.shape[0]} of {collector.n_samples} draws")
    return draws.cpu().double().numpy(), np.asarray(collector.losses)


def sample_chains(
    module: nn.Module,
    loss_fn: Callable,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_samples: int,
    lr: float,
    prior=None,
    kernel: str = "sghmc",
    kernel_options: dict | None = None,
    thin: int = 1,
    burn_in: int = 0,
    n_chains: int = 1,
    temperature: float = 1.0,
    batch_size: int | None = None,
    n_obs: int | None = None,
    noise_var: float = 1.0,
    mask: torch.Tensor | None = None,
    index: torch.Tensor | None = None,
    init: Callable[[nn.Module, torch.Generator], None] | None = None,
    seed: int = 0,
    n_jobs: int | None = None,
    name: str = "theta",
) -> PosteriorDraws:
    """Run ``n_chains`` SG-MCMC chains from ``module``'s weights and return their draws.

    Parameters
    ----------
    module : nn.Module
        The starting point (copied for each chain; never modified).
    loss_fn : callable
        ``loss_fn(module, x_batch, y_batch)`` -> mean loss (see :func:`bsdl.inference.train`).
    inputs, targets : Tensor
        The data, on the module's device.
    n_samples : int
        Draws kept per chain.
    lr : float
        Step size.
    prior : MixtureGaussianPrior, optional
        Added at full weight (parameters the module lists as ``unpenalized`` are left out).
    kernel : {"sghmc", "sgld"}, default "sghmc"
    kernel_options : dict, optional
        E.g. ``{"momentum": 0.9}`` for SGHMC.
    thin : int, default 1
        Keep every ``thin``-th state.
    burn_in : int, default 0
        Kernel steps discarded first.
    n_chains : int, default 1
    temperature : float, default 1.0
        ``tau``: 1 samples the posterior; must be > 0.
    batch_size : int, optional
        Minibatch size; default the whole data set (full-batch Langevin/HMC).
    n_obs : int, optional
        Likelihood terms of the full loss (default ``len(inputs)``).
    noise_var : float, default 1.0
        Fixed noise variance of a Gaussian likelihood with ``loss = 0.5 * MSE``.
    mask : Tensor, optional
        Flat 0/1 mask: masked weights stay exactly 0 (sampling on a selected subnetwork).
    index : Tensor, optional
        Flat indices of the parameters to keep in the draws (default all).
    init : callable, optional
        ``init(module, generator)`` perturbs each chain's start (e.g. over-dispersed starts
        for R-hat), with a generator seeded per chain.
    seed : int, default 0
        Seeds of the chains are drawn from it before dispatch.
    n_jobs : int, optional
        joblib workers for the chains (None: one process unless a
        ``joblib.parallel_config`` asks for more).
    name : str, default "theta"
        The variable's name in the returned draws.

    Returns
    -------
    PosteriorDraws
        ``draws[name]`` of shape ``(n_chains, n_samples, d)``; sample statistic ``"loss"``
        (the minibatch loss at each draw).

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> x = torch.randn(100, 2); y = x @ torch.tensor([1.0, -0.5]) + 0.3 * torch.randn(100)
    >>> loss = lambda m, xb, yb: 0.5 * (m(xb).squeeze(-1) - yb).pow(2).mean()
    >>> post = sample_chains(nn.Linear(2, 1), loss, x, y, n_samples=50, lr=1e-2,
    ...                      burn_in=200, n_chains=2, kernel="sgld", noise_var=0.09)
    >>> post["theta"].shape
    (2, 50, 3)
    """
    n_samples = _check_count(n_samples, "n_samples", 1)
    thin = _check_count(thin, "thin", 1)
    burn_in = _check_count(burn_in, "burn_in", 0)
    n_chains = _check_count(n_chains, "n_chains", 1)
    if kernel not in KERNELS or not KERNELS[kernel].supports_temperature:
        samplers = sorted(k for k, v in KERNELS.items() if v.supports_temperature)
        raise ValueError(f"kernel must be one of {samplers}, got {kernel!r}")
    if (
        isinstance(temperature, bool)
        or not float(temperature) > 0
        or not math.isfinite(float(temperature))
    ):
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}")
    if not (math.isfinite(float(noise_var)) and float(noise_var) > 0):
        raise ValueError(f"noise_var must be a finite number > 0, got {noise_var!r}")
    n_rows = int(inputs.shape[0])
    batch = n_rows if batch_size is None else min(_check_count(batch_size, "batch_size", 1), n_rows)
    steps_per_epoch = math.ceil(n_rows / batch)
    n_epochs = math.ceil((burn_in + n_samples * thin) / steps_per_epoch)
    config = TrainConfig(
        n_epochs=n_epochs,
        batch_size=batch,
        lr=lr,
        prior=prior,
        schedule=ConstantSchedule(
            prior_weight=1.0 if prior is not None else 0.0, temperature=float(temperature)
        ),  # fmt: skip
        optimizer=kernel,
        optimizer_options=kernel_options,
        mask=mask,
        n_obs=n_obs,
    )
    collector = DrawCollector(n_samples, thin, burn_in, index, noise_var)
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=n_chains)
    args = (module, loss_fn, inputs, targets, config, collector)
    if n_chains > 1:
        parallel = Parallel(n_jobs=n_jobs)
        if parallel.n_jobs != 1:
            runs = parallel(
                delayed(_run_chain)(*args, int(s), c, init) for c, s in enumerate(seeds)
            )
        else:
            runs = [_run_chain(*args, int(s), c, init) for c, s in enumerate(seeds)]
    else:
        runs = [_run_chain(*args, int(seeds[0]), 0, init)]
    return PosteriorDraws(
        {name: np.stack([r[0] for r in runs])},
        sample_stats={"loss": np.stack([r[1] for r in runs])},
    )
