#!/usr/bin/env python
"""Diagnostic: how much of the confidence-interval under-coverage of SparseRNN is the level?

For AR(2) replicates drawn with vignette 03's seeds (``default_rng([0, rep, n])``), fit
``SparseRNN(random_state=rep)`` on the first n points and read 95 % confidence intervals
(``kind="confidence"``) for the one-step conditional mean f over the next 500 points. Print
their coverage of the true f, then the coverage when the standard error also carries the
uncertainty of the series level (the se of a least-squares intercept in an AR(2) regression on
the standardised training series), which the delta method on the selected weights leaves out.

Usage: ``python bench/diagnostics/rnn_level_se.py 4000 0,1,2,4,5`` (n, replicates).
Not a benchmark and not run by the tests. It found that the level was missing from the
Fisher information (coverage 0.755 -> 0.925 with the added se, n = 1000, 8 replicates). Since
the read-out intercept is an unpenalised parameter (commit ``16b35ac``) the first column
already includes the level (0.926 on the same replicates) and ``with_level`` counts it twice.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from bsdl import SparseRNN
from bsdl.datasets import make_ar

M = 500  # held-out points


def main(n: int, reps: list[int]) -> None:
    warnings.simplefilter("ignore")
    for rep in reps:
        y = make_ar(n + M, {1: 0.6, 2: -0.3}, random_state=np.random.default_rng([0, rep, n]))
        model = SparseRNN(random_state=rep).fit(y[:n])
        z = (y[:n] - model.y_mean_) / model.y_scale_
        design = np.c_[z[9:-1], z[8:-2], np.ones(n - 10)]
        beta, *_ = np.linalg.lstsq(design, z[10:], rcond=None)
        resid = z[10:] - design @ beta
        level_se = np.sqrt(np.linalg.inv(design.T @ design)[2, 2] * resid.var())
        conf = model.predict_interval(series=y, alpha=0.05, kind="confidence")
        mean, se = conf.mean[-M:], conf.se[-M:]
        f = 0.6 * y[n - 1 : n + M - 1] - 0.3 * y[n - 2 : n + M - 2]
        err = mean - f
        with_level = np.sqrt(se**2 + (model.y_scale_ * level_se) ** 2)
        print(
            f"n={n} rep={rep} lags={model.selected_lags_.tolist()} "
            f"coverage={np.mean(np.abs(err) <= 1.96 * se):.3f} "
            f"with_level={np.mean(np.abs(err) <= 1.96 * with_level):.3f} "
            f"mean_err={err.mean():.4f} rms_err={np.sqrt(np.mean(err**2)):.4f}",
            flush=True,
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), [int(r) for r in sys.argv[2].split(",")])
