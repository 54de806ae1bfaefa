r"""Subnetwork Laplace approximation: covariance, BIC and log evidence (layer L3).

For the selected (non-zero) weights :math:`\hat\theta` of a fitted network, the negative
log-likelihood is approximated by a quadratic with Hessian :math:`n\hat I` (generalised
Gauss-Newton: :math:`\sum_i J_i^\top \Lambda_i J_i`, see :mod:`bsdl.intervals.delta`).
This module turns that one matrix into the three quantities a fit needs:

* the **covariance** of the selected weights, :math:`(n\hat I)^{-1}` (delta-method intervals);
* **BIC** :math:`-2\ell(\hat\theta) + k\log n` (``k`` estimated parameters, the noise
  variance profiled out and not counted);
* the **Laplace log evidence** of the selected subnetwork under the spike-and-slab prior,

  .. math::

      \log p(y \mid \gamma) + \log P(\gamma) \approx \ell(\hat\theta)
      + \log N(\hat\theta_{pen}; 0, \sigma_1^2 I) + k_{pen}\log\lambda
      + (m - k_{pen})\log(1-\lambda) + \tfrac{k}{2}\log 2\pi
      - \tfrac12 \log\det\big(n\hat I + \sigma_1^{-2} D_{pen}\big),

  with ``m`` the number of weights under the prior, :math:`k_{pen}` of them selected and
  :math:`D_{pen}` the 0/1 diagonal of the penalised entries. Parameters outside the prior
  (e.g. the level of a regression) carry a flat prior, whose constant is the same for every
  subnetwork and is left out.

One noise estimate is used throughout the evidence: the likelihood :math:`\ell` and the
Hessian :math:`n\hat I` must both be evaluated at the maximum-likelihood noise variance
:math:`\hat\sigma^2 = RSS/n` (the Laplace expansion is around the maximum of the profiled
likelihood). The delta-method covariance instead uses the unbiased
:math:`RSS/(n-k)`; :meth:`SubnetworkLaplace.covariance` takes the ratio of the two as
``scale``.
"""

from __future__ import annotations

import math

import torch

from bsdl.intervals.delta import SubnetworkCovariance

__all__ = ["SubnetworkLaplace", "bic", "structure_log_prior"]


def bic(loglik: float, n: int, k: int) -> float:
    """Schwarz's criterion ``-2 loglik + k log n``.

    Examples
    --------
    >>> round(bic(-100.0, 50, 3), 4)
    211.7361
    """
    return -2.0 * float(loglik) + math.log(n) * int(k)


class SubnetworkLaplace:
    """Laplace approximation on the selected weights of one fitted network.

    Parameters
    ----------
    information : Tensor
        ``(d, d)`` Hessian of the negative log-likelihood in the selected weights,
        ``n * I`` (float64), evaluated at the noise estimate the evidence uses
        (the maximum-likelihood one for a Gaussian likelihood).
    rcond : float
        Relative eigenvalue cut-off of the pseudo-inverse.
    warn : bool
        Emit :class:`~bsdl.exceptions.SingularFisherWarning` for a singular information.

    Examples
    --------
    >>> import torch
    >>> lap = SubnetworkLaplace(torch.tensor([[4.0, 0.0], [0.0, 1.0]], dtype=torch.float64))
    >>> lap.covariance().diagonal().tolist()
    [0.25, 1.0]
    >>> lap.covariance(scale=2.0).diagonal().tolist()
    [0.5, 2.0]
    """

    def __init__(
        self, information: torch.Tensor, *, rcond: float = 1e-10, warn: bool = True
    ) -> None:
        self._cov = SubnetworkCovariance(information, rcond=rcond, warn=warn)

    @classmethod
    def from_jacobian(
        cls,
        jacobian: torch.Tensor,
        output_hessian: torch.Tensor | float,
        *,
        rcond: float = 1e-10,
        warn: bool = True,
    ) -> SubnetworkLaplace:
        """From per-sample Jacobians ``(N, k, d)`` and the NLL Hessian in the outputs."""
        cov = SubnetworkCovariance.from_jacobian(jacobian, output_hessian, rcond=rcond, warn=warn)
        out = cls.__new__(cls)
        out._cov = cov
        return out

    @property
    def information(self) -> torch.Tensor:
        """The ``(d, d)`` information matrix (symmetrised, float64)."""
        return self._cov.information

    @property
    def rank(self) -> int:
        return self._cov.rank

    def covariance(self, scale: float = 1.0) -> torch.Tensor:
        """``scale * information^{-1}`` (pseudo-inverse on a singular information).

        ``scale`` converts the noise estimate: a Gaussian model whose information was
        built at ``RSS/n`` passes ``n / (n - k)`` to get the covariance at ``RSS/(n-k)``.
        """
        return self._cov.covariance * float(scale)

    def log_evidence(
        self,
        loglik: float,
        theta: torch.Tensor,
        penalized: torch.Tensor,
        prior,
        n_prior: int,
    ) -> float:
        """Laplace log evidence of the subnetwork plus the log prior of its structure.

        Parameters
        ----------
        loglik : float
            Maximised log-likelihood (at the same noise estimate as the information).
        theta : Tensor
            ``(d,)`` selected weights, in the order of the information matrix.
        penalized : Tensor of bool
            ``(d,)``: True where a weight is under the prior (False: flat prior).
        prior : MixtureGaussianPrior
            Its slab sd ``sigma1`` is the prior of a selected weight; ``lambda_`` the
            prior inclusion probability.
        n_prior : int
            Number of weights under the prior in the whole network (selected or not).
        """
        theta = theta.to(torch.float64)
        penalized = penalized.to(device=theta.device, dtype=torch.bool)
        k = int(theta.numel())
        k_pen = int(penalized.sum())
        slab_var = prior.sigma1**2
        log_slab = float((-0.5 * theta[penalized] ** 2 / slab_var).sum()) - 0.5 * k_pen * (
            math.log(2 * math.pi * slab_var)
        )
        info = self.information + torch.diag(
            penalized.to(dtype=torch.float64, device=self.information.device) / slab_var
        )
        logdet = float(torch.linalg.slogdet(info)[1])
        return (
            float(loglik)
            + log_slab
            + structure_log_prior(prior, k_pen, n_prior)
            + 0.5 * k * math.log(2 * math.pi)
            - 0.5 * logdet
        )


def structure_log_prior(prior, k_pen: int, n_prior: int) -> float:
    """``k_pen log(lambda) + (n_prior - k_pen) log(1 - lambda)``: the prior probability
    that exactly these ``k_pen`` of the ``n_prior`` weights come from the slab."""
    return k_pen * math.log(prior.lambda_) + (n_prior - k_pen) * math.log1p(-prior.lambda_)
