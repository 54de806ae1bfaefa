#!/usr/bin/env python
"""Diagnostic: should SparseMLPRegressor's default spike sd shrink like n^(-1/2)?

Issue 12 asked for one sigma0 rule for the MLP and the RNN (the RNN's default sigma0 is
``clip(1/sqrt(n), 0.005, 0.1)``, the MLP's a fixed 0.01). This fits the default MLP on
``make_sparse_regression(n, 50)`` (seeds 0..3) under the default prior with either
``sigma0 = 0.01`` ("fixed") or ``sigma0 = clip(1/sqrt(n), 0.005, 0.1)`` ("sqrt"), and prints
how often exactly the five true inputs are selected and how many inputs are kept.

Usage: ``OMP_NUM_THREADS=1 python bench/diagnostics/mlp_sigma0_rule.py [n ...]``.
Not a benchmark and not run by the tests; results are quoted in BENCHMARKS.md.
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np

from bsdl import MixtureGaussianPrior, SparseMLPRegressor
from bsdl.datasets import make_sparse_regression

TRUE = {0, 1, 2, 3, 4}


def main(ns: list[int], seeds: int = 4) -> None:
    warnings.simplefilter("ignore")
    for n in ns:
        for rule in ("fixed", "sqrt"):
            sigma0 = 0.01 if rule == "fixed" else float(np.clip(1 / np.sqrt(n), 0.005, 0.1))
            exact, sizes, start = 0, [], time.perf_counter()
            for seed in range(seeds):
                X, y = make_sparse_regression(n, 50, random_state=seed)
                prior = MixtureGaussianPrior(1e-4, sigma0, 1.0)
                m = SparseMLPRegressor(prior=prior, random_state=seed).fit(X, y)
                selected = set(m.selected_features_.tolist())
                exact += selected == TRUE
                sizes.append(len(selected))
            print(
                f"n={n:<5d} {rule:<5s} sigma0={sigma0:.4f} exact {exact}/{seeds} "
                f"inputs kept {sizes} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [300, 500, 1000, 2000])
