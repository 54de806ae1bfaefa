"""MGPP: magnitude pruning guided by the spike-and-slab prior (Zhang, Sun & Liang 2024)."""

from __future__ import annotations

import math
from numbers import Real

import torch

from bsdl._validation import check_in_options, check_positive_float, check_positive_int
from bsdl.priors import MixtureGaussianPrior
from bsdl.pruning.base import Pruner

__all__ = ["MGPP", "default_mgpp_prior"]

SLAB_CENTERS = ("zero", "initial")


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


@torch.no_grad()
def _add_centred_grad_(
    w: torch.Tensor,
    center: torch.Tensor,
    grad: torch.Tensor,
    prior: MixtureGaussianPrior,
    scale: float,
) -> None:
    r"""In place: ``grad += scale * d(-log pi)/dw`` for the prior with its slab centred at
    ``center``, ``pi(w) = lambda N(w; center, sigma1^2) + (1 - lambda) N(w; 0, sigma0^2)``.

    With ``q0`` the spike's posterior responsibility,
    ``d(-log pi)/dw = q0 w / sigma0^2 + (1 - q0) (w - center) / sigma1^2``; at ``center = 0``
    this is :meth:`bsdl.MixtureGaussianPrior.add_grad_`.
    """
    lam, s0, s1 = prior.lambda_, prior.sigma0, prior.sigma1
    d = w - center
    # log odds of the spike: log[(1 - lambda)/lambda] + log(s1/s0) - w^2/(2 s0^2) + d^2/(2 s1^2)
    const = math.log1p(-lam) - math.log(lam) + math.log(s1 / s0)
    q0 = (w * w).mul_(-0.5 / s0**2).addcmul_(d, d, value=0.5 / s1**2).add_(const).sigmoid_()
    # q0 w / s0^2 + (1 - q0) d / s1^2 = d / s1^2 + q0 (w / s0^2 - d / s1^2)
    term = (w / s0**2).sub_(d, alpha=1.0 / s1**2).mul_(q0).add_(d, alpha=1.0 / s1**2)
    grad.add_(term, alpha=scale)


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

    ``slab_center="initial"`` centres the slab at the targeted weights' values when the
    pruner is built (the pretrained weights, when a pretrained model is fine-tuned),
    ``pi(w) = lambda N(w; w_0, sigma1^2) + (1 - lambda) N(w; 0, sigma0^2)``: the pretrained
    model is the prior's information about the weights, so the slab pulls a kept weight
    back toward its pretrained value (as the L2-SP penalty of transfer learning does)
    instead of toward zero, while the spike at zero still pulls the small weights into
    it. The spike's responsibility, and so the prior's threshold, then depends on each
    weight's ``w_0``; for ``|w_0|`` well below ``sigma1`` it is close to that of the
    zero-centred prior.

    .. warning::

       **Fine-tuning a pretrained model on few data points.** With the default
       ``slab_center="zero"`` the slab adds ``w / (n sigma1^2)`` to every weight's gradient.
       The default prior (``sigma1^2 = 0.05``) was tuned for data sets of ``n`` in the
       hundreds of thousands, where this term is negligible; at ``n`` in the hundreds or
       thousands it can exceed the data gradient of most pretrained weights, and under
       Adam (which normalises the sum) it shrinks all of them toward zero at a rate of
       about ``lr`` per step, destroying what pretraining learnt (BENCHMARKS.md, the
       MiniLM study). Use ``slab_center="initial"`` when fine-tuning a pretrained model,
       or raise ``sigma1`` so that ``1 / (n sigma1^2)`` is small. Keep ``"zero"`` (the
       reference code's prior) when the model is trained from a random initialisation,
       which carries no information to centre on.

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
    slab_center : {"zero", "initial"}, default "zero"
        Centre of the slab: ``"zero"`` (the reference code's prior) or ``"initial"``, each
        targeted weight's value at construction (build the pruner after loading the
        pretrained weights). The spike stays at zero. See the warning above.
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

    Fine-tuning a pretrained model on few data points: centre the slab at the pretrained
    weights.

    >>> pretrained = net  # stands for a model loaded with pretrained weights
    >>> pruner = MGPP(pretrained, final_sparsity=0.9, total_steps=60, n_obs=100,
    ...               slab_center="initial")
    """

    _tensor_lists = ("_pruned", "_center")

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
        slab_center: str = "zero",
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
        self.slab_center = check_in_options(slab_center, "slab_center", SLAB_CENTERS)
        self._center: list[torch.Tensor] | None = None
        if self.slab_center == "initial":
            self._center = [p.detach().clone() for p in self._params]
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
        for i, p in enumerate(self._params):
            if p.grad is None:
                p.grad = torch.zeros_like(p)
            if self._center is None:
                prior.add_grad_(p.detach(), p.grad, scale)
            else:
                _add_centred_grad_(p.detach(), self._center[i], p.grad, prior, scale)

    def load_state_dict(self, state: dict) -> None:
        """:meth:`Pruner.load_state_dict`; a state saved before ``slab_center`` existed
        (no ``"center"`` entry) loads into a pruner with ``slab_center="zero"``."""
        if (
            isinstance(state, dict)
            and "center" not in state
            and "pruned" in state
            and self.slab_center == "zero"
        ):
            state = {**state, "center": None}
        super().load_state_dict(state)

    def _scores(self) -> list[torch.Tensor]:
        return [p.detach().abs() for p in self._params]

    def metrics(self) -> dict:
        """:meth:`Pruner.metrics` with the prior of the next step: ``lambda_`` and its
        ``prior_threshold`` (0 once the prior is off, in the fine-tuning phase; with
        ``slab_center="initial"``, the threshold of a weight whose centre is 0)."""
        out = super().metrics()
        t = self.global_step
        on = t <= self.schedule.t_end and self.prior_weight > 0.0
        out["lambda_"] = self.lambda_at(t) if on else 0.0
        out["prior_threshold"] = self.prior_at(t).threshold if on else 0.0
        return out
