"""Posterior sampling on the selected subnetwork after the MAP fit (layer L4).

:class:`PosteriorMixin` is the sampling half of
:class:`~bsdl.models.base.SparseEstimatorBase`. With ``method="map"`` (the default) it does
nothing. Otherwise, once the usual pipeline has chosen a restart (anneal, prune, refit),
``_sample_posterior`` continues from that MAP point at temperature 1 with the mask fixed:

* ``"sghmc"``/``"sgld"``: :func:`bsdl.inference.sample_chains`, full-batch, ``n_chains``
  chains through joblib, ``n_samples * thin`` warm-up steps then ``n_samples`` draws kept
  every ``thin`` steps, preconditioned by the Laplace covariance of the selected weights
  (a constant mass matrix: the kernels run in whitened coordinates, where the posterior
  is close to isotropic). The step size is ``c / L``, ``L`` the largest whitened
  curvature of the mean loss (prior included), found by power iteration on
  Hessian-vector products; ``c = 0.1`` for SGLD and ``0.01`` for SGHMC (momentum 0.9, so
  the same effective step ``lr / (1 - m)``). For a Gaussian posterior SGLD's stationary
  variance is then ``1 / (1 - c/2)`` times the exact one along the stiffest direction
  (about 5 %, 2.5 % of the sd), less elsewhere. A chain that still diverges (it met
  curvature far above the MAP's, where the Laplace preconditioner is a poor guide: 3 of
  30 fits at n <= 1000 in vignette 05's part B) is run again with the step divided by 4,
  at most twice, with a :class:`~bsdl.exceptions.ConvergenceWarning`.
* ``"nuts"``: pyro's NUTS (:func:`bsdl.inference.nuts.run_nuts`) in float64, for at most
  :data:`~bsdl.inference.nuts.NUTS_MAX_WEIGHTS` selected weights.

The target is the posterior of the selected weights *given the selected structure*: a
selected penalised weight is a slab weight, so its prior is the slab ``N(0, sigma1^2)``
(as in the Laplace evidence of :mod:`bsdl.intervals.laplace`; the unpenalised ones are
flat). The spike's mass near zero belongs to the other structures, which
``inclusion_frequencies_`` explores (below). Keeping the spike on the selected weights
would also break the samplers: a weakly determined weight that wanders near zero meets
the spike's curvature ``1 / sigma0^2``, far above the step size chosen at the MAP, and
the chain diverges (seen on the JASA design at n = 500).

For a Gaussian likelihood the weights are sampled at the fitted noise variance
``sigma_^2`` (the unbiased ``RSS/(n-k)``); each draw then gets its own
``sigma^2 | theta, y ~ InvGamma(n/2, RSS(theta)/2)`` (the conditional under the scale-free
prior ``p(sigma^2) ~ 1/sigma^2``). This is empirical Bayes for ``theta`` (sigma's posterior
has a relative sd of ``sqrt(2/n)``, small beside the weights' uncertainty), stated here
because it is not a full Gibbs sampler.

``inclusion_frequencies_`` come from a second, equally long set of chains on the *dense*
network: the mask released, every weight under the mixture prior at temperature 1, started
at the selected fit (pruned weights at 0). A draw includes a weight when its spike-and-slab
inclusion probability exceeds 1/2 (``|w| > prior.threshold``, the pruning rule), and an
input when it reaches the output through included weights (the network's
``connected_inputs``). The frequencies are the share of draws that include each input:
the local posterior inclusion probability around the selected mode. (Chains on the
annealed network just before the threshold would need a hook inside
:func:`bsdl.inference.pipeline.run_restart`; the dense chains here use the same prior and
threshold and need none.)
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from bsdl._validation import check_is_fitted
from bsdl.exceptions import ConvergenceWarning, TrainingDivergedError
from bsdl.inference import sample_chains
from bsdl.inference.nuts import check_nuts_size, run_nuts
from bsdl.intervals import selected_parameters
from bsdl.nn import unpenalized_names
from bsdl.priors import MixtureGaussianPrior
from bsdl.results.posterior import PosteriorDraws
from bsdl.sparsify import flat_mask

__all__ = ["PosteriorMixin", "largest_curvature", "slab_prior"]

_SAMPLERS = ("sghmc", "sgld", "nuts")


def largest_curvature(
    module: nn.Module,
    loss_fn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    *,
    penalty=None,
    precondition=None,
    iters: int = 30,
    seed: int = 0,
) -> float:
    """Largest absolute eigenvalue of the Hessian of ``loss_fn (+ penalty(module))``, by
    power iteration on Hessian-vector products.

    With ``precondition=(index, L)`` the Hessian is the whitened one, ``L^T H L`` on the
    flat entries ``index`` (``parameters()`` order), the curvature a preconditioned
    kernel sees.
    """
    module = copy.deepcopy(module)
    params = [p for p in module.parameters() if p.requires_grad]
    loss = loss_fn(module, inputs, targets)
    if penalty is not None:
        loss = loss + penalty(module)
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    gen = torch.Generator().manual_seed(int(seed))
    if precondition is None:
        size = flat.numel()
    else:
        index, chol = precondition
        index = index.to(flat.device)
        chol = chol.to(device=flat.device, dtype=flat.dtype)
        size = index.numel()
    v = torch.randn(size, generator=gen, dtype=torch.float64).to(flat.device, flat.dtype)
    v = v / v.norm().clamp_min(1e-30)
    lam = 0.0
    for _ in range(iters):
        if precondition is None:
            u = v
        else:
            u = torch.zeros_like(flat).index_put((index,), chol @ v)
        hv = torch.autograd.grad(flat, params, grad_outputs=u, retain_graph=True, allow_unused=True)
        hv = torch.cat(
            [(torch.zeros_like(p) if h is None else h).reshape(-1) for h, p in zip(hv, params)]
        )
        if precondition is not None:
            hv = chol.T @ hv[index]
        lam = float(hv.norm())
        if not math.isfinite(lam) or lam == 0.0:
            break
        v = hv / lam
    return lam


def slab_prior(prior: MixtureGaussianPrior) -> MixtureGaussianPrior:
    """The slab ``N(0, prior.sigma1^2)`` as a mixture prior: two components of sd
    ``sigma1 (1 - 1e-6)`` and ``sigma1``, whose density differs from the slab's by less
    than ``1e-6`` relative for ``|w| < 30 sigma1`` (so the engine's prior gradient and
    pyro's NUTS take it unchanged).

    Examples
    --------
    >>> s = slab_prior(MixtureGaussianPrior(1e-4, 0.01, 2.0))
    >>> w = torch.tensor([0.0, 0.5, 3.0, 20.0])
    >>> slab = torch.distributions.Normal(0.0, 2.0).log_prob(w)
    >>> bool(torch.allclose(s.log_prob(w), slab, atol=1e-5))
    True
    """
    sigma1 = float(prior.sigma1)
    return MixtureGaussianPrior(lambda_=0.5, sigma0=sigma1 * (1.0 - 1e-6), sigma1=sigma1)


class _Penalty:
    """``-(noise_var / n) log pi(w)`` over the penalised parameters (their weight in the
    engine's mean loss), for the step-size search."""

    def __init__(self, prior, noise_var: float, n: int) -> None:
        self.prior, self.weight = prior, float(noise_var) / float(n)

    def __call__(self, module: nn.Module) -> torch.Tensor:
        free = unpenalized_names(module)
        total = 0.0
        for name, p in module.named_parameters():
            if name not in free:
                total = total - self.prior.log_prob(p.reshape(-1)).sum()
        return self.weight * total


def _flat_index(module: nn.Module, index: dict) -> tuple[torch.Tensor, list[str]]:
    """Positions of the selected entries in the flat buffer (``parameters()`` order), in
    the order of :func:`bsdl.intervals.selected_parameters`, and their labels."""
    offsets, start = {}, 0
    for name, p in module.named_parameters():
        offsets[name] = start
        start += p.numel()
    parts, labels = [], []
    for name, ix in index.items():
        ix = ix.reshape(-1).cpu()
        parts.append(ix + offsets[name])
        labels += [f"{name}[{int(i)}]" for i in ix]
    flat = torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    return flat, labels


class _Functional:
    """``module`` evaluated at other parameters, callable like the module itself."""

    def __init__(self, module: nn.Module, params: dict) -> None:
        self.module, self.params = module, params

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return functional_call(self.module, self.params, (x,))


class _LogLikelihood:
    """``theta -> -n * loss / noise_var`` at the selected weights ``theta`` (picklable)."""

    def __init__(self, module, index, loss_fn, inputs, targets, n, noise_var) -> None:
        self.module = copy.deepcopy(module).double()
        self.index = index
        self.loss_fn = loss_fn
        self.inputs = inputs.double()
        self.targets = targets.double() if targets.is_floating_point() else targets
        self.scale = float(n) / float(noise_var)

    def __call__(self, theta: torch.Tensor) -> torch.Tensor:
        _, params_of = selected_parameters(self.module, self.index)
        net = _Functional(self.module, params_of(theta))
        return -self.scale * self.loss_fn(net, self.inputs, self.targets)


class PosteriorMixin:
    """Sampling after the MAP fit, the draws and what is read off them (not for direct use).

    The estimator provides ``module_``, ``prior_``, ``_selected_index``, ``_sigma_std``,
    ``_estimate_noise``, ``y_scale_`` (Gaussian likelihoods) and the hooks
    ``_public_inclusion`` (the per-input frequencies -> the public attribute) and
    ``_predictive_samples`` (used by :meth:`to_inference_data`).
    """

    #: step size times the largest curvature of the mean loss (see the module docstring)
    _SAMPLING_STEP = {"sgld": 0.1, "sghmc": 0.01}
    #: a chain that diverges (it met curvature far above the MAP's, where the Laplace
    #: preconditioner is a poor guide) is run again this many times, the step divided by
    #: _RETRY_FACTOR each time, with the same seeds
    _RETRIES = 2
    _RETRY_FACTOR = 4.0
    _MOMENTUM = 0.9

    # ---------------------------------------------------------------- fit side
    def _clear_posterior(self) -> None:
        for name in ("posterior_", "inclusion_frequencies_", "exog_inclusion_frequencies_"):
            if name in vars(self):
                delattr(self, name)

    def _noise_var(self) -> float:
        if not self._estimate_noise:
            return 1.0
        sigma = getattr(self, "_sigma_std", math.nan)
        if not math.isfinite(sigma):
            raise ValueError(
                f"method={self.method_!r} cannot sample this fit: it has no residual degrees "
                "of freedom, so the noise variance is undefined (see the SmallSampleWarning)"
            )
        return float(sigma) ** 2

    def _sample_posterior(self, spec, seed: int, laplace=None) -> None:
        """Draws on the selected subnetwork (``spec``: the pipeline's :class:`FitSpec`;
        ``laplace``: the chosen restart's :class:`~bsdl.intervals.SubnetworkLaplace`)."""
        # a forecaster built on the sequence base without the sampling parameters: "map"
        self.method_ = str(getattr(self, "method", "map"))
        self._clear_posterior()
        if self.method_ == "map":
            return
        n_chains, n_samples, thin = int(self.n_chains), int(self.n_samples), int(self.thin)
        index = self._selected_index
        flat_index, labels = _flat_index(self.module_, index)
        if not labels:
            raise ValueError(
                f"method={self.method_!r}: the fit selected no weight, nothing to sample"
            )
        if self.method_ == "nuts":
            check_nuts_size(len(labels))
        noise_var = self._noise_var()
        seeds = np.random.default_rng([int(seed) % 2**63, 16]).integers(0, 2**31 - 1, size=3)
        self._posterior_seed = int(seeds[2])
        n = spec.n
        free = unpenalized_names(self.module_)
        penalized = torch.cat(
            [torch.full((int(ix.numel()),), k not in free) for k, ix in index.items()]
        )
        slab = slab_prior(self.prior_)
        if self.method_ == "nuts":
            theta0, _ = selected_parameters(self.module_, index)
            loglik = _LogLikelihood(
                self.module_, index, spec.loss_fn, spec.inputs, spec.targets, n, noise_var
            )
            post = run_nuts(
                loglik, theta0.cpu(), penalized, slab, n_samples=n_samples,
                warmup=n_samples * thin, thin=thin, n_chains=n_chains, seed=int(seeds[0]),
                n_jobs=self.n_jobs,
            )  # fmt: skip
            stats = {"diverging": post.sample_stats["diverging"]}
        else:
            chol = self._whitening(spec, laplace, penalized, noise_var)
            precondition = (flat_index, chol.to(torch.float32))
            curv = largest_curvature(
                self.module_, spec.loss_fn, spec.inputs, spec.targets,
                penalty=_Penalty(slab, noise_var, n), precondition=precondition,
            )  # fmt: skip
            lr = float(self._SAMPLING_STEP[self.method_] / curv)
            for attempt in range(self._RETRIES + 1):
                try:
                    post = sample_chains(
                        self.module_, spec.loss_fn, spec.inputs, spec.targets,
                        n_samples=n_samples, lr=lr, prior=slab, kernel=self.method_,
                        kernel_options={**self._kernel_options(), "precondition": precondition},
                        thin=thin, burn_in=n_samples * thin, n_chains=n_chains, n_obs=n,
                        noise_var=noise_var, mask=flat_mask(self.module_), index=flat_index,
                        seed=int(seeds[0]), n_jobs=self.n_jobs,
                    )  # fmt: skip
                    break
                except TrainingDivergedError as exc:
                    if attempt == self._RETRIES:
                        raise
                    lr /= self._RETRY_FACTOR
                    warnings.warn(
                        f"method={self.method_!r}: {exc}; the chains are run again with a "
                        f"step {self._RETRY_FACTOR:g} times smaller (lr={lr:.3g})",
                        ConvergenceWarning,
                        stacklevel=2,
                    )
            stats = {"loss": post.sample_stats["loss"], "lr": np.full(post["theta"].shape[:2], lr)}
        theta = post["theta"]
        stats["temperature"] = np.ones(theta.shape[:2])
        draws = {"theta": theta}
        if self._estimate_noise:
            draws["sigma"] = self._sigma_draws(theta, spec, int(seeds[1]))
        self.posterior_ = PosteriorDraws(
            draws, sample_stats=stats, dims={"theta": ["weight"]}, coords={"weight": labels}
        )
        kernel = "sghmc" if self.method_ == "nuts" else self.method_
        freq = self._inclusion_frequencies(spec, kernel, noise_var, int(seeds[0]) + 1)
        self._public_inclusion(freq)

    def _kernel_options(self, kernel: str | None = None) -> dict:
        kernel = kernel or self.method_
        return {"momentum": self._MOMENTUM} if kernel == "sghmc" else {}

    def _whitening(self, spec, laplace, penalized: torch.Tensor, noise_var: float):
        """``L`` with ``L L^T`` the inverse of the Laplace precision of the sampled target.

        The precision of ``exp(-n U / noise_var)`` at the MAP: the Fisher information
        (built at the maximum-likelihood noise variance for a Gaussian, rescaled to
        ``noise_var``) plus the slab's ``1 / sigma1^2`` on the penalised weights.
        """
        d = int(penalized.numel())
        if laplace is None:
            precision = torch.eye(d, dtype=torch.float64)
        else:
            precision = laplace.information.detach().double().cpu().clone()
            if self._estimate_noise:
                with torch.no_grad():
                    ml_var = 2.0 * float(spec.full_loss(self.module_))
                precision *= ml_var / noise_var
        precision += torch.diag(penalized.double()) / self.prior_.sigma1**2
        jitter = 1e-10 * float(precision.diagonal().mean())
        for _ in range(8):
            root, info = torch.linalg.cholesky_ex(precision + jitter * torch.eye(d).double())
            if int(info) == 0:
                break
            jitter *= 100.0
        eye = torch.eye(d, dtype=torch.float64)
        # precision = R R^T (R lower) -> covariance = R^{-T} R^{-1}: L = R^{-T}
        return torch.linalg.solve_triangular(root, eye, upper=False).T.contiguous()

    def _sigma_draws(self, theta: np.ndarray, spec, seed: int) -> np.ndarray:
        """``sigma | theta ~ sqrt(InvGamma(n/2, RSS(theta)/2))`` per draw, original scale."""
        pooled = theta.reshape(-1, theta.shape[-1])
        _, params_of = selected_parameters(self.module_, self._selected_index)
        rss = np.empty(len(pooled))
        with torch.no_grad():
            for s, th in enumerate(pooled):
                th_t = torch.as_tensor(th, dtype=torch.float32, device=spec.inputs.device)
                net = _Functional(self.module_, params_of(th_t))
                rss[s] = 2.0 * spec.n * float(spec.loss_fn(net, spec.inputs, spec.targets))
        rng = np.random.default_rng(seed)
        var = (rss / 2.0) / rng.gamma(spec.n / 2.0, 1.0, size=len(pooled))
        return (np.sqrt(var) * self.y_scale_).reshape(theta.shape[:2])

    def _inclusion_frequencies(self, spec, kernel: str, noise_var: float, seed: int):
        """Share of dense-network draws in which each input is connected (see above)."""
        module = self.module_
        curv = largest_curvature(
            module, spec.loss_fn, spec.inputs, spec.targets,
            penalty=_Penalty(self.prior_, noise_var, spec.n),
        )  # fmt: skip
        lr = float(self._SAMPLING_STEP[kernel] / curv)
        post = sample_chains(
            module, spec.loss_fn, spec.inputs, spec.targets, n_samples=int(self.n_samples),
            lr=lr, prior=self.prior_, kernel=kernel, kernel_options=self._kernel_options(kernel),
            thin=int(self.thin), burn_in=int(self.n_samples) * int(self.thin),
            n_chains=int(self.n_chains), n_obs=spec.n, noise_var=noise_var, seed=seed,
            n_jobs=self.n_jobs, name="w",
        )  # fmt: skip
        free = unpenalized_names(module)
        names = [(k, p.shape, p.numel()) for k, p in module.named_parameters()]
        threshold = self.prior_.threshold
        counts = None
        for w in post.pooled("w"):
            masks, start = {}, 0
            for name, shape, size in names:
                piece = torch.as_tensor(w[start : start + size]).reshape(shape)
                start += size
                keep = piece.abs() > threshold
                if name in free:
                    keep = torch.ones(shape, dtype=torch.bool)
                masks[name] = keep.to(spec.inputs.device)
            conn = module.connected_inputs(masks).cpu().numpy().astype(np.float64)
            counts = conn if counts is None else counts + conn
        return counts / post.n_chains / post.n_draws

    def _public_inclusion(self, freq: np.ndarray) -> None:
        self.inclusion_frequencies_ = freq

    # ---------------------------------------------------------------- read-outs
    def _check_posterior(self, method: str) -> PosteriorDraws:
        check_is_fitted(self, "module_", method=method)
        post = getattr(self, "posterior_", None)
        if post is None:
            fitted = getattr(self, "method_", "map")
            raise ValueError(
                f"{method} needs posterior draws, but this estimator was fitted with "
                f"method={fitted!r}: refit with method='sghmc', 'sgld' or 'nuts'"
            )
        return post

    def _network_draws(self, fn) -> np.ndarray:
        """``fn(net)`` for the network at every draw (chain-major), stacked: ``(S, ...)``."""
        post = self._check_posterior("predict_interval(kind='posterior')")
        _, params_of = selected_parameters(self.module_, self._selected_index)
        device = self._device()
        out = []
        with torch.no_grad():
            for th in post.pooled("theta"):
                th_t = torch.as_tensor(th, dtype=torch.float32, device=device)
                out.append(np.asarray(fn(_Functional(self.module_, params_of(th_t)))))
        return np.stack(out)

    def _noise_rng(self) -> np.random.Generator:
        return np.random.default_rng(getattr(self, "_posterior_seed", 0))

    def _predictive_samples(self, *args, **kwargs) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def to_inference_data(self, *args, **kwargs):
        """The draws as an ``arviz.InferenceData`` (ArviZ's ``from_dict``).

        Groups: ``posterior`` (``theta``, the selected weights on the network's
        standardised scale, with dimension ``weight`` labelled ``"<parameter>[<entry>]"``;
        ``sigma``, the noise sd on the original scale, for Gaussian likelihoods),
        ``sample_stats`` (``temperature``, and ``loss`` and ``lr`` for SG-MCMC or
        ``diverging`` for NUTS) and, when arguments are given, ``posterior_predictive``
        with ``y``: draws of the response at those points, the arguments being those of
        ``predict_interval`` (``X`` for the MLPs, ``steps``/``series``/``exog`` for
        series). R-hat, ESS and MCSE then come from ArviZ (``arviz.summary``).

        Raises
        ------
        ValueError
            If the estimator was fitted with ``method="map"``.
        """
        post = self._check_posterior("to_inference_data")
        extra = {}
        if args or kwargs:
            samples = self._predictive_samples(*args, **kwargs)
            shape = (post.n_chains, post.n_draws, *samples.shape[1:])
            extra["posterior_predictive"] = {"y": samples.reshape(shape)}
        return post.to_inference_data(**extra)
