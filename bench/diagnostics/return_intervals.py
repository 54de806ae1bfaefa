#!/usr/bin/env python
"""Diagnostic: one-step intervals on daily returns, bsdl against GARCH, ACI and the hybrid.

Runs :func:`bsdl.compare.compare_intervals` on the three return series of
:data:`bsdl.datasets.RETURN_SERIES` (S&P 500, NASDAQ Composite, WTI; last 1500 days:
train 900, calibration 300, test 300) at 90 % and 95 %, with the default ``SparseRNN(lags=10)``
and the methods ``bsdl``, ``hybrid``, ``conformalized``, ``aci``, ``agaci``, ``autoreg`` and
``garch`` (EnbPI and SPCI are left out for time); then, on the same data and seeds,
``SparseRNN(lags=10, noise="heteroscedastic")`` with the methods ``bsdl`` and ``hybrid``,
reported as ``bsdl-het`` and ``hybrid-het`` (the default ``innovations="auto"``:
Student-t likelihood for the variance, t quantiles), and the same with
``innovations="normal"``, reported as ``bsdl-het-normal`` and ``hybrid-het-normal``. Prints,
per series and level, the coverage with its binomial standard error
``sqrt(c (1 - c) / n_test)``, the distance to the nominal level in units of the nominal
binomial se ``sqrt(alpha (1 - alpha) / n_test)``, the mean width, the mean interval
score and its paired difference from GARCH's (mean of the per-day differences and its se
``sd / sqrt(n_test)``, a Diebold-Mariano statistic for one-step forecasts); writes the table
as markdown and the raw frame as CSV.

Usage: ``OMP_NUM_THREADS=1 nice -n 10 python bench/diagnostics/return_intervals.py [OUT]``
(OUT default ``/tmp/return_intervals``; ``BSDL_QUICK=1``: 40 epochs, last 600 days, a smoke
run). Not run by the tests; numbers are quoted in BENCHMARKS.md.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bsdl.compare import compare_intervals
from bsdl.datasets import RETURN_SERIES

METHODS = ["bsdl", "hybrid", "conformalized", "aci", "agaci", "autoreg", "garch"]
HET_METHODS = ["bsdl", "hybrid"]  # with noise="heteroscedastic", renamed with "-het"
HET = {"noise": "heteroscedastic"}
#: (methods, extra model parameters, suffix of the method names), on the same data and seeds
RUNS = [
    (METHODS, {}, ""),
    (HET_METHODS, HET, "-het"),  # innovations="auto": Student-t with this noise
    (HET_METHODS, HET | {"innovations": "normal"}, "-het-normal"),
]
ORDER = ["bsdl", "bsdl-het", "bsdl-het-normal", "hybrid", "hybrid-het", "hybrid-het-normal"]
ORDER += ["conformalized", "aci", "agaci", "autoreg", "garch"]


def _scores(iv: pd.DataFrame, alpha: float) -> np.ndarray:
    """Per-day interval scores of one method's test-span intervals."""
    y, lo, hi = iv["y"].to_numpy(), iv["lower"].to_numpy(), iv["upper"].to_numpy()
    return (hi - lo) + 2 / alpha * (np.maximum(lo - y, 0) + np.maximum(y - hi, 0))


def main(out: Path) -> None:
    quick = os.environ.get("BSDL_QUICK") == "1"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    params = {"n_epochs": 40} if quick else {}
    frames, intervals = [], {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for methods, extra, suffix in RUNS:
            f, ivs = compare_intervals(
                list(RETURN_SERIES),
                methods=methods,
                alpha=[0.1, 0.05],
                max_length=600 if quick else 1500,
                model_params=params | extra,
                random_state=0,  # the same seeds in every run
                return_intervals=True,
                verbose=True,
            )
            frames.append(f.assign(method=f.method + suffix))
            intervals |= {(k[0], k[2], k[3] + suffix): v for k, v in ivs.items()}
    frame = pd.concat(frames, ignore_index=True)
    rank = {m: i for i, m in enumerate(ORDER)}
    frame = frame.sort_values(
        ["series", "alpha", "method"], key=lambda c: c.map(rank) if c.name == "method" else c
    ).reset_index(drop=True)
    seconds = time.perf_counter() - t0
    c, n, a = frame.coverage, frame.n_test, frame.alpha
    frame["cov_se"] = np.sqrt(c * (1 - c) / n)
    frame["z_nominal"] = (c - (1 - a)) / np.sqrt(a * (1 - a) / n)
    diff, diff_se = [], []
    for r in frame.itertuples():
        own, ref = (intervals.get((r.series, r.alpha, m)) for m in (r.method, "garch"))
        if own is None or ref is None or r.method == "garch":
            diff.append(np.nan)
            diff_se.append(np.nan)
            continue
        d = _scores(own, r.alpha) - _scores(ref, r.alpha)
        diff.append(float(d.mean()))
        diff_se.append(float(d.std(ddof=1) / np.sqrt(d.size)))
    frame["is_minus_garch"], frame["is_minus_garch_se"] = diff, diff_se
    frame.to_csv(out / "return_intervals.csv", index=False)
    lines = [
        "| series | level | method | coverage (se) | (cov - nominal) / se0 | width | "
        "interval score | minus GARCH's (se) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in frame.itertuples():
        vs = (
            ""
            if np.isnan(r.is_minus_garch)
            else f"{r.is_minus_garch:+.3f} ({r.is_minus_garch_se:.3f})"
        )
        lines.append(
            f"| {r.series} | {1 - r.alpha:.0%} | {r.method} | {r.coverage:.3f} ({r.cov_se:.3f}) "
            f"| {r.z_nominal:+.1f} | {r.width:.3f} | {r.interval_score:.3f} | {vs} |"
        )
    notes = frame[frame.method == "garch"].drop_duplicates("series")[["series", "note"]]
    lines += ["", *(f"- {s}: garch {nt}" for s, nt in notes.itertuples(index=False))]
    lines += ["", f"n_test = {int(n.iloc[0])} per series; total {seconds:.0f} s."]
    text = "\n".join(lines) + "\n"
    (out / "return_intervals.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("/tmp/return_intervals"))
