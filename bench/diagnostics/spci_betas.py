#!/usr/bin/env python
"""Diagnostic: does SPCI's search over ``beta`` under-cover with in-sample quantile fits?

SPCI (Xu & Xie 2023) picks, for each step, the ``beta`` in ``[0, alpha]`` giving the narrowest
interval ``[Q_beta, Q_{1-alpha+beta}]`` of the residual quantile regressions. With the
regressions fitted in-sample, the narrowest interval is biased towards under-coverage. This
draws i.i.d. N(0, 1) residuals (a prefit zero forecaster, so the residuals are the data),
calibrates ``SPCI(n_lags=5)`` on the first 300 and scores 90 % online intervals on the next
1100, with ``n_betas=1`` (equal tails, the default) and ``n_betas=5``, for each seed.

Usage: ``OMP_NUM_THREADS=1 python bench/diagnostics/spci_betas.py [seeds]`` (default 0,1,2).
Not a benchmark and not run by the tests; results are quoted in BENCHMARKS.md ("Design
measurements") and motivate the default ``n_betas=1``.
"""

from __future__ import annotations

import sys

import numpy as np

from bsdl.conformal import SPCI

N_CAL, N_TEST, ALPHA = 300, 1100, 0.1


class Zero:
    """A prefit forecaster that predicts 0, so the residuals are the observations."""

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


def coverage(seed: int, n_betas: int) -> float:
    e = np.random.default_rng(seed).normal(size=N_CAL + N_TEST)
    X = np.zeros((e.size, 1))
    sp = SPCI(Zero(), prefit=True, n_lags=5, n_betas=n_betas).calibrate(X[:N_CAL], e[:N_CAL])
    return sp.predict_online(X[N_CAL:], e[N_CAL:], alpha=ALPHA).coverage(e[N_CAL:])


def main(seeds: list[int]) -> None:
    se = (ALPHA * (1 - ALPHA) / N_TEST) ** 0.5
    print(f"90 % online coverage over {N_TEST} points (binomial se {se:.3f} per seed)")
    print("seed  n_betas=1  n_betas=5")
    rows = []
    for seed in seeds:
        row = [coverage(seed, 1), coverage(seed, 5)]
        rows.append(row)
        print(f"{seed:4d}  {row[0]:9.3f}  {row[1]:9.3f}", flush=True)
    mean = np.mean(rows, axis=0)
    print(f"mean  {mean[0]:9.3f}  {mean[1]:9.3f}")


if __name__ == "__main__":
    main([int(s) for s in sys.argv[1].split(",")] if len(sys.argv) > 1 else [0, 1, 2])
