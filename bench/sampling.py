#!/usr/bin/env python
"""Posterior sampling cost: SGHMC against SGD training, pyro's NUTS and ``posteriors``.

Three measurements, each on one CPU thread:

1. **SGHMC draws per second against SGD epochs per second, same network.** The JASA
   regression design (``make_sparse_regression``, n = 1000, p = 100) fitted by
   ``SparseMLPRegressor()`` (16-8 tanh network). On the fitted (pruned) network, with the
   same prior and mask, bsdl's engine runs (a) SGD epochs at the estimator's minibatch size
   (``optimizer="sgd"``, the training loop the fit uses) and (b) the SGHMC chains of
   ``method="sghmc"`` on the selected subnetwork (full batch, Laplace preconditioner, one
   draw every ``thin`` = 5 steps), timed inside the estimator's fit. The ratio is draws
   per second over epochs per second. The whole sampling phase of ``method="sghmc"``
   (4 chains, preconditioner, step-size search and the dense chains of
   ``inclusion_frequencies_``) is timed too, per kept draw.
2. **Effective samples per second, SGHMC against pyro's NUTS, tiny network.** A (1,)-unit
   tanh network on 150 points (3 selected weights, the data of
   ``tests/test_posterior_estimators.py``). Both estimators are fitted with
   ``method="sghmc"`` and ``method="nuts"`` (4 chains, 200 draws, thin 5; NUTS with 200
   draws and 200 warm-up steps, thin 1); the sampling time excludes the MAP fit and the
   dense inclusion chains (both identical for the two). ESS is ArviZ's bulk ESS of the
   selected weights (minimum and median over weights).
3. **The same against the ``posteriors`` library's SGHMC** (``posteriors.sgmcmc.sghmc``,
   Chen et al. 2014) on the same selected subnetwork, data and target (the log-likelihood
   at the fitted noise variance plus the spike-and-slab log prior), from the same MAP point,
   full batch, the same number of steps and chains. ``posteriors`` has no preconditioner; its
   step is ``eps = c / sqrt(lambda_max)`` with ``lambda_max`` the largest eigenvalue of the
   Hessian of the negative log posterior at the MAP, friction ``alpha = 0.1 / eps`` (a
   momentum decay of 0.1 per step, as bsdl's ``momentum=0.9``); the best ``c`` of
   {0.03, 0.1, 0.3} is reported (tuned in its favour). Since the gap is mostly bsdl's
   preconditioner, ``posteriors`` also runs in whitened coordinates ``theta = theta_MAP +
   L z`` (``L L^T`` the inverse Hessian at the MAP, the role of bsdl's Laplace
   preconditioner; step 0.1, friction 1 per unit time), which isolates the cost per step.
   Skipped with a note when ``posteriors`` is not installed (bench extra).

Run ``python bench/sampling.py`` (about 2 minutes) or ``--quick`` (smoke test), with
``--json FILE`` to keep the numbers.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import json
import math
import time
import warnings

import numpy as np
import torch
from _machine import loadavg, machine
from torch.func import functional_call

from bsdl import SparseMLPRegressor
from bsdl.datasets import make_sparse_regression
from bsdl.inference import ConstantSchedule, TrainConfig, train
from bsdl.intervals import selected_parameters
from bsdl.models import _posterior
from bsdl.nn import unpenalized_names
from bsdl.sparsify import flat_mask


def _loss(module, x, y):
    return 0.5 * (module(x).squeeze(-1) - y).pow(2).mean()


def _standardized(m: SparseMLPRegressor, X, y):
    x = m._standardize(np.asarray(X))
    t = torch.as_tensor((np.asarray(y) - m.y_mean_) / m.y_scale_, dtype=torch.float32)
    return x, t


class _Timer:
    """Wall seconds spent inside a method of PosteriorMixin (patched for the bench)."""

    def __init__(self, name: str) -> None:
        self.name, self.seconds = name, 0.0
        self.original = getattr(_posterior.PosteriorMixin, name)

    def __enter__(self):
        timer, original = self, self.original

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timer.seconds += time.perf_counter() - t0

        setattr(_posterior.PosteriorMixin, self.name, timed)
        return self

    def __exit__(self, *exc) -> None:
        setattr(_posterior.PosteriorMixin, self.name, self.original)


@contextlib.contextmanager
def _count_chains():
    """Record seconds, kept draws and thinning of each ``sample_chains`` call the
    estimator makes (the list is filled while the block runs)."""
    calls, original = [], _posterior.sample_chains

    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        post = original(*args, **kwargs)
        calls.append(dict(seconds=time.perf_counter() - t0, thin=kwargs["thin"],
                          draws=post.n_chains * post.n_draws))  # fmt: skip
        return post

    _posterior.sample_chains = timed
    try:
        yield calls
    finally:
        _posterior.sample_chains = original


# ----------------------------------------------------------------------------- part 1
def draws_vs_epochs(args) -> dict:
    n, p = (300, 20) if args.quick else (1000, 100)
    X, y = make_sparse_regression(n, p, random_state=0)
    kw = dict(n_epochs=30) if args.quick else {}
    sampling = dict(n_chains=2, n_samples=20, thin=2) if args.quick else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        m = SparseMLPRegressor(random_state=0, **kw).fit(X, y)
        map_seconds = time.perf_counter() - t0
        with _Timer("_sample_posterior") as whole, _count_chains() as calls:
            s = SparseMLPRegressor(random_state=0, method="sghmc", **kw, **sampling).fit(X, y)
    kept = s.posterior_.n_chains * s.posterior_.n_draws
    x, t = _standardized(m, X, y)
    batch = int(np.clip(n // 20, 32, 512))
    epochs = 5 if args.quick else 40
    cfg = TrainConfig(n_epochs=epochs, batch_size=batch, lr=0.01, prior=m.prior_,
                      schedule=ConstantSchedule(), optimizer="sgd", mask=flat_mask(m.module_),
                      n_threads=1)  # fmt: skip
    module = copy.deepcopy(m.module_)
    t0 = time.perf_counter()
    train(module, _loss, x, t, cfg, generator=torch.Generator().manual_seed(0))
    epoch_s = (time.perf_counter() - t0) / epochs
    first = calls[0]  # the selected subnetwork's chains (the second: the dense ones)
    draw_s = first["seconds"] / first["draws"]
    thin = first["thin"]
    labels = s.posterior_.coords["weight"]
    row = {
        "n": n,
        "p": p,
        "weights": int(sum(q.numel() for q in m.module_.parameters())),
        "selected": len(labels),
        "batch": batch,
        "sgd_epoch_s": epoch_s,
        "sghmc_draw_s": draw_s,
        "thin": thin,
        "draws_per_epoch_time": epoch_s / draw_s,
        "map_fit_s": map_seconds,
        "estimator_sampling_s": whole.seconds,
        "estimator_draws": kept,
        "estimator_s_per_draw": whole.seconds / kept,
    }
    print(
        f"| {n} x {p} | {row['weights']} ({row['selected']} selected) | {batch} | "
        f"{1 / epoch_s:.1f} | {1 / draw_s:.1f} (thin {thin}) | "
        f"{row['draws_per_epoch_time']:.2f} | {map_seconds:.1f} | {whole.seconds:.1f} "
        f"({kept} draws, {1e3 * row['estimator_s_per_draw']:.1f} ms/draw) |",
        flush=True,
    )
    return row


# ----------------------------------------------------------------------------- part 2 and 3
def _tiny_data(n=150, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    return X, 2.0 * np.tanh(1.5 * X[:, 0]) + 0.5 * rng.normal(size=n)


def _ess(theta: np.ndarray) -> tuple[float, float]:
    import arviz as az

    ess = az.ess(az.convert_to_dataset({"theta": theta}))["theta"].to_numpy().reshape(-1)
    return float(ess.min()), float(np.median(ess))


def tiny_bsdl(args, method: str) -> dict:
    X, y = _tiny_data()
    draws, thin = (30, 2) if args.quick else (200, 5)
    if method == "nuts":
        thin = 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with _Timer("_sample_posterior") as whole, _Timer("_inclusion_frequencies") as dense:
            m = SparseMLPRegressor(
                (1,), method=method, n_chains=4, n_samples=draws, thin=thin, n_epochs=150,
                random_state=0,
            ).fit(X, y)  # fmt: skip
    seconds = whole.seconds - dense.seconds
    theta = m.posterior_["theta"]
    ess_min, ess_med = _ess(theta)
    return dict(sampler=f"bsdl {method}", chains=4, draws=draws, thin=thin,
                seconds=seconds, ess_min=ess_min, ess_median=ess_med, mean=theta.mean((0, 1)),
                sd=theta.std((0, 1)), model=m)  # fmt: skip


def tiny_posteriors(args, m: SparseMLPRegressor) -> dict | None:
    if importlib.util.find_spec("posteriors") is None:
        return None
    import posteriors

    X, y = _tiny_data()
    x, t = _standardized(m, X, y)
    noise_var = float(m._sigma_std) ** 2
    theta0, params_of = selected_parameters(m.module_, m._selected_index)
    free = unpenalized_names(m.module_)
    pen = torch.cat([torch.full((int(ix.numel()),), k not in free)
                     for k, ix in m._selected_index.items()])  # fmt: skip
    prior = m.prior_

    def log_post(theta, batch):
        xb, yb = batch
        out = functional_call(m.module_, params_of(theta), (xb,)).squeeze(-1)
        loglik = -0.5 * (out - yb).pow(2).sum() / noise_var
        return loglik + prior.log_prob(theta[pen]).sum(), out

    hess = torch.autograd.functional.hessian(lambda th: -log_post(th, (x, t))[0], theta0)
    hess = hess.double()
    lam = float(torch.linalg.eigvalsh(hess).max())
    # whitening from the same Hessian: theta = theta0 + L z with L L^T = H^{-1}
    chol = torch.linalg.cholesky(hess)
    white = torch.linalg.solve_triangular(chol, torch.eye(len(theta0)).double(), upper=False)
    white = white.T.to(theta0.dtype)

    def log_post_white(z, batch):
        return log_post(theta0 + white @ z, batch)

    draws, thin = (30, 2) if args.quick else (200, 5)
    best = None
    for c in (0.1,) if args.quick else (0.03, 0.1, 0.3):
        row = _run_posteriors(posteriors, log_post, theta0, c / math.sqrt(lam), (x, t),
                              draws, thin, f"posteriors sghmc (c={c:g})")  # fmt: skip
        if row is not None and (best is None or _rate(row) > _rate(best)):
            best = row
    rows = [] if best is None else [best]
    whitened = _run_posteriors(
        posteriors, log_post_white, torch.zeros_like(theta0), 0.1, (x, t), draws, thin,
        "posteriors sghmc, whitened (c=0.1)", to_theta=lambda z: theta0 + z @ white.T,
    )  # fmt: skip
    if whitened is not None:
        rows.append(whitened)
    return rows


def _rate(row: dict) -> float:
    return row["ess_min"] / row["seconds"]


def _run_posteriors(posteriors, log_post, start, eps, batch, draws, thin, name, to_theta=None):
    """4 chains of ``posteriors``' SGHMC, full batch, friction 0.1 per step; one row."""
    chains = []
    t0 = time.perf_counter()
    for chain in range(4):
        torch.manual_seed(chain)
        transform = posteriors.sgmcmc.sghmc.build(log_post, lr=eps, alpha=0.1 / eps)
        state = transform.init(start.clone())
        kept = []
        for step in range(2 * draws * thin):
            state, _ = transform.update(state, batch, inplace=True)
            if step >= draws * thin and (step - draws * thin + 1) % thin == 0:
                kept.append(state.params.detach().clone())
        chains.append(torch.stack(kept))
    seconds = time.perf_counter() - t0
    draws_t = torch.stack(chains)
    theta = (draws_t if to_theta is None else to_theta(draws_t)).double().numpy()
    if not np.isfinite(theta).all():
        print(f"| {name} | diverged | | | | |")
        return None
    ess_min, ess_med = _ess(theta)
    row = dict(sampler=name, chains=4, draws=draws, thin=thin, seconds=seconds,
               ess_min=ess_min, ess_median=ess_med, mean=theta.mean((0, 1)),
               sd=theta.std((0, 1)))  # fmt: skip
    print(_tiny_line(row), flush=True)
    return row


