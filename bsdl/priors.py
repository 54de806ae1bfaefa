"""The mixture-Gaussian (spike-and-slab) prior on network weights (layer L1).

    pi(w) = lambda * N(0, sigma1^2) + (1 - lambda) * N(0, sigma0^2),   sigma0 < sigma1

The prior is a pyro distribution, so it can be used inside any pyro model, and it
exposes the closed forms the training engine needs: the posterior inclusion
probability, the selection threshold and the gradient of ``-log pi``.
"""

from __future__ import annotations

import math
from numbers import Real

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints

__all__ = ["MixtureGaussianPrior"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def _check_float(name: str, value, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if low is not None and not value > low:
        raise ValueError(f"{name} must be > {low}, got {value!r}")
    if high is not None and not value < high:
        raise ValueError(f"{name} must be < {high}, got {value!r}")
    return value


class MixtureGaussianPrior(TorchDistribution):
    r"""Mixture-Gaussian spike-and-slab prior on each weight.

    .. math::

        \pi(w) = \lambda\, N(w; 0, \sigma_1^2) + (1-\lambda)\, N(w; 0, \sigma_0^2)

    Parameters
    ----------
    lambda_ : float
        Prior probability that a weight comes from the slab, in (0, 1).
    sigma0 : float
        Standard deviation of the spike (small).
    sigma1 : float
        Standard deviation of the slab; must exceed ``sigma0``.
    validate_args : bool, optional
        Passed to :class:`torch.distributions.Distribution`.

    Notes
    -----
    The papers' reference code passes *variances*; use :meth:`from_variances`
    for that convention. Every weight is independent, so the distribution is
    scalar; use ``.expand(shape)`` (or pyro's ``.expand``) for a tensor of weights.

    Examples
    --------
    >>> import torch
    >>> from bsdl.priors import MixtureGaussianPrior
    >>> prior = MixtureGaussianPrior(lambda_=1e-5, sigma0=1e-2, sigma1=1e-1)
    >>> round(prior.threshold, 4)
    0.0528
    >>> prior.inclusion_probability(torch.tensor([0.0, 0.1])).round(decimals=3)
    tensor([0., 1.])
    >>> bool(torch.isfinite(prior.log_prob(torch.tensor(1e3))))
    True
    """

    arg_constraints: dict = {}
    support = constraints.real
    has_rsample = False

    def __init__(
        self,
        lambda_: float = 1e-5,
        sigma0: float = 1e-2,
        sigma1: float = 1e-1,
        batch_shape: torch.Size | tuple = (),
        validate_args: bool | None = None,
    ) -> None:
        self.lambda_ = _check_float("lambda_", lambda_, 0.0, 1.0)
        self.sigma0 = _check_float("sigma0", sigma0, 0.0)
        self.sigma1 = _check_float("sigma1", sigma1, 0.0)
        if not self.sigma0 < self.sigma1:
            raise ValueError(
                f"sigma0 must be smaller than sigma1 (spike narrower than slab), "
                f"got sigma0={self.sigma0!r}, sigma1={self.sigma1!r}"
            )
        super().__init__(torch.Size(batch_shape), torch.Size(), validate_args=validate_args)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_variances(
        cls, lambda_: float, var0: float, var1: float, **kwargs
    ) -> MixtureGaussianPrior:
        """Build the prior from spike and slab *variances* (the papers' code convention).

        Examples
        --------
        >>> MixtureGaussianPrior.from_variances(1e-7, 1e-6, 1e-2).sigma0
        0.001
        """
        var0 = _check_float("var0", var0, 0.0)
        var1 = _check_float("var1", var1, 0.0)
        return cls(lambda_=lambda_, sigma0=math.sqrt(var0), sigma1=math.sqrt(var1), **kwargs)

    def with_sigma0(self, sigma0: float) -> MixtureGaussianPrior:
        """Return a copy with another spike standard deviation (used by annealing)."""
        return type(self)(
            self.lambda_,
            sigma0,
            self.sigma1,
            batch_shape=self.batch_shape,
            validate_args=self._validate_args,
        )

    def expand(self, batch_shape, _instance=None) -> MixtureGaussianPrior:
        return type(self)(
            self.lambda_,
            self.sigma0,
            self.sigma1,
            batch_shape=torch.Size(batch_shape),
            validate_args=self._validate_args,
        )

    def to_dict(self) -> dict:
        """The constructor arguments, as a plain dict (used for saving and ``repr``)."""
        return {"lambda_": self.lambda_, "sigma0": self.sigma0, "sigma1": self.sigma1}

    def __repr__(self) -> str:
        return (
            f"MixtureGaussianPrior(lambda_={self.lambda_:g}, sigma0={self.sigma0:g}, "
            f"sigma1={self.sigma1:g})"
        )

    # ------------------------------------------------------------------ closed forms
    @property
    def mean(self) -> torch.Tensor:
        return torch.zeros(self.batch_shape)

    @property
    def variance(self) -> torch.Tensor:
        v = self.lambda_ * self.sigma1**2 + (1 - self.lambda_) * self.sigma0**2
        return torch.full(self.batch_shape, v)

    @property
    def _log_odds_const(self) -> float:
        # log[lambda/(1-lambda)] + log(sigma0/sigma1): the log odds of the slab at w = 0
        return (
            math.log(self.lambda_) - math.log1p(-self.lambda_) + math.log(self.sigma0 / self.sigma1)
        )

    @property
    def _half_precision_gap(self) -> float:
        # (1/sigma0^2 - 1/sigma1^2) / 2 > 0
        return 0.5 * (1.0 / self.sigma0**2 - 1.0 / self.sigma1**2)

    @property
    def threshold(self) -> float:
        r"""Magnitude above which a weight is more likely slab than spike.

        :math:`q(w) > 1/2 \iff |w| > t`, with

        .. math::

            t^2 = \frac{2\sigma_0^2\sigma_1^2}{\sigma_1^2-\sigma_0^2}
                  \log\Big(\frac{1-\lambda}{\lambda}\frac{\sigma_1}{\sigma_0}\Big),

        and ``t = 0`` when the logarithm is negative (then every weight is kept).
        """
        log_ratio = -self._log_odds_const
        if log_ratio <= 0:
            return 0.0
        return math.sqrt(log_ratio / self._half_precision_gap)

    def _as_tensor(self, w) -> torch.Tensor:
        if not isinstance(w, torch.Tensor):
            w = torch.as_tensor(w, dtype=torch.get_default_dtype())
        return w

    def inclusion_logit(self, w) -> torch.Tensor:
        """Log odds that ``w`` comes from the slab: ``logit q(w)``."""
        w = self._as_tensor(w)
        return self._log_odds_const + self._half_precision_gap * w * w

    def inclusion_probability(self, w) -> torch.Tensor:
        r"""Posterior probability that each weight comes from the slab.

        .. math::

            q(w) = \frac{\lambda\phi(w;\sigma_1)}
                        {\lambda\phi(w;\sigma_1) + (1-\lambda)\phi(w;\sigma_0)},

        computed as a sigmoid of the log odds, so it is exact in the tails.
        """
        return torch.sigmoid(self.inclusion_logit(w))

    def log_prob(self, value) -> torch.Tensor:
        """Log density, computed with logsumexp (stable for tiny sigma0 and huge ``|w|``).

        ``torch.logsumexp`` over the stacked components (not ``torch.logaddexp``, whose
        double backward is NaN where one component underflows), so the Hessian of the
        log density is finite everywhere (the step-size search and NUTS differentiate
        through it).
        """
        value = self._as_tensor(value)
        if self._validate_args:
            self._validate_sample(value)
        sq = value * value
        slab = (
            math.log(self.lambda_)
            - math.log(self.sigma1)
            - _LOG_SQRT_2PI
            - sq / (2.0 * self.sigma1**2)
        )
        spike = (
            math.log1p(-self.lambda_)
            - math.log(self.sigma0)
            - _LOG_SQRT_2PI
            - sq / (2.0 * self.sigma0**2)
        )
        return torch.logsumexp(torch.stack(torch.broadcast_tensors(slab, spike)), dim=0)

    def grad_neg_log_prob(self, w) -> torch.Tensor:
        r"""Gradient of :math:`-\log\pi(w)`.

        ``w * (s/sigma0^2 + (1-s)/sigma1^2)`` with ``s = 1 - q(w)``, the spike responsibility.
        """
        w = self._as_tensor(w)
        s = torch.sigmoid(-self.inclusion_logit(w))
        return w * (1.0 / self.sigma1**2 + s * (2.0 * self._half_precision_gap))

    def add_grad_(self, params: torch.Tensor, grad: torch.Tensor, scale: float) -> None:
        r"""In place: ``grad += scale * d(-log pi)/dw`` evaluated at ``params``.

        This is the training engine's hot path: seven in-place elementwise kernels on
        one flat buffer, whatever the number of layers. It runs under ``torch.no_grad``
        so that ``grad`` (typically ``p.grad`` of a parameter) stays a leaf without history.
        """
        with torch.no_grad():
            s = params * params
            s.mul_(-self._half_precision_gap).sub_(self._log_odds_const).sigmoid_()
            s.mul_(2.0 * self._half_precision_gap).add_(1.0 / self.sigma1**2)
            grad.addcmul_(params, s, value=scale)

    # ------------------------------------------------------------------ sampling
    def sample(self, sample_shape=torch.Size()) -> torch.Tensor:
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            slab = torch.rand(shape) < self.lambda_
            scale = torch.where(slab, self.sigma1, self.sigma0)
            return torch.randn(shape) * scale
