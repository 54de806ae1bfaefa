"""MGPP: magnitude pruning guided by the spike-and-slab prior (Zhang, Sun & Liang 2024)."""

from __future__ import annotations

from numbers import Real

import torch

from bsdl._validation import check_positive_float, check_positive_int
from bsdl.priors import MixtureGaussianPrior
from bsdl.pruning.base import Pruner

__all__ = ["MGPP", "default_mgpp_prior"]


def default_mgpp_prior() -> MixtureGaussianPrior:
    """The prior of the MGPP reference scripts: ``lambda_=0.1``, spike variance ``1e-10``,
    slab variance ``0.05`` (``sigma0 = 1e-5``, ``sigma1 ~ 0.224``).

    Examples
    --------
    >>> default_mgpp_prior()
    MixtureGaussianPrior(lambda_=0.1, sigma0=1e-05, sigma1=0.223607)
    """
    return MixtureGaussianPrior.from_variances(0.1, 1e-10, 0.05)


def _check_anneal(value, prior: MixtureGaussianPrior) -> tuple[float, float]:
    if not (isinstance(value, tuple | list) and len(value) == 2):
        raise TypeError(
            f"lambda_anneal must be a pair (start, end) of multipliers of prior.lambda_, "
            f"got {value!r}"
        )
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, Real):
            raise TypeError(f"lambda_anneal[{i}] must be a real number, got {v!r}")
        out.append(float(v))
    for v in (1.0, *out):
        if not 0.0 < v * prior.lambda_ < 1.0:
            raise ValueError(
                f"lambda_anneal={tuple(value)!r} times prior.lambda_={prior.lambda_:g} must "
                f"stay in (0, 1), got {v * prior.lambda_!r}"
            )
    return out[0], out[1]


