"""Optimisers and stochastic-gradient MCMC kernels acting on one flat parameter buffer.

Kernels are separate from the training driver (as pyro separates ``MCMCKernel`` from
``MCMC``): a kernel only knows how to move ``flat.data`` given ``flat.grad``.

* :class:`SGHMC` -- stochastic-gradient Hamiltonian Monte Carlo in the parametrisation of
  the papers' code: ``buf <- m*buf + grad + N(0,1)*sqrt(2(1-m)tau/(n*lr))``,
  ``w <- w - lr*buf``. With temperature ``tau = 0`` it is SGD with momentum.
* :class:`SGLD` -- stochastic-gradient Langevin dynamics:
  ``w <- w - lr*grad + N(0,1)*sqrt(2*lr*tau/n)``.
* :class:`SGD` -- SGHMC at temperature zero.
* :class:`Adam` -- Adam (Kingma & Ba) on the flat buffer; an optimiser only (temperature
  must stay 0).
"""

from __future__ import annotations

import math

import torch

from bsdl.inference.flat import FlatParameters

__all__ = ["Kernel", "SGHMC", "SGLD", "SGD", "Adam", "make_kernel", "KERNELS"]


class Kernel:
    """Base class: ``step(flat, lr, temperature, n)`` updates ``flat.data`` in place."""

    supports_temperature = False

    def __init__(self, flat: FlatParameters, generator: torch.Generator | None = None) -> None:
        self.flat = flat
        self.generator = generator

    def step(self, lr: float, temperature: float = 0.0, n: int = 1) -> None:  # pragma: no cover
        raise NotImplementedError


def _check_precondition(precondition, flat: FlatParameters):
    """``(index, L)``: flat positions ``(d,)`` and a ``(d, d)`` matrix, on the buffer's
    device and dtype (None: no preconditioning)."""
    if precondition is None:
        return None
    index, chol = precondition
    index = torch.as_tensor(index, dtype=torch.long, device=flat.data.device).reshape(-1)
    chol = torch.as_tensor(chol).to(device=flat.data.device, dtype=flat.data.dtype)
    if chol.shape != (index.numel(), index.numel()):
        raise ValueError(
            f"precondition: L must be ({index.numel()}, {index.numel()}), got {tuple(chol.shape)}"
        )
    return index, chol


def _to_whitened(vec: torch.Tensor, precondition) -> torch.Tensor:
    """``L^T v`` on the preconditioned entries (a gradient in whitened coordinates)."""
    if precondition is None:
        return vec
    index, chol = precondition
    out = vec.clone()
    out[index] = chol.T @ vec[index]
    return out


def _from_whitened(vec: torch.Tensor, precondition) -> torch.Tensor:
    """``L v`` on the preconditioned entries (a whitened move back in the weights)."""
    if precondition is None:
        return vec
    index, chol = precondition
    out = vec.clone()
    out[index] = chol @ vec[index]
    return out


class SGHMC(Kernel):
    """SGHMC with momentum ``momentum`` and temperature given at each step.

    Parameters
    ----------
    flat : FlatParameters
    generator : torch.Generator
        Source of the injected Gaussian noise (on the parameters' device).
    momentum : float, default 0.9
        ``m`` in the update; the friction is ``1 - m``.
    precondition : tuple (index, L), optional
        A constant mass matrix on the flat entries ``index``: the chain runs in whitened
        coordinates ``z`` with ``w[index] = w0 + L z`` (gradient ``L^T grad``, move
        ``L buf``); e.g. ``L L^T`` the Laplace covariance. Other entries are unchanged.
    """

    supports_temperature = True

    def __init__(
        self,
        flat: FlatParameters,
        generator: torch.Generator | None = None,
        momentum: float = 0.9,
        precondition=None,
    ) -> None:
        super().__init__(flat, generator)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = momentum
        self.precondition = _check_precondition(precondition, flat)
        self.buf: torch.Tensor | None = None

    def step(self, lr: float, temperature: float = 0.0, n: int = 1) -> None:
        grad = _to_whitened(self.flat.grad, self.precondition)
        if self.buf is None:
            self.buf = grad.clone()
        else:
            self.buf.mul_(self.momentum).add_(grad)
        if temperature > 0.0:
            scale = math.sqrt(2.0 * (1.0 - self.momentum) * temperature / (n * lr))
            noise = torch.randn(
                grad.shape, generator=self.generator, device=grad.device, dtype=grad.dtype
            )
            self.buf.add_(noise, alpha=scale)
        self.flat.data.add_(_from_whitened(self.buf, self.precondition), alpha=-lr)


