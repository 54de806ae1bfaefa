"""pyro's NUTS on the selected weights of a small network: the reference sampler (layer L2).

The selected weights ``theta`` are split into those under the spike-and-slab prior and
the free ones (the level, outside the prior). The pyro model is

* ``w ~ prior`` for each penalised selected weight, ``prior`` a
  :class:`bsdl.MixtureGaussianPrior` (a pyro ``TorchDistribution``; the estimators pass
  the slab, :func:`bsdl.models._posterior.slab_prior`, since a selected weight is a slab
  weight),
* a flat (improper) prior on the free ones, and
* ``pyro.factor("loglik", log_likelihood(theta))`` for the data,

sampled by :class:`pyro.infer.NUTS` from the given start (the MAP point). NUTS is exact up
to Monte Carlo error, so it is the yardstick of the SG-MCMC kernels on small networks; its
cost grows quickly with the dimension, hence :data:`NUTS_MAX_WEIGHTS`.

pyro draws from torch's global generator. Each chain runs inside
:func:`torch.random.fork_rng` seeded from its own pre-drawn seed, so the caller's global
random state is left exactly as it was and the draws do not depend on ``n_jobs``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from joblib import Parallel, delayed

from bsdl.results.posterior import PosteriorDraws

__all__ = ["NUTS_MAX_WEIGHTS", "check_nuts_size", "run_nuts"]

#: the largest number of selected weights ``method="nuts"`` accepts
NUTS_MAX_WEIGHTS = 300


def check_nuts_size(n_weights: int, limit: int = NUTS_MAX_WEIGHTS) -> None:
    """Refuse a network too large for NUTS, naming the weight count and the limit.

    Examples
    --------
    >>> check_nuts_size(12)
    >>> check_nuts_size(5000)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: method='nuts' samples at most 300 selected weights, but this network has 5000; ...
    """
    if n_weights > limit:
        raise ValueError(
            f"method='nuts' samples at most {limit} selected weights, but this network has "
            f"{n_weights}; use method='sghmc' or 'sgld' (or a smaller network / a stronger "
            "prior)"
        )


def _run_one(
    log_likelihood: Callable[[torch.Tensor], torch.Tensor],
    theta0: torch.Tensor,
    penalized: torch.Tensor,
    prior,
    n_samples: int,
    warmup: int,
    thin: int,
    seed: int,
    max_tree_depth: int,
) -> tuple[np.ndarray, np.ndarray]:
    import pyro
    from pyro.infer import MCMC, NUTS
    from pyro.infer.autoguide.initialization import init_to_value

    theta0 = theta0.detach().double()
    pen_idx = torch.nonzero(penalized, as_tuple=False).reshape(-1)
    free_idx = torch.nonzero(~penalized, as_tuple=False).reshape(-1)
    d = theta0.numel()

    def assemble(pen, free):
        theta = theta0.new_zeros(d)
        if pen is not None:
            theta = theta.index_put((pen_idx,), pen.to(theta.dtype))
        if free is not None:
            theta = theta.index_put((free_idx,), free.to(theta.dtype))
        return theta

    def model():
        pen = free = None
        if pen_idx.numel():
            pen = pyro.sample("pen", prior.expand((int(pen_idx.numel()),)).to_event(1))
        if free_idx.numel():
            # a flat prior: a standard normal whose log density is masked out (pyro's
            # ImproperUniform cannot be sampled when pyro first traces the model)
            shape = (int(free_idx.numel()),)
            flat = pyro.distributions.Normal(theta0.new_zeros(shape), 1.0).mask(False)
            free = pyro.sample("free", flat.to_event(1))
        pyro.factor("loglik", log_likelihood(assemble(pen, free)))

    start = {}
    if pen_idx.numel():
        start["pen"] = theta0[pen_idx]
    if free_idx.numel():
        start["free"] = theta0[free_idx]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        kernel = NUTS(
            model, init_strategy=init_to_value(values=start), max_tree_depth=max_tree_depth
        )
        mcmc = MCMC(kernel, num_samples=n_samples * thin, warmup_steps=warmup, disable_progbar=True)
        mcmc.run()
        samples = mcmc.get_samples()
        divergent = mcmc.diagnostics().get("divergences", {}).get("chain 0", [])
    total = n_samples * thin
    pen = samples.get("pen")
    free = samples.get("free")
    theta = torch.stack(
        [
            assemble(None if pen is None else pen[s], None if free is None else free[s])
            for s in range(total)
        ]
    )
    diverging = torch.zeros(total, dtype=torch.float64)
    diverging[torch.as_tensor(list(divergent), dtype=torch.long)] = 1.0
    keep = slice(thin - 1, total, thin)
    return theta[keep].cpu().numpy(), diverging[keep].cpu().numpy()


def run_nuts(
    log_likelihood: Callable[[torch.Tensor], torch.Tensor],
    theta0: torch.Tensor,
    penalized: torch.Tensor,
    prior,
    *,
    n_samples: int,
    warmup: int,
    thin: int = 1,
    n_chains: int = 1,
    seed: int = 0,
    n_jobs: int | None = None,
    max_tree_depth: int = 8,
    name: str = "theta",
) -> PosteriorDraws:
    """NUTS chains on ``theta`` under the spike-and-slab prior (flat where not penalised).

    Parameters
    ----------
    log_likelihood : callable
        ``log_likelihood(theta)`` -> scalar tensor: the data log-likelihood at the
        selected weights ``theta`` (float64, differentiable).
    theta0 : Tensor ``(d,)``
        The start of every chain (e.g. the MAP point).
    penalized : bool Tensor ``(d,)``
        True where the prior applies; the others get a flat prior.
    prior : MixtureGaussianPrior
    n_samples, warmup, thin, n_chains : int
        Draws kept per chain, NUTS adaptation steps, thinning, chains.
    seed : int
        Seeds of the chains are drawn from it before dispatch.
    n_jobs : int, optional
        joblib workers for the chains.
    max_tree_depth : int, default 8
    name : str, default "theta"

    Returns
    -------
    PosteriorDraws
        ``draws[name]`` of shape ``(n_chains, n_samples, d)``; sample statistic
        ``"diverging"``.

    Examples
    --------
    >>> import torch
    >>> from bsdl import MixtureGaussianPrior
    >>> x = torch.randn(50, dtype=torch.float64); y = 0.8 * x + 0.5 * torch.randn(50)
    >>> loglik = lambda th: -0.5 * ((y - th[0] * x) ** 2).sum() / 0.25
    >>> prior = MixtureGaussianPrior(0.5, 0.01, 1.0)
    >>> post = run_nuts(loglik, torch.tensor([0.8]), torch.tensor([True]), prior,
    ...                 n_samples=20, warmup=20)
    >>> post["theta"].shape
    (1, 20, 1)
    """
    theta0 = torch.as_tensor(theta0).detach().reshape(-1)
    penalized = torch.as_tensor(penalized, dtype=torch.bool).reshape(-1)
    if penalized.shape != theta0.shape:
        raise ValueError(
            f"penalized must have theta0's shape {tuple(theta0.shape)}, "
            f"got {tuple(penalized.shape)}"
        )
    check_nuts_size(int(theta0.numel()))
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=int(n_chains))
    args = (log_likelihood, theta0, penalized, prior, int(n_samples), int(warmup), int(thin))
    parallel = Parallel(n_jobs=n_jobs)
    if n_chains > 1 and parallel.n_jobs != 1:
        runs = parallel(delayed(_run_one)(*args, int(s), max_tree_depth) for s in seeds)
    else:
        runs = [_run_one(*args, int(s), max_tree_depth) for s in seeds]
    return PosteriorDraws(
        {name: np.stack([r[0] for r in runs])},
        sample_stats={"diverging": np.stack([r[1] for r in runs])},
    )
