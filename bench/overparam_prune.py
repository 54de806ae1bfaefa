#!/usr/bin/env python
"""Overparameterise then prune: a wide network pruned to the size of a small dense one.

At an equal final number of non-zero weights, is a wider network trained and pruned better
than the small network trained directly (the question behind the double-descent and
lottery-ticket results of the pruning-theory literature)? Two tasks:

* **simulated** (``overparam_sim``): :func:`bsdl.datasets.make_sparse_regression` (the JASA
  design: 5 informative of ``--p`` equicorrelated covariates, noise sd 1), ``--n`` training
  and 2000 test points; a one-hidden-layer ReLU MLP; test MSE (the noise variance, 1, is
  the floor).
* **real** (``overparam_digits``): scikit-learn's bundled handwritten digits (1797 8x8
  images, 10 classes; nothing downloaded), 70/30 split stratified by class, pixels scaled
  to [0, 1]; a one-hidden-layer ReLU MLP; test accuracy.

For each task the small dense network has ``h0`` hidden units; the wide networks have
``h0 * k`` units for each ``k`` in ``--factors``, and are pruned (all weight matrices, the
output layer included; biases dense) by GMP and MGPP (:mod:`bsdl.pruning`) to exactly the
small network's number of weights, i.e. sparsity ``1 - 1/k``. The wide dense network is
reported as well. Every network is trained from its own initialisation with the same
full-batch Adam steps (pruning over 20-70 % of them, then fine-tuning with the mask fixed).
Rows of ``results.csv``: ``method`` in small_dense / wide_dense / gmp / mgpp,
``sparsity`` = the pruned share of the wide network, metrics ``width``,
``nonzero_weights`` and ``test_mse`` or ``test_accuracy``.

Run ``python bench/overparam_prune.py`` (3 seeds, about a minute of CPU) or ``--quick``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _studies import LABELS, Results, fmt_mean_sd, make_pruner, pick_device, write_report
from torch import nn

from bsdl.datasets import make_sparse_regression

STUDY = "overparam_prune"
ROOT = Path(__file__).resolve().parent


def mlp(n_in: int, width: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, width), nn.ReLU(), nn.Linear(width, n_out))


def n_weights(net: nn.Module) -> int:
    return sum(int((p != 0).sum()) for n, p in net.named_parameters() if n.endswith("weight"))


def simulated(n: int, p: int, seed: int):
    X, y = make_sparse_regression(n + 2000, p, random_state=seed)
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    return X[:n], y[:n, None], X[n:], y[n:, None]


def digits(seed: int):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X / 16.0, y, test_size=0.3, stratify=y, random_state=seed)
    f = lambda a: torch.as_tensor(a, dtype=torch.float32)  # noqa: E731
    g = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    return f(Xtr), g(ytr), f(Xte), g(yte)


def fit(net, X, y, loss_fn, steps, lr, method=None, sparsity=0.0):
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    pruner = None
    if method in ("gmp", "mgpp"):
        pruner = make_pruner(
            method,
            net,
            sparsity,
            steps,
            n_obs=len(X),
            initial_warmup=round(0.2 * steps),
            final_warmup=round(0.3 * steps),
            pruning_interval=max(1, steps // 50),
            exclude_head=False,
        )
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        loss_fn(net(X), y).backward()
        if pruner is not None:
            pruner.before_step()
        opt.step()
        if pruner is not None:
            pruner.after_step()
    return net


def run_task(task, data, n_in, n_out, h0, factors, seed, args, results):
    Xtr, ytr, Xte, yte = data
    if task == "overparam_sim":
        loss_fn, metric = F.mse_loss, "test_mse"

        def score(net):
            return float(F.mse_loss(net(Xte), yte))
    else:
        loss_fn, metric = F.cross_entropy, "test_accuracy"

        def score(net):
            return float((net(Xte).argmax(1) == yte).float().mean())

    def one(width, method, sparsity):
        torch.manual_seed(1000 * seed + width)  # initialisation (bench script)
        net = fit(mlp(n_in, width, n_out), Xtr, ytr, loss_fn, args.steps, args.lr, method, sparsity)
        with torch.no_grad():
            results.add(
                method,
                sparsity,
                seed,
                study=task,
                **{metric: score(net), "width": width, "nonzero_weights": n_weights(net)},
            )

    one(h0, "small_dense", 0.0)
    for k in factors:
        sparsity = 1.0 - 1.0 / k
        one(h0 * k, "wide_dense", sparsity)
        for method in ("gmp", "mgpp"):
            one(h0 * k, method, sparsity)


def table(results: Results, task: str, metric: str, factors, h0, digits: int) -> str:
    vals = results.values(metric, study=task)
    lines = [
        "| method | "
        + " | ".join(f"width {h0 * k} ({100 * (1 - 1 / k):.1f} %)" for k in factors)
        + " |",
        "|---" * (len(factors) + 1) + "|",
    ]
    small = fmt_mean_sd(vals[("small_dense", 0.0)], digits)
    lines.append(f"| small dense (width {h0}) | " + " | ".join([small] * len(factors)) + " |")
    for m in ("gmp", "mgpp", "wide_dense"):
        label = "wide dense (not pruned)" if m == "wide_dense" else f"wide pruned by {LABELS[m]}"
        cells = [fmt_mean_sd(vals[(m, round(1 - 1 / k, 6))], digits) for k in factors]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", type=Path, default=ROOT / "results" / "compression" / STUDY)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--factors", default="2,4,8,16")
    p.add_argument("--n", type=int, default=500, help="simulated training points")
    p.add_argument("--p", type=int, default=20, help="simulated covariates")
    p.add_argument("--h0-sim", type=int, default=8)
    p.add_argument("--h0-digits", type=int, default=8)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--lr", type=float, default=3e-3)
    args = p.parse_args(argv)
    if args.quick:
        args.seeds, args.factors, args.steps, args.n = 1, "2,4", 60, 200
    factors = [int(k) for k in args.factors.split(",")]
    torch.set_num_threads(1)
    device = pick_device("cpu")
    started = time.perf_counter()
    results = Results(STUDY)
    for seed in range(args.seeds):
        run_task(
            "overparam_sim",
            simulated(args.n, args.p, seed),
            args.p,
            1,
            args.h0_sim,
            factors,
            seed,
            args,
            results,
        )
        run_task(
            "overparam_digits", digits(seed), 64, 10, args.h0_digits, factors, seed, args, results
        )
        print(f"seed {seed} done ({time.perf_counter() - started:.0f} s)", flush=True)
    path = results.write(args.out)
    sections = [
        "## Setup",
        "",
        f"One-hidden-layer ReLU MLPs, {args.steps} full-batch Adam steps (lr {args.lr:g}), "
        f"{args.seeds} seed(s) (data split and initialisation). The wide network of width "
        f"h0 * k is pruned (all weight matrices) to the small network's number of weights, "
        f"sparsity 1 - 1/k. Simulated: make_sparse_regression(n={args.n} + 2000 test, "
        f"p={args.p}), small width {args.h0_sim}. Real: sklearn digits, 70/30 split, small "
        f"width {args.h0_digits}.",
        "",
        "## Simulated design: test MSE (noise variance 1)",
        "",
        table(results, "overparam_sim", "test_mse", factors, args.h0_sim, 3),
        "",
        "## Digits: test accuracy",
        "",
        table(results, "overparam_digits", "test_accuracy", factors, args.h0_digits, 3),
    ]
    report = write_report(args.out, "Overparameterise then prune", sections, device, started)
    print(report.read_text())
    print(f"results: {path}")
    if not np.isfinite([r["value"] for r in results.rows]).all():
        raise SystemExit("a metric is not finite")


if __name__ == "__main__":
    sys.exit(main())
