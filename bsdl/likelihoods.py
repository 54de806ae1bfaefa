"""Likelihoods of network outputs as strategy objects (layer L1).

A likelihood knows three things about the response given the network output ``f``:

* ``loss(out, target)``: the mean training loss the engine minimises (for a Gaussian,
  ``0.5 * MSE``: the negative log-likelihood times the noise variance, so the learning
  rate does not depend on the noise; the engine rescales the prior term accordingly);
* ``log_likelihood(mean_loss, n)``: the maximised log-likelihood of ``n`` observations
  whose mean loss is ``mean_loss`` (the noise variance profiled out where there is one);
* ``output_hessian(out, mean_loss)``: the Hessian of the negative log-likelihood of one
  observation in the outputs, at the same (maximum-likelihood) noise estimate: the
  ``Lambda_i`` of the Fisher information ``sum_i J_i^T Lambda_i J_i``.

They hold no state and have no side effects; an estimator owns one and its fitted
attributes. Adding a likelihood (e.g. Poisson) means one more class here and an
estimator that names it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

__all__ = [
    "Likelihood",
    "Gaussian",
    "HeteroscedasticGaussian",
    "HeteroscedasticStudentT",
    "Categorical",
    "reference_logits",
]


class Likelihood:
    """Base class: see the module docstring for the three methods."""

    #: the loss is a noise variance times the NLL: the engine estimates that variance
    estimate_noise = False
    #: ``output_hessian`` reads the network outputs (False: the mean loss is enough)
    hessian_needs_outputs = True

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def log_likelihood(self, mean_loss: float, n: int) -> float:  # pragma: no cover
        raise NotImplementedError

    def output_hessian(
        self, out: torch.Tensor, mean_loss: float
    ) -> torch.Tensor | float:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Gaussian(Likelihood):
    """Gaussian noise with unknown variance; ``loss = 0.5 * mean((out - y)^2)``.

    Examples
    --------
    >>> import torch
    >>> g = Gaussian()
    >>> float(g.loss(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0])))
    2.5
    >>> round(g.log_likelihood(mean_loss=0.5, n=10), 4)  # RSS/n = 1
    -14.1894
    >>> g.output_hessian(torch.zeros(3), mean_loss=2.0)  # 1 / (RSS/n)
    0.25
    """

    estimate_noise = True
    hessian_needs_outputs = False

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return 0.5 * (out - target).pow(2).mean()

    def log_likelihood(self, mean_loss: float, n: int) -> float:
        """``-n/2 (log(2 pi RSS/n) + 1)`` with ``RSS/n = 2 * mean_loss``."""
        var = max(2.0 * float(mean_loss), 1e-300)
        return -0.5 * n * (math.log(2 * math.pi * var) + 1.0)

    def output_hessian(self, out: torch.Tensor | None, mean_loss: float) -> float:
        """``1 / sigma^2`` at the maximum-likelihood variance ``RSS/n`` (``out`` unused)."""
        return 1.0 / max(2.0 * float(mean_loss), 1e-12)


class HeteroscedasticGaussian(Likelihood):
    """Gaussian noise whose variance changes with the observation: ``y_i ~ N(f_i, v_i)``.

    The loss is the mean negative log-likelihood itself (without ``log 2 pi``), with the
    variances ``v`` given beside the means: ``loss((f, v), y) = mean(0.5 (log v + (y -
    f)^2 / v))``. Nothing is profiled out, so ``log_likelihood`` only adds the constant.
    The sequence forecasters' conditional-variance model (``noise="heteroscedastic"``,
    :mod:`bsdl.models._noise`) is fitted with it.

    Examples
    --------
    >>> import torch
    >>> h = HeteroscedasticGaussian()
    >>> out = (torch.zeros(2), torch.tensor([1.0, 4.0]))
    >>> round(float(h.loss(out, torch.tensor([1.0, 2.0]))), 4)  # (0.5 + (log 4 + 1) / 2) / 2
    0.8466
    >>> round(h.log_likelihood(0.8466, n=2), 3)
    -3.531
    >>> h.output_hessian(out, 0.0).tolist()  # 1 / v for the mean
    [1.0, 0.25]
    """

    def loss(self, out: tuple[torch.Tensor, torch.Tensor], target: torch.Tensor) -> torch.Tensor:
        mean, var = out
        return 0.5 * (torch.log(var) + (target - mean).pow(2) / var).mean()

    def log_likelihood(self, mean_loss: float, n: int) -> float:
        """``-n (mean_loss + log(2 pi) / 2)``."""
        return -float(n) * (float(mean_loss) + 0.5 * math.log(2 * math.pi))

    def output_hessian(self, out: tuple[torch.Tensor, torch.Tensor], mean_loss: float):
        """``1 / v_i`` per observation: the Hessian of the NLL in the mean."""
        return (1.0 / out[1]).detach()


class HeteroscedasticStudentT(Likelihood):
    """Standardised Student-t noise with a changing variance: ``y_i = f_i + sqrt(v_i) z_i``.

    ``z_i`` is Student-t with ``nu > 2`` degrees of freedom scaled to unit variance (density
    ``Gamma((nu + 1) / 2) / (Gamma(nu / 2) sqrt(pi (nu - 2))) (1 + z^2 / (nu - 2))^{-(nu +
    1) / 2}``, Bollerslev 1987; ``arch``'s ``dist="t"``), so ``v_i`` is the variance of
    ``y_i`` as with :class:`HeteroscedasticGaussian`. The outputs are ``(f, v, nu)``; the
    loss is the whole mean negative log-likelihood (constants included), so
    ``log_likelihood`` is ``-n`` times it. The sequence forecasters' conditional-variance
    model with ``innovations="t"`` is fitted with it.

    Examples
    --------
    >>> import torch
    >>> from scipy import stats
    >>> h = HeteroscedasticStudentT()
    >>> out = (torch.zeros(1), torch.tensor([4.0]), torch.tensor(5.0))
    >>> y = torch.tensor([1.5])
    >>> round(float(h.loss(out, y)), 6)
    1.921905
    >>> scale = 2.0 * (3 / 5) ** 0.5  # sd 2, unit-variance t(5) scaled
    >>> round(float(-stats.t.logpdf(1.5, 5, scale=scale)), 6)
    1.921905
    """

    def loss(
        self, out: tuple[torch.Tensor, torch.Tensor, torch.Tensor], target: torch.Tensor
    ) -> torch.Tensor:
        mean, var, nu = out
        z2 = (target - mean).pow(2) / var
        const = (
            torch.lgamma(0.5 * (nu + 1))
            - torch.lgamma(0.5 * nu)
            - 0.5 * torch.log(math.pi * (nu - 2))
        )
        nll = 0.5 * torch.log(var) + 0.5 * (nu + 1) * torch.log1p(z2 / (nu - 2)) - const
        return nll.mean()

    def log_likelihood(self, mean_loss: float, n: int) -> float:
        """``-n mean_loss``."""
        return -float(n) * float(mean_loss)

    def output_hessian(self, out, mean_loss: float):
        """The Fisher information of the location, ``(nu + 1) nu / ((nu + 3) (nu - 2) v)``."""
        _, var, nu = out
        return ((nu + 1) * nu / ((nu + 3) * (nu - 2) * var)).detach()


def reference_logits(out: torch.Tensor) -> torch.Tensor:
    """``C - 1`` free outputs -> ``C`` logits with class 0 fixed at 0 (identifiable)."""
    return torch.cat([torch.zeros_like(out[..., :1]), out], dim=-1)


class Categorical(Likelihood):
    """Softmax over ``C`` classes with the reference-class parametrisation.

    The network has ``C - 1`` outputs, the free logits of classes ``1..C-1`` (class 0 has
    logit 0), so the Fisher information of the weights is not singular by construction.

    Examples
    --------
    >>> import torch
    >>> c = Categorical()
    >>> out = torch.zeros(2, 1)  # two classes, equal logits
    >>> round(float(c.loss(out, torch.tensor([0, 1]))), 4)  # log 2
    0.6931
    >>> c.output_hessian(out, 0.0)[0].tolist()  # p (1 - p) for the free logit
    [[0.25]]
    """

    def loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(reference_logits(out), target)

    def log_likelihood(self, mean_loss: float, n: int) -> float:
        return -float(mean_loss) * n

    def probabilities(self, out: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(..., C)``."""
        return torch.softmax(reference_logits(out), dim=-1)

    def output_hessian(self, out: torch.Tensor, mean_loss: float) -> torch.Tensor:
        """``diag(p) - p p^T`` over the free logits, per observation ``(N, C-1, C-1)``."""
        with torch.no_grad():
            p = self.probabilities(out)[..., 1:].double()
        return torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