def _tiny_line(r: dict) -> str:
    return (
        f"| {r['sampler']} | {r['chains']} x {r['draws']} (thin {r['thin']}) | "
        f"{r['seconds']:.2f} | {r['ess_min']:.0f} / {r['ess_median']:.0f} | "
        f"{r['ess_min'] / r['seconds']:.1f} | "
        + ", ".join(f"{a:.3f} ± {b:.3f}" for a, b in zip(r["mean"], r["sd"]))
        + " |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    parser.add_argument("--json", help="write all results to this file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    info = machine()
    print(f"# bench/sampling.py{' --quick' if args.quick else ''}: {info}")
    print(f"# load average at the start {loadavg()}")
    print("\n## SGHMC draws against SGD epochs (same network, one thread)\n")
    print(
        "| data | weights | SGD batch | SGD epochs/s | SGHMC draws/s | draws per epoch time "
        "| MAP fit s | method='sghmc' sampling s |\n|---|---|---|---|---|---|---|---|"
    )
    part1 = draws_vs_epochs(args)
    print(f"ratio SGHMC draws/s over SGD epochs/s: {part1['draws_per_epoch_time']:.2f}")
    print("\n## Effective samples per second, tiny network (3 selected weights)\n")
    print(
        "| sampler | chains x draws | seconds | ESS min / median | ESS/s (min) "
        "| mean ± sd per weight |\n|---|---|---|---|---|---|"
    )
    rows = []
    sghmc = tiny_bsdl(args, "sghmc")
    print(_tiny_line(sghmc), flush=True)
    nuts = tiny_bsdl(args, "nuts")
    print(_tiny_line(nuts), flush=True)
    rows += [sghmc, nuts]
    others = tiny_posteriors(args, sghmc["model"])
    if others is None:
        print("posteriors not run: the package `posteriors` is not installed (bench extra)")
        others = []
    rows += others
    rate = {r["sampler"]: _rate(r) for r in rows}
    print(f"ratio ESS/s bsdl SGHMC over NUTS: {rate['bsdl sghmc'] / rate['bsdl nuts']:.2f}")
    for other in others:
        ratio = rate["bsdl sghmc"] / rate[other["sampler"]]
        print(f"ratio ESS/s bsdl SGHMC over {other['sampler']}: {ratio:.2f}")
    print(f"# load average at the end {loadavg()}")
    if args.json:
        for r in rows:
            r.pop("model", None)
            r["mean"], r["sd"] = list(map(float, r["mean"])), list(map(float, r["sd"]))
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "draws_vs_epochs": part1, "tiny": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
