"""The spike-and-slab prior's gradient as a callback, for bsdl's engine and for any loop.

The objective of a mean loss over ``n`` likelihood terms under the prior is
``mean_loss(theta) - (w * sigma2 / n) * log pi(theta)``; its prior part adds
``(w * sigma2 / n) * d(-log pi)/dtheta`` to the data gradient, with ``w`` the schedule's
prior weight and ``sigma2`` the noise variance (1 for a likelihood without one).
:class:`PriorGradient` adds that term after ``loss.backward()``: inside
:func:`bsdl.inference.train` on the flat gradient buffer, in a user's own PyTorch loop on
each ``p.grad``. :func:`add_prior_grad_` is the same as a function.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import torch
from torch import nn

from bsdl.inference.callbacks import Callback, TrainState
from bsdl.nn.penalty import unpenalized_names

__all__ = ["PriorGradient", "add_prior_grad_"]

# relative change of the annealed spike sd below which the engine keeps the current prior
_SIGMA0_RTOL = 1e-3


def _check_prior(prior) -> None:
    if not (hasattr(prior, "add_grad_") and hasattr(prior, "with_sigma0")):
        raise TypeError(f"prior must be a MixtureGaussianPrior, got {type(prior).__name__}")


def _check_n_obs(n_obs) -> int:
    if isinstance(n_obs, bool) or not isinstance(n_obs, Integral):
        raise TypeError(f"n_obs must be an int, got {type(n_obs).__name__} {n_obs!r}")
    if n_obs < 1:
        raise ValueError(f"n_obs must be >= 1, got {n_obs!r}")
    return int(n_obs)


def _check_nonneg(value, name: str, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    ok = value > 0.0 if positive else value >= 0.0
    if not (math.isfinite(value) and ok):
        raise ValueError(
            f"{name} must be finite and {'> 0' if positive else '>= 0'}, got {value!r}"
        )
    return value


def add_prior_grad_(
    module: nn.Module,
    prior,
    n_obs: int,
    *,
    weight: float = 1.0,
    noise_var: float = 1.0,
) -> None:
    r"""Add ``(weight * noise_var / n_obs) * d(-log pi)/dw`` to every penalised ``p.grad``.

    Call it between ``loss.backward()`` and ``optimizer.step()`` of a loop that minimises
    a *mean* loss over ``n_obs`` observations: the step then follows the posterior's
    negative log density divided by ``n_obs``. Parameters named in the module's
    ``unpenalized`` attribute (see :mod:`bsdl.nn.penalty`) and frozen ones are left
    alone; a parameter without a gradient gets one.

    Parameters
    ----------
    module : nn.Module
    prior : MixtureGaussianPrior
    n_obs : int
        Observations the mean loss averages over (the training set size).
    weight : float, default 1.0
        Prior weight (an annealing schedule's ``prior_weight``).
    noise_var : float, default 1.0
        Noise variance of a Gaussian likelihood whose loss is ``0.5 * MSE`` (the loss is
        then the negative log-likelihood times ``noise_var``); 1 otherwise.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl import MixtureGaussianPrior
    >>> from bsdl.inference import add_prior_grad_
    >>> prior = MixtureGaussianPrior(lambda_=0.1, sigma0=0.01, sigma1=1.0)
    >>> net = nn.Linear(1, 1, bias=False)
    >>> with torch.no_grad():
    ...     _ = net.weight.fill_(2.0)  # far in the slab: gradient ~ w / sigma1**2 / n
    >>> add_prior_grad_(net, prior, n_obs=100)
    >>> round(float(net.weight.grad), 6)
    0.02
    """
    _check_prior(prior)
    n_obs = _check_n_obs(n_obs)
    scale = _check_nonneg(weight, "weight") * _check_nonneg(noise_var, "noise_var", True) / n_obs
    free = unpenalized_names(module)
    for name, p in module.named_parameters():
        if not p.requires_grad or name in free:
            continue
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        prior.add_grad_(p.detach(), p.grad, scale)


class PriorGradient(Callback):
    r"""Add the prior's gradient after ``loss.backward()``: in bsdl's engine or your own loop.

    In your own loop, build it with the module and call :meth:`after_backward` with no
    argument between ``loss.backward()`` and ``optimizer.step()``; it adds
    ``(weight * noise_var / n_obs) * d(-log pi)/dw`` to each penalised ``p.grad`` (see
    :func:`add_prior_grad_`). Change ``weight`` or ``prior`` between steps to anneal.

    :func:`bsdl.inference.train` installs one itself when given ``prior=``; there
    ``after_backward(state)`` works on the flat gradient with the schedule's prior weight
    and spike width and the run's noise variance, and leaves the unpenalised entries
    alone. Do not also pass one in ``callbacks=``.

    Parameters
    ----------
    prior : MixtureGaussianPrior
    n_obs : int, optional
        Observations the mean loss averages over; required in your own loop. In the
        engine the run's ``n`` is used.
    module : nn.Module, optional
        The network of your own loop.
    weight : float, default 1.0
        Prior weight in your own loop.
    noise_var : float, default 1.0
        Noise variance in your own loop (see :func:`add_prior_grad_`).

    Examples
    --------
    MAP training of a small network under the spike-and-slab prior with ``torch.optim``:

    >>> import torch
    >>> from torch import nn
    >>> from bsdl import MixtureGaussianPrior
    >>> from bsdl.inference import PriorGradient
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(200, 5, generator=g)
    >>> y = 2.0 * X[:, :1] + 0.1 * torch.randn(200, 1, generator=g)  # only input 0 matters
    >>> net = nn.Linear(5, 1)
    >>> prior = MixtureGaussianPrior(lambda_=1e-3, sigma0=0.01, sigma1=1.0)
    >>> prior_grad = PriorGradient(prior, n_obs=len(X), module=net)
    >>> opt = torch.optim.Adam(net.parameters(), lr=0.02)
    >>> for epoch in range(100):
    ...     for idx in torch.randperm(len(X), generator=g).split(50):
    ...         opt.zero_grad()
    ...         loss = 0.5 * (net(X[idx]) - y[idx]).pow(2).mean()
    ...         loss.backward()
    ...         prior_grad.after_backward()  # grad += (1/n) d(-log pi)/dw
    ...         opt.step()
    >>> (net.weight.abs() > prior.threshold).int().tolist()
    [[1, 0, 0, 0, 0]]
    """

    def __init__(
        self,
        prior,
        n_obs: int | None = None,
        module: nn.Module | None = None,
        *,
        weight: float = 1.0,
        noise_var: float = 1.0,
    ) -> None:
        _check_prior(prior)
        if n_obs is not None:
            n_obs = _check_n_obs(n_obs)
        if module is not None and not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.prior = prior
        self.n_obs = n_obs
        self.module = module
        self.weight = _check_nonneg(weight, "weight")
        self.noise_var = _check_nonneg(noise_var, "noise_var", positive=True)
        self._free_idx: torch.Tensor | None = None

    def on_train_begin(self, state: TrainState) -> None:
        state.prior = self.prior
        self._free_idx = (
            None if state.penalized is None else torch.nonzero(~state.penalized).reshape(-1)
        )
        self._n = state.n if self.n_obs is None else self.n_obs

    def after_backward(self, state: TrainState | None = None) -> None:
        """Add the prior term to the gradient (see the class docstring for both uses)."""
        if state is None:
            if self.module is None or self.n_obs is None:
                raise ValueError(
                    "PriorGradient.after_backward() without a training state needs "
                    "PriorGradient(prior, n_obs=..., module=...)"
                )
            add_prior_grad_(
                self.module, self.prior, self.n_obs, weight=self.weight, noise_var=self.noise_var
            )
            return
        sched = state.schedule_state
        if not sched.prior_weight > 0.0:
            return
        current = state.prior
        if abs(sched.sigma0 - current.sigma0) > _SIGMA0_RTOL * sched.sigma0:
            current = state.prior = self.prior.with_sigma0(sched.sigma0)
        grad = state.flat.grad
        free = self._free_idx
        free_grad = grad[free] if free is not None else None
        current.add_grad_(state.flat.data, grad, sched.prior_weight * state.noise_var / self._n)
        if free_grad is not None:  # unpenalised parameters: data gradient only
            grad[free] = free_grad
