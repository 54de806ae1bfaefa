r"""The spike-and-slab prior on a group of weights (a unit, an attention head, a hidden unit).

A group :math:`w_g \in \mathbb{R}^m` (``m`` weights) is either in the slab or in the spike
as a whole:

.. math::

    \pi(w_g) = \lambda\,N_m(0, \sigma_1^2 I) + (1-\lambda)\,N_m(0, \sigma_0^2 I).

**Inclusion probability.** With :math:`r = \lVert w_g\rVert^2`,

.. math::

    q(w_g) = \frac{\lambda\phi_m(w_g;\sigma_1)}
                  {\lambda\phi_m(w_g;\sigma_1) + (1-\lambda)\phi_m(w_g;\sigma_0)},\qquad
    \operatorname{logit} q = \log\frac{\lambda}{1-\lambda} + m\log\frac{\sigma_0}{\sigma_1}
        + \frac{r}{2}\Big(\frac{1}{\sigma_0^2} - \frac{1}{\sigma_1^2}\Big).

It depends on the weights only through ``r``. Under either component
:math:`r/\sigma^2 \sim \chi^2_m`, so the density of ``r`` is
:math:`f_\sigma(r) = \chi^2_m(r/\sigma^2)/\sigma^2`; the ratio of the two densities of
``r`` equals the ratio of the two Gaussian densities of :math:`w_g` (the Jacobian
:math:`r^{m/2-1}` of the polar change of variables cancels), hence the equivalent form

.. math::

    q = \frac{\lambda f_{\sigma_1}(r)}{\lambda f_{\sigma_1}(r) + (1-\lambda) f_{\sigma_0}(r)},

which the tests compute with :func:`scipy.stats.chi2.logpdf`. For ``m = 1`` both reduce
to the scalar prior of :class:`bsdl.MixtureGaussianPrior`.

**Group threshold.** :math:`q > 1/2 \iff r > t_m^2` with

.. math::

    t_m^2 = \frac{2\sigma_0^2\sigma_1^2}{\sigma_1^2-\sigma_0^2}
            \Big(\log\frac{1-\lambda}{\lambda} + m\log\frac{\sigma_1}{\sigma_0}\Big)

(0 when the bracket is negative); the threshold on the norm grows like :math:`\sqrt m`, so
the threshold on the root mean square :math:`\lVert w_g\rVert/\sqrt m` tends to
:math:`\sigma_0\sigma_1\sqrt{2\log(\sigma_1/\sigma_0)/(\sigma_1^2-\sigma_0^2)}` for large
groups.

**Gradient.** :math:`-\nabla\log\pi(w_g) = w_g\,(s_g/\sigma_0^2 + (1-s_g)/\sigma_1^2)`
with :math:`s_g = 1 - q(w_g)`: the scalar formula with one spike responsibility shared
by the whole group. When groups overlap (the incoming row of a unit and the outgoing
column of the next layer's units share one weight) the prior is the product of the
groups' densities, and a weight receives the sum of its groups' terms.
"""

from __future__ import annotations

import math

import torch

from bsdl.priors import MixtureGaussianPrior

__all__ = ["GroupMixtureGaussianPrior"]

_LOG_2PI = math.log(2.0 * math.pi)


def _as_tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(x, dtype=torch.get_default_dtype())


class GroupMixtureGaussianPrior:
    """The group spike-and-slab prior built on a scalar :class:`bsdl.MixtureGaussianPrior`.

    Every method takes a group's squared norm ``sq_norm`` (a tensor of groups) and its
    number of weights ``size`` (an int or a tensor broadcasting with ``sq_norm``).

    Parameters
    ----------
    prior : MixtureGaussianPrior
        ``lambda_``, ``sigma0``, ``sigma1`` (standard deviations) of each group.

    Examples
    --------
    >>> import torch
    >>> from bsdl import MixtureGaussianPrior
    >>> g = GroupMixtureGaussianPrior(MixtureGaussianPrior(0.1, 0.01, 1.0))
    >>> t = g.threshold(8)            # norm threshold of a group of 8 weights
    >>> round(float(g.inclusion_probability(torch.tensor([t * t]), 8)), 6)
    0.5
    >>> g.threshold(1) == g.prior.threshold   # one weight: the scalar threshold
    True
    """

    def __init__(self, prior: MixtureGaussianPrior) -> None:
        if not isinstance(prior, MixtureGaussianPrior):
            raise TypeError(
                f"prior must be a bsdl.MixtureGaussianPrior, got {type(prior).__name__}"
            )
        self.prior = prior
        p = prior
        self._log_odds_lambda = math.log(p.lambda_) - math.log1p(-p.lambda_)
        self._log_ratio = math.log(p.sigma0 / p.sigma1)  # per weight
        self._gap = 0.5 * (1.0 / p.sigma0**2 - 1.0 / p.sigma1**2)

    def __repr__(self) -> str:
        return f"GroupMixtureGaussianPrior({self.prior!r})"

    def inclusion_logit(self, sq_norm, size) -> torch.Tensor:
        """Log odds that each group comes from the slab."""
        sq_norm = _as_tensor(sq_norm)
        return self._log_odds_lambda + size * self._log_ratio + self._gap * sq_norm

    def inclusion_probability(self, sq_norm, size) -> torch.Tensor:
        """Posterior probability that each group is in the slab (a sigmoid of the log odds,
        exact in the tails)."""
        return torch.sigmoid(self.inclusion_logit(sq_norm, size))

    def threshold(self, size: int) -> float:
        """Norm ``t_m`` above which a group of ``size`` weights is more likely slab."""
        bracket = -(self._log_odds_lambda + size * self._log_ratio)
        if bracket <= 0:
            return 0.0
        return math.sqrt(bracket / self._gap)

    def log_prob(self, sq_norm, size) -> torch.Tensor:
        """Log density of each group (logsumexp of the two components)."""
        p = self.prior
        sq_norm = _as_tensor(sq_norm)
        slab = (
            math.log(p.lambda_)
            - size * (math.log(p.sigma1) + 0.5 * _LOG_2PI)
            - sq_norm / (2.0 * p.sigma1**2)
        )
        spike = (
            math.log1p(-p.lambda_)
            - size * (math.log(p.sigma0) + 0.5 * _LOG_2PI)
            - sq_norm / (2.0 * p.sigma0**2)
        )
        return torch.logaddexp(slab, spike)

    def grad_coefficient(self, sq_norm, size) -> torch.Tensor:
        """``c_g`` with ``-d log pi(w_g) / d w_g = c_g * w_g``: ``s/sigma0^2 + (1-s)/sigma1^2``."""
        s = torch.sigmoid(-self.inclusion_logit(sq_norm, size))
        return 1.0 / self.prior.sigma1**2 + s * (2.0 * self._gap)