class MGPP(Pruner):
    r"""Mixture-Gaussian prior pruning: gradual magnitude pruning under the spike-and-slab prior.

    Before each optimiser step of the warm-up and pruning phases the gradient of the
    scaled negative log prior is added to every targeted weight's gradient,

    .. math::

        g \leftarrow g + \frac{w_p}{n}\,\frac{\partial(-\log\pi_{\lambda_t}(w))}{\partial w},

    so that the step follows the posterior's objective ``mean_loss - (1/n) log pi``; small
    weights fall into the spike (pulled to zero by ``1/sigma0^2``) while large ones feel
    only the slab. Weights are then removed by global magnitude on the cubic schedule, as
    :class:`~bsdl.pruning.GMP` does. The prior gradient is that of
    :meth:`bsdl.MixtureGaussianPrior.add_grad_`; the spike and slab widths stay fixed and
    the mixing weight is annealed as in the reference code:
    ``lambda_t = a_t * prior.lambda_`` with ``a_t = 1`` during the initial warm-up, then
    linear from ``lambda_anneal[0]`` at the first pruning step to ``lambda_anneal[1]`` at
    the last. No prior is added during the final fine-tuning.

    Parameters
    ----------
    model, final_sparsity, total_steps
        See :class:`~bsdl.pruning.base.Pruner`.
    n_obs : int
        Training-set size ``n`` (the loss is a mean over a minibatch of it).
    prior : MixtureGaussianPrior, optional
        Spike and slab (standard deviations). Default :func:`default_mgpp_prior`, the
        reference scripts' choice for fine-tuning pretrained transformers with AdamW; its
        spike gradient ``w / (n sigma0^2)`` is large, which Adam's normalisation absorbs.
        With plain SGD choose ``sigma0`` so that ``lr / (n sigma0^2)`` stays well below 1.
    lambda_anneal : (float, float), default (1.0, 0.001)
        Multipliers of ``prior.lambda_`` at the first and the last pruning step.
    prior_weight : float, default 1.0
        Multiplier of the prior term (0 gives :class:`~bsdl.pruning.GMP` exactly).
    **options
        ``initial_sparsity``, ``initial_warmup``, ``final_warmup``, ``pruning_interval``,
        ``ranking``, ``targets``, ``exclude``, ``exclude_head``: see
        :class:`~bsdl.pruning.base.Pruner`.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> from bsdl.pruning import MGPP
    >>> g = torch.Generator().manual_seed(0)
    >>> X = torch.randn(256, 8, generator=g)
    >>> y = X[:, :2].sum(1, keepdim=True)
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
    >>> pruner = MGPP(net, final_sparsity=0.75, total_steps=60, n_obs=len(X),
    ...               initial_warmup=10, final_warmup=20, pruning_interval=5)
    >>> opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    >>> for step in range(60):
    ...     idx = torch.randint(0, len(X), (32,), generator=g)
    ...     opt.zero_grad()
    ...     loss = (net(X[idx]) - y[idx]).pow(2).mean()
    ...     loss.backward()
    ...     pruner.before_step()    # adds (1/n) d(-log pi)/dw to the targeted weights
    ...     opt.step()
    ...     pruner.after_step()     # prunes on schedule, keeps pruned weights at 0
    >>> pruner.sparsity(), pruner.metrics()["phase"]
    (0.75, 'finetune')
    """

    _tensor_lists = ("_pruned",)

    def __init__(
        self,
        model,
        final_sparsity,
        total_steps,
        n_obs: int,
        *,
        prior: MixtureGaussianPrior | None = None,
        lambda_anneal: tuple[float, float] = (1.0, 0.001),
        prior_weight: float = 1.0,
        **options,
    ) -> None:
        super().__init__(model, final_sparsity, total_steps, **options)
        self.n_obs = check_positive_int(n_obs, "n_obs")
        if prior is None:
            prior = default_mgpp_prior()
        if not isinstance(prior, MixtureGaussianPrior):
            raise TypeError(
                f"prior must be a bsdl.MixtureGaussianPrior or None, got {type(prior).__name__}"
            )
        self.prior = prior
        self.lambda_anneal = _check_anneal(lambda_anneal, prior)
        self.prior_weight = check_positive_float(prior_weight, "prior_weight", strict=False)
        self._current: MixtureGaussianPrior | None = None

    def lambda_at(self, t: int) -> float:
        """The mixing weight ``lambda_t`` of the prior at step ``t``.

        Examples
        --------
        >>> from torch import nn
        >>> pruner = MGPP(nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1)), 0.5, 12, n_obs=10,
        ...               initial_warmup=1, final_warmup=1)
        >>> [round(pruner.lambda_at(t) / pruner.prior.lambda_, 4) for t in (0, 1, 5, 10, 11)]
        [1.0, 1.0, 0.556, 0.001, 0.001]
        """
        sched = self.schedule
        a_i, a_f = self.lambda_anneal
        if t < sched.t_i:
            a = 1.0
        elif t >= sched.t_end:
            a = a_f
        elif t == sched.t_i:
            a = a_i
        else:
            a = a_f + (a_i - a_f) * (1.0 - (t - sched.t_i) / (sched.t_end - sched.t_i))
        return a * self.prior.lambda_

    def prior_at(self, t: int) -> MixtureGaussianPrior:
        """The prior in force at step ``t`` (``prior`` with ``lambda_ = lambda_at(t)``)."""
        lam = self.lambda_at(t)
        if self._current is None or self._current.lambda_ != lam:
            p = self.prior
            self._current = MixtureGaussianPrior(lam, p.sigma0, p.sigma1)
        return self._current

    @torch.no_grad()
    def _before_update(self, t: int) -> None:
        if t > self.schedule.t_end or self.prior_weight == 0.0:
            return
        prior = self.prior_at(t)
        scale = self.prior_weight / self.n_obs
        for p in self._params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            prior.add_grad_(p.detach(), p.grad, scale)

    def _scores(self) -> list[torch.Tensor]:
        return [p.detach().abs() for p in self._params]

    def metrics(self) -> dict:
        """:meth:`Pruner.metrics` with the prior of the next step: ``lambda_`` and its
        ``prior_threshold`` (0 once the prior is off, in the fine-tuning phase)."""
        out = super().metrics()
        t = self.global_step
        on = t <= self.schedule.t_end and self.prior_weight > 0.0
        out["lambda_"] = self.lambda_at(t) if on else 0.0
        out["prior_threshold"] = self.prior_at(t).threshold if on else 0.0
        return out
