#!/usr/bin/env python
"""Diagnostic: do SparseMLPRegressor's 95 % confidence intervals cover the true f(x)?

Two designs, each over independent fits (seeds 0..R-1), reporting per fit the share of
200-300 fresh points whose confidence interval covers f(x), the RMS error of the fitted
mean against f and the mean standard error:

* ``one-unit``: f(x) = 1.5 tanh(x1 + 0.5 x2), noise sd 0.5, n = 500, ``hidden=(2,)``: a
  well-specified network the pipeline recovers (the same design as the test
  ``test_confidence_intervals_cover_a_known_nonlinear_regression_function``);
* ``structure``: ``make_structure_regression(n, 5)`` (the JASA design's two-layer tanh
  function of x1..x5) with ``hidden=(3, 2)`` (its true size) or the default ``(16, 8)``.

``--polish`` also refits each selected network to the exact least-squares optimum
(full-batch L-BFGS with the mask fixed) and reports the coverage with the same standard
errors: the gap shows how much error the minibatch end point of the refit adds.

Usage: ``OMP_NUM_THREADS=1 python bench/diagnostics/mlp_ci_coverage.py one-unit 10 [--polish]``
or ``... structure 6 --n 1000 --noise 0.5 --hidden 3,2``. Not a benchmark and not run by the
tests; results are quoted in BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np
import torch

from bsdl import SparseMLPRegressor
from bsdl.datasets import make_structure_regression
from bsdl.sparsify import get_masks


def f_one_unit(x):
    return 1.5 * np.tanh(x[:, 0] + 0.5 * x[:, 1])


def f_structure(x):
    x1, x2, x3, x4, x5 = (x[:, i] for i in range(5))
    return np.tanh(2 * np.tanh(2 * x1 - x2)) + 2 * np.tanh(
        2 * np.tanh(x3 - 2 * x4) - np.tanh(2 * x5)
    )


def data(design: str, rep: int, n: int, noise: float):
    if design == "one-unit":
        rng = np.random.default_rng([7, rep])
        X = rng.standard_normal((n, 3))
        return X, f_one_unit(X) + noise * rng.standard_normal(n), rng.standard_normal((200, 3))
    X, y = make_structure_regression(n, 5, noise=noise, random_state=rep)
    X_new, _ = make_structure_regression(300, 5, noise=noise, random_state=1000 + rep)
    return X, y, X_new


def polish(m: SparseMLPRegressor, X, y) -> None:
    """Full-batch L-BFGS on the selected network (mask fixed), in place."""
    module, masks = m.module_, get_masks(m.module_)
    xs = torch.as_tensor((X - m.x_mean_) / m.x_scale_, dtype=torch.float32)
    ys = torch.as_tensor((y - m.y_mean_) / m.y_scale_, dtype=torch.float32)
    opt = torch.optim.LBFGS(
        list(module.parameters()), max_iter=1000, tolerance_grad=1e-10,
        tolerance_change=1e-14, line_search_fn="strong_wolfe",
    )  # fmt: skip

    def closure():
        opt.zero_grad()
        loss = 0.5 * (module(xs).squeeze(-1) - ys).pow(2).mean()
        loss.backward()
        for name, p in module.named_parameters():
            p.grad.mul_(masks[name])
        return loss

    opt.step(closure)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("design", choices=["one-unit", "structure"])
    ap.add_argument("fits", type=int)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--noise", type=float, default=0.5)
    ap.add_argument("--hidden", default="2")
    ap.add_argument("--polish", action="store_true")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    f = f_one_unit if args.design == "one-unit" else f_structure
    hidden = tuple(int(h) for h in args.hidden.split(","))
    shares, polished = [], []
    for rep in range(args.fits):
        X, y, X_new = data(args.design, rep, args.n, args.noise)
        m = SparseMLPRegressor(hidden, random_state=rep).fit(X, y)
        pi = m.predict_interval(X_new, kind="confidence")
        truth = f(X_new)
        shares.append(np.mean((truth >= pi.lower) & (truth <= pi.upper)))
        rmse = np.sqrt(np.mean((pi.mean - truth) ** 2))
        line = (
            f"fit {rep}: coverage {shares[-1]:.3f}, RMS error {rmse:.4f}, "
            f"mean se {pi.se.mean():.4f}, inputs {m.selected_features_.tolist()}, k {m.n_nonzero_}"
        )
        if args.polish:
            polish(m, X, y)
            mean = m.predict(X_new)
            polished.append(np.mean(np.abs(mean - truth) <= pi.z * pi.se))
            line += f"; polished coverage {polished[-1]:.3f}"
        print(line, flush=True)
    floor = 0.95 - 3 * np.sqrt(0.95 * 0.05 / args.fits)  # se bound of a mean of shares
    print(f"mean coverage {np.mean(shares):.3f} (nominal 0.95; 3 se below it: {floor:.3f})")
    if polished:
        print(f"mean coverage after polishing {np.mean(polished):.3f}")


if __name__ == "__main__":
    main()