class SGLD(Kernel):
    """Stochastic-gradient Langevin dynamics (Welling & Teh, 2011).

    ``w <- w - lr * grad + sqrt(2 * lr * tau / n) * N(0, 1)``: with ``grad`` the gradient
    of the mean loss ``U`` (prior term included) this targets ``exp(-n U / tau)``, the same
    law as :class:`SGHMC` at temperature ``tau`` (the posterior at ``tau = 1``), up to a
    discretisation bias of order ``lr``. ``precondition=(index, L)`` runs it in whitened
    coordinates on those entries (a constant preconditioner ``L L^T``), as for SGHMC.
    """

    supports_temperature = True

    def __init__(
        self, flat: FlatParameters, generator: torch.Generator | None = None, precondition=None
    ) -> None:
        super().__init__(flat, generator)
        self.precondition = _check_precondition(precondition, flat)

    def step(self, lr: float, temperature: float = 0.0, n: int = 1) -> None:
        if self.precondition is None:
            self.flat.data.add_(self.flat.grad, alpha=-lr)
        else:
            whitened = _to_whitened(self.flat.grad, self.precondition)
            move = _from_whitened(whitened, self.precondition)
            self.flat.data.add_(move, alpha=-lr)
        if temperature > 0.0:
            noise = torch.randn(
                self.flat.data.shape,
                generator=self.generator,
                device=self.flat.data.device,
                dtype=self.flat.data.dtype,
            )
            noise = _from_whitened(noise, self.precondition)
            self.flat.data.add_(noise, alpha=math.sqrt(2.0 * lr * temperature / n))


class SGD(SGHMC):
    """SGD with (heavy-ball) momentum: :class:`SGHMC` at temperature 0."""

    supports_temperature = False

    def step(self, lr: float, temperature: float = 0.0, n: int = 1) -> None:
        super().step(lr, 0.0, n)


class Adam(Kernel):
    """Adam on the flat buffer (an optimiser, not a sampler)."""

    def __init__(
        self,
        flat: FlatParameters,
        generator: torch.Generator | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(flat, generator)
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.m = torch.zeros_like(flat.data)
        self.v = torch.zeros_like(flat.data)
        self.t = 0

    def step(self, lr: float, temperature: float = 0.0, n: int = 1) -> None:
        g = self.flat.grad
        self.t += 1
        self.m.lerp_(g, 1.0 - self.beta1)
        self.v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
        bc1 = 1.0 - self.beta1**self.t
        bc2 = 1.0 - self.beta2**self.t
        denom = (self.v / bc2).sqrt_().add_(self.eps)
        self.flat.data.addcdiv_(self.m, denom, value=-lr / bc1)


KERNELS = {"sghmc": SGHMC, "sgld": SGLD, "sgd": SGD, "adam": Adam}


def make_kernel(
    name: str, flat: FlatParameters, generator: torch.Generator | None, **options
) -> Kernel:
    """Build the kernel called ``name`` (one of ``KERNELS``)."""
    try:
        cls = KERNELS[name]
    except KeyError:
        raise ValueError(f"optimizer must be one of {sorted(KERNELS)}, got {name!r}") from None
    return cls(flat, generator, **options)
